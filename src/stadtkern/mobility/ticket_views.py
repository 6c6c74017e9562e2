"""Ticket pages: prices and buying (``/tickets``), the SEPA mandate, "Meine Tickets" with QR code and PNG
download, the Deutschlandticket subscription, and the inspector page ``/kontrolle``.

Handlers stay thin: selling is ``tickets.StadtkernProvider``; every MobilityError becomes a German message
next to its field. The inspector page embeds only the public key and the zone data; ``kontrolle.js``
verifies codes in the browser (WebCrypto Ed25519) without the network.
"""

from __future__ import annotations

import io
import secrets
from datetime import date
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import segno
from litestar import Request, Response, get, post
from litestar.params import FromPath
from litestar.response import Redirect, Template
from litestar.static_files import create_static_files_router
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from stadtkern.core.i18n import gettext as _
from stadtkern.mobility import sepa, tickets
from stadtkern.mobility import ticket_models as tm
from stadtkern.mobility.errors import MobilityError
from stadtkern.mobility.fares import FareError, FareTable, euro, fares_for, price_for_journey
from stadtkern.web.auth import current_user, login_required
from stadtkern.web.forms import FieldErrors
from stadtkern.web.runtime import Runtime, runtime_of
from stadtkern.web.templating import render

AnyRequest = Request[Any, Any, Any]
STATIC = Path(__file__).resolve().parent / "static" / "tickets"
WORKER = (STATIC / "kontrolle-sw.js").read_bytes()


def _zone(rt: Runtime) -> ZoneInfo:
    return ZoneInfo(rt.city.city.timezone)


def _fares(rt: Runtime) -> FareTable:
    return fares_for(rt.settings.city_dir)


def provider_for(rt: Runtime) -> tickets.StadtkernProvider:
    return tickets.StadtkernProvider(_fares(rt), tickets.signer_for(rt.settings), _zone(rt))


def _contact(rt: Runtime) -> Any:
    return rt.city.contacts.get("mobility")


def _notices() -> dict[str, str]:
    return {
        "gekauft": _("Ihr Ticket ist gekauft. Der Preis wird per Lastschrift von Ihrem Konto abgebucht."),
        "mandat": _("Ihr SEPA-Lastschriftmandat ist erteilt. Sie können jetzt Tickets kaufen."),
        "abo": _("Ihr Deutschlandticket-Abo läuft. Das Ticket für den Monat finden Sie unten."),
        "gekuendigt": _("Ihr Abo ist gekündigt. Es endet mit dem angegebenen Datum."),
    }


def _flashes(request: AnyRequest) -> list[dict[str, str]]:
    notice = _notices().get(request.query_params.get("hinweis") or "")
    return [{"category": "success", "message": notice}] if notice else []


def _product_rows(fares: FareTable) -> list[dict[str, Any]]:
    return [
        {
            "key": key,
            "name": product.name,
            "kind": product.kind,
            "personal": product.personal,
            "prices": [
                (level, fares.level_name(level), euro(cents)) for level, cents in product.prices.items()
            ],
        }
        for key, product in fares.products.items()
    ]


# --- buying ---------------------------------------------------------------------------------------------


async def _shop(
    request: AnyRequest, *, values: dict[str, str], errors: FieldErrors | None = None, status: int = 200
) -> Template:
    rt = runtime_of(request)
    fares = _fares(rt)
    user = await current_user(request)
    mandate = None
    if user is not None:
        async with rt.sessions() as db:
            mandate = await tickets.active_mandate(db, user.id)
    today = rt.clock.now().astimezone(_zone(rt)).date()
    start_next = tickets.next_month(today)
    return await render(
        request,
        "mobility/tickets.html",
        status_code=status,
        title=_("Tickets"),
        fares=fares,
        products=_product_rows(fares),
        sale_products=[(k, p) for k, p in fares.products.items() if p.kind != "subscription"],
        subscription_products=[(k, p) for k, p in fares.products.items() if p.kind == "subscription"],
        levels=[(k, lv) for k, lv in fares.levels.items() if k != "D"],
        cities=sorted(fares.cities),
        values=values,
        errors=errors or {},
        mandate=mandate,
        iban_masked=(mandate.iban[:4] + " … " + mandate.iban[-4:]) if mandate else "",
        months=[(today.replace(day=1).isoformat(), today), (start_next.isoformat(), start_next)],
        flashes=_flashes(request),
        contact=_contact(rt),
        euro=euro,
    )


@get("/tickets", include_in_schema=False, name="tickets")
async def shop(request: AnyRequest) -> Template:
    """Prices and the buy form; ``?produkt=&stufe=&stadt=`` pre-fill it (links from a journey's price)."""
    rt = runtime_of(request)
    fares = _fares(rt)
    user = await current_user(request)
    params = request.query_params
    values = {
        "product": params.get("produkt") or "einzel",
        "level": params.get("stufe") or "A",
        "city": params.get("stadt") or fares.home_city,
        "request_key": secrets.token_urlsafe(24),
        "holder_name": user.display_name if user else "",
    }
    stops = [s for s in params.getall("halt", []) if s]
    errors: FieldErrors = {}
    if stops:
        # From a journey: its stops give the city the level counts from (and the level, unless given).
        try:
            price = price_for_journey(stops, fares)
            values["city"] = price.cities[0]
            if not params.get("stufe"):
                values["level"] = price.level
        except FareError as exc:
            errors["level"] = exc.message
    return await _shop(request, values=values, errors=errors)


@post("/tickets/kaufen", include_in_schema=False, guards=[login_required])
async def buy(request: AnyRequest) -> Template | Redirect:
    rt = runtime_of(request)
    user = await current_user(request)
    assert user is not None  # the guard
    form = await request.form()
    values = {k: str(form.get(k) or "").strip() for k in ("product", "level", "city", "request_key")}
    order = tickets.Order(
        user_id=user.id,
        product=values["product"],
        level=values["level"],
        city=values["city"],
        request_key=values["request_key"][:64] or None,
    )
    try:
        async with rt.sessions() as db, db.begin():
            ticket = await provider_for(rt).buy(db, order, now=rt.clock.now())
            serial = ticket.serial
    except MobilityError as exc:
        return await _shop(
            request, values=values, errors={exc.field or "product": exc.message}, status=exc.status_code
        )
    except IntegrityError:  # the same form twice at the same moment: show the first ticket
        async with rt.sessions() as db:
            earlier = await db.scalar(select(tm.Ticket).where(tm.Ticket.request_key == order.request_key))
        if earlier is None or earlier.user_id != user.id:
            raise
        serial = earlier.serial
    return Redirect(f"/tickets/meine?hinweis=gekauft#t-{serial}", status_code=303)


@post("/tickets/abo", include_in_schema=False, guards=[login_required])
async def subscribe(request: AnyRequest) -> Template | Redirect:
    rt = runtime_of(request)
    user = await current_user(request)
    assert user is not None
    form = await request.form()
    values = {k: str(form.get(k) or "").strip() for k in ("sub_product", "holder_name", "start")}
    try:
        start = date.fromisoformat(values["start"]) if values["start"] else None
    except ValueError:
        return await _shop(
            request, values=values, errors={"start": _("Bitte wählen Sie einen Monat.")}, status=400
        )
    order = tickets.Order(
        user_id=user.id,
        product=values["sub_product"] or "deutschland",
        level="D",
        city=_fares(rt).home_city,
        holder_name=values["holder_name"],
        start_month=start,
    )
    try:
        async with rt.sessions() as db, db.begin():
            await provider_for(rt).subscribe(db, order, now=rt.clock.now())
    except MobilityError as exc:
        field = {"product": "sub_product"}.get(exc.field or "", exc.field or "holder_name")
        return await _shop(request, values=values, errors={field: exc.message}, status=exc.status_code)
    return Redirect("/tickets/meine?hinweis=abo", status_code=303)


@post("/tickets/abo/{sub_id:int}/kuendigen", include_in_schema=False, guards=[login_required])
async def cancel_subscription(request: AnyRequest, sub_id: FromPath[int]) -> Template | Redirect:
    rt = runtime_of(request)
    user = await current_user(request)
    assert user is not None
    try:
        async with rt.sessions() as db, db.begin():
            await provider_for(rt).cancel(db, sub_id, user.id, now=rt.clock.now())
    except MobilityError as exc:
        return await _mine(request, error=exc.message, status=exc.status_code)
    return Redirect("/tickets/meine?hinweis=gekuendigt", status_code=303)


# --- the SEPA mandate ----------------------------------------------------------------------------------------


async def _mandate_page(
    request: AnyRequest, *, values: dict[str, str], errors: FieldErrors | None = None, status: int = 200
) -> Template:
    rt = runtime_of(request)
    fares = _fares(rt)
    given = errors or {}
    # In the order of the form, so that the error summary reads top to bottom.
    ordered: FieldErrors = {k: given[k] for k in ("account_holder", "iban", "consent") if k in given}
    errors = {**ordered, **given}
    return await render(
        request,
        "mobility/tickets_mandate.html",
        status_code=status,
        title=_("SEPA-Lastschriftmandat"),
        creditor=fares.sepa,
        values=values,
        errors=errors,
        contact=_contact(rt),
    )


@get("/tickets/mandat", include_in_schema=False, guards=[login_required])
async def mandate_form(request: AnyRequest) -> Template:
    user = await current_user(request)
    return await _mandate_page(request, values={"account_holder": user.display_name if user else ""})


@post("/tickets/mandat", include_in_schema=False, guards=[login_required])
async def mandate_submit(request: AnyRequest) -> Template | Redirect:
    rt = runtime_of(request)
    user = await current_user(request)
    assert user is not None
    form = await request.form()
    values = {k: str(form.get(k) or "") for k in ("iban", "account_holder", "consent")}
    errors: FieldErrors = {}
    if values["consent"] != "ja":
        errors["consent"] = _("Bitte bestätigen Sie das Mandat, damit wir abbuchen dürfen.")
    try:
        async with rt.sessions() as db, db.begin():
            if errors:
                # Check the bank details anyway, so that every error shows at once; nothing is stored.
                for check, value in (
                    (sepa.check_iban, values["iban"]),
                    (sepa.check_holder, values["account_holder"]),
                ):
                    try:
                        check(value)
                    except sepa.SepaError as exc:
                        errors[exc.field or "iban"] = exc.message
                raise tickets.MandateInvalid(errors)
            await provider_for(rt).sign_mandate(
                db, user.id, values["iban"], values["account_holder"], now=rt.clock.now()
            )
    except tickets.MandateInvalid as exc:
        return await _mandate_page(request, values=values, errors={**exc.errors, **errors}, status=400)
    except MobilityError as exc:
        return await _mandate_page(
            request, values=values, errors={exc.field or "iban": exc.message, **errors}, status=400
        )
    return Redirect("/tickets?hinweis=mandat", status_code=303)


# --- my tickets ----------------------------------------------------------------------------------------------


def qr_svg(code: str, title: str) -> str:
    return str(segno.make(code, error="l").svg_inline(omitsize=True, title=title, scale=1))


async def _mine(request: AnyRequest, *, error: str | None = None, status: int = 200) -> Template:
    rt = runtime_of(request)
    user = await current_user(request)
    assert user is not None
    now = rt.clock.now()
    async with rt.sessions() as db, db.begin():
        await provider_for(rt).renew(db, now=now)
        rows = await tickets.tickets_of(db, user.id)
        subs = await tickets.subscriptions_of(db, user.id)
    current = [t for t in rows if t.valid_until > now and t.status == tm.VALID]
    past = [t for t in rows if t not in current]
    return await render(
        request,
        "mobility/tickets_mine.html",
        status_code=status,
        title=_("Meine Tickets"),
        current=[(t, qr_svg(t.code, _("QR-Code des Tickets %(serial)s", serial=t.serial))) for t in current],
        past=past,
        subscriptions=subs,
        fares=_fares(rt),
        euro=euro,
        now=now,
        error=error,
        flashes=_flashes(request),
        contact=_contact(rt),
    )


@get("/tickets/meine", include_in_schema=False, guards=[login_required])
async def my_tickets(request: AnyRequest) -> Template:
    return await _mine(request)


@get("/tickets/meine/{serial:str}/qr.png", include_in_schema=False, guards=[login_required])
async def ticket_png(request: AnyRequest, serial: FromPath[str]) -> Response[bytes]:
    rt = runtime_of(request)
    user = await current_user(request)
    assert user is not None
    async with rt.sessions() as db:
        ticket = await db.scalar(select(tm.Ticket).where(tm.Ticket.serial == serial[:32]))
    if ticket is None or ticket.user_id != user.id:
        return Response(_("Dieses Ticket gibt es nicht.").encode(), status_code=404, media_type="text/plain")
    buffer = io.BytesIO()
    segno.make(ticket.code, error="l").save(buffer, kind="png", scale=6, border=4)
    return Response(
        buffer.getvalue(),
        media_type="image/png",
        headers={
            "Content-Disposition": f'attachment; filename="ticket-{ticket.serial}.png"',
            "Cache-Control": "private, no-store",
        },
    )


# --- the inspector -------------------------------------------------------------------------------------------


def inspector_data(rt: Runtime) -> dict[str, Any]:
    """Everything the inspector page needs offline: public keys, zones, products and the reasons' texts."""
    fares = _fares(rt)
    signer = tickets.signer_for(rt.settings)
    return {
        "keys": {signer.key_id: signer.public_key_b64},
        "cities": {name: sorted(info.neighbours) for name, info in fares.cities.items()},
        "home": fares.home_city,
        "levels": {key: level.name for key, level in fares.levels.items()},
        "timezone": rt.city.city.timezone,
        "messages": {
            "ok": _("Gültig"),
            "malformed": _("Kein Ticket-Code: Bitte den vollständigen Code eingeben."),
            "unknown_key": _("Ungültig: unbekannter Schlüssel – dieses Ticket stammt nicht von uns."),
            "forged": _("Ungültig: Die Signatur stimmt nicht. Das Ticket ist gefälscht oder verändert."),
            "expired": _("Ungültig: abgelaufen."),
            "not_yet_valid": _("Ungültig: noch nicht gültig."),
            "wrong_zone": _("Ungültig: Diese Preisstufe gilt hier nicht."),
            "replayed": _(
                "Ungültig: Dieses EinzelTicket wurde auf diesem Gerät schon kontrolliert (mehrfach benutzt)."
            ),
            "valid_until": _("gültig bis"),
            "valid_from": _("gültig ab"),
            "holder": _("Inhaber/in (mit Ausweis prüfen)"),
            "ticket_no": _("Ticketnummer"),
            "zone": _("Geltungsbereich"),
            "seen_before": _("Auf diesem Gerät schon gesehen am"),
            "no_crypto": _(
                "Dieser Browser kann Ed25519-Signaturen nicht prüfen. Bitte einen aktuellen Browser verwenden."
            ),
            "cleared": _("Die Liste der gesehenen Tickets ist geleert."),
        },
    }


@get("/kontrolle", include_in_schema=False, name="inspector")
async def inspector(request: AnyRequest) -> Template:
    rt = runtime_of(request)
    fares = _fares(rt)
    return await render(
        request,
        "mobility/inspector.html",
        title=_("Ticketkontrolle"),
        data=inspector_data(rt),
        cities=sorted(fares.cities),
        home=fares.home_city,
    )


@get("/kontrolle/sw.js", include_in_schema=False)
async def inspector_worker() -> Response[bytes]:
    """The inspector's service worker, limited to the scope /kontrolle (Service-Worker-Allowed)."""
    return Response(
        WORKER,
        media_type="text/javascript",
        headers={"Service-Worker-Allowed": "/kontrolle", "Cache-Control": "no-cache"},
    )


ROUTES: list[Any] = [
    shop,
    buy,
    subscribe,
    cancel_subscription,
    mandate_form,
    mandate_submit,
    my_tickets,
    ticket_png,
    inspector,
    inspector_worker,
    create_static_files_router(
        path="/static/tickets", directories=[str(STATIC)], include_in_schema=False, name="tickets-static"
    ),
]
