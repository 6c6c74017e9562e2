"""Pages of the core's accounts part: register, verify, log in (with TOTP), passwords, account page.

Session states (server-side; the cookie holds only a random id that changes at every login step):
``{"uid", "epoch"}`` logged in (read by ``stadtkern.web.auth.current_user``),
``{"pending_uid", "epoch", "next"}`` password right, second factor owed,
``{"password_uid", "epoch", "next"}`` password right, a new one must be chosen first.
A full session is only ever written by this module, after every required step: that is where
``must_change_password`` and the second factor are enforced.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any
from urllib.parse import urlsplit

from litestar import Request, get, post
from litestar.params import FromPath, FromQuery, QueryParameter
from litestar.response import Redirect, Template
from litestar.types import ControllerRouterHandler
from sqlalchemy import select

from stadtkern.app import SESSION_COOKIE
from stadtkern.core.accounts import services, twofactor
from stadtkern.core.accounts.models import User
from stadtkern.core.accounts.services import AccountError, LoginResult, MailSetup
from stadtkern.core.accounts.tokens import VERIFY_EMAIL, find_token
from stadtkern.core.i18n import LOCALES, current_locale, format_local
from stadtkern.core.i18n import gettext as _
from stadtkern.web.auth import current_user, login_required, pending_two_factor_user
from stadtkern.web.forms import FieldErrors, Form
from stadtkern.web.locale import LANG_COOKIE
from stadtkern.web.runtime import runtime_of
from stadtkern.web.templating import render

AnyRequest = Request[Any, Any, Any]
NextParam = Annotated[str | None, QueryParameter(name="next")]
PASSWORD_STEP = "password_uid"  # noqa: S105 (a session key, not a password)


def _notices() -> dict[str, str]:
    return {
        "bestaetigt": _("Ihre E-Mail-Adresse ist bestätigt. Sie können sich jetzt anmelden."),
        "passwort-neu": _("Ihr neues Passwort ist gespeichert. Bitte melden Sie sich damit an."),
        "abgemeldet": _("Sie sind abgemeldet."),
        "gespeichert": _("Ihre Angaben sind gespeichert."),
        "passwort": _("Ihr Passwort ist geändert. Alle anderen Sitzungen wurden beendet."),
        "zwei-faktor-an": _("Die Zwei-Faktor-Anmeldung ist eingeschaltet."),
        "zwei-faktor-aus": _("Die Zwei-Faktor-Anmeldung ist ausgeschaltet."),
    }


def _flashes(notice: str | None, category: str = "success") -> list[dict[str, str]]:
    message = _notices().get(notice or "")
    return [{"category": category, "message": message}] if message else []


def safe_next(target: str | None, default: str = "/konto") -> str:
    """Only same-site paths: never redirect elsewhere after login."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return default
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return default
    return target


async def _finish_login(request: AnyRequest, user: User, next_path: str) -> Redirect:
    """Every step passed: note the login, forget the failures, start the full session."""
    rt = runtime_of(request)
    async with rt.sessions() as db:
        db_user = await db.get(User, user.id)
        assert db_user is not None
        await services.complete_login(
            db, db_user, ip=_ip(request), secret_key=rt.settings.secret_key, now=rt.clock.now()
        )
        await db.commit()
    await start_session(request, {"uid": user.id, "epoch": user.session_epoch})
    return Redirect(next_path)


def _mail(request: AnyRequest) -> MailSetup:
    rt = runtime_of(request)
    assert rt.templates is not None
    # Production links come from STADTKERN_PUBLIC_URL, never from the request's (forgeable) Host header.
    base_url = rt.settings.public_url or str(request.base_url).rstrip("/")
    return MailSetup(templates=rt.templates, base_url=base_url)


def _ip(request: AnyRequest) -> str:
    return request.client.host if request.client else "unknown"


def _now(request: AnyRequest) -> datetime:
    return runtime_of(request).clock.now()


async def start_session(request: AnyRequest, data: dict[str, Any]) -> None:
    """Write new session data under a new session id (no session fixation).

    Litestar keeps the id of the cookie the browser sent, even after ``clear_session``. So the old
    entry is deleted from the store and the cookie is dropped from this request's parsed cookies
    (the session middleware reads the same parsed dict from the scope state); the middleware then
    generates a fresh id when it stores the session.
    """
    old_id = request.cookies.get(SESSION_COOKIE)
    if old_id:
        await request.app.stores.get("sessions").delete(old_id)
        request.cookies.pop(SESSION_COOKIE, None)
    request.clear_session()
    request.set_session(data)


async def _session_user(request: AnyRequest, key: str) -> User | None:
    """The user of an intermediate login step stored under ``key`` (same checks as web.auth)."""
    if "session" not in request.scope:
        return None
    data = request.session
    uid = data.get(key) if data else None
    if not isinstance(uid, int):
        return None
    async with runtime_of(request).sessions() as db:
        user = await db.scalar(select(User).where(User.id == uid))
    if user is None or not user.is_active or user.deleted_at is not None:
        return None
    if data.get("epoch") != user.session_epoch:
        return None
    return user


def _throttled_message(until: datetime | None) -> str:
    when = format_local(until, "HH:mm") if until else ""
    return _(
        "Zu viele fehlgeschlagene Anmeldeversuche. Bitte versuchen Sie es ab %(time)s Uhr erneut.",
        time=when,
    )


def _retry_after(request: AnyRequest, until: datetime | None) -> str:
    if until is None:
        return "900"
    return str(max(1, int((until - _now(request)).total_seconds()) + 1))


async def _next_step(request: AnyRequest, user: User, next_path: str) -> Redirect:
    """After the password: the forced password change, the second factor, or the full session."""
    if user.must_change_password:
        await start_session(request, {PASSWORD_STEP: user.id, "epoch": user.session_epoch, "next": next_path})
        return Redirect("/konto/passwort")
    if twofactor.requires_second_factor(user):
        await start_session(request, {"pending_uid": user.id, "epoch": user.session_epoch, "next": next_path})
        return Redirect("/konto/zwei-faktor")
    return await _finish_login(request, user, next_path)


# --- Registration and verification ------------------------------------------------------------------


async def _register_page(
    request: AnyRequest, errors: FieldErrors, values: dict[str, str], status_code: int = 200
) -> Template:
    return await render(
        request,
        "accounts/register.html",
        status_code=status_code,
        title=_("Registrieren"),
        errors=errors,
        values=values,
        purposes=runtime_of(request).consent_purposes,
        min_length=services.MIN_PASSWORD_LENGTH,
    )


async def _check_mail_page(request: AnyRequest, title: str, message: str) -> Template:
    return await render(request, "accounts/check_mail.html", title=title, message=message)


@get("/konto/registrieren", include_in_schema=False, name="register")
async def register_form(request: AnyRequest) -> Template | Redirect:
    if await current_user(request) is not None:
        return Redirect("/konto")
    return await _register_page(request, {}, {})


@post("/konto/registrieren", include_in_schema=False)
async def register_submit(request: AnyRequest, data: Form) -> Template:
    rt = runtime_of(request)
    errors = services.validate_registration(data)
    if errors:
        return await _register_page(request, errors, data, status_code=400)
    purposes = {purpose.key for purpose in rt.consent_purposes}
    consents = sorted(key for key in purposes if data.get(f"consent_{key}") == "on")
    async with rt.sessions() as db:
        await services.register(
            db,
            email=data["email"],
            password=data["password"],
            display_name=data.get("display_name", ""),
            consents=consents,
            locale=current_locale(),
            now=rt.clock.now(),
            mail=_mail(request),
        )
        await db.commit()
    return await _check_mail_page(
        request,
        _("Fast geschafft: Bitte prüfen Sie Ihr Postfach"),
        _(
            "Wir haben eine E-Mail an %(email)s geschickt. Bitte öffnen Sie den Link darin, um Ihre "
            "E-Mail-Adresse zu bestätigen. Der Link ist 48 Stunden gültig.",
            email=services.normalise_email(data["email"]),
        ),
    )


@get("/konto/bestaetigen/{token:str}", include_in_schema=False, name="verify-email")
async def verify_form(request: AnyRequest, token: FromPath[str]) -> Template:
    rt = runtime_of(request)
    async with rt.sessions() as db:
        valid = await find_token(db, token, VERIFY_EMAIL, now=rt.clock.now()) is not None
    return await render(
        request,
        "accounts/verify.html",
        status_code=200 if valid else 400,
        title=_("E-Mail-Adresse bestätigen"),
        valid=valid,
        token=token,
    )


@post("/konto/bestaetigen/{token:str}", include_in_schema=False)
async def verify_submit(request: AnyRequest, token: FromPath[str]) -> Template | Redirect:
    rt = runtime_of(request)
    async with rt.sessions() as db:
        user = await services.verify_email(db, token, now=rt.clock.now())
        await db.commit()
    if user is None:
        return await render(
            request,
            "accounts/verify.html",
            status_code=400,
            title=_("E-Mail-Adresse bestätigen"),
            valid=False,
            token=token,
        )
    return Redirect("/konto/anmelden?hinweis=bestaetigt")


@post("/konto/bestaetigung-senden", include_in_schema=False)
async def resend_verification(request: AnyRequest, data: Form) -> Template:
    rt = runtime_of(request)
    email = data.get("email", "")
    async with rt.sessions() as db:
        await services.resend_verification(db, email, now=rt.clock.now(), mail=_mail(request))
        await db.commit()
    return await _check_mail_page(
        request,
        _("Bitte prüfen Sie Ihr Postfach"),
        _(
            "Wenn zu dieser Adresse ein noch nicht bestätigtes Konto gehört, haben wir einen neuen "
            "Bestätigungslink geschickt. Er ist 48 Stunden gültig."
        ),
    )


# --- Login, second factor, logout --------------------------------------------------------------------


async def _login_page(
    request: AnyRequest,
    *,
    errors: FieldErrors | None = None,
    values: dict[str, str] | None = None,
    next_path: str = "/konto",
    status_code: int = 200,
    notice: str | None = None,
    unverified_email: str | None = None,
    throttled: str | None = None,
) -> Template:
    return await render(
        request,
        "accounts/login.html",
        status_code=status_code,
        title=_("Anmelden"),
        errors=errors or {},
        values=values or {},
        next_path=next_path,
        flashes=_flashes(notice),
        unverified_email=unverified_email,
        throttled=throttled,
    )


@get("/konto/anmelden", include_in_schema=False, name="login")
async def login_form(
    request: AnyRequest, next_path: NextParam = None, hinweis: FromQuery[str | None] = None
) -> Template | Redirect:
    target = safe_next(next_path)
    if await current_user(request) is not None and hinweis is None:
        return Redirect(target)
    return await _login_page(request, next_path=target, notice=hinweis)


@post("/konto/anmelden", include_in_schema=False)
async def login_submit(request: AnyRequest, data: Form) -> Template | Redirect:
    rt = runtime_of(request)
    next_path = safe_next(data.get("next"))
    values = {"email": data.get("email", "")}
    errors: FieldErrors = {}
    if not values["email"].strip():
        errors["email"] = _("Bitte geben Sie Ihre E-Mail-Adresse an.")
    if not data.get("password"):
        errors["password"] = _("Bitte geben Sie Ihr Passwort an.")
    if errors:
        return await _login_page(request, errors=errors, values=values, next_path=next_path, status_code=400)
    async with rt.sessions() as db:
        result = await services.authenticate(
            db,
            email=values["email"],
            password=data["password"],
            ip=_ip(request),
            secret_key=rt.settings.secret_key,
            now=rt.clock.now(),
        )
        await db.commit()
    if result.status == "throttled":
        page = await _login_page(
            request,
            values=values,
            next_path=next_path,
            status_code=429,
            throttled=_throttled_message(result.retry_at),
        )
        page.headers["Retry-After"] = _retry_after(request, result.retry_at)
        return page
    if result.status == "unverified":
        return await _login_page(
            request,
            errors={
                "email": _(
                    "Sie haben Ihre E-Mail-Adresse noch nicht bestätigt. Bitte öffnen Sie den Link aus "
                    "unserer E-Mail oder fordern Sie unten einen neuen an."
                )
            },
            values=values,
            next_path=next_path,
            status_code=400,
            unverified_email=values["email"],
        )
    if result.status != "ok" or result.user is None:
        return await _login_page(
            request,
            errors={"password": _("E-Mail-Adresse oder Passwort ist nicht richtig.")},
            values=values,
            next_path=next_path,
            status_code=400,
        )
    return await _next_step(request, result.user, next_path)


async def _two_factor_page(
    request: AnyRequest,
    user: User,
    *,
    action: str,
    errors: FieldErrors,
    status_code: int = 200,
    throttled: str | None = None,
) -> Template:
    rt = runtime_of(request)
    qr = secret = None
    if user.totp_enabled_at is None:
        async with rt.sessions() as db:
            db_user = await db.get(User, user.id)
            assert db_user is not None
            raw = await twofactor.enrolment_secret(db, db_user)
            await db.commit()
        qr = twofactor.qr_svg(raw, user.email or str(user.id), _("QR-Code für Ihre Authenticator-App"))
        secret = twofactor.group_secret(raw)
    return await render(
        request,
        "accounts/two_factor.html",
        status_code=status_code,
        title=_("Zwei-Faktor-Anmeldung einrichten") if qr else _("Bestätigungscode eingeben"),
        errors=errors,
        values={},
        action=action,
        qr=qr,
        secret=secret,
        throttled=throttled,
    )


@get("/konto/zwei-faktor", include_in_schema=False, name="two-factor")
async def two_factor_form(request: AnyRequest) -> Template | Redirect:
    user = await pending_two_factor_user(request)
    if user is None:
        return Redirect("/konto/anmelden")
    return await _two_factor_page(request, user, action="/konto/zwei-faktor", errors={})


async def _check_code(request: AnyRequest, user: User, code: str) -> LoginResult:
    rt = runtime_of(request)
    async with rt.sessions() as db:
        db_user = await db.get(User, user.id)
        assert db_user is not None
        result = await services.check_second_factor(
            db,
            db_user,
            code,
            ip=_ip(request),
            secret_key=rt.settings.secret_key,
            now=rt.clock.now(),
            enrol=db_user.totp_enabled_at is None,
        )
        await db.commit()
    return result


async def _code_refused(request: AnyRequest, user: User, result: LoginResult, action: str) -> Template:
    if result.status == "throttled":
        page = await _two_factor_page(
            request,
            user,
            action=action,
            errors={},
            status_code=429,
            throttled=_throttled_message(result.retry_at),
        )
        page.headers["Retry-After"] = _retry_after(request, result.retry_at)
        return page
    return await _two_factor_page(
        request,
        user,
        action=action,
        errors={"code": _("Der Code ist nicht richtig. Bitte geben Sie den aktuellen 6-stelligen Code ein.")},
        status_code=400,
    )


@post("/konto/zwei-faktor", include_in_schema=False)
async def two_factor_submit(request: AnyRequest, data: Form) -> Template | Redirect:
    user = await pending_two_factor_user(request)
    if user is None:
        return Redirect("/konto/anmelden")
    result = await _check_code(request, user, data.get("code", ""))
    if result.status != "ok":
        return await _code_refused(request, user, result, "/konto/zwei-faktor")
    next_path = safe_next(request.session.get("next"))
    return await _finish_login(request, user, next_path)


@post("/konto/abmelden", include_in_schema=False, name="logout")
async def logout(request: AnyRequest) -> Redirect:
    request.clear_session()
    return Redirect("/konto/anmelden?hinweis=abgemeldet")


# --- Passwords ---------------------------------------------------------------------------------------


async def _password_page(
    request: AnyRequest, *, forced: bool, errors: FieldErrors, status_code: int = 200
) -> Template:
    return await render(
        request,
        "accounts/password.html",
        status_code=status_code,
        title=_("Neues Passwort festlegen") if forced else _("Passwort ändern"),
        forced=forced,
        errors=errors,
        values={},
        min_length=services.MIN_PASSWORD_LENGTH,
    )


@get("/konto/passwort", include_in_schema=False, name="change-password")
async def password_form(request: AnyRequest) -> Template | Redirect:
    if await current_user(request) is not None:
        return await _password_page(request, forced=False, errors={})
    if await _session_user(request, PASSWORD_STEP) is not None:
        return await _password_page(request, forced=True, errors={})
    return Redirect("/konto/anmelden?next=/konto/passwort")


@post("/konto/passwort", include_in_schema=False)
async def password_submit(request: AnyRequest, data: Form) -> Template | Redirect:
    rt = runtime_of(request)
    user = await current_user(request)
    forced = False
    if user is None:
        user = await _session_user(request, PASSWORD_STEP)
        forced = True
    if user is None:
        return Redirect("/konto/anmelden")
    async with rt.sessions() as db:
        db_user = await db.get(User, user.id)
        assert db_user is not None
        try:
            await services.change_password(
                db,
                db_user,
                current=None if forced else data.get("current_password", ""),
                new=data.get("password", ""),
                repeat=data.get("password_repeat", ""),
                now=rt.clock.now(),
            )
        except AccountError as exc:
            return await _password_page(
                request, forced=forced, errors={exc.field or "password": exc.message}, status_code=400
            )
        await db.commit()
    if not forced:
        # Other sessions end with the new epoch; this one stays valid.
        request.set_session({"uid": db_user.id, "epoch": db_user.session_epoch})
        return Redirect("/konto?hinweis=passwort")
    next_path = safe_next(request.session.get("next"))
    return await _next_step(request, db_user, next_path)


@get("/konto/passwort-vergessen", include_in_schema=False, name="forgot-password")
async def forgot_form(request: AnyRequest) -> Template:
    return await render(request, "accounts/forgot.html", title=_("Passwort vergessen"), errors={}, values={})


@post("/konto/passwort-vergessen", include_in_schema=False)
async def forgot_submit(request: AnyRequest, data: Form) -> Template:
    rt = runtime_of(request)
    try:
        email = services.check_email(data.get("email", ""))
    except AccountError as exc:
        return await render(
            request,
            "accounts/forgot.html",
            status_code=400,
            title=_("Passwort vergessen"),
            errors={"email": exc.message},
            values=data,
        )
    async with rt.sessions() as db:
        await services.request_password_reset(db, email, now=rt.clock.now(), mail=_mail(request))
        await db.commit()
    return await _check_mail_page(
        request,
        _("Bitte prüfen Sie Ihr Postfach"),
        _(
            "Wenn zu %(email)s ein Konto gehört, haben wir einen Link geschickt, mit dem Sie ein neues "
            "Passwort festlegen können. Der Link ist eine Stunde gültig.",
            email=email,
        ),
    )


async def _reset_page(
    request: AnyRequest, token: str, *, valid: bool, errors: FieldErrors, status_code: int = 200
) -> Template:
    return await render(
        request,
        "accounts/reset.html",
        status_code=status_code,
        title=_("Neues Passwort festlegen"),
        token=token,
        valid=valid,
        errors=errors,
        values={},
        min_length=services.MIN_PASSWORD_LENGTH,
    )


@get("/konto/passwort-neu/{token:str}", include_in_schema=False, name="reset-password")
async def reset_form(request: AnyRequest, token: FromPath[str]) -> Template:
    rt = runtime_of(request)
    async with rt.sessions() as db:
        valid = await services.reset_token_valid(db, token, now=rt.clock.now())
    return await _reset_page(request, token, valid=valid, errors={}, status_code=200 if valid else 400)


@post("/konto/passwort-neu/{token:str}", include_in_schema=False)
async def reset_submit(request: AnyRequest, token: FromPath[str], data: Form) -> Template | Redirect:
    rt = runtime_of(request)
    async with rt.sessions() as db:
        try:
            await services.reset_password(
                db,
                token,
                password=data.get("password", ""),
                repeat=data.get("password_repeat", ""),
                now=rt.clock.now(),
            )
        except AccountError as exc:
            if exc.field == "token":
                return await _reset_page(request, token, valid=False, errors={}, status_code=400)
            return await _reset_page(
                request, token, valid=True, errors={exc.field or "password": exc.message}, status_code=400
            )
        await db.commit()
    return Redirect("/konto/anmelden?hinweis=passwort-neu")


# --- Account page ------------------------------------------------------------------------------------


async def _account_page(
    request: AnyRequest,
    user: User,
    *,
    errors: FieldErrors | None = None,
    values: dict[str, str] | None = None,
    notice: str | None = None,
    status_code: int = 200,
) -> Template:
    return await render(
        request,
        "accounts/account.html",
        status_code=status_code,
        title=_("Mein Konto"),
        account=user,
        errors=errors or {},
        values=values or {"display_name": user.display_name},
        flashes=_flashes(notice),
        languages=LOCALES,
        two_factor_required=user.needs_two_factor,
    )


@get("/konto", include_in_schema=False, guards=[login_required], name="account")
async def account(request: AnyRequest, hinweis: FromQuery[str | None] = None) -> Template:
    user = await current_user(request)
    assert user is not None
    return await _account_page(request, user, notice=hinweis)


@post("/konto", include_in_schema=False, guards=[login_required])
async def account_submit(request: AnyRequest, data: Form) -> Template | Redirect:
    rt = runtime_of(request)
    user = await current_user(request)
    assert user is not None
    locale = data.get("locale", user.locale)
    async with rt.sessions() as db:
        db_user = await db.get(User, user.id)
        assert db_user is not None
        try:
            await services.update_profile(
                db, db_user, display_name=data.get("display_name", ""), locale=locale
            )
        except AccountError as exc:
            return await _account_page(
                request, user, errors={exc.field or "display_name": exc.message}, values=data, status_code=400
            )
        await db.commit()
    response = Redirect("/konto?hinweis=gespeichert")
    response.set_cookie(
        LANG_COOKIE,
        locale,
        max_age=365 * 24 * 3600,
        samesite="lax",
        secure=rt.settings.production,
        httponly=True,
    )
    return response


@get("/konto/zwei-faktor/einrichten", include_in_schema=False, guards=[login_required])
async def enable_two_factor_form(request: AnyRequest) -> Template | Redirect:
    user = await current_user(request)
    assert user is not None
    if user.totp_enabled_at is not None:
        return Redirect("/konto")
    return await _two_factor_page(request, user, action="/konto/zwei-faktor/einrichten", errors={})


@post("/konto/zwei-faktor/einrichten", include_in_schema=False, guards=[login_required])
async def enable_two_factor_submit(request: AnyRequest, data: Form) -> Template | Redirect:
    user = await current_user(request)
    assert user is not None
    if user.totp_enabled_at is not None:
        return Redirect("/konto")
    result = await _check_code(request, user, data.get("code", ""))
    if result.status != "ok":
        return await _code_refused(request, user, result, "/konto/zwei-faktor/einrichten")
    return Redirect("/konto?hinweis=zwei-faktor-an")


@post("/konto/zwei-faktor/ausschalten", include_in_schema=False, guards=[login_required])
async def disable_two_factor(request: AnyRequest, data: Form) -> Template | Redirect:
    rt = runtime_of(request)
    user = await current_user(request)
    assert user is not None
    if user.needs_two_factor or user.totp_enabled_at is None:
        return Redirect("/konto")
    async with rt.sessions() as db:
        db_user = await db.get(User, user.id)
        assert db_user is not None
        if not twofactor.check_code(db_user, data.get("code", ""), rt.clock.now()):
            return await _account_page(
                request,
                user,
                errors={
                    "code": _(
                        "Der Code ist nicht richtig. Bitte geben Sie den aktuellen 6-stelligen Code ein."
                    )
                },
                status_code=400,
            )
        await twofactor.disable(db, db_user)
        await db.commit()
    return Redirect("/konto?hinweis=zwei-faktor-aus")


ROUTES: list[ControllerRouterHandler] = [
    register_form,
    register_submit,
    verify_form,
    verify_submit,
    resend_verification,
    login_form,
    login_submit,
    two_factor_form,
    two_factor_submit,
    logout,
    password_form,
    password_submit,
    forgot_form,
    forgot_submit,
    reset_form,
    reset_submit,
    account,
    account_submit,
    enable_two_factor_form,
    enable_two_factor_submit,
    disable_two_factor,
]
