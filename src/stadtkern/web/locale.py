"""Per-request locale: the language cookie, else the browser's Accept-Language; German by default."""

from __future__ import annotations

from http.cookies import SimpleCookie

from litestar.datastructures import Headers
from litestar.types import ASGIApp, Receive, Scope, Send

from stadtkern.core.i18n import LOCALES, negotiate, use_locale

LANG_COOKIE = "stadtkern_lang"


def locale_for(headers: Headers) -> str:
    cookie_header = headers.get("cookie")
    if cookie_header:
        cookies: SimpleCookie = SimpleCookie()
        try:
            cookies.load(cookie_header)
        except Exception:
            cookies = SimpleCookie()
        morsel = cookies.get(LANG_COOKIE)
        if morsel is not None and morsel.value in LOCALES:
            return morsel.value
    return negotiate(headers.get("accept-language"))


class LocaleMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        with use_locale(locale_for(Headers.from_scope(scope))):
            await self.app(scope, receive, send)
