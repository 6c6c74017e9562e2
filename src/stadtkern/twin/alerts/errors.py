"""Domain errors of the alerts, with a translated message a person can act on and the field it concerns."""

from __future__ import annotations


class AlertError(Exception):
    """Bad input or a refused action. ``field`` names the form field (None: the whole form)."""

    status_code = 400

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class InvalidInput(AlertError):
    """Several fields at once: ``errors`` maps field names to messages."""

    def __init__(self, errors: dict[str, str]) -> None:
        first = next(iter(errors.items()))
        super().__init__(first[1], first[0])
        self.errors = errors


class Forbidden(AlertError):
    status_code = 403


class NotFound(AlertError):
    status_code = 404
