"""Documentation stays true: every hook and every setting is documented."""

from __future__ import annotations

import inspect
from pathlib import Path

from stadtkern import hookspecs
from stadtkern.config import SETTINGS

DOCS = Path(__file__).resolve().parents[1] / "docs"


def hook_names() -> list[str]:
    return [
        name
        for name, member in inspect.getmembers(hookspecs, inspect.isfunction)
        if name.startswith("stadtkern_") and hasattr(member, "stadtkern_spec")
    ]


def test_every_hook_has_a_section_in_docs() -> None:
    text = (DOCS / "hooks.md").read_text()
    names = hook_names()
    assert len(names) >= 10
    missing = [name for name in names if f"### {name}\n" not in text]
    assert missing == []


def test_every_hook_has_a_docstring() -> None:
    for name in hook_names():
        assert inspect.getdoc(getattr(hookspecs, name)), name


def test_every_setting_is_in_the_settings_table() -> None:
    text = (DOCS / "settings.md").read_text()
    missing = [spec.name for spec in SETTINGS if f"| `STADTKERN_{spec.name}` |" not in text]
    assert missing == []


def test_every_module_setting_is_in_the_settings_table() -> None:
    from stadtkern.config import module_setting_specs

    text = (DOCS / "settings.md").read_text()
    missing = [spec.name for spec in module_setting_specs() if f"| `STADTKERN_{spec.name}` |" not in text]
    assert missing == []
