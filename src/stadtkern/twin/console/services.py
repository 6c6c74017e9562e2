"""Rules of the operator console: who sees which assets, their state, household meters in aggregate only.

Every function takes a session (or the SensorThings service), the viewer and the time; handlers stay thin.
Latest values come from the table the SensorThings ingest keeps (``sta_latest_observations``, the one
``ext/latest`` serves), joined to the registry in one query, so the state of 10,000 assets is one read.

Household meters (asset types marked ``personal``) never appear individually on the map or the dashboard:
per Stadtbezirk only their number and the sum of the last day's consumption (and no sum for fewer than
``MIN_GROUP`` meters, which could point to one household). A meter's own page is for its owner, or for
staff of the operating organisation, and every such staff read is written to the audit log.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, and_, case, func, literal, select
from sqlalchemy.ext.asyncio import AsyncSession

from stadtkern.contracts import AssetType, DatastreamType
from stadtkern.core.accounts.models import User
from stadtkern.core.audit.services import PERSONAL_DATA_READ, record, record_personal_read
from stadtkern.core.errors import DomainError
from stadtkern.core.i18n import gettext as _
from stadtkern.core.i18n import lazy_gettext as _l
from stadtkern.sensorthings import models as sta
from stadtkern.sensorthings.access import Viewer
from stadtkern.sensorthings.service import SensorThingsService
from stadtkern.twin.console.state import NO_DATA, derive_state, expected_period, state_of
from stadtkern.twin.models import ASSET_DATASTREAMS, ASSETS

STAFF_ROLES = frozenset({"operator", "admin"})
# Fewer meters than this in a district: the count is shown, their consumption is not.
MIN_GROUP = 3
# Seed 001: the 12 public WLAN places together, per month.
WIFI_LOGINS_PER_MONTH = 100_000
WIFI_TB_PER_MONTH = 5.0
WASTE_DUE_PERCENT = 80.0


class ConsoleError(DomainError):
    code = "invalid_console_request"


class AssetNotFound(ConsoleError):
    status_code = 404
    code = "not_found"


class AccessDenied(ConsoleError):
    status_code = 403
    code = "forbidden"


@dataclass(frozen=True)
class ConsoleViewer:
    """A person looking at the console. ``organisations`` None: all (admins, unscoped operators)."""

    user_id: int | None
    staff: bool
    organisations: frozenset[str] | None
    # Whose household data staff may read, as SensorThings rules it: operators of the organisation
    # (None: unscoped operators, all); admins without the operator role read none.
    personal_organisations: frozenset[str] | None = frozenset()

    @classmethod
    def of(cls, user: User | None) -> ConsoleViewer:
        if user is None:
            return cls(None, False, frozenset())
        roles = user.role_names()
        personal: frozenset[str] | None = frozenset()
        if "operator" in roles:
            scopes = user.scopes("operator")
            personal = None if scopes is None else frozenset(scopes)
        if "admin" in roles:
            return cls(user.id, True, None, personal)
        if "operator" in roles:
            return cls(user.id, True, personal, personal)
        return cls(user.id, False, frozenset())

    def sees(self, organisation: str) -> bool:
        return self.staff and (self.organisations is None or organisation in self.organisations)

    def reads_personal(self, organisation: str) -> bool:
        scopes = self.personal_organisations
        return self.staff and (scopes is None or organisation in scopes)


@dataclass(frozen=True)
class MapFilter:
    type_keys: frozenset[str] | None = None
    district: str | None = None


def parse_filter(
    types: Mapping[str, AssetType],
    district_codes: Collection[str],
    type_values: Collection[str],
    district: str | None,
) -> MapFilter:
    """Check the map's filters; an unknown type or district is refused by name (400)."""
    wanted = {value.strip() for value in type_values if value.strip()}
    for key in sorted(wanted):
        if key not in types or types[key].personal:
            raise ConsoleError(
                _("Unbekannte Anlagenart „%(key)s“. Erlaubt: %(keys)s.")
                % {"key": key, "keys": ", ".join(sorted(map_types(types)))},
                "typ",
            )
    code = (district or "").strip() or None
    if code is not None and code not in district_codes:
        raise ConsoleError(
            _("Unbekannter Stadtbezirk „%(code)s“. Erlaubt: %(codes)s.")
            % {"code": code, "codes": ", ".join(sorted(district_codes))},
            "bezirk",
        )
    return MapFilter(frozenset(wanted) if wanted else None, code)


def map_types(types: Mapping[str, AssetType]) -> dict[str, AssetType]:
    """The asset types shown one by one on the map: all but the personal ones (household meters)."""
    return {key: t for key, t in types.items() if not t.personal}


@dataclass(frozen=True)
class MapAsset:
    code: str
    type_key: str
    name: str
    district_code: str
    organisation: str
    lon: float
    lat: float
    state: str


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _scope_conditions(
    viewer: ConsoleViewer, type_keys: Collection[str], filters: MapFilter, codes: Collection[str] | None
) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = [ASSETS.c.type_key.in_(sorted(type_keys))]
    if viewer.organisations is not None:
        conditions.append(ASSETS.c.organisation.in_(sorted(viewer.organisations)))
    if filters.district is not None:
        conditions.append(ASSETS.c.district_code == filters.district)
    if codes is not None:
        conditions.append(ASSETS.c.code.in_(sorted(codes)))
    return conditions


async def map_assets(
    session: AsyncSession,
    types: Mapping[str, AssetType],
    viewer: ConsoleViewer,
    filters: MapFilter,
    *,
    now: datetime,
    codes: Collection[str] | None = None,
) -> list[MapAsset]:
    """Every asset the viewer may see (never a personal one), with its state, ordered by code."""
    if not viewer.staff:
        return []
    shown = map_types(types)
    keys = set(shown) if filters.type_keys is None else set(filters.type_keys) & set(shown)
    if not keys or (codes is not None and not codes):
        return []
    conditions = _scope_conditions(viewer, keys, filters, codes)
    # Freshness is decided in the database (one cutoff per stream key), so no timestamp is converted in
    # Python: the state of 10,000 assets is two plain reads.
    cutoffs = {
        stream.key: now - 2 * expected_period(stream) for key in keys for stream in shown[key].datastreams
    }
    cutoff = case(
        {key: literal(value, sta.LATEST.c.phenomenon_time.type) for key, value in cutoffs.items()},
        value=ASSET_DATASTREAMS.c.key,
        else_=literal(now, sta.LATEST.c.phenomenon_time.type),
    )
    readings: dict[int, dict[str, tuple[bool, float | None]]] = defaultdict(dict)
    streams = (
        select(
            ASSET_DATASTREAMS.c.asset_id,
            ASSET_DATASTREAMS.c.key,
            sta.LATEST.c.phenomenon_time >= cutoff,
            sta.LATEST.c.result_number,
        )
        .select_from(
            ASSET_DATASTREAMS.join(ASSETS, ASSETS.c.id == ASSET_DATASTREAMS.c.asset_id).join(
                sta.LATEST, sta.LATEST.c.datastream_id == ASSET_DATASTREAMS.c.datastream_id
            )
        )
        .where(*conditions)
    )
    for asset_id, key, is_fresh, number in (await session.execute(streams)).all():
        readings[asset_id][key] = (bool(is_fresh), number)
    rows = await session.execute(
        select(
            ASSETS.c.id,
            ASSETS.c.code,
            ASSETS.c.type_key,
            ASSETS.c.name,
            ASSETS.c.district_code,
            ASSETS.c.organisation,
            ASSETS.c.lon,
            ASSETS.c.lat,
        )
        .where(*conditions)
        .order_by(ASSETS.c.code)
    )
    empty: dict[str, tuple[bool, float | None]] = {}
    return [
        MapAsset(
            code=code,
            type_key=type_key,
            name=name,
            district_code=district_code,
            organisation=organisation,
            lon=lon,
            lat=lat,
            state=state_of(shown[type_key], readings.get(asset_id, empty)),
        )
        for asset_id, code, type_key, name, district_code, organisation, lon, lat in rows.all()
    ]


def feature_collection(assets: list[MapAsset], meters: list[MeterDistrict]) -> dict[str, Any]:
    """The map's GeoJSON: one Point per asset; household meters only as per-district aggregates."""
    return {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "id": asset.code,
                "geometry": {"type": "Point", "coordinates": [round(asset.lon, 6), round(asset.lat, 6)]},
                "properties": {
                    "code": asset.code,
                    "name": asset.name,
                    "type": asset.type_key,
                    "district": asset.district_code,
                    "state": asset.state,
                },
            }
            for asset in assets
        ],
        # A foreign member (RFC 7946 §6.1): never one meter, only counts and sums per Stadtbezirk.
        "householdMeters": [
            {"district": m.district_code, "count": m.count, "energyKwhLastDay": m.energy_kwh} for m in meters
        ],
    }


# ---- household meters, aggregated -------------------------------------------------------------------


@dataclass(frozen=True)
class MeterDistrict:
    district_code: str
    count: int
    # Sum of the last 24 hours' consumption in kWh; None below MIN_GROUP meters.
    energy_kwh: float | None


async def meter_districts(
    session: AsyncSession,
    types: Mapping[str, AssetType],
    viewer: ConsoleViewer,
    *,
    now: datetime,
    district: str | None = None,
) -> list[MeterDistrict]:
    """Per Stadtbezirk: how many household meters, and their summed consumption over the last day."""
    personal = {key: t for key, t in types.items() if t.personal}
    if not personal or not viewer.staff:
        return []
    conditions = _scope_conditions(viewer, personal, MapFilter(None, district), None)
    counts = {
        code: int(count)
        for code, count in (
            await session.execute(
                select(ASSETS.c.district_code, func.count())
                .where(*conditions)
                .group_by(ASSETS.c.district_code)
            )
        ).all()
    }
    # Only streams whose results are amounts per interval (energy) may be summed.
    summable = sorted({s.key for t in personal.values() for s in t.datastreams if s.interval is not None})
    sums: dict[str, float] = {}
    if summable and counts:
        obs = sta.OBSERVATIONS
        statement = (
            select(ASSETS.c.district_code, func.sum(obs.c.result_number))
            .select_from(
                ASSETS.join(ASSET_DATASTREAMS, ASSET_DATASTREAMS.c.asset_id == ASSETS.c.id).join(
                    obs, obs.c.datastream_id == ASSET_DATASTREAMS.c.datastream_id
                )
            )
            .where(
                *conditions,
                ASSET_DATASTREAMS.c.key.in_(summable),
                obs.c.phenomenon_time > now - timedelta(days=1),
                obs.c.phenomenon_time <= now,
            )
            .group_by(ASSETS.c.district_code)
        )
        sums = {code: float(total or 0) for code, total in (await session.execute(statement)).all()}
    return [
        MeterDistrict(
            code,
            count,
            round(sums.get(code, 0.0) / 1000, 1) if count >= MIN_GROUP else None,
        )
        for code, count in sorted(counts.items())
    ]


# ---- one asset --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class StreamInfo:
    key: str
    stream: DatastreamType
    datastream_id: int
    latest_time: datetime | None
    latest_value: float | None


@dataclass(frozen=True)
class AssetDetail:
    code: str
    name: str
    asset_type: AssetType
    district_code: str
    organisation: str
    lon: float
    lat: float
    properties: Mapping[str, Any]
    state: str
    streams: list[StreamInfo]
    personal: bool
    owner_user_id: int | None = None


async def asset_detail(
    session: AsyncSession,
    types: Mapping[str, AssetType],
    viewer: ConsoleViewer,
    code: str,
    *,
    now: datetime,
    reader: User | None,
) -> AssetDetail:
    """One asset for its page. A personal asset: its owner, or audited staff of its organisation only.

    A staff read of a household meter writes the audit entry in the caller's transaction (commit it).
    """
    row = (
        await session.execute(
            select(
                ASSETS.c.id,
                ASSETS.c.code,
                ASSETS.c.type_key,
                ASSETS.c.name,
                ASSETS.c.district_code,
                ASSETS.c.organisation,
                ASSETS.c.lon,
                ASSETS.c.lat,
                ASSETS.c.properties,
            ).where(ASSETS.c.code == code)
        )
    ).first()
    asset_type = types.get(row.type_key) if row is not None else None
    if row is None or asset_type is None:
        raise AssetNotFound(_("Die Anlage „%(code)s“ gibt es nicht.") % {"code": code})
    stream_rows = (
        await session.execute(
            select(
                ASSET_DATASTREAMS.c.key,
                ASSET_DATASTREAMS.c.datastream_id,
                sta.DATASTREAMS.c.owner_user_id,
                sta.LATEST.c.phenomenon_time,
                sta.LATEST.c.result_number,
            )
            .select_from(
                ASSET_DATASTREAMS.join(
                    sta.DATASTREAMS, sta.DATASTREAMS.c.id == ASSET_DATASTREAMS.c.datastream_id
                ).outerjoin(sta.LATEST, sta.LATEST.c.datastream_id == ASSET_DATASTREAMS.c.datastream_id)
            )
            .where(ASSET_DATASTREAMS.c.asset_id == row.id)
        )
    ).all()
    owners = {r.owner_user_id for r in stream_rows if r.owner_user_id is not None}
    owner_id = next(iter(owners)) if len(owners) == 1 else None
    is_owner = viewer.user_id is not None and owner_id == viewer.user_id
    if asset_type.personal:
        if not is_owner and not viewer.reads_personal(row.organisation):
            raise AccessDenied(
                _(
                    "Die Daten eines Haushaltszählers sehen nur der Haushalt selbst und die Leitstelle "
                    "des Betreibers."
                )
            )
    elif not viewer.sees(row.organisation):
        raise AccessDenied(_("Diese Anlage gehört nicht zu Ihrer Organisation."))
    if asset_type.personal and not is_owner:
        await _audit_meter_read(session, reader, owner_id, code, now=now)
    by_key = {r.key: r for r in stream_rows}
    streams: list[StreamInfo] = []
    latest: dict[str, tuple[datetime, float | None]] = {}
    for stream in asset_type.datastreams:
        found = by_key.get(stream.key)
        if found is None:
            continue
        moment = _aware(found.phenomenon_time) if found.phenomenon_time is not None else None
        value = None if found.result_number is None else float(found.result_number)
        if moment is not None:
            latest[stream.key] = (moment, value)
        streams.append(StreamInfo(stream.key, stream, int(found.datastream_id), moment, value))
    return AssetDetail(
        code=row.code,
        name=row.name,
        asset_type=asset_type,
        district_code=row.district_code,
        organisation=row.organisation,
        lon=float(row.lon),
        lat=float(row.lat),
        properties=dict(row.properties or {}),
        state=derive_state(asset_type, latest, now) if streams else NO_DATA,
        streams=streams,
        personal=asset_type.personal,
        owner_user_id=owner_id,
    )


async def _audit_meter_read(
    session: AsyncSession, reader: User | None, owner_id: int | None, code: str, *, now: datetime
) -> None:
    target = f"twin_asset:{code}"
    owner = await session.get(User, owner_id) if owner_id is not None else None
    if reader is not None and owner is not None:
        await record_personal_read(session, actor=reader, subject=owner, now=now, target=target)
    else:
        # A generated demo meter without an account: still a read of a household's data, still logged.
        await record(session, actor=reader, action=PERSONAL_DATA_READ, now=now, target=target)


# ---- series for the charts --------------------------------------------------------------------------


@dataclass(frozen=True)
class Range:
    key: str
    label: Any
    span: timedelta
    interval: str
    step: timedelta


RANGES = {
    "24h": Range("24h", _l("24 Stunden"), timedelta(hours=24), "PT1H", timedelta(hours=1)),
    "7t": Range("7t", _l("7 Tage"), timedelta(days=7), "PT6H", timedelta(hours=6)),
    "30t": Range("30t", _l("30 Tage"), timedelta(days=30), "P1D", timedelta(days=1)),
}


def parse_range(value: str | None) -> Range:
    key = (value or "24h").strip()
    if key not in RANGES:
        raise ConsoleError(
            _("Unbekannter Zeitraum „%(value)s“. Erlaubt: %(keys)s.")
            % {"value": key, "keys": ", ".join(RANGES)},
            "bereich",
        )
    return RANGES[key]


@dataclass(frozen=True)
class Point:
    start: datetime
    value: float | None
    low: float | None
    high: float | None


@dataclass(frozen=True)
class Series:
    info: StreamInfo
    # "sum" for amounts per interval (logins, energy), "avg" for instantaneous values.
    function: str
    points: list[Point] = field(default_factory=list)


def _stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


async def asset_series(
    service: SensorThingsService, viewer: Viewer, detail: AssetDetail, chosen: Range, *, now: datetime
) -> list[Series]:
    """Each Datastream of the asset per interval over the range, from the SensorThings aggregation.

    The range ends at the end of the current interval (UTC-aligned buckets), so every bucket is whole.
    """
    step = int(chosen.step.total_seconds())
    end = datetime.fromtimestamp((int(now.timestamp()) // step + 1) * step, UTC)
    start = end - chosen.span
    condition = f"phenomenonTime ge {_stamp(start)} and phenomenonTime lt {_stamp(end)}"
    result: list[Series] = []
    for info in detail.streams:
        function = "sum" if info.stream.interval is not None else "avg"
        answer, _ctx = await service.extension(
            f"ext/Datastreams({info.datastream_id})/aggregate",
            {"interval": chosen.interval, "functions": f"{function},min,max", "$filter": condition},
            viewer=viewer,
            base_url="",
        )
        found = {
            datetime.fromisoformat(entry["start"]): entry for entry in answer["value"] if entry.get("start")
        }
        points = []
        moment = start
        while moment < end:
            entry = found.get(moment)
            points.append(
                Point(
                    moment,
                    entry.get(function) if entry else None,
                    entry.get("min") if entry else None,
                    entry.get("max") if entry else None,
                )
            )
            moment += chosen.step
        result.append(Series(info, function, points))
    return result


# ---- the KPI dashboard ------------------------------------------------------------------------------


@dataclass(frozen=True)
class HotspotMonth:
    code: str
    name: str
    logins: int
    gigabytes: float


@dataclass(frozen=True)
class WifiMonth:
    since: datetime
    month_share: float  # how much of the month has passed (0..1)
    hotspots: list[HotspotMonth]

    @property
    def logins(self) -> int:
        return sum(h.logins for h in self.hotspots)

    @property
    def terabytes(self) -> float:
        return sum(h.gigabytes for h in self.hotspots) / 1000


@dataclass(frozen=True)
class PressureBand:
    label: Any
    low: float | None
    high: float | None
    count: int


@dataclass(frozen=True)
class DueContainer:
    code: str
    name: str
    district_code: str
    fill_level: float


@dataclass(frozen=True)
class Dashboard:
    wifi: WifiMonth | None
    lights: dict[str, int] | None
    meters: list[MeterDistrict]
    pressure: list[PressureBand] | None
    waste_total: int
    waste_due: list[DueContainer]


PRESSURE_BANDS = (
    (_l("unter 2 bar (Unterversorgung)"), None, 2.0),
    (_l("2 bis 3 bar (niedrig)"), 2.0, 3.0),
    (_l("3 bis 6 bar (normal)"), 3.0, 6.0),
    (_l("über 6 bar (hoch)"), 6.0, None),
)


def month_start(now: datetime, timezone: ZoneInfo) -> datetime:
    local = now.astimezone(timezone)
    return local.replace(day=1, hour=0, minute=0, second=0, microsecond=0).astimezone(UTC)


async def _latest_values(
    session: AsyncSession, viewer: ConsoleViewer, type_key: str, key: str, *, fresh_after: datetime
) -> list[tuple[Any, float | None]]:
    """(asset row, latest value or None when missing or older than ``fresh_after``) for one stream key."""
    conditions = _scope_conditions(viewer, [type_key], MapFilter(), None)
    rows = await session.execute(
        select(
            ASSETS.c.code,
            ASSETS.c.name,
            ASSETS.c.district_code,
            sta.LATEST.c.phenomenon_time,
            sta.LATEST.c.result_number,
        )
        .select_from(
            ASSETS.join(
                ASSET_DATASTREAMS,
                and_(ASSET_DATASTREAMS.c.asset_id == ASSETS.c.id, ASSET_DATASTREAMS.c.key == key),
            ).outerjoin(sta.LATEST, sta.LATEST.c.datastream_id == ASSET_DATASTREAMS.c.datastream_id)
        )
        .where(*conditions)
        .order_by(ASSETS.c.code)
    )
    result = []
    for row in rows.all():
        fresh = row.phenomenon_time is not None and _aware(row.phenomenon_time) >= fresh_after
        value = float(row.result_number) if fresh and row.result_number is not None else None
        result.append((row, value))
    return result


async def wifi_month(
    session: AsyncSession, viewer: ConsoleViewer, *, now: datetime, timezone: ZoneInfo
) -> WifiMonth:
    since = month_start(now, timezone)
    local = since.astimezone(timezone)
    following = (local.replace(day=28) + timedelta(days=4)).replace(day=1).astimezone(UTC)
    share = min(1.0, max(0.0, (now - since) / (following - since)))
    conditions = _scope_conditions(viewer, ["wifi_hotspot"], MapFilter(), None)
    hotspots = (
        await session.execute(
            select(ASSETS.c.id, ASSETS.c.code, ASSETS.c.name).where(*conditions).order_by(ASSETS.c.name)
        )
    ).all()
    obs = sta.OBSERVATIONS
    sums: dict[tuple[int, str], float] = {}
    if hotspots:
        statement = (
            select(ASSET_DATASTREAMS.c.asset_id, ASSET_DATASTREAMS.c.key, func.sum(obs.c.result_number))
            .select_from(
                ASSET_DATASTREAMS.join(ASSETS, ASSETS.c.id == ASSET_DATASTREAMS.c.asset_id).join(
                    obs, obs.c.datastream_id == ASSET_DATASTREAMS.c.datastream_id
                )
            )
            .where(
                *conditions,
                ASSET_DATASTREAMS.c.key.in_(["logins", "data_volume"]),
                obs.c.phenomenon_time > since,
                obs.c.phenomenon_time <= now,
            )
            .group_by(ASSET_DATASTREAMS.c.asset_id, ASSET_DATASTREAMS.c.key)
        )
        sums = {(a, k): float(v or 0) for a, k, v in (await session.execute(statement)).all()}
    return WifiMonth(
        since,
        share,
        [
            HotspotMonth(
                row.code,
                row.name,
                round(sums.get((row.id, "logins"), 0.0)),
                round(sums.get((row.id, "data_volume"), 0.0), 1),
            )
            for row in hotspots
        ],
    )


async def dashboard(
    session: AsyncSession,
    types: Mapping[str, AssetType],
    viewer: ConsoleViewer,
    *,
    now: datetime,
    timezone: ZoneInfo,
) -> Dashboard:
    """The KPIs per domain, each only when its asset type is enabled and the viewer may see some."""
    wifi = await wifi_month(session, viewer, now=now, timezone=timezone) if "wifi_hotspot" in types else None
    lights = None
    if "street_light" in types:
        lamps = await map_assets(session, types, viewer, MapFilter(frozenset({"street_light"})), now=now)
        lights = {state: 0 for state in ("ok", "off", "fault", "no_data")}
        for lamp in lamps:
            lights[lamp.state] += 1
    pressure = None
    if "water_pressure_sensor" in types:
        stream = types["water_pressure_sensor"].datastream("pressure")
        values = await _latest_values(
            session,
            viewer,
            "water_pressure_sensor",
            "pressure",
            fresh_after=now - 2 * expected_period(stream),
        )
        pressure = [
            PressureBand(
                label,
                low,
                high,
                sum(
                    1
                    for _row, v in values
                    if v is not None and (low is None or v >= low) and (high is None or v < high)
                ),
            )
            for label, low, high in PRESSURE_BANDS
        ]
        pressure.append(
            PressureBand(_l("keine aktuellen Daten"), None, None, sum(1 for _r, v in values if v is None))
        )
    waste_total, due = 0, []
    if "waste_container" in types:
        stream = types["waste_container"].datastream("fill_level")
        values = await _latest_values(
            session, viewer, "waste_container", "fill_level", fresh_after=now - 2 * expected_period(stream)
        )
        waste_total = len(values)
        due = sorted(
            (
                DueContainer(row.code, row.name, row.district_code, v)
                for row, v in values
                if v is not None and v >= WASTE_DUE_PERCENT
            ),
            key=lambda c: (-c.fill_level, c.code),
        )
    meters = await meter_districts(session, types, viewer, now=now)
    return Dashboard(wifi, lights, meters, pressure, waste_total, due)
