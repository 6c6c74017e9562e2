"""Resource paths after the service root."""

from __future__ import annotations

import pytest

from stadtkern.sensorthings.query.ast import QueryError, ResourcePath, Segment
from stadtkern.sensorthings.query.path import parse_resource_path


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("", ResourcePath(())),
        ("/", ResourcePath(())),
        ("Things", ResourcePath((Segment("Things"),))),
        ("/Things/", ResourcePath((Segment("Things"),))),
        ("Things(1)", ResourcePath((Segment("Things", 1),))),
        ("Things(-7)", ResourcePath((Segment("Things", -7),))),
        ("Things(1)/Datastreams", ResourcePath((Segment("Things", 1), Segment("Datastreams")))),
        (
            "Datastreams(1)/Observations(5)/FeatureOfInterest",
            ResourcePath(
                (Segment("Datastreams", 1), Segment("Observations", 5), Segment("FeatureOfInterest"))
            ),
        ),
        ("Observations(1)/resultTime", ResourcePath((Segment("Observations", 1), Segment("resultTime")))),
        (
            "Observations(1)/resultTime/$value",
            ResourcePath((Segment("Observations", 1), Segment("resultTime")), value=True),
        ),
        (
            "Things(1)/properties/owner",
            ResourcePath((Segment("Things", 1), Segment("properties"), Segment("owner"))),
        ),
        (
            "Datastreams(1)/unitOfMeasurement/name",
            ResourcePath((Segment("Datastreams", 1), Segment("unitOfMeasurement"), Segment("name"))),
        ),
        ("Things/$ref", ResourcePath((Segment("Things"),), ref=True)),
        (
            "Datastreams(1)/Observations/$ref",
            ResourcePath((Segment("Datastreams", 1), Segment("Observations")), ref=True),
        ),
        ("Things('abc')", ResourcePath((Segment("Things", "abc"),))),
        ("Things('it''s')", ResourcePath((Segment("Things", "it's"),))),
        ("Things('')", ResourcePath((Segment("Things", ""),))),
        ("Things('a/b(c)')/Datastreams", ResourcePath((Segment("Things", "a/b(c)"), Segment("Datastreams")))),
        ("Things('1')", ResourcePath((Segment("Things", "1"),))),
        ("//Things(1)//", ResourcePath((Segment("Things", 1),))),
    ],
)
def test_resource_paths(path: str, expected: ResourcePath) -> None:
    assert parse_resource_path(path) == expected


@pytest.mark.parametrize(
    ("path", "position", "message"),
    [
        ("Things//Datastreams", 7, "empty path segment"),
        ("$ref", 0, "$ref must follow an entity set"),
        ("$value", 0, "$value must follow"),
        ("Things/$ref/x", 7, "$ref must be the last part of the path"),
        ("Things/$value/$ref", 7, "$value must be the last part"),
        ("Things/$count", 7, "expected an entity set or property name, found '$count'"),
        ("Things(1", 8, "expected ')' to close '(' opened at position 6, found end of path"),
        ("Things()", 7, "expected a key such as (1) or ('abc') after 'Things(', found ')'"),
        ("Things(abc)", 7, "expected a key such as (1)"),
        ("Things(1.5)", 8, "expected ')' to close '(' opened at position 6, found '.5)'"),
        ("Things('abc)", 7, "unterminated string key of 'Things'"),
        ("Things(1)x", 9, "expected '/', '(' or end of path after 'Things', found 'x'"),
        ("Things(1)(2)", 9, "expected '/'"),
        ("Things (1)", 6, "expected '/'"),
        ("1Things", 0, "expected an entity set or property name, found '1Things'"),
        ("Things(99999999999999999999)", 7, "out of range"),
        ("Things(" + "9" * 5000 + ")", 7, "out of range"),
        ("Thïngs", 2, "expected '/', '(' or end of path after 'Th'"),
        ("Things/@iot.id", 7, "expected an entity set or property name"),
    ],
)
def test_resource_path_errors(path: str, position: int, message: str) -> None:
    with pytest.raises(QueryError) as caught:
        parse_resource_path(path)
    assert (caught.value.option, caught.value.position) == ("path", position)
    assert message in caught.value.message
