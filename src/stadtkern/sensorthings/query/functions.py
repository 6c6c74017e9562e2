"""The built-in ``$filter`` functions and how many arguments each takes (STA 1.1 Table 23, plus FROST's
temporal functions)."""

from __future__ import annotations

ARITY: dict[str, tuple[int, ...]] = {
    # string
    "substringof": (2,),
    "endswith": (2,),
    "startswith": (2,),
    "length": (1,),
    "indexof": (2,),
    "substring": (2, 3),
    "tolower": (1,),
    "toupper": (1,),
    "trim": (1,),
    "concat": (2,),
    # date and time
    "year": (1,),
    "month": (1,),
    "day": (1,),
    "hour": (1,),
    "minute": (1,),
    "second": (1,),
    "fractionalseconds": (1,),
    "date": (1,),
    "time": (1,),
    "totaloffsetminutes": (1,),
    "now": (0,),
    "mindatetime": (0,),
    "maxdatetime": (0,),
    # math
    "round": (1,),
    "floor": (1,),
    "ceiling": (1,),
    # geospatial
    "geo.distance": (2,),
    "geo.length": (1,),
    "geo.intersects": (2,),
    "st_equals": (2,),
    "st_disjoint": (2,),
    "st_touches": (2,),
    "st_within": (2,),
    "st_overlaps": (2,),
    "st_crosses": (2,),
    "st_intersects": (2,),
    "st_contains": (2,),
    "st_relate": (3,),
    # temporal
    "before": (2,),
    "after": (2,),
    "meets": (2,),
    "during": (2,),
    "overlaps": (2,),
    "starts": (2,),
    "finishes": (2,),
}


def describe_arity(counts: tuple[int, ...]) -> str:
    """``(2, 3)`` → ``"2 or 3 arguments"``; ``(1,)`` → ``"1 argument"``."""
    words = " or ".join(str(n) for n in counts)
    return f"{words} argument" if counts == (1,) else f"{words} arguments"
