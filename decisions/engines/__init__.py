"""Decision engines: baselines that need no training, and learned models.

Every engine answers the same question through `Engine.rank`; which one
serves a decision is chosen in `decisions.services`.
"""

from decisions.engines.base import Candidate, Context, Engine, Ranked
from decisions.engines.baselines import BalancedEngine, CheapestEngine, StableEngine
from decisions.engines.learned import HazardModel, LearnedEngine

BASELINES = {
    engine.name: engine
    for engine in (CheapestEngine(), StableEngine(), BalancedEngine())
}

__all__ = [
    "BASELINES", "BalancedEngine", "Candidate", "CheapestEngine", "Context",
    "Engine", "HazardModel", "LearnedEngine", "Ranked", "StableEngine",
]
