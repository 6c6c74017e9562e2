"""Evaluating the rules against the readings that arrived since the last run (the job ``alerts.evaluate``).

Set-based, whatever the number of Datastreams: one query finds every (rule, Datastream) pair with its
evaluation state and the stream's newest reading time (SensorThings' latest-value table); only streams
whose newest reading is newer than the last one evaluated are read, in chunks of a few hundred streams
per query on the (datastream, time) index. No-data rules need nothing but the latest-value table.

Readings are evaluated per stream in time order, so a spike between two runs raises (and, if it is over,
clears) its alert. A reading older than the newest one already evaluated for a stream (arriving late)
is not evaluated. A rule's first run looks back ``LOOKBACK``. A Datastream that has never reported is
not watched by no-data rules (a newly provisioned city would otherwise raise thousands of alerts).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, bindparam, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from stadtkern.sensorthings.models import LATEST, OBSERVATIONS
from stadtkern.twin.alerts import models as m
from stadtkern.twin.models import ASSET_DATASTREAMS, ASSETS

LOOKBACK = timedelta(hours=2)
CHUNK = 500


@dataclass
class Target:
    """One rule applied to one Datastream, with where its evaluation stands."""

    rule_id: int
    kind: str
    comparison: str | None
    threshold: float | None
    hysteresis: float
    minutes: int | None
    datastream_id: int
    stream_key: str
    asset_id: int
    asset_code: str
    organisation: str
    has_state: bool
    last_time: datetime | None
    last_value: float | None
    active: bool
    latest_time: datetime | None


@dataclass
class EvaluationReport:
    targets: int = 0
    readings: int = 0
    raised: list[m.Alert] = field(default_factory=list)
    cleared: int = 0


def next_active(active: bool, measure: float, comparison: str, threshold: float, hysteresis: float) -> bool:
    """The hysteresis: raised beyond ``threshold``, cleared only back past ``threshold ∓ hysteresis``."""
    if comparison == m.ABOVE:
        return measure > threshold - hysteresis if active else measure > threshold
    return measure < threshold + hysteresis if active else measure < threshold


async def load_targets(session: AsyncSession) -> list[Target]:
    r, a, ad, s, latest = m.RULES, ASSETS, ASSET_DATASTREAMS, m.STATES_TABLE, LATEST
    joined = (
        r.join(
            a,
            and_(
                a.c.type_key == r.c.type_key,
                or_(r.c.asset_code.is_(None), a.c.code == r.c.asset_code),
                or_(r.c.organisation.is_(None), a.c.organisation == r.c.organisation),
            ),
        )
        .join(ad, and_(ad.c.asset_id == a.c.id, or_(r.c.stream_key.is_(None), ad.c.key == r.c.stream_key)))
        .outerjoin(s, and_(s.c.rule_id == r.c.id, s.c.datastream_id == ad.c.datastream_id))
        .outerjoin(latest, latest.c.datastream_id == ad.c.datastream_id)
    )
    query = (
        select(
            r.c.id,
            r.c.kind,
            r.c.comparison,
            r.c.threshold,
            r.c.hysteresis,
            r.c.minutes,
            ad.c.datastream_id,
            ad.c.key,
            a.c.id,
            a.c.code,
            a.c.organisation,
            s.c.rule_id,
            s.c.last_time,
            s.c.last_value,
            s.c.active,
            latest.c.phenomenon_time,
        )
        .select_from(joined)
        .where(r.c.enabled.is_(True))
    )
    return [
        Target(
            rule_id=row[0],
            kind=row[1],
            comparison=row[2],
            threshold=row[3],
            hysteresis=row[4] or 0.0,
            minutes=row[5],
            datastream_id=row[6],
            stream_key=row[7],
            asset_id=row[8],
            asset_code=row[9],
            organisation=row[10],
            has_state=row[11] is not None,
            last_time=row[12],
            last_value=row[13],
            active=bool(row[14]),
            latest_time=row[15],
        )
        for row in (await session.execute(query)).all()
    ]


def _since(target: Target, now: datetime) -> datetime:
    return target.last_time if target.last_time is not None else now - LOOKBACK


async def load_readings(
    session: AsyncSession, since: dict[int, datetime], now: datetime
) -> dict[int, list[tuple[datetime, float]]]:
    """Numeric readings per Datastream with ``since[id] < time <= now``, in time order."""
    readings: dict[int, list[tuple[datetime, float]]] = defaultdict(list)
    ordered = sorted(since, key=lambda ds: since[ds])  # similar lower bounds share a chunk
    o = OBSERVATIONS
    for start in range(0, len(ordered), CHUNK):
        chunk = ordered[start : start + CHUNK]
        lower = min(since[ds] for ds in chunk)
        query = (
            select(o.c.datastream_id, o.c.phenomenon_time, o.c.result_number)
            .where(
                o.c.datastream_id.in_(chunk),
                o.c.phenomenon_time > lower,
                o.c.phenomenon_time <= now,
                o.c.result_number.is_not(None),
            )
            .order_by(o.c.datastream_id, o.c.phenomenon_time)
        )
        for ds, time, value in (await session.execute(query)).all():
            if time > since[ds]:
                readings[ds].append((time, float(value)))
    return readings


class _Alerts:
    """The open alerts (by rule and stream) and the changes of this run."""

    def __init__(self, session: AsyncSession, now: datetime, report: EvaluationReport) -> None:
        self.session = session
        self.now = now
        self.report = report
        self.open: dict[tuple[int, int], m.Alert] = {}

    async def load(self) -> None:
        rows = await self.session.scalars(select(m.Alert).where(m.Alert.state != m.RESOLVED))
        for alert in rows:
            self.open[(alert.rule_id, alert.datastream_id)] = alert

    def raise_(self, target: Target, at: datetime, value: float | None) -> None:
        if (target.rule_id, target.datastream_id) in self.open:
            return
        alert = m.Alert(
            rule_id=target.rule_id,
            datastream_id=target.datastream_id,
            stream_key=target.stream_key,
            asset_id=target.asset_id,
            asset_code=target.asset_code,
            organisation=target.organisation,
            state=m.OPEN,
            raised_at=at,
            created_at=self.now,
            value=value,
            last_value=value,
        )
        self.session.add(alert)
        self.open[(target.rule_id, target.datastream_id)] = alert
        self.report.raised.append(alert)

    def clear(self, target: Target, at: datetime) -> None:
        alert = self.open.pop((target.rule_id, target.datastream_id), None)
        if alert is None:
            return
        alert.state = m.RESOLVED
        alert.resolved_at = at
        alert.resolution = m.CLEARED
        self.report.cleared += 1

    def observe(self, target: Target, value: float) -> None:
        alert = self.open.get((target.rule_id, target.datastream_id))
        if alert is not None:
            alert.last_value = value


def _evaluate_values(
    target: Target, readings: list[tuple[datetime, float]], alerts: _Alerts, now: datetime
) -> None:
    since = _since(target, now)
    assert target.comparison is not None and target.threshold is not None
    for time, value in readings:
        if time <= since:
            continue
        measure: float | None = value
        if target.kind == m.RATE:
            measure = None
            if target.last_time is not None and target.last_value is not None and time > target.last_time:
                hours = (time - target.last_time).total_seconds() / 3600
                measure = (value - target.last_value) / hours
        if measure is not None:
            active = next_active(
                target.active, measure, target.comparison, target.threshold, target.hysteresis
            )
            if active and not target.active:
                alerts.raise_(target, time, value)
            elif target.active and not active:
                alerts.clear(target, time)
            target.active = active
        alerts.observe(target, value)
        target.last_time, target.last_value = time, value


def _evaluate_no_data(target: Target, alerts: _Alerts, now: datetime) -> None:
    latest = target.latest_time
    if latest is None or target.minutes is None:
        return
    if target.active and target.last_time is not None and latest > target.last_time:
        alerts.clear(target, latest)  # data came back (it may have stopped again since: see below)
        target.active = False
    window = timedelta(minutes=target.minutes)
    if now - latest > window and not target.active:
        alerts.raise_(target, latest + window, None)
        target.active = True
    target.last_time = latest


async def evaluate(session: AsyncSession, *, now: datetime) -> EvaluationReport:
    """Evaluate every enabled rule; raise and clear alerts; store the new state. Flushes, never commits."""
    report = EvaluationReport()
    targets = await load_targets(session)
    report.targets = len(targets)
    before = {
        (t.rule_id, t.datastream_id): (t.has_state, t.last_time, t.last_value, t.active) for t in targets
    }
    alerts = _Alerts(session, now, report)
    await alerts.load()

    value_targets = [
        t
        for t in targets
        if t.kind in (m.THRESHOLD, m.RATE)
        and t.latest_time is not None
        and (t.last_time is None or t.latest_time > t.last_time)
    ]
    since: dict[int, datetime] = {}
    for t in value_targets:
        bound = _since(t, now)
        since[t.datastream_id] = min(bound, since.get(t.datastream_id, bound))
    readings = await load_readings(session, since, now) if since else {}
    report.readings = sum(len(r) for r in readings.values())
    for t in value_targets:
        _evaluate_values(t, readings.get(t.datastream_id, []), alerts, now)
    for t in targets:
        if t.kind == m.NO_DATA:
            _evaluate_no_data(t, alerts, now)

    inserts: list[dict[str, Any]] = []
    updates: list[dict[str, Any]] = []
    for t in targets:
        had_state, *old = before[(t.rule_id, t.datastream_id)]
        new = [t.last_time, t.last_value, t.active]
        if had_state and old == new:
            continue
        row = {"r": t.rule_id, "d": t.datastream_id, "t": t.last_time, "v": t.last_value, "a": t.active}
        (updates if had_state else inserts).append(row)
    s = m.STATES_TABLE
    if inserts:
        await session.execute(
            insert(s),
            [
                {
                    "rule_id": r["r"],
                    "datastream_id": r["d"],
                    "last_time": r["t"],
                    "last_value": r["v"],
                    "active": r["a"],
                }
                for r in inserts
            ],
        )
    if updates:
        await session.execute(
            update(s)
            .where(s.c.rule_id == bindparam("r"), s.c.datastream_id == bindparam("d"))
            .values(last_time=bindparam("t"), last_value=bindparam("v"), active=bindparam("a")),
            updates,
        )
    await session.flush()
    return report
