"""Derive cities/duisburg/districts.toml (district names and area centres) from the shared boundaries.

Source: ../shared/data/duisburg-boundaries (codeforduisburg/Geodata, (c) OpenStreetMap contributors, ODbL 1.0).
Run: ``.venv/bin/python scripts/derive_districts.py [boundaries-dir]``.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

from shapely.geometry import shape

ROOT = Path(__file__).resolve().parent.parent
SOURCE = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT.parent / "shared/data/duisburg-boundaries"
TARGET = ROOT / "cities/duisburg/districts.toml"


def names(readme: str) -> dict[str, str]:
    """File code -> name, from the source's README (bold: Stadtbezirk, plain/italic: Ortsteil)."""
    found: dict[str, str] = {}
    for match in re.finditer(r"\*{1,2}([^*(]+?)\*{1,2} \(\[json\]\(json/(\d{3})_", readme):
        found[match.group(2)] = match.group(1).strip()
    for match in re.finditer(r"^\* ([^(*]+?) \(\[json\]\(json/(\d{3})_", readme, re.M):
        found[match.group(2)] = match.group(1).strip()
    return found


def main() -> None:
    known = names((SOURCE / "README.md").read_text(encoding="utf-8"))
    lines = [
        '# Districts of Duisburg with the centre of their area (WGS 84), for "nearest office" searches.',
        "# Derived from the boundaries in codeforduisburg/Geodata (commit eb08221, 2019):",
        "# (c) OpenStreetMap contributors, ODbL 1.0 (https://opendatacommons.org/licenses/odbl/).",
        "# Regenerate: scripts/derive_districts.py",
        "",
    ]
    for path in sorted((SOURCE / "json").glob("*.json")):
        code = path.name[:3]
        if code == "000":  # the whole city
            continue
        data = json.loads(path.read_text(encoding="utf-8"))
        geometry = shape(data["geometries"][0] if data.get("type") == "GeometryCollection" else data)
        # The centroid of an odd shape can fall outside it; then take a point that is inside.
        centre = (
            geometry.centroid if geometry.contains(geometry.centroid) else geometry.representative_point()
        )
        name = known.get(code, path.stem[4:].replace("-", " ").title())
        level = "Stadtbezirk" if code.endswith("00") else "Ortsteil"
        lines += [
            "[[districts]]",
            f'code = "{code}"',
            f'name = "{name}"',
            f'level = "{level}"',
            f"center = [{centre.x:.5f}, {centre.y:.5f}]",
            "",
        ]
    TARGET.write_text("\n".join(lines), encoding="utf-8")
    print(f"wrote {TARGET}")


if __name__ == "__main__":
    main()
