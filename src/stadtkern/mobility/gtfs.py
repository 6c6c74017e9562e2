"""Reading and validating a static GTFS feed (a zip file or a folder), by the GTFS Schedule reference.

``read_feed(path)`` never raises for bad content: it returns a :class:`GtfsFeed` with the parsed rows
and every :class:`Problem` found, each naming file, row (the line number in the file, the header being
line 1) and field. Errors make the feed unusable (the importer refuses it); warnings describe things the
reference allows or only recommends against, and travel with the loaded feed.

Rows come out ready for the importer: references between files are list indexes (``trip`` and ``stop``
of a stop time are positions in ``trips`` and ``stops``), times are seconds after midnight of the
service day, dates are ``date`` values, and missing times between timepoints are interpolated.
"""

from __future__ import annotations

import csv
import io
import re
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation
from itertools import pairwise
from pathlib import Path
from typing import Any
from zoneinfo import available_timezones

from stadtkern.core.i18n import gettext as _

ERROR = "error"
WARNING = "warning"

REQUIRED_FILES = ("agency.txt", "stops.txt", "routes.txt", "trips.txt", "stop_times.txt")
LOADED_FILES = (
    *REQUIRED_FILES,
    "calendar.txt",
    "calendar_dates.txt",
    "frequencies.txt",
    "transfers.txt",
    "fare_attributes.txt",
    "fare_rules.txt",
    "feed_info.txt",
)
# Files of the reference that are valid but not used by Stadtkern (yet).
KNOWN_UNUSED_FILES = frozenset(
    {
        "shapes.txt",
        "levels.txt",
        "pathways.txt",
        "translations.txt",
        "attributions.txt",
        "areas.txt",
        "stop_areas.txt",
        "networks.txt",
        "route_networks.txt",
        "fare_media.txt",
        "fare_products.txt",
        "fare_leg_rules.txt",
        "fare_leg_join_rules.txt",
        "fare_transfer_rules.txt",
        "timeframes.txt",
        "rider_categories.txt",
        "location_groups.txt",
        "location_group_stops.txt",
        "locations.geojson",
        "booking_rules.txt",
    }
)

# Columns the reference defines per file; anything else is reported as an unknown column (a warning).
COLUMNS: dict[str, tuple[str, ...]] = {
    "agency.txt": (
        "agency_id",
        "agency_name",
        "agency_url",
        "agency_timezone",
        "agency_lang",
        "agency_phone",
        "agency_fare_url",
        "agency_email",
        "cemv_support",
    ),
    "stops.txt": (
        "stop_id",
        "stop_code",
        "stop_name",
        "tts_stop_name",
        "stop_desc",
        "stop_lat",
        "stop_lon",
        "zone_id",
        "stop_url",
        "location_type",
        "parent_station",
        "stop_timezone",
        "wheelchair_boarding",
        "level_id",
        "platform_code",
        "stop_access",
    ),
    "routes.txt": (
        "route_id",
        "agency_id",
        "route_short_name",
        "route_long_name",
        "route_desc",
        "route_type",
        "route_url",
        "route_color",
        "route_text_color",
        "route_sort_order",
        "continuous_pickup",
        "continuous_drop_off",
        "network_id",
        "cemv_support",
    ),
    "trips.txt": (
        "route_id",
        "service_id",
        "trip_id",
        "trip_headsign",
        "trip_short_name",
        "direction_id",
        "block_id",
        "shape_id",
        "wheelchair_accessible",
        "bikes_allowed",
        "cars_allowed",
    ),
    "stop_times.txt": (
        "trip_id",
        "arrival_time",
        "departure_time",
        "stop_id",
        "location_group_id",
        "location_id",
        "stop_sequence",
        "stop_headsign",
        "start_pickup_drop_off_window",
        "end_pickup_drop_off_window",
        "pickup_type",
        "drop_off_type",
        "continuous_pickup",
        "continuous_drop_off",
        "shape_dist_traveled",
        "timepoint",
        "pickup_booking_rule_id",
        "drop_off_booking_rule_id",
    ),
    "calendar.txt": (
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
    ),
    "calendar_dates.txt": ("service_id", "date", "exception_type"),
    "frequencies.txt": ("trip_id", "start_time", "end_time", "headway_secs", "exact_times"),
    "transfers.txt": (
        "from_stop_id",
        "to_stop_id",
        "from_route_id",
        "to_route_id",
        "from_trip_id",
        "to_trip_id",
        "transfer_type",
        "min_transfer_time",
    ),
    "fare_attributes.txt": (
        "fare_id",
        "price",
        "currency_type",
        "payment_method",
        "transfers",
        "agency_id",
        "transfer_duration",
    ),
    "fare_rules.txt": ("fare_id", "route_id", "origin_id", "destination_id", "contains_id"),
    "feed_info.txt": (
        "feed_publisher_name",
        "feed_publisher_url",
        "feed_lang",
        "default_lang",
        "feed_start_date",
        "feed_end_date",
        "feed_version",
        "feed_contact_email",
        "feed_contact_url",
    ),
}

# Columns that must be present in the header (the reference's "Required" fields).
REQUIRED_COLUMNS: dict[str, tuple[str, ...]] = {
    "agency.txt": ("agency_name", "agency_url", "agency_timezone"),
    "stops.txt": ("stop_id",),
    "routes.txt": ("route_id", "route_type"),
    "trips.txt": ("route_id", "service_id", "trip_id"),
    "stop_times.txt": ("trip_id", "stop_sequence"),
    "calendar.txt": COLUMNS["calendar.txt"],
    "calendar_dates.txt": COLUMNS["calendar_dates.txt"],
    "frequencies.txt": ("trip_id", "start_time", "end_time", "headway_secs"),
    "transfers.txt": ("transfer_type",),
    "fare_attributes.txt": ("fare_id", "price", "currency_type", "payment_method", "transfers"),
    "fare_rules.txt": ("fare_id",),
    "feed_info.txt": ("feed_publisher_name", "feed_publisher_url", "feed_lang"),
}

WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_TIME = re.compile(r"^(\d{1,3}):([0-5]\d):([0-5]\d)$")
_DATE = re.compile(r"^\d{8}$")
_COLOR = re.compile(r"^[0-9A-Fa-f]{6}$")
_CURRENCY = re.compile(r"^[A-Z]{3}$")
# Basic route types and the extended ("Hierarchical Vehicle Type") ones German feeds use (700 bus, 900 tram).
_ROUTE_TYPES = frozenset({0, 1, 2, 3, 4, 5, 6, 7, 11, 12}) | frozenset(range(100, 1800))


@dataclass(frozen=True)
class Problem:
    """One finding of the validator; ``row`` is the line in the file (header = 1), None for the file."""

    severity: str
    code: str
    file: str
    row: int | None
    field: str | None
    message: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "severity": self.severity,
            "code": self.code,
            "file": self.file,
            "row": self.row,
            "field": self.field,
            "message": self.message,
        }

    def __str__(self) -> str:
        where = self.file
        if self.row is not None:
            where += _(", Zeile %(row)s", row=self.row)
        if self.field:
            where += _(", Feld %(field)s", field=self.field)
        label = _("Fehler") if self.severity == ERROR else _("Warnung")
        return f"{label}: {where}: {self.message} [{self.code}]"


@dataclass
class GtfsFeed:
    """A parsed feed: rows per file (dicts with the model's column names; references as indexes)."""

    name: str
    agencies: list[dict[str, Any]] = field(default_factory=list)
    stops: list[dict[str, Any]] = field(default_factory=list)
    routes: list[dict[str, Any]] = field(default_factory=list)
    trips: list[dict[str, Any]] = field(default_factory=list)
    # (trip index, stop_sequence, stop index, arrival, departure, stop_headsign, pickup_type,
    #  drop_off_type, timepoint, shape_dist_traveled), sorted by trip and sequence.
    stop_times: list[tuple[int, int, int, int, int, str, int, int, int, float | None]] = field(
        default_factory=list
    )
    calendar: list[dict[str, Any]] = field(default_factory=list)
    calendar_dates: list[dict[str, Any]] = field(default_factory=list)
    frequencies: list[dict[str, Any]] = field(default_factory=list)
    transfers: list[dict[str, Any]] = field(default_factory=list)
    fare_attributes: list[dict[str, Any]] = field(default_factory=list)
    fare_rules: list[dict[str, Any]] = field(default_factory=list)
    feed_info: dict[str, Any] = field(default_factory=dict)
    valid_from: date | None = None
    valid_to: date | None = None
    problems: list[Problem] = field(default_factory=list)

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == ERROR]

    @property
    def warnings(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == WARNING]

    @property
    def ok(self) -> bool:
        return not self.errors

    def counts(self) -> dict[str, int]:
        return {
            "agency.txt": len(self.agencies),
            "stops.txt": len(self.stops),
            "routes.txt": len(self.routes),
            "trips.txt": len(self.trips),
            "stop_times.txt": len(self.stop_times),
            "calendar.txt": len(self.calendar),
            "calendar_dates.txt": len(self.calendar_dates),
            "frequencies.txt": len(self.frequencies),
            "transfers.txt": len(self.transfers),
            "fare_attributes.txt": len(self.fare_attributes),
            "fare_rules.txt": len(self.fare_rules),
        }


class _Invalid(ValueError):
    """A cell that does not parse; the message says what was expected."""


# --------------------------------------------------------------------------------------------- sources


class _Source:
    """The files of a feed, from a zip archive or a folder."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._zip: zipfile.ZipFile | None = None
        self._names: dict[str, str] = {}
        self.subfolder = ""

    def open(self, problems: list[Problem]) -> bool:
        if self.path.is_dir():
            self._names = {p.name: str(p) for p in self.path.iterdir() if p.is_file()}
            if not any(n in self._names for n in REQUIRED_FILES):
                folders = sorted(p.name for p in self.path.iterdir() if (p / "stops.txt").is_file())
                if folders:
                    problems.append(
                        Problem(
                            ERROR,
                            "files_in_subfolder",
                            self.path.name,
                            None,
                            None,
                            _(
                                "Die Dateien liegen im Unterordner %(folder)s; GTFS verlangt sie auf der "
                                "obersten Ebene.",
                                folder=", ".join(folders),
                            ),
                        )
                    )
                    return False
            return True
        if not self.path.is_file():
            problems.append(
                Problem(
                    ERROR, "not_found", self.path.name, None, None, _("Datei oder Ordner nicht gefunden.")
                )
            )
            return False
        if not zipfile.is_zipfile(self.path):
            problems.append(
                Problem(
                    ERROR,
                    "not_a_zip",
                    self.path.name,
                    None,
                    None,
                    _("Kein GTFS-Feed: weder ZIP-Archiv noch Ordner."),
                )
            )
            return False
        try:
            self._zip = zipfile.ZipFile(self.path)
            members = [i.filename for i in self._zip.infolist() if not i.is_dir()]
        except (zipfile.BadZipFile, OSError) as exc:
            problems.append(
                Problem(
                    ERROR,
                    "bad_zip",
                    self.path.name,
                    None,
                    None,
                    _("ZIP-Archiv nicht lesbar: %(reason)s", reason=str(exc)),
                )
            )
            return False
        top = {m: m for m in members if "/" not in m and not m.startswith("__MACOSX")}
        if not any(n in top for n in REQUIRED_FILES):
            # The reference wants the files at the archive's root; say so rather than guessing.
            zip_folders = {m.split("/", 1)[0] for m in members if "/" in m and m.endswith("stops.txt")}
            if zip_folders:
                problems.append(
                    Problem(
                        ERROR,
                        "files_in_subfolder",
                        self.path.name,
                        None,
                        None,
                        _(
                            "Die Dateien liegen im Unterordner %(folder)s; GTFS verlangt sie auf der "
                            "obersten Ebene des Archivs.",
                            folder=sorted(zip_folders)[0],
                        ),
                    )
                )
                return False
        self._names = top
        return True

    def names(self) -> list[str]:
        return sorted(self._names)

    def has(self, name: str) -> bool:
        return name in self._names

    def read(self, name: str) -> bytes:
        if self._zip is not None:
            return self._zip.read(self._names[name])
        return Path(self._names[name]).read_bytes()

    def close(self) -> None:
        if self._zip is not None:
            self._zip.close()


# ------------------------------------------------------------------------------------------ the reader


class _Reader:
    def __init__(self, path: Path) -> None:
        self.feed = GtfsFeed(name=path.name)
        self.problems = self.feed.problems
        self.source = _Source(path)
        # Files that could not be read at all: references into them are not reported row by row.
        self.unusable: set[str] = set()

    # -- problems

    def error(self, code: str, file: str, row: int | None, fld: str | None, message: str) -> None:
        self.problems.append(Problem(ERROR, code, file, row, fld, message))

    def warn(self, code: str, file: str, row: int | None, fld: str | None, message: str) -> None:
        self.problems.append(Problem(WARNING, code, file, row, fld, message))

    # -- files

    def decode(self, name: str) -> str | None:
        data = self.source.read(name)
        if data.startswith((b"\xff\xfe", b"\xfe\xff")):
            self.error(
                "not_utf8",
                name,
                None,
                None,
                _("Die Datei ist UTF-16-kodiert; GTFS verlangt UTF-8."),
            )
            return None
        if data.startswith(b"\xef\xbb\xbf"):
            # The reference allows a byte-order mark; it is dropped.
            data = data[3:]
        nul = data.find(b"\x00")
        if nul >= 0:
            row = data.count(b"\n", 0, nul) + 1
            self.error(
                "contains_null",
                name,
                row,
                self._field_at(data, nul),
                _("Die Datei enthält ein NUL-Zeichen (Byte 0); GTFS-Dateien sind Text."),
            )
            return None
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            row = data.count(b"\n", 0, exc.start) + 1
            self.error(
                "invalid_utf8",
                name,
                row,
                self._field_at(data, exc.start),
                _("Ungültiges UTF-8 (Byte %(offset)s); GTFS verlangt UTF-8.", offset=exc.start),
            )
            return None
        crlf = text.count("\r\n")
        cr = text.count("\r") - crlf
        lf = text.count("\n") - crlf
        if sum(1 for n in (crlf, cr, lf) if n) > 1:
            self.warn(
                "mixed_line_endings",
                name,
                None,
                None,
                _("Die Zeilenenden sind gemischt (CRLF, LF, CR); sie werden einheitlich gelesen."),
            )
        elif cr:
            self.warn(
                "cr_line_endings",
                name,
                None,
                None,
                _("Die Zeilen enden mit CR allein; GTFS sieht CRLF oder LF vor."),
            )
        return text

    @staticmethod
    def _field_at(data: bytes, offset: int) -> str | None:
        """The header column a byte offset falls into (best effort, for the message)."""
        header_end = data.find(b"\n")
        header = data[: header_end if header_end >= 0 else len(data)].decode("utf-8", "replace")
        columns = [c.strip().lstrip("\ufeff") for c in header.split(",")]
        line_start = data.rfind(b"\n", 0, offset) + 1
        index = data.count(b",", line_start, offset)
        return columns[index] if index < len(columns) else None

    def table(
        self, name: str, required: bool = False
    ) -> tuple[list[str], Iterator[tuple[int, list[str]]]] | None:
        """Header and rows (line number, cells padded to the header) of a file, or None if unusable."""
        result = self._table(name, required)
        if result is None and (required or self.source.has(name)):
            self.unusable.add(name)
        return result

    def _table(self, name: str, required: bool) -> tuple[list[str], Iterator[tuple[int, list[str]]]] | None:
        if not self.source.has(name):
            if required:
                self.error(
                    "missing_file",
                    name,
                    None,
                    None,
                    _("Die Pflichtdatei %(file)s fehlt.", file=name),
                )
            return None
        text = self.decode(name)
        if text is None:
            return None
        reader = csv.reader(io.StringIO(text, newline=None), strict=True)
        try:
            raw_header = next(reader)
        except StopIteration:
            self.error("empty_file", name, None, None, _("Die Datei ist leer (keine Kopfzeile)."))
            return None
        except csv.Error as exc:
            self.error("csv_syntax", name, 1, None, _("CSV-Fehler: %(reason)s", reason=str(exc)))
            return None
        header = [h.strip() for h in raw_header]
        if any(h != r for h, r in zip(header, raw_header, strict=True)):
            self.warn(
                "header_whitespace",
                name,
                1,
                None,
                _("Spaltennamen mit Leer- oder Steuerzeichen; sie werden ohne gelesen."),
            )
        known = COLUMNS.get(name, ())
        seen: set[str] = set()
        for column in header:
            if column in seen:
                self.error(
                    "duplicate_column",
                    name,
                    1,
                    column,
                    _("Die Spalte %(column)s steht zweimal in der Kopfzeile.", column=column),
                )
                return None
            seen.add(column)
            if not column:
                self.warn("empty_column_name", name, 1, None, _("Eine Spalte hat keinen Namen."))
            elif column not in known:
                self.warn(
                    "unknown_column",
                    name,
                    1,
                    column,
                    _("Unbekannte Spalte %(column)s wird ignoriert.", column=column),
                )
        missing = [c for c in REQUIRED_COLUMNS.get(name, ()) if c not in seen]
        for column in missing:
            self.error(
                "missing_column",
                name,
                1,
                column,
                _("Die Pflichtspalte %(column)s fehlt.", column=column),
            )
        if missing:
            return None
        return header, self._rows(name, reader, len(header))

    def _rows(self, name: str, reader: Any, width: int) -> Iterator[tuple[int, list[str]]]:
        short_reported = long_reported = False
        while True:
            try:
                cells = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:
                self.unusable.add(name)
                self.error(
                    "csv_syntax",
                    name,
                    reader.line_num,
                    None,
                    _("CSV-Fehler: %(reason)s", reason=str(exc)),
                )
                return
            line = reader.line_num
            if len(cells) != width:
                if not cells or (len(cells) == 1 and not cells[0].strip()):
                    continue  # an empty line
                if len(cells) < width:
                    if not short_reported:
                        self.warn(
                            "missing_row_cells",
                            name,
                            line,
                            None,
                            _(
                                "Die Zeile hat %(found)s statt %(expected)s Zellen; fehlende Zellen "
                                "gelten als leer (weitere solche Zeilen werden nicht einzeln genannt).",
                                found=len(cells),
                                expected=width,
                            ),
                        )
                        short_reported = True
                    cells = cells + [""] * (width - len(cells))
                else:
                    extra = [c for c in cells[width:] if c.strip()]
                    if extra:
                        self.error(
                            "extra_row_cells",
                            name,
                            line,
                            None,
                            _(
                                "Die Zeile hat %(found)s Zellen, die Kopfzeile nur %(expected)s: "
                                "die Werte lassen sich keiner Spalte zuordnen.",
                                found=len(cells),
                                expected=width,
                            ),
                        )
                        continue
                    if not long_reported:
                        self.warn(
                            "extra_empty_cells",
                            name,
                            line,
                            None,
                            _("Die Zeile hat leere Zellen über die Kopfzeile hinaus; sie werden ignoriert."),
                        )
                        long_reported = True
                    cells = cells[:width]
            yield line, cells

    def records(self, name: str, required: bool = False) -> Iterator[tuple[int, dict[str, str]]]:
        """Rows as dicts of stripped cells (for the smaller files)."""
        table = self.table(name, required)
        if table is None:
            return
        header, rows = table
        for line, cells in rows:
            yield line, {h: c.strip() for h, c in zip(header, cells, strict=True)}

    # -- cells

    def cell(
        self,
        name: str,
        line: int,
        row: dict[str, str],
        column: str,
        parse: Callable[[str], Any],
        required: bool = False,
        default: Any = None,
    ) -> Any:
        """A parsed cell; a problem is recorded (and ``default`` returned) when it is missing or bad."""
        value = row.get(column, "")
        if value == "":
            if required:
                self.error(
                    "missing_value",
                    name,
                    line,
                    column,
                    _("Das Pflichtfeld %(column)s ist leer.", column=column),
                )
            return default
        try:
            return parse(value)
        except _Invalid as exc:
            self.error(
                "invalid_value", name, line, column, _("%(value)r: %(reason)s", value=value, reason=str(exc))
            )
            return default

    # -- files, in dependency order

    def read(self) -> GtfsFeed:
        if not self.source.open(self.problems):
            return self.feed
        try:
            for name in self.source.names():
                if name.upper().startswith(("README", "LICENSE", "COPYING")):
                    continue  # documentation next to the feed, not a table
                if name not in LOADED_FILES and name not in KNOWN_UNUSED_FILES:
                    self.warn(
                        "unknown_file",
                        name,
                        None,
                        None,
                        _("Unbekannte Datei; sie wird ignoriert."),
                    )
            self.read_agencies()
            self.read_stops()
            self.read_routes()
            services = self.read_calendar()
            self.read_trips(services)
            if "routes.txt" in self.unusable:
                self.unusable.add("trips.txt")  # its rows could not be resolved: no cascade of errors
            self.read_stop_times()
            self.read_frequencies()
            self.read_transfers()
            self.read_fares()
            self.read_feed_info()
            self.check_unused()
        finally:
            self.source.close()
        return self.feed

    def read_agencies(self) -> None:
        name = "agency.txt"
        self.agency_ids: dict[str, int] = {}
        timezones: set[str] = set()
        for line, row in self.records(name, required=True):
            agency_id = row.get("agency_id", "")
            if agency_id in self.agency_ids:
                self.error(
                    "duplicate_key",
                    name,
                    line,
                    "agency_id",
                    _("Die agency_id %(id)s kommt mehrfach vor.", id=agency_id),
                )
                continue
            tz = self.cell(name, line, row, "agency_timezone", _timezone, required=True, default="")
            timezones.add(tz)
            self.agency_ids[agency_id] = len(self.feed.agencies)
            self.feed.agencies.append(
                {
                    "agency_id": agency_id,
                    "name": self.cell(name, line, row, "agency_name", str, required=True, default=""),
                    "url": self.cell(name, line, row, "agency_url", _url, required=True, default=""),
                    "timezone": tz,
                    "lang": row.get("agency_lang", ""),
                    "phone": row.get("agency_phone", ""),
                    "fare_url": row.get("agency_fare_url", ""),
                }
            )
        if not self.feed.agencies and self.source.has(name) and not self.feed.errors:
            self.error("no_rows", name, None, None, _("Die Datei enthält keinen Verkehrsbetrieb."))
        if len(self.feed.agencies) > 1:
            for line_agency in self.feed.agencies:
                if not line_agency["agency_id"]:
                    self.error(
                        "missing_value",
                        name,
                        None,
                        "agency_id",
                        _("Bei mehreren Verkehrsbetrieben braucht jeder eine agency_id."),
                    )
                    break
        timezones.discard("")
        if len(timezones) > 1:
            self.error(
                "mixed_timezones",
                name,
                None,
                "agency_timezone",
                _("Alle Verkehrsbetriebe eines Feeds müssen dieselbe Zeitzone haben."),
            )

    def read_stops(self) -> None:
        name = "stops.txt"
        self.stop_index: dict[str, int] = {}
        self.stop_lines: list[int] = []
        for line, row in self.records(name, required=True):
            stop_id = self.cell(name, line, row, "stop_id", str, required=True)
            if stop_id is None:
                continue
            if stop_id in self.stop_index:
                self.error(
                    "duplicate_key",
                    name,
                    line,
                    "stop_id",
                    _("Die stop_id %(id)s kommt mehrfach vor.", id=stop_id),
                )
                continue
            location_type = self.cell(name, line, row, "location_type", _enum(0, 1, 2, 3, 4), default=0)
            positioned = location_type in (0, 1, 2)
            lat = self.cell(name, line, row, "stop_lat", _latitude, required=positioned)
            lon = self.cell(name, line, row, "stop_lon", _longitude, required=positioned)
            if lat == 0 and lon == 0:
                self.warn(
                    "null_island",
                    name,
                    line,
                    "stop_lat",
                    _("Die Koordinaten 0,0 liegen im Atlantik; vermutlich fehlen sie."),
                )
            self.stop_index[stop_id] = len(self.feed.stops)
            self.stop_lines.append(line)
            self.feed.stops.append(
                {
                    "stop_id": stop_id,
                    "code": row.get("stop_code", ""),
                    "name": self.cell(name, line, row, "stop_name", str, required=positioned, default=""),
                    "description": row.get("stop_desc", ""),
                    "lat": lat,
                    "lon": lon,
                    "zone_id": row.get("zone_id", ""),
                    "location_type": location_type,
                    "parent_station": row.get("parent_station", ""),
                    "platform_code": row.get("platform_code", ""),
                    "wheelchair_boarding": self.cell(
                        name, line, row, "wheelchair_boarding", _enum(0, 1, 2), default=0
                    ),
                    "timezone": self.cell(name, line, row, "stop_timezone", _timezone, default=""),
                }
            )
        if self.source.has(name) and not self.feed.stops and not self.feed.errors:
            self.error("no_rows", name, None, None, _("Die Datei enthält keine Haltestelle."))
        self._near_duplicates()
        # Parents: a platform's parent is a station; entrances, nodes and boarding areas need one.
        self.parent_index: list[int | None] = []
        for stop, line in zip(self.feed.stops, self.stop_lines, strict=True):
            parent = stop["parent_station"]
            index: int | None = None
            if parent:
                index = self.stop_index.get(parent)
                if index is None:
                    self.error(
                        "undefined_reference",
                        name,
                        line,
                        "parent_station",
                        _("Die Station %(id)s ist in stops.txt nicht definiert.", id=parent),
                    )
                else:
                    parent_type = self.feed.stops[index]["location_type"]
                    expected = 0 if stop["location_type"] == 4 else 1
                    if stop["location_type"] == 1:
                        self.error(
                            "station_with_parent",
                            name,
                            line,
                            "parent_station",
                            _("Eine Station (location_type 1) darf keine parent_station haben."),
                        )
                    elif parent_type != expected:
                        self.error(
                            "wrong_parent_type",
                            name,
                            line,
                            "parent_station",
                            _(
                                "%(id)s hat location_type %(found)s, erwartet ist %(expected)s.",
                                id=parent,
                                found=parent_type,
                                expected=expected,
                            ),
                        )
            elif stop["location_type"] in (2, 3, 4):
                self.error(
                    "missing_value",
                    name,
                    line,
                    "parent_station",
                    _("Eingänge, Knoten und Einstiegsbereiche brauchen eine parent_station."),
                )
            self.parent_index.append(index)
            stop["parent_index"] = index

    def _near_duplicates(self) -> None:
        """Stops of the same type and name-independent position within about 2 m: likely one stop twice."""
        cells: dict[tuple[int, int, int], list[int]] = {}
        for index, stop in enumerate(self.feed.stops):
            if stop["lat"] is None or stop["lon"] is None:
                continue
            key = (stop["location_type"], round(stop["lat"] * 20000), round(stop["lon"] * 20000))
            for other in cells.get(key, ()):
                other_stop = self.feed.stops[other]
                if (
                    abs(other_stop["lat"] - stop["lat"]) < 2e-5
                    and abs(other_stop["lon"] - stop["lon"]) < 3e-5
                    and other_stop["parent_station"] == stop["parent_station"]
                    and other_stop["platform_code"] == stop["platform_code"]
                ):
                    self.warn(
                        "duplicate_stop",
                        "stops.txt",
                        self.stop_lines[index],
                        "stop_id",
                        _(
                            "Die Haltestelle %(id)s liegt an derselben Stelle wie %(other)s (Zeile "
                            "%(line)s); vermutlich ist es dieselbe.",
                            id=stop["stop_id"],
                            other=other_stop["stop_id"],
                            line=self.stop_lines[other],
                        ),
                    )
                    break
            cells.setdefault(key, []).append(index)

    def read_routes(self) -> None:
        name = "routes.txt"
        self.route_index: dict[str, int] = {}
        names: dict[tuple[str, str, str], int] = {}
        for line, row in self.records(name, required=True):
            route_id = self.cell(name, line, row, "route_id", str, required=True)
            if route_id is None:
                continue
            if route_id in self.route_index:
                self.error(
                    "duplicate_key",
                    name,
                    line,
                    "route_id",
                    _("Die route_id %(id)s kommt mehrfach vor.", id=route_id),
                )
                continue
            agency_id = row.get("agency_id", "")
            agency: int | None = None
            if agency_id:
                agency = self.agency_ids.get(agency_id)
                if agency is None and "agency.txt" not in self.unusable:
                    self.error(
                        "undefined_reference",
                        name,
                        line,
                        "agency_id",
                        _("Der Verkehrsbetrieb %(id)s ist in agency.txt nicht definiert.", id=agency_id),
                    )
            elif len(self.feed.agencies) > 1:
                self.error(
                    "missing_value",
                    name,
                    line,
                    "agency_id",
                    _("Bei mehreren Verkehrsbetrieben muss jede Linie ihren nennen."),
                )
            elif self.feed.agencies:
                agency = 0
            short = row.get("route_short_name", "")
            long = row.get("route_long_name", "")
            if not short and not long:
                self.error(
                    "missing_value",
                    name,
                    line,
                    "route_short_name",
                    _("Eine Linie braucht route_short_name oder route_long_name."),
                )
            elif short and short == long:
                self.warn(
                    "same_short_long_name",
                    name,
                    line,
                    "route_long_name",
                    _("Kurz- und Langname der Linie sind gleich; der Langname sollte mehr sagen."),
                )
            key = (agency_id, short, long)
            if (short or long) and key in names:
                self.warn(
                    "repeated_route_name",
                    name,
                    line,
                    "route_short_name",
                    _(
                        "Eine andere Linie (Zeile %(other)s) hat denselben Namen; Fahrgäste können sie "
                        "nicht unterscheiden.",
                        other=names[key],
                    ),
                )
            names.setdefault(key, line)
            self.route_index[route_id] = len(self.feed.routes)
            self.feed.routes.append(
                {
                    "route_id": route_id,
                    "agency_index": agency,
                    "short_name": short,
                    "long_name": long,
                    "description": row.get("route_desc", ""),
                    "route_type": self.cell(
                        name, line, row, "route_type", _route_type, required=True, default=3
                    ),
                    "url": row.get("route_url", ""),
                    "color": self.cell(name, line, row, "route_color", _color, default=""),
                    "text_color": self.cell(name, line, row, "route_text_color", _color, default=""),
                    "sort_order": self.cell(name, line, row, "route_sort_order", _non_negative),
                }
            )
        if self.source.has(name) and not self.feed.routes and not self.feed.errors:
            self.error("no_rows", name, None, None, _("Die Datei enthält keine Linie."))

    def read_calendar(self) -> set[str]:
        services: set[str] = set()
        first: list[date] = []
        last: list[date] = []
        active_days: dict[str, bool] = {}
        name = "calendar.txt"
        has_calendar = self.source.has(name)
        has_dates = self.source.has("calendar_dates.txt")
        if not has_calendar and not has_dates:
            self.error(
                "missing_file",
                "calendar.txt",
                None,
                None,
                _("calendar.txt oder calendar_dates.txt muss vorhanden sein."),
            )
        for line, row in self.records(name):
            service_id = self.cell(name, line, row, "service_id", str, required=True)
            if service_id is None:
                continue
            if service_id in services:
                self.error(
                    "duplicate_key",
                    name,
                    line,
                    "service_id",
                    _("Die service_id %(id)s kommt mehrfach vor.", id=service_id),
                )
                continue
            days = [self.cell(name, line, row, d, _enum(0, 1), required=True, default=0) for d in WEEKDAYS]
            start = self.cell(name, line, row, "start_date", _date, required=True)
            end = self.cell(name, line, row, "end_date", _date, required=True)
            if start is None or end is None:
                continue
            if end < start:
                self.error(
                    "end_before_start",
                    name,
                    line,
                    "end_date",
                    _("end_date liegt vor start_date."),
                )
                continue
            services.add(service_id)
            active_days[service_id] = any(days)
            first.append(start)
            last.append(end)
            record: dict[str, Any] = {"service_id": service_id, "start_date": start, "end_date": end}
            record.update({d: bool(v) for d, v in zip(WEEKDAYS, days, strict=True)})
            self.feed.calendar.append(record)
        name = "calendar_dates.txt"
        seen: set[tuple[str, date]] = set()
        for line, row in self.records(name):
            service_id = self.cell(name, line, row, "service_id", str, required=True)
            day = self.cell(name, line, row, "date", _date, required=True)
            kind = self.cell(name, line, row, "exception_type", _enum(1, 2), required=True)
            if service_id is None or day is None or kind is None:
                continue
            if (service_id, day) in seen:
                self.error(
                    "duplicate_key",
                    name,
                    line,
                    "date",
                    _("Für %(id)s steht der Tag %(day)s mehrfach.", id=service_id, day=day.isoformat()),
                )
                continue
            seen.add((service_id, day))
            services.add(service_id)
            if kind == 1:
                active_days[service_id] = True
                first.append(day)
                last.append(day)
            else:
                active_days.setdefault(service_id, False)
            self.feed.calendar_dates.append({"service_id": service_id, "date": day, "exception_type": kind})
        for service_id, active in active_days.items():
            if not active and not self.unusable & {"calendar.txt", "calendar_dates.txt"}:
                self.warn(
                    "service_never_active",
                    "calendar.txt" if has_calendar else name,
                    None,
                    "service_id",
                    _("Der Verkehrstag %(id)s gilt an keinem Tag.", id=service_id),
                )
        if first:
            self.feed.valid_from = min(first)
            self.feed.valid_to = max(last)
        self.services = services
        return services

    def read_trips(self, services: set[str]) -> None:
        name = "trips.txt"
        self.trip_index: dict[str, int] = {}
        self.trip_lines: list[int] = []
        calendar_usable = not any(
            p.severity == ERROR and p.file in ("calendar.txt", "calendar_dates.txt") for p in self.problems
        )
        for line, row in self.records(name, required=True):
            trip_id = self.cell(name, line, row, "trip_id", str, required=True)
            route_id = self.cell(name, line, row, "route_id", str, required=True)
            service_id = self.cell(name, line, row, "service_id", str, required=True)
            if trip_id is None or route_id is None or service_id is None:
                continue
            if trip_id in self.trip_index:
                self.error(
                    "duplicate_key",
                    name,
                    line,
                    "trip_id",
                    _("Die trip_id %(id)s kommt mehrfach vor.", id=trip_id),
                )
                continue
            route = self.route_index.get(route_id)
            if route is None:
                if "routes.txt" in self.unusable:
                    continue
                self.error(
                    "undefined_reference",
                    name,
                    line,
                    "route_id",
                    _("Die Linie %(id)s ist in routes.txt nicht definiert.", id=route_id),
                )
                continue
            if service_id not in services and calendar_usable:
                self.error(
                    "undefined_reference",
                    name,
                    line,
                    "service_id",
                    _(
                        "Der Verkehrstag %(id)s ist weder in calendar.txt noch in calendar_dates.txt "
                        "definiert.",
                        id=service_id,
                    ),
                )
                continue
            self.trip_index[trip_id] = len(self.feed.trips)
            self.trip_lines.append(line)
            self.feed.trips.append(
                {
                    "trip_id": trip_id,
                    "route_index": route,
                    "service_id": service_id,
                    "headsign": row.get("trip_headsign", ""),
                    "short_name": row.get("trip_short_name", ""),
                    "direction_id": self.cell(name, line, row, "direction_id", _enum(0, 1)),
                    "block_id": row.get("block_id", ""),
                    "shape_id": row.get("shape_id", ""),
                    "wheelchair_accessible": self.cell(
                        name, line, row, "wheelchair_accessible", _enum(0, 1, 2), default=0
                    ),
                    "bikes_allowed": self.cell(name, line, row, "bikes_allowed", _enum(0, 1, 2), default=0),
                }
            )
        if self.source.has(name) and not self.feed.trips and not self.feed.errors:
            self.error("no_rows", name, None, None, _("Die Datei enthält keine Fahrt."))

    def read_stop_times(self) -> None:
        """The large file: read by column position, times through a cache."""
        name = "stop_times.txt"
        table = self.table(name, required=True)
        if table is None:
            return
        header, rows = table
        col = {h: i for i, h in enumerate(header)}

        def at(column: str) -> int:
            return col.get(column, -1)

        i_trip, i_arr, i_dep, i_stop = at("trip_id"), at("arrival_time"), at("departure_time"), at("stop_id")
        i_seq, i_head, i_pick, i_drop = (
            at("stop_sequence"),
            at("stop_headsign"),
            at("pickup_type"),
            at("drop_off_type"),
        )
        i_dist, i_tp = at("shape_dist_traveled"), at("timepoint")
        if i_stop < 0:
            self.error(
                "missing_column",
                name,
                1,
                "stop_id",
                _("Die Pflichtspalte %(column)s fehlt.", column="stop_id"),
            )
            return
        if i_arr < 0 or i_dep < 0:
            column = "arrival_time" if i_arr < 0 else "departure_time"
            self.error(
                "missing_column",
                name,
                1,
                column,
                _("Die Spalte %(column)s fehlt; ohne Zeiten lässt sich kein Fahrplan bilden.", column=column),
            )
            return
        times: dict[str, int | None] = {"": None}
        small = {str(n): n for n in range(10)}
        stop_index = self.stop_index
        trip_index = self.trip_index
        stop_types = [s["location_type"] for s in self.feed.stops]
        # Per trip: list of [seq, stop, arr, dep, headsign, pickup, dropoff, timepoint, dist, line].
        per_trip: dict[int, list[list[Any]]] = {}
        undefined_trips_reported = 0
        max_reports = 50

        def time_of(value: str, line: int, column: str) -> int | None:
            cached = times.get(value, -1)
            if cached != -1:
                return cached
            match = _TIME.match(value.strip())
            if match is None:
                self.error(
                    "invalid_value",
                    name,
                    line,
                    column,
                    _("%(value)r ist keine Uhrzeit der Form HH:MM:SS.", value=value),
                )
                return None
            seconds = int(match[1]) * 3600 + int(match[2]) * 60 + int(match[3])
            times[value] = seconds
            return seconds

        def small_int(value: str, line: int, column: str, allowed: tuple[int, ...]) -> int:
            value = value.strip()
            if value == "":
                return 0
            number = small.get(value)
            if number is None or number not in allowed:
                self.error(
                    "invalid_value",
                    name,
                    line,
                    column,
                    _("%(value)r ist nicht erlaubt (erlaubt: %(allowed)s).", value=value, allowed=allowed),
                )
                return 0
            return number

        for line, cells in rows:
            trip_id = cells[i_trip].strip()
            trip = trip_index.get(trip_id)
            if trip is None:
                if not trip_id:
                    self.error(
                        "missing_value",
                        name,
                        line,
                        "trip_id",
                        _("Das Pflichtfeld %(column)s ist leer.", column="trip_id"),
                    )
                elif "trips.txt" in self.unusable:
                    pass
                elif undefined_trips_reported < max_reports:
                    self.error(
                        "undefined_reference",
                        name,
                        line,
                        "trip_id",
                        _("Die Fahrt %(id)s ist in trips.txt nicht definiert.", id=trip_id),
                    )
                undefined_trips_reported += 1
                continue
            stop_id = cells[i_stop].strip()
            stop = stop_index.get(stop_id)
            if stop is None:
                if "stops.txt" in self.unusable:
                    continue
                if not stop_id:
                    self.error(
                        "missing_value",
                        name,
                        line,
                        "stop_id",
                        _("Das Pflichtfeld %(column)s ist leer.", column="stop_id"),
                    )
                else:
                    self.error(
                        "undefined_reference",
                        name,
                        line,
                        "stop_id",
                        _("Die Haltestelle %(id)s ist in stops.txt nicht definiert.", id=stop_id),
                    )
                continue
            if stop_types[stop] not in (0, 4):
                self.error(
                    "wrong_stop_type",
                    name,
                    line,
                    "stop_id",
                    _(
                        "%(id)s ist keine Haltestelle oder kein Steig (location_type %(type)s); Fahrten "
                        "halten nur an location_type 0.",
                        id=stop_id,
                        type=stop_types[stop],
                    ),
                )
                continue
            seq_text = cells[i_seq].strip()
            try:
                seq = int(seq_text)
            except ValueError:
                if seq_text:
                    self.error(
                        "invalid_value",
                        name,
                        line,
                        "stop_sequence",
                        _("%(value)r ist keine ganze Zahl.", value=seq_text),
                    )
                else:
                    self.error(
                        "missing_value",
                        name,
                        line,
                        "stop_sequence",
                        _("Das Pflichtfeld %(column)s ist leer.", column="stop_sequence"),
                    )
                continue
            if seq < 0:
                self.error(
                    "negative_value",
                    name,
                    line,
                    "stop_sequence",
                    _("stop_sequence muss eine nicht negative ganze Zahl sein, nicht %(value)s.", value=seq),
                )
                continue
            arrival_text = cells[i_arr]
            departure_text = cells[i_dep]
            arrival = time_of(arrival_text, line, "arrival_time")
            departure = time_of(departure_text, line, "departure_time")
            if (arrival is None and arrival_text.strip()) or (departure is None and departure_text.strip()):
                continue  # reported above
            if (arrival is None) != (departure is None):
                missing = "departure_time" if departure is None else "arrival_time"
                self.error(
                    "only_arrival_or_departure",
                    name,
                    line,
                    missing,
                    _(
                        "Nur eine der beiden Zeiten ist angegeben; arrival_time und departure_time "
                        "stehen beide oder keine."
                    ),
                )
                continue
            dist: float | None = None
            if i_dist >= 0 and cells[i_dist].strip():
                try:
                    dist = float(cells[i_dist])
                except ValueError:
                    self.error(
                        "invalid_value",
                        name,
                        line,
                        "shape_dist_traveled",
                        _("%(value)r ist keine Zahl.", value=cells[i_dist]),
                    )
            timepoint = (
                small_int(cells[i_tp], line, "timepoint", (0, 1)) if i_tp >= 0 and cells[i_tp].strip() else 1
            )
            per_trip.setdefault(trip, []).append(
                [
                    seq,
                    stop,
                    arrival,
                    departure,
                    cells[i_head].strip() if i_head >= 0 else "",
                    small_int(cells[i_pick], line, "pickup_type", (0, 1, 2, 3)) if i_pick >= 0 else 0,
                    small_int(cells[i_drop], line, "drop_off_type", (0, 1, 2, 3)) if i_drop >= 0 else 0,
                    timepoint,
                    dist,
                    line,
                ]
            )
        if undefined_trips_reported > max_reports:
            self.error(
                "undefined_reference",
                name,
                None,
                "trip_id",
                _(
                    "… und %(n)s weitere Zeilen mit unbekannter Fahrt.",
                    n=undefined_trips_reported - max_reports,
                ),
            )
        self.trip_stop_counts: list[int] = [0] * len(self.feed.trips)
        out = self.feed.stop_times
        for trip in sorted(per_trip):
            stops = per_trip[trip]
            stops.sort(key=lambda s: s[0])
            self.trip_stop_counts[trip] = len(stops)
            if not self._check_trip(trip, stops):
                continue
            for seq, stop, arrival, departure, head, pick, drop, timepoint, dist, _line in stops:
                out.append((trip, seq, stop, arrival, departure, head, pick, drop, timepoint, dist))
        for trip, count in enumerate(self.trip_stop_counts):
            if count < 2 and not self.unusable & {"stops.txt", "stop_times.txt"}:
                self.warn(
                    "trip_without_stop_times" if count == 0 else "trip_with_one_stop",
                    "trips.txt",
                    self.trip_lines[trip],
                    "trip_id",
                    _(
                        "Die Fahrt %(id)s hat %(n)s Halte in stop_times.txt; sie ist nicht nutzbar.",
                        id=self.feed.trips[trip]["trip_id"],
                        n=count,
                    ),
                )

    def _check_trip(self, trip: int, stops: list[list[Any]]) -> bool:
        """Order, endpoint times and monotonic times of one trip; interpolates missing times."""
        name = "stop_times.txt"
        trip_id = self.feed.trips[trip]["trip_id"]
        ok = True
        for previous, current in pairwise(stops):
            if previous[0] == current[0]:
                self.error(
                    "duplicate_key",
                    name,
                    current[9],
                    "stop_sequence",
                    _(
                        "Die Fahrt %(id)s hat stop_sequence %(seq)s zweimal (auch Zeile %(other)s).",
                        id=trip_id,
                        seq=current[0],
                        other=previous[9],
                    ),
                )
                ok = False
        if not ok:
            return False
        for end in (stops[0], stops[-1]):
            if end[2] is None:
                self.error(
                    "missing_endpoint_times",
                    name,
                    end[9],
                    "arrival_time",
                    _(
                        "Erster und letzter Halt der Fahrt %(id)s brauchen arrival_time und departure_time.",
                        id=trip_id,
                    ),
                )
                ok = False
        if not ok:
            return False
        last_time = -1
        for stop in stops:
            arrival, departure = stop[2], stop[3]
            if arrival is None:
                stop[7] = 0
                continue
            if departure < arrival:
                self.error(
                    "departure_before_arrival",
                    name,
                    stop[9],
                    "departure_time",
                    _("departure_time liegt vor arrival_time."),
                )
                ok = False
            elif arrival < last_time:
                self.error(
                    "time_travel",
                    name,
                    stop[9],
                    "arrival_time",
                    _(
                        "arrival_time liegt vor der Abfahrt am vorigen Halt der Fahrt %(id)s.",
                        id=trip_id,
                    ),
                )
                ok = False
            last_time = departure
        if ok:
            _interpolate(stops)
        return ok

    def read_frequencies(self) -> None:
        name = "frequencies.txt"
        spans: dict[int, list[tuple[int, int, int]]] = {}
        for line, row in self.records(name):
            trip_id = self.cell(name, line, row, "trip_id", str, required=True)
            start = self.cell(name, line, row, "start_time", _time, required=True)
            end = self.cell(name, line, row, "end_time", _time, required=True)
            headway = self.cell(name, line, row, "headway_secs", _positive, required=True)
            exact = self.cell(name, line, row, "exact_times", _enum(0, 1), default=0)
            if trip_id is None or start is None or end is None or headway is None:
                continue
            trip = self.trip_index.get(trip_id)
            if trip is None:
                if "trips.txt" in self.unusable:
                    continue
                self.error(
                    "undefined_reference",
                    name,
                    line,
                    "trip_id",
                    _("Die Fahrt %(id)s ist in trips.txt nicht definiert.", id=trip_id),
                )
                continue
            if end <= start:
                self.error(
                    "end_before_start", name, line, "end_time", _("end_time liegt nicht nach start_time.")
                )
                continue
            for other_start, other_end, other_line in spans.get(trip, []):
                if start < other_end and other_start < end:
                    self.error(
                        "overlapping_frequency",
                        name,
                        line,
                        "start_time",
                        _(
                            "Der Zeitraum überschneidet sich mit Zeile %(other)s derselben Fahrt.",
                            other=other_line,
                        ),
                    )
                    break
            spans.setdefault(trip, []).append((start, end, line))
            self.feed.frequencies.append(
                {
                    "trip_index": trip,
                    "start": start,
                    "end": end,
                    "headway_secs": headway,
                    "exact_times": bool(exact),
                }
            )

    def read_transfers(self) -> None:
        """transfers.txt: stop pairs, optionally narrowed to routes and trips (GTFS reference).

        ``from_stop_id``/``to_stop_id`` are required for types 0–3; a station stands for all its
        platforms. ``from_route_id``/``to_route_id``/``from_trip_id``/``to_trip_id`` must name a route or
        trip of the feed; a trip given with a route must belong to it.
        """
        name = "transfers.txt"
        for line, row in self.records(name):
            kind = self.cell(name, line, row, "transfer_type", _enum(0, 1, 2, 3, 4, 5), default=0)
            if kind in (4, 5):
                continue  # in-seat transfers between trips: not used by the planner
            stops: list[int | None] = []
            for column in ("from_stop_id", "to_stop_id"):
                stop_id = self.cell(name, line, row, column, str, required=True)
                index = self.stop_index.get(stop_id) if stop_id is not None else None
                if stop_id is not None and index is None and "stops.txt" not in self.unusable:
                    self.error(
                        "undefined_reference",
                        name,
                        line,
                        column,
                        _("Die Haltestelle %(id)s ist in stops.txt nicht definiert.", id=stop_id),
                    )
                stops.append(index)
            scope: dict[str, int | None] = {}
            bad_scope = False
            for side in ("from", "to"):
                route_column, trip_column = f"{side}_route_id", f"{side}_trip_id"
                route_id = self.cell(name, line, row, route_column, str)
                trip_id = self.cell(name, line, row, trip_column, str)
                route = self.route_index.get(route_id) if route_id else None
                trip = self.trip_index.get(trip_id) if trip_id else None
                if route_id and route is None and "routes.txt" not in self.unusable:
                    bad_scope = True
                    self.error(
                        "undefined_reference",
                        name,
                        line,
                        route_column,
                        _("Die Linie %(id)s ist in routes.txt nicht definiert.", id=route_id),
                    )
                if trip_id and trip is None and "trips.txt" not in self.unusable:
                    bad_scope = True
                    self.error(
                        "undefined_reference",
                        name,
                        line,
                        trip_column,
                        _("Die Fahrt %(id)s ist in trips.txt nicht definiert.", id=trip_id),
                    )
                if route is not None and trip is not None and self.feed.trips[trip]["route_index"] != route:
                    bad_scope = True
                    self.error(
                        "trip_not_in_route",
                        name,
                        line,
                        trip_column,
                        _(
                            "Die Fahrt %(trip)s gehört nicht zur Linie %(route)s.",
                            trip=trip_id or "",
                            route=route_id or "",
                        ),
                    )
                scope[f"{side}_route_index"] = route
                scope[f"{side}_trip_index"] = trip
            minimum = self.cell(name, line, row, "min_transfer_time", _non_negative)
            if kind == 2 and minimum is None:
                self.warn(
                    "missing_min_transfer_time",
                    name,
                    line,
                    "min_transfer_time",
                    _("transfer_type 2 ohne min_transfer_time: es gilt die übliche Umsteigezeit."),
                )
            if stops[0] is None or stops[1] is None or bad_scope:
                continue
            self.feed.transfers.append(
                {
                    "from_stop_index": stops[0],
                    "to_stop_index": stops[1],
                    "transfer_type": kind,
                    "min_transfer_time": minimum,
                    **scope,
                }
            )

    def read_fares(self) -> None:
        name = "fare_attributes.txt"
        fare_index: dict[str, int] = {}
        for line, row in self.records(name):
            fare_id = self.cell(name, line, row, "fare_id", str, required=True)
            if fare_id is None:
                continue
            if fare_id in fare_index:
                self.error(
                    "duplicate_key",
                    name,
                    line,
                    "fare_id",
                    _("Die fare_id %(id)s kommt mehrfach vor.", id=fare_id),
                )
                continue
            agency_id = row.get("agency_id", "")
            if agency_id and agency_id not in self.agency_ids:
                self.error(
                    "undefined_reference",
                    name,
                    line,
                    "agency_id",
                    _("Der Verkehrsbetrieb %(id)s ist in agency.txt nicht definiert.", id=agency_id),
                )
            fare_index[fare_id] = len(self.feed.fare_attributes)
            self.feed.fare_attributes.append(
                {
                    "fare_id": fare_id,
                    "price": self.cell(name, line, row, "price", _price, required=True, default=Decimal(0)),
                    "currency_type": self.cell(
                        name, line, row, "currency_type", _currency, required=True, default=""
                    ),
                    "payment_method": self.cell(
                        name, line, row, "payment_method", _enum(0, 1), required=True, default=0
                    ),
                    # Required column; an empty cell means unlimited transfers.
                    "transfers": self.cell(name, line, row, "transfers", _enum(0, 1, 2)),
                    "agency_id": agency_id,
                    "transfer_duration": self.cell(name, line, row, "transfer_duration", _non_negative),
                }
            )
        name = "fare_rules.txt"
        if self.source.has(name) and not self.source.has("fare_attributes.txt"):
            self.error(
                "missing_file",
                "fare_attributes.txt",
                None,
                None,
                _("fare_rules.txt braucht fare_attributes.txt."),
            )
        zones = {s["zone_id"] for s in self.feed.stops if s["zone_id"]}
        for line, row in self.records(name):
            fare_id = self.cell(name, line, row, "fare_id", str, required=True)
            if fare_id is None:
                continue
            fare = fare_index.get(fare_id)
            if fare is None:
                self.error(
                    "undefined_reference",
                    name,
                    line,
                    "fare_id",
                    _("Der Tarif %(id)s ist in fare_attributes.txt nicht definiert.", id=fare_id),
                )
                continue
            route_id = row.get("route_id", "")
            route = self.route_index.get(route_id) if route_id else None
            if route_id and route is None:
                if "routes.txt" in self.unusable:
                    continue
                self.error(
                    "undefined_reference",
                    name,
                    line,
                    "route_id",
                    _("Die Linie %(id)s ist in routes.txt nicht definiert.", id=route_id),
                )
                continue
            bad_zone = False
            for column in ("origin_id", "destination_id", "contains_id"):
                zone = row.get(column, "")
                if zone and zone not in zones:
                    self.error(
                        "undefined_reference",
                        name,
                        line,
                        column,
                        _("Die Tarifzone %(id)s hat keine Haltestelle (zone_id in stops.txt).", id=zone),
                    )
                    bad_zone = True
            if bad_zone:
                continue
            self.feed.fare_rules.append(
                {
                    "fare_index": fare,
                    "route_index": route,
                    "origin_id": row.get("origin_id", ""),
                    "destination_id": row.get("destination_id", ""),
                    "contains_id": row.get("contains_id", ""),
                }
            )

    def read_feed_info(self) -> None:
        name = "feed_info.txt"
        for line, row in self.records(name):
            if self.feed.feed_info:
                self.error("duplicate_row", name, line, None, _("feed_info.txt hat mehr als eine Zeile."))
                break
            self.feed.feed_info = {
                "publisher_name": self.cell(
                    name, line, row, "feed_publisher_name", str, required=True, default=""
                ),
                "publisher_url": self.cell(
                    name, line, row, "feed_publisher_url", _url, required=True, default=""
                ),
                "lang": self.cell(name, line, row, "feed_lang", str, required=True, default=""),
                "start_date": self.cell(name, line, row, "feed_start_date", _date),
                "end_date": self.cell(name, line, row, "feed_end_date", _date),
                "version": row.get("feed_version", ""),
            }

    def check_unused(self) -> None:
        if self.feed.errors:
            return
        used = {t[2] for t in self.feed.stop_times}
        used |= {i for i in self.parent_index if i is not None}
        used |= {t["from_stop_index"] for t in self.feed.transfers} | {
            t["to_stop_index"] for t in self.feed.transfers
        }
        unused = [i for i in range(len(self.feed.stops)) if i not in used]
        for index in unused[:20]:
            self.warn(
                "unused_stop",
                "stops.txt",
                self.stop_lines[index],
                "stop_id",
                _(
                    "Die Haltestelle %(id)s wird von keiner Fahrt angefahren.",
                    id=self.feed.stops[index]["stop_id"],
                ),
            )
        if len(unused) > 20:
            self.warn(
                "unused_stop",
                "stops.txt",
                None,
                "stop_id",
                _("… und %(n)s weitere ungenutzte Haltestellen.", n=len(unused) - 20),
            )
        used_routes = {t["route_index"] for t in self.feed.trips}
        for index, route in enumerate(self.feed.routes):
            if index not in used_routes:
                self.warn(
                    "unused_route",
                    "routes.txt",
                    None,
                    "route_id",
                    _("Die Linie %(id)s hat keine Fahrt.", id=route["route_id"]),
                )


def _interpolate(stops: list[list[Any]]) -> None:
    """Fill missing times between timepoints: by shape_dist_traveled where known, else evenly."""
    known = [i for i, s in enumerate(stops) if s[2] is not None]
    for left, right in pairwise(known):
        if right - left < 2:
            continue
        start, end = stops[left][3], stops[right][2]
        d0, d1 = stops[left][8], stops[right][8]
        use_dist = (
            d0 is not None
            and d1 is not None
            and d1 > d0
            and all(stops[i][8] is not None for i in range(left + 1, right))
        )
        for i in range(left + 1, right):
            share = (stops[i][8] - d0) / (d1 - d0) if use_dist else (i - left) / (right - left)
            value = round(start + (end - start) * share)
            stops[i][2] = stops[i][3] = value


# -------------------------------------------------------------------------------------- cell parsers


def _enum(*allowed: int) -> Callable[[str], int]:
    def parse(value: str) -> int:
        try:
            number = int(value)
        except ValueError:
            raise _Invalid(_("keine ganze Zahl (erlaubt: %(allowed)s)", allowed=allowed)) from None
        if number not in allowed:
            raise _Invalid(_("nicht erlaubt (erlaubt: %(allowed)s)", allowed=allowed))
        return number

    return parse


def _non_negative(value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        raise _Invalid(_("keine ganze Zahl")) from None
    if number < 0:
        raise _Invalid(_("darf nicht negativ sein"))
    return number


def _positive(value: str) -> int:
    number = _non_negative(value)
    if number == 0:
        raise _Invalid(_("muss größer als 0 sein"))
    return number


def _route_type(value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        raise _Invalid(_("keine ganze Zahl")) from None
    if number not in _ROUTE_TYPES:
        raise _Invalid(_("kein gültiger route_type (0–7, 11, 12 oder erweitert 100–1799)"))
    return number


def _date(value: str) -> date:
    if not _DATE.match(value):
        raise _Invalid(_("kein Datum der Form JJJJMMTT"))
    try:
        return date(int(value[:4]), int(value[4:6]), int(value[6:]))
    except ValueError:
        raise _Invalid(_("kein gültiges Datum")) from None


def _time(value: str) -> int:
    match = _TIME.match(value)
    if match is None:
        raise _Invalid(_("keine Uhrzeit der Form HH:MM:SS"))
    return int(match[1]) * 3600 + int(match[2]) * 60 + int(match[3])


def _latitude(value: str) -> float:
    return _coordinate(value, 90.0)


def _longitude(value: str) -> float:
    return _coordinate(value, 180.0)


def _coordinate(value: str, limit: float) -> float:
    try:
        number = float(value)
    except ValueError:
        raise _Invalid(_("keine Zahl")) from None
    if not -limit <= number <= limit:
        raise _Invalid(_("außerhalb von ±%(limit)s Grad", limit=int(limit)))
    return number


def _color(value: str) -> str:
    if not _COLOR.match(value):
        raise _Invalid(_("keine Farbe aus sechs Hexadezimalziffern"))
    return value.upper()


def _currency(value: str) -> str:
    if not _CURRENCY.match(value):
        raise _Invalid(_("kein Währungscode nach ISO 4217 (z. B. EUR)"))
    return value


def _price(value: str) -> Decimal:
    try:
        number = Decimal(value)
    except InvalidOperation:
        raise _Invalid(_("kein Preis")) from None
    if not number.is_finite() or number < 0:
        raise _Invalid(_("kein Preis (nicht negativ)"))
    return number


def _url(value: str) -> str:
    if not value.lower().startswith(("http://", "https://")):
        raise _Invalid(_("keine vollständige URL (http:// oder https://)"))
    return value


_TIMEZONES: set[str] = set()


def _timezone(value: str) -> str:
    if not _TIMEZONES:
        _TIMEZONES.update(available_timezones())
    if value not in _TIMEZONES:
        raise _Invalid(_("keine Zeitzone der tz-Datenbank (z. B. Europe/Berlin)"))
    return value


def read_feed(path: Path) -> GtfsFeed:
    """Read and validate a feed from a zip file or a folder; problems are in ``feed.problems``."""
    return _Reader(path).read()
