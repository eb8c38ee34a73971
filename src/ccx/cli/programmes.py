"""`ccx programmes` and `ccx mandates`: programmes, approve-first applications, audits, lot
expiry, mandates, spends and service fees.

Amounts are given and shown in credits, with up to six decimals (1 credit = 1,000,000
micro-credits); days as YYYY-MM-DD. Bad input exits 2, a refusal by the rules exits 1.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import asdict
from datetime import datetime
from typing import Any, NoReturn, TypeVar

import typer
from rich.table import Column, Table
from sqlalchemy.orm import Session

from ccx.cli.context import EXIT_BAD_INPUT, EXIT_REJECTED, CliContext, context_of, fail, out
from ccx.consortia import PoolSweep
from ccx.consortia import service as consortia_service
from ccx.ids import ID_MAX
from ccx.ledger.types import LEDGER_MAX, TIMEOUT_S_MAX
from ccx.programs import (
    Application,
    AuditResult,
    AuditStatus,
    Decision,
    GrantRule,
    InvalidRequestError,
    Lot,
    LotSweep,
    Mandate,
    NewApplication,
    NewMandate,
    NewProgramme,
    Programme,
    ProgrammeError,
    ProgrammeTerms,
    Reason,
    RefusedError,
    Spend,
    Track,
    mandates,
    queries,
    service,
)
from ccx.programs.types import credits_text, parse_credits
from ccx.registry import OrgKind, SizeClass

T = TypeVar("T")
LIST_LIMIT_MAX = queries.PAGE_SIZE_MAX
DAY = ["%Y-%m-%d"]
ID_DIGITS_MAX = len(str(ID_MAX))

app = typer.Typer(
    help="Programmes: budgets, approve-first applications, audits, lot expiry.",
    no_args_is_help=True,
)
audit_app = typer.Typer(help="Post-audit of approved applications.", no_args_is_help=True)
app.add_typer(audit_app, name="audit")
mandates_app = typer.Typer(
    help="Mandates: a firm lets a certified integrator spend its credits.", no_args_is_help=True
)


def credits_option(text: str, option: str) -> int:
    try:
        return parse_credits(text)
    except ValueError as error:
        fail(f"{option}: {error}")


def _refused(error: ProgrammeError) -> NoReturn:
    if isinstance(error, RefusedError):
        print_reasons(error.reasons)
    code = EXIT_BAD_INPUT if isinstance(error, InvalidRequestError) else EXIT_REJECTED
    fail(str(error), code=code)


def write(context: CliContext, action: Callable[[Session], T]) -> T:
    try:
        return context.database.run_write(action)
    except ProgrammeError as error:
        _refused(error)


def say(text: str) -> None:
    """One line of output, never wrapped (ids stay whole for copying)."""
    out.print(text, soft_wrap=True, highlight=False)


def _id(header: str) -> Column:
    """A column of 63-bit ids, never wrapped or cut (ids are copied into other commands)."""
    return Column(header, no_wrap=True, min_width=ID_DIGITS_MAX)


def print_reasons(reasons: Iterable[Reason]) -> None:
    for reason in reasons:
        say(f"[red]✗[/] {reason.code.value}: {reason.text}")


def print_json(value: Any) -> None:
    print(json.dumps(value, indent=2, default=str))


# --- programmes ----------------------------------------------------------------------------


def _grant_rule(
    fixed: str | None, micro: str | None, small: str | None, medium: str | None
) -> GrantRule:
    by_size = {
        size: credits_option(text, f"--grant-{size.value}")
        for size, text in (
            (SizeClass.MICRO, micro),
            (SizeClass.SMALL, small),
            (SizeClass.MEDIUM, medium),
        )
        if text is not None
    }
    return GrantRule(None if fixed is None else credits_option(fixed, "--grant"), by_size)


@app.command("create")
def create(
    ctx: typer.Context,
    programme_id: int = typer.Option(
        ..., "--id", min=1, max=LEDGER_MAX, help="Programme (and ledger) id."
    ),
    name: str = typer.Option(..., help="A unique name."),
    budget: str = typer.Option(..., help="Credits appropriated into the pool."),
    opens: datetime = typer.Option(..., formats=DAY, help="First day applications are taken."),
    closes: datetime = typer.Option(..., formats=DAY, help="Last day applications are taken."),
    grant: str | None = typer.Option(None, help="Credits every approved firm gets."),
    grant_micro: str | None = typer.Option(None, help="Credits for a micro firm (by size)."),
    grant_small: str | None = typer.Option(None, help="Credits for a small firm (by size)."),
    grant_medium: str | None = typer.Option(None, help="Credits for a medium firm (by size)."),
    lot_days: int = typer.Option(..., min=1, help="Days a lot lives after its grant."),
    firm_cap: str = typer.Option(..., help="Most credits one firm is granted."),
    group_cap: str = typer.Option(..., help="Most credits one business group is granted."),
    quota_non_capital_bp: int = typer.Option(
        0, min=0, max=10_000, help="Budget share reserved outside the capital region."
    ),
    quota_youth_bp: int = typer.Option(
        0, min=0, max=10_000, help="Budget share reserved for youth-led firms."
    ),
    track: list[Track] = typer.Option([Track.SME_DIRECT], help="Tracks offered (repeat)."),
    kind: list[OrgKind] = typer.Option([OrgKind.SME], help="Kinds that may apply (repeat)."),
    service_share_bp: int = typer.Option(
        1_000, min=0, max=10_000, help="Most of a mandate's cap taken as a fee."
    ),
    price_krw: int = typer.Option(0, min=0, help="KRW per credit, for reports."),
    audit_sample_bp: int = typer.Option(500, min=0, max=10_000, help="Random audit sample."),
    risk_cluster_min: int = typer.Option(
        3, min=2, help="Firms at one address or contact that are audited."
    ),
    risk_founded_days: int = typer.Option(90, min=0, help="A firm younger than this is audited."),
) -> None:
    """Create a programme: its ledger, accounts and budget (running it again changes nothing)."""
    terms = ProgrammeTerms(
        budget_micro=credits_option(budget, "--budget"),
        opens_on=opens.date(),
        closes_on=closes.date(),
        grant=_grant_rule(grant, grant_micro, grant_small, grant_medium),
        lot_lifetime_days=lot_days,
        firm_cap_micro=credits_option(firm_cap, "--firm-cap"),
        group_cap_micro=credits_option(group_cap, "--group-cap"),
        quota_non_capital_bp=quota_non_capital_bp,
        quota_youth_bp=quota_youth_bp,
        tracks=frozenset(track),
        eligible_kinds=frozenset(kind),
        service_share_max_bp=service_share_bp,
        price_krw_per_credit=price_krw,
        audit_sample_bp=audit_sample_bp,
        risk_cluster_min=risk_cluster_min,
        risk_founded_within_days=risk_founded_days,
    )
    context = context_of(ctx)
    new = NewProgramme(programme_id, name, terms)
    programme = write(context, lambda s: service.create_programme(s, new, context.clock))
    say(
        f"programme {programme.id} {programme.name!r}:"
        f" {credits_text(terms.budget_micro)} credits in the pool"
    )


def _programme_dict(programme: Programme) -> dict[str, Any]:
    """The programme as flat fields: grants per size and account ids get a field each."""
    terms = asdict(programme.terms)
    rule = programme.terms.grant
    del terms["grant"]
    grants = {f"grant_{size.value}_micro": amount for size, amount in rule.by_size_micro.items()}
    accounts = {f"account_{name}": id_ for name, id_ in asdict(programme.accounts).items()}
    return {
        "id": programme.id,
        "name": programme.name,
        **terms,
        "grant_fixed_micro": rule.fixed_micro,
        **grants,
        "tracks": sorted(programme.terms.tracks),
        "eligible_kinds": sorted(programme.terms.eligible_kinds),
        **accounts,
    }


@app.command("show")
def show(
    ctx: typer.Context,
    programme_id: int = typer.Argument(..., min=1, max=LEDGER_MAX),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """A programme's terms and where its budget stands."""
    with context_of(ctx).database.read() as session:
        report = queries.programme_report(session, programme_id)
    if report is None:
        fail(f"no programme {programme_id}", code=EXIT_REJECTED)
    figures = {k: v for k, v in asdict(report).items() if k != "programme"}
    if as_json:
        print_json({"programme": _programme_dict(report.programme), **figures})
        return
    table = Table("field", "value", show_header=False)
    for key, value in _programme_dict(report.programme).items():
        table.add_row(key, _shown(key, value))
    for key, value in figures.items():
        table.add_row(key, _shown(key, value))
    out.print(table)


def _shown(key: str, value: Any) -> str:
    if key.endswith("_micro") and isinstance(value, int):
        return f"{credits_text(value)} credits"
    if isinstance(value, list):
        return ", ".join(str(item) for item in value)
    return str(value)


@app.command("list")
def list_programmes(
    ctx: typer.Context,
    after: int = typer.Option(0, min=0, max=LEDGER_MAX, help="Show ids after this one (paging)."),
    limit: int = typer.Option(100, min=1, max=LIST_LIMIT_MAX),
) -> None:
    """List programmes."""
    with context_of(ctx).database.read() as session:
        found = queries.list_programmes(session, limit=limit, after_id=after)
    table = Table("id", "name", "budget", "opens", "closes", "lot days")
    for programme in found:
        terms = programme.terms
        table.add_row(
            str(programme.id),
            programme.name,
            credits_text(terms.budget_micro),
            str(terms.opens_on),
            str(terms.closes_on),
            str(terms.lot_lifetime_days),
        )
    out.print(table)


@app.command("apply")
def apply(
    ctx: typer.Context,
    programme_id: int = typer.Argument(..., min=1, max=LEDGER_MAX),
    firm: int = typer.Option(..., min=1, max=ID_MAX, help="The applying firm."),
    key: str = typer.Option(..., help="Idempotency key: the same key again answers the same."),
    track: Track = typer.Option(Track.SME_DIRECT),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Apply for a grant; decided at once. A refusal lists every reason and exits 1."""
    context = context_of(ctx)
    new = NewApplication(programme_id=programme_id, firm_id=firm, key=key, track=track)
    application = write(context, lambda s: service.apply_for_grant(s, new, context.clock))
    report_application(application, as_json=as_json)


def report_application(application: Application, *, as_json: bool) -> None:
    """Print a decided application; a refusal lists every reason and exits 1."""
    if as_json:
        print_json(asdict(application))
    elif application.decision is Decision.APPROVED:
        where = "pool" if application.track is Track.CONSORTIUM else "lot"
        say(
            f"application {application.id}: approved, {credits_text(application.amount_micro)}"
            f" credits in {where} {application.lot_account_id}"
        )
    if application.decision is Decision.REFUSED:
        print_reasons(application.reasons)
        fail(f"application {application.id} refused", code=EXIT_REJECTED)


def _applications_table(found: list[Application]) -> Table:
    table = Table(_id("id"), "firm", "decision", "credits", _id("lot"), "audit", "why")
    for application in found:
        why = application.reasons or application.audit_reasons
        table.add_row(
            str(application.id),
            str(application.firm_id),
            application.decision.value,
            credits_text(application.amount_micro),
            str(application.lot_account_id or ""),
            application.audit_status.value,
            "; ".join(reason.text for reason in why),
        )
    return table


def _list_applications(
    ctx: typer.Context,
    programme_id: int,
    firm: int | None,
    audit: AuditStatus | None,
    after: int,
    limit: int,
) -> list[Application]:
    with context_of(ctx).database.read() as session:
        return queries.list_applications(
            session,
            limit=limit,
            after_id=after,
            programme_id=programme_id,
            firm_id=firm,
            audit_status=audit,
        )


@app.command("applications")
def applications(
    ctx: typer.Context,
    programme_id: int = typer.Argument(..., min=1, max=LEDGER_MAX),
    firm: int | None = typer.Option(None, min=1, max=ID_MAX, help="Only this firm's."),
    audit: AuditStatus | None = typer.Option(None, help="Only those with this audit status."),
    after: int = typer.Option(0, min=0, max=ID_MAX, help="Show ids after this one (paging)."),
    limit: int = typer.Option(100, min=1, max=LIST_LIMIT_MAX),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """List applications in id order, with their decisions and audit status."""
    found = _list_applications(ctx, programme_id, firm, audit, after, limit)
    if as_json:
        print_json([asdict(application) for application in found])
        return
    out.print(_applications_table(found))


@app.command("lots")
def lots(
    ctx: typer.Context,
    programme_id: int = typer.Argument(..., min=1, max=LEDGER_MAX),
    firm: int | None = typer.Option(None, min=1, max=ID_MAX, help="Only this firm's."),
    after: int = typer.Option(0, min=0, max=ID_MAX, help="Show ids after this one (paging)."),
    limit: int = typer.Option(100, min=1, max=LIST_LIMIT_MAX),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """List lots (grants) with their balances."""
    with context_of(ctx).database.read() as session:
        found = queries.list_lots(
            session, limit=limit, after_id=after, programme_id=programme_id, firm_id=firm
        )
    if as_json:
        print_json([asdict(lot) for lot in found])
        return
    out.print(_lots_table(found))


def _lots_table(found: list[Lot] | tuple[Lot, ...]) -> Table:
    table = Table(_id("lot"), "firm", "expires", "status", "granted", "available", "held", "spent")
    for lot in found:
        table.add_row(
            str(lot.account_id),
            str(lot.firm_id),
            str(lot.expires_on),
            lot.status.value,
            credits_text(lot.granted_micro),
            credits_text(lot.available_micro),
            credits_text(lot.held_micro),
            credits_text(lot.spent_micro),
        )
    return table


def _expire_batch(context: CliContext, after_lot_id: int) -> LotSweep:
    return write(
        context, lambda s: service.expire_lots(s, clock=context.clock, after_lot_id=after_lot_id)
    )


@app.command("expire")
def expire(ctx: typer.Context) -> None:
    """Sweep every lot past its expiry to its programme's expired account and close it, then
    every consortium pool past its expiry. Those that still carry holds are deferred until the
    holds resolve."""
    context = context_of(ctx)
    after: int | None = 0
    expired = deferred = 0
    swept = 0
    while after is not None:
        sweep = _expire_batch(context, after)
        expired += len(sweep.expired)
        deferred += len(sweep.deferred)
        swept += sum(lot.expired_micro for lot in sweep.expired)
        after = sweep.next_after_lot_id
    say(
        f"{expired} lot(s) expired ({credits_text(swept)} credits);"
        f" {deferred} deferred (holds outstanding)"
    )
    _expire_pools(context)


def _expire_pool_batch(context: CliContext, after_account_id: int) -> PoolSweep:
    return write(
        context,
        lambda s: consortia_service.expire_pools(
            s, clock=context.clock, after_account_id=after_account_id
        ),
    )


def _expire_pools(context: CliContext) -> None:
    after: int | None = 0
    expired = deferred = swept = 0
    while after is not None:
        sweep = _expire_pool_batch(context, after)
        expired += len(sweep.expired)
        deferred += len(sweep.deferred)
        swept += sweep.expired_micro
        after = sweep.next_after_account_id
    say(
        f"{expired} consortium pool(s) expired ({credits_text(swept)} credits);"
        f" {deferred} deferred (holds outstanding)"
    )


# --- audits --------------------------------------------------------------------------------


@audit_app.command("list")
def audit_list(
    ctx: typer.Context,
    programme_id: int = typer.Argument(..., min=1, max=LEDGER_MAX),
    after: int = typer.Option(0, min=0, max=ID_MAX, help="Show ids after this one (paging)."),
    limit: int = typer.Option(100, min=1, max=LIST_LIMIT_MAX),
) -> None:
    """The audit queue: approved applications selected for audit, with why."""
    out.print(
        _applications_table(
            _list_applications(ctx, programme_id, None, AuditStatus.SELECTED, after, limit)
        )
    )


def _print_audit(result: AuditResult) -> None:
    application = result.application
    say(f"application {application.id}: audit {application.audit_status.value}")
    source = "pool" if application.track is Track.CONSORTIUM else "lot"
    for clawback in result.clawbacks:
        say(
            f"  {source} {clawback.lot_account_id}: granted {credits_text(clawback.granted_micro)},"
            f" clawed back {credits_text(clawback.clawed_back_micro)},"
            f" spent {credits_text(clawback.spent_micro)} (flagged),"
            f" held {credits_text(clawback.held_micro)} (flagged)"
        )


def _decide_audit(
    ctx: typer.Context, decide: Callable[..., AuditResult], application_id: int, note: str
) -> None:
    """Run one audit decision (`service.pass_audit` or `service.fail_audit`) and print it."""
    context = context_of(ctx)
    result = write(
        context,
        lambda s: decide(s, application_id=application_id, note=note, clock=context.clock),
    )
    _print_audit(result)


@audit_app.command("pass")
def audit_pass(
    ctx: typer.Context,
    application_id: int = typer.Argument(..., min=1, max=ID_MAX),
    note: str = typer.Option("", help="What the audit found."),
) -> None:
    """Close an audit with no finding."""
    _decide_audit(ctx, service.pass_audit, application_id, note)


@audit_app.command("fail")
def audit_fail(
    ctx: typer.Context,
    application_id: int = typer.Argument(..., min=1, max=ID_MAX),
    note: str = typer.Option("", help="What the audit found."),
) -> None:
    """Fail an audit: claw back the unspent credits of the firm's lots (or the pool)."""
    _decide_audit(ctx, service.fail_audit, application_id, note)


# --- mandates ------------------------------------------------------------------------------


def _print_mandate(mandate: Mandate) -> None:
    state = "revoked" if mandate.revoked_at_ns is not None else f"until {mandate.valid_until}"
    source = (
        f"firm {mandate.firm_id}"
        if mandate.consortium_id is None
        else f"consortium {mandate.consortium_id}'s pool (anchor {mandate.firm_id})"
    )
    say(
        f"mandate {mandate.id} (programme {mandate.programme_id}): {source}"
        f" → integrator {mandate.integrator_id},"
        f" {mandate.project!r}, cap {credits_text(mandate.cap_micro)} credits"
        f" (drawn {credits_text(mandate.drawn_micro)}, fees {credits_text(mandate.fees_micro)}"
        f" of {credits_text(mandate.fee_max_micro)}), {state}"
    )


@mandates_app.command("grant")
def grant(
    ctx: typer.Context,
    programme: int = typer.Option(..., min=1, max=LEDGER_MAX),
    firm: int = typer.Option(
        ..., min=1, max=ID_MAX, help="The firm giving the mandate (a consortium's anchor)."
    ),
    integrator: int = typer.Option(..., min=1, max=ID_MAX, help="The certified integrator."),
    project: str = typer.Option(..., help="The project the credits are for."),
    cap: str = typer.Option(..., help="Most credits drawn under the mandate."),
    until: datetime = typer.Option(..., formats=DAY, help="Last day the mandate may be used."),
    key: str = typer.Option(..., help="Idempotency key: the same key again answers the same."),
    consortium: int | None = typer.Option(
        None, min=1, max=ID_MAX, help="Spend from this consortium's pool (--firm: its anchor)."
    ),
) -> None:
    """Give an integrator a mandate over the firm's credits in a programme, or (with
    --consortium) over the consortium's pool."""
    new = NewMandate(
        programme_id=programme,
        firm_id=firm,
        integrator_id=integrator,
        project=project,
        cap_micro=credits_option(cap, "--cap"),
        valid_until=until.date(),
        key=key,
        consortium_id=consortium,
    )
    context = context_of(ctx)
    _print_mandate(write(context, lambda s: mandates.grant_mandate(s, new, context.clock)))


@mandates_app.command("revoke")
def revoke(ctx: typer.Context, mandate_id: int = typer.Argument(..., min=1, max=ID_MAX)) -> None:
    """Revoke a mandate: no further spends (holds already placed can still be settled)."""
    context = context_of(ctx)
    _print_mandate(
        write(
            context,
            lambda s: mandates.revoke_mandate(s, mandate_id=mandate_id, clock=context.clock),
        )
    )


@mandates_app.command("show")
def show_mandate(
    ctx: typer.Context,
    mandate_id: int = typer.Argument(..., min=1, max=ID_MAX),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """A mandate and what has been drawn under it."""
    with context_of(ctx).database.read() as session:
        mandate = queries.get_mandate(session, mandate_id)
    if mandate is None:
        fail(f"no mandate {mandate_id}", code=EXIT_REJECTED)
    if as_json:
        print_json(asdict(mandate))
        return
    _print_mandate(mandate)


@mandates_app.command("list")
def list_mandates(
    ctx: typer.Context,
    programme: int | None = typer.Option(None, min=1, max=LEDGER_MAX),
    firm: int | None = typer.Option(None, min=1, max=ID_MAX, help="Only those this firm gave."),
    integrator: int | None = typer.Option(None, min=1, max=ID_MAX, help="Only those naming it."),
    consortium: int | None = typer.Option(
        None, min=1, max=ID_MAX, help="Only those over this consortium's pool."
    ),
    after: int = typer.Option(0, min=0, max=ID_MAX, help="Show ids after this one (paging)."),
    limit: int = typer.Option(100, min=1, max=LIST_LIMIT_MAX),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """List mandates in id order."""
    with context_of(ctx).database.read() as session:
        found = queries.list_mandates(
            session,
            limit=limit,
            after_id=after,
            programme_id=programme,
            firm_id=firm,
            integrator_id=integrator,
            consortium_id=consortium,
        )
    if as_json:
        print_json([asdict(mandate) for mandate in found])
        return
    for mandate in found:
        _print_mandate(mandate)


def _print_spend(spend: Spend) -> None:
    say(
        f"spend {spend.id} ({spend.kind.value}, {spend.status.value}):"
        f" {credits_text(spend.amount_micro)} credits = {spend.amount_krw:,} KRW"
    )
    for leg in spend.legs:
        posted = (
            f", {credits_text(leg.posted_micro)} posted"
            if spend.pending and leg.posted_micro is not None
            else ""
        )
        source = "lot" if spend.consortium_id is None else "pool"
        say(
            f"  {source} {leg.lot_account_id}: {credits_text(leg.amount_micro)}{posted}"
            f" (transfer {leg.transfer_id})"
        )


@mandates_app.command("spend")
def spend(
    ctx: typer.Context,
    mandate_id: int = typer.Argument(..., min=1, max=ID_MAX),
    amount: str = typer.Option(..., help="Credits to draw for compute."),
    purpose: str = typer.Option(..., help="What the compute is for."),
    key: str = typer.Option(..., help="Idempotency key: the same key again answers the same."),
    hold: bool = typer.Option(False, "--hold", help="Place holds instead of spending at once."),
    timeout_s: int = typer.Option(
        0, min=0, max=TIMEOUT_S_MAX, help="Holds expire after this (0: never)."
    ),
) -> None:
    """Draw credits for compute from the firm's lots, earliest expiry first (or from the
    consortium's pool)."""
    micro = credits_option(amount, "--amount")
    context = context_of(ctx)
    _print_spend(
        write(
            context,
            lambda s: mandates.spend_under_mandate(
                s,
                mandate_id=mandate_id,
                amount_micro=micro,
                purpose=purpose,
                transfer_key=key,
                clock=context.clock,
                pending=hold,
                timeout_s=timeout_s,
            ),
        )
    )


@mandates_app.command("settle")
def settle(
    ctx: typer.Context,
    spend_id: int = typer.Argument(..., min=1, max=ID_MAX),
    post: str = typer.Option(..., help="Credits of the holds to post; the rest is released."),
) -> None:
    """Settle a held spend: post part or all of it, release the rest."""
    micro = credits_option(post, "--post")
    context = context_of(ctx)
    _print_spend(
        write(
            context,
            lambda s: mandates.settle_spend(
                s, spend_id=spend_id, post_micro=micro, clock=context.clock
            ),
        )
    )


@mandates_app.command("redeem-fee")
def redeem_fee(
    ctx: typer.Context,
    mandate_id: int = typer.Argument(..., min=1, max=ID_MAX),
    amount: str = typer.Option(..., help="Credits of fee to redeem."),
    key: str = typer.Option(..., help="Idempotency key: the same key again answers the same."),
) -> None:
    """Redeem the integrator's service fee into its payable account (shown in KRW too)."""
    micro = credits_option(amount, "--amount")
    context = context_of(ctx)
    _print_spend(
        write(
            context,
            lambda s: mandates.redeem_service_fee(
                s, mandate_id=mandate_id, amount_micro=micro, transfer_key=key, clock=context.clock
            ),
        )
    )


@mandates_app.command("spends")
def spends(
    ctx: typer.Context,
    mandate_id: int = typer.Argument(..., min=1, max=ID_MAX),
    after: int = typer.Option(0, min=0, max=ID_MAX, help="Show ids after this one (paging)."),
    limit: int = typer.Option(100, min=1, max=LIST_LIMIT_MAX),
) -> None:
    """Compute spends and fees drawn under a mandate."""
    with context_of(ctx).database.read() as session:
        found = queries.list_spends(session, mandate_id=mandate_id, limit=limit, after_id=after)
    for item in found:
        _print_spend(item)
