"""Decisions: where should an agent run now, and may it act on the answer.

`decide` ranks and guards one agent's options, `autoswitch` acts on the
answers periodically, `registry` manages the learned models.
"""

from decisions.services.decide import Decision, decision_log, decision_make

__all__ = ["Decision", "decision_log", "decision_make"]
