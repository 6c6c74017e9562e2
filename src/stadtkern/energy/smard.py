"""Reading SMARD's day-ahead price CSV (Bundesnetzagentur, smard.de, "Großhandelspreise").

The format accepted (docs/energy.md shows an example):

- UTF-8 (with or without byte-order mark) or Windows-1252; ``;``-separated; a header row;
- columns ``Datum von`` and ``Datum bis``: local time of the bidding zone, ``TT.MM.JJJJ HH:MM``; on the
  night the clocks go back the repeated hour appears twice, in order;
- a price column for the bidding zone, ``Deutschland/Luxemburg [€/MWh]`` (SMARD appends words such as
  ``Originalauflösungen`` or ``Berechnete Auflösungen``); other columns (neighbouring zones) are ignored;
- German numbers: decimal comma, optional dots between thousands (``-5,12``, ``1.234,56``);
- every row is 15 minutes or one hour, each row starts where the one before ended.

A missing price (SMARD writes ``-``), a hole between rows, a unit other than €/MWh or a malformed date or
number is refused with its row and column: prices must not be guessed.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

FROM, TO = "Datum von", "Datum bis"
ZONE_COLUMNS = {"DE-LU": "Deutschland/Luxemburg"}
UNIT = "[€/MWh]"
STEPS = (timedelta(minutes=15), timedelta(hours=1))
NUMBER = re.compile(r"^-?(\d{1,3}(\.\d{3})+|\d+)(,\d+)?$")
UNIT_RE = re.compile(r"\[([^\]]*)\]")


class PriceFileError(ValueError):
    """A problem in a price file, with the row (1 = header) and column it is in."""

    def __init__(self, message: str, *, row: int | None = None, column: str | None = None) -> None:
        where = ", ".join(
            part for part in (f"row {row}" if row else "", f"column {column!r}" if column else "") if part
        )
        super().__init__(f"{where}: {message}" if where else message)
        self.row = row
        self.column = column


@dataclass(frozen=True)
class PriceRow:
    start: datetime  # UTC
    end: datetime  # UTC
    eur_per_mwh: float


def _decode(data: bytes) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("cp1252")


def german_number(text: str) -> float:
    value = text.strip()
    if not NUMBER.match(value):
        raise ValueError(value)
    return float(value.replace(".", "").replace(",", "."))


def _candidates(naive: datetime, zone: ZoneInfo) -> list[datetime]:
    """The UTC instants a local wall-clock time can mean: two in the repeated hour, none in the skipped."""
    found = []
    for fold in (0, 1):
        moment = naive.replace(tzinfo=zone, fold=fold)
        utc = moment.astimezone(UTC)
        if utc.astimezone(zone).replace(tzinfo=None) == naive and utc not in found:
            found.append(utc)
    return sorted(found)


def _local(text: str, zone: ZoneInfo, after: datetime | None, row: int, column: str) -> datetime:
    naive = _naive(text, row, column)
    options = _candidates(naive, zone)
    if not options:
        raise PriceFileError(
            f"{text} does not exist in {zone.key} (clocks go forward)", row=row, column=column
        )
    if after is not None:
        later = [moment for moment in options if moment > after]
        if later:
            return later[0]
    return options[0]


def _naive(text: str, row: int, column: str) -> datetime:
    try:
        return datetime.strptime(text.strip(), "%d.%m.%Y %H:%M")
    except ValueError:
        raise PriceFileError(f"{text!r} is not a time as TT.MM.JJJJ HH:MM", row=row, column=column) from None


def _step(text_from: str, text_to: str, zone: ZoneInfo, start: datetime, row: int) -> timedelta:
    """What a row covers: the wall-clock difference of its two times (around a clock change, where SMARD
    may write either wall-clock or real time, the real difference)."""
    step = _naive(text_to, row, TO) - _naive(text_from, row, FROM)
    if step not in STEPS:
        step = _local(text_to, zone, start, row, TO) - start
    if step not in STEPS:
        raise PriceFileError(
            f"a row must cover 15 minutes or one hour, this one covers {step}", row=row, column=TO
        )
    return step


def _price_column(header: list[str], bidding_zone: str) -> int:
    wanted = ZONE_COLUMNS.get(bidding_zone)
    if wanted is None:
        raise PriceFileError(
            f"bidding zone {bidding_zone!r} is not supported (known: {', '.join(ZONE_COLUMNS)})"
        )
    for index, name in enumerate(header):
        if name.strip().startswith(wanted):
            unit = UNIT_RE.search(name)
            if unit is None or f"[{unit.group(1).strip()}]" != UNIT:
                found = f"[{unit.group(1)}]" if unit else "none"
                raise PriceFileError(f"unit must be {UNIT}, found {found}", row=1, column=name.strip())
            return index
    raise PriceFileError(
        f"no price column for {bidding_zone} (a column starting with {wanted!r}); found: "
        + ", ".join(repr(h.strip()) for h in header),
        row=1,
    )


def parse_smard_csv(
    data: bytes, *, bidding_zone: str = "DE-LU", timezone: str = "Europe/Berlin"
) -> list[PriceRow]:
    """The rows of a SMARD day-ahead price CSV, checked (see the module docstring)."""
    zone = ZoneInfo(timezone)
    reader = csv.reader(io.StringIO(_decode(data)), delimiter=";")
    header = next(reader, None)
    if header is None or not any(h.strip() for h in header):
        raise PriceFileError("the file is empty")
    names = [h.strip() for h in header]
    for needed in (FROM, TO):
        if needed not in names:
            raise PriceFileError(f"column {needed!r} is missing (separator must be ';')", row=1)
    i_from, i_to = names.index(FROM), names.index(TO)
    i_price = _price_column(header, bidding_zone)
    price_name = names[i_price]
    rows: list[PriceRow] = []
    for number, cells in enumerate(reader, start=2):
        if not any(cell.strip() for cell in cells):
            continue
        if len(cells) <= max(i_from, i_to, i_price):
            raise PriceFileError(f"{len(cells)} columns, the header has {len(names)}", row=number)
        previous = rows[-1].end if rows else None
        start = _local(
            cells[i_from], zone, previous - timedelta(seconds=1) if previous else None, number, FROM
        )
        end = start + _step(cells[i_from], cells[i_to], zone, start, number)
        if previous is not None and start != previous:
            expected = previous.astimezone(zone).strftime("%d.%m.%Y %H:%M")
            raise PriceFileError(
                f"gap or overlap: expected the row to start at {expected}, it starts at {cells[i_from].strip()}",
                row=number,
                column=FROM,
            )
        text = cells[i_price].strip()
        if text in ("", "-"):
            raise PriceFileError("no price (a gap in the data)", row=number, column=price_name)
        try:
            value = german_number(text)
        except ValueError:
            raise PriceFileError(
                f"{text!r} is not a number with a decimal comma (e.g. 87,35)", row=number, column=price_name
            ) from None
        rows.append(PriceRow(start, end, value))
    if not rows:
        raise PriceFileError("the file has no price rows")
    return rows
