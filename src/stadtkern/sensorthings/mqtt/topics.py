"""SensorThings MQTT topics: ``v1.1/<resource path>[?$select=...]`` (as FROST and the 1.1 tests use them).

- entity set: ``v1.1/Observations``, ``v1.1/Datastreams(1)/Observations``: created (and updated) members;
- entity: ``v1.1/Observations(7)``: the entity after an update;
- property: ``v1.1/Datastreams(1)/description``: ``{"description": ...}`` after an update.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import parse_qsl

from stadtkern.sensorthings.entities import BY_SET, ENTITY_TYPES
from stadtkern.sensorthings.events import EntityEvent
from stadtkern.sensorthings.query.ast import QueryError
from stadtkern.sensorthings.query.options import parse_query
from stadtkern.sensorthings.query.path import parse_resource_path

VERSION = "v1.1"
TopicKind = Literal["set", "entity", "property"]
# An index key: (entity set, parent) for set topics, (entity set, id) for entity and property topics.
Key = tuple[str, tuple[str, int] | int | None]


@dataclass(frozen=True)
class Topic:
    text: str
    kind: TopicKind
    set_name: str  # the entity set whose members are delivered or created
    parent: tuple[str, int] | None = None  # ("Datastreams", 5) in Datastreams(5)/Observations
    key: int | None = None  # Observations(7)
    prop: str | None = None
    select: tuple[str, ...] | None = None

    @property
    def index_key(self) -> Key:
        if self.kind == "set":
            return (self.set_name, self.parent)
        return (self.set_name, self.key)


def parse_topic(text: str) -> Topic:
    """Raises ``QueryError`` for anything that is not a SensorThings topic we serve."""
    if not text.startswith(VERSION + "/"):
        raise QueryError(
            f"topics start with '{VERSION}/', e.g. {VERSION}/Datastreams(1)/Observations", "path"
        )
    rest = text[len(VERSION) + 1 :]
    path_text, _, query = rest.partition("?")
    if any(ch in path_text for ch in "#+"):
        raise QueryError("wildcards are not SensorThings topics", "path")
    params = dict(parse_qsl(query, keep_blank_values=True)) if query else {}
    unknown = [name for name in params if name != "$select"]
    if unknown:
        raise QueryError(f"only $select is supported in topics, not {unknown[0]}", unknown[0])
    select: tuple[str, ...] | None = None
    if params:
        options = parse_query(params)
        if options.select is not None:
            select = tuple(dict.fromkeys("id" if p[0] == "@iot.id" else p[0] for p in options.select))
    path = parse_resource_path(path_text)
    if path.value or path.ref or not path.segments:
        raise QueryError(f"{text} is not a SensorThings topic", "path")
    first = path.segments[0]
    entity = BY_SET.get(first.name)
    if entity is None:
        raise QueryError(f"unknown entity set {first.name!r}", "path")
    if first.key is not None and not isinstance(first.key, int):
        raise QueryError("ids are integers", "path")
    if len(path.segments) == 1:
        if first.key is None:
            return Topic(text, "set", entity.set_name, select=select)
        return Topic(text, "entity", entity.set_name, key=first.key, select=select)
    if len(path.segments) == 2 and first.key is not None:
        second = path.segments[1]
        nav = entity.navs.get(second.name)
        if nav is not None and nav.many and second.key is None:
            target = ENTITY_TYPES[nav.target]
            return Topic(text, "set", target.set_name, parent=(entity.set_name, first.key), select=select)
        if second.name in entity.props and second.key is None and select is None:
            return Topic(text, "property", entity.set_name, key=first.key, prop=second.name)
    raise QueryError(f"{text} is not a SensorThings topic we serve", "path")


def event_keys(event: EntityEvent) -> list[Key]:
    """The index keys of the subscriptions an event goes to."""
    if event.kind == "update":
        return [(event.set_name, event.id)]
    keys: list[Key] = [(event.set_name, None)]
    stream = event.stream
    if event.set_name == "Observations":
        if stream is not None:
            keys.append(("Observations", ("MultiDatastreams" if stream.multi else "Datastreams", stream.id)))
        if event.feature_id is not None:
            keys.append(("Observations", ("FeaturesOfInterest", event.feature_id)))
    elif (
        event.set_name in ("Datastreams", "MultiDatastreams")
        and stream is not None
        and stream.thing_id is not None
    ):
        keys.append((event.set_name, ("Things", stream.thing_id)))
    return keys


def render(topic: Topic, entity_json: dict[str, Any]) -> dict[str, Any]:
    """What a subscriber of ``topic`` receives for an entity whose full JSON is ``entity_json``."""
    if topic.kind == "property":
        assert topic.prop is not None
        return {topic.prop: entity_json.get(topic.prop)}
    if topic.select is None:
        return entity_json
    out: dict[str, Any] = {}
    for name in topic.select:
        if name == "id":
            out["@iot.id"] = entity_json.get("@iot.id")
        elif name in entity_json or name not in _NAV_NAMES:
            out[name] = entity_json.get(name)
        else:
            link = f"{name}@iot.navigationLink"
            if link in entity_json:
                out[link] = entity_json[link]
    return out


_NAV_NAMES = {nav for entity in ENTITY_TYPES.values() for nav in entity.navs}
