"""`ccx demo`: a synthetic nation run day by day through the real services, on a simulated
clock and the simulated centre.

Every step is a call to the services the HTTP API and the CLI use; only the population
(`population`), the actors' choices (which integrator a firm picks, when jobs are submitted,
how well accelerators are used) and the centre (`SimulatedCenter`) are simulated. A day has
two twelve-hour steps. In each step:

1. firms whose time has come apply for grants (approve-first: decided at once; the wall time
   of each decision is measured); an approved firm gives a mandate to an integrator (now and
   then first to one the rules refuse: related to it, suspended or expired);
2. on the first step of a day: consortia apply on the consortium track (day 1) and their
   member SMEs put part of their lots into the pool (day 3); integrators file requests from
   their firms' workload profiles every few days;
3. the worker beats: usage is imported and settled, idle allocations are reclaimed, a
   clearing round runs every other day, the plan is applied to the centre, holds, lots and pools
   expire, the journal is sealed;
4. integrators submit jobs for their new allocations (careless ones leave some idle: they are
   reclaimed), and when jobs finish report GPU utilisation and measured throughput.

At the end of each week integrators redeem service fees on what was settled; each day the auditor
decides the sampled applications (risk-flagged ones fail half the time: clawback).
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from functools import partial
from typing import TypeVar

from sqlalchemy.orm import Session

from ccx.center.parsers import GpuUtilSample
from ccx.center.simulated import SIMULATED_CLUSTER, SimulatedCenter
from ccx.center.types import JobSpec, JobState, account_name
from ccx.clock import NS_PER_S, SimulatedClock
from ccx.consortia import NewContribution
from ccx.consortia import service as consortia_service
from ccx.db import Database
from ccx.demo.load import load_nation
from ccx.demo.population import build_nation
from ccx.demo.summary import Summary, gather_summary
from ccx.demo.types import Loaded, Nation, NationSize, Standing
from ccx.exchange import Allocation, AllocationStatus, NewRequest, Request, RoundParameters
from ccx.exchange import queries as exchange_queries
from ccx.exchange import service as exchange_service
from ccx.metering import service as metering
from ccx.programs import AuditStatus, Decision, NewApplication, NewMandate, ProgrammeError
from ccx.programs import mandates as mandate_service
from ccx.programs import queries as programme_queries
from ccx.programs import service as programme_service
from ccx.programs.types import ReasonCode
from ccx.registry.service import utc_today
from ccx.worker import Worker

T = TypeVar("T")

DAYS_MAX = 365
STEP_S = 12 * 3600
STEPS_PER_DAY = 2
DAY_S = 86_400
ROUND_DAYS = 2  # a clearing round every other day, for the two days ahead
SME_PROGRAMME = 1
CONSORTIUM_PROGRAMME = 2
CONSORTIUM_APPLY_DAY = 1
CONTRIBUTION_DAY = 3
REQUEST_WINDOW_S = 3 * DAY_S
PRICE_HEADROOM_MILLI = 1500  # requests offer up to the default price cap
FEE_SHARE_MILLI = 100  # integrators charge a tenth of the compute they ran
FEE_EVERY_DAYS = 7
CARELESS_SHARE = 0.1  # integrators that leave some allocations idle (at least one)
IDLE_CHANCE = 0.4  # how often a careless integrator leaves an allocation idle
WRONG_INTEGRATOR_CHANCE = 0.08  # a firm first approaches an integrator the rules refuse
CONTRIBUTION_SHARE_MILLI = 200  # of a member's grant, put into its consortium's pool
AUDIT_FAIL_CHANCE = 0.5  # of a risk-flagged application
PAGE = 1000
MILLI = 1000
MICRO = 1_000_000
NODE = "sim-node"
RISK_CODES = frozenset({ReasonCode.SHARED_ADDRESS, ReasonCode.SHARED_CONTACT})


@dataclass(frozen=True, slots=True)
class DemoOptions:
    firms: int = 700
    devices: int = 4_000
    days: int = 30
    seed: int = 1

    def problems(self) -> list[str]:
        problems = []
        if not 1 <= self.days <= DAYS_MAX:
            problems.append(f"--days must be 1 to {DAYS_MAX}, not {self.days}")
        try:
            NationSize(self.firms, self.devices)
        except ValueError as error:
            problems.append(str(error))
        return problems


@dataclass(frozen=True, slots=True)
class _Job:
    allocation_id: int
    integrator_id: int
    workload_class: str
    accelerator: str
    devices: int
    utilisation_milli: int
    throughput_milli: int  # what the run measured


@dataclass
class _Memory:
    """What the simulated actors remember between steps."""

    # (mandate, firm whose workload it runs) -> the day of its next request; a consortium's
    # mandate runs the workloads of its anchor and of its member SMEs
    next_request_day: dict[tuple[int, int], int] = field(default_factory=dict)
    last_allocation_id: int = 0
    last_settled_id: int = 0
    jobs: dict[str, _Job] = field(default_factory=dict)  # running, by job id
    decision_ms: list[float] = field(default_factory=list)
    fees_owed: dict[int, int] = field(default_factory=dict)  # mandate -> fee not yet redeemed


class Demo:
    """One run: the nation, the clock, the centre, the worker and the actors' memory."""

    def __init__(self, database: Database, options: DemoOptions) -> None:
        self.database = database
        self.options = options
        self.rng = random.Random(options.seed)
        self.clock = SimulatedClock()
        self.nation: Nation = build_nation(NationSize(options.firms, options.devices), options.seed)
        self.loaded: Loaded = load_nation(database, self.nation, self.clock)
        self.center = SimulatedCenter(self.clock, _devices_by_type(self.nation))
        self.worker = Worker(
            database,
            self.clock,
            self.center,
            RoundParameters(start_ns=0, slot_s=ROUND_DAYS * DAY_S, slots=1),
        )
        self.plans = dict(zip(self.loaded.firm_ids, self.nation.firms, strict=True))
        self.logins = dict(zip(self.loaded.integrator_ids, self.loaded.centre_logins, strict=True))
        self.careless = {
            i for i in self.loaded.integrator_ids if self.rng.random() < CARELESS_SHARE
        }
        self.memory = _Memory()

    def run(self, on_day: Callable[[int], None] | None = None) -> Summary:
        started = time.perf_counter()
        for day in range(self.options.days):
            for step in range(STEPS_PER_DAY):
                self._step(day, step)
            self._redeem_fees(day)
            self._decide_audits()
            if on_day is not None:
                on_day(day)
        return self._summary(time.perf_counter() - started)

    def _step(self, day: int, step: int) -> None:
        start_s = (day * STEPS_PER_DAY + step) * STEP_S
        for firm_id, plan in self.plans.items():
            if start_s <= plan.applies_after_s < start_s + STEP_S:
                self._apply(firm_id)
        if step == 0:
            self._consortia(day)
            self._file_requests(day)
        self.worker.beat()
        self._submit_jobs()
        self.clock.advance(ns=STEP_S * NS_PER_S)
        self._report_finished_jobs()

    def _write(self, action: Callable[[Session], T]) -> T | None:
        """One actor's write; a refusal by the rules is part of the story, not an error."""
        try:
            return self.database.run_write(action)
        except ProgrammeError:
            return None

    # --- firms and their mandates ------------------------------------------------------------

    def _apply(self, firm_id: int) -> None:
        new = NewApplication(programme_id=SME_PROGRAMME, firm_id=firm_id, key="demo")
        started = time.perf_counter()
        application = self.database.run_write(
            lambda s: programme_service.apply_for_grant(s, new, self.clock)
        )
        self.memory.decision_ms.append((time.perf_counter() - started) * MILLI)
        if application.decision is Decision.APPROVED:
            self._choose_integrator(firm_id, application.amount_micro)

    def _choose_integrator(self, firm_id: int, cap_micro: int) -> None:
        if self.rng.random() < WRONG_INTEGRATOR_CHANCE:
            self._grant(firm_id, self._refused_integrator(firm_id), cap_micro, None)
        candidates = list(self.loaded.integrator_ids)
        self.rng.shuffle(candidates)
        for integrator_id in candidates:
            if self._grant(firm_id, integrator_id, cap_micro, None):
                return

    def _refused_integrator(self, firm_id: int) -> int:
        """An integrator the rules refuse for the firm: related to it, or not certified."""
        brn = self.plans[firm_id].organisation.brn
        pairs = zip(self.nation.integrators, self.loaded.integrator_ids, strict=True)
        for plan, integrator_id in pairs:
            if plan.related_firm_brn == brn or plan.standing is not Standing.CERTIFIED:
                return integrator_id
        return self.loaded.integrator_ids[0]

    def _grant(
        self,
        firm_id: int,
        integrator_id: int,
        cap_micro: int,
        consortium: int | None,
        members: tuple[int, ...] = (),
    ) -> bool:
        profile = self.plans[firm_id].profile
        new = NewMandate(
            programme_id=SME_PROGRAMME if consortium is None else CONSORTIUM_PROGRAMME,
            firm_id=firm_id,
            integrator_id=integrator_id,
            project=f"{profile.kind.value}: {profile.workload_class}",
            cap_micro=cap_micro,
            valid_until=utc_today(self.clock) + timedelta(days=365),
            key=f"demo-{integrator_id}",
            consortium_id=consortium,
        )
        mandate = self._write(lambda s: mandate_service.grant_mandate(s, new, self.clock))
        if mandate is None:
            return False
        for workload_of in (firm_id, *members):
            self.memory.next_request_day.setdefault((mandate.id, workload_of), 0)
        return True

    # --- consortia ---------------------------------------------------------------------------

    def _consortia(self, day: int) -> None:
        plans = zip(self.nation.consortia, self.loaded.consortium_ids, strict=True)
        for plan, consortium_id in plans:
            anchor = self.loaded.org_ids_by_brn[plan.anchor_brn]
            if day == CONSORTIUM_APPLY_DAY:
                members = tuple(self.loaded.org_ids_by_brn[brn] for brn in plan.sme_brns)
                self._consortium_grant(consortium_id, anchor, plan.integrator_brns, members)
            if day == CONTRIBUTION_DAY:
                for brn in plan.sme_brns:
                    self._contribute(consortium_id, self.loaded.org_ids_by_brn[brn])

    def _consortium_grant(
        self,
        consortium_id: int,
        anchor: int,
        integrators: tuple[str, ...],
        members: tuple[int, ...],
    ) -> None:
        application = self._write(
            lambda s: consortia_service.apply_for_grant(
                s,
                consortium_id=consortium_id,
                programme_id=CONSORTIUM_PROGRAMME,
                key="demo",
                clock=self.clock,
            )
        )
        if application is None or application.decision is not Decision.APPROVED:
            return
        for brn in integrators:
            integrator = self.loaded.org_ids_by_brn[brn]
            if self._grant(anchor, integrator, application.amount_micro, consortium_id, members):
                return

    def _contribute(self, consortium_id: int, firm_id: int) -> None:
        with self.database.read() as session:
            lots = programme_queries.list_lots(
                session, limit=10, programme_id=SME_PROGRAMME, firm_id=firm_id
            )
        amount = sum(lot.available_micro for lot in lots) * CONTRIBUTION_SHARE_MILLI // MILLI
        if amount > 0:
            new = NewContribution(consortium_id, SME_PROGRAMME, firm_id, amount, "demo")
            self._write(lambda s: consortia_service.contribute(s, new, self.clock))

    # --- requests and jobs -------------------------------------------------------------------

    def _file_requests(self, day: int) -> None:
        with self.database.read() as session:
            rates = {
                code: rate.rate_micro
                for code, rate in exchange_queries.rates_in_force(
                    session, self.clock.now_ns()
                ).items()
            }
        due = self.memory.next_request_day
        for (mandate_id, firm_id), next_day in sorted(due.items()):
            if next_day > day:
                continue
            due[mandate_id, firm_id] = day + self.plans[firm_id].requests_every_days
            self._write(
                partial(self._file, firm_id=firm_id, mandate_id=mandate_id, day=day, rates=rates)
            )

    def _file(
        self, session: Session, *, firm_id: int, mandate_id: int, day: int, rates: dict[str, int]
    ) -> None:
        mandate = programme_queries.get_mandate(session, mandate_id)
        assert mandate is not None
        profile = self.plans[firm_id].profile
        rate_max = max(rates[option.accelerator] for option in profile.options)
        wanted = profile.work_device_hours * rate_max * PRICE_HEADROOM_MILLI // MILLI
        room = mandate.cap_micro - mandate.drawn_micro
        if room < MICRO:
            return
        now = self.clock.now_ns()
        exchange_service.file_request(
            session,
            NewRequest(
                mandate_id=mandate_id,
                key=f"day-{day}-firm-{firm_id}",
                workload_class=profile.workload_class,
                devices_per_job=profile.devices_per_job,
                work_device_hours=profile.work_device_hours,
                earliest_start_ns=now,
                deadline_ns=now + REQUEST_WINDOW_S * NS_PER_S,
                max_credits_micro=min(room, wanted),
                options=profile.options,
            ),
            self.clock,
        )

    def _new_allocations(self) -> list[Allocation]:
        with self.database.read() as session:
            found = exchange_queries.list_allocations(
                session, limit=PAGE, after_id=self.memory.last_allocation_id
            )
        if found:
            self.memory.last_allocation_id = found[-1].id
        return found

    def _submit_jobs(self) -> None:
        while batch := self._new_allocations():
            with self.database.read() as session:
                requests = {
                    a.request_id: exchange_queries.get_request(session, a.request_id) for a in batch
                }
            for allocation in batch:
                careless = allocation.integrator_id in self.careless
                if careless and self.rng.random() < IDLE_CHANCE:
                    continue  # left idle: the worker reclaims it after the grace period
                request = requests[allocation.request_id]
                assert request is not None
                self._submit(allocation, request, careless)

    def _submit(self, allocation: Allocation, request: Request, careless: bool) -> None:
        hours = allocation.device_hours // allocation.devices
        used = self.rng.uniform(0.6, 0.9) if careless else self.rng.uniform(0.85, 1.0)
        job_id = self.center.submit(
            JobSpec(
                account=account_name(allocation.id),
                accelerator=allocation.accelerator.lower(),
                devices=allocation.devices,
                time_limit_min=hours * 60,
                run_s=int(hours * 3600 * used),
                user=self.logins[allocation.integrator_id],
            )
        )
        declared = {o.accelerator: o.throughput_milli for o in request.options}
        self.memory.jobs[job_id] = _Job(
            allocation_id=allocation.id,
            integrator_id=allocation.integrator_id,
            workload_class=request.workload_class,
            accelerator=allocation.accelerator,
            devices=allocation.devices,
            utilisation_milli=self.rng.randint(400, 700)
            if careless
            else self.rng.randint(750, 980),
            throughput_milli=max(
                1, int(declared[allocation.accelerator] * self.rng.uniform(0.8, 1.1))
            ),
        )

    def _report_finished_jobs(self) -> None:
        finished = [
            (job_id, job)
            for job_id, job in self.memory.jobs.items()
            if self.center.job_state(job_id).state is JobState.COMPLETED
        ]
        if finished:
            self.database.run_write(lambda s: self._report(s, finished))
        for job_id, _ in finished:
            del self.memory.jobs[job_id]

    def _report(self, session: Session, finished: list[tuple[str, _Job]]) -> None:
        samples = [
            GpuUtilSample(NODE, str(gpu), job_id, job.utilisation_milli)
            for job_id, job in finished
            for gpu in range(job.devices)
        ]
        metering.import_utilisation(
            session, samples, cluster=SIMULATED_CLUSTER, observed_at_ns=self.clock.now_ns()
        )
        for _, job in finished:
            exchange_service.learn_throughput(
                session,
                integrator_id=job.integrator_id,
                workload_class=job.workload_class,
                accelerator=job.accelerator,
                measured_milli=job.throughput_milli,
            )

    # --- end of day --------------------------------------------------------------------------

    def _redeem_fees(self, day: int) -> None:
        """Integrators redeem their fee on the compute settled under each mandate, weekly."""
        while True:
            with self.database.read() as session:
                settled = exchange_queries.list_allocations(
                    session,
                    limit=PAGE,
                    after_id=self.memory.last_settled_id,
                    status=AllocationStatus.SETTLED,
                )
            if not settled:
                break
            self.memory.last_settled_id = settled[-1].id
            for allocation in settled:
                owed = self.memory.fees_owed
                owed[allocation.mandate_id] = owed.get(allocation.mandate_id, 0) + (
                    allocation.posted_micro * FEE_SHARE_MILLI // MILLI
                )
        if day % FEE_EVERY_DAYS != FEE_EVERY_DAYS - 1:
            return
        for mandate_id, fee in sorted(self.memory.fees_owed.items()):
            if fee > 0:
                self._write(
                    partial(
                        mandate_service.redeem_service_fee,
                        mandate_id=mandate_id,
                        amount_micro=fee,
                        transfer_key=f"fee-day-{day}",
                        clock=self.clock,
                    )
                )
        self.memory.fees_owed.clear()

    def _decide_audits(self) -> None:
        with self.database.read() as session:
            selected = programme_queries.list_applications(
                session, limit=PAGE, audit_status=AuditStatus.SELECTED
            )
        for application in selected:
            risky = any(reason.code in RISK_CODES for reason in application.audit_reasons)
            fail = risky and self.rng.random() < AUDIT_FAIL_CHANCE
            decide = programme_service.fail_audit if fail else programme_service.pass_audit
            note = "shares an address or contact with other applicants" if fail else "in order"
            self._write(partial(decide, application_id=application.id, note=note, clock=self.clock))

    def _summary(self, elapsed_s: float) -> Summary:
        with self.database.read() as session:
            return gather_summary(
                session,
                programme_ids=self.loaded.programme_ids,
                integrator_ids=self.loaded.integrator_ids,
                decision_ms=self.memory.decision_ms,
                meta={
                    "synthetic": True,
                    "seed": self.options.seed,
                    "days": self.options.days,
                    "firms": self.options.firms,
                    "devices": self.options.devices,
                    "consortia": len(self.loaded.consortium_ids),
                    "integrators": len(self.loaded.integrator_ids),
                    "elapsed_s": round(elapsed_s, 1),
                },
            )


def _devices_by_type(nation: Nation) -> dict[str, int]:
    devices: dict[str, int] = {}
    for pool in nation.pools:
        code = pool.accelerator.lower()
        devices[code] = devices.get(code, 0) + pool.devices
    return devices


def run_demo(
    database: Database, options: DemoOptions, on_day: Callable[[int], None] | None = None
) -> Summary:
    """Load a synthetic nation into an empty database and run it for `options.days` days."""
    return Demo(database, options).run(on_day)
