"""The app starts on both databases and answers its health check."""

from __future__ import annotations

from typing import Any

from litestar.testing import AsyncTestClient


async def test_healthz_reports_database(client: AsyncTestClient[Any], db_kind: str) -> None:
    response = await client.get("/healthz")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["database"] == "ok"
    assert body["database_backend"] == db_kind
    assert body["city"] == "duisburg"


async def test_home_lists_services_with_human_contact(client: AsyncTestClient[Any]) -> None:
    response = await client.get("/")
    assert response.status_code == 200
    assert "Bürgerkonto" in response.text
    assert "0203 283-0" in response.text
    assert "Öffnungszeiten" in response.text
