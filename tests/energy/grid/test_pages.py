"""The operator page /verwaltung/energie/netz: staff only, queues a study, shows progress and results."""

from __future__ import annotations

from typing import Any

from litestar.testing import AsyncTestClient

from stadtkern.core.jobs.runner import JobRunner
from stadtkern.web.runtime import Runtime
from tests.support.accounts import login_as, make_user
from tests.support.web import post_form

PAGE = "/verwaltung/energie/netz"


async def test_operators_queue_studies_and_read_the_results(
    rt: Runtime, client: AsyncTestClient[Any]
) -> None:
    operator = await make_user(rt, "netz@example.org", roles=(("operator", None),))
    citizen = await make_user(rt, "buerger@example.org")
    await login_as(client, rt, citizen)
    assert (await client.get(PAGE)).status_code == 403
    await login_as(client, rt, operator)
    page = await client.get(PAGE)
    assert page.status_code == 200
    assert "Noch keine Studien." in page.text
    bad = await post_form(client, PAGE, {"days": "1", "wallboxes": "viele"}, token_from=PAGE)
    assert bad.status_code == 400
    assert "Zusätzliche Wallboxen: muss eine ganze Zahl sein" in bad.text
    bad = await post_form(client, PAGE, {"days": "0"}, token_from=PAGE)
    assert bad.status_code == 400
    assert "Tage: muss zwischen 1 und 366 liegen" in bad.text
    base = await post_form(client, PAGE, {"days": "1", "start": "2025-01-13"}, token_from=PAGE)
    assert base.status_code == 303
    assert base.headers["location"] == f"{PAGE}/1"
    heavy = await post_form(
        client, PAGE, {"days": "1", "start": "2025-01-13", "wallboxes": "120"}, token_from=PAGE
    )
    assert heavy.headers["location"] == f"{PAGE}/2"
    waiting = await client.get(f"{PAGE}/2")
    assert "wartet" in waiting.text
    await JobRunner(rt).run_until_idle()
    listing = await client.get(PAGE)
    assert listing.text.count("fertig") == 2
    assert "+0 Wärmepumpen, +120 Wallboxen, +0 kW PV" in listing.text
    detail = await client.get(f"{PAGE}/2")
    assert detail.status_code == 200
    assert "Vergleich mit dem Grundfall (Netzstudie 1)" in detail.text
    assert "(überlastet)" in detail.text
    assert '<th scope="row">Höchste Leitungsauslastung (%)</th>' in detail.text
    assert "Stunden über 100 %<" in detail.text
    assert "Leitungen über 100 %: " in detail.text
    base_page = await client.get(f"{PAGE}/1")
    assert "(überlastet)" not in base_page.text
    assert "Vergleich mit dem Grundfall" not in base_page.text
    assert (await client.get(f"{PAGE}/99")).status_code == 404
