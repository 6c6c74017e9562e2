"""Accessibility feedback: stored, and mailed to the city's accessibility contact."""

from __future__ import annotations

from datetime import datetime

from jinja2 import Environment
from sqlalchemy.ext.asyncio import AsyncSession

from stadtkern.core.accounts.services import EMAIL_RE
from stadtkern.core.city import CityProfile
from stadtkern.core.i18n import gettext as _
from stadtkern.core.mail.services import render_mail, send_mail
from stadtkern.pages.models import AccessibilityFeedback

MAX_MESSAGE = 5000


def validate_feedback(form: dict[str, str]) -> dict[str, str]:
    """Field name -> message for every problem (empty when the form is fine)."""
    errors: dict[str, str] = {}
    message = form.get("message", "").strip()
    if not message:
        errors["message"] = _("Bitte beschreiben Sie die Barriere, auf die Sie gestoßen sind.")
    elif len(message) > MAX_MESSAGE:
        errors["message"] = _("Bitte fassen Sie sich kürzer (höchstens %(n)s Zeichen).", n=MAX_MESSAGE)
    email = form.get("email", "").strip()
    if email and not EMAIL_RE.match(email):
        errors["email"] = _("Das ist keine gültige E-Mail-Adresse (Beispiel: name@beispiel.de).")
    if len(form.get("name", "")) > 120:
        errors["name"] = _("Der Name ist zu lang (höchstens 120 Zeichen).")
    return errors


async def submit_feedback(
    session: AsyncSession,
    *,
    form: dict[str, str],
    user_id: int | None,
    now: datetime,
    city: CityProfile,
    templates: Environment,
) -> AccessibilityFeedback:
    feedback = AccessibilityFeedback(
        created_at=now,
        user_id=user_id,
        page=form.get("page", "").strip()[:300],
        message=form["message"].strip(),
        name=form.get("name", "").strip()[:120],
        email=form.get("email", "").strip()[:254],
    )
    session.add(feedback)
    await session.flush()
    subject, body = render_mail(templates, "accessibility_feedback", feedback=feedback, city=city)
    await send_mail(session, to=city.accessibility.contact_email, subject=subject, body_text=body, now=now)
    return feedback
