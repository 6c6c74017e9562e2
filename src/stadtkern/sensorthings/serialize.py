"""Rows to SensorThings JSON: properties, @iot.id, @iot.selfLink and navigation links."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from operator import itemgetter
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


Reader = Callable[[Mapping[str, Any]], Any]
OPTIONAL = frozenset({"properties", "resultQuality", "validTime", "parameters"})


def _reader(prop: Prop) -> Reader:
    """property_value for one property, with the decisions about its kind taken once."""
    column = prop.column
    if prop.kind == "id":
        return itemgetter("id")
    if prop.kind == "instant":
        return lambda row: format_time(row[column])
    if prop.kind == "interval":
        formatter = format_interval if column == "phenomenon_time" else format_period
        end = INTERVAL_END[column]
        return lambda row: formatter(row[column], row[end])
    if prop.kind == "result":
        return lambda row: join_result(
            row["result_type"], row["result_number"], row["result_string"], row["result_json"]
        )
    return itemgetter(column)


@dataclass(frozen=True)
class _Plan:
    """What entity_json writes for one entity type and $select: decided once, applied to every row."""

    with_id: bool
    with_link: bool
    # (name, reader, member paths for a deep $select into JSON or None, left out when None)
    fields: tuple[tuple[str, Reader, list[tuple[str, ...]] | None, bool], ...]
    navs: tuple[tuple[str, str], ...]  # (key, suffix after the self-link)


_PLANS: dict[tuple[str, tuple[tuple[str, ...], ...] | None], _Plan] = {}
MAX_PLANS = 1024  # $select comes from clients: keep the cache bounded


def _plan(entity: EntityType, select: tuple[tuple[str, ...], ...] | None) -> _Plan:
    key = (entity.name, select)
    plan = _PLANS.get(key)
    if plan is not None:
        return plan
    selected = {path[0] for path in select} if select is not None else None
    fields = []
    for name, prop in entity.props.items():
        if name == "id" or (selected is not None and name not in selected):
            continue
        paths = (
            [p[1:] for p in select if p[0] == name and len(p) > 1]
            if prop.kind == "json" and select is not None
            else None
        )
        fields.append((name, _reader(prop), paths, selected is None and name in OPTIONAL))
    plan = _Plan(
        with_id=selected is None or "id" in selected or "@iot.id" in selected,
        with_link=selected is None or "@iot.selfLink" in selected,
        fields=tuple(fields),
        navs=tuple(
            (f"{nav}@iot.navigationLink", f"/{nav}")
            for nav in entity.navs
            if selected is None or nav in selected
        ),
    )
    if len(_PLANS) >= MAX_PLANS:
        _PLANS.clear()
    _PLANS[key] = plan
    return plan


def entity_json(
    entity: EntityType,
    row: Mapping[str, Any],
    base_url: str,
    select: tuple[tuple[str, ...], ...] | None,
) -> dict[str, Any]:
    """One entity. ``select`` None gives every property and navigation link."""
    plan = _plan(entity, select)
    out: dict[str, Any] = {}
    link = f"{base_url}/{entity.set_name}({key_text(row['id'])})"
    if plan.with_id:
        out["@iot.id"] = row["id"]
    if plan.with_link:
        out["@iot.selfLink"] = link
    for name, read, paths, optional in plan.fields:
        value = read(row)
        if paths is not None:
            value = _select_members(value, paths)
        if value is None and optional:
            continue  # optional and empty: left out unless asked for
        out[name] = value
    for key, suffix in plan.navs:
        out[key] = link + suffix
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
