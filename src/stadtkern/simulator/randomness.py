"""Deterministic randomness: every draw is a function of the seed and of names (asset code, day, purpose).

Nothing here keeps state, so the same question always gets the same answer, whatever was asked before.
"""

from __future__ import annotations

import hashlib
from datetime import date

import numpy as np


def key(seed: int, *parts: object) -> int:
    """A 64-bit number derived from the seed and the parts (stable across processes and Python versions)."""
    text = "\x1f".join([str(seed), *(p.isoformat() if isinstance(p, date) else str(p) for p in parts)])
    return int.from_bytes(hashlib.blake2b(text.encode(), digest_size=8).digest(), "little")


def rng(seed: int, *parts: object) -> np.random.Generator:
    """A numpy random generator of its own for the seed and the parts."""
    return np.random.default_rng(key(seed, *parts))


def uniform(seed: int, *parts: object) -> float:
    """A number in [0, 1) fixed for the seed and the parts (e.g. an asset's own size or weekday)."""
    return key(seed, *parts) / 2.0**64
