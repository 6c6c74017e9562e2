"""Asset types of the WLAN module. The hotspot controller reports counts only: no device identifiers."""

from __future__ import annotations

from datetime import timedelta

from stadtkern.contracts import OM_COUNT, AssetType, DatastreamType, ObservedPropertyRef, Units
from stadtkern.core.i18n import lazy_gettext as _l

QUARTER_HOUR = timedelta(minutes=15)

WIFI_HOTSPOT = AssetType(
    key="wifi_hotspot",
    title=_l("Öffentlicher WLAN-Hotspot"),
    domain="wifi",
    kind="access_point",
    purpose=_l(
        "Kostenloses WLAN an belebten Orten anbieten und die Auslastung planen. Gezählt werden nur "
        "Anmeldungen und Datenmengen; Geräte-Kennungen werden nicht gespeichert."
    ),
    personal=False,
    legal_basis=_l(
        "Keine personenbezogenen Daten: der Hotspot-Controller meldet nur Zahlen. Eindeutige Besucher "
        "zählt er über täglich wechselnde, gesalzene Prüfsummen, die nach dem Zählen verworfen werden."
    ),
    retention=timedelta(days=730),
    organisation="stadtwerke",
    datastreams=(
        DatastreamType(
            key="logins",
            name=_l("Anmeldungen"),
            observed_property=ObservedPropertyRef(
                "WLAN-Anmeldungen", "http://qudt.org/vocab/quantitykind/Count", "Anmeldungen je 15 Minuten"
            ),
            unit=Units.count("logins", "Anmeldungen"),
            value_range=(0.0, 2000.0),
            observation_type=OM_COUNT,
            interval=QUARTER_HOUR,
        ),
        DatastreamType(
            key="data_volume",
            name=_l("Datenmenge"),
            observed_property=ObservedPropertyRef(
                "Übertragene Datenmenge",
                "http://qudt.org/vocab/quantitykind/InformationEntropy",
                "Gigabyte je 15 Minuten",
            ),
            unit=Units.GIGABYTE,
            value_range=(0.0, 200.0),
            interval=QUARTER_HOUR,
        ),
        DatastreamType(
            key="unique_visitors",
            name=_l("Besucher am Tag"),
            observed_property=ObservedPropertyRef(
                "Eindeutige Besucher",
                "http://qudt.org/vocab/quantitykind/Count",
                "verschiedene Geräte je Tag",
            ),
            unit=Units.count("visitors", "Besucher"),
            value_range=(0.0, 20000.0),
            observation_type=OM_COUNT,
            interval=timedelta(days=1),
        ),
    ),
)

ASSET_TYPES = (WIFI_HOTSPOT,)
