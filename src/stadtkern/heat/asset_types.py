"""Asset types of the heat module: points of the district-heating network."""

from __future__ import annotations

from datetime import timedelta

from stadtkern.contracts import AssetType, DatastreamType, ObservedPropertyRef, Units
from stadtkern.core.i18n import lazy_gettext as _l

HEATING_POINT = AssetType(
    key="heating_point",
    title=_l("Messpunkt im Fernwärmenetz"),
    domain="heat",
    kind="sensor",
    purpose=_l(
        "Vorlauftemperatur und Wärmeleistung im Fernwärmenetz überwachen und die Einspeisung steuern."
    ),
    personal=False,
    legal_basis=_l(
        "Keine personenbezogenen Daten (Netzpunkt, kein einzelner Haushalt). Wärmeversorgung nach der "
        "AVBFernwärmeV."
    ),
    retention=timedelta(days=1095),
    organisation="stadtwerke",
    datastreams=(
        DatastreamType(
            key="supply_temperature",
            name=_l("Vorlauftemperatur"),
            observed_property=ObservedPropertyRef(
                "Vorlauftemperatur", "http://qudt.org/vocab/quantitykind/Temperature"
            ),
            unit=Units.CELSIUS,
            value_range=(50.0, 130.0),
        ),
        DatastreamType(
            key="heat_power",
            name=_l("Wärmeleistung"),
            observed_property=ObservedPropertyRef(
                "Wärmeleistung", "http://qudt.org/vocab/quantitykind/HeatFlowRate"
            ),
            unit=Units.KILOWATT,
            value_range=(0.0, 5000.0),
        ),
    ),
)

ASSET_TYPES = (HEATING_POINT,)
