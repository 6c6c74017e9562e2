"""Translations: German is the source language (message ids), English comes from a Babel catalog.

The catalog (``stadtkern/locale/<lang>/LC_MESSAGES/messages.po``) is read with Babel at start-up, so no
compiled ``.mo`` files are needed. The current locale lives in a context variable set per request.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any

from babel.dates import format_datetime
from babel.messages.pofile import read_po
from babel.numbers import format_decimal
from babel.support import LazyProxy

from stadtkern.core.clock import BERLIN

LOCALE_DIR = Path(__file__).resolve().parent.parent / "locale"
DEFAULT_LOCALE = "de"
LOCALES: dict[str, str] = {"de": "Deutsch", "en": "English"}

_current: ContextVar[str] = ContextVar("stadtkern_locale", default=DEFAULT_LOCALE)


@cache
def catalog(locale: str) -> dict[str, Any]:
    """msgid -> translation (a str, or a tuple for plural forms) for a locale other than German."""
    path = LOCALE_DIR / locale / "LC_MESSAGES" / "messages.po"
    if locale == DEFAULT_LOCALE or not path.is_file():
        return {}
    with path.open("rb") as handle:
        po = read_po(handle, locale=locale)
    table: dict[str, Any] = {}
    for message in po:
        if not message.id or not message.string or message.fuzzy:
            continue
        key = message.id[0] if isinstance(message.id, (tuple, list)) else message.id
        table[str(key)] = message.string
    return table


def current_locale() -> str:
    return _current.get()


def set_locale(locale: str) -> None:
    _current.set(locale if locale in LOCALES else DEFAULT_LOCALE)


@contextmanager
def use_locale(locale: str) -> Iterator[None]:
    token = _current.set(locale if locale in LOCALES else DEFAULT_LOCALE)
    try:
        yield
    finally:
        _current.reset(token)


def translate(message: str) -> str:
    translated = catalog(current_locale()).get(message)
    if isinstance(translated, tuple):
        translated = translated[0]
    return translated or message


def ntranslate(singular: str, plural: str, n: int) -> str:
    translated = catalog(current_locale()).get(singular)
    if isinstance(translated, tuple) and len(translated) >= 2:
        return str(translated[0] if n == 1 else translated[1])
    return singular if n == 1 else plural


def gettext(message: str, **values: Any) -> str:
    """Translate and fill ``%(name)s`` placeholders."""
    text = translate(message)
    return text % values if values else text


_ = gettext


def ngettext(singular: str, plural: str, n: int, **values: Any) -> str:
    values.setdefault("num", n)
    return ntranslate(singular, plural, n) % values


def lazy_gettext(message: str, **values: Any) -> Any:
    """A string translated when used (for labels defined at import time)."""
    return LazyProxy(gettext, message, enable_cache=False, **values)


def negotiate(accept_language: str | None) -> str:
    """Pick a supported locale from an Accept-Language header (German if nothing matches)."""
    if not accept_language:
        return DEFAULT_LOCALE
    weighted: list[tuple[float, str]] = []
    for part in accept_language.split(","):
        piece = part.strip()
        if not piece:
            continue
        lang, _sep, params = piece.partition(";")
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                quality = 0.0
        weighted.append((quality, lang.strip().lower().split("-")[0]))
    for _quality, lang in sorted(weighted, key=lambda item: -item[0]):
        if lang in LOCALES:
            return lang
    return DEFAULT_LOCALE


def format_local(dt: datetime | None, fmt: str = "medium") -> str:
    """A timestamp for people: Europe/Berlin, in the current locale."""
    if dt is None:
        return ""
    return format_datetime(dt, format=fmt, tzinfo=BERLIN, locale=current_locale())


def format_number(
    value: float | int | None, digits: int = 2, *, trim: bool = False, sign: bool = False
) -> str:
    """A number in the current locale's format ("62,71" in German, "62.71" in English).

    ``digits`` decimals (trailing zeros dropped with ``trim``), thousands grouped; ``sign`` writes "+"
    before positive numbers (differences). None becomes "–". The Jinja filter ``number`` calls this.
    """
    if value is None:
        return "–"
    decimals = ("." + ("#" if trim else "0") * digits) if digits > 0 else ""
    pattern = "#,##0" + decimals
    if sign:
        pattern = f"+{pattern};-{pattern}"
    return str(format_decimal(value, format=pattern, locale=current_locale()))
