"""Reading: resource paths with query options to SQL, paging, expansion and serialisation."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.expression import FromClause

from stadtkern.sensorthings.access import Viewer, visible
from stadtkern.sensorthings.dataarray import DataArrayError, data_array
from stadtkern.sensorthings.entities import BY_SET, ENTITY_TYPES, EntityType, Nav
from stadtkern.sensorthings.query.ast import Expand, QueryError, QueryOptions, ResourcePath
from stadtkern.sensorthings.serialize import entities_json, entity_json, property_value, self_link
from stadtkern.sensorthings.store import statements
from stadtkern.sensorthings.store.filters import Scope, compile_filter, compile_order

DEFAULT_TOP = 100
MAX_TOP = 1000


class NotFound(LookupError):
    """The path names an entity that does not exist (or the viewer may not see)."""


@dataclass(frozen=True)
class Target:
    """What a resource path resolves to: an entity type and the SQL selecting its ids."""

    entity: EntityType
    # Conditions on the entity's table.
    where: tuple[Any, ...]
    single: bool
    # Where the collection hangs off (for links): "Things(1)/Datastreams" or "Datastreams".
    path_text: str
    property: tuple[str, ...] = ()
    # Keyed entities along the path: each must exist, or the answer is 404.
    checks: tuple[tuple[EntityType, Any], ...] = ()

    def ids(self) -> Select[Any]:
        """The ids of what the path selects, as a subquery."""
        return select(self.entity.table.c.id).where(*self.where)


@dataclass
class ReadContext:
    session: AsyncSession
    base_url: str
    viewer: Viewer
    now: datetime
    dialect: str
    # Personal streams seen by staff: (datastream or multi-datastream table, id) for the audit log.
    personal_reads: set[tuple[str, int]] = field(default_factory=set)


@functools.lru_cache(maxsize=4096)
def resolve(path: ResourcePath) -> Target:
    """Walk the path's segments through the entity model.

    Kept per path: the answer depends on the path alone, and building its conditions as SQL expressions
    cost a twentieth of a page read. Targets are frozen and SQLAlchemy expressions immutable, so sharing
    them is safe.
    """
    if not path.segments:
        raise QueryError("empty resource path", "path")
    first = path.segments[0]
    entity = BY_SET.get(first.name)
    if entity is None:
        raise QueryError(f"unknown entity set {first.name!r} (known: {', '.join(sorted(BY_SET))})", "path", 0)
    table = entity.table
    where: list[Any] = []
    # The id of the current entity when the path names it directly (Things(1)): navigation from it then
    # becomes a plain condition such as datastream_id = 1, which the indexes (and partitions) serve.
    key: Any = None
    checks: list[tuple[EntityType, Any]] = []
    single = False
    text = entity.set_name
    if first.key is not None:
        key = _key(first.key)
        where.append(table.c.id == key)
        checks.append((entity, key))
        single = True
        text += f"({first.key})"
    remaining = list(path.segments[1:])
    while remaining:
        segment = remaining[0]
        nav = entity.navs.get(segment.name)
        if nav is None:
            break
        if not single:
            raise QueryError(
                f"{segment.name} can only follow a single entity, e.g. {entity.set_name}(1)/{segment.name}",
                "path",
            )
        remaining.pop(0)
        source_ids = key if key is not None else select(entity.table.c.id).where(*where).scalar_subquery()
        entity, where = _navigate(entity, nav, source_ids)
        key = None
        text += f"/{nav.name}"
        single = not nav.many
        if segment.key is not None:
            if not nav.many:
                raise QueryError(f"{nav.name} is a single entity and takes no key", "path")
            key = _key(segment.key)
            where.append(entity.table.c.id == key)
            checks.append((entity, key))
            single = True
            text += f"({segment.key})"
    prop: tuple[str, ...] = ()
    if remaining:
        if not single:
            raise QueryError(f"a property ({remaining[0].name}) can only follow a single entity", "path")
        if any(s.key is not None for s in remaining):
            raise QueryError(f"{remaining[0].name} is not a navigation property of {entity.name}", "path")
        prop = tuple(s.name for s in remaining)
        known = entity.prop(prop[0])
        if known is None:
            raise QueryError(f"{entity.name} has no property or navigation {prop[0]!r}", "path")
        if len(prop) > 1 and known.kind not in ("json", "uom", "uoms", "any", "geo"):
            raise QueryError(f"{prop[0]} has no members", "path")
    return Target(entity, tuple(where), single, text, prop, tuple(checks))


def _key(key: int | str) -> Any:
    if isinstance(key, str):
        if key.isdigit():
            return int(key)
        raise QueryError(f"ids are integers, not {key!r}", "path")
    return key


def _navigate(entity: EntityType, nav: Nav, source: Any) -> tuple[EntityType, list[Any]]:
    """Conditions on the target's table selecting what ``nav`` reaches from ``source`` (an id, or a
    scalar subquery of the source's id when the path did not name it)."""
    target = ENTITY_TYPES[nav.target]
    source_table = entity.table
    target_table = target.table
    if nav.self_column is not None:
        owner = select(source_table.c[nav.self_column]).where(source_table.c.id == source).scalar_subquery()
        return target, [target_table.c.id == owner]
    if nav.target_column is not None:
        return target, [target_table.c[nav.target_column] == source]
    assert nav.link is not None and nav.link_self and nav.link_target
    linked = select(nav.link.c[nav.link_target]).where(nav.link.c[nav.link_self] == source)
    return target, [target_table.c.id.in_(linked)]


async def _check_exists(ctx: ReadContext, target: Target) -> None:
    for entity, key in target.checks:
        condition = entity.table.c.id == key
        hidden = visible(entity.name, entity.table, ctx.viewer)
        query = select(entity.table.c.id).where(condition)
        if hidden is not None:
            query = query.where(hidden)
        if await ctx.session.scalar(query) is None:
            raise NotFound(f"{entity.set_name}({key}) does not exist")


def _effective_top(options: QueryOptions) -> int:
    if options.top is None:
        return DEFAULT_TOP
    return min(options.top, MAX_TOP)


def _base_query(
    ctx: ReadContext, entity: EntityType, table: FromClause, options: QueryOptions
) -> Select[Any]:
    query = select(table)
    condition = visible(entity.name, table, ctx.viewer)
    if condition is not None:
        query = query.where(condition)
    if options.filter is not None:
        query = query.where(compile_filter(options.filter, Scope(entity, table, ctx.dialect, ctx.now)))
    return query


def _ordered(
    query: Select[Any], entity: EntityType, table: FromClause, options: QueryOptions, ctx: ReadContext
) -> Select[Any]:
    scope = Scope(entity, table, ctx.dialect, ctx.now)
    for item in options.orderby:
        expression = compile_order(item.expression, scope)
        query = query.order_by(
            expression.desc().nulls_last() if item.descending else expression.asc().nulls_first()
        )
    return query.order_by(table.c.id)


async def read(
    ctx: ReadContext, path: ResourcePath, options: QueryOptions, query_string: str
) -> dict[str, Any] | Any:
    """The JSON answer for a GET. Raises NotFound or QueryError."""
    target = resolve(path)
    validate_select(target.entity, options.select)
    validate_expand(target.entity, options.expand)
    # An Observation is visible exactly when its (Multi)Datastream is, so for Observations under a stream
    # the existence check can wait until the answer is empty: that saves a round trip on the hot path.
    # The same holds for a path of one segment (Things(1)): its query has the same key and visibility.
    deferred = len(path.segments) == 1 or (
        target.entity.name == "Observation"
        and all(
            checked.name in ("Datastream", "MultiDatastream", "Observation")
            for checked, _key in target.checks
        )
    )
    if not deferred:
        await _check_exists(ctx, target)
    entity = target.entity
    table = entity.table
    if target.single:
        query = _base_query(ctx, entity, table, replace(options, filter=None)).where(*target.where)
        row = (await ctx.session.execute(query.limit(1))).mappings().first()
        if row is None:
            if deferred:
                await _check_exists(ctx, target)
            raise NotFound(f"{target.path_text} does not exist")
        _note_personal(ctx, entity, [row])
        if target.property:
            return PropertyAnswer(_property(entity, row, target.property))
        if path.ref:
            return {"@iot.selfLink": self_link(ctx.base_url, entity, row["id"])}
        document = entity_json(entity, row, ctx.base_url, options.select)
        await _expand(ctx, entity, [row], [document], options.expand)
        return document
    answer: dict[str, Any] = {}
    top = _effective_top(options)
    if options.count:
        query = _base_query(ctx, entity, table, options).where(*target.where)
        answer["@iot.count"] = await _count(ctx, query, table)
        page = _ordered(query, entity, table, options, ctx).offset(options.skip).limit(top + 1)
        rows = list((await ctx.session.execute(page)).mappings().all())
    else:
        rows = await statements.execute_page(
            ctx.session, ctx, path, options, (ctx.dialect, ctx.viewer), _page_statement
        )
    if deferred and not rows:
        await _check_exists(ctx, target)
    more = len(rows) > top
    rows = rows[:top]
    _note_personal(ctx, entity, rows)
    if path.ref:
        answer["value"] = [{"@iot.selfLink": self_link(ctx.base_url, entity, row["id"])} for row in rows]
    elif options.result_format == "dataArray":
        if entity.name != "Observation":
            raise QueryError("$resultFormat=dataArray applies to Observations only", "$resultFormat")
        try:
            answer["value"] = data_array(rows, options.select, ctx.base_url)
        except DataArrayError as exc:
            raise QueryError(str(exc), "$select") from None
    else:
        documents = entities_json(entity, rows, ctx.base_url, options.select)
        await _expand(ctx, entity, rows, documents, options.expand)
        answer["value"] = documents
    if more:
        answer["@iot.nextLink"] = _next_link(
            ctx.base_url,
            target.path_text + ("/$ref" if path.ref else ""),
            query_string,
            options.skip + top,
            top,
        )
    return answer


def _page_statement(ctx: ReadContext, path: ResourcePath, options: QueryOptions) -> Select[Any]:
    """The SELECT of one page of a collection (one row more than the page, to know whether more follow)."""
    target = resolve(path)
    entity = target.entity
    table = entity.table
    query = _base_query(ctx, entity, table, options).where(*target.where)
    top = _effective_top(options)
    return _ordered(query, entity, table, options, ctx).offset(options.skip).limit(top + 1)


@dataclass(frozen=True)
class PropertyAnswer:
    """A single property: ``{"name": value}``, or the raw value for ``$value``."""

    value: tuple[str, Any]


def _property(entity: EntityType, row: Any, path: tuple[str, ...]) -> tuple[str, Any]:
    prop = entity.prop(path[0])
    assert prop is not None
    value = property_value(prop, row)
    for key in path[1:]:
        value = value.get(key) if isinstance(value, dict) else None
    return path[-1], value


async def _count(ctx: ReadContext, query: Select[Any], table: Any) -> int:
    # Keep a column of the table: a bare constant would drop the FROM when there is no WHERE.
    counted = select(func.count()).select_from(query.with_only_columns(table.c.id).subquery())
    return int(await ctx.session.scalar(counted) or 0)


def _next_link(base_url: str, path_text: str, query_string: str, skip: int, top: int) -> str:
    kept = [
        part
        for part in query_string.split("&")
        if part and not part.startswith(("$skip=", "%24skip=", "$top=", "%24top="))
    ]
    kept += [f"$top={top}", f"$skip={skip}"]
    return f"{base_url}/{path_text}?" + "&".join(kept)


def _note_personal(ctx: ReadContext, entity: EntityType, rows: Sequence[Any]) -> None:
    """Remember personal streams a staff member read, for the audit log."""
    if not ctx.viewer.staff or not rows:
        return
    if entity.name in ("Datastream", "MultiDatastream"):
        for row in rows:
            if row["access"] == "personal" and row["owner_user_id"] != ctx.viewer.user_id:
                ctx.personal_reads.add((entity.name, int(row["id"])))
    elif entity.name == "Observation":
        for row in rows:
            if row["datastream_id"] is not None:
                ctx.personal_reads.add(("Datastream?", int(row["datastream_id"])))
            elif row["multi_datastream_id"] is not None:
                ctx.personal_reads.add(("MultiDatastream?", int(row["multi_datastream_id"])))


# ---- $expand ------------------------------------------------------------------------------------------------


def validate_select(entity: EntityType, select: tuple[tuple[str, ...], ...] | None) -> None:
    """Every $select clause names a property or navigation property of the entity type."""
    for clause in select or ():
        name = clause[0]
        if name in ("@iot.selfLink",) or name in entity.navs:
            continue
        prop = entity.prop(name)
        if prop is None:
            known = ", ".join(sorted([*entity.props, *entity.navs]))
            raise QueryError(f"{entity.name} has no property {name!r} to select (known: {known})", "$select")
        if len(clause) > 1 and prop.kind not in ("json", "uom", "uoms", "any", "geo"):
            raise QueryError(f"{name} has no members to select", "$select")


def validate_expand(entity: EntityType, items: Sequence[Expand]) -> None:
    """Unknown navigation names are an error even when there is nothing to expand."""
    for item in items:
        current = entity
        for name in item.path:
            nav = current.navs.get(name)
            if nav is None:
                raise QueryError(f"{current.name} has no navigation property {name!r} to expand", "$expand")
            current = ENTITY_TYPES[nav.target]
        validate_select(current, item.options.select)
        validate_expand(current, item.options.expand)


def _normalise(item: Expand) -> Expand:
    """``A/B`` with options becomes ``A($expand=B(options))``."""
    if len(item.path) == 1:
        return item
    inner = _normalise(Expand(item.path[1:], item.options))
    return Expand(item.path[:1], QueryOptions(expand=(inner,)))


def _merge(items: Sequence[Expand]) -> list[Expand]:
    merged: dict[str, Expand] = {}
    for item in map(_normalise, items):
        name = item.path[0]
        if name in merged:
            previous = merged[name]
            merged[name] = Expand(
                item.path, replace(previous.options, expand=previous.options.expand + item.options.expand)
            )
        else:
            merged[name] = item
    return list(merged.values())


async def _expand(
    ctx: ReadContext,
    entity: EntityType,
    rows: Sequence[Any],
    documents: list[dict[str, Any]],
    items: Sequence[Expand],
) -> None:
    if not rows or not items:
        return
    for item in _merge(items):
        name = item.path[0]
        nav = entity.navs.get(name)
        if nav is None:
            raise QueryError(f"{entity.name} has no navigation property {name!r} to expand", "$expand")
        target = ENTITY_TYPES[nav.target]
        if nav.many:
            await _expand_many(ctx, entity, nav, target, rows, documents, item.options)
        else:
            await _expand_one(ctx, nav, target, rows, documents, item.options)


async def _expand_one(
    ctx: ReadContext,
    nav: Nav,
    target: EntityType,
    rows: Sequence[Any],
    documents: list[dict[str, Any]],
    options: QueryOptions,
) -> None:
    assert nav.self_column is not None
    keys = {row[nav.self_column] for row in rows if row[nav.self_column] is not None}
    table = target.table
    query = _base_query(ctx, target, table, options).where(table.c.id.in_(sorted(keys)))
    children = {row["id"]: row for row in (await ctx.session.execute(query)).mappings().all()} if keys else {}
    _note_personal(ctx, target, list(children.values()))
    child_docs = {
        key: entity_json(target, row, ctx.base_url, options.select) for key, row in children.items()
    }
    await _expand(ctx, target, list(children.values()), list(child_docs.values()), options.expand)
    for row, document in zip(rows, documents, strict=True):
        document.pop(f"{nav.name}@iot.navigationLink", None)
        child = child_docs.get(row[nav.self_column])
        if child is not None:
            document[nav.name] = child


async def _expand_many(
    ctx: ReadContext,
    entity: EntityType,
    nav: Nav,
    target: EntityType,
    rows: Sequence[Any],
    documents: list[dict[str, Any]],
    options: QueryOptions,
) -> None:
    parent_ids = [row["id"] for row in rows]
    table = target.table
    query = _base_query(ctx, target, table, options)
    if nav.target_column is not None:
        parent_key = table.c[nav.target_column]
    else:
        assert nav.link is not None and nav.link_self and nav.link_target
        link = nav.link.alias()
        query = query.join(link, link.c[nav.link_target] == table.c.id)
        parent_key = link.c[nav.link_self]
    query = query.where(parent_key.in_(parent_ids))
    scope = Scope(target, table, ctx.dialect, ctx.now)
    order = [
        (
            compile_order(o.expression, scope).desc()
            if o.descending
            else compile_order(o.expression, scope).asc()
        )
        for o in options.orderby
    ] + [table.c.id.asc()]
    top = _effective_top(options)
    numbered = query.add_columns(
        parent_key.label("parent_key"),
        func.row_number().over(partition_by=parent_key, order_by=order).label("rank_in_parent"),
    ).subquery()
    page = select(numbered).where(
        numbered.c.rank_in_parent > options.skip, numbered.c.rank_in_parent <= options.skip + top + 1
    )
    page = page.order_by(numbered.c.parent_key, numbered.c.rank_in_parent)
    found = (await ctx.session.execute(page)).mappings().all()
    counts: dict[Any, int] = {}
    if options.count:
        counted = select(parent_key.label("_parent"), func.count().label("n")).select_from(query.subquery())
        grouped = query.with_only_columns(parent_key.label("_parent"), func.count().label("n")).group_by(
            parent_key
        )
        counts = {r["_parent"]: r["n"] for r in (await ctx.session.execute(grouped)).mappings().all()}
        del counted
    by_parent: dict[Any, list[Any]] = {pid: [] for pid in parent_ids}
    for row in found:
        by_parent.setdefault(row["parent_key"], []).append(row)
    all_children: list[Any] = []
    all_docs: list[dict[str, Any]] = []
    for row, document in zip(rows, documents, strict=True):
        children = by_parent.get(row["id"], [])
        more = len(children) > top
        children = children[:top]
        _note_personal(ctx, target, children)
        docs = [entity_json(target, child, ctx.base_url, options.select) for child in children]
        all_children += children
        all_docs += docs
        document.pop(f"{nav.name}@iot.navigationLink", None)
        if options.count:
            document[f"{nav.name}@iot.count"] = counts.get(row["id"], 0)
        document[nav.name] = docs
        if more:
            parent_link = self_link(ctx.base_url, entity, row["id"])
            document[f"{nav.name}@iot.nextLink"] = (
                f"{parent_link}/{nav.name}?$top={top}&$skip={options.skip + top}"
            )
    await _expand(ctx, target, all_children, all_docs, options.expand)
