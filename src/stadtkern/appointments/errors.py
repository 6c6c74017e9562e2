"""Why a booking request was refused, in words a citizen can act on (German first, translatable)."""

from __future__ import annotations


class AppointmentError(Exception):
    """A refused request. ``field`` names the form field or query parameter at fault, if one is."""

    status_code = 400
    code = "invalid"

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


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
