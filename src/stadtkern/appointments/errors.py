"""Why a booking request was refused, in words a citizen can act on (German first, translatable)."""

from __future__ import annotations

from stadtkern.core.errors import DomainError


class AppointmentError(DomainError):
    """A refused request of this module (see core/errors.py)."""


class NotFound(AppointmentError):
    status_code = 404
    code = "not_found"


class SlotTaken(AppointmentError):
    """The time is no longer free (someone else was faster, or it was blocked)."""

    status_code = 409
    code = "slot_taken"


class LimitReached(AppointmentError):
    """A per-person limit on open bookings."""

    status_code = 409
    code = "limit_reached"


class TooManyRequests(AppointmentError):
    status_code = 429
    code = "too_many_requests"
