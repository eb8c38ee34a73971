"""Bodies of the consortium routes. Amounts are strict JSON integers in micro-credits."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from ccx.api.schemas.ledger import Id, LedgerId, MicroCredits
from ccx.api.schemas.programmes import Key
from ccx.consortia import (
    Consortium,
    Contribution,
    MemberRole,
    Metric,
    NewConsortium,
    NewSharedModel,
    Pool,
    PoolSweep,
    SharedModel,
)
from ccx.consortia.types import METRICS_MAX, MODEL_TEXT_CHARS_MAX, NAME_CHARS_MAX, REGIONS_MAX
from ccx.registry import Region


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ConsortiumIn(_Body):
    name: str = Field(min_length=1, max_length=NAME_CHARS_MAX)
    industry: str = Field(max_length=3, description="KSIC section (C) or division (C30).")
    regions: list[Region] = Field(min_length=1, max_length=REGIONS_MAX)
    anchor_id: Id = Field(description="A mid-sized firm in the industry.")

    def to_new(self) -> NewConsortium:
        return NewConsortium(self.name, self.industry, tuple(self.regions), self.anchor_id)


class MemberIn(_Body):
    role: MemberRole
    member_id: Id = Field(description="An organisation; for `university`, a researcher (person).")


class MemberOut(BaseModel):
    role: MemberRole
    org_id: int
    person_id: int | None
    joined_at_ns: int


class PoolOut(BaseModel):
    programme_id: int
    account_id: int
    available_micro: int
    contributed_micro: int
    granted_micro: int
    spent_micro: int
    expires_on: date | None = Field(
        description="The latest expiry of the pool's credits; null when none can expire."
    )
    expired_micro: int
    held_micro: int
    clawed_back_micro: int

    @classmethod
    def of(cls, pool: Pool) -> PoolOut:
        return cls(
            programme_id=pool.programme_id,
            account_id=pool.account_id,
            available_micro=pool.available_micro,
            contributed_micro=pool.contributed_micro,
            granted_micro=pool.granted_micro,
            spent_micro=pool.spent_micro,
            expires_on=pool.expires_on,
            expired_micro=pool.expired_micro,
            held_micro=pool.held_micro,
            clawed_back_micro=pool.clawed_back_micro,
        )


class PoolSweepIn(_Body):
    after_account_id: int = Field(default=0, ge=0, strict=True)


class PoolSweepOut(BaseModel):
    expired: list[int] = Field(description="Pool accounts swept.")
    expired_micro: int
    deferred: list[int] = Field(description="Pools past expiry that still carry holds.")
    next_after_account_id: int | None = Field(
        description="Pass as after_account_id to sweep the next batch; null when done."
    )

    @classmethod
    def of(cls, sweep: PoolSweep) -> PoolSweepOut:
        return cls(
            expired=list(sweep.expired),
            expired_micro=sweep.expired_micro,
            deferred=list(sweep.deferred),
            next_after_account_id=sweep.next_after_account_id,
        )


class ConsortiumOut(BaseModel):
    id: int
    name: str
    industry: str
    regions: list[Region]
    anchor_id: int
    members: list[MemberOut]
    pools: list[PoolOut] | None = Field(
        default=None, description="The pools, one per programme (on a single consortium)."
    )
    created_at_ns: int

    @classmethod
    def of(cls, consortium: Consortium, pools: list[Pool] | None = None) -> ConsortiumOut:
        return cls(
            id=consortium.id,
            name=consortium.name,
            industry=consortium.industry,
            regions=list(consortium.regions),
            anchor_id=consortium.anchor_id,
            members=[
                MemberOut(
                    role=m.role, org_id=m.org_id, person_id=m.person_id, joined_at_ns=m.joined_at_ns
                )
                for m in consortium.members
            ],
            pools=None if pools is None else [PoolOut.of(pool) for pool in pools],
            created_at_ns=consortium.created_at_ns,
        )


class ContributionIn(_Body):
    programme_id: LedgerId
    amount_micro: MicroCredits
    key: Key


class ContributionLegOut(BaseModel):
    transfer_id: int
    lot_account_id: int
    amount_micro: int


class ContributionOut(BaseModel):
    id: int
    consortium_id: int
    programme_id: int
    firm_id: int
    key: str
    amount_micro: int
    legs: list[ContributionLegOut] = Field(description="One transfer per lot, earliest first.")
    created_at_ns: int

    @classmethod
    def of(cls, contribution: Contribution) -> ContributionOut:
        return cls(
            id=contribution.id,
            consortium_id=contribution.consortium_id,
            programme_id=contribution.programme_id,
            firm_id=contribution.firm_id,
            key=contribution.key,
            amount_micro=contribution.amount_micro,
            legs=[
                ContributionLegOut(
                    transfer_id=leg.transfer_id,
                    lot_account_id=leg.lot_account_id,
                    amount_micro=leg.amount_micro,
                )
                for leg in contribution.legs
            ],
            created_at_ns=contribution.created_at_ns,
        )


class ConsortiumApplicationIn(_Body):
    programme_id: LedgerId
    key: Key


class MetricBody(BaseModel):
    name: str = Field(min_length=1, max_length=NAME_CHARS_MAX)
    value: str = Field(max_length=61, description='A decimal number as text, e.g. "0.874".')


ModelText = Annotated[str, Field(min_length=1, max_length=MODEL_TEXT_CHARS_MAX)]


class SharedModelIn(_Body):
    name: ModelText
    base_model: ModelText
    task: ModelText
    hardware_profile: ModelText = Field(description='e.g. "8x H100 80GB".')
    licence: ModelText
    metrics: list[MetricBody] = Field(default_factory=list, max_length=METRICS_MAX)

    def to_new(self, consortium_id: int) -> NewSharedModel:
        return NewSharedModel(
            consortium_id=consortium_id,
            name=self.name,
            base_model=self.base_model,
            task=self.task,
            hardware_profile=self.hardware_profile,
            licence=self.licence,
            metrics=tuple(Metric(metric.name, metric.value) for metric in self.metrics),
        )


class SharedModelOut(BaseModel):
    id: int
    consortium_id: int
    name: str
    base_model: str
    task: str
    hardware_profile: str
    licence: str
    metrics: list[MetricBody]
    registered_at_ns: int

    @classmethod
    def of(cls, model: SharedModel) -> SharedModelOut:
        return cls(
            id=model.id,
            consortium_id=model.consortium_id,
            name=model.name,
            base_model=model.base_model,
            task=model.task,
            hardware_profile=model.hardware_profile,
            licence=model.licence,
            metrics=[MetricBody(name=m.name, value=m.value) for m in model.metrics],
            registered_at_ns=model.registered_at_ns,
        )
