"""The real ledger service, driven by random programs of requests and checked against the model.

Each step sends the same requests to the service (through a `Database`) and to the independent
in-memory model in `tests.ledger_model`; every result code and every account's counters, flags
and timestamp must agree, and the ledger-wide invariants must hold after every step. At the end
the journal is sealed and `verify_ledger` must find nothing wrong.
"""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Callable
from typing import Any, TypeVar

import sqlalchemy as sa
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)
from sqlalchemy.orm import Session

from ccx.clock import SimulatedClock
from ccx.db import Database
from ccx.ids import derived_id
from ccx.ledger import queries, service
from ccx.ledger.types import (
    AMOUNT_MAX,
    AccountFlags,
    CreateAccountResult,
    NewAccount,
    NewTransfer,
    PendingStatus,
    Transfer,
    TransferFlags,
)
from ccx.ledger.verify import verify_ledger
from tests.ledger_model import LedgerModel

T = TypeVar("T")
F = TransferFlags
A = AccountFlags
LEDGER = 1
OTHER_LEDGER = 2
MISSING_ACCOUNT = 10**12
MISSING_TRANSFER = 10**12
LEDGER_TABLES = (
    "journal_entries",
    "ledger_checkpoints",
    "failed_transfers",
    "pending_transfers",
    "transfers",
    "accounts",
    "ledgers",
)

SETTINGS = settings(
    max_examples=50,
    stateful_step_count=30,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)


def clear_ledger_tables(database: Database) -> None:
    """Start each program on an empty ledger (the database fixture is shared by all of them)."""
    with database.write() as session:
        for table in LEDGER_TABLES:
            session.execute(sa.text(f"DELETE FROM {table}"))


class LedgerMachine(RuleBasedStateMachine):
    def __init__(self, database: Database, clock: SimulatedClock) -> None:
        super().__init__()
        clear_ledger_tables(database)
        self.database = database
        self.clock = clock
        self.model = LedgerModel()
        self.transfer_ids = itertools.count(1)
        self.account_ids = itertools.count(101)
        self.accounts: list[int] = []  # in LEDGER
        self.holds: list[int] = []  # ids ever submitted as pending (whatever their outcome)
        self.submitted: list[NewTransfer] = []
        self.batches: list[list[NewTransfer]] = []

        def create_ledgers(session: Session) -> None:
            for ledger_id in (LEDGER, OTHER_LEDGER):
                service.create_ledger(
                    session,
                    ledger_id=ledger_id,
                    name=f"ledger {ledger_id}",
                    asset_scale=6,
                    clock=clock,
                )

        self.write(create_ledgers)
        self.model.create_ledger(LEDGER)
        self.model.create_ledger(OTHER_LEDGER)
        self.other_ledger_account = next(self.account_ids)
        limited = A.DEBITS_MUST_NOT_EXCEED_CREDITS
        self.create_accounts(
            [
                NewAccount(id=next(self.account_ids), ledger=LEDGER, code=1),
                NewAccount(id=next(self.account_ids), ledger=LEDGER, code=2, flags=limited),
                NewAccount(id=next(self.account_ids), ledger=LEDGER, code=2, flags=limited),
                NewAccount(
                    id=next(self.account_ids),
                    ledger=LEDGER,
                    code=3,
                    flags=A.CREDITS_MUST_NOT_EXCEED_DEBITS,
                ),
                NewAccount(id=self.other_ledger_account, ledger=OTHER_LEDGER, code=1),
            ]
        )
        issuer, *others = self.accounts
        self.submit(
            [
                NewTransfer(next(self.transfer_ids), issuer, other, 500, LEDGER, 1)
                for other in others
                if self.model.accounts[other].flags & A.DEBITS_MUST_NOT_EXCEED_CREDITS
            ]
        )

    # Plumbing

    def write(self, action: Callable[[Session], T]) -> T:
        return self.database.run_write(action)

    def create_accounts(self, batch: list[NewAccount]) -> None:
        expected = self.model.create_accounts(batch, self.clock.now_ns())
        outcomes = self.write(lambda s: service.create_accounts(s, batch, self.clock))
        assert [o.result for o in outcomes] == expected
        for new, result in zip(batch, expected, strict=True):
            if result is CreateAccountResult.OK and new.ledger == LEDGER:
                self.accounts.append(new.id)

    def submit(self, batch: list[NewTransfer]) -> None:
        expected = self.model.create_transfers(batch, self.clock.now_ns())
        outcomes = self.write(lambda s: service.create_transfers(s, batch, self.clock))
        assert [(o.index, o.id) for o in outcomes] == [(i, t.id) for i, t in enumerate(batch)]
        assert [o.result for o in outcomes] == expected, batch
        self.submitted.extend(batch)
        self.batches.append(batch)
        self.holds.extend(t.id for t in batch if t.flags & F.PENDING)

    # Drawing events

    def some_account(self, data: st.DataObject) -> int:
        """Mostly an account of the ledger; sometimes one elsewhere or none at all."""
        return data.draw(
            st.one_of(
                st.sampled_from(self.accounts),
                st.sampled_from(self.accounts),
                st.sampled_from(self.accounts),
                st.sampled_from(self.accounts),
                st.sampled_from([self.other_ledger_account, MISSING_ACCOUNT]),
            )
        )

    def two_accounts(self, data: st.DataObject) -> tuple[int, int]:
        debit = self.some_account(data)
        credit = self.some_account(data)
        if debit == credit and data.draw(st.integers(0, 4)) > 0:
            credit = data.draw(st.sampled_from([a for a in self.accounts if a != debit]))
        return debit, credit

    def plain(self, data: st.DataObject, flags: TransferFlags = F.NONE) -> NewTransfer:
        debit, credit = self.two_accounts(data)
        flags |= data.draw(st.sampled_from([F.NONE] * 4 + [F.BALANCING_DEBIT, F.BALANCING_CREDIT]))
        amounts = st.integers(0, 150)
        if flags & (F.BALANCING_DEBIT | F.BALANCING_CREDIT):
            amounts = st.one_of(amounts, st.just(AMOUNT_MAX))
        return NewTransfer(
            id=next(self.transfer_ids),
            debit_account_id=debit,
            credit_account_id=credit,
            amount=data.draw(amounts),
            ledger=LEDGER,
            code=data.draw(st.integers(1, 3)),
            flags=flags,
            user_data_64=data.draw(st.integers(0, 2)),
        )

    def pending(self, data: st.DataObject, flags: TransferFlags = F.NONE) -> NewTransfer:
        transfer = self.plain(data, flags | F.PENDING)
        timeout_s = data.draw(st.sampled_from([0, 1, 2, 5, 30]))
        return dataclasses.replace(transfer, timeout_s=timeout_s)

    def resolve(self, data: st.DataObject, flags: TransferFlags) -> NewTransfer:
        """A post or void, mostly of a known hold, naming its accounts or leaving them zero."""
        made = sorted(self.model.holds)  # holds that exist, whatever their status
        open_holds = [i for i in made if self.model.holds[i].status is PendingStatus.PENDING]
        if flags & F.POST_PENDING_TRANSFER and data.draw(st.integers(0, 3)) > 0:
            # A closing hold cannot be posted; mostly aim at holds that can.
            closing = F.CLOSING_DEBIT | F.CLOSING_CREDIT
            open_holds = [i for i in open_holds if not self.model.transfers[i].flags & closing]
        # Mostly an open hold; else any hold, any id ever submitted, or an unknown id.
        pools = [open_holds] * 7 + [made, self.holds, [t.id for t in self.submitted]]
        pool = pools[data.draw(st.integers(0, len(pools) - 1))] or [MISSING_TRANSFER]
        pending_id = data.draw(st.sampled_from(pool))
        hold = self.model.transfers.get(pending_id)
        held = self.held(pending_id)
        if flags & F.POST_PENDING_TRANSFER:
            # The whole hold, part of it, or (rarely) more than it holds.
            amounts = [AMOUNT_MAX, AMOUNT_MAX, held // 2, held, 0, held + 1]
            amount = data.draw(st.sampled_from(amounts))
        else:
            amount = data.draw(st.sampled_from([0, 0, held, held + 1]))
        named = hold is not None and data.draw(st.booleans())
        return NewTransfer(
            id=next(self.transfer_ids),
            debit_account_id=hold.debit_account_id if named and hold else 0,
            credit_account_id=hold.credit_account_id if named and hold else 0,
            amount=amount,
            ledger=hold.ledger if named and hold else 0,
            code=hold.code if named and hold else data.draw(st.sampled_from([0] * 7 + [3])),
            flags=flags,
            pending_id=pending_id,
        )

    def held(self, hold_id: int) -> int:
        hold = self.model.transfers.get(hold_id)
        return 50 if hold is None else hold.amount

    def retry(self, data: st.DataObject, flags: TransferFlags = F.NONE) -> NewTransfer:
        """A submitted transfer again: the same body, or the same id with one field changed."""
        made = [t for t in self.submitted if t.id in self.model.transfers]
        some = st.sampled_from(self.submitted)
        original = data.draw(st.one_of(st.sampled_from(made), some) if made else some)
        again = dataclasses.replace(original, flags=(original.flags & ~F.LINKED) | flags)
        changes = ["none", "none", "amount", "code", "user_data_64"]
        if original.flags & F.POST_PENDING_TRANSFER:
            changes = ["none", "amount", "whole hold"]
        change = data.draw(st.sampled_from(changes))
        if change == "whole hold":
            # "Post the whole hold" instead of an amount, or an amount instead of that sentinel.
            amount = AMOUNT_MAX if original.amount != AMOUNT_MAX else self.held(original.pending_id)
            return dataclasses.replace(again, amount=amount)
        if change == "amount":
            amount = 0 if original.amount == AMOUNT_MAX else original.amount + 1
            return dataclasses.replace(again, amount=amount)
        if change == "code":
            return dataclasses.replace(again, code=original.code + 1)
        if change == "user_data_64":
            return dataclasses.replace(again, user_data_64=original.user_data_64 + 1)
        return again

    def malformed(self, data: st.DataObject, flags: TransferFlags) -> NewTransfer:
        """An event with one field that the ledger must refuse whatever its state."""
        transfer = self.plain(data, flags)
        faults: list[dict[str, Any]] = [
            {"id": 0},
            {"debit_account_id": 0},
            {"credit_account_id": 0},
            {"ledger": 0},
            {"code": 0},
            {"ledger": OTHER_LEDGER},
            {"timeout_s": 5},
            {"pending_id": 1},
            {"flags": flags | F.CLOSING_DEBIT},
            {"flags": flags | F.POST_PENDING_TRANSFER | F.VOID_PENDING_TRANSFER},
            {"flags": flags | F.POST_PENDING_TRANSFER | F.PENDING},
            {"flags": flags | F.VOID_PENDING_TRANSFER, "pending_id": 0},
        ]
        return dataclasses.replace(transfer, **data.draw(st.sampled_from(faults)))

    def event(self, data: st.DataObject, flags: TransferFlags = F.NONE) -> NewTransfer:
        kinds = ["plain", "plain", "plain", "pending", "pending", "pending"]
        kinds += ["post", "post", "void"] if self.has_open_hold() else ["post"]
        kinds += ["malformed", "retry"] if self.submitted else ["malformed"]
        kind = data.draw(st.sampled_from(kinds))
        if kind == "malformed":
            return self.malformed(data, flags)
        if kind == "plain":
            return self.plain(data, flags)
        if kind == "pending":
            return self.pending(data, flags)
        if kind == "post":
            return self.resolve(data, flags | F.POST_PENDING_TRANSFER)
        if kind == "void":
            return self.resolve(data, flags | F.VOID_PENDING_TRANSFER)
        return self.retry(data, flags)

    # Rules

    @rule(data=st.data())
    def create_account(self, data: st.DataObject) -> None:
        batch = []
        for _ in range(data.draw(st.integers(1, 3))):
            kind = data.draw(st.sampled_from(["new", "new", "new", "again", "invalid"]))
            flags = data.draw(
                st.sampled_from(
                    [A.NONE, A.DEBITS_MUST_NOT_EXCEED_CREDITS, A.CREDITS_MUST_NOT_EXCEED_DEBITS]
                )
            )
            new = NewAccount(
                id=next(self.account_ids),
                ledger=LEDGER,
                code=data.draw(st.integers(1, 3)),
                flags=flags,
            )
            if kind == "again":
                known = self.model.accounts[data.draw(st.sampled_from(self.accounts))]
                same = data.draw(st.booleans())
                new = NewAccount(
                    id=known.id,
                    ledger=known.ledger,
                    code=known.code if same else known.code + 1,
                    flags=known.flags & ~A.CLOSED,
                )
            elif kind == "invalid":
                change = data.draw(
                    st.sampled_from(["id", "ledger", "code", "flags", "unknown ledger"])
                )
                new = NewAccount(
                    id=0 if change == "id" else new.id,
                    ledger={"ledger": 0, "unknown ledger": 99}.get(change, LEDGER),
                    code=0 if change == "code" else 1,
                    flags=(
                        A.DEBITS_MUST_NOT_EXCEED_CREDITS | A.CREDITS_MUST_NOT_EXCEED_DEBITS
                        if change == "flags"
                        else A.NONE
                    ),
                )
            batch.append(new)
        self.create_accounts(batch)

    @rule(data=st.data())
    def plain_transfer(self, data: st.DataObject) -> None:
        self.submit([self.plain(data)])

    @rule(data=st.data())
    def pending_transfer(self, data: st.DataObject) -> None:
        self.submit([self.pending(data)])

    def has_open_hold(self) -> bool:
        return any(h.status is PendingStatus.PENDING for h in self.model.holds.values())

    @precondition(has_open_hold)
    @rule(data=st.data())
    def post(self, data: st.DataObject) -> None:
        self.submit([self.resolve(data, F.POST_PENDING_TRANSFER)])

    @precondition(has_open_hold)
    @rule(data=st.data())
    def void(self, data: st.DataObject) -> None:
        self.submit([self.resolve(data, F.VOID_PENDING_TRANSFER)])

    @rule(data=st.data(), size=st.integers(2, 4), spoil=st.booleans(), left_open=st.booleans())
    def linked_chain(self, data: st.DataObject, size: int, spoil: bool, left_open: bool) -> None:
        chain = [self.event(data, F.LINKED) for _ in range(size - 1)]
        last = self.event(data, F.LINKED if left_open and data.draw(st.booleans()) else F.NONE)
        chain.append(last)
        if spoil:
            # One member overdraws a limited account or names a missing one.
            position = data.draw(st.integers(0, size - 1))
            limited = [
                a
                for a in self.accounts
                if self.model.accounts[a].flags & A.DEBITS_MUST_NOT_EXCEED_CREDITS
            ]
            debit = data.draw(st.sampled_from(limited)) if limited else MISSING_ACCOUNT
            chain[position] = NewTransfer(
                id=next(self.transfer_ids),
                debit_account_id=debit,
                credit_account_id=data.draw(
                    st.sampled_from([a for a in self.accounts if a != debit])
                ),
                amount=10**9,
                ledger=LEDGER,
                code=1,
                flags=chain[position].flags & F.LINKED,
            )
        self.submit(chain)

    @precondition(lambda self: self.submitted)
    @rule(data=st.data())
    def retry_transfer(self, data: st.DataObject) -> None:
        self.submit([self.retry(data)])

    def resolutions(self) -> list[int]:
        resolving = F.POST_PENDING_TRANSFER | F.VOID_PENDING_TRANSFER
        return [i for i, t in self.model.transfers.items() if t.flags & resolving]

    @precondition(lambda self: bool(self.resolutions()))
    @rule(data=st.data())
    def retry_resolution(self, data: st.DataObject) -> None:
        """A post or void again, spelled another way: named or zero fields, the whole-hold
        sentinel or the recorded amount (same body), or a different amount."""
        stored = self.model.transfers[data.draw(st.sampled_from(self.resolutions()))]
        hold = self.model.transfers[stored.pending_id]
        named = data.draw(st.booleans())
        amounts = [stored.amount, AMOUNT_MAX, 0, hold.amount, stored.amount + 1]
        self.submit(
            [
                NewTransfer(
                    id=stored.id,
                    debit_account_id=stored.debit_account_id if named else 0,
                    credit_account_id=stored.credit_account_id if named else 0,
                    amount=data.draw(st.sampled_from(amounts)),
                    ledger=stored.ledger if named else 0,
                    code=stored.code if named else 0,
                    flags=stored.flags & ~F.LINKED,
                    pending_id=stored.pending_id,
                    user_data_64=stored.user_data_64,
                )
            ]
        )

    @precondition(lambda self: self.batches)
    @rule(data=st.data())
    def retry_batch(self, data: st.DataObject) -> None:
        """A client that got no answer sends the same request again."""
        self.submit(data.draw(st.sampled_from(self.batches)))

    @rule(data=st.data(), size=st.integers(2, 6))
    def batch(self, data: st.DataObject, size: int) -> None:
        events: list[NewTransfer] = []
        while len(events) < size:
            if data.draw(st.integers(0, 3)) == 0:
                events.append(self.event(data, F.LINKED))
            events.append(self.event(data))
        self.submit(events)

    @rule(seconds=st.sampled_from([1, 2, 5, 31]))
    def advance_clock(self, seconds: int) -> None:
        # Holds past their timeout stay pending until the sweep, but can no longer be resolved.
        self.clock.advance(seconds)

    @rule()
    def expire(self) -> None:
        expected = self.model.expire(self.clock.now_ns())
        expired = 0
        while count := self.write(lambda s: service.expire_pending_transfers(s, self.clock)):
            expired += count
        assert expired == len(expected)

    @precondition(lambda self: not any(a.flags & A.CLOSED for a in self.model.accounts.values()))
    @rule(data=st.data())
    def close_account(self, data: st.DataObject) -> None:
        account_id = data.draw(st.sampled_from(self.accounts))
        sweep_to = data.draw(st.sampled_from(self.accounts))
        account = self.model.accounts[account_id]
        common = {
            "debit_account_id": account_id,
            "credit_account_id": sweep_to,
            "ledger": account.ledger,
            "code": account.code,
        }
        chain = [
            NewTransfer(
                id=derived_id(service.CLOSE_SWEEP, account_id, 1),
                amount=AMOUNT_MAX,
                flags=F.LINKED | F.BALANCING_DEBIT,
                **common,
            ),
            NewTransfer(
                id=derived_id(service.CLOSE_FREEZE, account_id, 1),
                amount=0,
                flags=F.PENDING | F.CLOSING_DEBIT,
                **common,
            ),
        ]
        expected = self.model.create_transfers(chain, self.clock.now_ns())
        outcomes = self.write(
            lambda s: service.close_account(
                s, account_id=account_id, sweep_to_account_id=sweep_to, clock=self.clock
            )
        )
        assert [o.result for o in outcomes] == expected
        assert [o.id for o in outcomes] == [t.id for t in chain]
        self.submitted.extend(chain)
        self.holds.append(chain[1].id)

    # Checks

    @invariant()
    def books_agree_with_the_model(self) -> None:
        with self.database.read() as session:
            for ledger_id in (LEDGER, OTHER_LEDGER):
                stored = {
                    a.id: a for a in queries.list_accounts(session, limit=1000, ledger=ledger_id)
                }
                modelled = self.model.ledger_accounts(ledger_id)
                assert stored.keys() == modelled.keys()
                for account_id, account in stored.items():
                    expected = modelled[account_id]
                    assert account.flags == expected.flags, account_id
                    assert (
                        account.debits_pending,
                        account.debits_posted,
                        account.credits_pending,
                        account.credits_posted,
                    ) == expected.counters(), account_id
                    assert (account.code, account.timestamp_ns) == (
                        expected.code,
                        expected.timestamp_ns,
                    )
                # The ledger balances, and no limited account is over its limit.
                accounts = stored.values()
                assert sum(a.debits_posted for a in accounts) == sum(
                    a.credits_posted for a in accounts
                )
                assert sum(a.debits_pending for a in accounts) == sum(
                    a.credits_pending for a in accounts
                )
                for a in accounts:
                    if a.flags & A.DEBITS_MUST_NOT_EXCEED_CREDITS:
                        assert a.debits_pending + a.debits_posted <= a.credits_posted
                    if a.flags & A.CREDITS_MUST_NOT_EXCEED_DEBITS:
                        assert a.credits_pending + a.credits_posted <= a.debits_posted

    def teardown(self) -> None:
        with self.database.read() as session:
            stored: dict[int, Transfer] = {}
            after = 0
            while page := queries.list_transfers(session, limit=1000, after_id=after):
                stored.update((t.id, t) for t in page)
                after = page[-1].id
            assert stored == self.model.transfers
            for hold_id, hold in self.model.holds.items():
                state = queries.get_pending_state(session, hold_id)
                assert state is not None
                assert (state.status, state.expires_at_ns) == (hold.status, hold.expires_at_ns)
            resolved = [
                t.pending_id
                for t in stored.values()
                if t.flags & (F.POST_PENDING_TRANSFER | F.VOID_PENDING_TRANSFER)
            ]
            assert len(resolved) == len(set(resolved)), "a hold was resolved twice"
            assert all(
                self.model.holds[i].status in (PendingStatus.POSTED, PendingStatus.VOIDED)
                for i in resolved
            )
        with self.database.read() as session:
            before_seal = verify_ledger(session)
        assert before_seal.ok, before_seal.problems
        checkpoint = self.write(lambda s: service.record_checkpoint(s, self.clock))
        assert checkpoint.entries_unsealed == 0
        with self.database.read() as session:
            report = verify_ledger(
                session,
                expect_sequence=checkpoint.sequence,
                expect_head_hex=checkpoint.head_hash_hex,
            )
        assert report.ok, report.problems
        assert report.entries_checked == checkpoint.sequence


def test_the_service_agrees_with_the_model(database: Database, clock: SimulatedClock) -> None:
    class Machine(LedgerMachine):
        def __init__(self) -> None:
            super().__init__(database, clock)

    run_state_machine_as_test(Machine, settings=SETTINGS)
