"""Form handling conventions: bodies arrive as flat dicts; errors map field names to messages."""

from __future__ import annotations

from litestar.params import URLEncodedBody

# A URL-encoded form body as a flat dict (the CSRF middleware has already checked its token).
Form = URLEncodedBody[dict[str, str]]
FieldErrors = dict[str, str]
