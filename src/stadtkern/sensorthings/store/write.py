"""Creating, updating and deleting entities: deep insert, linking, automatic FeatureOfInterest and
HistoricalLocation, and the cascades the standard prescribes. Everything runs in the caller's transaction,
so a failed deep insert creates nothing."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from stadtkern.sensorthings import models as m
from stadtkern.sensorthings.access import Viewer
from stadtkern.sensorthings.entities import ENTITY_TYPES, INTERVAL_END, EntityType, Nav, Prop
from stadtkern.sensorthings.ingest import insert_observations, observation_from_json
from stadtkern.sensorthings.values import ValueError_, bbox, parse_interval, parse_time

MAX_DEPTH = 10
COMPLEX_OBSERVATION = "http://www.opengis.net/def/observationType/OGC-OM/2.0/OM_ComplexObservation"


class WriteError(ValueError):
    """A request body that cannot be stored; the message says what and where (becomes 400)."""


class TargetMissing(LookupError):
    """The entity to update or delete does not exist (becomes 404)."""


@dataclass
class WriteContext:
    session: AsyncSession
    now: datetime
    viewer: Viewer


def _where(path: str, name: str) -> str:
    return f"{path}/{name}" if path else name


# ---- properties ----------------------------------------------------------------------------------------


def _column_values(
    entity: EntityType, body: dict[str, Any], path: str, *, partial: bool, replace: bool = False
) -> dict[str, Any]:
    """Column values from ``body``. ``replace`` (PUT): optional properties left out are reset to null."""
    values: dict[str, Any] = {}
    for name, prop in entity.props.items():
        if prop.read_only or prop.kind == "result":
            continue
        if name not in body:
            if prop.required and not partial:
                raise WriteError(f"{_where(path, name)} is required for a {entity.name}")
            if replace and not prop.required:
                values.update(_convert(prop, None, _where(path, name)))
            continue
        values.update(_convert(prop, body[name], _where(path, name)))
    unknown = [
        key
        for key in body
        if key not in entity.props
        and key not in entity.navs
        and not key.startswith("@iot.")
        and not key.endswith("@iot.navigationLink")
    ]
    if unknown:
        raise WriteError(f"{_where(path, unknown[0])}: {entity.name} has no property {unknown[0]!r}")
    return values


def _convert(prop: Prop, value: Any, where: str) -> dict[str, Any]:
    try:
        if prop.kind == "text":
            if not isinstance(value, str):
                raise WriteError(f"{where} must be a string")
            return {prop.column: value}
        if prop.kind == "json":
            if value is not None and not isinstance(value, (dict, list)):
                raise WriteError(f"{where} must be a JSON object")
            return {prop.column: value}
        if prop.kind == "any":
            return {prop.column: value}
        if prop.kind == "instant":
            return {prop.column: None if value is None else parse_time(value, where)}
        if prop.kind == "interval":
            if value is None:
                return {prop.column: None, INTERVAL_END[prop.column]: None}
            start, end = parse_interval(value, where)
            return {prop.column: start, INTERVAL_END[prop.column]: end}
        if prop.kind == "geo":
            min_x, min_y, max_x, max_y = bbox(value, where)
            return {prop.column: value, "min_x": min_x, "min_y": min_y, "max_x": max_x, "max_y": max_y}
        if prop.kind == "uom":
            return {prop.column: _uom(value, where)}
        if prop.kind == "uoms":
            if not isinstance(value, list):
                raise WriteError(f"{where} must be a list of units of measurement")
            return {prop.column: [_uom(item, f"{where}[{i}]") for i, item in enumerate(value)]}
    except ValueError_ as exc:
        raise WriteError(str(exc)) from None
    raise WriteError(f"{where} cannot be written")


def _uom(value: Any, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise WriteError(f"{where} must be an object with name, symbol and definition")
    for key in value:
        if key not in ("name", "symbol", "definition"):
            raise WriteError(f"{where}/{key}: a unit of measurement has only name, symbol and definition")
    return {"name": value.get("name"), "symbol": value.get("symbol"), "definition": value.get("definition")}


# ---- create --------------------------------------------------------------------------------------------


async def create(
    ctx: WriteContext,
    entity: EntityType,
    body: Any,
    *,
    path: str = "",
    parent: tuple[Nav, int] | None = None,
    depth: int = 0,
) -> int:
    """Create ``entity`` from ``body`` (deep insert). ``parent`` links it to the entity it was posted under."""
    if depth > MAX_DEPTH:
        raise WriteError(f"{path}: nested too deeply")
    if not isinstance(body, dict):
        raise WriteError(f"{path or entity.name}: expected a JSON object")
    if entity.name == "Observation":
        return await _create_observation(ctx, body, path=path, parent=parent)
    values = _column_values(entity, body, path, partial=False)
    to_one: dict[str, int] = {}
    for nav in entity.navs.values():
        if nav.many or nav.name not in body:
            continue
        to_one[nav.name] = await _resolve_one(ctx, nav, body[nav.name], _where(path, nav.name), depth)
    parent_nav_back = _back_reference(entity, parent)
    if parent_nav_back is not None and parent is not None:
        to_one[parent_nav_back.name] = parent[1]
    for nav in entity.navs.values():
        if nav.required and nav.name not in to_one:
            raise WriteError(
                f'{_where(path, nav.name)} is required: link one with {{"@iot.id": …}} or create it inline'
            )
        if nav.self_column is not None and nav.name in to_one:
            values[nav.self_column] = to_one[nav.name]
    if entity.name in ("Datastream", "MultiDatastream"):
        values.setdefault("access", "public")
    new_id = int(await ctx.session.scalar(insert(entity.table).values(**values).returning(entity.table.c.id)))
    linked_locations: list[int] = []
    for nav in entity.navs.values():
        if not nav.many or nav.name not in body:
            continue
        items = body[nav.name]
        if not isinstance(items, list):
            raise WriteError(f"{_where(path, nav.name)} must be a list")
        for index, item in enumerate(items):
            child_ids = await _link_many(
                ctx, entity, nav, new_id, item, f"{_where(path, nav.name)}[{index}]", depth
            )
            if entity.name == "Thing" and nav.name == "Locations":
                linked_locations.append(child_ids)
    if parent is not None and parent[0].link is not None:
        await _insert_link(ctx, parent[0], parent[1], new_id)
        if entity.name == "Location" and parent[0].name == "Locations":
            await _record_historical_location(ctx, parent[1])
    if entity.name == "MultiDatastream":
        await _check_multi_datastream(ctx, new_id, path)
    if linked_locations:
        await _record_historical_location(ctx, new_id)
    return new_id


def _back_reference(entity: EntityType, parent: tuple[Nav, int] | None) -> Nav | None:
    """Posting to Things(1)/Datastreams sets the new Datastream's Thing."""
    if parent is None:
        return None
    parent_nav = parent[0]
    if parent_nav.target_column is None:
        return None
    for nav in entity.navs.values():
        if nav.self_column == parent_nav.target_column:
            return nav
    return None


async def _resolve_one(ctx: WriteContext, nav: Nav, value: Any, where: str, depth: int) -> int:
    """A to-one link: an existing entity by @iot.id (other members ignored, as some clients send them),
    or a new one created inline."""
    target = ENTITY_TYPES[nav.target]
    if not isinstance(value, dict):
        raise WriteError(f'{where} must be an object: {{"@iot.id": …}} or a new {target.name}')
    if "@iot.id" in value:
        return await _existing(ctx, target, value["@iot.id"], where)
    return await create(ctx, target, value, path=where, depth=depth + 1)


async def _existing(ctx: WriteContext, target: EntityType, key: Any, where: str) -> int:
    if (
        isinstance(key, bool)
        or not isinstance(key, (int, str))
        or (isinstance(key, str) and not key.isdigit())
    ):
        raise WriteError(f"{where}/@iot.id must be an integer id")
    found = await ctx.session.scalar(select(target.table.c.id).where(target.table.c.id == int(key)))
    if found is None:
        raise WriteError(f"{where}: {target.set_name}({key}) does not exist")
    return int(found)


async def _link_many(
    ctx: WriteContext, entity: EntityType, nav: Nav, self_id: int, item: Any, where: str, depth: int
) -> int:
    target = ENTITY_TYPES[nav.target]
    if not isinstance(item, dict):
        raise WriteError(f"{where} must be an object")
    if "@iot.id" in item:
        child_id = await _existing(ctx, target, item["@iot.id"], where)
        if nav.target_column is not None:
            await ctx.session.execute(
                update(target.table).where(target.table.c.id == child_id).values({nav.target_column: self_id})
            )
        else:
            await _insert_link(ctx, nav, self_id, child_id)
        return child_id
    if target.name == "Observation":
        return await _create_observation(ctx, item, path=where, parent=(nav, self_id))
    if nav.target_column is not None:
        return await create(ctx, target, item, path=where, parent=(nav, self_id), depth=depth + 1)
    child_id = await create(ctx, target, item, path=where, depth=depth + 1)
    await _insert_link(ctx, nav, self_id, child_id)
    return child_id


async def _insert_link(ctx: WriteContext, nav: Nav, self_id: int, other_id: int) -> None:
    """Link the entity ``self_id`` (the side ``nav`` belongs to) with ``other_id`` (idempotent)."""
    assert nav.link is not None and nav.link_self and nav.link_target
    values = {nav.link_self: self_id, nav.link_target: other_id}
    exists_query = select(nav.link.c[nav.link_self]).where(
        nav.link.c[nav.link_self] == self_id, nav.link.c[nav.link_target] == other_id
    )
    if await ctx.session.scalar(exists_query) is not None:
        return
    if nav.link is m.MULTI_DATASTREAM_OBSERVED_PROPERTIES:
        count = await ctx.session.scalar(
            select(m.MultiDatastreamObservedProperty.rank)
            .where(m.MultiDatastreamObservedProperty.multi_datastream_id == values["multi_datastream_id"])
            .order_by(m.MultiDatastreamObservedProperty.rank.desc())
            .limit(1)
        )
        values["rank"] = (count + 1) if count is not None else 0
    await ctx.session.execute(insert(nav.link).values(**values))


async def _record_historical_location(ctx: WriteContext, thing_id: int) -> None:
    """A Thing got a new Location: remember where it is now (all its current Locations)."""
    hl_id = await ctx.session.scalar(
        insert(m.HISTORICAL_LOCATIONS)
        .values(thing_id=thing_id, time=ctx.now)
        .returning(m.HistoricalLocation.id)
    )
    locations = (
        await ctx.session.scalars(
            select(m.ThingLocation.location_id).where(m.ThingLocation.thing_id == thing_id)
        )
    ).all()
    for location_id in locations:
        await ctx.session.execute(
            insert(m.HISTORICAL_LOCATION_LOCATIONS).values(
                historical_location_id=hl_id, location_id=location_id
            )
        )


async def _check_multi_datastream(ctx: WriteContext, mds_id: int, path: str) -> None:
    row = (
        (await ctx.session.execute(select(m.MULTI_DATASTREAMS).where(m.MultiDatastream.id == mds_id)))
        .mappings()
        .one()
    )
    properties = len(
        (
            await ctx.session.scalars(
                select(m.MultiDatastreamObservedProperty.observed_property_id).where(
                    m.MultiDatastreamObservedProperty.multi_datastream_id == mds_id
                )
            )
        ).all()
    )
    if row["observation_type"] != COMPLEX_OBSERVATION:
        raise WriteError(
            f"{_where(path, 'observationType')} of a MultiDatastream must be {COMPLEX_OBSERVATION}"
        )
    units = row["unit_of_measurements"] or []
    types = row["multi_observation_data_types"] or []
    if not isinstance(types, list) or not all(isinstance(t, str) for t in types):
        raise WriteError(
            f"{_where(path, 'multiObservationDataTypes')} must be a list of observation type URIs"
        )
    if properties == 0:
        raise WriteError(f"{_where(path, 'ObservedProperties')} is required: at least one ObservedProperty")
    if not (len(units) == len(types) == properties):
        raise WriteError(
            f"{path or 'MultiDatastream'}: unitOfMeasurements ({len(units)}), multiObservationDataTypes "
            f"({len(types)}) and ObservedProperties ({properties}) must have the same length"
        )


async def _create_observation(
    ctx: WriteContext, body: dict[str, Any], *, path: str, parent: tuple[Nav, int] | None
) -> int:
    datastream_id: int | None = None
    multi_id: int | None = None
    if parent is not None:
        if parent[0].target_column == "datastream_id":
            datastream_id = parent[1]
        elif parent[0].target_column == "multi_datastream_id":
            multi_id = parent[1]
    if "Datastream" in body:
        datastream_id = await _resolve_one(
            ctx,
            ENTITY_TYPES["Observation"].navs["Datastream"],
            body["Datastream"],
            _where(path, "Datastream"),
            1,
        )
    if "MultiDatastream" in body:
        multi_id = await _resolve_one(
            ctx,
            ENTITY_TYPES["Observation"].navs["MultiDatastream"],
            body["MultiDatastream"],
            _where(path, "MultiDatastream"),
            1,
        )
    if (datastream_id is None) == (multi_id is None):
        raise WriteError(f"{path or 'Observation'}: link exactly one Datastream or MultiDatastream")
    feature_id: int | None = None
    if "FeatureOfInterest" in body:
        feature_id = await _resolve_one(
            ctx,
            ENTITY_TYPES["Observation"].navs["FeatureOfInterest"],
            body["FeatureOfInterest"],
            _where(path, "FeatureOfInterest"),
            1,
        )
    try:
        observation = observation_from_json(body, path=path or "Observation", now=ctx.now)
    except ValueError_ as exc:
        raise WriteError(str(exc)) from None
    observation.feature_of_interest_id = feature_id
    ids = await insert_observations(
        ctx.session, [observation], datastream_id=datastream_id, multi_datastream_id=multi_id, now=ctx.now
    )
    return ids[0]


# ---- update --------------------------------------------------------------------------------------------


async def update_entity(
    ctx: WriteContext, entity: EntityType, key: int, body: Any, *, replace_all: bool
) -> None:
    """PATCH merges; PUT replaces every property (navigation links given are set, others kept)."""
    if not isinstance(body, dict):
        raise WriteError(f"{entity.name}: expected a JSON object")
    table = entity.table
    if await ctx.session.scalar(select(table.c.id).where(table.c.id == key)) is None:
        raise TargetMissing(f"{entity.set_name}({key}) does not exist")
    if entity.name == "Observation":
        await _update_observation(ctx, key, body, replace_all=replace_all)
        return
    values = _column_values(entity, body, "", partial=not replace_all, replace=replace_all)
    location_changed = False
    for nav in entity.navs.values():
        if nav.name not in body:
            continue
        if nav.many:
            items = body[nav.name]
            if not isinstance(items, list):
                raise WriteError(f"{nav.name} must be a list")
            if entity.name == "Thing" and nav.name == "Locations":
                # A Thing's location is replaced, not added to: that is what HistoricalLocation records.
                await ctx.session.execute(delete(m.THING_LOCATIONS).where(m.ThingLocation.thing_id == key))
                location_changed = True
            for index, item in enumerate(items):
                if not isinstance(item, dict) or "@iot.id" not in item:
                    raise WriteError(
                        f"{nav.name}[{index}]: an update may only link existing entities by @iot.id"
                    )
                await _link_many(ctx, entity, nav, key, item, f"{nav.name}[{index}]", 0)
        else:
            value = body[nav.name]
            if not isinstance(value, dict) or "@iot.id" not in value:
                raise WriteError(f"{nav.name}: an update may only link an existing entity by @iot.id")
            target_id = await _existing(ctx, ENTITY_TYPES[nav.target], value["@iot.id"], nav.name)
            assert nav.self_column is not None
            values[nav.self_column] = target_id
    if values:
        await ctx.session.execute(update(table).where(table.c.id == key).values(**values))
    if entity.name == "MultiDatastream":  # the sizes must still agree after the update
        await _check_multi_datastream(ctx, key, "")
    if location_changed:
        await _record_historical_location(ctx, key)


async def _update_observation(
    ctx: WriteContext, key: int, body: dict[str, Any], *, replace_all: bool
) -> None:
    from stadtkern.sensorthings.ingest import observation_columns

    try:
        values = observation_columns(body, path="Observation", now=ctx.now, partial=not replace_all)
    except ValueError_ as exc:
        raise WriteError(str(exc)) from None
    if "FeatureOfInterest" in body:
        nav = ENTITY_TYPES["Observation"].navs["FeatureOfInterest"]
        values["feature_of_interest_id"] = await _resolve_one(
            ctx, nav, body["FeatureOfInterest"], "FeatureOfInterest", 1
        )
    for name in ("Datastream", "MultiDatastream"):
        if name in body:
            raise WriteError(f"{name}: an Observation cannot move to another {name}")
    if values:
        table = m.OBSERVATIONS
        await ctx.session.execute(update(table).where(table.c.id == key).values(**values))


# ---- delete --------------------------------------------------------------------------------------------


async def delete_entity(ctx: WriteContext, entity: EntityType, key: int) -> None:
    """Delete with the standard's cascades (a Thing takes its Datastreams and their Observations along)."""
    table = entity.table
    if await ctx.session.scalar(select(table.c.id).where(table.c.id == key)) is None:
        raise TargetMissing(f"{entity.set_name}({key}) does not exist")
    session = ctx.session
    ds, mds, obs = m.DATASTREAMS, m.MULTI_DATASTREAMS, m.OBSERVATIONS
    streams = {
        "Thing": (ds.c.thing_id, mds.c.thing_id),
        "Sensor": (ds.c.sensor_id, mds.c.sensor_id),
        "ObservedProperty": (ds.c.observed_property_id, None),
    }.get(entity.name)
    if streams is not None:
        ds_column, mds_column = streams
        await session.execute(
            delete(obs).where(obs.c.datastream_id.in_(select(ds.c.id).where(ds_column == key)))
        )
        await session.execute(
            delete(m.LATEST).where(
                m.LatestObservation.datastream_id.in_(select(ds.c.id).where(ds_column == key))
            )
        )
        if mds_column is not None:
            await session.execute(
                delete(obs).where(obs.c.multi_datastream_id.in_(select(mds.c.id).where(mds_column == key)))
            )
        if entity.name == "ObservedProperty":
            link = m.MULTI_DATASTREAM_OBSERVED_PROPERTIES
            affected = select(link.c.multi_datastream_id).where(link.c.observed_property_id == key)
            await session.execute(delete(obs).where(obs.c.multi_datastream_id.in_(affected)))
            await session.execute(delete(mds).where(mds.c.id.in_(affected)))
    elif entity.name == "Datastream":
        await session.execute(delete(obs).where(obs.c.datastream_id == key))
        await session.execute(delete(m.LATEST).where(m.LatestObservation.datastream_id == key))
    elif entity.name == "MultiDatastream":
        await session.execute(delete(obs).where(obs.c.multi_datastream_id == key))
    elif entity.name == "FeatureOfInterest":
        await session.execute(delete(obs).where(obs.c.feature_of_interest_id == key))
    elif entity.name == "Location":
        hl = m.HISTORICAL_LOCATION_LOCATIONS
        await session.execute(delete(hl).where(hl.c.location_id == key))
    await session.execute(delete(table).where(table.c.id == key))
