"""Shared by the timetable tests: the transitfeed test feeds, a minimal valid feed, the module's tables."""

from __future__ import annotations

from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
FEEDS = REPO.parent / "shared" / "data" / "gtfs-google-testdata" / "feeds"


def write_feed(folder: Path, files: dict[str, str | bytes]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, content in files.items():
        data = content.encode() if isinstance(content, str) else content
        (folder / name).write_bytes(data)
    return folder


MINIMAL: dict[str, str | bytes] = {
    "agency.txt": "agency_id,agency_name,agency_url,agency_timezone\nDVG,DVG,https://www.dvg-duisburg.de,Europe/Berlin\n",
    "stops.txt": "stop_id,stop_name,stop_lat,stop_lon\nA,Hbf,51.43,6.77\nB,Mitte,51.434,6.76\nC,Hamborn,51.49,6.77\n",
    "routes.txt": "route_id,agency_id,route_short_name,route_type\n901,DVG,901,0\n",
    "trips.txt": "route_id,service_id,trip_id\n901,WK,T1\n",
    "stop_times.txt": (
        "trip_id,arrival_time,departure_time,stop_id,stop_sequence\n"
        "T1,24:50:00,24:50:00,A,1\nT1,,,B,2\nT1,25:10:00,25:11:00,C,3\n"
    ),
    "calendar.txt": (
        "service_id,monday,tuesday,wednesday,thursday,friday,saturday,sunday,start_date,end_date\n"
        "WK,1,1,1,1,1,0,0,20260101,20261231\n"
    ),
}
