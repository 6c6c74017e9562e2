"""The Data Array extension: compact observation tables for reading (``$resultFormat=dataArray``) and for
bulk creation (``POST /CreateObservations``), the fastest way in."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from stadtkern.sensorthings.entities import ENTITY_TYPES
from stadtkern.sensorthings.fastpath import columns_of
from stadtkern.sensorthings.ingest import ObservationInput
from stadtkern.sensorthings.serialize import property_value
from stadtkern.sensorthings.values import ValueError_, parse_interval, parse_time

DEFAULT_COMPONENTS = ("id", "phenomenonTime", "result")
WRITABLE_COMPONENTS = {
    "phenomenonTime",
    "resultTime",
    "result",
    "resultQuality",
    "validTime",
    "parameters",
    "FeatureOfInterest/id",
}


class DataArrayError(ValueError):
    """A malformed CreateObservations request (the whole request is refused with 400)."""


@dataclass
class Block:
    """One dataArray block: the stream it belongs to, its rows as inputs, and rows that failed."""

    datastream_id: int | None
    multi_datastream_id: int | None
    items: list[ObservationInput] = field(default_factory=list)
    # Set instead of ``items`` when the block took the columnar fast path (fastpath.py).
    columns: dict[str, list[Any]] | None = None
    # Index in the block -> the reason the row was refused.
    errors: dict[int, str] = field(default_factory=dict)
    size: int = 0


def _stream_of(entry: Mapping[str, Any], where: str) -> tuple[int | None, int | None]:
    for name in ("Datastream", "MultiDatastream"):
        link = entry.get(name)
        if link is not None:
            key = link.get("@iot.id") if isinstance(link, dict) else None
            if not isinstance(key, int) or isinstance(key, bool):
                raise DataArrayError(f'{where}/{name} must be {{"@iot.id": <integer>}}')
            return (key, None) if name == "Datastream" else (None, key)
    raise DataArrayError(
        f'{where}: name the Datastream or MultiDatastream, e.g. "Datastream": {{"@iot.id": 1}}'
    )


def parse_create_observations(body: Any, now: datetime) -> list[Block]:
    """Validate the request shape; rows with bad values become per-row errors, not a failed request."""
    if not isinstance(body, list):
        raise DataArrayError("CreateObservations expects a JSON array of dataArray blocks")
    blocks: list[Block] = []
    for index, entry in enumerate(body):
        where = f"[{index}]"
        if not isinstance(entry, dict):
            raise DataArrayError(f"{where} must be an object with Datastream, components and dataArray")
        datastream_id, multi_id = _stream_of(entry, where)
        components = entry.get("components")
        if (
            not isinstance(components, list)
            or not components
            or not all(isinstance(c, str) for c in components)
        ):
            raise DataArrayError(f"{where}/components must be a list of property names")
        unknown = [c for c in components if c not in WRITABLE_COMPONENTS]
        if unknown:
            raise DataArrayError(
                f"{where}/components: {unknown[0]!r} cannot be written (use {', '.join(sorted(WRITABLE_COMPONENTS))})"
            )
        if "result" not in components:
            raise DataArrayError(f"{where}/components must include result")
        rows = entry.get("dataArray")
        if not isinstance(rows, list):
            raise DataArrayError(f"{where}/dataArray must be a list of rows")
        block = Block(datastream_id, multi_id, size=len(rows))
        if datastream_id is not None:
            block.columns = columns_of(components, rows)
            if block.columns is not None:
                blocks.append(block)
                continue
        positions = {name: i for i, name in enumerate(components)}
        width = len(components)
        for row_index, row in enumerate(rows):
            if not isinstance(row, list) or len(row) != width:
                block.errors[row_index] = f"{where}/dataArray[{row_index}] must have {width} values"
                continue
            try:
                block.items.append(_input(row, positions, now, f"{where}/dataArray[{row_index}]"))
            except ValueError_ as exc:
                block.errors[row_index] = str(exc)
        blocks.append(block)
    return blocks


def _input(row: list[Any], positions: Mapping[str, int], now: datetime, where: str) -> ObservationInput:
    def get(name: str) -> Any:
        index = positions.get(name)
        return row[index] if index is not None else None

    phenomenon = get("phenomenonTime")
    start, end = (
        parse_interval(phenomenon, f"{where}/phenomenonTime") if phenomenon is not None else (now, None)
    )
    result_time = get("resultTime")
    valid = get("validTime")
    valid_start, valid_end = (
        parse_interval(valid, f"{where}/validTime") if valid is not None else (None, None)
    )
    feature = get("FeatureOfInterest/id")
    if feature is not None and (not isinstance(feature, int) or isinstance(feature, bool)):
        raise ValueError_(f"{where}/FeatureOfInterest/id must be an integer")
    parameters = get("parameters")
    if parameters is not None and not isinstance(parameters, dict):
        raise ValueError_(f"{where}/parameters must be a JSON object")
    return ObservationInput(
        phenomenon_time=start,
        phenomenon_time_end=end,
        result=get("result"),
        result_time=parse_time(result_time, f"{where}/resultTime") if result_time is not None else None,
        result_quality=get("resultQuality"),
        valid_time_start=valid_start,
        valid_time_end=valid_end,
        parameters=parameters,
        feature_of_interest_id=feature,
    )


def data_array(
    rows: Sequence[Mapping[str, Any]], select: tuple[tuple[str, ...], ...] | None, base_url: str
) -> list[dict[str, Any]]:
    """Observation rows grouped per (Multi)Datastream, as the Data Array extension renders them."""
    observation = ENTITY_TYPES["Observation"]
    components = [path[0] for path in select] if select else list(DEFAULT_COMPONENTS)
    for name in components:
        if observation.prop(name) is None:
            raise DataArrayError(f"$select: an Observation has no property {name!r}")
    props = [observation.prop(name) for name in components]
    groups: dict[tuple[str, int], list[list[Any]]] = {}
    for row in rows:
        key = (
            ("Datastreams", row["datastream_id"])
            if row["datastream_id"] is not None
            else ("MultiDatastreams", row["multi_datastream_id"])
        )
        groups.setdefault(key, []).append([property_value(prop, row) for prop in props if prop is not None])
    return [
        {
            f"{'Datastream' if kind == 'Datastreams' else 'MultiDatastream'}@iot.navigationLink": f"{base_url}/{kind}({key})",
            "components": ["id" if c == "@iot.id" else c for c in components],
            "dataArray@iot.count": len(values),
            "dataArray": values,
        }
        for (kind, key), values in groups.items()
    ]
