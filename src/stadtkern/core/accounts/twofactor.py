"""Second factor (TOTP): enrolment with a QR code, confirmation and checking codes."""

from __future__ import annotations

from datetime import datetime

import segno
from sqlalchemy.ext.asyncio import AsyncSession

from stadtkern.core.accounts.models import User
from stadtkern.core.security import new_totp_secret, totp_step, totp_uri


def requires_second_factor(user: User) -> bool:
    """Operators and admins must use it; anyone else who switched it on, too."""
    return user.needs_two_factor or user.totp_enabled_at is not None


async def enrolment_secret(session: AsyncSession, user: User) -> str:
    """The secret to show while enrolling; created once, kept until confirmed or replaced."""
    if user.totp_enabled_at is not None:
        raise ValueError("second factor already enrolled")
    if not user.totp_secret:
        user.totp_secret = new_totp_secret()
        await session.flush()
    return user.totp_secret


def qr_svg(secret: str, account: str, title: str) -> str:
    """An inline SVG QR code of the otpauth URI (no external request, scales with CSS)."""
    code = segno.make(totp_uri(secret, account), error="m")
    svg: str = code.svg_inline(
        scale=4, border=4, omitsize=True, title=title, svgclass="qr-code", dark="#000", light="#fff"
    )
    return svg.replace("<svg ", '<svg role="img" ', 1)


def group_secret(secret: str) -> str:
    """The secret in groups of four characters, easier to type."""
    return " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))


def check_code(user: User, code: str, now: datetime) -> bool:
    """A valid code, used at most once: a code seen (or one older) is refused, so a code read over
    someone's shoulder cannot be replayed within its validity window. The caller commits."""
    if not user.totp_secret:
        return False
    step = totp_step(user.totp_secret, code, now.timestamp())
    if step is None or (user.totp_last_step is not None and step <= user.totp_last_step):
        return False
    user.totp_last_step = step
    return True


async def confirm_enrolment(session: AsyncSession, user: User, code: str, *, now: datetime) -> bool:
    if user.totp_enabled_at is not None or not check_code(user, code, now):
        return False
    user.totp_enabled_at = now
    await session.flush()
    return True


async def disable(session: AsyncSession, user: User) -> None:
    """Switch TOTP off (only for users whose role does not require it; the caller checks)."""
    user.totp_secret = None
    user.totp_enabled_at = None
    user.totp_last_step = None
    await session.flush()
