"""Mail about new alerts: to whoever is on call for the asset's organisation, else to all its operators.

One mail per person and evaluation run lists all of that person's new alerts (a failing gateway silences
dozens of streams at once: one mail, not dozens). Mails go through the core outbox in the evaluation's
transaction, in each recipient's language.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime

from jinja2 import Environment
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from stadtkern.core.accounts.models import User
from stadtkern.core.i18n import use_locale
from stadtkern.core.mail.services import render_mail, send_mail
from stadtkern.twin.alerts import models as m
from stadtkern.twin.alerts import rota
from stadtkern.twin.alerts.services import BASE, alert_url
from stadtkern.twin.models import Asset

MAX_LISTED = 50


async def mail_new_alerts(
    session: AsyncSession, alerts: list[m.Alert], *, templates: Environment, base_url: str, now: datetime
) -> int:
    """Queue the mails about ``alerts`` (just raised); returns how many mails were queued."""
    if not alerts:
        return 0
    rule_ids = {a.rule_id for a in alerts}
    rules = await session.execute(
        select(m.AlertRule.id, m.AlertRule.title, m.AlertRule.severity).where(m.AlertRule.id.in_(rule_ids))
    )
    titles: dict[int, str] = {}
    severities: dict[int, str] = {}
    for rule_id, title, severity in rules.all():
        titles[rule_id], severities[rule_id] = title, severity
    asset_rows = await session.execute(
        select(Asset.id, Asset.name).where(Asset.id.in_({a.asset_id for a in alerts}))
    )
    names: dict[int, str] = {asset_id: name for asset_id, name in asset_rows.all()}

    per_person: dict[int, list[m.Alert]] = defaultdict(list)
    people: dict[int, User] = {}
    for organisation in sorted({a.organisation for a in alerts}):
        recipients = await rota.recipients(session, organisation, now)
        for person in recipients:
            people[person.id] = person
            per_person[person.id].extend(a for a in alerts if a.organisation == organisation)

    for person_id, theirs in per_person.items():
        person = people[person_id]
        assert person.email is not None
        items = [
            {
                "rule": titles.get(a.rule_id, ""),
                "severity": severities.get(a.rule_id, ""),
                "asset": names.get(a.asset_id, a.asset_code),
                "code": a.asset_code,
                "stream": a.stream_key,
                "raised_at": a.raised_at,
                "value": a.value,
                "url": base_url.rstrip("/") + alert_url(a.id),
            }
            for a in sorted(theirs, key=lambda a: a.raised_at)
        ]
        with use_locale(person.locale or "de"):
            subject, body = render_mail(
                templates,
                "alerts_new",
                person=person,
                items=items[:MAX_LISTED],
                more=max(0, len(items) - MAX_LISTED),
                count=len(items),
                inbox_url=base_url.rstrip("/") + BASE,
            )
        await send_mail(session, to=person.email, subject=subject, body_text=body, now=now, user_id=person.id)
    return len(per_person)
