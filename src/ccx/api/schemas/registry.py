"""Bodies of the registry routes: organisations, people, eligibility, certification.

Amounts are whole KRW as strict JSON integers; shares are basis points (10000 = 100 %).
Lengths here only bound the input; the registry checks each field and names what is wrong.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, Strict

from ccx.registry import (
    Certification,
    CertificationEvent,
    CertificationStatus,
    EligibilityDecision,
    NewOrganisation,
    Organisation,
    OrgKind,
    Person,
    PersonRole,
    Region,
    Shareholder,
    SizeClass,
)
from ccx.registry.importer import ImportReport, RowError

INPUT_CHARS_MAX = 1_000
KRW_MAX = 2**63 - 1

Krw = Annotated[int, Strict(), Field(ge=0, le=KRW_MAX, description="Whole KRW.")]
Text = Annotated[str, Field(max_length=INPUT_CHARS_MAX)]


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ShareholderIn(_Body):
    holder_name: Text
    share_bp: int = Field(strict=True, ge=1, le=10_000, description="Basis points.")
    is_corporation: bool = False
    holder_brn: Text | None = None
    holder_total_assets_krw: Krw | None = None
    is_largest: bool = False

    def to_shareholder(self) -> Shareholder:
        return Shareholder(
            holder_name=self.holder_name,
            share_bp=self.share_bp,
            is_corporation=self.is_corporation,
            holder_brn=self.holder_brn,
            holder_total_assets_krw=self.holder_total_assets_krw,
            is_largest=self.is_largest,
        )


class ShareholderOut(BaseModel):
    holder_name: str
    share_bp: int
    is_corporation: bool
    holder_brn: str | None
    holder_total_assets_krw: int | None
    is_largest: bool

    @classmethod
    def of(cls, holder: Shareholder) -> ShareholderOut:
        return cls(
            holder_name=holder.holder_name,
            share_bp=holder.share_bp,
            is_corporation=holder.is_corporation,
            holder_brn=holder.holder_brn,
            holder_total_assets_krw=holder.holder_total_assets_krw,
            is_largest=holder.is_largest,
        )


class OrganisationIn(_Body):
    kind: OrgKind
    brn: Text = Field(description="Business registration number, e.g. 220-81-62517.")
    name: Text
    region: Region = Field(description="ISO 3166-2:KR code, e.g. KR-46.")
    ksic_code: Text = Field(description="KSIC section letter and up to 5 digits, e.g. C30.")
    address: Text = ""
    contact_email: Text = ""
    sales_3y_avg_krw: Krw | None = None
    total_assets_krw: Krw | None = None
    employees: int | None = Field(default=None, strict=True, ge=0, le=2**31 - 1)
    founded_on: date | None = None
    youth_led: bool = False
    business_group: Text | None = None
    shareholders: list[ShareholderIn] = Field(default_factory=list, max_length=100)

    def to_new(self) -> NewOrganisation:
        return NewOrganisation(
            kind=self.kind,
            brn=self.brn,
            name=self.name,
            region=self.region,
            ksic_code=self.ksic_code,
            address=self.address,
            contact_email=self.contact_email,
            sales_3y_avg_krw=self.sales_3y_avg_krw,
            total_assets_krw=self.total_assets_krw,
            employees=self.employees,
            founded_on=self.founded_on,
            youth_led=self.youth_led,
            business_group=self.business_group,
            shareholders=tuple(holder.to_shareholder() for holder in self.shareholders),
        )


class OrganisationOut(BaseModel):
    id: int
    kind: OrgKind
    brn: str
    name: str
    region: Region
    in_capital_region: bool
    ksic_code: str
    address: str
    contact_email: str
    sales_3y_avg_krw: int | None
    total_assets_krw: int | None
    employees: int | None
    founded_on: date | None
    youth_led: bool
    business_group: str | None
    shareholders: list[ShareholderOut]
    registered_at_ns: int

    @classmethod
    def of(cls, org: Organisation) -> OrganisationOut:
        return cls(
            id=org.id,
            kind=org.kind,
            brn=org.brn,
            name=org.name,
            region=org.region,
            in_capital_region=org.in_capital_region,
            ksic_code=org.ksic_code,
            address=org.address,
            contact_email=org.contact_email,
            sales_3y_avg_krw=org.sales_3y_avg_krw,
            total_assets_krw=org.total_assets_krw,
            employees=org.employees,
            founded_on=org.founded_on,
            youth_led=org.youth_led,
            business_group=org.business_group,
            shareholders=[ShareholderOut.of(holder) for holder in org.shareholders],
            registered_at_ns=org.registered_at_ns,
        )


class EligibilityOut(BaseModel):
    org_id: int
    on: date
    eligible: bool = Field(description="Whether the organisation passes the SME test.")
    reasons: list[str] = Field(description="Every reason it does not; empty when eligible.")
    rules_version: str
    size_class: SizeClass

    @classmethod
    def of(
        cls, org_id: int, on: date, decision: EligibilityDecision, size: SizeClass
    ) -> EligibilityOut:
        return cls(
            org_id=org_id,
            on=on,
            eligible=decision.eligible,
            reasons=list(decision.reasons),
            rules_version=decision.rules_version,
            size_class=size,
        )


class RowErrorOut(BaseModel):
    row: int = Field(description="Spreadsheet row number: the header is row 1.")
    column: str = Field(description="Empty when the problem is the whole row or file.")
    message: str

    @classmethod
    def of(cls, error: RowError) -> RowErrorOut:
        return cls(row=error.row, column=error.column, message=error.message)


class ImportOut(BaseModel):
    rows: int
    imported_ids: list[int]

    @classmethod
    def of(cls, report: ImportReport) -> ImportOut:
        return cls(rows=report.rows, imported_ids=list(report.imported_ids))


class PersonIn(_Body):
    name: Text
    email: Text
    org_id: int = Field(strict=True, ge=1, le=2**63 - 1)
    role: PersonRole


class PersonOut(BaseModel):
    id: int
    name: str
    email: str
    org_id: int
    role: PersonRole

    @classmethod
    def of(cls, person: Person) -> PersonOut:
        return cls(
            id=person.id,
            name=person.name,
            email=person.email,
            org_id=person.org_id,
            role=person.role,
        )


class UntilIn(_Body):
    until: date = Field(description="Last day the certification is valid.")


class ReasonIn(_Body):
    reason: Text


class CertificationEventOut(BaseModel):
    status: CertificationStatus
    certified_until: date | None
    reason: str
    timestamp_ns: int

    @classmethod
    def of(cls, event: CertificationEvent) -> CertificationEventOut:
        return cls(
            status=event.status,
            certified_until=event.certified_until,
            reason=event.reason,
            timestamp_ns=event.timestamp_ns,
        )


class CertificationOut(BaseModel):
    integrator_id: int
    status: CertificationStatus
    certified_until: date | None
    valid_today: bool = Field(description="Certified and not expired on the server's today.")
    updated_at_ns: int
    history: list[CertificationEventOut]

    @classmethod
    def of(
        cls, certification: Certification, today: date, history: list[CertificationEvent]
    ) -> CertificationOut:
        return cls(
            integrator_id=certification.integrator_id,
            status=certification.status,
            certified_until=certification.certified_until,
            valid_today=certification.valid_on(today),
            updated_at_ns=certification.updated_at_ns,
            history=[CertificationEventOut.of(event) for event in history],
        )


class ConflictsOut(BaseModel):
    firm_id: int
    integrator_id: int
    related: bool
    reasons: list[str]
