"""Which error becomes which HTTP status: shared by the HTTP API and batch requests."""

from __future__ import annotations

from stadtkern.sensorthings.batch import BatchError
from stadtkern.sensorthings.dataarray import DataArrayError
from stadtkern.sensorthings.ingest import IngestError
from stadtkern.sensorthings.query.ast import QueryError, UnsupportedOption
from stadtkern.sensorthings.store.read import NotFound
from stadtkern.sensorthings.store.write import TargetMissing, WriteError
from stadtkern.sensorthings.values import ValueError_


class Forbidden(PermissionError):
    """The key may not write there (becomes 403)."""


class Unauthorized(Exception):
    """No key, or an unknown one, where writing needs one (becomes 401)."""


def status_for(exc: BaseException) -> int | None:
    """The status for an expected error; None for a bug (500, logged)."""
    if isinstance(exc, UnsupportedOption):
        return 501
    if isinstance(exc, (QueryError, WriteError, IngestError, ValueError_, DataArrayError, BatchError)):
        return 400
    if isinstance(exc, (NotFound, TargetMissing)):
        return 404
    if isinstance(exc, Forbidden):
        return 403
    if isinstance(exc, Unauthorized):
        return 401
    return None
