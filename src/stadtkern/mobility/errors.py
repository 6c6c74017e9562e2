"""Why a mobility request was refused, in words a person can act on (German first, translatable)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from stadtkern.core.errors import DomainError


class MobilityError(DomainError):
    """A refused request of this module (see core/errors.py)."""


class NotFound(MobilityError):
    status_code = 404
    code = "not_found"


class Conflict(MobilityError):
    status_code = 409
    code = "conflict"


class TooManyRequests(MobilityError):
    status_code = 429
    code = "too_many_requests"


class FeedInvalid(MobilityError):
    """A GTFS feed was refused; ``problems`` lists every error (file, row, field, message)."""

    status_code = 422
    code = "feed_invalid"

    def __init__(self, message: str, problems: Sequence[Any] = ()) -> None:
        super().__init__(message)
        self.problems: list[Any] = list(problems)
