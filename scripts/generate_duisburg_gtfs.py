"""Write the Duisburg demo timetable (cities/duisburg/gtfs/): real line numbers and stop names, invented times.

Run: ``.venv/bin/python scripts/generate_duisburg_gtfs.py``; the README in that folder says what is real.
"""

import csv
import datetime
import itertools
import math
from pathlib import Path

out = Path(__file__).resolve().parent.parent / "cities" / "duisburg" / "gtfs"
# station id, name, lat, lon
S = {
    "HBF": ("Duisburg Hbf", 51.42966, 6.77536),
    "KHP": ("König-Heinrich-Platz", 51.43264, 6.76737),
    "RAT": ("Rathaus", 51.43595, 6.76248),
    "STG": ("Steinsche Gasse", 51.43330, 6.76100),
    "DUS": ("Duissern", 51.43560, 6.78810),
    "ADD": ("Auf dem Damm", 51.44470, 6.78700),
    "MSB": ("Meiderich Süd Bf", 51.45620, 6.78040),
    "MBF": ("Meiderich Bf", 51.46640, 6.77550),
    "HRA": ("Hamborn Rathaus", 51.49390, 6.77310),
    "POL": ("Marxloh Pollmann", 51.50110, 6.77720),
    "OMS": ("Obermarxloh Schleife", 51.50900, 6.78300),
    "PLH": ("Platanenhof", 51.42390, 6.77560),
    "GRU": ("Grunewald", 51.41500, 6.77380),
    "ISL": ("Im Schlenk", 51.40480, 6.77220),
    "KES": ("Kesselsberg", 51.39020, 6.77000),
    "HBP": ("Hochfeld Brückenplatz", 51.42010, 6.75310),
    "HSB": ("Hochfeld Süd Bf", 51.41430, 6.75830),
    "WHO": ("Wanheimerort", 51.40300, 6.75600),
    "RHM": ("Rheinhausen Markt", 51.39860, 6.71420),
    "RHB": ("Rheinhausen Bf", 51.40060, 6.73060),
    "BUC": ("Buchholz", 51.39500, 6.78000),
    "WED": ("Wedau", 51.40200, 6.79500),
    "GBB": ("Großenbaum Bf", 51.36820, 6.78110),
    "HUC": ("Huckingen", 51.37300, 6.75600),
}
# Stations with separate platforms: rail platforms (tram/Stadtbahn) per direction and a bus stop.
RAIL = {"901", "903", "U79"}
LINES = {
    # line: (type, color, text, stops, min/km, headways (wk, sa, su) in minutes)
    "901": (
        0,
        "E3000F",
        "FFFFFF",
        ["OMS", "POL", "HRA", "MBF", "HBF", "KHP", "STG", "RAT"],
        2.6,
        (10, 15, 20),
    ),
    "903": (
        0,
        "0069B4",
        "FFFFFF",
        ["POL", "HRA", "MBF", "HBF", "KHP", "HBP", "HSB", "WHO"],
        2.6,
        (10, 15, 20),
    ),
    "U79": (
        0,
        "00A3E0",
        "FFFFFF",
        ["MSB", "ADD", "DUS", "HBF", "KHP", "PLH", "GRU", "ISL", "KES"],
        2.0,
        (10, 15, 15),
    ),
    "921": (3, "7A1E99", "FFFFFF", ["MBF", "MSB", "DUS", "HBF"], 3.0, (20, 30, 30)),
    "923": (3, "7A1E99", "FFFFFF", ["HBF", "KHP", "HBP", "RHB", "RHM"], 3.0, (15, 20, 30)),
    "924": (3, "7A1E99", "FFFFFF", ["HSB", "HBP", "RHB", "RHM"], 3.0, (20, 30, 60)),
    "934": (3, "7A1E99", "FFFFFF", ["HBF", "PLH", "BUC", "WED", "GBB"], 3.0, (20, 30, 30)),
    "940": (3, "7A1E99", "FFFFFF", ["WHO", "HUC", "GBB"], 3.0, (30, 30, 60)),
}
SERVICES = {
    "WK": ((1, 1, 1, 1, 1, 0, 0), 4 * 60 + 45, 0),
    "SA": ((0, 0, 0, 0, 0, 1, 0), 5 * 60 + 45, 1),
    "SO": ((0, 0, 0, 0, 0, 0, 1), 6 * 60 + 45, 2),
}
LAST = 23 * 60 + 45


def km(a, b):
    (_, la1, lo1), (_, la2, lo2) = S[a], S[b]
    dx = (lo2 - lo1) * math.cos(math.radians((la1 + la2) / 2)) * 111.32
    dy = (la2 - la1) * 110.57
    return math.hypot(dx, dy)


rows = {k: [] for k in ["stops", "routes", "trips", "stop_times"]}
used_platforms = set()


def platform(line, station, direction):
    if line in RAIL:
        return f"{station}-{'1' if direction == 0 else '2'}"
    return f"{station}-B"


def tstr(sec):
    return f"{sec // 3600:02d}:{sec % 3600 // 60:02d}:{sec % 60:02d}"


trip_count = 0
for line, (rtype, color, text, stops, perkm, heads) in LINES.items():
    first, last_name = S[stops[0]][0], S[stops[-1]][0]
    rows["routes"].append([line, "DVG", line, f"{first} – {last_name}", rtype, color, text])
    for direction in (0, 1):
        seq = stops if direction == 0 else list(reversed(stops))
        offsets = [0]
        for a, b in itertools.pairwise(seq):
            offsets.append(offsets[-1] + max(1, round(km(a, b) * perkm)) * 60)
        for service, (_days, start, idx) in SERVICES.items():
            headway = heads[idx]
            # the second direction starts a little later, so the lines do not all leave at once
            t = start + (7 if direction else 0) + (sum(map(ord, line)) % headway)
            n = 0
            while t <= LAST:
                n += 1
                trip_id = f"{line}-{service}-{direction}-{n:03d}"
                rows["trips"].append([line, service, trip_id, S[seq[-1]][0], direction])
                for i, (st, off) in enumerate(zip(seq, offsets, strict=False), start=1):
                    p = platform(line, st, direction)
                    used_platforms.add((p, st, line in RAIL))
                    tt = tstr(t * 60 + off)
                    rows["stop_times"].append([trip_id, tt, tt, p, i])
                t += headway
for st, (name, lat, lon) in S.items():
    rows["stops"].append([f"{st}", name, f"{lat:.5f}", f"{lon:.5f}", 1, "", "", "DU"])
for p, st, rail in sorted(used_platforms):
    name, lat, lon = S[st]
    # platforms a few metres apart around the station
    dlat = 0.00008 if p.endswith("-1") else (-0.00008 if p.endswith("-2") else 0.0)
    dlon = 0.00012 if p.endswith("-B") else 0.0
    code = p.rsplit("-", 1)[1]
    code = code if rail else "Bus"
    rows["stops"].append([p, name, f"{lat + dlat:.5f}", f"{lon + dlon:.5f}", 0, st, code, "DU"])


def write(name, header, data):
    with (out / name).open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(header)
        w.writerows(data)


write(
    "agency.txt",
    ["agency_id", "agency_name", "agency_url", "agency_timezone", "agency_lang"],
    [
        [
            "DVG",
            "Duisburger Verkehrsgesellschaft AG (Demodaten)",
            "https://www.dvg-duisburg.de",
            "Europe/Berlin",
            "de",
        ]
    ],
)
write(
    "stops.txt",
    [
        "stop_id",
        "stop_name",
        "stop_lat",
        "stop_lon",
        "location_type",
        "parent_station",
        "platform_code",
        "zone_id",
    ],
    rows["stops"],
)
write(
    "routes.txt",
    [
        "route_id",
        "agency_id",
        "route_short_name",
        "route_long_name",
        "route_type",
        "route_color",
        "route_text_color",
    ],
    rows["routes"],
)
write("trips.txt", ["route_id", "service_id", "trip_id", "trip_headsign", "direction_id"], rows["trips"])
write(
    "stop_times.txt",
    ["trip_id", "arrival_time", "departure_time", "stop_id", "stop_sequence"],
    rows["stop_times"],
)
write(
    "calendar.txt",
    [
        "service_id",
        "monday",
        "tuesday",
        "wednesday",
        "thursday",
        "friday",
        "saturday",
        "sunday",
        "start_date",
        "end_date",
    ],
    [[s, *d, "20260101", "20271231"] for s, (d, _, _) in SERVICES.items()],
)
# Public holidays in NRW run the Sunday timetable (a selection for the demo).
hol = [
    "20261225",
    "20261226",
    "20270101",
    "20270326",
    "20270329",
    "20270501",
    "20270506",
    "20270517",
    "20270527",
    "20271003",
    "20271101",
    "20271225",
    "20271226",
    "20261101",
    "20261003",
]

cd = []
for h in sorted(set(hol)):
    d = datetime.date(int(h[:4]), int(h[4:6]), int(h[6:]))
    wd = d.weekday()
    normal = "WK" if wd < 5 else ("SA" if wd == 5 else "SO")
    if normal != "SO":
        cd.append([normal, h, 2])
        cd.append(["SO", h, 1])
write("calendar_dates.txt", ["service_id", "date", "exception_type"], cd)
write(
    "feed_info.txt",
    [
        "feed_publisher_name",
        "feed_publisher_url",
        "feed_lang",
        "feed_start_date",
        "feed_end_date",
        "feed_version",
    ],
    [
        [
            "Stadtkern Demodaten Duisburg",
            "https://www.duisburg.de",
            "de",
            "20260101",
            "20271231",
            "demo-2026.1",
        ]
    ],
)
print(len(rows["stops"]), len(rows["trips"]), len(rows["stop_times"]))
