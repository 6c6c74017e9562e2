"""Error responses: friendly German pages for people, one JSON shape for our APIs."""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import quote

from litestar import MediaType, Request, Response
from litestar.exceptions import HTTPException, NotAuthorizedException, ValidationException
from litestar.response import Redirect, Template
from litestar.status_codes import HTTP_500_INTERNAL_SERVER_ERROR

from stadtkern.core.i18n import gettext as _
from stadtkern.web.runtime import runtime_of

log = logging.getLogger("stadtkern.errors")

API_PREFIXES = ("/api/", "/healthz")


def _headings() -> dict[int, tuple[str, str]]:
    return {
        400: (
            _("Anfrage nicht verständlich"),
            _("Die Anfrage enthielt Angaben, die wir nicht verarbeiten können."),
        ),
        401: (_("Anmeldung nötig"), _("Bitte melden Sie sich an.")),
        403: (_("Kein Zugriff"), _("Für diese Seite fehlt Ihnen die Berechtigung.")),
        404: (
            _("Seite nicht gefunden"),
            _("Diese Seite gibt es nicht (mehr). Vielleicht hilft die Startseite weiter."),
        ),
        405: (_("Aktion nicht möglich"), _("Diese Aktion ist hier nicht vorgesehen.")),
        413: (_("Zu groß"), _("Die gesendeten Daten sind zu groß.")),
        429: (_("Zu viele Anfragen"), _("Bitte warten Sie einen Moment und versuchen Sie es dann erneut.")),
        500: (
            _("Ein Fehler ist aufgetreten"),
            _(
                "Das hätte nicht passieren dürfen. Der Fehler wurde protokolliert; bitte versuchen Sie es später erneut."
            ),
        ),
        503: (_("Vorübergehend nicht verfügbar"), _("Bitte versuchen Sie es in einigen Minuten erneut.")),
    }


def wants_json(request: Request[Any, Any, Any]) -> bool:
    path = request.url.path
    if path.startswith(API_PREFIXES):
        return True
    accept = request.headers.get("accept", "")
    return "application/json" in accept and "text/html" not in accept


def json_error(status: int, code: str, message: str, details: Any = None) -> Response[Any]:
    return Response(
        {"error": {"code": code, "message": message, "details": details}},
        status_code=status,
        media_type=MediaType.JSON,
    )


def _page(request: Request[Any, Any, Any], status: int, message: str | None = None) -> Template:
    heading, default = _headings().get(
        status, (_("Fehler"), _("Die Anfrage konnte nicht bearbeitet werden."))
    )
    user = request.state.get("user")
    return Template(
        template_name="errors/error.html",
        status_code=status,
        context={
            "title": heading,
            "heading": heading,
            "message": message or default,
            "user": user,
            "nav": [],
            "city": runtime_of(request).city,
            "development": not runtime_of(request).settings.production,
            "current_path": request.url.path,
            "current_nav": None,
        },
    )


def http_exception_handler(request: Request[Any, Any, Any], exc: HTTPException) -> Response[Any]:
    status = exc.status_code
    if isinstance(exc, ValidationException):
        details = exc.extra if exc.extra else None
        message = _("Die Anfrage ist ungültig: %(detail)s", detail=exc.detail)
        if wants_json(request):
            return json_error(400, "invalid_request", message, details)
        return _page(request, 400, message)
    if status == 403 and "CSRF" in str(exc.detail):
        message = _(
            "Das Formular ist abgelaufen oder wurde nicht von dieser Seite gesendet. "
            "Bitte laden Sie die Seite neu und senden Sie es erneut."
        )
        if wants_json(request):
            return json_error(403, "csrf_failed", message)
        return _page(request, 403, message)
    if wants_json(request):
        return json_error(status, _code(status), str(exc.detail))
    if isinstance(exc, NotAuthorizedException) and request.method == "GET":
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return Redirect(f"/konto/anmelden?next={quote(target)}")
    custom = exc.detail if exc.detail and exc.detail != _default_detail(status) else None
    response: Response[Any] = _page(request, status, custom)
    if exc.headers:
        response.headers.update(exc.headers)
    return response


def internal_error_handler(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    log.exception("Unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    if wants_json(request):
        return json_error(HTTP_500_INTERNAL_SERVER_ERROR, "internal_error", _headings()[500][1])
    return _page(request, HTTP_500_INTERNAL_SERVER_ERROR)


def _code(status: int) -> str:
    return {
        400: "invalid_request",
        401: "not_authenticated",
        403: "forbidden",
        404: "not_found",
        405: "method_not_allowed",
        409: "conflict",
        413: "too_large",
        429: "too_many_requests",
        503: "unavailable",
    }.get(status, f"http_{status}")


def _default_detail(status: int) -> str:
    from http import HTTPStatus

    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return ""


EXCEPTION_HANDLERS: dict[Any, Any] = {
    HTTPException: http_exception_handler,
    Exception: internal_error_handler,
}
