"""JSON batch requests (``POST /$batch``): several requests in one, with atomicity groups.

Format (as FROST's JSON batch): ``{"requests": [{"id", "method", "url", "body"?, "atomicityGroup"?}]}``
answered by ``{"responses": [{"id", "status", "location"?, "body"?}]}``. A later request may refer to an
entity created earlier in the batch by ``$<id>`` at the start of its URL (``$1/Datastreams``). Requests in
one atomicity group share a transaction: if one fails, none of them is stored.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

MAX_REQUESTS = 1000
METHODS = {"get", "post", "patch", "put", "delete"}


class BatchError(ValueError):
    """The batch itself is malformed (400 for the whole request)."""


@dataclass
class BatchRequest:
    id: str
    method: str
    url: str
    body: Any
    group: str | None


def parse_batch(body: Any) -> list[BatchRequest]:
    if not isinstance(body, dict) or not isinstance(body.get("requests"), list):
        raise BatchError('a batch is {"requests": [{"id", "method", "url", "body"}, ...]}')
    requests = body["requests"]
    if len(requests) > MAX_REQUESTS:
        raise BatchError(f"a batch holds at most {MAX_REQUESTS} requests")
    parsed: list[BatchRequest] = []
    seen: set[str] = set()
    for index, item in enumerate(requests):
        where = f"requests[{index}]"
        if not isinstance(item, dict):
            raise BatchError(f"{where} must be an object")
        method = str(item.get("method", "")).lower()
        if method not in METHODS:
            raise BatchError(f"{where}/method must be one of {', '.join(sorted(METHODS))}")
        url = item.get("url")
        if not isinstance(url, str) or not url:
            raise BatchError(f"{where}/url must be a relative URL such as Things(1)")
        request_id = str(item.get("id", index))
        if request_id in seen:
            raise BatchError(f"{where}/id {request_id!r} is used twice")
        seen.add(request_id)
        group = item.get("atomicityGroup")
        parsed.append(
            BatchRequest(request_id, method, url, item.get("body"), str(group) if group is not None else None)
        )
    return parsed


def resolve_url(url: str, created: dict[str, str]) -> str:
    """Replace a leading ``$<id>`` with the path of the entity that request created."""
    text = url.lstrip("/")
    if text.startswith("$"):
        reference, _sep, rest = text[1:].partition("/")
        if reference not in created:
            raise KeyError(f"${reference} does not name an entity created earlier in this batch")
        return created[reference] + (f"/{rest}" if rest else "")
    return text


@dataclass
class Outcome:
    status: int
    body: Any = None
    location: str | None = None

    def json(self, request_id: str) -> dict[str, Any]:
        out: dict[str, Any] = {"id": request_id, "status": self.status}
        if self.location:
            out["location"] = self.location
        if self.body is not None:
            out["body"] = self.body
        return out


Runner = Callable[[BatchRequest, str], Awaitable[Outcome]]
