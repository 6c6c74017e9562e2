"""Issue 7's grid figure: a year of grid time series (35,040 quarter hours) on the study grid with the fast
path (lightsim2grid ``TimeSeriesCPP``, what ``stadtkern energy grid-study`` uses), against a plain per-step
``pandapower.runpp`` loop in the same run.

The plain loop (numba on, each power flow starting from the previous result) is measured over a sample of
steps spread over the year (``--sample``, default 960 = 10 days' worth) and extrapolated to the year; the
script says so in its output. Loading the SimBench grid and building the profiles are timed separately.

Usage (from the checkout): .venv/bin/python -m benchmarks.bench_grid_study [--days 365] [--sample 960]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from datetime import datetime
from zoneinfo import ZoneInfo

import numpy as np

BERLIN = "Europe/Berlin"


def machine() -> dict[str, object]:
    return {"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform()}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--sample", type=int, default=960)
    parser.add_argument("--wallboxes", type=int, default=40)
    args = parser.parse_args()

    import pandapower

    from stadtkern.energy.grid import network, study
    from stadtkern.energy.grid.scenarios import Scenario

    start = datetime(2025, 1, 1, tzinfo=ZoneInfo(BERLIN))
    steps = args.days * 96
    scenario = Scenario(wallboxes=args.wallboxes, heat_pumps=args.wallboxes // 2, pv_kw=100.0)

    began = time.perf_counter()
    network.load_grid()
    load_seconds = time.perf_counter() - began
    net = study.prepared_grid()
    began = time.perf_counter()
    load_p, load_q, sgen_p, _starts = study.injections(net, scenario, start, steps, BERLIN)
    profile_seconds = time.perf_counter() - began

    began = time.perf_counter()
    fast = study.run_study(scenario, start, steps, BERLIN, backend="lightsim2grid")
    fast_seconds = time.perf_counter() - began

    # Plain loop: every step a full pandapower.runpp (warm-up call first: numba compiles on the first one).
    plain_net = study.prepared_grid()
    pandapower.runpp(plain_net)
    chosen = np.linspace(0, steps - 1, min(args.sample, steps)).astype(int)
    began = time.perf_counter()
    highest = 0.0
    for step in chosen:
        plain_net.load["p_mw"] = load_p[step]
        plain_net.load["q_mvar"] = load_q[step]
        plain_net.sgen["p_mw"] = sgen_p[step]
        pandapower.runpp(plain_net, init="results")
        highest = max(highest, float(plain_net.res_line.loading_percent.max()))
    plain_seconds = (time.perf_counter() - began) / len(chosen) * steps
    print(json.dumps({
        "bench": "grid_study_year", "grid": network.GRID_CODE, "steps": steps, "scenario": scenario.as_dict(),
        "grid_load_seconds": round(load_seconds, 2), "profiles_seconds": round(profile_seconds, 2),
        "fast_seconds": round(fast_seconds, 2), "fast_steps_per_second": round(steps / fast_seconds),
        "fast_backend": fast.backend, "fast_max_line_loading": round(fast.max_line_loading, 2),
        "plain_sampled_steps": len(chosen), "plain_seconds_extrapolated": round(plain_seconds, 1),
        "plain_steps_per_second": round(steps / plain_seconds),
        "plain_sample_max_line_loading": round(highest, 2),
        "ratio": round(plain_seconds / fast_seconds, 1), "machine": machine(),
    }), flush=True)  # fmt: skip


if __name__ == "__main__":
    main()
