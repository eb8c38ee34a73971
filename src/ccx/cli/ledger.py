"""`ccx ledger`: ledgers, accounts, transfers, holds and the tamper-evident journal.

Amounts are integers in micro-credits (1 credit = 1,000,000).
"""

from __future__ import annotations

import json
from dataclasses import asdict
from typing import Any

import typer
from rich.table import Table

from ccx.cli.context import EXIT_REJECTED, context_of, fail, out
from ccx.ids import ID_MAX, new_id
from ccx.ledger import (
    AMOUNT_MAX,
    Account,
    AccountFlags,
    CreateAccountResult,
    CreateTransferResult,
    LedgerError,
    NewAccount,
    NewTransfer,
    Transfer,
    TransferFlags,
    queries,
    service,
)
from ccx.ledger.types import CODE_MAX, LEDGER_MAX, TIMEOUT_S_MAX, USER_DATA_32_MAX
from ccx.ledger.verify import verify_ledger

app = typer.Typer(help="The credit ledger.", no_args_is_help=True)
account_app = typer.Typer(help="Accounts.", no_args_is_help=True)
app.add_typer(account_app, name="account")

LIST_LIMIT_MAX = queries.PAGE_SIZE_MAX
_SUCCESS = (CreateTransferResult.OK, CreateTransferResult.EXISTS)


def _print_json(value: Any) -> None:
    print(json.dumps(value, indent=2, default=str))


def _show_fields(values: dict[str, Any], *, as_json: bool) -> None:
    if as_json:
        _print_json(values)
        return
    table = Table("field", "value", show_header=False)
    for key, value in values.items():
        table.add_row(key, str(value))
    out.print(table)


def _flag_names(flags: AccountFlags | TransferFlags) -> str:
    names = sorted((flag.name or "").lower() for flag in type(flags) if flag and flag in flags)
    return ",".join(names) or "-"


@app.command("create")
def create_ledger(
    ctx: typer.Context,
    ledger_id: int = typer.Option(..., "--id", min=1, max=LEDGER_MAX, help="Ledger id."),
    name: str = typer.Option(..., help="A unique name (e.g. the programme)."),
    asset_scale: int = typer.Option(
        6, min=0, max=18, help="Decimal places of the unit (6: micro-credits)."
    ),
) -> None:
    """Create a ledger (running it again with the same fields changes nothing)."""
    if not 0 < len(name.strip()) <= 100:
        fail("a ledger name has 1 to 100 characters")
    context = context_of(ctx)
    try:
        with context.database.write() as session:
            ledger = service.create_ledger(
                session,
                ledger_id=ledger_id,
                name=name.strip(),
                asset_scale=asset_scale,
                clock=context.clock,
            )
    except LedgerError as error:
        fail(str(error), code=EXIT_REJECTED)
    out.print(f"ledger {ledger.id} {ledger.name!r} (asset scale {ledger.asset_scale})")


@app.command("list")
def list_ledgers(ctx: typer.Context) -> None:
    """List ledgers."""
    with context_of(ctx).database.read() as session:
        ledgers = queries.list_ledgers(session)
    table = Table("id", "name", "asset scale")
    for ledger in ledgers:
        table.add_row(str(ledger.id), ledger.name, str(ledger.asset_scale))
    out.print(table)


@account_app.command("create")
def create_account(
    ctx: typer.Context,
    account_id: int = typer.Option(..., "--id", min=1, max=ID_MAX, help="Account id."),
    ledger: int = typer.Option(..., min=1, max=LEDGER_MAX, help="Ledger id."),
    code: int = typer.Option(..., min=1, max=CODE_MAX, help="Account kind."),
    debits_must_not_exceed_credits: bool = typer.Option(
        False, help="Never let the account go below zero."
    ),
    credits_must_not_exceed_debits: bool = typer.Option(
        False, help="Never let credits exceed debits."
    ),
    owner_org: int | None = typer.Option(
        None, min=1, max=ID_MAX, help="Organisation that owns it."
    ),
    user_data_64: int = typer.Option(0, min=0, max=ID_MAX),
    user_data_32: int = typer.Option(0, min=0, max=USER_DATA_32_MAX),
) -> None:
    """Create an account."""
    flags = AccountFlags.NONE
    if debits_must_not_exceed_credits:
        flags |= AccountFlags.DEBITS_MUST_NOT_EXCEED_CREDITS
    if credits_must_not_exceed_debits:
        flags |= AccountFlags.CREDITS_MUST_NOT_EXCEED_DEBITS
    new = NewAccount(account_id, ledger, code, flags, owner_org, user_data_64, user_data_32)
    context = context_of(ctx)
    with context.database.write() as session:
        (outcome,) = service.create_accounts(session, [new], context.clock)
    if outcome.result not in (CreateAccountResult.OK, CreateAccountResult.EXISTS):
        fail(f"account {account_id}: {outcome.result.value}", code=EXIT_REJECTED)
    out.print(f"account {account_id}: {outcome.result.value}")


def _account_dict(account: Account) -> dict[str, Any]:
    values = asdict(account)
    values["flags"] = _flag_names(account.flags)
    values["balance_posted"] = account.balance_posted
    values["balance_pending"] = account.balance_pending
    values["balance_available"] = account.balance_available
    return values


@account_app.command("show")
def show_account(
    ctx: typer.Context,
    account_id: int = typer.Argument(..., min=1, max=ID_MAX),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """An account with its balances (posted, pending, available)."""
    with context_of(ctx).database.read() as session:
        account = queries.get_account(session, account_id)
    if account is None:
        fail(f"account {account_id} not found", code=EXIT_REJECTED)
    values = _account_dict(account)
    _show_fields(values, as_json=as_json)


@account_app.command("list")
def list_accounts(
    ctx: typer.Context,
    ledger: int | None = typer.Option(None, min=1, max=LEDGER_MAX),
    code: int | None = typer.Option(None, min=1, max=CODE_MAX),
    after: int = typer.Option(0, min=0, max=ID_MAX, help="Show ids after this one (paging)."),
    limit: int = typer.Option(100, min=1, max=LIST_LIMIT_MAX),
) -> None:
    """List accounts in id order."""
    with context_of(ctx).database.read() as session:
        accounts = queries.list_accounts(
            session, limit=limit, after_id=after, ledger=ledger, code=code
        )
    table = Table("id", "ledger", "code", "flags", "posted", "pending", "available")
    for account in accounts:
        table.add_row(
            str(account.id),
            str(account.ledger),
            str(account.code),
            _flag_names(account.flags),
            str(account.balance_posted),
            str(account.balance_pending),
            str(account.balance_available),
        )
    out.print(table)


@account_app.command("close")
def close_account(
    ctx: typer.Context,
    account_id: int = typer.Argument(..., min=1, max=ID_MAX),
    sweep_to: int = typer.Option(..., min=1, max=ID_MAX, help="Account that receives the balance."),
    closing_number: int = typer.Option(
        1, min=1, max=1_000_000, help="1 for the first closing; after a reopen, the next number."
    ),
) -> None:
    """Sweep the account's available balance to another account, then close it."""
    context = context_of(ctx)
    try:
        outcomes = context.database.run_write(
            lambda session: service.close_account(
                session,
                account_id=account_id,
                sweep_to_account_id=sweep_to,
                clock=context.clock,
                closing_number=closing_number,
            )
        )
    except LedgerError as error:
        fail(str(error), code=EXIT_REJECTED)
    failed = [o for o in outcomes if o.result not in _SUCCESS]
    if failed:
        fail(f"account {account_id} not closed: {failed[0].result.value}", code=EXIT_REJECTED)
    out.print(f"account {account_id} closed; balance swept to {sweep_to}")


def _transfer_flags(
    *,
    pending: bool,
    post: int | None,
    void: int | None,
    balancing_debit: bool,
    balancing_credit: bool,
) -> tuple[TransferFlags, int]:
    if post is not None and void is not None:
        fail("--post and --void exclude each other")
    flags = TransferFlags.NONE
    if pending:
        flags |= TransferFlags.PENDING
    if balancing_debit:
        flags |= TransferFlags.BALANCING_DEBIT
    if balancing_credit:
        flags |= TransferFlags.BALANCING_CREDIT
    if post is not None:
        return flags | TransferFlags.POST_PENDING_TRANSFER, post
    if void is not None:
        return flags | TransferFlags.VOID_PENDING_TRANSFER, void
    return flags, 0


@app.command("transfer")
def transfer(
    ctx: typer.Context,
    transfer_id: int | None = typer.Option(
        None,
        "--id",
        min=1,
        max=ID_MAX,
        help="Transfer id (the idempotency key; random if left out).",
    ),
    debit: int = typer.Option(
        0, min=0, max=ID_MAX, help="Debit account (may be left out for --post/--void)."
    ),
    credit: int = typer.Option(
        0, min=0, max=ID_MAX, help="Credit account (may be left out for --post/--void)."
    ),
    amount: int | None = typer.Option(
        None, min=0, max=AMOUNT_MAX, help="Micro-credits (for --post: default the whole hold)."
    ),
    ledger: int = typer.Option(
        0, min=0, max=LEDGER_MAX, help="Ledger (may be left out for --post/--void)."
    ),
    code: int = typer.Option(0, min=0, max=CODE_MAX, help="Why the transfer is made."),
    pending: bool = typer.Option(False, "--pending", help="Place a hold instead of posting."),
    timeout_s: int = typer.Option(
        0, min=0, max=TIMEOUT_S_MAX, help="A hold expires after this many seconds (0: never)."
    ),
    post: int | None = typer.Option(None, min=1, max=ID_MAX, help="Post (part of) this hold."),
    void: int | None = typer.Option(None, min=1, max=ID_MAX, help="Void this hold."),
    balancing_debit: bool = typer.Option(
        False, help="Move at most --amount, as much as the debit account has."
    ),
    balancing_credit: bool = typer.Option(
        False, help="Move at most --amount, as much as the credit account allows."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Create one transfer (a retry with the same --id answers `exists`)."""
    flags, pending_id = _transfer_flags(
        pending=pending,
        post=post,
        void=void,
        balancing_debit=balancing_debit,
        balancing_credit=balancing_credit,
    )
    if amount is None:
        if post is None and void is None:
            fail("--amount is required")
        amount = AMOUNT_MAX if post is not None else 0
    new = NewTransfer(
        transfer_id or new_id(), debit, credit, amount, ledger, code, flags, pending_id, timeout_s
    )
    context = context_of(ctx)
    (outcome,) = context.database.run_statement_write(
        lambda connection: service.create_transfers(connection, [new], context.clock)
    )
    if outcome.result not in _SUCCESS:
        fail(f"transfer {new.id}: {outcome.result.value}", code=EXIT_REJECTED)
    if as_json:
        _print_json({"id": new.id, "result": outcome.result.value})
        return
    out.print(f"transfer {new.id}: {outcome.result.value}")


def _transfer_row(item: Transfer) -> list[str]:
    return [
        str(item.id),
        str(item.debit_account_id),
        str(item.credit_account_id),
        str(item.amount),
        str(item.ledger),
        str(item.code),
        _flag_names(item.flags),
        str(item.pending_id or ""),
    ]


@app.command("lookup-transfer")
def lookup_transfer(
    ctx: typer.Context,
    transfer_id: int = typer.Argument(..., min=1, max=ID_MAX),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """One transfer (and, for a hold, where it stands)."""
    with context_of(ctx).database.read() as session:
        found = queries.get_transfer(session, transfer_id)
        state = queries.get_pending_state(session, transfer_id)
    if found is None:
        fail(f"transfer {transfer_id} not found", code=EXIT_REJECTED)
    values = asdict(found) | {"flags": _flag_names(found.flags)}
    if state is not None:
        values |= {"hold_status": state.status.value, "hold_expires_at_ns": state.expires_at_ns}
    _show_fields(values, as_json=as_json)


@app.command("transfers")
def list_transfers(
    ctx: typer.Context,
    account: int | None = typer.Option(
        None, min=1, max=ID_MAX, help="Only transfers touching this account."
    ),
    after: int = typer.Option(0, min=0, max=ID_MAX, help="Show ids after this one (paging)."),
    limit: int = typer.Option(100, min=1, max=LIST_LIMIT_MAX),
) -> None:
    """List transfers in id order."""
    with context_of(ctx).database.read() as session:
        items = queries.list_transfers(session, limit=limit, after_id=after, account_id=account)
    table = Table("id", "debit", "credit", "amount", "ledger", "code", "flags", "pending id")
    for item in items:
        table.add_row(*_transfer_row(item))
    out.print(table)


@app.command("expire")
def expire(ctx: typer.Context) -> None:
    """Return the credits of every hold whose timeout has passed, oldest expiry first."""
    context = context_of(ctx)
    total = 0
    while True:
        count = context.database.run_write(
            lambda session: service.expire_pending_transfers(session, context.clock)
        )
        total += count
        if count < service.EXPIRE_BATCH_MAX:
            break
    out.print(f"{total} hold(s) expired")


@app.command("seal")
def seal(ctx: typer.Context) -> None:
    """Link every committed journal entry into the hash chain."""
    context = context_of(ctx)
    total = 0
    while True:
        count = context.database.run_write(lambda session: service.seal_journal(session, wait=True))
        total += count
        if count < service.SEAL_BATCH_MAX:
            break
    out.print(f"{total} entr{'y' if total == 1 else 'ies'} sealed")


@app.command("checkpoint")
def checkpoint(
    ctx: typer.Context, as_json: bool = typer.Option(False, "--json", help="Print JSON.")
) -> None:
    """Seal the journal and print the chain head and Merkle root, to be published."""
    context = context_of(ctx)
    result = context.database.run_write(
        lambda session: service.record_checkpoint(session, context.clock)
    )
    if as_json:
        _print_json(asdict(result))
        return
    print(f"sequence {result.sequence}")
    print(f"head     {result.head_hash_hex}")
    print(f"merkle   {result.merkle_root_hex}")


def _parse_expected(expect: str) -> tuple[int, str]:
    sequence_text, _, head = expect.partition(":")
    if (
        not sequence_text.isdigit()
        or len(head) != 64
        or any(c not in "0123456789abcdef" for c in head)
    ):
        fail(
            "--expect takes SEQUENCE:HEAD, the head as 64 lowercase hex digits"
            " (from `ccx ledger checkpoint`)"
        )
    return int(sequence_text), head


@app.command("verify")
def verify(
    ctx: typer.Context,
    expect: str | None = typer.Option(
        None, help="A published checkpoint SEQUENCE:HEAD the chain must match."
    ),
) -> None:
    """Recompute the hash chain and every balance from the journal; exit 1 naming what differs."""
    expect_sequence, expect_head = _parse_expected(expect) if expect else (0, "")
    context = context_of(ctx)
    with context.database.read() as session:
        report = verify_ledger(
            session, expect_sequence=expect_sequence, expect_head_hex=expect_head
        )
    if not report.ok:
        for problem in report.problems:
            out.print(f"[red]✗[/] {problem}", highlight=False)
        fail(f"verification failed: {len(report.problems)} problem(s)", code=EXIT_REJECTED)
    out.print(
        f"ok: {report.entries_checked} journal entries and {report.accounts_checked} accounts agree"
    )
