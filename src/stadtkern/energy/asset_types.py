"""Asset types of the energy module (meter part): household smart meters and substations."""

from __future__ import annotations

from datetime import timedelta

from stadtkern.contracts import AssetType, DatastreamType, ObservedPropertyRef, Units
from stadtkern.core.i18n import lazy_gettext as _l

CONSUMPTION = "energy"  # drawn from the grid (OBIS 1.8.0)
FEED_IN = "feed_in"  # fed into the grid (OBIS 2.8.0)
PV_PROPERTY = "pv_kwp"  # a household's PV system, peak power in kWp

HOUSEHOLD_METER = AssetType(
    key="household_meter",
    title=_l("Intelligenter Stromzähler (Haushalt)"),
    domain="energy",
    kind="meter",
    purpose=_l(
        "Den Stromverbrauch (und bei einer Solaranlage die Einspeisung) eines Haushalts für die Abrechnung "
        "und für den eigenen Tarifvergleich messen. "
        "Sichtbar nur für den Haushalt selbst und das Personal des Netzbetreibers; jeder Zugriff des "
        "Personals wird protokolliert."
    ),
    personal=True,
    legal_basis=_l("Messstellenbetriebsgesetz (MsbG §§ 49, 60), Art. 6 Abs. 1 lit. c DSGVO."),
    retention=timedelta(days=730),
    organisation="stadtwerke",
    datastreams=(
        DatastreamType(
            key="energy",
            name=_l("Stromverbrauch"),
            observed_property=ObservedPropertyRef(
                "Elektrische Wirkarbeit",
                "http://qudt.org/vocab/quantitykind/ActiveEnergy",
                "bezogene Energie je 15 Minuten",
            ),
            unit=Units.WATT_HOUR,
            value_range=(0.0, 5000.0),
            interval=timedelta(minutes=15),
        ),
        # Only meters of households with a PV system (property pv_kwp): the energy fed into the grid.
        DatastreamType(
            key=FEED_IN,
            name=_l("Einspeisung"),
            observed_property=ObservedPropertyRef(
                "Eingespeiste elektrische Wirkarbeit",
                "http://qudt.org/vocab/quantitykind/ActiveEnergy",
                "in das Netz eingespeiste Energie je 15 Minuten (OBIS 2.8.0)",
            ),
            unit=Units.WATT_HOUR,
            value_range=(0.0, 5000.0),
            interval=timedelta(minutes=15),
            only_with=PV_PROPERTY,
        ),
    ),
)

SUBSTATION = AssetType(
    key="substation",
    title=_l("Ortsnetzstation"),
    domain="energy",
    kind="meter",
    purpose=_l("Die Last im Stromnetz je Station überwachen, um Überlastungen früh zu erkennen."),
    personal=False,
    legal_basis=_l(
        "Keine personenbezogenen Daten (Summe vieler Anschlüsse). Netzbetrieb nach dem "
        "Energiewirtschaftsgesetz (EnWG § 11)."
    ),
    retention=timedelta(days=1825),
    organisation="stadtwerke",
    datastreams=(
        DatastreamType(
            key="load",
            name=_l("Last"),
            observed_property=ObservedPropertyRef(
                "Elektrische Wirkleistung", "http://qudt.org/vocab/quantitykind/ActivePower"
            ),
            unit=Units.KILOWATT,
            value_range=(0.0, 1000.0),
        ),
    ),
)

ASSET_TYPES = (HOUSEHOLD_METER, SUBSTATION)
