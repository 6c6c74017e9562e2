"""The row writers of serialize.py: the per-plan shortcuts write what the general conversions write."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

from stadtkern.sensorthings import models as m
from stadtkern.sensorthings.entities import ENTITY_TYPES
from stadtkern.sensorthings.serialize import _result, _tm_object, entities_json, entity_json, property_value
from stadtkern.sensorthings.values import format_interval, join_result

T0 = datetime(2026, 11, 17, 8, 30, 15, 250000, tzinfo=UTC)
RESULTS: list[tuple[int, float | None, str | None, Any]] = [
    (m.RESULT_FLOAT, 12.5, None, None),
    (m.RESULT_INT, 40.0, None, None),
    (m.RESULT_INT, None, None, None),
    (m.RESULT_BOOL, 1.0, None, None),
    (m.RESULT_BOOL, 0.0, None, None),
    (m.RESULT_BOOL, None, None, None),
    (m.RESULT_STRING, None, "an", None),
    (m.RESULT_JSON, None, None, {"a": [1, 2]}),
    (m.RESULT_NULL, None, None, None),
]


@pytest.mark.parametrize(("kind", "number", "text", "json_value"), RESULTS)
def test_result_reader_matches_join_result(
    kind: int, number: float | None, text: str | None, json_value: Any
) -> None:
    row = {"result_type": kind, "result_number": number, "result_string": text, "result_json": json_value}
    expected = join_result(kind, number, text, json_value)
    got = _result(row)
    assert got == expected
    assert type(got) is type(expected)


@pytest.mark.parametrize(
    ("start", "end"),
    [
        (None, None),
        (T0, None),
        (T0, T0),
        (T0, T0 + timedelta(hours=1)),
        (T0.astimezone(timezone(timedelta(hours=1))), None),
    ],
)
def test_phenomenon_time_reader_matches_format_interval(start: datetime | None, end: datetime | None) -> None:
    assert _tm_object(start, end) == format_interval(start, end)


def observation_row(
    ident: int, kind: int, number: float | None, text: str | None, json_value: Any
) -> dict[str, Any]:
    return {
        "id": ident,
        "datastream_id": 3,
        "multi_datastream_id": None,
        "feature_of_interest_id": 9,
        "phenomenon_time": T0,
        "phenomenon_time_end": T0 + timedelta(minutes=ident),
        "result_time": T0 if ident % 2 else None,
        "result_type": kind,
        "result_number": number,
        "result_string": text,
        "result_json": json_value,
        "result_quality": {"q": 1} if ident % 3 == 0 else None,
        "valid_time_start": T0 if ident % 2 else None,
        "valid_time_end": T0 + timedelta(days=1) if ident % 2 else None,
        "parameters": None,
        "client_key": None,
    }


def test_a_page_is_written_as_each_property_reads() -> None:
    entity = ENTITY_TYPES["Observation"]
    rows = [observation_row(i, *values) for i, values in enumerate(RESULTS)]
    for select in (None, (("result",), ("phenomenonTime",)), (("id",), ("Datastream",), ("resultQuality",))):
        page = entities_json(entity, rows, "http://x/sta/v1.1", select)
        assert page == [entity_json(entity, row, "http://x/sta/v1.1", select) for row in rows]
    page = entities_json(entity, rows, "http://x/sta/v1.1", None)
    for row, document in zip(rows, page, strict=True):
        link = f"http://x/sta/v1.1/Observations({row['id']})"
        assert document["@iot.id"] == row["id"]
        assert document["@iot.selfLink"] == link
        assert document["Datastream@iot.navigationLink"] == link + "/Datastream"
        for name in ("phenomenonTime", "resultTime", "result"):
            prop = entity.props[name]
            assert document[name] == property_value(prop, row)
        # Optional properties are left out when empty.
        assert ("resultQuality" in document) == (row["result_quality"] is not None)
        assert ("validTime" in document) == (row["valid_time_start"] is not None)
        assert "parameters" not in document
