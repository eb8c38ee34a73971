"""Clearing time and memory as the round grows, and the LP's weighted work against the
baselines on the same instance.

Each size runs in its own process so that its peak resident memory (ru_maxrss, taken after the
LP and before the baselines run) is its own. The last line it prints is::

    clearing requests=100000 devices=15000 seconds=S peak_mb=M lp/fcfs=R1 lp/quotas=R2

Run: ``.venv/bin/python -m bench.clearing`` (docs/exchange-clearing.md).
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass

from bench.clearing_instances import instance
from ccx.exchange.baselines import FirstComeFirstServed, StaticQuotas
from ccx.exchange.clearing import EfficiencyLP
from ccx.exchange.lp import SolverOptions
from ccx.exchange.problem import Plan

SIZES = (1_000, 10_000, 100_000)
KIB_PER_MB = 1024


@dataclass(frozen=True, slots=True)
class Result:
    requests: int
    devices: int
    seconds: float  # the LP policy's whole clear(): model, solve, rounding, plan
    solve_s: float  # HiGHS alone
    peak_mb: float
    lp_weighted: int
    fcfs_weighted: int
    quotas_weighted: int


def measure(requests: int, seed: int, solver: str) -> Result:
    problem = instance(requests, seed)
    started = time.perf_counter()
    plan = _plan(EfficiencyLP(SolverOptions(solver=solver)).clear(problem))
    seconds = time.perf_counter() - started
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / KIB_PER_MB
    return Result(
        requests=requests,
        devices=sum(p.devices_by_slot[0] for p in problem.pools),
        seconds=seconds,
        solve_s=plan.solve_s,
        peak_mb=peak_mb,
        lp_weighted=plan.weighted_work_milli,
        fcfs_weighted=_plan(FirstComeFirstServed().clear(problem)).weighted_work_milli,
        quotas_weighted=_plan(StaticQuotas().clear(problem)).weighted_work_milli,
    )


def _plan(result: object) -> Plan:
    if not isinstance(result, Plan):
        raise SystemExit(f"no plan: {result}")
    return result


def _in_subprocess(requests: int, seed: int, solver: str) -> Result:
    command = [sys.executable, "-m", "bench.clearing", "--one", str(requests)]
    command += ["--seed", str(seed), "--solver", solver]
    output = subprocess.run(command, check=True, capture_output=True, text=True).stdout
    return Result(**json.loads(output.strip().splitlines()[-1]))


def _line(r: Result) -> str:
    return (
        f"clearing requests={r.requests} devices={r.devices} seconds={r.seconds:.2f} "
        f"peak_mb={r.peak_mb:.0f} lp/fcfs={r.lp_weighted / r.fcfs_weighted:.3f} "
        f"lp/quotas={r.lp_weighted / r.quotas_weighted:.3f}"
    )


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--one", type=int, help="measure one size in this process (JSON out)")
    parser.add_argument("--sizes", type=int, nargs="+", default=list(SIZES))
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--solver", default="simplex", choices=["simplex", "ipm", "choose"])
    args = parser.parse_args(argv)
    if args.one is not None:
        print(json.dumps(asdict(measure(args.one, args.seed, args.solver))))
        return
    for requests in args.sizes:
        result = _in_subprocess(requests, args.seed, args.solver)
        print(f"  solve_s={result.solve_s:.2f} (HiGHS alone)")
        print(_line(result), flush=True)


if __name__ == "__main__":
    main()
