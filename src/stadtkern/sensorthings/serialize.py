"""Rows to SensorThings JSON: properties, @iot.id, @iot.selfLink and navigation links."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from stadtkern.sensorthings.entities import INTERVAL_END, EntityType, Prop
from stadtkern.sensorthings.values import format_interval, format_period, format_time, join_result


def key_text(key: Any) -> str:
    if isinstance(key, str):
        return "'" + key.replace("'", "''") + "'"
    return str(key)


def self_link(base_url: str, entity: EntityType, key: Any) -> str:
    return f"{base_url}/{entity.set_name}({key_text(key)})"


def property_value(prop: Prop, row: Mapping[str, Any]) -> Any:
    if prop.kind == "id":
        return row["id"]
    if prop.kind == "instant":
        return format_time(row[prop.column])
    if prop.kind == "interval":
        # Only an Observation's phenomenonTime is a TM_Object (instant or period); the others are periods.
        formatter = format_interval if prop.column == "phenomenon_time" else format_period
        return formatter(row[prop.column], row[INTERVAL_END[prop.column]])
    if prop.kind == "result":
        return join_result(row["result_type"], row["result_number"], row["result_string"], row["result_json"])
    return row[prop.column]


def entity_json(
    entity: EntityType,
    row: Mapping[str, Any],
    base_url: str,
    select: tuple[tuple[str, ...], ...] | None,
) -> dict[str, Any]:
    """One entity. ``select`` None gives every property and navigation link."""
    selected = {path[0] for path in select} if select is not None else None
    out: dict[str, Any] = {}
    link = self_link(base_url, entity, row["id"])
    if selected is None or "id" in selected or "@iot.id" in selected:
        out["@iot.id"] = row["id"]
    if selected is None or "@iot.selfLink" in selected:
        out["@iot.selfLink"] = link
    for name, prop in entity.props.items():
        if name == "id" or (selected is not None and name not in selected):
            continue
        value = property_value(prop, row)
        if prop.kind == "json" and select is not None:
            value = _select_members(value, [p[1:] for p in select if p[0] == name and len(p) > 1])
        if (
            value is None
            and selected is None
            and name in ("properties", "resultQuality", "validTime", "parameters")
        ):
            continue  # optional and empty: left out unless asked for
        out[name] = value
    for nav_name in entity.navs:
        if selected is None or nav_name in selected:
            out[f"{nav_name}@iot.navigationLink"] = f"{link}/{nav_name}"
    return out


def _select_members(value: Any, paths: list[tuple[str, ...]]) -> Any:
    """Deep select into a JSON property (``$select=properties/owner``)."""
    if not paths or not isinstance(value, dict):
        return value
    picked: dict[str, Any] = {}
    for path in paths:
        node: Any = value
        for key in path:
            node = node.get(key) if isinstance(node, dict) else None
        target = picked
        for key in path[:-1]:
            target = target.setdefault(key, {})
        if node is not None:
            target[path[-1]] = node
    return picked
