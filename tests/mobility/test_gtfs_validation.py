"""The GTFS validator against the transitfeed test feeds, each decided by the GTFS Schedule reference.

Every folder or zip in ``shared/data/gtfs-google-testdata/feeds`` has a row below: the outcome (refused
with the named error at file/row/field, or loaded with the named warnings) and why.
"""

from __future__ import annotations

import zipfile
from datetime import date
from pathlib import Path

import pytest

from stadtkern.mobility.gtfs import ERROR, WARNING, read_feed
from tests.mobility.gtfs_support import FEEDS, MINIMAL, write_feed

# name: (expected errors as (code, file, row, field) — any one of them must be present; None = loads,
#        warning codes expected (exactly this set), reason by the GTFS reference)
Loc = tuple[str, str, int | None, str | None]
CASES: dict[str, tuple[list[Loc] | None, set[str], str]] = {
    "good_feed": (None, set(), "the reference sample: valid"),
    "good_feed.zip": (None, set(), "the same sample as a zip archive"),
    "au-sydney-entrances": (
        [("missing_file", "routes.txt", None, None), ("missing_file", "trips.txt", None, None)],
        {"unknown_file", "unknown_column"},
        "a fragment (stations, entrances, pathways): its stops validate, but routes/trips/stop_times and a "
        "calendar are required files",
    ),
    "bad_date_format": (
        [
            ("invalid_value", "calendar.txt", 2, "start_date"),
            ("invalid_value", "calendar_dates.txt", 2, "date"),
        ],
        set(),
        "Date fields are YYYYMMDD; '2007.01.01' and '2007-06-04' are not",
    ),
    "bad_eol.zip": (
        None,
        {"mixed_line_endings", "header_whitespace"},
        "CRLF and LF are both allowed; mixing them (and a bare CR) is read uniformly with a warning; a form "
        "feed after a column name is whitespace, stripped with a warning",
    ),
    "bad_utf8": (
        [("invalid_utf8", "stops.txt", 2, "stop_name"), ("invalid_utf8", "trips.txt", 2, "trip_headsign")],
        set(),
        "files must be UTF-8",
    ),
    "contains_null": (
        [("contains_null", "stops.txt", 9, "stop_name")],
        {"missing_row_cells"},
        "a NUL byte is not text; the file cannot be trusted",
    ),
    "duplicate_schedule_id": (
        [("duplicate_key", "calendar.txt", 4, "service_id")],
        set(),
        "service_id is the primary key of calendar.txt",
    ),
    "duplicate_stop": (
        None,
        {"duplicate_stop", "missing_row_cells"},
        "two stop_ids at the same place are allowed (ids differ) but likely one stop twice: warning",
    ),
    "duplicate_stop_sequence": (
        [("duplicate_key", "stop_times.txt", 4, "stop_sequence")],
        set(),
        "(trip_id, stop_sequence) is the primary key of stop_times.txt",
    ),
    "empty_file": (
        [("empty_file", "agency.txt", None, None)],
        {"missing_row_cells"},
        "agency.txt is required and needs a header and at least one agency",
    ),
    "extra_row_cells": (
        None,
        {"extra_empty_cells"},
        "only empty cells beyond the header: nothing is lost; non-empty extra cells would be an error",
    ),
    "filter_unusual_trips": (None, set(), "valid feed (with shapes.txt, which is valid and not used)"),
    "flatten_feed": (
        None,
        {"trip_with_one_stop", "trip_without_stop_times", "unused_route", "unused_stop"},
        "unusable trips, unused stops and routes are allowed by the reference; warnings",
    ),
    "googletransit": (
        [("files_in_subfolder", "googletransit", None, None)],
        set(),
        "the files must be at the top level of the feed; this folder only has a subfolder",
    ),
    "invalid_agency_ids": (
        [("missing_value", "routes.txt", 4, "agency_id")],
        set(),
        "with several agencies, agency_id is required in agency.txt and routes.txt",
    ),
    "invalid_route_agency": (
        [("undefined_reference", "routes.txt", 4, "agency_id")],
        set(),
        "routes.agency_id must reference agency.txt",
    ),
    "missing_agency": (
        [("missing_file", "agency.txt", None, None)],
        {"missing_row_cells"},
        "agency.txt is required",
    ),
    "missing_calendar": (
        [("missing_file", "calendar.txt", None, None)],
        set(),
        "calendar.txt or calendar_dates.txt is required",
    ),
    "missing_column": (
        [("missing_column", "agency.txt", 1, "agency_name")],
        {"missing_row_cells"},
        "agency_name is a required field",
    ),
    "missing_departure_time": (
        [("only_arrival_or_departure", "stop_times.txt", 3, "departure_time")],
        set(),
        "arrival_time and departure_time are given both or neither",
    ),
    "missing_endpoint_times": (
        [("missing_endpoint_times", "stop_times.txt", 16, "arrival_time")],
        set(),
        "the first and last stop of a trip need times",
    ),
    "missing_routes": ([("missing_file", "routes.txt", None, None)], set(), "routes.txt is required"),
    "missing_row_cells": (
        None,
        {"missing_row_cells"},
        "omitted trailing cells of optional fields read as empty: warning",
    ),
    "missing_stop_times": (
        [("missing_file", "stop_times.txt", None, None)],
        set(),
        "stop_times.txt is required",
    ),
    "missing_stops": (
        [("missing_file", "stops.txt", None, None)],
        {"missing_row_cells"},
        "stops.txt is required",
    ),
    "missing_trips": ([("missing_file", "trips.txt", None, None)], set(), "trips.txt is required"),
    "missing_weekday_column": (
        [("missing_column", "calendar.txt", 1, "thursday")],
        {"missing_row_cells"},
        "every weekday column of calendar.txt is required",
    ),
    "negative_stop_sequence": (
        [("negative_value", "stop_times.txt", 9, "stop_sequence")],
        set(),
        "stop_sequence is a non-negative integer",
    ),
    "only_calendar_dates": (None, set(), "service defined only in calendar_dates.txt is valid"),
    "repeated_route_name": (
        None,
        {"repeated_route_name", "unused_route"},
        "two routes with the same names are allowed but confusing: warning",
    ),
    "same_short_long_name": (
        None,
        {"same_short_long_name"},
        "the long name should not repeat the short name: warning",
    ),
    "undefined_stop": (
        [("undefined_reference", "stop_times.txt", 11, "stop_id")],
        set(),
        "stop_times.stop_id must reference stops.txt",
    ),
    "unknown_file": (None, {"unknown_file"}, "extra files are allowed and ignored: warning"),
    "unknown_format.zip": (
        [("not_a_zip", "unknown_format.zip", None, None)],
        set(),
        "a feed is a zip archive (or a folder); this is plain text",
    ),
    "unrecognized_columns": (None, {"unknown_column"}, "extra columns are allowed and ignored: warning"),
    "unused_stop": (None, {"unused_stop"}, "a stop no trip serves is allowed: warning"),
    "upgrade_translations": (
        [("files_in_subfolder", "upgrade_translations", None, None)],
        set(),
        "two partial feeds in subfolders (translations.txt tests), no feed at the top level",
    ),
    "utf16": ([("not_utf8", "stops.txt", None, None)], set(), "files must be UTF-8, not UTF-16"),
    "utf8bom": (None, set(), "the reference accepts a UTF-8 byte-order mark; it is dropped"),
}


def test_every_test_feed_is_decided() -> None:
    assert FEEDS.is_dir(), FEEDS
    assert {p.name for p in FEEDS.iterdir()} == set(CASES)


@pytest.mark.parametrize("name", sorted(CASES))
def test_feed_outcome(name: str) -> None:
    expected_errors, expected_warnings, reason = CASES[name]
    feed = read_feed(FEEDS / name)
    found = {(p.code, p.file, p.row, p.field) for p in feed.errors}
    if expected_errors is None:
        assert not feed.errors, f"{name} ({reason}): {[str(p) for p in feed.errors]}"
        assert feed.stops
        assert feed.stop_times
    else:
        missing = [e for e in expected_errors if e not in found]
        assert not missing, f"{name} ({reason}): expected {missing}, got {sorted(found, key=str)}"
    assert {p.code for p in feed.warnings} == expected_warnings, f"{name} ({reason})"
    for problem in feed.problems:
        assert problem.file
        assert problem.message
        assert problem.severity in (ERROR, WARNING)
        assert problem.file in str(problem)


def test_good_feed_content() -> None:
    feed = read_feed(FEEDS / "good_feed")
    assert feed.valid_from == date(2007, 1, 1)
    assert feed.valid_to == date(2025, 12, 31)
    assert len(feed.frequencies) == 11
    assert {t["transfer_type"] for t in feed.transfers} >= {2, 3}
    assert len(feed.fare_attributes) == 2
    stb = next(i for i, t in enumerate(feed.trips) if t["trip_id"] == "STBA")
    times = [(st[3], st[4]) for st in feed.stop_times if st[0] == stb]
    assert times == [(6 * 3600, 6 * 3600), (6 * 3600 + 20 * 60, 6 * 3600 + 20 * 60)]
    station = next(s for s in feed.stops if s["stop_id"] == "BEATTY_AIRPORT")
    assert feed.stops[station["parent_index"]]["stop_id"] == "BEATTY_AIRPORT_STATION"


def test_times_past_midnight_and_interpolation(tmp_path: Path) -> None:
    feed = read_feed(write_feed(tmp_path / "f", MINIMAL))
    assert feed.ok, [str(p) for p in feed.problems]
    assert [(st[3], st[4], st[8]) for st in feed.stop_times] == [
        (89400, 89400, 1),
        (90000, 90000, 0),  # interpolated halfway between 24:50 and 25:10
        (90600, 90660, 1),
    ]


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (
            {"stops.txt": "stop_id,stop_name,stop_lat,stop_lon\nA,Hbf,91,6.77\nB,M,51,6\nC,H,51,6\n"},
            ("invalid_value", "stops.txt", 2, "stop_lat"),
        ),
        (
            {"stops.txt": "stop_id,stop_name,stop_lat,stop_lon\nA,Hbf,51,6\nA,M,51,6\nB,M,51,6\nC,H,51,6\n"},
            ("duplicate_key", "stops.txt", 3, "stop_id"),
        ),
        (
            {"routes.txt": "route_id,agency_id,route_short_name,route_type\n901,DVG,901,99\n"},
            ("invalid_value", "routes.txt", 2, "route_type"),
        ),
        (
            {"routes.txt": "route_id,agency_id,route_short_name,route_type,route_color\n901,DVG,901,0,red\n"},
            ("invalid_value", "routes.txt", 2, "route_color"),
        ),
        (
            {"trips.txt": "route_id,service_id,trip_id\n901,XX,T1\n"},
            ("undefined_reference", "trips.txt", 2, "service_id"),
        ),
        (
            {"agency.txt": "agency_name,agency_url,agency_timezone\nDVG,https://x.de,Europe/Duisburg\n"},
            ("invalid_value", "agency.txt", 2, "agency_timezone"),
        ),
        (
            {
                "stop_times.txt": "trip_id,arrival_time,departure_time,stop_id,stop_sequence\nT1,8:00:00,8:00:00,A,1\nT1,7:00:00,7:00:00,B,2\n"
            },
            ("time_travel", "stop_times.txt", 3, "arrival_time"),
        ),
        (
            {
                "stop_times.txt": "trip_id,arrival_time,departure_time,stop_id,stop_sequence\nT1,8:00,8:00:00,A,1\nT1,8:10:00,8:10:00,B,2\n"
            },
            ("invalid_value", "stop_times.txt", 2, "arrival_time"),
        ),
        (
            {
                "stop_times.txt": "trip_id,arrival_time,departure_time,stop_id,stop_sequence\nT1,8:00:00,8:00:00,A,x\n"
            },
            ("invalid_value", "stop_times.txt", 2, "stop_sequence"),
        ),
        (
            {
                "calendar.txt": "service_id,monday,tuesday,wednesday,thursday,friday,saturday,sunday,start_date,end_date\nWK,1,1,1,1,1,0,0,20261301,20261231\n"
            },
            ("invalid_value", "calendar.txt", 2, "start_date"),
        ),
        (
            {
                "calendar.txt": "service_id,monday,tuesday,wednesday,thursday,friday,saturday,sunday,start_date,end_date\nWK,1,1,1,1,2,0,0,20260101,20261231\n"
            },
            ("invalid_value", "calendar.txt", 2, "friday"),
        ),
        (
            {"trips.txt": "route_id,service_id,trip_id\n901,WK,T1,extra\n"},
            ("extra_row_cells", "trips.txt", 2, None),
        ),
        (
            {"frequencies.txt": "trip_id,start_time,end_time,headway_secs\nT1,6:00:00,5:00:00,600\n"},
            ("end_before_start", "frequencies.txt", 2, "end_time"),
        ),
        (
            {"transfers.txt": "from_stop_id,to_stop_id,transfer_type\nA,Z,0\n"},
            ("undefined_reference", "transfers.txt", 2, "to_stop_id"),
        ),
        (
            {
                "stops.txt": "stop_id,stop_name,stop_lat,stop_lon,parent_station\nA,Hbf,51,6,S\nB,M,51,6,\nC,H,51,6,\n"
            },
            ("undefined_reference", "stops.txt", 2, "parent_station"),
        ),
        (
            {"routes.txt": "route_id,route_id,route_type\n1,1,3\n"},
            ("duplicate_column", "routes.txt", 1, "route_id"),
        ),
        (
            {"routes.txt": 'route_id,agency_id,route_short_name,route_type\n"901,DVG,901,0\n'},
            ("csv_syntax", "routes.txt", 2, None),
        ),
    ],
    ids=lambda v: v[0] if isinstance(v, tuple) else next(iter(v)),
)
def test_defects_name_file_row_field(
    tmp_path: Path, change: dict[str, str], expected: tuple[str, str, int | None, str | None]
) -> None:
    feed = read_feed(write_feed(tmp_path / "f", {**MINIMAL, **change}))
    found = {(p.code, p.file, p.row, p.field) for p in feed.errors}
    assert expected in found, found
    if expected[0] == "csv_syntax":  # no cascade of errors from the rows that could not be read
        assert found == {expected}, found


def test_crlf_cr_bom_and_zip(tmp_path: Path) -> None:
    files = {name: "\ufeff" + str(content).replace("\n", "\r\n") for name, content in MINIMAL.items()}
    files["stops.txt"] = str(MINIMAL["stops.txt"]).replace("\n", "\r")
    archive = tmp_path / "feed.zip"
    with zipfile.ZipFile(archive, "w") as out:
        for name, content in files.items():
            out.writestr(name, content.encode())
    feed = read_feed(archive)
    assert feed.ok, [str(p) for p in feed.problems]
    assert {p.code for p in feed.warnings} == {"cr_line_endings"}
    assert len(feed.stop_times) == 3


def test_zip_with_subfolder_is_refused(tmp_path: Path) -> None:
    archive = tmp_path / "feed.zip"
    with zipfile.ZipFile(archive, "w") as out:
        for name, content in MINIMAL.items():
            out.writestr(f"gtfs/{name}", str(content))
    feed = read_feed(archive)
    assert [p.code for p in feed.errors] == ["files_in_subfolder"]
