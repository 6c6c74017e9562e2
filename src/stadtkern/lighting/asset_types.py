"""Asset types of the lighting module."""

from __future__ import annotations

from datetime import timedelta

from stadtkern.contracts import AssetType, DatastreamType, ObservedPropertyRef, Units
from stadtkern.core.i18n import lazy_gettext as _l

STREET_LIGHT = AssetType(
    key="street_light",
    title=_l("Straßenleuchte"),
    domain="lighting",
    kind="actuator",
    purpose=_l(
        "Straßen nachts sicher beleuchten, Leuchten bei Dunkelheit dimmen, um Strom zu sparen, und "
        "Ausfälle schnell erkennen."
    ),
    personal=False,
    legal_basis=_l(
        "Keine personenbezogenen Daten. Straßenbeleuchtung als Teil der Verkehrssicherungspflicht der "
        "Stadt (§ 9 StrWG NRW)."
    ),
    retention=timedelta(days=365),
    organisation="stadtwerke",
    datastreams=(
        DatastreamType(
            key="dim_level",
            name=_l("Dimmstufe"),
            observed_property=ObservedPropertyRef(
                "Dimmstufe", "http://qudt.org/vocab/quantitykind/DimensionlessRatio", "0 = aus, 100 = voll"
            ),
            unit=Units.PERCENT,
            value_range=(0.0, 100.0),
        ),
        DatastreamType(
            key="fault",
            name=_l("Störung"),
            observed_property=ObservedPropertyRef(
                "Störung", "http://qudt.org/vocab/quantitykind/Dimensionless", "1 = Störung, 0 = in Ordnung"
            ),
            unit=Units.ONE,
            value_range=(0.0, 1.0),
        ),
    ),
)

ASSET_TYPES = (STREET_LIGHT,)
