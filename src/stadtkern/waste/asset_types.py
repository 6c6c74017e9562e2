"""Asset types of the waste module: public containers with a fill-level sensor."""

from __future__ import annotations

from datetime import timedelta

from stadtkern.contracts import AssetType, DatastreamType, ObservedPropertyRef, Units
from stadtkern.core.i18n import lazy_gettext as _l

WASTE_CONTAINER = AssetType(
    key="waste_container",
    title=_l("Abfallbehälter mit Füllstandssensor"),
    domain="waste",
    kind="sensor",
    purpose=_l(
        "Behälter leeren, wenn sie voll sind, statt nach festem Plan: weniger Fahrten, saubere Plätze."
    ),
    personal=False,
    legal_basis=_l(
        "Keine personenbezogenen Daten. Öffentliche Abfallentsorgung nach dem Kreislaufwirtschaftsgesetz "
        "(KrWG § 20)."
    ),
    retention=timedelta(days=365),
    organisation="stadt",
    datastreams=(
        DatastreamType(
            key="fill_level",
            name=_l("Füllstand"),
            observed_property=ObservedPropertyRef(
                "Füllstand", "http://qudt.org/vocab/quantitykind/DimensionlessRatio", "0 = leer, 100 = voll"
            ),
            unit=Units.PERCENT,
            value_range=(0.0, 100.0),
        ),
    ),
)

ASSET_TYPES = (WASTE_CONTAINER,)
