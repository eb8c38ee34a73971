"""`ccx registry`: organisations, people, the SME test, integrator certification, conflicts.

Exit codes: 0 done; 1 refused (duplicate, illegal certification change, not found, a failed
SME test or conflict check, a CSV file with errors); 2 bad input.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import asdict
from datetime import date, datetime
from pathlib import Path
from typing import Any, NoReturn, TypeVar

import typer
from rich.table import Table
from sqlalchemy.orm import Session

from ccx.cli.context import EXIT_BAD_INPUT, EXIT_REJECTED, CliContext, context_of, err, fail, out
from ccx.ids import ID_MAX
from ccx.registry import (
    Certification,
    InvalidInputError,
    NewOrganisation,
    Organisation,
    OrgKind,
    PersonRole,
    Region,
    RegistryError,
    RulesNotInForceError,
    queries,
    service,
)
from ccx.registry.brn import format_brn
from ccx.registry.eligibility import check_sme, size_class
from ccx.registry.importer import import_csv, parse_shareholders
from ccx.registry.validation import EMPLOYEES_MAX, KRW_MAX

IMPORT_BYTES_MAX = 16 * 1024 * 1024
DATE_FORMATS = ["%Y-%m-%d"]
T = TypeVar("T")

app = typer.Typer(help="Organisations, people and integrator certification.", no_args_is_help=True)
org_app = typer.Typer(help="Organisations.", no_args_is_help=True)
person_app = typer.Typer(help="People in organisations.", no_args_is_help=True)
integrator_app = typer.Typer(help="Integrator certification.", no_args_is_help=True)
app.add_typer(org_app, name="org")
app.add_typer(person_app, name="person")
app.add_typer(integrator_app, name="integrator")

OrgId = typer.Argument(..., min=1, max=ID_MAX, help="Organisation id.")
IntegratorId = typer.Argument(..., min=1, max=ID_MAX, help="Integrator (organisation) id.")
AsJson = typer.Option(False, "--json", help="Print JSON.")


def _print_json(value: Any) -> None:
    print(json.dumps(value, indent=2, default=str, ensure_ascii=False))


def _refuse(error: RegistryError) -> NoReturn:
    bad_input = isinstance(error, InvalidInputError | RulesNotInForceError)
    fail(str(error), code=EXIT_BAD_INPUT if bad_input else EXIT_REJECTED)


def _write(context: CliContext, action: Callable[[Session], T]) -> T:
    try:
        return context.database.run_write(action)
    except RegistryError as error:
        _refuse(error)


def _day(value: datetime | None) -> date | None:
    return None if value is None else value.date()


def _organisation_table(org: Organisation) -> Table:
    table = Table("field", "value", show_header=False)
    for key, value in asdict(org).items():
        if key != "shareholders":
            table.add_row(key, "" if value is None else str(value))
    for number, holder in enumerate(org.shareholders, start=1):
        brn = f" ({format_brn(holder.holder_brn)})" if holder.holder_brn else ""
        flags = ", ".join(
            name
            for name, on in (("corporation", holder.is_corporation), ("largest", holder.is_largest))
            if on
        )
        table.add_row(
            f"shareholder {number}", f"{holder.holder_name}{brn} {holder.share_percent} {flags}"
        )
    return table


@org_app.command("register")
def register(
    ctx: typer.Context,
    kind: OrgKind = typer.Option(..., help="Kind of organisation."),
    brn: str = typer.Option(..., help="Business registration number, e.g. 220-81-62517."),
    name: str = typer.Option(...),
    region: Region = typer.Option(..., help="ISO 3166-2:KR code, e.g. KR-46."),
    ksic: str = typer.Option(..., help="KSIC code: section letter and up to 5 digits, e.g. C30."),
    address: str = typer.Option(""),
    email: str = typer.Option("", help="Contact email."),
    sales: int | None = typer.Option(None, min=0, max=KRW_MAX, help="3-year average sales, KRW."),
    assets: int | None = typer.Option(None, min=0, max=KRW_MAX, help="Total assets, KRW."),
    employees: int | None = typer.Option(None, min=0, max=EMPLOYEES_MAX),
    founded: datetime | None = typer.Option(None, formats=DATE_FORMATS, help="YYYY-MM-DD."),
    youth_led: bool = typer.Option(False, help="Led by young founders."),
    group: str | None = typer.Option(None, help="KFTC-designated business group, if any."),
    shareholder: list[str] = typer.Option(
        [], help="Repeatable: name|brn|share_bp|is_corporation|assets_krw|largest."
    ),
) -> None:
    """Register an organisation (every invalid field is reported)."""
    holders, problems = parse_shareholders(";".join(shareholder))
    if problems:
        fail("--shareholder: " + "; ".join(problems))
    new = NewOrganisation(
        kind=kind,
        brn=brn,
        name=name,
        region=region,
        ksic_code=ksic,
        address=address,
        contact_email=email,
        sales_3y_avg_krw=sales,
        total_assets_krw=assets,
        employees=employees,
        founded_on=_day(founded),
        youth_led=youth_led,
        business_group=group,
        shareholders=holders,
    )
    context = context_of(ctx)
    org = _write(
        context, lambda session: service.register_organisation(session, new, context.clock)
    )
    out.print(f"organisation {org.id}: {org.name} ({org.kind.value}, BRN {format_brn(org.brn)})")


def _existing(context: CliContext, org_id: int) -> Organisation:
    with context.database.read() as session:
        org = queries.get_organisation(session, org_id)
    if org is None:
        fail(f"organisation {org_id} not found", code=EXIT_REJECTED)
    return org


@org_app.command("show")
def show(ctx: typer.Context, org_id: int = OrgId, as_json: bool = AsJson) -> None:
    """An organisation with its size data and shareholders."""
    org = _existing(context_of(ctx), org_id)
    if as_json:
        _print_json(asdict(org))
        return
    out.print(_organisation_table(org))


@org_app.command("list")
def list_organisations(
    ctx: typer.Context,
    kind: OrgKind | None = typer.Option(None),
    region: Region | None = typer.Option(None),
    after: int = typer.Option(0, min=0, max=ID_MAX, help="Show ids after this one (paging)."),
    limit: int = typer.Option(100, min=1, max=queries.PAGE_SIZE_MAX),
) -> None:
    """List organisations in id order."""
    with context_of(ctx).database.read() as session:
        found = queries.list_organisations(
            session, limit=limit, after_id=after, kind=kind, region=region
        )
    table = Table("id", "kind", "BRN", "name", "region", "KSIC")
    for org in found:
        table.add_row(
            str(org.id), org.kind.value, format_brn(org.brn), org.name, org.region, org.ksic_code
        )
    out.print(table)


@org_app.command("check-sme")
def check(
    ctx: typer.Context,
    org_id: int = OrgId,
    on: datetime | None = typer.Option(None, formats=DATE_FORMATS, help="Day (default today)."),
    as_json: bool = AsJson,
) -> None:
    """The SME test with every reason it fails. Exit 0 if eligible, 1 if not."""
    context = context_of(ctx)
    org = _existing(context, org_id)
    day = _day(on) or service.utc_today(context.clock)
    try:
        decision = check_sme(org, on=day)
    except RulesNotInForceError as error:
        _refuse(error)
    size = size_class(org, on=day)
    if as_json:
        _print_json({"org_id": org_id, "on": day, **asdict(decision), "size_class": size})
    else:
        verdict = "eligible" if decision.eligible else "not eligible"
        out.print(f"organisation {org_id} on {day}: {verdict} as an SME ({decision.rules_version})")
        out.print(f"size class: {size.value}")
        for reason in decision.reasons:
            out.print(f"  - {reason}", highlight=False, soft_wrap=True)
    if not decision.eligible:
        raise typer.Exit(EXIT_REJECTED)


@org_app.command("import")
def import_file(
    ctx: typer.Context,
    path: Path = typer.Argument(..., exists=True, dir_okay=False, help="A UTF-8 CSV file."),
) -> None:
    """Register every organisation in a CSV file, or none: any error is listed per row and
    nothing is written (exit 1)."""
    if path.stat().st_size > IMPORT_BYTES_MAX:
        fail(f"{path} is over {IMPORT_BYTES_MAX} bytes")
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as error:
        fail(f"{path} is not UTF-8: {error}")
    context = context_of(ctx)
    report = _write(context, lambda session: import_csv(session, text, context.clock))
    if not report.ok:
        for problem in report.errors:
            err.print(str(problem), highlight=False, markup=False, soft_wrap=True)
        fail(f"{len(report.errors)} problem(s) in {path}; nothing imported", code=EXIT_REJECTED)
    out.print(f"imported {len(report.imported_ids)} organisations from {path}")


@person_app.command("add")
def add_person(
    ctx: typer.Context,
    name: str = typer.Option(...),
    email: str = typer.Option(...),
    org: int = typer.Option(..., min=1, max=ID_MAX, help="Organisation id."),
    role: PersonRole = typer.Option(PersonRole.STAFF),
) -> None:
    """Add a person to an organisation (a researcher may also hold a role in a firm)."""
    context = context_of(ctx)
    person = _write(
        context,
        lambda session: service.add_person(
            session, name=name, email=email, org_id=org, role=role, clock=context.clock
        ),
    )
    out.print(f"person {person.id}: {person.name} <{person.email}>, {person.role.value} of {org}")


@person_app.command("list")
def list_people(
    ctx: typer.Context,
    org: int | None = typer.Option(None, min=1, max=ID_MAX, help="Only this organisation's."),
    after: int = typer.Option(0, min=0, max=ID_MAX),
    limit: int = typer.Option(100, min=1, max=queries.PAGE_SIZE_MAX),
) -> None:
    """List people in id order."""
    with context_of(ctx).database.read() as session:
        people = queries.list_people(session, limit=limit, after_id=after, org_id=org)
    table = Table("id", "name", "email", "organisation", "role")
    for person in people:
        table.add_row(
            str(person.id), person.name, person.email, str(person.org_id), person.role.value
        )
    out.print(table)


def _print_certification(certification: Certification) -> None:
    until = certification.certified_until
    suffix = f" until {until.isoformat()}" if until else ""
    out.print(f"integrator {certification.integrator_id}: {certification.status.value}{suffix}")


@integrator_app.command("apply")
def apply(ctx: typer.Context, integrator_id: int = IntegratorId) -> None:
    """Apply for certification."""
    context = context_of(ctx)
    _print_certification(
        _write(
            context,
            lambda session: service.apply_for_certification(session, integrator_id, context.clock),
        )
    )


@integrator_app.command("certify")
def certify(
    ctx: typer.Context,
    integrator_id: int = IntegratorId,
    until: datetime = typer.Option(..., formats=DATE_FORMATS, help="Last valid day."),
) -> None:
    """Certify an applicant, or reinstate a suspended integrator."""
    context = context_of(ctx)
    _print_certification(
        _write(
            context,
            lambda session: service.certify(
                session, integrator_id, until=until.date(), clock=context.clock
            ),
        )
    )


@integrator_app.command("renew")
def renew(
    ctx: typer.Context,
    integrator_id: int = IntegratorId,
    until: datetime = typer.Option(..., formats=DATE_FORMATS, help="New last valid day."),
) -> None:
    """Extend a certification."""
    context = context_of(ctx)
    _print_certification(
        _write(
            context,
            lambda session: service.renew(
                session, integrator_id, until=until.date(), clock=context.clock
            ),
        )
    )


@integrator_app.command("suspend")
def suspend(
    ctx: typer.Context, integrator_id: int = IntegratorId, reason: str = typer.Option(...)
) -> None:
    """Suspend a certified integrator."""
    context = context_of(ctx)
    _print_certification(
        _write(
            context,
            lambda session: service.suspend(
                session, integrator_id, reason=reason, clock=context.clock
            ),
        )
    )


@integrator_app.command("revoke")
def revoke(
    ctx: typer.Context, integrator_id: int = IntegratorId, reason: str = typer.Option(...)
) -> None:
    """Revoke a certification for good."""
    context = context_of(ctx)
    _print_certification(
        _write(
            context,
            lambda session: service.revoke(
                session, integrator_id, reason=reason, clock=context.clock
            ),
        )
    )


@integrator_app.command("show")
def show_certification(
    ctx: typer.Context, integrator_id: int = IntegratorId, as_json: bool = AsJson
) -> None:
    """The certification and its history."""
    with context_of(ctx).database.read() as session:
        certification = queries.get_certification(session, integrator_id)
        history = queries.certification_history(session, integrator_id)
    if certification is None:
        fail(f"integrator {integrator_id} has not applied", code=EXIT_REJECTED)
    if as_json:
        _print_json({**asdict(certification), "history": [asdict(e) for e in history]})
        return
    _print_certification(certification)
    table = Table("status", "until", "reason", "timestamp_ns")
    for event in history:
        until = event.certified_until.isoformat() if event.certified_until else ""
        table.add_row(event.status.value, until, event.reason, str(event.timestamp_ns))
    out.print(table)


@app.command("conflicts")
def conflicts(
    ctx: typer.Context,
    firm: int = typer.Option(..., min=1, max=ID_MAX, help="Firm id."),
    integrator: int = typer.Option(..., min=1, max=ID_MAX, help="Integrator id."),
) -> None:
    """Whether an integrator is related to a firm. Exit 0 if not, 1 if it is."""
    try:
        with context_of(ctx).database.read() as session:
            reasons = queries.conflict_of_interest_reasons(
                session, firm_id=firm, integrator_id=integrator
            )
    except RegistryError as error:
        _refuse(error)
    if not reasons:
        out.print(f"no conflict of interest between firm {firm} and integrator {integrator}")
        return
    out.print(f"integrator {integrator} is related to firm {firm}:")
    for reason in reasons:
        out.print(f"  - {reason}", highlight=False, soft_wrap=True)
    raise typer.Exit(EXIT_REJECTED)
