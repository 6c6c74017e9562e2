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


async def test_openapi_document_and_json_errors_for_api_paths(client: AsyncTestClient[Any]) -> None:
    document = await client.get("/api/openapi.json")
    assert document.status_code == 200
    assert document.json()["openapi"].startswith("3.1")
    assert "/healthz" in document.json()["paths"]
    missing = await client.get("/api/gibt-es-nicht")
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "not_found"


async def test_security_headers_on_pages(client: AsyncTestClient[Any]) -> None:
    response = await client.get("/impressum")
    csp = response.headers["content-security-policy"]
    assert "default-src 'self'" in csp
    assert "script-src 'self'" in csp
    assert "frame-ancestors 'none'" in csp
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["referrer-policy"] == "same-origin"
    # Anonymous visitors get no session (and no session row in the database).
    assert "stadtkern_session" not in response.headers.get("set-cookie", "")


async def test_unknown_page_gets_german_error_page(client: AsyncTestClient[Any]) -> None:
    response = await client.get("/gibt-es-nicht")
    assert response.status_code == 404
    assert "Seite nicht gefunden" in response.text


async def test_form_without_csrf_token_is_refused(client: AsyncTestClient[Any]) -> None:
    await client.get("/barrierefreiheit")
    response = await client.post("/barrierefreiheit", data={"message": "Barriere"})
    assert response.status_code == 403
    assert "Formular" in response.text
