"""Every user-visible string is translatable, and the English catalog translates every one of them."""

from __future__ import annotations

from pathlib import Path

from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.pofile import read_po

from stadtkern.core.i18n import gettext, use_locale

REPO = Path(__file__).resolve().parents[1]
CATALOG = REPO / "src/stadtkern/locale/en/LC_MESSAGES/messages.po"
METHOD_MAP = [
    ("**.py", "python"),
    ("**/templates/**.html", "jinja2"),
    ("**/templates/**.txt", "jinja2"),
]
OPTIONS = {
    "**/templates/**.html": {"extensions": "jinja2.ext.i18n"},
    "**/templates/**.txt": {"extensions": "jinja2.ext.i18n"},
}


def source_messages() -> set[str]:
    found: set[str] = set()
    keywords = {**DEFAULT_KEYWORDS, "_l": None, "lazy_gettext": None}
    for _filename, _lineno, message, _comments, _context in extract_from_dir(
        str(REPO / "src"), METHOD_MAP, OPTIONS, keywords=keywords
    ):
        found.add(message[0] if isinstance(message, tuple) else message)
    return found


def test_english_catalog_translates_every_message() -> None:
    with CATALOG.open("rb") as handle:
        catalog = read_po(handle, locale="en")
    translated = {
        (m.id[0] if isinstance(m.id, tuple) else m.id)
        for m in catalog
        if m.id and m.string and not m.fuzzy and all(m.string if isinstance(m.string, tuple) else [m.string])
    }
    messages = source_messages()
    assert len(messages) > 50
    missing = sorted(messages - translated)
    assert missing == [], (
        f"{len(missing)} messages lack an English translation (run `make messages`): {missing[:10]}"
    )


def test_gettext_switches_with_the_locale() -> None:
    with use_locale("en"):
        assert gettext("Impressum") == "Imprint"
    with use_locale("de"):
        assert gettext("Impressum") == "Impressum"
