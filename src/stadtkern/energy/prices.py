"""Day-ahead prices as a public SensorThings Datastream: creating it, writing rows, reading a grid.

One Thing per bidding zone ("Day-Ahead-Börsenstrompreis DE-LU") with one Datastream in €/MWh; each
Observation is one delivery period (15 minutes or an hour): ``phenomenonTime`` its start, with the end in
``phenomenonTime`` 's interval end. Prices are not personal: the Datastream is ``public``. Writing goes
through the SensorThings ingest (``insert_columns``); a period already stored is kept, not written twice.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from stadtkern.contracts import OM_MEASUREMENT
from stadtkern.energy.models import PriceStream
from stadtkern.energy.smard import PriceRow
from stadtkern.energy.tariffs import TariffBook
from stadtkern.energy.timegrid import QUARTER_SECONDS, to_datetime64
from stadtkern.sensorthings import models as m
from stadtkern.sensorthings.access import Viewer
from stadtkern.sensorthings.entities import ENTITY_TYPES
from stadtkern.sensorthings.ingest import insert_columns
from stadtkern.sensorthings.store import write as writing

UNIT = {
    "name": "Euro je Megawattstunde",
    "symbol": "EUR/MW.h",
    "definition": "https://www.smard.de/page/home/wiki-article/446/562",
}


async def price_stream(session: AsyncSession, bidding_zone: str) -> int | None:
    """The Datastream id of the zone's prices, None before any were written."""
    value = await session.scalar(
        select(PriceStream.datastream_id).where(PriceStream.bidding_zone == bidding_zone)
    )
    return int(value) if value is not None else None


async def ensure_price_stream(
    session: AsyncSession, book: TariffBook, *, now: datetime, center: tuple[float, float]
) -> int:
    """The price Datastream of the tariffs' bidding zone, created (public) on first use. In the caller's
    write transaction. ``center`` places the Thing (the zone has no point of its own; the city's centre)."""
    zone = book.prices.bidding_zone
    existing = await price_stream(session, zone)
    if existing is not None:
        return existing
    body = {
        "name": f"Day-Ahead-Börsenstrompreis {zone}",
        "description": f"Preise der Day-Ahead-Auktion für die Gebotszone {zone} (Quelle: SMARD, Bundesnetzagentur)",
        "properties": {"domain": "energy", "biddingZone": zone, "personal": False},
        "Locations": [
            {
                "name": f"Gebotszone {zone}",
                "description": "Der Preis gilt für die ganze Gebotszone; der Punkt ist der Mittelpunkt der Stadt.",
                "encodingType": "application/geo+json",
                "location": {"type": "Point", "coordinates": list(center)},
            }
        ],
        "Datastreams": [
            {
                "name": book.prices.datastream_name,
                "description": "Preis je Lieferzeitraum (15 Minuten oder eine Stunde), Euro je Megawattstunde",
                "observationType": OM_MEASUREMENT,
                "unitOfMeasurement": UNIT,
                "properties": {"biddingZone": zone, "key": "day_ahead_price"},
                "Sensor": {
                    "name": f"Day-Ahead-Auktion {zone}",
                    "description": "Ergebnis der täglichen Day-Ahead-Auktion der Strombörse, veröffentlicht von SMARD",
                    "encodingType": "text/html",
                    "metadata": "https://www.smard.de/",
                },
                "ObservedProperty": {
                    "name": "Day-Ahead-Strompreis",
                    "definition": "https://www.smard.de/page/home/wiki-article/446/562",
                    "description": "Großhandelspreis für Strom mit Lieferung am Folgetag",
                },
            }
        ],
    }
    ctx = writing.WriteContext(session, now, Viewer.system())
    thing_id = await writing.create(ctx, ENTITY_TYPES["Thing"], body)
    datastream_id = await session.scalar(
        select(m.DATASTREAMS.c.id).where(m.DATASTREAMS.c.thing_id == thing_id)
    )
    if datastream_id is None:
        raise AssertionError("the price Thing was created without its Datastream")
    session.add(PriceStream(bidding_zone=zone, datastream_id=int(datastream_id), created_at=now))
    await session.flush()
    return int(datastream_id)


@dataclass(frozen=True)
class Written:
    stored: int
    kept: int  # periods already stored (left as they are)


async def write_prices(
    session: AsyncSession, datastream_id: int, rows: Sequence[PriceRow], *, now: datetime
) -> Written:
    """Store the rows not stored yet, through the SensorThings ingest (caller's write transaction)."""
    if not rows:
        return Written(0, 0)
    first, last = min(r.start for r in rows), max(r.start for r in rows)
    stored_times = set(
        (
            await session.scalars(
                select(m.OBSERVATIONS.c.phenomenon_time).where(
                    m.OBSERVATIONS.c.datastream_id == datastream_id,
                    m.OBSERVATIONS.c.phenomenon_time >= first,
                    m.OBSERVATIONS.c.phenomenon_time <= last,
                )
            )
        ).all()
    )
    new = [r for r in rows if r.start not in stored_times]
    if new:
        columns: dict[str, list[Any]] = {
            "phenomenon_time": [r.start for r in new],
            "phenomenon_time_end": [r.end for r in new],
            "result_number": [float(r.eur_per_mwh) for r in new],
            "result_type": [m.RESULT_FLOAT] * len(new),
        }
        await insert_columns(session, columns, datastream_id=datastream_id, now=now)
    return Written(len(new), len(rows) - len(new))


async def prices_on_grid(session: AsyncSession, datastream_id: int, ends: np.ndarray) -> np.ndarray:
    """€/MWh for each quarter hour ending at ``ends`` (consecutive); NaN where no period covers it.
    An hourly price covers its four quarter hours."""
    out = np.full(len(ends), np.nan)
    if len(ends) == 0:
        return out
    grid_start = ends[0].astype("int64") - QUARTER_SECONDS
    lo = ends[0].item()
    hi = ends[-1].item()
    result = await session.execute(
        select(
            m.OBSERVATIONS.c.phenomenon_time,
            m.OBSERVATIONS.c.phenomenon_time_end,
            m.OBSERVATIONS.c.result_number,
        ).where(
            m.OBSERVATIONS.c.datastream_id == datastream_id,
            m.OBSERVATIONS.c.phenomenon_time >= lo.replace(tzinfo=UTC) - timedelta(hours=1),
            m.OBSERVATIONS.c.phenomenon_time < hi.replace(tzinfo=UTC),
        )
    )
    for start, end, value in result.all():
        if value is None:
            continue
        first = (int(to_datetime64(start).astype("int64")) - grid_start) // QUARTER_SECONDS
        count = 1 if end is None else max(1, int((end - start).total_seconds()) // QUARTER_SECONDS)
        lo_i, hi_i = max(first, 0), min(first + count, len(out))
        if lo_i < hi_i:
            out[lo_i:hi_i] = value
    return out


async def import_rows(
    session: AsyncSession,
    book: TariffBook,
    rows: Sequence[PriceRow],
    *,
    now: datetime,
    center: tuple[float, float],
) -> Written:
    """Write checked price rows into the zone's Datastream (created on first use), caller's transaction."""
    datastream_id = await ensure_price_stream(session, book, now=now, center=center)
    return await write_prices(session, datastream_id, rows, now=now)
