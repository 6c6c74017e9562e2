"""Encoding published readings and sites as CSV, GeoJSON and Parquet, block by block.

CSV: RFC 4180, UTF-8, comma, decimal point, times in ISO 8601 UTC. GeoJSON (RFC 7946): one Point
feature per row. Both are written as the blocks arrive. Parquet keeps its index at the end of the file, so
it is written row group by row group into a spooled temporary file (memory up to ``SPOOL_BYTES``, then
disk) and sent when complete; pyarrow is needed for it (``parquet_available``).
"""

from __future__ import annotations

import csv
import importlib.util
import io
import json
import tempfile
from collections.abc import AsyncIterator, Iterable
from datetime import UTC
from typing import IO, Any

from stadtkern.twin.opendata.services import Reading, SiteRow

READING_COLUMNS = ("time", "asset", "name", "district", "stream", "value", "unit", "suppressed")
SITE_COLUMNS = ("asset", "name", "district", "organisation", "lon", "lat", "streams")
SPOOL_BYTES = 16 * 1024 * 1024
SEND_BYTES = 1024 * 1024

MEDIA_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "geojson": "application/geo+json",
    "parquet": "application/vnd.apache.parquet",
}


def parquet_available() -> bool:
    return importlib.util.find_spec("pyarrow") is not None


def _arrow() -> tuple[Any, Any]:
    """pyarrow and pyarrow.parquet (imported on use: only Parquet needs them)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    return pa, pq


def _time(reading: Reading) -> str:
    return reading.time.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _reading_values(reading: Reading) -> list[Any]:
    return [
        _time(reading),
        reading.asset,
        reading.name,
        reading.district,
        reading.stream,
        "" if reading.value is None else reading.value,
        reading.unit,
        "true" if reading.suppressed else "false",
    ]


def _csv_lines(rows: Iterable[Iterable[Any]]) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerows(rows)
    return buffer.getvalue().encode()


async def readings_csv(blocks: AsyncIterator[list[Reading]]) -> AsyncIterator[bytes]:
    yield _csv_lines([READING_COLUMNS])
    async for block in blocks:
        if block:
            yield _csv_lines(_reading_values(r) for r in block)


def sites_csv(sites: list[SiteRow]) -> bytes:
    return _csv_lines(
        [
            SITE_COLUMNS,
            *([s.code, s.name, s.district, s.organisation, s.lon, s.lat, s.streams] for s in sites),
        ]
    )


def _feature(lon: float, lat: float, properties: dict[str, Any]) -> bytes:
    return json.dumps(
        {
            "type": "Feature",
            "geometry": {"type": "Point", "coordinates": [lon, lat]},
            "properties": properties,
        },
        ensure_ascii=False,
        separators=(",", ":"),
    ).encode()


def _reading_feature(reading: Reading) -> bytes:
    return _feature(
        reading.lon,
        reading.lat,
        {
            "time": _time(reading),
            "asset": reading.asset,
            "name": reading.name,
            "district": reading.district,
            "stream": reading.stream,
            "value": reading.value,
            "unit": reading.unit,
            "suppressed": reading.suppressed,
        },
    )


async def readings_geojson(blocks: AsyncIterator[list[Reading]], attribution: str) -> AsyncIterator[bytes]:
    head = {"type": "FeatureCollection", "attribution": attribution}
    yield json.dumps(head, ensure_ascii=False)[:-1].encode() + b',"features":['
    first = True
    async for block in blocks:
        if not block:
            continue
        parts = b",".join(_reading_feature(r) for r in block)
        yield parts if first else b"," + parts
        first = False
    yield b"]}\n"


def sites_geojson(sites: list[SiteRow], attribution: str) -> bytes:
    features = [
        json.loads(
            _feature(
                s.lon,
                s.lat,
                {
                    "asset": s.code,
                    "name": s.name,
                    "district": s.district,
                    "organisation": s.organisation,
                    "streams": s.streams,
                },
            )
        )
        for s in sites
    ]
    collection = {"type": "FeatureCollection", "attribution": attribution, "features": features}
    return json.dumps(collection, ensure_ascii=False, separators=(",", ":")).encode()


def _reading_schema() -> Any:
    pa, _pq = _arrow()

    return pa.schema(
        [
            ("time", pa.timestamp("us", tz="UTC")),
            ("asset", pa.string()),
            ("name", pa.string()),
            ("district", pa.string()),
            ("stream", pa.string()),
            ("value", pa.float64()),
            ("unit", pa.string()),
            ("suppressed", pa.bool_()),
        ]
    )


def _reading_table(block: list[Reading], schema: Any) -> Any:
    pa, _pq = _arrow()

    return pa.table(
        {
            "time": [r.time for r in block],
            "asset": [r.asset for r in block],
            "name": [r.name for r in block],
            "district": [r.district for r in block],
            "stream": [r.stream for r in block],
            "value": [float(r.value) if isinstance(r.value, int | float) else None for r in block],
            "unit": [r.unit for r in block],
            "suppressed": [r.suppressed for r in block],
        },
        schema=schema,
    )


async def _send(spool: IO[bytes]) -> AsyncIterator[bytes]:
    spool.seek(0)
    while chunk := spool.read(SEND_BYTES):
        yield chunk


async def readings_parquet(blocks: AsyncIterator[list[Reading]]) -> AsyncIterator[bytes]:
    _pa, pq = _arrow()

    schema = _reading_schema()
    with tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES) as spool:
        with pq.ParquetWriter(spool, schema, compression="zstd") as writer:
            async for block in blocks:
                if block:
                    writer.write_table(_reading_table(block, schema))
        async for chunk in _send(spool):
            yield chunk


def sites_parquet(sites: list[SiteRow]) -> bytes:
    pa, pq = _arrow()

    table = pa.table(
        {
            "asset": [s.code for s in sites],
            "name": [s.name for s in sites],
            "district": [s.district for s in sites],
            "organisation": [s.organisation for s in sites],
            "lon": pa.array([s.lon for s in sites], pa.float64()),
            "lat": pa.array([s.lat for s in sites], pa.float64()),
            "streams": [s.streams for s in sites],
        }
    )
    buffer = io.BytesIO()
    pq.write_table(table, buffer, compression="zstd")
    return buffer.getvalue()
