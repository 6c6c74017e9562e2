"""Rows to SensorThings JSON: properties, @iot.id, @iot.selfLink and navigation links."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from operator import itemgetter
from typing import Any

from stadtkern.sensorthings.entities import INTERVAL_END, EntityType, Prop
from stadtkern.sensorthings.models import RESULT_BOOL, RESULT_FLOAT, RESULT_INT, RESULT_JSON, RESULT_STRING
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
        end = INTERVAL_END[column]
        if column == "phenomenon_time":
            return lambda row: _tm_object(row[column], row[end])
        return lambda row: format_period(row[column], row[end])
    if prop.kind == "result":
        return _result
    return itemgetter(column)


def _tm_object(start: Any, end: Any) -> str | None:
    """format_interval inlined for the column written on every Observation (an instant, mostly)."""
    if start is None:
        return None
    if end is None or end == start:
        return format_time(start)
    return f"{format_time(start)}/{format_time(end)}"


def _result(row: Mapping[str, Any]) -> Any:
    """join_result reading only the column the result type names (a number, mostly)."""
    kind = row["result_type"]
    if kind == RESULT_FLOAT:
        return row["result_number"]
    if kind in (RESULT_INT, RESULT_BOOL):
        number = row["result_number"]
        if number is None:
            return None
        return int(number) if kind == RESULT_INT else bool(number)
    if kind == RESULT_STRING:
        return row["result_string"]
    if kind == RESULT_JSON:
        return row["result_json"]
    return None


@dataclass(frozen=True)
class _Plan:
    """What entity_json writes for one entity type and $select: decided once, applied to every row."""

    with_id: bool
    with_link: bool
    # (name, reader, member paths for a deep $select into JSON or None, left out when None)
    fields: tuple[tuple[str, Reader, list[tuple[str, ...]] | None, bool], ...]
    navs: tuple[tuple[str, str], ...]  # (key, suffix after the self-link)


Writer = Callable[[Mapping[str, Any], str], dict[str, Any]]


_PLANS: dict[tuple[str, tuple[tuple[str, ...], ...] | None], Writer] = {}
MAX_PLANS = 1024  # $select comes from clients: keep the cache bounded


def _plan(entity: EntityType, select: tuple[tuple[str, ...], ...] | None) -> Writer:
    """The row writer of an entity type and $select, made once and kept."""
    key = (entity.name, select)
    writer = _PLANS.get(key)
    if writer is not None:
        return writer
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
    writer = _writer(entity, plan)
    if len(_PLANS) >= MAX_PLANS:
        _PLANS.clear()
    _PLANS[key] = writer
    return writer


def entity_json(
    entity: EntityType,
    row: Mapping[str, Any],
    base_url: str,
    select: tuple[tuple[str, ...], ...] | None,
) -> dict[str, Any]:
    """One entity. ``select`` None gives every property and navigation link."""
    return _plan(entity, select)(row, base_url)


def entities_json(
    entity: EntityType,
    rows: Sequence[Mapping[str, Any]],
    base_url: str,
    select: tuple[tuple[str, ...], ...] | None,
) -> list[dict[str, Any]]:
    """Many entities of one type: the plan is looked up once for the whole page."""
    write = _plan(entity, select)
    return [write(row, base_url) for row in rows]


def _writer(entity: EntityType, plan: _Plan) -> Writer:
    """entity_json for one plan, as a closure with every per-plan decision taken (hot: once per row)."""
    opening = f"/{entity.set_name}("
    with_id = plan.with_id
    with_link = plan.with_link
    fields = plan.fields
    navs = plan.navs
    # Without a deep $select (the common case) no field needs its members picked.
    shallow = all(paths is None for _name, _read, paths, _optional in fields)
    shallow_fields = tuple((name, read, optional) for name, read, _paths, optional in fields)

    def write(row: Mapping[str, Any], base_url: str) -> dict[str, Any]:
        key = row["id"]
        link = base_url + opening + (str(key) if type(key) is int else key_text(key)) + ")"
        out: dict[str, Any] = {}
        if with_id:
            out["@iot.id"] = key
        if with_link:
            out["@iot.selfLink"] = link
        if shallow:
            for name, read, optional in shallow_fields:
                value = read(row)
                if value is None and optional:
                    continue  # optional and empty: left out unless asked for
                out[name] = value
        else:
            for name, read, paths, optional in fields:
                value = read(row)
                if paths is not None:
                    value = _select_members(value, paths)
                if value is None and optional:
                    continue  # optional and empty: left out unless asked for
                out[name] = value
        for nav_key, suffix in navs:
            out[nav_key] = link + suffix
        return out

    return write


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
