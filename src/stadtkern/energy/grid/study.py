"""The grid study: power flows for every quarter hour of a horizon, summarised per line and per bus.

Fast path: lightsim2grid's ``TimeSeriesCPP`` (C++ Newton-Raphson on a fixed topology, each step starting
from the previous one's voltages). Without lightsim2grid the same steps run as ``pandapower.runpp`` calls
(numba-accelerated). The transformer's phase shift (Dyn5, 150°) is set to 0: lightsim2grid cannot start
from a shifted angle, and in a radial grid fed from one transformer the shift turns every low-voltage angle
by the same amount, leaving voltage magnitudes and currents unchanged (the tests compare both backends).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np

from stadtkern.energy.grid import network, profiles
from stadtkern.energy.grid.scenarios import Scenario, extra_kw, pv_kw_per_kwp

V_MIN, V_MAX = 0.9, 1.1  # EN 50160 band (p.u.)
CHUNK = 96 * 7  # steps per progress report

Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class StudyResult:
    scenario: Scenario
    start: datetime
    steps: int
    backend: str
    line_names: list[str]
    line_max_loading: np.ndarray  # % per line
    line_hours_over: np.ndarray  # hours above 100 % per line
    bus_names: list[str]
    bus_min_vm: np.ndarray  # p.u. per bus
    bus_max_vm: np.ndarray
    bus_violations: np.ndarray  # steps outside the band per bus
    trafo_max_loading: float  # %
    # Load source "meters": the share of steps whose household loads came from meter data (the rest from
    # the standard profile) and the number of meters in the district. None for standard profiles.
    meter_share: float | None = None
    meters: int | None = None

    @property
    def max_line_loading(self) -> float:
        return float(self.line_max_loading.max())

    @property
    def overloaded_lines(self) -> int:
        return int((self.line_max_loading > 100.0).sum())

    @property
    def violation_steps(self) -> int:
        return int(self.bus_violations.sum())


def prepared_grid(code: str = network.GRID_CODE) -> Any:
    net = network.load_grid(code)
    net.trafo["shift_degree"] = 0.0
    for column in ("min_p_mw", "max_p_mw", "min_q_mvar", "max_q_mvar"):
        net.sgen[column] = np.nan  # SimBench leaves these as objects; lightsim2grid wants floats
    return net


def injections(
    net: Any,
    scenario: Scenario,
    start: datetime,
    steps: int,
    timezone: str,
    household_kwh: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Per-step load P and Q (MW, Mvar), static generator P (MW, SimBench's own PV at its rated power
    times the clear-sky shape) and the step starts.

    Loads on the standard profiles, or with ``household_kwh`` (the district's average metered household
    per step, NaN where too few meters reported) the household loads on meter data (profiles.py)."""
    starts = profiles.step_starts(start, steps)
    rated = (
        net.load.p_mw.to_numpy(float),
        net.load.q_mvar.to_numpy(float),
        [profiles.profile_name(p) for p in net.load.profile],
        starts,
        timezone,
    )
    if household_kwh is None:
        load_p, load_q = profiles.base_load(*rated)
    else:
        if len(household_kwh) != steps:
            raise ValueError(f"household_kwh has {len(household_kwh)} values for {steps} steps")
        load_p, load_q = profiles.meter_fed_load(*rated, household_kwh)
    load_p = load_p + extra_kw(scenario, starts, len(net.load)) / 1000.0
    sgen_p = np.outer(pv_kw_per_kwp(starts), net.sgen.p_mw.to_numpy(float))
    return load_p, load_q, sgen_p, starts


class _Summary:
    def __init__(self, lines: int, buses: int) -> None:
        self.line_max = np.zeros(lines)
        self.line_over = np.zeros(lines)
        self.bus_min = np.full(buses, np.inf)
        self.bus_max = np.full(buses, -np.inf)
        self.bus_viol = np.zeros(buses, dtype=int)
        self.trafo_max = 0.0

    def add(self, vm: np.ndarray, line_loading: np.ndarray, trafo_loading: np.ndarray) -> None:
        self.line_max = np.maximum(self.line_max, line_loading.max(axis=0))
        self.line_over += (line_loading > 100.0).sum(axis=0) * 0.25
        self.bus_min = np.minimum(self.bus_min, vm.min(axis=0))
        self.bus_max = np.maximum(self.bus_max, vm.max(axis=0))
        self.bus_viol += ((vm < V_MIN) | (vm > V_MAX)).sum(axis=0)
        self.trafo_max = max(self.trafo_max, float(trafo_loading.max()))


def _line_rating_ka(net: Any) -> np.ndarray:
    return np.asarray(net.line.max_i_ka * net.line.df * net.line.parallel, dtype=float)


def _trafo_rating_ka(net: Any) -> np.ndarray:
    return np.asarray(net.trafo.sn_mva / (np.sqrt(3) * net.trafo.vn_hv_kv), dtype=float)


def _run_lightsim(
    net: Any, load_p: np.ndarray, load_q: np.ndarray, sgen_p: np.ndarray, summary: _Summary, report: Progress
) -> None:
    from lightsim2grid.lightsim2grid_cpp import TimeSeriesCPP
    from lightsim2grid.network import init_from_pandapower

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # it warns that switches (all closed here) are not modelled
        model = init_from_pandapower(net)
    slack = complex(float(net.ext_grid.vm_pu.iloc[0]))
    v = np.asarray(model.ac_pf(np.full(len(net.bus), slack), 20, 1e-8))
    if len(v) == 0:
        raise RuntimeError("lightsim2grid: the initial power flow did not converge")
    lines, rating, trafo_rating = len(net.line), _line_rating_ka(net), _trafo_rating_ka(net)
    gens = len(model.get_generators())
    steps = len(load_p)
    for first in range(0, steps, CHUNK):
        part = slice(first, min(first + CHUNK, steps))
        series = TimeSeriesCPP(model)
        n = part.stop - part.start
        status = series.compute_Vs(np.zeros((n, gens)), sgen_p[part], load_p[part], load_q[part], v, 20, 1e-8)
        if status != 1:
            raise RuntimeError(
                f"lightsim2grid: a power flow diverged after step {first + series.nb_solved()}"
            )
        voltages = series.get_voltages()
        series.compute_flows()
        amps = series.get_flows()  # kA per branch: the lines, then the transformer (high-voltage side)
        summary.add(
            np.abs(voltages), amps[:, :lines] / rating * 100.0, amps[:, lines:] / trafo_rating * 100.0
        )
        v = voltages[-1].copy()
        report(part.stop, steps)


def _run_pandapower(
    net: Any, load_p: np.ndarray, load_q: np.ndarray, sgen_p: np.ndarray, summary: _Summary, report: Progress
) -> None:
    import pandapower

    steps = len(load_p)
    for first in range(0, steps, CHUNK):
        part = range(first, min(first + CHUNK, steps))
        vm = np.empty((len(part), len(net.bus)))
        loading = np.empty((len(part), len(net.line)))
        trafo = np.empty((len(part), len(net.trafo)))
        for row, step in enumerate(part):
            net.load["p_mw"] = load_p[step]
            net.load["q_mvar"] = load_q[step]
            net.sgen["p_mw"] = sgen_p[step]
            pandapower.runpp(net, init="results" if step else "auto")
            vm[row] = net.res_bus.vm_pu.to_numpy()
            loading[row] = net.res_line.loading_percent.to_numpy()
            trafo[row] = net.res_trafo.loading_percent.to_numpy()
        summary.add(vm, loading, trafo)
        report(part.stop, steps)


def available_backend() -> str:
    try:
        import lightsim2grid  # noqa: F401
    except ImportError:
        return "pandapower"
    return "lightsim2grid"


def run_study(
    scenario: Scenario,
    start: datetime,
    steps: int,
    timezone: str,
    *,
    backend: str | None = None,
    progress: Progress | None = None,
    household_kwh: np.ndarray | None = None,
) -> StudyResult:
    """Power flows for ``steps`` quarter hours from ``start`` (aware datetime) with ``scenario``; with
    ``household_kwh`` the household loads follow meter data (see injections)."""
    chosen = backend or available_backend()
    net = prepared_grid()
    load_p, load_q, sgen_p, _starts = injections(net, scenario, start, steps, timezone, household_kwh)
    summary = _Summary(len(net.line), len(net.bus))
    report = progress or (lambda done, total: None)
    if chosen == "lightsim2grid":
        _run_lightsim(net, load_p, load_q, sgen_p, summary, report)
    elif chosen == "pandapower":
        _run_pandapower(net, load_p, load_q, sgen_p, summary, report)
    else:
        raise ValueError(f"unknown backend {chosen!r}")
    return StudyResult(
        scenario=scenario,
        start=start,
        steps=steps,
        backend=chosen,
        line_names=[str(n) for n in net.line.name],
        line_max_loading=summary.line_max,
        line_hours_over=summary.line_over,
        bus_names=[str(n) for n in net.bus.name],
        bus_min_vm=summary.bus_min,
        bus_max_vm=summary.bus_max,
        bus_violations=summary.bus_viol,
        trafo_max_loading=summary.trafo_max,
        meter_share=None if household_kwh is None else float(np.mean(~np.isnan(household_kwh))),
    )
