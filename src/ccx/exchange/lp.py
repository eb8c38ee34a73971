"""The efficiency LP over the candidates, solved by HiGHS.

One column per candidate: x, its device-hours (0 <= x <= its window's job-hours, tightened to
what each of its limits allows it alone). One row per limit group that could bind (the sum of
its columns' upper bounds exceeds it; the others can never be tight and are left out):
capacity per pool-slot, work and budget (at the published rate) per request, and the firm,
integrator and business-group caps per pool. Each small firm
with a positive floor has a floor row: its small requests' work plus a slack column reaches
its floor; the slack is penalised so heavily that the floor is met wherever capacity allows,
and the LP stays feasible where it cannot be. The objective is efficiency-weighted work
(credits of work), less a small preference for spending fewer credits, less the floor penalty.

Large rounds are mostly congested: most candidates end at zero, and most limits are never
tight. The LP is solved by sifting (column generation over a working set) with lazy rows: it
starts from each pool-slot's most valuable candidates and each small firm's fastest ones, with
only the capacity and floor rows; solves; makes the rows of the work, budget and cap limits
the solution uses (a limit none of whose columns is positive cannot be broken); prices every
other candidate with the duals and adds each request's best one with a positive reduced cost;
and solves again from the last basis, until no row is made and no candidate is left. A limit
without a row then has nothing placed against it and dual 0, so the result is the optimum of
the whole LP.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import highspy
import numpy as np
import numpy.typing as npt

from ccx.exchange.candidates import Candidates, IntArray
from ccx.exchange.problem import MILLI, Binding, Caps
from ccx.exchange.room import Limit

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]
MICRO = 1_000_000
COST_WEIGHT_PER_CREDIT = 1e-3  # among equally good placements, prefer fewer credits
WAIT_WEIGHT_PER_SLOT = 1e-5  # then prefer earlier slots: work done sooner, capacity not idle
FLOOR_PENALTY_PER_WORK = 1e3  # objective lost per unit of a small firm's floor left unmet
DUAL_TOLERANCE = 1e-9
REDUCED_COST_TOLERANCE = 1e-7
START_COVER = 2  # the first working set covers this many times each pool-slot and floor
ENTERING_MIN = 20_000  # each round adds at most max(this, working set) candidates, one a request
ROUNDS_MAX = 100
BIND_TOLERANCE = 1e-9  # relative: columns' bounds summing to a limit do not need its row
USE_TOLERANCE = 1e-9  # relative: a lazy row is made once the solution uses its limit by more
# Limits whose rows wait until the working set's solution uses them: most never bind.
LAZY = frozenset(
    (Binding.WORK, Binding.BUDGET, Binding.FIRM_CAP, Binding.INTEGRATOR_CAP, Binding.GROUP_CAP)
)
# What one LP unit of each limit is, in the limit's integer unit: work rows are in work
# (device-hours at throughput 1000), budget rows in credits, the others in device-hours.
ROW_SCALE = {Binding.WORK: MILLI, Binding.BUDGET: MICRO}


@dataclass(frozen=True, slots=True)
class SolverOptions:
    """HiGHS settings: `solver` is "simplex" (dual simplex), "ipm" (interior point with
    crossover, for a basis and its duals) or "choose"; `sifting` off solves the whole LP at
    once."""

    solver: str = "simplex"
    presolve: str = "off"  # sifting resolves from the last basis; presolve slows the first LP
    time_limit_s: float = 300.0
    sifting: bool = True
    crossover: str = "on"


@dataclass(frozen=True, slots=True)
class LpSolution:
    device_hours: FloatArray  # per candidate
    value: FloatArray  # per candidate: objective per device-hour
    capacity_dual: FloatArray  # per cell: credits per device-hour (0 where no row)
    floor_bound: BoolArray  # per candidate: its firm's floor row is tight
    solve_s: float
    rounds: int  # LPs solved (1 without sifting)


@dataclass(slots=True)
class _Block:
    """The rows of one limit (or of the floor): one per group that could bind, made when a
    column first needs it."""

    group: IntArray  # per candidate, -1 for none
    coefficient: FloatArray  # per candidate: LP units per device-hour
    bound: FloatArray  # per group, LP units
    binds: BoolArray  # per group: a row is needed
    is_floor: bool = False
    lazy: bool = False  # rows made only once the working set's solution uses them
    row: IntArray = field(init=False)  # per group: row index, -1 until made

    def __post_init__(self) -> None:
        self.row = np.full(len(self.bound), -1, np.int64)

    def entry_row(self, columns: IntArray) -> IntArray:
        """Per column: its row in this block, -1 for none."""
        group = self.group[columns]
        counted = group >= 0
        rows = np.full(len(columns), -1, np.int64)
        rows[counted] = np.where(self.binds[group[counted]], self.row[group[counted]], -1)
        return rows

    def dual(self, row_dual: FloatArray) -> FloatArray:
        """Per candidate: its row's dual times its coefficient (0 where no row)."""
        group_dual = np.append(_at_rows(row_dual, self.row), 0.0)  # group -1 picks the 0
        out: FloatArray = group_dual[self.group] * self.coefficient
        return out


def solve_lp(
    candidates: Candidates, limits: list[Limit], caps: Caps, options: SolverOptions
) -> LpSolution | str:
    """The LP's solution, or HiGHS's model status where it is not optimal."""
    model = _Model(candidates, limits, caps, options)
    entering = _start(candidates, model) if options.sifting else np.arange(candidates.count)
    for rounds in range(1, ROUNDS_MAX + 1):
        model.add_columns(entering)
        status = model.run()
        if status:
            return status
        if not options.sifting:
            return model.solution(rounds)
        made = model.add_used_rows()
        entering = model.entering()
        if not made and not len(entering):
            return model.solution(rounds)
    return f"no optimum after {ROUNDS_MAX} sifting rounds"


def objective_per_device_hour(candidates: Candidates) -> FloatArray:
    """Credits of efficiency-weighted work per device-hour, less the credit preference."""
    score = candidates.bid_column(b.score_milli for b in candidates.bids)
    work = score / MILLI * candidates.throughput_milli / MILLI
    cost: FloatArray = COST_WEIGHT_PER_CREDIT * candidates.rate_micro / MICRO
    wait = (WAIT_WEIGHT_PER_SLOT * candidates.slot).astype(np.float64)
    return work - cost - wait


class _Model:
    """HiGHS over a growing working set of candidate columns."""

    def __init__(
        self, candidates: Candidates, limits: list[Limit], caps: Caps, options: SolverOptions
    ) -> None:
        self.candidates = candidates
        self.value = objective_per_device_hour(candidates)
        self.upper = implied_upper(candidates, limits)
        self.blocks = [
            _limit_block(candidates, limit, self.upper, lazy=options.sifting and limit.kind in LAZY)
            for limit in limits
        ]
        kinds = [limit.kind for limit in limits]
        if Binding.WORK in kinds and Binding.BUDGET in kinds:
            _drop_implied_rows(
                self.blocks[kinds.index(Binding.WORK)], self.blocks[kinds.index(Binding.BUDGET)]
            )
        self.floor = _floor_block(candidates, caps)
        self.blocks.append(self.floor)
        self.column = np.full(candidates.count, -1, np.int64)  # HiGHS column, -1 if out
        self.rows = 0
        self.columns = 0
        self.solve_s = 0.0
        self.highs = _highs(options)
        self._add_floor_rows()

    def _add_floor_rows(self) -> None:
        """Every floor row at once, each with its slack column (up to the whole floor)."""
        floor = self.floor
        self._make_rows(floor, np.flatnonzero(floor.binds))
        count = int(floor.binds.sum())
        self.highs.addCols(
            count,
            np.full(count, -FLOOR_PENALTY_PER_WORK),
            np.zeros(count),
            floor.bound[floor.binds],
            count,
            np.arange(count, dtype=np.int32),
            floor.row[floor.binds].astype(np.int32),
            np.ones(count),
        )
        self.columns += count

    def _make_rows(self, block: _Block, groups: IntArray) -> None:
        """Rows for `groups` (sorted), with the entries of the working set's columns."""
        count = len(groups)
        if not count:
            return
        block.row[groups] = np.arange(self.rows, self.rows + count)
        self.rows += count
        bound = block.bound[groups]
        infinite = np.full(count, highspy.kHighsInf)
        lower, upper = (bound, infinite) if block.is_floor else (-infinite, bound)
        inside = np.flatnonzero(self.column >= 0)
        inside = inside[np.isin(block.group[inside], groups)]
        inside = inside[np.argsort(block.group[inside], kind="stable")]
        starts = np.searchsorted(block.group[inside], groups).astype(np.int32)
        self.highs.addRows(
            count,
            lower,
            upper,
            len(inside),
            starts,
            self.column[inside].astype(np.int32),
            block.coefficient[inside],
        )

    def add_used_rows(self) -> bool:
        """Makes the rows of lazy limits that the working set's solution uses; whether there
        were any."""
        inside = np.flatnonzero(self.column >= 0)
        x = np.asarray(self.highs.getSolution().col_value, np.float64)[self.column[inside]]
        made = False
        for block in self.blocks:
            if not block.lazy:
                continue
            group = block.group[inside]
            counted = group >= 0
            activity = np.bincount(
                group[counted],
                weights=(block.coefficient[inside] * x)[counted],
                minlength=len(block.bound),
            )
            used = activity > USE_TOLERANCE * np.maximum(block.bound, 1)
            groups = np.flatnonzero(used & block.binds & (block.row < 0))
            self._make_rows(block, groups)
            made = made or bool(len(groups))
        return made

    def add_columns(self, columns: IntArray) -> None:
        """Adds candidates as columns (in CSC form), making the rows they need first (those
        of lazy limits wait until the solution uses them)."""
        for block in self.blocks:
            if block.lazy:
                continue
            group = block.group[columns]
            group = np.unique(group[group >= 0])
            self._make_rows(block, group[block.binds[group] & (block.row[group] < 0)])
        entry_row = np.column_stack([b.entry_row(columns) for b in self.blocks])
        entry_value = np.column_stack([b.coefficient[columns] for b in self.blocks])
        present = entry_row >= 0
        starts = np.concatenate([[0], np.cumsum(present.sum(axis=1))[:-1]]).astype(np.int32)
        self.highs.addCols(
            len(columns),
            self.value[columns],
            np.zeros(len(columns)),
            self.upper[columns],
            int(present.sum()),
            starts,
            entry_row[present].astype(np.int32),
            entry_value[present],
        )
        self.column[columns] = np.arange(self.columns, self.columns + len(columns))
        self.columns += len(columns)

    def run(self) -> str:
        """Solves; the model status where it is not optimal, else ""."""
        started = time.perf_counter()
        self.highs.run()
        self.solve_s += time.perf_counter() - started
        status = self.highs.getModelStatus()
        if status in (highspy.HighsModelStatus.kOptimal, highspy.HighsModelStatus.kModelEmpty):
            return ""
        return self.highs.modelStatusToString(status)

    def _row_dual(self) -> FloatArray:
        return np.asarray(self.highs.getSolution().row_dual, np.float64)

    def entering(self) -> IntArray:
        """Candidates outside the working set with a positive reduced cost, best first up to
        the round's limit, in candidate order."""
        row_dual = self._row_dual()
        priced = np.zeros(len(self.value))
        for block in self.blocks:
            if (block.row >= 0).any():
                priced += block.dual(row_dual)
        reduced = self.value - priced
        reduced[self.column >= 0] = -np.inf
        positive = np.flatnonzero(reduced > REDUCED_COST_TOLERANCE)
        bid = self.candidates.bid[positive]
        order = positive[np.lexsort((-reduced[positive], bid))]
        first = np.ones(len(order), bool)
        first[1:] = bid[1:] != bid[:-1]  # positive is in candidate order, so bid is sorted
        positive = np.sort(order[first])
        limit = max(ENTERING_MIN, int((self.column >= 0).sum()))
        if len(positive) > limit:
            best = np.argpartition(-reduced[positive], limit)[:limit]
            positive = np.sort(positive[best])
        return positive

    def solution(self, rounds: int) -> LpSolution:
        solution = self.highs.getSolution()
        row_dual = np.asarray(solution.row_dual, np.float64)
        col_value = np.asarray(solution.col_value, np.float64)
        inside = self.column >= 0
        device_hours = np.zeros(len(self.value))
        device_hours[inside] = col_value[self.column[inside]]
        capacity = self.blocks[0]
        capacity_dual = _at_rows(row_dual, capacity.row)
        floor_row = self.floor.entry_row(np.arange(len(self.value)))
        floor_dual = np.abs(_at_rows(row_dual, floor_row))
        return LpSolution(
            device_hours=device_hours,
            value=self.value,
            capacity_dual=capacity_dual,
            floor_bound=(floor_row >= 0) & (floor_dual > DUAL_TOLERANCE),
            solve_s=self.solve_s,
            rounds=rounds,
        )


def _at_rows(row_dual: FloatArray, rows: IntArray) -> FloatArray:
    """The duals of `rows`, 0 where a row is -1 (not made)."""
    values: FloatArray = np.append(row_dual, 0.0)[rows]  # -1 picks the appended 0
    return values


def _highs(options: SolverOptions) -> highspy.Highs:
    highs = highspy.Highs()  # type: ignore[no-untyped-call]  # highspy's __init__ is unannotated
    highs.silent()
    highs.setOptionValue("solver", options.solver)
    highs.setOptionValue("presolve", options.presolve)
    highs.setOptionValue("time_limit", options.time_limit_s)
    highs.setOptionValue("run_crossover", options.crossover)
    highs.changeObjectiveSense(highspy.ObjSense.kMaximize)
    return highs


def implied_upper(candidates: Candidates, limits: list[Limit]) -> FloatArray:
    """Per candidate: its device-hours' upper bound, its window's whole job-hours tightened to
    what each of its limits allows it alone. The rows imply these bounds, so the LP is the
    same; a request on one pool-slot needs no row, and a column that enters the basis at its
    bound moves the other columns less."""
    upper = candidates.upper_device_hours.astype(np.float64)
    for limit in limits:
        counted = np.flatnonzero(limit.group >= 0)
        alone = (
            limit.amount[limit.group[counted]]
            * candidates.devices[counted]
            / limit.unit_cost[counted]
        )
        upper[counted] = np.minimum(upper[counted], alone)
    return upper


def _limit_block(candidates: Candidates, limit: Limit, upper: FloatArray, *, lazy: bool) -> _Block:
    """A limit's rows in LP units; a group needs a row only where the sum of its columns'
    upper bounds exceeds it."""
    counted = limit.group >= 0
    scale = ROW_SCALE.get(limit.kind, 1)
    coefficient = limit.unit_cost / candidates.devices / scale
    bound = limit.amount / scale
    use = np.bincount(
        limit.group[counted], weights=(upper * coefficient)[counted], minlength=len(bound)
    )
    return _Block(
        group=limit.group,
        coefficient=coefficient,
        bound=bound,
        binds=use > bound * (1 + BIND_TOLERANCE),
        lazy=lazy,
    )


def _drop_implied_rows(work: _Block, budget: _Block) -> None:
    """Per request (both blocks are grouped by request): where on every candidate its budget
    runs out no sooner than its work (or the other way round), the tighter row implies the
    other, which is never made (only the work row where they are the same)."""
    counted = work.group >= 0
    group = work.group[counted]
    budget_share = (budget.coefficient * work.bound[work.group])[counted]
    work_share = (work.coefficient * budget.bound[budget.group])[counted]
    requests = len(work.bound)
    budget_sooner = np.bincount(group, budget_share > work_share, requests) > 0
    work_sooner = np.bincount(group, work_share > budget_share, requests) > 0
    budget.binds &= budget_sooner
    work.binds &= work_sooner | ~budget_sooner


def _floor_block(candidates: Candidates, caps: Caps) -> _Block:
    """Per small firm with a positive floor: its small requests' work >= the floor."""
    firm = small_firm_of_candidates(candidates)
    floor = floor_work(candidates, caps, firm)
    return _Block(
        group=firm,
        coefficient=candidates.throughput_milli / MILLI,
        bound=floor,
        binds=floor > 0,
        is_floor=True,
    )


def _start(candidates: Candidates, model: _Model) -> IntArray:
    """The first working set: per pool-slot, its most valuable candidates until their upper
    bounds cover START_COVER times its capacity; per small firm, its fastest candidates until
    they cover START_COVER times its floor."""
    upper = model.upper
    by_cell = _covering(
        candidates.cell,
        -model.value,
        upper,
        START_COVER * candidates.capacity_device_hours.astype(np.float64),
    )
    floor = model.floor
    counted = np.flatnonzero(floor.group >= 0)
    by_floor = counted[
        _covering(
            floor.group[counted],
            -candidates.throughput_milli[counted].astype(np.float64),
            (upper * floor.coefficient)[counted],
            START_COVER * floor.bound,
        )
    ]
    return np.union1d(by_cell, by_floor)


def _covering(group: IntArray, key: FloatArray, amount: FloatArray, cover: FloatArray) -> IntArray:
    """Per group, the items in `key` order until their `amount` reaches the group's `cover`
    (the item that reaches it included)."""
    order = np.lexsort((key, group))  # stable: ties in item order
    ordered_group = group[order]
    cumulative = np.cumsum(amount[order])
    first = np.searchsorted(ordered_group, ordered_group, "left")
    before_group = np.where(first > 0, cumulative[np.maximum(first - 1, 0)], 0.0)
    before_item = cumulative - amount[order] - before_group
    return np.sort(order[before_item < cover[ordered_group]])


def small_firm_of_candidates(candidates: Candidates) -> IntArray:
    """Per candidate: the index of its firm among the small firms with candidates (by firm id),
    or -1 where the request is not a small firm's."""
    firm = candidates.bid_column(b.firm_id for b in candidates.bids)
    small = candidates.bid_column(int(b.small_firm) for b in candidates.bids) == 1
    firm_ids = np.unique(firm[small])
    return np.where(small, np.searchsorted(firm_ids, firm), -1)


def floor_work(candidates: Candidates, caps: Caps, firm: IntArray) -> FloatArray:
    """Per small firm: floor_share of the lesser of the work its small requests could be
    placed and its fair share (the round's device-hours on each pool it can use times its best
    throughput there, divided among all firms with requests)."""
    firms = int(firm.max(initial=-1)) + 1
    pools = len(candidates.pools)
    small = firm >= 0
    best_milli = np.zeros(firms * pools, np.int64)
    key = firm[small] * pools + candidates.pool[small]
    np.maximum.at(best_milli, key, candidates.throughput_milli[small])
    pool_device_hours = candidates.pool_device_hours
    firm_count = max(len({b.firm_id for b in candidates.bids}), 1)
    fair = best_milli.reshape(firms, pools) @ pool_device_hours / MILLI / firm_count
    bid_firm = np.full(len(candidates.bids), -1, np.int64)
    bid_firm[candidates.bid[small]] = firm[small]
    counted = bid_firm >= 0
    placeable = np.bincount(
        bid_firm[counted], weights=_placeable_work(candidates)[counted], minlength=firms
    )
    share: FloatArray = caps.floor_share_milli / MILLI * np.minimum(placeable, fair)
    return share


def _placeable_work(candidates: Candidates) -> FloatArray:
    """Per request: an upper bound on the work it could be placed (its work, its window's
    device-hours, what its budget buys on its best pool at the published rate)."""
    bids = candidates.bids
    count = len(bids)
    asked = np.fromiter((b.work_device_hours for b in bids), np.float64, count)
    budget = np.fromiter((b.budget_micro for b in bids), np.float64, count)
    window = np.zeros(count)
    work_upper = candidates.upper_device_hours * candidates.throughput_milli / MILLI
    np.add.at(window, candidates.bid, work_upper)
    per_credit = np.zeros(count)
    np.maximum.at(per_credit, candidates.bid, candidates.throughput_milli / candidates.rate_micro)
    placeable: FloatArray = np.minimum(np.minimum(asked, window), budget / MILLI * per_credit)
    return placeable
