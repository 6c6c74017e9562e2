"""Regenerate the core's initial migration from the models.

Only while no release has shipped (0001 is still the whole schema); afterwards, add new revisions with
``alembic revision --autogenerate`` instead. Run: ``.venv/bin/python scripts/regenerate_initial_migration.py``.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

from alembic import command

from stadtkern.db.migrate import CORE_VERSIONS, alembic_config

for old in CORE_VERSIONS.glob("0001_*.py"):
    old.unlink()
with tempfile.TemporaryDirectory() as tmp:
    config = alembic_config(f"sqlite+aiosqlite:///{tmp}/empty.sqlite3")
    command.revision(
        config, message="core schema", autogenerate=True, rev_id="0001_core", branch_label="core"
    )
path = next(CORE_VERSIONS.glob("0001_*.py"))
text = path.read_text().replace("astext_type=Text()", "astext_type=sa.Text()")
text = "\n".join(line for line in text.splitlines() if not line.startswith("Create Date:")) + "\n"
path.write_text(text)
ruff = Path(sys.executable).parent / "ruff"
subprocess.run([str(ruff), "check", "--fix", "-q", str(path)], check=False)
subprocess.run([str(ruff), "format", "-q", str(path)], check=True)
print(f"wrote {path}")
