"""Asset types of the water module: pressure and flow in the drinking-water network."""

from __future__ import annotations

from datetime import timedelta

from stadtkern.contracts import AssetType, DatastreamType, ObservedPropertyRef, Units
from stadtkern.core.i18n import lazy_gettext as _l

LEGAL_BASIS = _l(
    "Keine personenbezogenen Daten. Wasserversorgung nach der Trinkwasserverordnung (TrinkwV) und dem "
    "Landeswassergesetz NRW."
)

WATER_PRESSURE_SENSOR = AssetType(
    key="water_pressure_sensor",
    title=_l("Drucksensor im Wassernetz"),
    domain="water",
    kind="sensor",
    purpose=_l("Den Versorgungsdruck überwachen, um Rohrbrüche und Unterversorgung früh zu erkennen."),
    personal=False,
    legal_basis=LEGAL_BASIS,
    retention=timedelta(days=1095),
    organisation="stadtwerke",
    datastreams=(
        DatastreamType(
            key="pressure",
            name=_l("Wasserdruck"),
            observed_property=ObservedPropertyRef(
                "Wasserdruck", "http://qudt.org/vocab/quantitykind/Pressure"
            ),
            unit=Units.BAR,
            value_range=(0.0, 10.0),
        ),
    ),
)

WATER_FLOW_SENSOR = AssetType(
    key="water_flow_sensor",
    title=_l("Durchflussmesser im Wassernetz"),
    domain="water",
    kind="sensor",
    purpose=_l("Den Durchfluss je Versorgungszone messen, um Verbrauch und Verluste zu erkennen."),
    personal=False,
    legal_basis=LEGAL_BASIS,
    retention=timedelta(days=1095),
    organisation="stadtwerke",
    datastreams=(
        DatastreamType(
            key="flow",
            name=_l("Durchfluss"),
            observed_property=ObservedPropertyRef(
                "Volumenstrom", "http://qudt.org/vocab/quantitykind/VolumeFlowRate"
            ),
            unit=Units.CUBIC_METRE_PER_HOUR,
            value_range=(0.0, 2000.0),
        ),
    ),
)

ASSET_TYPES = (WATER_PRESSURE_SENSOR, WATER_FLOW_SENSOR)
