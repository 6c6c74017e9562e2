"""SMARD's day-ahead price CSV: what is accepted, and every kind of bad file refused with row and column."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from itertools import pairwise

import pytest

from stadtkern.energy.smard import PriceFileError, parse_smard_csv

HEADER = "Datum von;Datum bis;Deutschland/Luxemburg [€/MWh] Originalauflösungen;Belgien [€/MWh] Originalauflösungen\n"


def quarter_rows(first: datetime, count: int, price: str = "87,35") -> str:
    """Rows in local wall-clock time as SMARD writes them (naive local strings given directly)."""
    lines = []
    for i in range(count):
        start = first + timedelta(minutes=15 * i)
        end = start + timedelta(minutes=15)
        lines.append(f"{start:%d.%m.%Y %H:%M};{end:%d.%m.%Y %H:%M};{price};90,00")
    return "\n".join(lines) + "\n"


def test_a_quarter_hourly_file() -> None:
    text = (
        HEADER + "01.06.2026 00:00;01.06.2026 00:15;87,35;90,1\n01.06.2026 00:15;01.06.2026 00:30;-5,12;1\n"
    )
    rows = parse_smard_csv(("\ufeff" + text).encode("utf-8"))
    assert [(r.start, r.end, r.eur_per_mwh) for r in rows] == [
        (datetime(2026, 5, 31, 22, 0, tzinfo=UTC), datetime(2026, 5, 31, 22, 15, tzinfo=UTC), 87.35),
        (datetime(2026, 5, 31, 22, 15, tzinfo=UTC), datetime(2026, 5, 31, 22, 30, tzinfo=UTC), -5.12),
    ]


def test_an_hourly_file_in_windows_1252_with_thousands() -> None:
    text = HEADER + "01.01.2026 00:00;01.01.2026 01:00;1.234,56;1\n01.01.2026 01:00;01.01.2026 02:00;99;1\n"
    rows = parse_smard_csv(text.encode("cp1252"))
    assert [r.eur_per_mwh for r in rows] == [1234.56, 99.0]
    assert rows[0].end - rows[0].start == timedelta(hours=1)


def test_the_autumn_clock_change_has_100_quarter_hours() -> None:
    # 25 October 2026: 02:00-02:59 happens twice; SMARD lists the repeated quarter hours again, in order.
    day = datetime(2026, 10, 25)
    text = quarter_rows(day, 12)  # 00:00 .. 02:45 (first time)
    text += quarter_rows(day.replace(hour=2), 4)  # 02:00 .. 02:45 again
    text += quarter_rows(day.replace(hour=3), 84)  # 03:00 .. 23:45
    rows = parse_smard_csv((HEADER + text).encode())
    assert len(rows) == 100
    assert rows[0].start == datetime(2026, 10, 24, 22, 0, tzinfo=UTC)
    assert rows[-1].end == datetime(2026, 10, 25, 23, 0, tzinfo=UTC)
    assert all(b.start == a.end for a, b in pairwise(rows))


def test_the_spring_clock_change_has_92_quarter_hours() -> None:
    day = datetime(2026, 3, 29)
    text = quarter_rows(day, 8) + quarter_rows(day.replace(hour=3), 84)
    rows = parse_smard_csv((HEADER + text).encode())
    assert len(rows) == 92
    assert rows[8].start == datetime(2026, 3, 29, 1, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "row", "column", "words"),
    [
        (
            HEADER + "01.06.2026 00:00;01.06.2026 00:15;-;1\n",
            2,
            "Deutschland/Luxemburg [€/MWh] Originalauflösungen",
            "no price",
        ),
        (
            HEADER + "01.06.2026 00:00;01.06.2026 00:15;1;1\n01.06.2026 00:30;01.06.2026 00:45;1;1\n",
            3,
            "Datum von",
            "expected the row to start at 01.06.2026 00:15",
        ),
        (
            HEADER + "01.06.2026 00:00;01.06.2026 00:15;87.35;1\n",
            2,
            "Deutschland/Luxemburg [€/MWh] Originalauflösungen",
            "decimal comma",
        ),
        (HEADER + "2026-06-01 00:00;01.06.2026 00:15;1;1\n", 2, "Datum von", "TT.MM.JJJJ HH:MM"),
        (HEADER + "01.06.2026 00:00;01.06.2026 00:30;1;1\n", 2, "Datum bis", "15 minutes or one hour"),
        (
            HEADER.replace("[€/MWh] Originalauflösungen;Belgien", "[ct/kWh] Originalauflösungen;Belgien")
            + "01.06.2026 00:00;01.06.2026 00:15;1;1\n",
            1,
            "Deutschland/Luxemburg [ct/kWh] Originalauflösungen",
            "unit must be [€/MWh], found [ct/kWh]",
        ),
        ("Datum;Uhrzeit;Preis\n", 1, None, "column 'Datum von' is missing"),
        ("Datum von;Datum bis;Belgien [€/MWh]\n", 1, None, "no price column for DE-LU"),
        (HEADER + "29.03.2026 02:00;29.03.2026 02:15;1;1\n", 2, "Datum von", "does not exist"),
        (HEADER, None, None, "no price rows"),
    ],
)
def test_bad_files_are_refused_with_row_and_column(
    text: str, row: int | None, column: str | None, words: str
) -> None:
    with pytest.raises(PriceFileError) as caught:
        parse_smard_csv(text.encode())
    assert caught.value.row == row
    assert caught.value.column == column
    assert words in str(caught.value)
    if row:
        assert f"row {row}" in str(caught.value)
