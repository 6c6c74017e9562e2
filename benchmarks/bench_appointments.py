"""The two figures of the appointment issue (issue 5), on SQLite and on a throw-away PostgreSQL.

(a) booking race: 1,000 concurrent booking attempts on 50 free places must end with exactly 50 bookings.
    The 50 places: five start times (15-minute service, one after the other) at an office set to 10
    counters for that service. Measured twice, side by side:
    - HTTP: 1,000 simultaneous ``POST /api/termine/buchungen`` against a real ``stadtkern serve`` (Granian,
      one worker), each from its own client address (127.0.x.y, so the per-address rate limit does not
      decide the outcome) and with its own email;
    - service: 1,000 simultaneous ``services.hold`` calls in this process, each in its own session, on the
      engine the app uses.
(b) free-time search with 50,000 appointments in the table: the next 90 days filled to about 80 % of every
    office's capacity (respecting counters per service), the rest in the past months (done). p50/p95 of
    - one office, one service, one week; one office, two services, one week; "earliest anywhere" (every
      office that offers the service), over HTTP (sequential requests, one client) and in-process (the
      service functions the handlers call, a new session per search, as a handler does).

Prints one JSON line per measurement. Usage: .venv/bin/python -m benchmarks.bench_appointments
[--databases sqlite,postgresql] [--attempts 1000] [--appointments 50000] [--searches 200]
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import os
import platform
import random
import secrets
import signal
import statistics
import subprocess
import tempfile
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
from benchmarks.bench_ingest import emit
from sqlalchemy import delete, func, insert, select, text, update
from tests.support.postgres import PostgresServer, free_port

from stadtkern.appointments import models as m
from stadtkern.appointments import profile
from stadtkern.appointments import services as svc
from stadtkern.appointments.errors import AppointmentError
from stadtkern.appointments.slots import UNIT, days_between, opening_spans, units_for
from stadtkern.core.city import load_city
from stadtkern.core.clock import SystemClock
from stadtkern.db.engine import create_engine, session_factory

REPO = Path(__file__).resolve().parents[1]
CITY = load_city(REPO / "cities" / "duisburg")
ZONE = ZoneInfo(CITY.city.timezone)
RACE_OFFICE, RACE_SERVICE, RACE_COUNTERS, RACE_STARTS = "bs-mitte", "anmeldung", 10, 5
FILL = 0.8


def machine() -> dict[str, object]:
    model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "cpus": os.cpu_count(),
        "cpu": model,
        "python": platform.python_version(),
        "platform": platform.platform(),
    }


def percentiles(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    cuts = statistics.quantiles(ordered, n=100, method="inclusive")
    return {
        "p50_ms": round(cuts[49] * 1000, 2),
        "p95_ms": round(cuts[94] * 1000, 2),
        "max_ms": round(ordered[-1] * 1000, 2),
    }


# --- databases and the server ----------------------------------------------------------------------


class Server:
    """``stadtkern serve`` (one Granian worker, no embedded job runner) on an already prepared database."""

    def __init__(self, database_url: str, data_dir: Path) -> None:
        self.port = free_port()
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("STADTKERN_")}
        self.env.update(
            STADTKERN_DATA_DIR=str(data_dir),
            STADTKERN_PORT=str(self.port),
            STADTKERN_EMBEDDED_WORKER="false",
            STADTKERN_DATABASE_URL=database_url,
        )
        self.process: subprocess.Popen[bytes] | None = None
        self.base = f"http://127.0.0.1:{self.port}"

    def migrate(self) -> None:
        subprocess.run(
            [str(REPO / ".venv/bin/stadtkern"), "migrate"], env=self.env, check=True, capture_output=True
        )

    def start(self) -> None:
        self.process = subprocess.Popen(
            [str(REPO / ".venv/bin/stadtkern"), "serve"],
            env=self.env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{self.base}/healthz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                time.sleep(0.2)
        raise RuntimeError("server did not start")

    def stop(self) -> None:
        if self.process is not None:
            os.killpg(self.process.pid, signal.SIGTERM)
            self.process.wait(timeout=20)
            self.process = None


async def seed(url: str) -> None:
    engine = create_engine(url)
    try:
        async with session_factory(engine)() as session, session.begin():
            await profile.seed(session, CITY)
    finally:
        await engine.dispose()


def next_working_day(after: date, days_ahead: int) -> date:
    holidays = svc.public_holidays([after.year, after.year + 1])
    day = after + timedelta(days=days_ahead)
    while day.weekday() >= 5 or day in holidays:
        day += timedelta(days=1)
    return day


# --- (a) the booking race ---------------------------------------------------------------------------


async def prepare_race(url: str) -> list[datetime]:
    """Give the race office 10 counters for the race service; the five start times on a working day."""
    engine = create_engine(url)
    try:
        async with session_factory(engine)() as session, session.begin():
            office = await svc.office_by_key(session, RACE_OFFICE)
            (service,) = await svc.services_by_keys(session, [RACE_SERVICE])
            await session.execute(
                update(m.Office).where(m.Office.id == office.id).values(counters=RACE_COUNTERS)
            )
            await session.execute(
                update(m.OfficeService)
                .where(m.OfficeService.office_id == office.id, m.OfficeService.service_id == service.id)
                .values(counters=RACE_COUNTERS)
            )
            duration = service.duration_minutes
    finally:
        await engine.dispose()
    today = SystemClock().now().astimezone(ZONE).date()
    day = next_working_day(today, 2)
    first = datetime.combine(day, datetime.min.time().replace(hour=8), tzinfo=ZONE)
    return [first + timedelta(minutes=duration * i) for i in range(RACE_STARTS)]


async def count_race_bookings(url: str, starts: list[datetime]) -> int:
    engine = create_engine(url)
    try:
        async with session_factory(engine)() as session:
            return int(
                await session.scalar(
                    select(func.count())
                    .select_from(m.Booking)
                    .where(
                        m.Booking.starts_at.in_([s.astimezone(UTC) for s in starts]),
                        m.Booking.status.in_(m.OCCUPYING),
                    )
                )
                or 0
            )
    finally:
        await engine.dispose()


async def clear_bookings(url: str) -> None:
    engine = create_engine(url)
    try:
        async with engine.begin() as conn:
            await conn.execute(delete(m.Booking))
    finally:
        await engine.dispose()


def client_address(index: int) -> str:
    return f"127.0.{index // 250 + 1}.{index % 250 + 1}"


async def race_http(server: Server, starts: list[datetime], attempts: int) -> tuple[float, Counter[str]]:
    bodies = [
        {
            "office": RACE_OFFICE,
            "services": [RACE_SERVICE],
            "start": starts[i % len(starts)].isoformat(),
            "email": f"race-http-{i}@example.org",
            "name": "Bench",
        }
        for i in range(attempts)
    ]
    clients = [
        httpx.AsyncClient(
            base_url=server.base,
            timeout=120,
            transport=httpx.AsyncHTTPTransport(local_address=client_address(i)),
        )
        for i in range(attempts)
    ]
    go = asyncio.Event()

    async def one(i: int) -> str:
        await go.wait()
        try:
            response = await clients[i].post("/api/termine/buchungen", json=bodies[i])
        except httpx.HTTPError as exc:
            return f"transport:{type(exc).__name__}"
        if response.status_code == 201:
            return "booked"
        try:
            return str(response.json()["error"]["code"])
        except (ValueError, KeyError, TypeError):
            return f"http_{response.status_code}"

    try:
        tasks = [asyncio.create_task(one(i)) for i in range(attempts)]
        await asyncio.sleep(0.05)
        began = time.perf_counter()
        go.set()
        outcome = Counter(await asyncio.gather(*tasks))
        elapsed = time.perf_counter() - began
    finally:
        await asyncio.gather(*(c.aclose() for c in clients))
    return elapsed, outcome


async def race_service(url: str, starts: list[datetime], attempts: int) -> tuple[float, Counter[str]]:
    engine = create_engine(url)  # the pool the app uses (20 + 20 overflow)
    sessions = session_factory(engine)
    clock = SystemClock()
    go = asyncio.Event()

    async def one(i: int) -> str:
        await go.wait()
        try:
            async with sessions() as session, session.begin():
                await svc.hold(
                    session,
                    svc.Request(
                        office_key=RACE_OFFICE,
                        service_keys=[RACE_SERVICE],
                        starts_at=starts[i % len(starts)],
                        email=f"race-svc-{i}@example.org",
                        source=client_address(i),
                    ),
                    now=clock.now(),
                    timezone=ZONE,
                    secret_key=secrets.token_hex(16),
                )
        except AppointmentError as exc:
            return exc.code
        except Exception as exc:  # counted: anything but slot_taken is a failure of the figure
            return f"error:{type(exc).__name__}"
        return "booked"

    try:
        tasks = [asyncio.create_task(one(i)) for i in range(attempts)]
        await asyncio.sleep(0.05)
        began = time.perf_counter()
        go.set()
        outcome = Counter(await asyncio.gather(*tasks))
        elapsed = time.perf_counter() - began
    finally:
        await engine.dispose()
    return elapsed, outcome


def run_race(kind: str, url: str, data_dir: Path, attempts: int) -> None:
    server = Server(url, data_dir)
    server.migrate()
    asyncio.run(seed(url))
    starts = asyncio.run(prepare_race(url))
    places = RACE_COUNTERS * len(starts)
    server.start()
    try:
        elapsed, outcome = asyncio.run(race_http(server, starts, attempts))
    finally:
        server.stop()
    booked = asyncio.run(count_race_bookings(url, starts))
    emit(
        figure="booking-race",
        database=kind,
        path="HTTP POST /api/termine/buchungen (stadtkern serve, 1 worker)",
        attempts=attempts,
        places=places,
        bookings_in_db=booked,
        exact=booked == places,
        outcome=dict(outcome),
        seconds=round(elapsed, 3),
        bookings_per_s=round(booked / elapsed, 1),
        attempts_per_s=round(attempts / elapsed, 1),
        machine=machine(),
    )
    asyncio.run(clear_bookings(url))
    elapsed, outcome = asyncio.run(race_service(url, starts, attempts))
    booked = asyncio.run(count_race_bookings(url, starts))
    emit(
        figure="booking-race",
        database=kind,
        path="in-process services.hold, own session each",
        attempts=attempts,
        places=places,
        bookings_in_db=booked,
        exact=booked == places,
        outcome=dict(outcome),
        seconds=round(elapsed, 3),
        bookings_per_s=round(booked / elapsed, 1),
        attempts_per_s=round(attempts / elapsed, 1),
    )


# --- (b) free-time search with 50,000 appointments --------------------------------------------------


async def fill(url: str, total: int, rng: random.Random) -> dict[str, float]:
    """Insert ``total`` bookings: the booking horizon filled to ~80 %, the rest in the past."""
    engine = create_engine(url)
    now = SystemClock().now()
    today = now.astimezone(ZONE).date()
    rows: list[dict[str, Any]] = []
    try:
        async with session_factory(engine)() as session:
            offices = (await session.scalars(select(m.Office))).all()
            all_services = {s.id: s for s in (await session.scalars(select(m.Service))).all()}
            schedules = {
                o.id: await svc.load_schedule(
                    session, o, first_day=today, last_day=today, timezone=ZONE, now=now
                )
                for o in offices
            }

            def place(day: date, status: str) -> None:
                for office in offices:
                    schedule = schedules[office.id]
                    holidays = svc.public_holidays([day.year])
                    if day in holidays:
                        continue
                    for span_start, span_end in opening_spans(schedule, day):
                        for counter in range(office.counters):
                            # Counter c handles the services with more than c counters: per service, no
                            # more bookings at a time than its counters.
                            handled = [sid for sid, n in schedule.service_counters.items() if n > counter]
                            if not handled:
                                continue
                            at = span_start
                            while at < span_end:
                                service_id = rng.choice(handled)
                                length = units_for(all_services[service_id].duration_minutes) * UNIT
                                if at + length > span_end:
                                    break
                                if rng.random() < FILL:
                                    rows.append(
                                        booking_row(len(rows), office.id, service_id, at, length, status, now)
                                    )
                                    at += length
                                else:
                                    at += UNIT * rng.randint(1, 4)

            for day in days_between(
                today + timedelta(days=1), today + timedelta(days=svc.BOOKING_HORIZON_DAYS)
            ):
                place(day, m.CONFIRMED)
            future = len(rows)
            del rows[total:]
            back = 1
            while len(rows) < total:
                place(today - timedelta(days=back), m.DONE)
                back += 1
            del rows[total:]
        began = time.perf_counter()
        async with session_factory(engine)() as session, session.begin():
            for offset in range(0, len(rows), 5000):
                await session.execute(insert(m.Booking), rows[offset : offset + 5000])
        load_seconds = time.perf_counter() - began
        async with engine.begin() as conn:
            await conn.execute(text("ANALYZE"))
    finally:
        await engine.dispose()
    return {
        "future": min(future, total),
        "past": total - min(future, total),
        "days_back": back - 1,
        "load_s": round(load_seconds, 1),
    }


def booking_row(
    index: int, office_id: int, service_id: int, at: datetime, length: timedelta, status: str, now: datetime
) -> dict[str, Any]:
    digest = hashlib.sha256(f"bench-{index}".encode()).hexdigest()
    return {
        "code": f"B{index:07d}",
        "token_hash": digest,
        "office_id": office_id,
        "service_ids": [service_id],
        "starts_at": at,
        "ends_at": at + length,
        "status": status,
        "hold_expires_at": None,
        "user_id": None,
        "name": "Bench",
        "email": f"b{index}@example.org",
        "phone": "",
        "email_hash": digest[:32],
        "source_hash": digest[32:],
        "channel": "online",
        "request_key": None,
        "sequence": 0,
        "created_at": now - timedelta(days=100),
        "confirmed_at": now - timedelta(days=100),
    }


async def search_service_level(url: str, searches: int, rng: random.Random) -> dict[str, dict[str, Any]]:
    engine = create_engine(url)
    sessions = session_factory(engine)
    clock = SystemClock()
    today = clock.now().astimezone(ZONE).date()
    results: dict[str, dict[str, Any]] = {}
    try:
        async with sessions() as session:
            offers = [
                (office.key, service.key)
                for office, service in (
                    await session.execute(
                        select(m.Office, m.Service)
                        .join(m.OfficeService, m.OfficeService.office_id == m.Office.id)
                        .join(m.Service, m.Service.id == m.OfficeService.service_id)
                    )
                ).all()
            ]
        pairs = {o: [s for oo, s in offers if oo == o] for o, _ in offers}
        two = [(o, ss[:2]) for o, ss in pairs.items() if len(ss) >= 2]
        service_keys = sorted({s for _, s in offers})

        async def week(office_key: str, keys: list[str], first: date) -> int:
            async with sessions() as session:
                office = await svc.office_by_key(session, office_key)
                chosen = await svc.services_by_keys(session, keys)
                found = await svc.free_times(
                    session, office, chosen, first_day=first, days=7, now=clock.now(), timezone=ZONE
                )
            return len(found)

        async def earliest(keys: list[str]) -> int:
            async with sessions() as session:
                chosen = await svc.services_by_keys(session, keys)
                return len(await svc.earliest_anywhere(session, chosen, now=clock.now(), timezone=ZONE))

        def day() -> date:
            return today + timedelta(days=rng.randint(0, 60))

        plan: dict[str, list[Callable[[], Awaitable[int]]]] = {
            "one office, one service, 7 days": [
                partial(week, o, [s], day()) for o, s in (rng.choice(offers) for _ in range(searches))
            ],
            "one office, two services, 7 days": [
                partial(week, o, ss, day()) for o, ss in (rng.choice(two) for _ in range(searches))
            ],
            "earliest anywhere, one service": [
                partial(earliest, [s]) for s in (rng.choice(service_keys) for _ in range(searches))
            ],
        }
        for name, calls in plan.items():
            await calls[0]()  # warm up
            samples = []
            found = 0
            for call in calls:
                began = time.perf_counter()
                found += await call()
                samples.append(time.perf_counter() - began)
            results[name] = {**percentiles(samples), "found_avg": round(found / len(calls), 1)}
    finally:
        await engine.dispose()
    return results


async def search_http(server: Server, searches: int, rng: random.Random) -> dict[str, dict[str, Any]]:
    results: dict[str, dict[str, Any]] = {}
    async with httpx.AsyncClient(base_url=server.base, timeout=60) as client:
        offices = (await client.get("/api/termine/standorte")).json()
        offers = [(o["key"], s) for o in offices for s in o["services"]]
        two = [(o["key"], o["services"][:2]) for o in offices if len(o["services"]) >= 2]
        service_keys = sorted({s for _, s in offers})
        today = SystemClock().now().astimezone(ZONE).date()

        def week(office: str, keys: list[str]) -> tuple[str, dict[str, str]]:
            first = today + timedelta(days=rng.randint(0, 60))
            return "/api/termine/freie-zeiten", {
                "standort": office,
                "leistung": ",".join(keys),
                "von": first.isoformat(),
                "tage": "7",
            }

        plan: dict[str, list[tuple[str, dict[str, str]]]] = {
            "one office, one service, 7 days": [
                week(o, [s]) for o, s in (rng.choice(offers) for _ in range(searches))
            ],
            "one office, two services, 7 days": [
                week(o, ss) for o, ss in (rng.choice(two) for _ in range(searches))
            ],
            "earliest anywhere, one service": [
                ("/api/termine/frueheste-termine", {"leistung": s})
                for s in (rng.choice(service_keys) for _ in range(searches))
            ],
        }
        for name, requests in plan.items():
            await client.get(requests[0][0], params=requests[0][1])  # warm up
            samples = []
            for path, params in requests:
                began = time.perf_counter()
                response = await client.get(path, params=params)
                samples.append(time.perf_counter() - began)
                if response.status_code != 200:
                    raise RuntimeError(f"{path} {params}: {response.status_code} {response.text}")
            results[name] = percentiles(samples)
    return results


def run_search(kind: str, url: str, data_dir: Path, appointments: int, searches: int) -> None:
    rng = random.Random(5)
    server = Server(url, data_dir)
    server.migrate()
    asyncio.run(seed(url))
    loaded = asyncio.run(fill(url, appointments, rng))
    emit(figure="free-time-search-data", database=kind, appointments=appointments, fill=FILL, **loaded)
    in_process = asyncio.run(search_service_level(url, searches, random.Random(6)))
    server.start()
    try:
        over_http = asyncio.run(search_http(server, searches, random.Random(6)))
    finally:
        server.stop()
    for name, http_figures in over_http.items():
        emit(
            figure="free-time-search",
            database=kind,
            search=name,
            searches=searches,
            appointments=appointments,
            http=http_figures,
            in_process=in_process[name],
            target_p95_ms=20,
            met=http_figures["p95_ms"] <= 20,
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--databases", default="sqlite,postgresql")
    parser.add_argument("--attempts", type=int, default=1000)
    parser.add_argument("--appointments", type=int, default=50_000)
    parser.add_argument("--searches", type=int, default=200)
    parser.add_argument("--only", choices=["race", "search"], default=None)
    args = parser.parse_args()
    emit(
        note="load from this process (httpx, asyncio) against `stadtkern serve` (1 worker) on the same machine",
        machine=machine(),
    )
    for kind in args.databases.split(","):
        with tempfile.TemporaryDirectory() as tmp:
            pg: PostgresServer | None = None
            server_url = ""
            if kind == "postgresql":
                pg = PostgresServer()
                server_url = pg.start()
            try:
                for figure in ("race", "search"):
                    if args.only and args.only != figure:
                        continue
                    if kind == "postgresql":
                        from tests.support.database import create_postgres_database

                        url = asyncio.run(create_postgres_database(server_url, f"bench_{figure}"))
                    else:
                        url = f"sqlite+aiosqlite:///{Path(tmp) / f'{figure}.sqlite3'}"
                    data_dir = Path(tmp) / f"var-{figure}"
                    if figure == "race":
                        run_race(kind, url, data_dir, args.attempts)
                    else:
                        run_search(kind, url, data_dir, args.appointments, args.searches)
            finally:
                if pg is not None:
                    pg.stop()


if __name__ == "__main__":
    main()
