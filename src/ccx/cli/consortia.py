"""`ccx consortia`: vertical consortia, their members, pools, contributions, consortium-track
applications and shared models.

Amounts in credits (up to six decimals); bad input exits 2, a refusal by the rules exits 1.
"""

from __future__ import annotations

from dataclasses import asdict

import typer

from ccx.cli.context import EXIT_REJECTED, context_of, fail
from ccx.cli.programmes import (
    LIST_LIMIT_MAX,
    credits_option,
    print_json,
    report_application,
    say,
    write,
)
from ccx.consortia import (
    Consortium,
    Contribution,
    MemberRole,
    Metric,
    NewConsortium,
    NewContribution,
    NewSharedModel,
    SharedModel,
    queries,
    service,
)
from ccx.ids import ID_MAX
from ccx.ledger.types import LEDGER_MAX
from ccx.programs.types import credits_text
from ccx.registry import Region

app = typer.Typer(
    help="Consortia: an industry, an anchor, members, a pooled account, shared models.",
    no_args_is_help=True,
)
models_app = typer.Typer(help="The register of models a consortium shares.", no_args_is_help=True)
app.add_typer(models_app, name="models")


def _print_consortium(consortium: Consortium) -> None:
    regions = ", ".join(consortium.regions)
    say(
        f"consortium {consortium.id} {consortium.name!r}: KSIC {consortium.industry}, {regions};"
        f" anchor {consortium.anchor_id}"
    )
    for member in consortium.members:
        person = f" (researcher {member.person_id})" if member.person_id else ""
        say(f"  {member.role.value}: organisation {member.org_id}{person}")


@app.command("create")
def create(
    ctx: typer.Context,
    name: str = typer.Option(..., help="A unique name."),
    industry: str = typer.Option(..., help="KSIC section (C) or division (C30)."),
    region: list[Region] = typer.Option(..., help="A region it works in (repeat)."),
    anchor: int = typer.Option(..., min=1, max=ID_MAX, help="The mid-sized anchor firm."),
) -> None:
    """Form a consortium around its anchor."""
    context = context_of(ctx)
    new = NewConsortium(name, industry, tuple(region), anchor)
    _print_consortium(write(context, lambda s: service.create_consortium(s, new, context.clock)))


@app.command("add-member")
def add_member(
    ctx: typer.Context,
    consortium_id: int = typer.Argument(..., min=1, max=ID_MAX),
    role: MemberRole = typer.Option(..., help="sme, integrator, or university (a researcher)."),
    member: int = typer.Option(
        ..., min=1, max=ID_MAX, help="The organisation, or for university the person."
    ),
) -> None:
    """Add an SME, a certified integrator or a university researcher."""
    context = context_of(ctx)
    _print_consortium(
        write(
            context,
            lambda s: service.add_member(
                s, consortium_id=consortium_id, role=role, member_id=member, clock=context.clock
            ),
        )
    )


@app.command("show")
def show(
    ctx: typer.Context,
    consortium_id: int = typer.Argument(..., min=1, max=ID_MAX),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """A consortium, its members and its pools."""
    with context_of(ctx).database.read() as session:
        consortium = queries.get_consortium(session, consortium_id)
        pools = queries.list_pools(session, consortium_id)
    if consortium is None:
        fail(f"no consortium {consortium_id}", code=EXIT_REJECTED)
    if as_json:
        print_json({**asdict(consortium), "pools": [asdict(pool) for pool in pools]})
        return
    _print_consortium(consortium)
    for pool in pools:
        say(
            f"  pool in programme {pool.programme_id} (account {pool.account_id}):"
            f" {credits_text(pool.available_micro)} credits available"
            f" (contributed {credits_text(pool.contributed_micro)},"
            f" granted {credits_text(pool.granted_micro)}, spent {credits_text(pool.spent_micro)},"
            f" expired {credits_text(pool.expired_micro)});"
            f" {'no expiry' if pool.expires_on is None else f'expires {pool.expires_on}'}"
        )


@app.command("list")
def list_consortia(
    ctx: typer.Context,
    member: int | None = typer.Option(None, min=1, max=ID_MAX, help="Only those it is in."),
    after: int = typer.Option(0, min=0, max=ID_MAX, help="Show ids after this one (paging)."),
    limit: int = typer.Option(100, min=1, max=LIST_LIMIT_MAX),
) -> None:
    """List consortia in id order."""
    with context_of(ctx).database.read() as session:
        found = queries.list_consortia(session, limit=limit, after_id=after, member_org_id=member)
    for consortium in found:
        _print_consortium(consortium)


def _print_contribution(contribution: Contribution) -> None:
    say(
        f"contribution {contribution.id}: firm {contribution.firm_id} gave"
        f" {credits_text(contribution.amount_micro)} credits to consortium"
        f" {contribution.consortium_id} (programme {contribution.programme_id})"
    )
    for leg in contribution.legs:
        say(f"  lot {leg.lot_account_id}: {credits_text(leg.amount_micro)}")


@app.command("contribute")
def contribute(
    ctx: typer.Context,
    consortium_id: int = typer.Argument(..., min=1, max=ID_MAX),
    programme: int = typer.Option(..., min=1, max=LEDGER_MAX),
    firm: int = typer.Option(..., min=1, max=ID_MAX, help="The member firm contributing."),
    amount: str = typer.Option(..., help="Credits to move from its lots into the pool."),
    key: str = typer.Option(..., help="Idempotency key: the same key again answers the same."),
) -> None:
    """Move a member firm's credits (earliest expiring lots first) into the consortium pool."""
    new = NewContribution(consortium_id, programme, firm, credits_option(amount, "--amount"), key)
    context = context_of(ctx)
    _print_contribution(write(context, lambda s: service.contribute(s, new, context.clock)))


@app.command("contributions")
def contributions(
    ctx: typer.Context,
    consortium_id: int = typer.Argument(..., min=1, max=ID_MAX),
    after: int = typer.Option(0, min=0, max=ID_MAX, help="Show ids after this one (paging)."),
    limit: int = typer.Option(100, min=1, max=LIST_LIMIT_MAX),
) -> None:
    """Contributions to the consortium's pools, in id order."""
    with context_of(ctx).database.read() as session:
        found = queries.list_contributions(
            session, consortium_id=consortium_id, limit=limit, after_id=after
        )
    for contribution in found:
        _print_contribution(contribution)


@app.command("apply")
def apply(
    ctx: typer.Context,
    consortium_id: int = typer.Argument(..., min=1, max=ID_MAX),
    programme: int = typer.Option(..., min=1, max=LEDGER_MAX),
    key: str = typer.Option(..., help="Idempotency key: the same key again answers the same."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Apply, through the anchor, on the programme's consortium track; an approval funds the
    pool. A refusal lists every reason and exits 1."""
    context = context_of(ctx)
    application = write(
        context,
        lambda s: service.apply_for_grant(
            s, consortium_id=consortium_id, programme_id=programme, key=key, clock=context.clock
        ),
    )
    report_application(application, as_json=as_json)


def _metric(text: str) -> Metric:
    name, separator, value = text.partition("=")
    if not separator:
        fail(f"--metric {text!r}: write NAME=VALUE, e.g. mAP=0.874")
    return Metric(name, value)


def _print_model(model: SharedModel) -> None:
    figures = ", ".join(f"{metric.name} {metric.value}" for metric in model.metrics)
    say(
        f"model {model.id} {model.name!r} (consortium {model.consortium_id}): {model.task},"
        f" from {model.base_model}, on {model.hardware_profile}, {model.licence}"
        + (f"; {figures}" if figures else "")
    )


@models_app.command("add")
def add_model(
    ctx: typer.Context,
    consortium_id: int = typer.Argument(..., min=1, max=ID_MAX),
    name: str = typer.Option(...),
    base_model: str = typer.Option(..., "--base", help="The model it was tuned from."),
    task: str = typer.Option(...),
    hardware: str = typer.Option(..., help='The hardware profile, e.g. "8x H100 80GB".'),
    licence: str = typer.Option(...),
    metric: list[str] = typer.Option([], help="An evaluation figure NAME=VALUE (repeat)."),
) -> None:
    """Enter a shared model in the consortium's register."""
    new = NewSharedModel(
        consortium_id=consortium_id,
        name=name,
        base_model=base_model,
        task=task,
        hardware_profile=hardware,
        licence=licence,
        metrics=tuple(_metric(text) for text in metric),
    )
    context = context_of(ctx)
    _print_model(write(context, lambda s: service.register_model(s, new, context.clock)))


@models_app.command("list")
def list_models(
    ctx: typer.Context,
    consortium_id: int = typer.Argument(..., min=1, max=ID_MAX),
    after: int = typer.Option(0, min=0, max=ID_MAX, help="Show ids after this one (paging)."),
    limit: int = typer.Option(100, min=1, max=LIST_LIMIT_MAX),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """The consortium's shared models, in id order."""
    with context_of(ctx).database.read() as session:
        found = queries.list_models(
            session, consortium_id=consortium_id, limit=limit, after_id=after
        )
    if as_json:
        print_json([asdict(model) for model in found])
        return
    for model in found:
        _print_model(model)
