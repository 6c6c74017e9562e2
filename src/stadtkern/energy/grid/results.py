"""Study results as stored (JSON-ready rows) and the comparison of a scenario with the base case."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from stadtkern.energy.grid.study import V_MAX, V_MIN, StudyResult


def summary(result: StudyResult) -> dict[str, Any]:
    return {
        "max_line_loading": round(result.max_line_loading, 2),
        "overloaded_lines": result.overloaded_lines,
        "hours_over_100": round(float(result.line_hours_over.sum()), 2),
        "min_vm_pu": round(float(result.bus_min_vm.min()), 4),
        "max_vm_pu": round(float(result.bus_max_vm.max()), 4),
        "violation_steps": result.violation_steps,
        "band": [V_MIN, V_MAX],
        "trafo_max_loading": round(result.trafo_max_loading, 2),
    }


def line_rows(result: StudyResult) -> list[dict[str, Any]]:
    return [
        {"name": name, "max_loading": round(float(load), 2), "hours_over_100": round(float(hours), 2)}
        for name, load, hours in zip(
            result.line_names, result.line_max_loading, result.line_hours_over, strict=True
        )
    ]


def bus_rows(result: StudyResult) -> list[dict[str, Any]]:
    return [
        {"name": name, "min_vm": round(float(low), 4), "max_vm": round(float(high), 4), "violations": int(n)}
        for name, low, high, n in zip(
            result.bus_names, result.bus_min_vm, result.bus_max_vm, result.bus_violations, strict=True
        )
    ]


@dataclass(frozen=True)
class Change:
    figure: str
    base: float
    scenario: float

    @property
    def difference(self) -> float:
        return self.scenario - self.base


def compare(base: dict[str, Any], scenario: dict[str, Any]) -> list[Change]:
    """The summary figures of a scenario against the base case's."""
    figures = ("max_line_loading", "overloaded_lines", "hours_over_100", "min_vm_pu", "violation_steps")
    return [Change(f, float(base[f]), float(scenario[f])) for f in figures]


def loading_series(lines: list[dict[str, Any]], base: list[dict[str, Any]] | None) -> dict[str, Any]:
    """The chart's data: every line's highest loading (%), highest first, and the base case's loading of
    the same line in the same order (None without a base case; a line missing there is None)."""
    ordered = sorted(lines, key=lambda row: (-row["max_loading"], row["name"]))
    by_name = {row["name"]: row["max_loading"] for row in base or []}
    return {
        "names": [row["name"] for row in ordered],
        "scenario": [row["max_loading"] for row in ordered],
        "base": None if base is None else [by_name.get(row["name"]) for row in ordered],
    }
