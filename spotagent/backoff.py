"""Exponential back-off with full jitter, shared by every retrying call."""

import random


class Backoff:
    """Delays that double from `initial` up to `maximum`, randomised.

    Full jitter keeps a fleet that lost the server at the same moment from
    coming back in lock step and knocking it over again.
    """

    def __init__(self, *, initial: float, maximum: float, rng=None):
        self.initial = initial
        self.maximum = maximum
        self.failures = 0
        self._rng = rng or random.Random()

    def next_delay(self) -> float:
        ceiling = min(self.maximum, self.initial * 2 ** self.failures)
        self.failures += 1
        return self._rng.uniform(ceiling / 2, ceiling)

    def reset(self) -> None:
        self.failures = 0
