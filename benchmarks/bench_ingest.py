"""Figure 1 and 2 of the SensorThings issue: ingest rates against the raw database limit, in one run.

For each database (SQLite, and PostgreSQL when its binaries are installed):
- bulk: CreateObservations (dataArray) over HTTP into a real `stadtkern serve` process, from this process;
- raw: the same rows straight into an identical indexed table (SQLite: one-transaction executemany;
  PostgreSQL: binary COPY), i.e. the physical limit on this machine;
- single: single-observation POSTs from 16 concurrent clients.
Prints one JSON line per measurement. Usage: .venv/bin/python -m benchmarks.bench_ingest (from the checkout) [--rows N]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import shutil
import signal
import sqlite3
import subprocess
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
from tests.support.postgres import PostgresServer, free_port

REPO = Path(__file__).resolve().parents[1]

START = datetime(2026, 1, 1, tzinfo=UTC)
THING = {
    "name": "Bench",
    "description": "benchmark",
    "Locations": [
        {
            "name": "L",
            "description": "l",
            "encodingType": "application/geo+json",
            "location": {"type": "Point", "coordinates": [6.76, 51.43]},
        }
    ],
    "Datastreams": [
        {
            "name": "D",
            "description": "d",
            "observationType": "http://www.opengis.net/def/observationType/OGC-OM/2.0/OM_Measurement",
            "unitOfMeasurement": {"name": "degree Celsius", "symbol": "°C", "definition": "ucum:Cel"},
            "Sensor": {"name": "S", "description": "s", "encodingType": "text/html", "metadata": "x"},
            "ObservedProperty": {"name": "T", "definition": "t", "description": "t"},
        }
    ],
}


def machine() -> dict[str, object]:
    return {"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform()}


def emit(**fields: object) -> None:
    print(json.dumps(fields), flush=True)


def timestamps(n: int) -> list[str]:
    return [(START + timedelta(seconds=i)).isoformat().replace("+00:00", "Z") for i in range(n)]


class Server:
    def __init__(self, database_url: str | None, data_dir: Path) -> None:
        self.port = free_port()
        env = {k: v for k, v in os.environ.items() if not k.startswith("STADTKERN_")}
        env.update(
            STADTKERN_DATA_DIR=str(data_dir),
            STADTKERN_PORT=str(self.port),
            STADTKERN_STA_ANONYMOUS_WRITE="true",
            STADTKERN_EMBEDDED_WORKER="false",
        )
        if database_url:
            env["STADTKERN_DATABASE_URL"] = database_url
        self.env = env
        subprocess.run(
            [str(REPO / ".venv/bin/stadtkern"), "migrate"], env=env, check=True, capture_output=True
        )
        self.process = subprocess.Popen(
            [str(REPO / ".venv/bin/stadtkern"), "serve"],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        self.base = f"http://127.0.0.1:{self.port}/sta/v1.1"
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"http://127.0.0.1:{self.port}/healthz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                time.sleep(0.2)
        raise RuntimeError("server did not start")

    def key(self, thing: int) -> str:
        """A write key for one Thing, made with the CLI as an operator would."""
        output = subprocess.run(
            [
                str(REPO / ".venv/bin/stadtkern"),
                "sta",
                "key",
                "create",
                "bench gateway",
                "--thing",
                str(thing),
            ],
            env=self.env,
            check=True,
            capture_output=True,
            text=True,
        ).stdout
        return output.strip().splitlines()[-1]

    def stop(self) -> None:
        os.killpg(self.process.pid, signal.SIGTERM)
        self.process.wait(timeout=20)


async def bulk(server: Server, rows: int, per_request: int) -> tuple[float, int]:
    async with httpx.AsyncClient(timeout=120) as client:
        created = await client.post(f"{server.base}/Things", json=THING)
        thing = created.headers["location"].rsplit("(", 1)[1].rstrip(")")
        ds = (await client.get(f"{server.base}/Things({thing})/Datastreams")).json()["value"][0]["@iot.id"]
        times = timestamps(rows)
        bodies = []
        for offset in range(0, rows, per_request):
            chunk = times[offset : offset + per_request]
            bodies.append(
                json.dumps(
                    [
                        {
                            "Datastream": {"@iot.id": ds},
                            "components": ["phenomenonTime", "result"],
                            "dataArray": [[t, i * 0.5] for i, t in enumerate(chunk)],
                        }
                    ]
                ).encode()
            )
        began = time.perf_counter()
        for body in bodies:
            response = await client.post(
                f"{server.base}/CreateObservations",
                content=body,
                headers={"content-type": "application/json"},
            )
            response.raise_for_status()
        elapsed = time.perf_counter() - began
        count = (await client.get(f"{server.base}/Datastreams({ds})/Observations?$count=true&$top=0")).json()[
            "@iot.count"
        ]
    return rows / elapsed, count


async def single(server: Server, total: int, clients: int) -> float:
    async with httpx.AsyncClient(timeout=60, limits=httpx.Limits(max_connections=clients)) as client:
        created = await client.post(f"{server.base}/Things", json=THING)
        thing = created.headers["location"].rsplit("(", 1)[1].rstrip(")")
        ds = (await client.get(f"{server.base}/Things({thing})/Datastreams")).json()["value"][0]["@iot.id"]
        url = f"{server.base}/Datastreams({ds})/Observations"
        per_client = total // clients

        async def worker(index: int) -> None:
            for i in range(per_client):
                stamp = (START + timedelta(seconds=index * per_client + i)).isoformat()
                response = await client.post(url, json={"phenomenonTime": stamp, "result": i})
                if response.status_code != 201:
                    raise RuntimeError(response.text)

        began = time.perf_counter()
        await asyncio.gather(*(worker(c) for c in range(clients)))
        return per_client * clients / (time.perf_counter() - began)


WRK_SCRIPT = """
-- One observation per request, each with its own phenomenonTime (counter per wrk thread).
local counter = 0
local headers = {["Content-Type"] = "application/json"}
if "%(token)s" ~= "" then headers["Authorization"] = "Bearer %(token)s" end
request = function()
  counter = counter + 1
  local body = string.format('{"phenomenonTime":"2026-01-01T00:00:00Z","result":%%d}', counter)
  return wrk.format("POST", nil, headers, body)
end
"""


def single_wrk(
    server: Server, clients: int, seconds: int, *, with_key: bool = False, lane: bool = True
) -> tuple[float, int]:
    """Single POSTs from wrk (C, separate process): the server's rate, not our client's.

    ``with_key``: every request carries a write key scoped to the benchmark's Thing (a gateway's key),
    as production requires; otherwise the server's test-only anonymous writes are used.
    ``lane=False``: the same POSTs with a query string, which the fast lane (sensorthings/lane.py) passes
    to the framework route: the baseline of the lane, in the same server.
    """
    with httpx.Client(timeout=60) as client:
        created = client.post(f"{server.base}/Things", json=THING)
        thing = created.headers["location"].rsplit("(", 1)[1].rstrip(")")
        ds = client.get(f"{server.base}/Things({thing})/Datastreams").json()["value"][0]["@iot.id"]
    token = server.key(int(thing)) if with_key else ""
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(WRK_SCRIPT % {"token": token})
    output = subprocess.run(
        [
            "wrk",
            "-t2",
            f"-c{clients}",
            f"-d{seconds}s",
            "-s",
            script.name,
            f"{server.base}/Datastreams({ds})/Observations" + ("" if lane else "?via=framework"),
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    Path(script.name).unlink()
    if "Non-2xx" in output:
        raise RuntimeError(f"wrk saw errors:\n{output}")
    rate = float(output.split("Requests/sec:")[1].split()[0])
    with httpx.Client(timeout=60) as client:
        stored = client.get(f"{server.base}/Datastreams({ds})/Observations?$count=true&$top=0").json()[
            "@iot.count"
        ]
    return rate, int(stored)


RAW_COLUMNS = "datastream_id, feature_of_interest_id, phenomenon_time, result_type, result_number"
RAW_INSERT = (
    "INSERT INTO sta_observations (datastream_id, feature_of_interest_id, phenomenon_time, result_type, "
    "result_number) VALUES (?, ?, ?, ?, ?)"
)


def raw_sqlite(rows: int, path: Path) -> float:
    """One-transaction executemany into a fresh, migrated copy of the same table (same indexes)."""
    from stadtkern.db.migrate import upgrade

    upgrade(f"sqlite+aiosqlite:///{path}")
    connection = sqlite3.connect(path)
    connection.execute("PRAGMA journal_mode=WAL")
    connection.execute("PRAGMA synchronous=FULL")
    data = [
        (1, 1, (START + timedelta(seconds=i)).strftime("%Y-%m-%d %H:%M:%S.%f"), 0, i * 0.5)
        for i in range(rows)
    ]
    began = time.perf_counter()
    with connection:
        connection.executemany(RAW_INSERT, data)
    elapsed = time.perf_counter() - began
    connection.close()
    return rows / elapsed


async def raw_postgres(server_url: str, rows: int) -> float:
    """Binary COPY into a fresh, migrated copy of the same (partitioned, indexed) table."""
    import asyncpg
    from tests.support.database import create_postgres_database

    from stadtkern.db.migrate import upgrade

    url = await create_postgres_database(server_url, "bench_raw")
    await asyncio.to_thread(upgrade, url)
    connection = await asyncpg.connect(url.replace("postgresql+asyncpg://", "postgresql://"))
    try:
        data = [(1, 1, START + timedelta(seconds=i), 0, i * 0.5) for i in range(rows)]
        began = time.perf_counter()
        await connection.copy_records_to_table(
            "sta_observations", records=data, columns=RAW_COLUMNS.split(", ")
        )
        return rows / (time.perf_counter() - began)
    finally:
        await connection.close()


def run(kind: str, rows: int, per_request: int, singles: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        pg: PostgresServer | None = None
        url: str | None = None
        server_url = ""
        if kind == "postgresql":
            pg = PostgresServer()
            server_url = pg.start()
            from tests.support.database import create_postgres_database

            url = asyncio.run(create_postgres_database(server_url, "bench"))
        server = Server(url, Path(tmp) / "var")
        try:
            rate, stored = asyncio.run(bulk(server, rows, per_request))
            emit(
                figure="bulk-ingest",
                database=kind,
                path="HTTP CreateObservations",
                rows=rows,
                per_request=per_request,
                rows_per_s=round(rate),
                stored=stored,
                machine=machine(),
            )
            raw = (
                raw_sqlite(rows, Path(tmp) / "raw.sqlite3")
                if kind == "sqlite"
                else asyncio.run(raw_postgres(server_url, rows))
            )
            emit(
                figure="bulk-ingest",
                database=kind,
                path="raw " + ("executemany" if kind == "sqlite" else "binary COPY") + " into the same table",
                rows=rows,
                rows_per_s=round(raw),
                ratio_ours_to_raw=round(rate / raw, 3),
            )
            rate_single = asyncio.run(single(server, singles, 16))
            emit(
                figure="single-post",
                database=kind,
                client="httpx (Python, asyncio)",
                clients=16,
                observations=singles,
                obs_per_s=round(rate_single),
            )
            if shutil.which("wrk"):
                for with_key in (False, True):
                    for lane in (True, False):  # the fast lane and, side by side, the framework route
                        rate_wrk, stored = single_wrk(server, 16, 10, with_key=with_key, lane=lane)
                        emit(
                            figure="single-post",
                            database=kind,
                            client="wrk -t2 -c16 -d10s",
                            auth="Bearer key scoped to the Thing" if with_key else "anonymous (test setting)",
                            path="fast lane" if lane else "framework route (baseline)",
                            clients=16,
                            obs_per_s=round(rate_wrk),
                            stored=stored,
                        )
        finally:
            server.stop()
            if pg is not None:
                pg.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--per-request", type=int, default=10_000)
    parser.add_argument("--singles", type=int, default=8_000)
    parser.add_argument("--databases", default="sqlite,postgresql")
    args = parser.parse_args()
    emit(
        note="load from this process (httpx, asyncio) against `stadtkern serve` (1 worker) on the same machine"
    )
    for kind in args.databases.split(","):
        run(kind, args.rows, args.per_request, args.singles)


if __name__ == "__main__":
    main()
