"""Bodies of the exchange routes: accelerator types, rates, price caps, pools, requests, rounds,
allocations and efficiency scores.

Numbers are strict JSON integers: times in nanoseconds since the epoch (`*_ns`) or seconds
(`*_s`), amounts, rates and prices in micro-credits (rates and prices per device-hour),
throughputs relative to an H100 and shares in thousandths (`*_milli`: 1000 = an H100's speed,
or the whole pool). The rules themselves (known types, windows, the mandate's room) are
checked by the service, which lists every problem.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, Strict

from ccx.api.schemas.ledger import Id, MicroCredits
from ccx.exchange import (
    AcceleratorKind,
    AcceleratorType,
    Allocation,
    EfficiencyScore,
    ExchangeRate,
    Maintenance,
    NewPool,
    NewRequest,
    Pool,
    PoolPriceView,
    Request,
    RequestOption,
    Round,
    RoundOutcome,
    RoundParameters,
    rounds,
)
from ccx.exchange.problem import Explanation, Plan, PlannedAllocation, SlotUse
from ccx.exchange.rounds import Gathered
from ccx.exchange.types import (
    CODE_CHARS_MAX,
    DEVICES_MAX,
    GRACE_S_MAX,
    JOB_DEVICES_MAX,
    NAME_CHARS_MAX,
    OPTIONS_MAX,
    PRICE_CAP_MILLI_MAX,
    RATE_MICRO_MAX,
    SLOT_S_MAX,
    SLOT_S_MIN,
    SLOTS_MAX,
    SOURCE_CHARS_MAX,
    THROUGHPUT_MILLI_MAX,
    WORK_DEVICE_HOURS_MAX,
    WORKLOAD_CHARS_MAX,
)
from ccx.ids import ID_MAX
from ccx.programs.types import KEY_CHARS_MAX

Nanos = Annotated[
    int, Strict(), Field(ge=0, le=ID_MAX, description="Nanoseconds since the Unix epoch.")
]
Milli = Annotated[int, Strict(), Field(ge=0, le=1000, description="Thousandths (1000 = all).")]
Code = Annotated[str, Field(min_length=1, max_length=CODE_CHARS_MAX, description="e.g. `H100`.")]
Text = Annotated[str, Field(min_length=1, max_length=SOURCE_CHARS_MAX)]


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


# --- catalogue, rates, price caps ------------------------------------------------------------


class AcceleratorTypeIn(_Body):
    code: Code
    name: str = Field(min_length=1, max_length=NAME_CHARS_MAX)
    vendor: str = Field(min_length=1, max_length=NAME_CHARS_MAX)
    kind: AcceleratorKind
    memory_gb: int = Field(ge=1, le=100_000, strict=True)
    bf16_tflops: int | None = Field(default=None, ge=0, le=10**9, strict=True)
    int8_tops: int | None = Field(default=None, ge=0, le=10**9, strict=True)
    source: Text

    def to_type(self) -> AcceleratorType:
        return AcceleratorType(
            code=self.code,
            name=self.name,
            vendor=self.vendor,
            kind=self.kind,
            memory_gb=self.memory_gb,
            bf16_tflops=self.bf16_tflops,
            int8_tops=self.int8_tops,
            source=self.source,
        )


class AcceleratorTypeOut(BaseModel):
    code: str
    name: str
    vendor: str
    kind: AcceleratorKind
    memory_gb: int
    bf16_tflops: int | None = Field(description="Dense BF16 peak, where published.")
    int8_tops: int | None
    source: str

    @classmethod
    def of(cls, item: AcceleratorType) -> AcceleratorTypeOut:
        return cls(
            code=item.code,
            name=item.name,
            vendor=item.vendor,
            kind=item.kind,
            memory_gb=item.memory_gb,
            bf16_tflops=item.bf16_tflops,
            int8_tops=item.int8_tops,
            source=item.source,
        )


class RateIn(_Body):
    accelerator: Code
    rate_micro: int = Field(
        ge=1, le=RATE_MICRO_MAX, strict=True, description="Micro-credits per device-hour."
    )
    effective_from_ns: Nanos | None = Field(
        default=None, description="When it takes effect (now or later); now when left out."
    )
    source: Text


class RateOut(BaseModel):
    id: int
    accelerator: str
    effective_from_ns: int
    rate_micro: int = Field(description="Micro-credits per device-hour.")
    source: str
    created_at_ns: int

    @classmethod
    def of(cls, rate: ExchangeRate) -> RateOut:
        return cls(
            id=rate.id,
            accelerator=rate.accelerator,
            effective_from_ns=rate.effective_from_ns,
            rate_micro=rate.rate_micro,
            source=rate.source,
            created_at_ns=rate.created_at_ns,
        )


class PriceCapIn(_Body):
    price_cap_milli: int = Field(
        ge=0,
        le=PRICE_CAP_MILLI_MAX,
        strict=True,
        description="Highest price as thousandths of the published rate (1500 = 1.5 times).",
    )


class PriceCapOut(BaseModel):
    programme_id: int
    price_cap_milli: int


# --- pools -----------------------------------------------------------------------------------


class PoolIn(_Body):
    name: str = Field(min_length=1, max_length=NAME_CHARS_MAX)
    accelerator: Code
    devices: int = Field(ge=0, le=DEVICES_MAX, strict=True)

    def to_new(self) -> NewPool:
        return NewPool(self.name, self.accelerator, self.devices)


class PoolPatch(_Body):
    devices: int = Field(ge=0, le=DEVICES_MAX, strict=True)


class MaintenanceIn(_Body):
    start_ns: Nanos
    end_ns: Nanos
    devices_out: int = Field(ge=1, le=DEVICES_MAX, strict=True)
    reason: Text


class MaintenanceOut(BaseModel):
    id: int
    pool_id: int
    start_ns: int
    end_ns: int
    devices_out: int
    reason: str

    @classmethod
    def of(cls, window: Maintenance) -> MaintenanceOut:
        return cls(
            id=window.id,
            pool_id=window.pool_id,
            start_ns=window.start_ns,
            end_ns=window.end_ns,
            devices_out=window.devices_out,
            reason=window.reason,
        )


class PoolOut(BaseModel):
    id: int
    name: str
    accelerator: str
    devices: int
    created_at_ns: int
    maintenance: list[MaintenanceOut] = Field(description="Windows not yet ended, earliest first.")

    @classmethod
    def of(cls, pool: Pool) -> PoolOut:
        return cls(
            id=pool.id,
            name=pool.name,
            accelerator=pool.accelerator,
            devices=pool.devices,
            created_at_ns=pool.created_at_ns,
            maintenance=[MaintenanceOut.of(window) for window in pool.maintenance],
        )


# --- requests --------------------------------------------------------------------------------


class OptionIn(_Body):
    accelerator: Code
    throughput_milli: int = Field(
        ge=1,
        le=THROUGHPUT_MILLI_MAX,
        strict=True,
        description="Expected speed relative to an H100, in thousandths (600 = 0.6).",
    )


class ThroughputIn(_Body):
    """A throughput measured on a metered run of a workload class on an accelerator type."""

    integrator_id: Id
    workload_class: str = Field(min_length=1, max_length=WORKLOAD_CHARS_MAX)
    accelerator: Code
    throughput_milli: int = Field(
        ge=1,
        le=THROUGHPUT_MILLI_MAX,
        strict=True,
        description="Measured speed relative to an H100, in thousandths.",
    )


class ThroughputOut(BaseModel):
    integrator_id: int
    workload_class: str
    accelerator: str
    mean_throughput_milli: int = Field(
        description="The running mean rounds use once enough runs are known."
    )


class OptionOut(BaseModel):
    accelerator: str
    throughput_milli: int

    @classmethod
    def of(cls, option: RequestOption) -> OptionOut:
        return cls(accelerator=option.accelerator, throughput_milli=option.throughput_milli)


class RequestIn(_Body):
    mandate_id: Id
    key: str = Field(
        min_length=1,
        max_length=KEY_CHARS_MAX,
        description="The integrator's idempotency key, unique per mandate.",
    )
    workload_class: str = Field(min_length=1, max_length=WORKLOAD_CHARS_MAX)
    devices_per_job: int = Field(ge=1, le=JOB_DEVICES_MAX, strict=True)
    work_device_hours: int = Field(
        ge=1, le=WORK_DEVICE_HOURS_MAX, strict=True, description="At an H100's speed."
    )
    earliest_start_ns: Nanos
    deadline_ns: Nanos
    max_credits_micro: MicroCredits
    options: list[OptionIn] = Field(min_length=1, max_length=OPTIONS_MAX)

    def to_new(self) -> NewRequest:
        return NewRequest(
            mandate_id=self.mandate_id,
            key=self.key,
            workload_class=self.workload_class,
            devices_per_job=self.devices_per_job,
            work_device_hours=self.work_device_hours,
            earliest_start_ns=self.earliest_start_ns,
            deadline_ns=self.deadline_ns,
            max_credits_micro=self.max_credits_micro,
            options=tuple(RequestOption(o.accelerator, o.throughput_milli) for o in self.options),
        )


class RequestOut(BaseModel):
    id: int
    mandate_id: int
    programme_id: int
    firm_id: int
    integrator_id: int
    key: str
    workload_class: str
    devices_per_job: int
    work_device_hours: int
    earliest_start_ns: int
    deadline_ns: int
    max_credits_micro: int
    options: list[OptionOut]
    status: str = Field(description="`open`, `allocated`, `cancelled` or `expired`.")
    allocated_work_milli: int
    committed_micro: int = Field(description="Held by live allocations, posted by settled ones.")
    created_at_ns: int

    @classmethod
    def of(cls, request: Request) -> RequestOut:
        return cls(
            id=request.id,
            mandate_id=request.mandate_id,
            programme_id=request.programme_id,
            firm_id=request.firm_id,
            integrator_id=request.integrator_id,
            key=request.key,
            workload_class=request.workload_class,
            devices_per_job=request.devices_per_job,
            work_device_hours=request.work_device_hours,
            earliest_start_ns=request.earliest_start_ns,
            deadline_ns=request.deadline_ns,
            max_credits_micro=request.max_credits_micro,
            options=[OptionOut.of(option) for option in request.options],
            status=request.status.value,
            allocated_work_milli=request.allocated_work_milli,
            committed_micro=request.committed_micro,
            created_at_ns=request.created_at_ns,
        )


# --- rounds and allocations ------------------------------------------------------------------


class RoundIn(_Body):
    start_ns: Nanos | None = Field(default=None, description="Default: the next full hour.")
    slot_s: int = Field(default=6 * 3600, ge=SLOT_S_MIN, le=SLOT_S_MAX, strict=True)
    slots: int = Field(default=4, ge=1, le=SLOTS_MAX, strict=True)
    policy: str = Field(default="lp", max_length=16, description="`lp`, `fcfs` or `quotas`.")
    firm_share_milli: Milli = 100
    integrator_share_milli: Milli = 250
    group_share_milli: Milli = 150
    floor_share_milli: Milli = 500
    grace_s: int = Field(default=4 * 3600, ge=0, le=GRACE_S_MAX, strict=True)
    dry_run: bool = Field(default=False, description="Answer the plan; commit nothing.")

    def to_parameters(self, start_ns: int) -> RoundParameters:
        return RoundParameters(
            start_ns=start_ns,
            slot_s=self.slot_s,
            slots=self.slots,
            policy=self.policy,
            firm_share_milli=self.firm_share_milli,
            integrator_share_milli=self.integrator_share_milli,
            group_share_milli=self.group_share_milli,
            floor_share_milli=self.floor_share_milli,
            grace_s=self.grace_s,
        )


class PoolPriceOut(BaseModel):
    pool_id: int
    slot: int
    slot_start_ns: int
    rate_micro: int = Field(description="The published rate in force.")
    dual_micro: int = Field(description="The marginal value of one more device-hour.")
    price_micro: int = Field(description="max(rate, min(dual, cap)), per device-hour.")
    capacity_device_hours: int
    allocated_device_hours: int

    @classmethod
    def of(cls, price: PoolPriceView) -> PoolPriceOut:
        return cls(
            pool_id=price.pool_id,
            slot=price.slot,
            slot_start_ns=price.slot_start_ns,
            rate_micro=price.rate_micro,
            dual_micro=price.dual_micro,
            price_micro=price.price_micro,
            capacity_device_hours=price.capacity_device_hours,
            allocated_device_hours=price.allocated_device_hours,
        )


class UnplacedOut(BaseModel):
    request_id: int
    reasons: list[str]


class RoundOut(BaseModel):
    id: int
    policy: str
    start_ns: int
    end_ns: int
    slot_s: int
    slots: int
    grace_s: int
    firm_share_milli: int
    integrator_share_milli: int
    group_share_milli: int
    floor_share_milli: int
    solve_s: float
    requests: int = Field(description="Open requests it considered.")
    capacity_device_hours: int
    allocated_device_hours: int
    reclaimed_device_hours: int
    used_device_hours: int
    idle_device_hours: int
    allocated_micro: int
    unplaced: list[UnplacedOut]
    prices: list[PoolPriceOut]
    created_at_ns: int

    @classmethod
    def of(cls, round_: Round) -> RoundOut:
        firm, integrator, group, floor = round_.caps_milli
        return cls(
            id=round_.id,
            policy=round_.policy,
            start_ns=round_.start_ns,
            end_ns=round_.end_ns,
            slot_s=round_.slot_s,
            slots=round_.slots,
            grace_s=round_.grace_s,
            firm_share_milli=firm,
            integrator_share_milli=integrator,
            group_share_milli=group,
            floor_share_milli=floor,
            solve_s=round_.solve_s,
            requests=round_.requests,
            capacity_device_hours=round_.capacity_device_hours,
            allocated_device_hours=round_.allocated_device_hours,
            reclaimed_device_hours=round_.reclaimed_device_hours,
            used_device_hours=round_.used_device_hours,
            idle_device_hours=round_.idle_device_hours,
            allocated_micro=round_.allocated_micro,
            unplaced=[UnplacedOut(request_id=r, reasons=list(why)) for r, why in round_.unplaced],
            prices=[PoolPriceOut.of(price) for price in round_.prices],
            created_at_ns=round_.created_at_ns,
        )


class AlternativeOut(BaseModel):
    pool_id: int
    accelerator: str
    throughput_milli: int
    rate_micro: int
    work_milli_per_credit: int = Field(
        description="Work (thousandths of H100-hours) a credit buys."
    )


class SlotUseOut(BaseModel):
    slot: int
    device_hours: int


class ExplanationOut(BaseModel):
    summary: str = Field(description="Which pool and why.")
    alternatives: list[AlternativeOut] = Field(description="Every pool it could use, best first.")
    binding: list[str] = Field(description="The constraints that were tight for it.")

    @classmethod
    def of(cls, explanation: Explanation) -> ExplanationOut:
        return cls(
            summary=explanation.summary,
            alternatives=[
                AlternativeOut(
                    pool_id=item.pool_id,
                    accelerator=item.accelerator,
                    throughput_milli=item.throughput_milli,
                    rate_micro=item.rate_micro,
                    work_milli_per_credit=item.work_milli_per_credit,
                )
                for item in explanation.alternatives
            ],
            binding=[item.value for item in explanation.binding],
        )


def _slots(slots: tuple[SlotUse, ...]) -> list[SlotUseOut]:
    return [SlotUseOut(slot=use.slot, device_hours=use.device_hours) for use in slots]


class AllocationOut(BaseModel):
    id: int
    round_id: int
    request_id: int
    pool_id: int
    accelerator: str
    mandate_id: int
    programme_id: int
    firm_id: int
    integrator_id: int
    spend_id: int = Field(description="The programme spend that holds its credits.")
    devices: int
    device_hours: int
    slots: list[SlotUseOut]
    start_ns: int
    end_ns: int
    rate_micro: int = Field(description="The published rate, locked when it was made.")
    price_micro: int
    amount_micro: int = Field(description="What the hold takes.")
    work_milli: int
    status: str = Field(description="`held`, `running`, `reclaimed` or `settled`.")
    reclaim_after_ns: int
    started_at_ns: int | None
    used_device_s: int | None
    utilisation_milli: int | None
    posted_micro: int | None
    explanation: ExplanationOut
    created_at_ns: int

    @classmethod
    def of(cls, allocation: Allocation) -> AllocationOut:
        return cls(
            id=allocation.id,
            round_id=allocation.round_id,
            request_id=allocation.request_id,
            pool_id=allocation.pool_id,
            accelerator=allocation.accelerator,
            mandate_id=allocation.mandate_id,
            programme_id=allocation.programme_id,
            firm_id=allocation.firm_id,
            integrator_id=allocation.integrator_id,
            spend_id=allocation.spend_id,
            devices=allocation.devices,
            device_hours=allocation.device_hours,
            slots=_slots(allocation.slots),
            start_ns=allocation.start_ns,
            end_ns=allocation.end_ns,
            rate_micro=allocation.rate_micro,
            price_micro=allocation.price_micro,
            amount_micro=allocation.amount_micro,
            work_milli=allocation.work_milli,
            status=allocation.status.value,
            reclaim_after_ns=allocation.reclaim_after_ns,
            started_at_ns=allocation.started_at_ns,
            used_device_s=allocation.used_device_s,
            utilisation_milli=allocation.utilisation_milli,
            posted_micro=allocation.posted_micro,
            explanation=ExplanationOut.of(allocation.explanation),
            created_at_ns=allocation.created_at_ns,
        )


class PlannedAllocationOut(BaseModel):
    request_id: int
    pool_id: int
    accelerator: str
    devices: int
    device_hours: int
    slots: list[SlotUseOut]
    start_ns: int
    end_ns: int
    rate_micro: int
    price_micro: int
    amount_micro: int = Field(description="Before the request's programme cap is applied.")
    work_milli: int
    explanation: ExplanationOut

    @classmethod
    def of(cls, planned: PlannedAllocation, accelerator: str) -> PlannedAllocationOut:
        return cls(
            request_id=planned.request_id,
            pool_id=planned.pool_id,
            accelerator=accelerator,
            devices=planned.devices,
            device_hours=planned.device_hours,
            slots=_slots(planned.slots),
            start_ns=planned.start_ns,
            end_ns=planned.end_ns,
            rate_micro=planned.rate_micro,
            price_micro=planned.price_micro,
            amount_micro=planned.amount_micro,
            work_milli=planned.work_milli,
            explanation=ExplanationOut.of(planned.explanation),
        )


class PlanOut(BaseModel):
    """What a round would commit, with its prices (a dry run)."""

    policy: str
    start_ns: int
    end_ns: int
    requests: int
    capacity_device_hours: int
    allocated_device_hours: int
    solve_s: float
    work_milli: int
    weighted_work_milli: int = Field(description="Work weighted by efficiency scores.")
    prices: list[PoolPriceOut]
    allocations: list[PlannedAllocationOut]
    unplaced: list[UnplacedOut]

    @classmethod
    def of(cls, gathered: Gathered, plan: Plan) -> PlanOut:
        problem = gathered.problem
        supplies = {pool.pool_id: pool for pool in problem.pools}
        return cls(
            policy=plan.policy,
            start_ns=problem.slots.start_ns,
            end_ns=problem.slots.end_ns,
            requests=len(gathered.requests),
            capacity_device_hours=gathered.capacity_device_hours,
            allocated_device_hours=sum(item.device_hours for item in plan.allocations),
            solve_s=plan.solve_s,
            work_milli=plan.work_milli,
            weighted_work_milli=plan.weighted_work_milli,
            prices=[PoolPriceOut.of(price) for price in rounds.plan_prices(gathered, plan)],
            allocations=[
                PlannedAllocationOut.of(item, supplies[item.pool_id].accelerator)
                for item in plan.allocations
            ],
            unplaced=[
                UnplacedOut(request_id=r, reasons=list(why))
                for r, why in rounds.plan_unplaced(gathered, plan)
            ],
        )


class DroppedOut(BaseModel):
    request_id: int
    reason: str = Field(description="Why its hold was refused (its credits ran out meanwhile).")


class ClearingOut(BaseModel):
    """A committed round with its allocations, or (`dry_run`) the plan it would commit."""

    dry_run: bool
    round: RoundOut | None
    allocations: list[AllocationOut]
    dropped: list[DroppedOut]
    plan: PlanOut | None

    @classmethod
    def committed(cls, outcome: RoundOutcome) -> ClearingOut:
        return cls(
            dry_run=False,
            round=None if outcome.round is None else RoundOut.of(outcome.round),
            allocations=[AllocationOut.of(item) for item in outcome.allocations],
            dropped=[DroppedOut(request_id=r, reason=why) for r, why in outcome.dropped],
            plan=None,
        )

    @classmethod
    def planned(cls, gathered: Gathered, plan: Plan) -> ClearingOut:
        return cls(
            dry_run=True, round=None, allocations=[], dropped=[], plan=PlanOut.of(gathered, plan)
        )


class ReclaimOut(BaseModel):
    reclaimed: list[AllocationOut]
    released_micro: int = Field(description="Credits whose holds were voided.")


class ScoreOut(BaseModel):
    integrator_id: int
    score_milli: int = Field(description="Weight of its work in later rounds (1000 = full).")
    allocations: int = Field(description="Resolved allocations counted.")
    allocated_device_hours: int
    used_device_hours: int
    utilised_device_hours: int
    reclaimed: int
    explanation: str

    @classmethod
    def of(cls, score: EfficiencyScore) -> ScoreOut:
        return cls(
            integrator_id=score.integrator_id,
            score_milli=score.score_milli,
            allocations=score.allocations,
            allocated_device_hours=score.allocated_device_hours,
            used_device_hours=score.used_device_hours,
            utilised_device_hours=score.utilised_device_hours,
            reclaimed=score.reclaimed,
            explanation=score.explanation,
        )
