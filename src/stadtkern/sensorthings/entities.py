"""The SensorThings entity model: entity sets, their properties and navigation, mapped to our tables.

One declaration drives reading (paths, $filter, $select, $expand), writing (validation, deep insert) and
serialisation, so that the three cannot disagree.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from sqlalchemy import Table

from stadtkern.db.base import Base
from stadtkern.sensorthings import models as m

PropKind = Literal["id", "text", "json", "any", "instant", "interval", "geo", "result", "uom", "uoms"]


@dataclass(frozen=True)
class Prop:
    """An entity property: its JSON name, where it is stored, and how it is read and written."""

    name: str
    column: str
    kind: PropKind
    required: bool = False
    # Computed by the server (id, observedArea, phenomenonTime of a Datastream): ignored on write.
    read_only: bool = False


@dataclass(frozen=True)
class Nav:
    """A navigation property.

    To-one: ``self_column`` on this entity's table holds the target id. To-many: either ``target_column``
    on the target's table holds this entity's id, or a ``link`` table joins the two.
    """

    name: str
    target: str
    many: bool
    self_column: str | None = None
    target_column: str | None = None
    link: Table | None = None
    link_self: str | None = None
    link_target: str | None = None
    # A to-one link the client must give on create (a Datastream's Thing, Sensor, ObservedProperty).
    required: bool = False


@dataclass(frozen=True)
class EntityType:
    name: str
    set_name: str
    table: Table
    props: dict[str, Prop]
    navs: dict[str, Nav] = field(default_factory=dict)

    def prop(self, name: str) -> Prop | None:
        return self.props.get("id" if name == "@iot.id" else name)


def _props(*props: Prop) -> dict[str, Prop]:
    return {p.name: p for p in (Prop("id", "id", "id", read_only=True), *props)}


def _t(model: type[Base]) -> Table:
    table = model.__table__
    assert isinstance(table, Table)
    return table


NAME = Prop("name", "name", "text", required=True)
DESCRIPTION = Prop("description", "description", "text", required=True)
PROPERTIES = Prop("properties", "properties", "json")
ENCODING = Prop("encodingType", "encoding_type", "text", required=True)

_STREAM_PROPS = (
    NAME,
    DESCRIPTION,
    Prop("observationType", "observation_type", "text", required=True),
    Prop("observedArea", "observed_area", "geo", read_only=True),
    Prop("phenomenonTime", "phenomenon_time_start", "interval", read_only=True),
    Prop("resultTime", "result_time_start", "interval", read_only=True),
    PROPERTIES,
)

ENTITY_TYPES: dict[str, EntityType] = {
    et.name: et
    for et in (
        EntityType(
            "Thing",
            "Things",
            _t(m.Thing),
            _props(NAME, DESCRIPTION, PROPERTIES),
            {
                "Locations": Nav(
                    "Locations",
                    "Location",
                    True,
                    link=_t(m.ThingLocation),
                    link_self="thing_id",
                    link_target="location_id",
                ),
                "HistoricalLocations": Nav(
                    "HistoricalLocations", "HistoricalLocation", True, target_column="thing_id"
                ),
                "Datastreams": Nav("Datastreams", "Datastream", True, target_column="thing_id"),
                "MultiDatastreams": Nav(
                    "MultiDatastreams", "MultiDatastream", True, target_column="thing_id"
                ),
            },
        ),
        EntityType(
            "Location",
            "Locations",
            _t(m.Location),
            _props(
                NAME, DESCRIPTION, ENCODING, Prop("location", "location", "geo", required=True), PROPERTIES
            ),
            {
                "Things": Nav(
                    "Things",
                    "Thing",
                    True,
                    link=_t(m.ThingLocation),
                    link_self="location_id",
                    link_target="thing_id",
                ),
                "HistoricalLocations": Nav(
                    "HistoricalLocations",
                    "HistoricalLocation",
                    True,
                    link=_t(m.HistoricalLocationLocation),
                    link_self="location_id",
                    link_target="historical_location_id",
                ),
            },
        ),
        EntityType(
            "HistoricalLocation",
            "HistoricalLocations",
            _t(m.HistoricalLocation),
            _props(Prop("time", "time", "instant", required=True)),
            {
                "Thing": Nav("Thing", "Thing", False, self_column="thing_id", required=True),
                "Locations": Nav(
                    "Locations",
                    "Location",
                    True,
                    link=_t(m.HistoricalLocationLocation),
                    link_self="historical_location_id",
                    link_target="location_id",
                ),
            },
        ),
        EntityType(
            "Datastream",
            "Datastreams",
            _t(m.Datastream),
            _props(*_STREAM_PROPS, Prop("unitOfMeasurement", "unit_of_measurement", "uom", required=True)),
            {
                "Thing": Nav("Thing", "Thing", False, self_column="thing_id", required=True),
                "Sensor": Nav("Sensor", "Sensor", False, self_column="sensor_id", required=True),
                "ObservedProperty": Nav(
                    "ObservedProperty",
                    "ObservedProperty",
                    False,
                    self_column="observed_property_id",
                    required=True,
                ),
                "Observations": Nav("Observations", "Observation", True, target_column="datastream_id"),
            },
        ),
        EntityType(
            "MultiDatastream",
            "MultiDatastreams",
            _t(m.MultiDatastream),
            _props(
                *_STREAM_PROPS,
                Prop("unitOfMeasurements", "unit_of_measurements", "uoms", required=True),
                Prop("multiObservationDataTypes", "multi_observation_data_types", "json", required=True),
            ),
            {
                "Thing": Nav("Thing", "Thing", False, self_column="thing_id", required=True),
                "Sensor": Nav("Sensor", "Sensor", False, self_column="sensor_id", required=True),
                "ObservedProperties": Nav(
                    "ObservedProperties",
                    "ObservedProperty",
                    True,
                    link=_t(m.MultiDatastreamObservedProperty),
                    link_self="multi_datastream_id",
                    link_target="observed_property_id",
                ),
                "Observations": Nav("Observations", "Observation", True, target_column="multi_datastream_id"),
            },
        ),
        EntityType(
            "Sensor",
            "Sensors",
            _t(m.Sensor),
            _props(
                NAME, DESCRIPTION, ENCODING, Prop("metadata", "metadata", "any", required=True), PROPERTIES
            ),
            {
                "Datastreams": Nav("Datastreams", "Datastream", True, target_column="sensor_id"),
                "MultiDatastreams": Nav(
                    "MultiDatastreams", "MultiDatastream", True, target_column="sensor_id"
                ),
            },
        ),
        EntityType(
            "ObservedProperty",
            "ObservedProperties",
            _t(m.ObservedProperty),
            _props(NAME, Prop("definition", "definition", "text", required=True), DESCRIPTION, PROPERTIES),
            {
                "Datastreams": Nav("Datastreams", "Datastream", True, target_column="observed_property_id"),
                "MultiDatastreams": Nav(
                    "MultiDatastreams",
                    "MultiDatastream",
                    True,
                    link=_t(m.MultiDatastreamObservedProperty),
                    link_self="observed_property_id",
                    link_target="multi_datastream_id",
                ),
            },
        ),
        EntityType(
            "Observation",
            "Observations",
            _t(m.Observation),
            _props(
                Prop("phenomenonTime", "phenomenon_time", "interval"),
                Prop("resultTime", "result_time", "instant"),
                Prop("result", "result_number", "result", required=True),
                Prop("resultQuality", "result_quality", "any"),
                Prop("validTime", "valid_time_start", "interval"),
                Prop("parameters", "parameters", "json"),
            ),
            {
                "Datastream": Nav("Datastream", "Datastream", False, self_column="datastream_id"),
                "MultiDatastream": Nav(
                    "MultiDatastream", "MultiDatastream", False, self_column="multi_datastream_id"
                ),
                "FeatureOfInterest": Nav(
                    "FeatureOfInterest", "FeatureOfInterest", False, self_column="feature_of_interest_id"
                ),
            },
        ),
        EntityType(
            "FeatureOfInterest",
            "FeaturesOfInterest",
            _t(m.FeatureOfInterest),
            _props(NAME, DESCRIPTION, ENCODING, Prop("feature", "feature", "geo", required=True), PROPERTIES),
            {
                "Observations": Nav(
                    "Observations", "Observation", True, target_column="feature_of_interest_id"
                )
            },
        ),
    )
}

BY_SET: dict[str, EntityType] = {et.set_name: et for et in ENTITY_TYPES.values()}

# Interval properties: the second column holding the interval's end.
INTERVAL_END = {
    "phenomenon_time_start": "phenomenon_time_end",
    "result_time_start": "result_time_end",
    "phenomenon_time": "phenomenon_time_end",
    "valid_time_start": "valid_time_end",
}


def entity_set(name: str) -> EntityType | None:
    return BY_SET.get(name)
