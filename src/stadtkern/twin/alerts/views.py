"""Pages of the alerts (``/leitstelle/alarme``): inbox, one alert, history, rules, on-call rota.

Thin handlers: the rules are in ``services``, ``rules`` and ``rota``. Operators and admins only; an
operator sees and changes only what belongs to the organisations their role is scoped to.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from litestar import Request, Response, get, post
from litestar.exceptions import NotFoundException, PermissionDeniedException
from litestar.params import FromPath
from litestar.response import Redirect, Template
from litestar.types import ControllerRouterHandler

from stadtkern.contracts import AssetType
from stadtkern.core.accounts.models import User
from stadtkern.core.i18n import gettext as _
from stadtkern.core.i18n import lazy_gettext as _l
from stadtkern.twin.alerts import access, rota, rules, services
from stadtkern.twin.alerts import models as m
from stadtkern.twin.alerts.errors import AlertError, Forbidden, InvalidInput, NotFound
from stadtkern.twin.registry import asset_types
from stadtkern.web.auth import current_user, role_required
from stadtkern.web.forms import Form
from stadtkern.web.runtime import Runtime, runtime_of
from stadtkern.web.templating import render

GUARDS = [role_required(*access.STAFF_ROLES)]
CSS = Path(__file__).resolve().parent / "static" / "alerts.css"
BASE = services.BASE
AnyRequest = Request[Any, Any, Any]

KIND_LABELS = {
    m.THRESHOLD: _l("Schwellenwert"),
    m.RATE: _l("Änderungsrate pro Stunde"),
    m.NO_DATA: _l("Keine Daten"),
}
COMPARISON_LABELS = {m.ABOVE: _l("über"), m.BELOW: _l("unter")}
SEVERITY_LABELS = {"info": _l("Hinweis"), "warning": _l("Warnung"), "critical": _l("Kritisch")}
STATE_LABELS = {m.OPEN: _l("offen"), m.ACKNOWLEDGED: _l("quittiert"), m.RESOLVED: _l("erledigt")}
RESOLUTION_LABELS = {m.CLEARED: _l("von selbst (Wert wieder normal)"), m.MANUAL: _l("von Hand")}
NOTICES = {
    "quittiert": _l("Der Alarm ist quittiert."),
    "erledigt": _l("Der Alarm ist erledigt."),
    "gespeichert": _l("Die Regel ist gespeichert."),
    "aus": _l("Die Regel ist ausgeschaltet."),
    "ein": _l("Die Regel ist eingeschaltet."),
    "eingetragen": _l("Die Bereitschaft ist eingetragen."),
    "geloescht": _l("Der Eintrag ist gelöscht."),
}


def _labels(rt: Runtime) -> dict[str, Any]:
    return {
        "kind_labels": {k: str(v) for k, v in KIND_LABELS.items()},
        "comparison_labels": {k: str(v) for k, v in COMPARISON_LABELS.items()},
        "severity_labels": {k: str(v) for k, v in SEVERITY_LABELS.items()},
        "state_labels": {k: str(v) for k, v in STATE_LABELS.items()},
        "resolution_labels": {k: str(v) for k, v in RESOLUTION_LABELS.items()},
        "organisations": _organisations(rt),
        "number": _number,
    }


def _number(value: float | None) -> str:
    if value is None:
        return "–"
    return f"{value:g}".replace(".", ",")


def _flashes(request: AnyRequest) -> list[dict[str, str]]:
    message = NOTICES.get(request.query_params.get("hinweis", ""))
    return [{"category": "success", "message": str(message)}] if message else []


def _organisations(rt: Runtime) -> dict[str, str]:
    return {org.key: org.name for org in rt.city.organisations}


def _types(rt: Runtime) -> dict[str, AssetType]:
    return asset_types(rt.pm)


def _tz(rt: Runtime) -> ZoneInfo:
    return ZoneInfo(rt.city.city.timezone)


async def _user(request: AnyRequest) -> User:
    user = await current_user(request)
    if user is None:  # the guard prevents this
        raise PermissionDeniedException()
    return user


def _http(exc: AlertError) -> Exception:
    if isinstance(exc, NotFound):
        return NotFoundException(exc.message)
    return PermissionDeniedException(exc.message)


# --- inbox and one alert ---------------------------------------------------------------------------------


@get(BASE, include_in_schema=False, guards=GUARDS, name="alerts-inbox")
async def inbox(request: AnyRequest) -> Template:
    rt = runtime_of(request)
    user = await _user(request)
    async with rt.sessions() as session:
        rows = await services.inbox(session, user)
    return await render(
        request,
        "alerts/inbox.html",
        title=_("Alarme"),
        rows=rows,
        flashes=_flashes(request),
        **_labels(rt),
    )


async def _alert_page(
    request: AnyRequest, alert_id: int, *, errors: dict[str, str] | None = None, status_code: int = 200
) -> Template:
    rt = runtime_of(request)
    user = await _user(request)
    async with rt.sessions() as session:
        try:
            row = await services.alert_row(session, user, alert_id)
        except NotFound as exc:
            raise NotFoundException(exc.message) from None
    return await render(
        request,
        "alerts/alert.html",
        status_code=status_code,
        title=_("Alarm %(id)s: %(rule)s", id=str(row.alert.id), rule=row.rule.title),
        row=row,
        errors=errors or {},
        flashes=_flashes(request),
        **_labels(rt),
    )


@get(f"{BASE}/{{alert_id:int}}", include_in_schema=False, guards=GUARDS)
async def alert_page(request: AnyRequest, alert_id: FromPath[int]) -> Template:
    return await _alert_page(request, alert_id)


async def _act(request: AnyRequest, alert_id: int, data: dict[str, str], action: str) -> Template | Redirect:
    rt = runtime_of(request)
    user = await _user(request)
    async with rt.sessions() as session:
        try:
            if action == "quittiert":
                await services.acknowledge(session, user, alert_id, data.get("note", ""), now=rt.clock.now())
            else:
                await services.resolve(
                    session, user, alert_id, data.get("resolve_note", ""), now=rt.clock.now()
                )
        except (NotFound, Forbidden) as exc:
            raise _http(exc) from None
        except AlertError as exc:
            await session.rollback()
            return await _alert_page(
                request, alert_id, errors={exc.field or "note": exc.message}, status_code=400
            )
        await session.commit()
    return Redirect(f"{services.alert_url(alert_id)}?hinweis={action}")


@post(f"{BASE}/{{alert_id:int}}/quittieren", include_in_schema=False, guards=GUARDS)
async def acknowledge(request: AnyRequest, alert_id: FromPath[int], data: Form) -> Template | Redirect:
    return await _act(request, alert_id, data, "quittiert")


@post(f"{BASE}/{{alert_id:int}}/erledigen", include_in_schema=False, guards=GUARDS)
async def resolve(request: AnyRequest, alert_id: FromPath[int], data: Form) -> Template | Redirect:
    return await _act(request, alert_id, data, "erledigt")


# --- history ----------------------------------------------------------------------------------------------


def _day(raw: str) -> date | None:
    try:
        return date.fromisoformat(raw) if raw else None
    except ValueError:
        return None


@get(f"{BASE}/verlauf", include_in_schema=False, guards=GUARDS)
async def history(request: AnyRequest) -> Template:
    rt = runtime_of(request)
    user = await _user(request)
    q = {
        k: request.query_params.get(k, "").strip()[:80]
        for k in ("anlage", "typ", "dringlichkeit", "von", "bis")
    }
    errors: dict[str, str] = {}
    since, until = _day(q["von"]), _day(q["bis"])
    if q["von"] and since is None:
        errors["von"] = _("Bitte ein Datum angeben, z. B. 2026-11-17.")
    if q["bis"] and until is None:
        errors["bis"] = _("Bitte ein Datum angeben, z. B. 2026-11-17.")
    types = _types(rt)
    if q["typ"] and q["typ"] not in types:
        errors["typ"] = _("Unbekannter Anlagentyp „%(key)s“.", key=q["typ"])
    if q["dringlichkeit"] and q["dringlichkeit"] not in m.SEVERITIES:
        errors["dringlichkeit"] = _("Bitte wählen Sie eine Dringlichkeit.")
    try:
        page = max(1, int(request.query_params.get("seite", "1")))
    except ValueError:
        page = 1
    tz = _tz(rt)
    filters = services.HistoryFilter(
        asset_code=q["anlage"] or None,
        type_key=q["typ"] if "typ" not in errors and q["typ"] else None,
        severity=q["dringlichkeit"] if "dringlichkeit" not in errors and q["dringlichkeit"] else None,
        since=datetime.combine(since, time(), tz) if since else None,
        until=datetime.combine(until + timedelta(days=1), time(), tz) if until else None,
    )
    async with rt.sessions() as session:
        rows, total = await services.history(session, user, filters, page=page)
    query = {k: v for k, v in q.items() if v}
    return await render(
        request,
        "alerts/history.html",
        status_code=400 if errors else 200,
        title=_("Verlauf der Alarme"),
        rows=rows,
        total=total,
        page=page,
        pages=max(1, -(-total // services.HISTORY_PAGE)),
        page_url=lambda n: f"{BASE}/verlauf?{urlencode({**query, 'seite': n})}",
        values=q,
        errors=errors,
        types=types,
        **_labels(rt),
    )


# --- rules ------------------------------------------------------------------------------------------------


@get(f"{BASE}/regeln", include_in_schema=False, guards=GUARDS)
async def rule_list(request: AnyRequest) -> Template:
    rt = runtime_of(request)
    user = await _user(request)
    async with rt.sessions() as session:
        found = await rules.visible_rules(session, user)
    return await render(
        request,
        "alerts/rules.html",
        title=_("Alarmregeln"),
        rules=found,
        editable={r.id for r in found if access.may_handle(user, r.organisation)},
        types=_types(rt),
        flashes=_flashes(request),
        **_labels(rt),
    )


async def _rule_form(
    request: AnyRequest,
    *,
    rule: m.AlertRule | None,
    values: dict[str, str],
    errors: dict[str, str] | None = None,
    status_code: int = 200,
) -> Template:
    rt = runtime_of(request)
    user = await _user(request)
    scopes = access.organisations_of(user)
    organisations = _organisations(rt)
    choices = {k: v for k, v in organisations.items() if scopes is None or k in scopes}
    return await render(
        request,
        "alerts/rule_form.html",
        status_code=status_code,
        title=_("Regel bearbeiten") if rule else _("Neue Alarmregel"),
        rule=rule,
        values=values,
        errors=errors or {},
        types=_types(rt),
        organisation_choices=choices,
        may_choose_all=scopes is None,
        **_labels(rt),
    )


@get(f"{BASE}/regeln/neu", include_in_schema=False, guards=GUARDS)
async def rule_new(request: AnyRequest) -> Template:
    return await _rule_form(
        request, rule=None, values={"kind": m.THRESHOLD, "comparison": m.ABOVE, "severity": "warning"}
    )


@post(f"{BASE}/regeln", include_in_schema=False, guards=GUARDS)
async def rule_create(request: AnyRequest, data: Form) -> Template | Redirect:
    rt = runtime_of(request)
    user = await _user(request)
    async with rt.sessions() as session:
        try:
            checked = await rules.check_rule(session, user, data, _types(rt), _organisations(rt))
            await rules.create_rule(session, checked, now=rt.clock.now())
        except InvalidInput as exc:
            await session.rollback()
            return await _rule_form(request, rule=None, values=dict(data), errors=exc.errors, status_code=400)
        await session.commit()
    return Redirect(f"{BASE}/regeln?hinweis=gespeichert")


@get(f"{BASE}/regeln/{{rule_id:int}}", include_in_schema=False, guards=GUARDS)
async def rule_edit(request: AnyRequest, rule_id: FromPath[int]) -> Template:
    rt = runtime_of(request)
    user = await _user(request)
    async with rt.sessions() as session:
        try:
            rule = await rules.rule_for(session, user, rule_id, edit=True)
        except (NotFound, Forbidden) as exc:
            raise _http(exc) from None
    return await _rule_form(request, rule=rule, values=rules.rule_to_form(rule))


@post(f"{BASE}/regeln/{{rule_id:int}}", include_in_schema=False, guards=GUARDS)
async def rule_update(request: AnyRequest, rule_id: FromPath[int], data: Form) -> Template | Redirect:
    rt = runtime_of(request)
    user = await _user(request)
    async with rt.sessions() as session:
        try:
            rule = await rules.rule_for(session, user, rule_id, edit=True)
            checked = await rules.check_rule(session, user, data, _types(rt), _organisations(rt))
            await rules.update_rule(session, user, rule_id, checked, now=rt.clock.now())
        except (NotFound, Forbidden) as exc:
            raise _http(exc) from None
        except InvalidInput as exc:
            await session.rollback()
            return await _rule_form(request, rule=rule, values=dict(data), errors=exc.errors, status_code=400)
        await session.commit()
    return Redirect(f"{BASE}/regeln?hinweis=gespeichert")


@post(f"{BASE}/regeln/{{rule_id:int}}/schalten", include_in_schema=False, guards=GUARDS)
async def rule_toggle(request: AnyRequest, rule_id: FromPath[int], data: Form) -> Redirect:
    rt = runtime_of(request)
    user = await _user(request)
    enabled = data.get("enabled") == "1"
    async with rt.sessions() as session:
        try:
            await rules.set_enabled(session, user, rule_id, enabled, now=rt.clock.now())
        except (NotFound, Forbidden) as exc:
            raise _http(exc) from None
        await session.commit()
    return Redirect(f"{BASE}/regeln?hinweis={'ein' if enabled else 'aus'}")


# --- on-call rota -----------------------------------------------------------------------------------------


def _local_moment(raw: str, tz: ZoneInfo) -> datetime | None:
    """A ``datetime-local`` field (local time of the city) as an aware time."""
    try:
        value = datetime.fromisoformat(raw.strip())
    except ValueError:
        return None
    return value.replace(tzinfo=tz) if value.tzinfo is None else value


async def _rota_page(
    request: AnyRequest,
    *,
    values: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    status_code: int = 200,
) -> Template:
    rt = runtime_of(request)
    user = await _user(request)
    organisations = _organisations(rt)
    async with rt.sessions() as session:
        rows = await rota.entries(session, user, now=rt.clock.now())
        people = await rota.selectable_people(session, user, organisations)
    choices = {k: v for k, v in organisations.items() if access.may_handle(user, k)}
    return await render(
        request,
        "alerts/rota.html",
        status_code=status_code,
        title=_("Bereitschaftsplan"),
        rows=rows,
        people=people,
        organisation_choices=choices,
        values=values or {},
        errors=errors or {},
        flashes=_flashes(request),
        now=rt.clock.now(),
        **_labels(rt),
    )


@get(f"{BASE}/bereitschaft", include_in_schema=False, guards=GUARDS)
async def rota_page(request: AnyRequest) -> Template:
    return await _rota_page(request)


@post(f"{BASE}/bereitschaft", include_in_schema=False, guards=GUARDS)
async def rota_add(request: AnyRequest, data: Form) -> Template | Redirect:
    rt = runtime_of(request)
    user = await _user(request)
    tz = _tz(rt)
    try:
        person_id: int | None = int(data.get("person", ""))
    except ValueError:
        person_id = None
    async with rt.sessions() as session:
        try:
            await rota.add_entry(
                session,
                user,
                person_id=person_id,
                organisation=data.get("organisation", ""),
                starts_at=_local_moment(data.get("starts_at", ""), tz),
                ends_at=_local_moment(data.get("ends_at", ""), tz),
                organisations=_organisations(rt),
                now=rt.clock.now(),
            )
        except InvalidInput as exc:
            await session.rollback()
            return await _rota_page(request, values=dict(data), errors=exc.errors, status_code=400)
        await session.commit()
    return Redirect(f"{BASE}/bereitschaft?hinweis=eingetragen")


@post(f"{BASE}/bereitschaft/{{entry_id:int}}/loeschen", include_in_schema=False, guards=GUARDS)
async def rota_delete(request: AnyRequest, entry_id: FromPath[int]) -> Redirect:
    rt = runtime_of(request)
    user = await _user(request)
    async with rt.sessions() as session:
        try:
            await rota.delete_entry(session, user, entry_id)
        except (NotFound, Forbidden) as exc:
            raise _http(exc) from None
        await session.commit()
    return Redirect(f"{BASE}/bereitschaft?hinweis=geloescht")


@get(f"{BASE}/alarme.css", include_in_schema=False, cache=300)
async def stylesheet() -> Response[bytes]:
    return Response(CSS.read_bytes(), media_type="text/css; charset=utf-8")


ROUTES: list[ControllerRouterHandler] = [
    stylesheet,
    inbox,
    alert_page,
    acknowledge,
    resolve,
    history,
    rule_list,
    rule_new,
    rule_create,
    rule_edit,
    rule_update,
    rule_toggle,
    rota_page,
    rota_add,
    rota_delete,
]
