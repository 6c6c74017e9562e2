"""Small-count suppression for every figure the city publishes (open data downloads and public pages).

A count of people (WLAN logins, visitors) or of households that is small can point to a person: "two
logins at 3 a.m. at the Zoo". Public figures therefore publish a count from 1 to ``MIN_PUBLIC_COUNT - 1``
as suppressed (empty, with a note). Zero is published: it reveals nobody. The rule applies to count
Datastreams (observation type ``OM_CountObservation``: logins, visitors, vehicles) and to numbers of
household meters per district; measurements (kW, bar, %) are not counts of anyone and stay as they are.
"""

from __future__ import annotations

from stadtkern.contracts import OM_COUNT

# Counts below this (and above zero) are not published. Statistical offices use 3 to 5; we take 5.
MIN_PUBLIC_COUNT = 5


def suppressed(value: float) -> bool:
    """True when ``value`` is a small count that public figures must not show."""
    return 0 < value < MIN_PUBLIC_COUNT


def is_count(observation_type: str) -> bool:
    return observation_type == OM_COUNT


def public_count(value: int) -> int | None:
    """The count to publish, or None (suppressed)."""
    return None if suppressed(value) else value
