"""Stadtkern's extensions beyond the standard, under ``/sta/v1.1/ext/`` (documented in docs/sensorthings.md):

- ``Datastreams(<id>)/aggregate?interval=PT1H&functions=avg,min,max&$filter=...``: a Datastream's numeric
  Observations per interval (avg, min, max, sum, count), computed in the database;
- ``latest?datastreams=1,2,3`` (or all visible, paged): the newest Observation of each Datastream, from the
  table the ingest keeps, so a dashboard over thousands of Datastreams costs one indexed read.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from sqlalchemy import BigInteger, Float, cast, func, select

from stadtkern.sensorthings import models as m
from stadtkern.sensorthings.access import stream_visible, visible
from stadtkern.sensorthings.entities import ENTITY_TYPES
from stadtkern.sensorthings.query.ast import QueryError
from stadtkern.sensorthings.query.filter import parse_filter
from stadtkern.sensorthings.serialize import self_link
from stadtkern.sensorthings.store.filters import Scope, compile_filter
from stadtkern.sensorthings.store.read import NotFound, ReadContext
from stadtkern.sensorthings.values import UtcStamps, format_time, join_result

FUNCTIONS = ("avg", "min", "max", "sum", "count")
DURATION_RE = re.compile(r"^P(?:(?P<d>\d+)D)?(?:T(?:(?P<h>\d+)H)?(?:(?P<m>\d+)M)?(?:(?P<s>\d+)S)?)?$")
MAX_BUCKETS = 100_000
MAX_LATEST = 10_000


def parse_interval_duration(text: str) -> timedelta:
    """ISO 8601 durations with fixed length: PT15M, PT1H, P1D, P7D (no months or years)."""
    match = DURATION_RE.match(text.strip().upper()) if text else None
    if not match or not any(match.groupdict().values()):
        raise QueryError(
            f"interval {text!r} is not a fixed ISO 8601 duration such as PT15M, PT1H or P1D", "interval"
        )
    parts = {k: int(v) if v else 0 for k, v in match.groupdict().items()}
    duration = timedelta(days=parts["d"], hours=parts["h"], minutes=parts["m"], seconds=parts["s"])
    if duration < timedelta(seconds=1):
        raise QueryError("interval must be at least one second", "interval")
    return duration


def _functions(text: str | None) -> list[str]:
    names = [name.strip().lower() for name in (text or "avg").split(",") if name.strip()]
    unknown = [name for name in names if name not in FUNCTIONS]
    if unknown or not names:
        raise QueryError(
            f"unknown function {unknown[0] if unknown else ''!r}; use {', '.join(FUNCTIONS)}", "functions"
        )
    return list(dict.fromkeys(names))


EXTENSION_RE = re.compile(r"^ext/(?:(?P<latest>latest)|Datastreams\((?P<id>\d+)\)/aggregate)/?$")


async def run_extension(ctx: ReadContext, path: str, params: Mapping[str, str]) -> dict[str, Any]:
    match = EXTENSION_RE.match(path.strip("/"))
    if match is None:
        raise QueryError(
            "unknown extension; available: ext/latest and ext/Datastreams(<id>)/aggregate", "path"
        )
    if match.group("latest"):
        return await latest(ctx, params)
    return await aggregate(ctx, int(match.group("id")), params)


async def aggregate(ctx: ReadContext, datastream_id: int, params: Mapping[str, str]) -> dict[str, Any]:
    """Numeric observations of one Datastream per fixed interval (UTC-aligned buckets)."""
    datastream = ENTITY_TYPES["Datastream"]
    condition = visible("Datastream", m.DATASTREAMS, ctx.viewer)
    query = select(m.DATASTREAMS.c.id, m.DATASTREAMS.c.access).where(m.DATASTREAMS.c.id == datastream_id)
    if condition is not None:
        query = query.where(condition)
    stream = (await ctx.session.execute(query)).first()
    if stream is None:
        raise NotFound(f"Datastreams({datastream_id}) does not exist")
    if stream.access == "personal" and ctx.viewer.staff:
        ctx.personal_reads.add(("Datastream", datastream_id))
    interval = parse_interval_duration(params.get("interval", "PT1H"))
    functions = _functions(params.get("functions"))
    table = m.OBSERVATIONS
    seconds = int(interval.total_seconds())
    epoch: Any
    if ctx.dialect == "postgresql":
        # date_part gives float8; extract() gives numeric since PostgreSQL 14, which is slower to divide.
        epoch = func.date_part("epoch", table.c.phenomenon_time)
    else:
        epoch = cast(func.strftime("%s", table.c.phenomenon_time), Float)
    bucket = (cast(func.floor(epoch / seconds), BigInteger) * seconds).label("bucket")
    value = table.c.result_number
    columns = {
        "avg": func.avg(value),
        "min": func.min(value),
        "max": func.max(value),
        "sum": func.sum(value),
        "count": func.count(value),
    }
    statement = (
        select(bucket, *[columns[name].label(name) for name in functions])
        .where(
            table.c.datastream_id == datastream_id, table.c.result_type.in_((m.RESULT_FLOAT, m.RESULT_INT))
        )
        .group_by(bucket)
        .order_by(bucket)
        .limit(MAX_BUCKETS + 1)
    )
    if params.get("$filter"):
        node = parse_filter(params["$filter"])
        statement = statement.where(
            compile_filter(node, Scope(ENTITY_TYPES["Observation"], table, ctx.dialect, ctx.now))
        )
    rows = (await ctx.session.execute(statement)).all()
    if len(rows) > MAX_BUCKETS:
        raise QueryError(
            f"more than {MAX_BUCKETS} intervals: narrow the time range or widen the interval", "interval"
        )
    stamp = UtcStamps()
    counted = [name == "count" for name in functions]
    values = []
    for row in rows:
        start = int(row[0])
        entry: dict[str, Any] = {"start": stamp(start), "end": stamp(start + seconds)}
        for index, name in enumerate(functions, start=1):
            number = row[index]
            entry[name] = int(number) if counted[index - 1] else (None if number is None else float(number))
        values.append(entry)
    return {
        "Datastream@iot.navigationLink": self_link(ctx.base_url, datastream, datastream_id),
        "interval": params.get("interval", "PT1H").upper(),
        "functions": functions,
        "value": values,
    }


async def latest(ctx: ReadContext, params: Mapping[str, str]) -> dict[str, Any]:
    """The newest Observation of each (visible) Datastream; ``datastreams=1,2,3`` or paged with $top/$skip."""
    streams = m.DATASTREAMS
    last = m.LATEST
    query = (
        select(last, streams.c.access, streams.c.owner_user_id)
        .join(streams, streams.c.id == last.c.datastream_id)
        .where(stream_visible(streams, ctx.viewer))
        .order_by(last.c.datastream_id)
    )
    wanted = params.get("datastreams")
    if wanted:
        try:
            ids = sorted({int(part) for part in wanted.split(",") if part.strip()})
        except ValueError:
            raise QueryError(
                "datastreams must be a comma-separated list of ids, e.g. 1,2,3", "datastreams"
            ) from None
        if len(ids) > MAX_LATEST:
            raise QueryError(f"at most {MAX_LATEST} Datastreams at once", "datastreams")
        query = query.where(last.c.datastream_id.in_(ids))
    top = _int(params.get("$top"), 1000, "$top")
    skip = _int(params.get("$skip"), 0, "$skip")
    rows = (await ctx.session.execute(query.offset(skip).limit(min(top, MAX_LATEST) + 1))).mappings().all()
    more = len(rows) > min(top, MAX_LATEST)
    rows = rows[: min(top, MAX_LATEST)]
    datastream, observation = ENTITY_TYPES["Datastream"], ENTITY_TYPES["Observation"]
    for row in rows:
        if row["access"] == "personal" and ctx.viewer.staff and row["owner_user_id"] != ctx.viewer.user_id:
            ctx.personal_reads.add(("Datastream", int(row["datastream_id"])))
    answer: dict[str, Any] = {
        "value": [
            {
                "Datastream@iot.id": row["datastream_id"],
                "Datastream@iot.navigationLink": self_link(ctx.base_url, datastream, row["datastream_id"]),
                "Observation@iot.navigationLink": self_link(ctx.base_url, observation, row["observation_id"]),
                "phenomenonTime": format_time(row["phenomenon_time"]),
                "result": join_result(
                    row["result_type"], row["result_number"], row["result_string"], row["result_json"]
                ),
            }
            for row in rows
        ]
    }
    if more:
        answer["@iot.nextLink"] = f"{ctx.base_url}/ext/latest?$top={top}&$skip={skip + top}" + (
            f"&datastreams={wanted}" if wanted else ""
        )
    return answer


def _int(text: str | None, default: int, option: str) -> int:
    if text is None or text == "":
        return default
    if not text.isdigit():
        raise QueryError(f"{option} must be a non-negative integer", option)
    return int(text)
