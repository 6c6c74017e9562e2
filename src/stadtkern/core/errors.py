"""The base of every module's refusal: a message a person can act on, the field at fault, an HTTP status."""

from __future__ import annotations


class DomainError(Exception):
    """A refused request. ``field`` names the form field or query parameter at fault, if one is.

    Modules subclass it (AppointmentError, MobilityError, …) and set ``status_code`` and ``code``; handlers
    turn it into a page with the message next to the field, or the JSON error shape.
    """

    status_code = 400
    code = "invalid"

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
