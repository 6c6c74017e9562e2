"""Asset types of the traffic module: counting stations (vehicles, no images, no number plates)."""

from __future__ import annotations

from datetime import timedelta

from stadtkern.contracts import OM_COUNT, AssetType, DatastreamType, ObservedPropertyRef, Units
from stadtkern.core.i18n import lazy_gettext as _l

TRAFFIC_COUNTER = AssetType(
    key="traffic_counter",
    title=_l("Verkehrszählstelle"),
    domain="traffic",
    kind="sensor",
    purpose=_l(
        "Verkehrsmengen zählen, um Ampeln abzustimmen und Straßen zu planen. Gezählt wird mit "
        "Induktionsschleifen: keine Bilder, keine Kennzeichen."
    ),
    personal=False,
    legal_basis=_l("Keine personenbezogenen Daten. Verkehrsplanung und -lenkung der Stadt (StVO § 45)."),
    retention=timedelta(days=730),
    organisation="stadt",
    datastreams=(
        DatastreamType(
            key="vehicles",
            name=_l("Fahrzeuge"),
            observed_property=ObservedPropertyRef(
                "Verkehrsstärke", "http://qudt.org/vocab/quantitykind/Count", "Fahrzeuge je 15 Minuten"
            ),
            unit=Units.count("vehicles", "Fahrzeuge"),
            value_range=(0.0, 1500.0),
            observation_type=OM_COUNT,
            interval=timedelta(minutes=15),
        ),
    ),
)

ASSET_TYPES = (TRAFFIC_COUNTER,)
