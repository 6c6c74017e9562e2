"""The fast lane for single-Observation POSTs answers exactly as the framework route does."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from litestar import Litestar
from litestar.testing import AsyncTestClient

from stadtkern.core.clock import FrozenClock
from stadtkern.sensorthings.keys import create_key
from stadtkern.sensorthings.lane import MAX_BODY, ObservationPostLane
from tests.conftest import make_settings
from tests.sensorthings.conftest import ROOT, THING, create, get
from tests.support.database import loop_safe_app

# A query string sends the same POST past the lane to the framework route (api.create_resource).
VIA_FRAMEWORK = "?via=framework"


class CountingApp:
    """Stands between the lane and the framework and counts the requests the lane passes on."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.paths: list[str] = []

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        self.paths.append(scope["path"])
        await self.app(scope, receive, send)


def counting(app: Litestar) -> CountingApp:
    lane = app.asgi_handler
    assert isinstance(lane, ObservationPostLane)
    lane.app = passed = CountingApp(lane.app)
    return passed


async def stream_of(client: AsyncTestClient[Any]) -> int:
    thing = await create(client, "Things", THING)
    return int((await get(client, f"Things({thing})/Datastreams"))["value"][0]["@iot.id"])


SECURITY = ("content-security-policy", "x-content-type-options", "x-frame-options", "referrer-policy")


async def test_the_lane_answers_single_posts_as_the_framework_does(
    sta_app: Litestar, sta: AsyncTestClient[Any]
) -> None:
    passed = counting(sta_app)
    ds = await stream_of(sta)
    passed.paths.clear()
    url = f"{ROOT}/Datastreams({ds})/Observations"
    cases: list[tuple[str, Any]] = [
        ("ok", {"result": 21.5, "phenomenonTime": "2026-11-17T08:00:00Z"}),
        ("ok", {"result": 7}),
        ("bad value", {"result": 1, "phenomenonTime": "gestern"}),
        ("no result", {"phenomenonTime": "2026-11-17T08:00:00Z"}),
        ("not json", b"{result: 1"),
        ("empty", b""),
    ]
    for name, body in cases:
        kwargs: dict[str, Any] = {"content": body} if isinstance(body, bytes) else {"json": body}
        lane = await sta.post(url, **kwargs)
        framework = await sta.post(url + VIA_FRAMEWORK, **kwargs)
        assert lane.status_code == framework.status_code, name
        for header in SECURITY:
            assert lane.headers[header] == framework.headers[header], (name, header)
        if lane.status_code == 201:
            assert lane.headers["location"].startswith(f"http://testserver.local{ROOT}/Observations(")
            assert lane.content == framework.content == b""
        else:
            assert lane.status_code == 400, name
            assert lane.headers["content-type"].startswith("application/json")
            assert lane.json() == framework.json(), name
            assert lane.json()["message"]
    # The lane answered the plain POSTs; only the ones with the query string reached the framework.
    assert passed.paths == [url] * len(cases)
    stored = await get(sta, f"Datastreams({ds})/Observations?$orderby=id")
    assert [o["result"] for o in stored["value"]] == [21.5, 21.5, 7, 7]
    created = await sta.post(url, json={"result": 3})
    observation = await get(sta, created.headers["location"].split(ROOT + "/", 1)[1])
    assert observation["result"] == 3


async def test_the_lane_answers_404_for_a_missing_stream_and_leaves_the_rest(
    sta_app: Litestar, sta: AsyncTestClient[Any]
) -> None:
    passed = counting(sta_app)
    missing = await sta.post(f"{ROOT}/Datastreams(999999)/Observations", json={"result": 1})
    assert missing.status_code == 404
    assert "999999" in missing.json()["message"]
    assert passed.paths == []


async def test_what_is_not_a_plain_single_post_passes_to_the_framework() -> None:
    passed: list[str] = []

    async def framework(scope: Any, receive: Any, send: Any) -> None:
        passed.append(f"{scope['method']} {scope['path']}?{scope['query_string'].decode()}")

    lane = ObservationPostLane(framework, state=None, security_headers={})  # never reaches the service
    path = f"{ROOT}/Datastreams(1)/Observations"
    json_length = [(b"content-type", b"application/json"), (b"content-length", b"13")]
    requests = [
        ("GET", path, b"", json_length),
        ("POST", path, b"$select=id", json_length),  # any query string
        ("POST", path, b"", [(b"transfer-encoding", b"chunked")]),  # no declared length
        ("POST", path, b"", [(b"content-length", str(MAX_BODY + 1).encode())]),
        ("POST", f"{ROOT}/Things(1)/Datastreams", b"", json_length),
        ("POST", f"{ROOT}/Datastreams(1)/Observations/extra", b"", json_length),
        ("POST", f"{ROOT}/MultiDatastreams(1)/Observations", b"", json_length),
    ]
    for method, request_path, query, headers in requests:
        scope = {
            "type": "http",
            "method": method,
            "path": request_path,
            "query_string": query,
            "headers": headers,
        }
        await lane(scope, None, None)  # a hand-made scope; nothing is received or sent
    assert len(passed) == len(requests)


async def test_the_lane_checks_keys_as_the_framework_does(
    db_url: str, data_dir: Path, clock: FrozenClock
) -> None:
    settings = make_settings(db_url, data_dir)  # no anonymous writes
    app = loop_safe_app(settings, clock)
    passed = counting(app)
    runtime = app.state.runtime
    async with runtime.sessions() as session:
        _key, admin_token = await create_key(
            session, name="Leitstelle", secret_key=settings.secret_key, now=clock.now()
        )
        await session.commit()
    async with AsyncTestClient(app=app, base_url="http://testserver.local") as client:
        admin = {"Authorization": f"Bearer {admin_token}"}
        things = []
        for _ in range(2):
            created = await client.post(f"{ROOT}/Things", json=THING, headers=admin)
            things.append(int(created.headers["location"].rsplit("(", 1)[1].rstrip(")")))
        streams = [
            (await get(client, f"Things({thing})/Datastreams"))["value"][0]["@iot.id"] for thing in things
        ]
        async with runtime.sessions() as session:
            _key, gateway = await create_key(
                session, name="Gateway", secret_key=settings.secret_key, now=clock.now(), things=things[:1]
            )
            await session.commit()
        passed.paths.clear()
        answers = {}
        for name, headers, ds in [
            ("none", {}, streams[0]),
            ("unknown", {"Authorization": "Bearer stk_falsch"}, streams[0]),
            ("scoped, own stream", {"Authorization": f"Bearer {gateway}"}, streams[0]),
            ("scoped, other stream", {"Authorization": f"Bearer {gateway}"}, streams[1]),
        ]:
            url = f"{ROOT}/Datastreams({ds})/Observations"
            lane = await client.post(url, json={"result": 1}, headers=headers)
            framework = await client.post(url + VIA_FRAMEWORK, json={"result": 1}, headers=headers)
            assert lane.status_code == framework.status_code, name
            assert lane.headers.get("www-authenticate") == framework.headers.get("www-authenticate"), name
            if lane.status_code != 201:
                assert lane.json() == framework.json(), name
            answers[name] = lane.status_code
        assert answers == {
            "none": 401,
            "unknown": 401,
            "scoped, own stream": 201,
            "scoped, other stream": 403,
        }
        assert len(passed.paths) == 4  # only the framework's half
    await runtime.engine.dispose()
