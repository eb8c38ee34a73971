"""PostgreSQL and SQLite answer every batch of transfers alike, event for event.

`service.create_transfers` has two implementations of the ledger's rules: on SQLite the Python
core (`ccx.ledger.core`, the reference), on PostgreSQL PL/pgSQL functions applying the same
rules in the server, for speed (`ccx.ledger.procedure`, migrations 0010 and 0011). They must
match the core exactly: every result code, its precedence, every stored row. So each example
draws one adversarial scenario (one or two ledgers, accounts with limits, batches aimed at every
rule of the core, small ones and ones large enough for the set-based paths; in one test mostly
batches of plain transfers) and runs the same batches on both backends, each with its own
simulated clock set to the same times. After every batch the outcomes (index, id, result) must
be equal; at the end every row of transfers, accounts, pending transfers, remembered failures
and journal entries must be equal, and both journals must seal and verify. Any difference is a
bug in one of the implementations.
"""

from __future__ import annotations

import dataclasses
import functools
import itertools
import shutil
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import hypothesis
import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ccx.clock import NS_PER_S, SimulatedClock
from ccx.db import Database, open_database
from ccx.ledger import service
from ccx.ledger.models import (
    AccountRow,
    FailedTransferRow,
    JournalEntryRow,
    PendingTransferRow,
    TransferRow,
)
from ccx.ledger.procedure import SMALL_BATCH_MAX
from ccx.ledger.types import (
    AMOUNT_MAX,
    TIMEOUT_S_MAX,
    AccountFlags,
    NewAccount,
    NewTransfer,
    PendingStatus,
    Transfer,
    TransferFlags,
    VerifyReport,
)
from ccx.ledger.verify import verify_ledger
from tests.conftest import BACKENDS, _truncate_all
from tests.integration.test_ledger_state_machine import clear_ledger_tables
from tests.ledger_model import LedgerModel

T = TypeVar("T")
Answer = tuple[int, int, str]
"""An outcome as compared: index, id, result."""
F = TransferFlags
A = AccountFlags
POST_OR_VOID = F.POST_PENDING_TRANSFER | F.VOID_PENDING_TRANSFER
BALANCING = F.BALANCING_DEBIT | F.BALANCING_CREDIT
CLOSING = F.CLOSING_DEBIT | F.CLOSING_CREDIT
UNKNOWN_LEDGER = 3
MISSING_ACCOUNT = 99
MISSING_TRANSFER = 10**9
HUGE_TIMEOUT_S = 2**63 // NS_PER_S
"""Overflows the hold's expiry timestamp whatever the clock says."""
TIMEOUTS_S = (0, 0, 1, 1, 2, 5, 30, 3_600, TIMEOUT_S_MAX, HUGE_TIMEOUT_S)
NEAR_MAX = (AMOUNT_MAX, AMOUNT_MAX - 1, AMOUNT_MAX - 100, AMOUNT_MAX // 2 + 1)
ADVANCES_NS = (0, 0, 3, NS_PER_S, 2 * NS_PER_S, 5 * NS_PER_S, 31 * NS_PER_S, 3_600 * NS_PER_S)
"""Between batches: not at all (timestamps collide), a few ns, or past some holds' timeouts."""

SETTINGS = settings(
    max_examples=60,
    deadline=None,
    report_multiple_bugs=False,  # one disagreement is enough, and shrinking each is slow
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.function_scoped_fixture,
        HealthCheck.data_too_large,
    ],
)


@dataclass(frozen=True)
class Batch:
    advance_ns: int
    """How far both clocks move before the batch."""
    events: tuple[NewTransfer, ...]
    expire: bool
    """Whether both backends sweep timed-out holds after the batch."""


@dataclass(frozen=True)
class Scenario:
    ledgers: tuple[int, ...]
    accounts: tuple[NewAccount, ...]
    batches: tuple[Batch, ...]


# Drawing scenarios


@functools.cache
def _below(bound: int) -> st.SearchStrategy[int]:
    """0 to bound - 1 (strategies built once: the drafter draws thousands of them)."""
    return st.integers(0, bound - 1)


@dataclass
class _Drafter:
    """Draws events against what the scenario has submitted so far.

    The independent model of `tests.ledger_model` follows the batches only to steer the draws
    (posts and voids at holds still open or already resolved, retries at stored transfers,
    sweeps at accounts with room); the test never compares the backends with it.
    """

    draw: st.DrawFn
    ledgers: tuple[int, ...]
    accounts: dict[int, NewAccount]
    model: LedgerModel
    now_ns: int = field(default_factory=lambda: SimulatedClock().now_ns())
    submitted: list[NewTransfer] = field(default_factory=list)
    batch_holds: dict[int, NewTransfer] = field(default_factory=dict)
    """Pending transfers drawn under a new id earlier in the batch being drawn."""
    fresh_ids: Iterator[int] = field(default_factory=lambda: itertools.count(1))
    single: bool = False
    """Every batch holds one event (a plain one takes PostgreSQL's one-transfer function)."""
    plain_batches: bool = False
    """Most batches are large and plain (PostgreSQL's set-based path for them)."""

    def pick(self, options: Sequence[T]) -> T:
        """One of `options`; shrinks towards the first."""
        return options[self.draw(_below(len(options)))]

    def chance(self, one_in: int) -> bool:
        """True once in `one_in` draws; shrinks to False (so to the plainer event)."""
        return self.draw(_below(one_in)) == one_in - 1

    def used_ids(self) -> list[int]:
        return [t.id for t in self.submitted] or [MISSING_TRANSFER]

    def open_holds(self) -> list[int]:
        """Holds still pending (some past their timeout), and those drawn earlier in the batch."""
        pending = [i for i, h in self.model.holds.items() if h.status is PendingStatus.PENDING]
        return pending + list(self.batch_holds)

    def resolved_holds(self) -> list[int]:
        """Holds posted, voided or expired (by the sweep)."""
        return [i for i, h in self.model.holds.items() if h.status is not PendingStatus.PENDING]

    def any_holds(self) -> list[int]:
        return [*self.model.holds, *self.batch_holds]

    def hold(self, hold_id: int) -> Transfer | NewTransfer | None:
        if hold_id in self.model.holds:
            return self.model.transfers[hold_id]
        return self.batch_holds.get(hold_id)

    def new_id(self) -> int:
        """Mostly a fresh id; sometimes one already used (a collision, or an earlier failure)."""
        return next(self.fresh_ids) if not self.chance(8) else self.pick(self.used_ids())

    def account(self) -> int:
        return self.pick([*sorted(self.accounts)] * 8 + [MISSING_ACCOUNT])

    def two_accounts(self) -> tuple[int, int]:
        """Mostly two accounts of one ledger; sometimes the same one, or across ledgers."""
        debit, credit = self.account(), self.account()
        ledger = self.accounts[debit].ledger if debit in self.accounts else 0
        peers = [a for a, new in self.accounts.items() if a != debit and new.ledger == ledger]
        if peers and not self.chance(4):
            credit = self.pick(peers)
        return debit, credit

    def amount(self, flags: TransferFlags) -> int:
        if flags & BALANCING and self.chance(2):
            return AMOUNT_MAX
        return self.pick(NEAR_MAX) if self.chance(6) else self.draw(st.integers(0, 120))

    def ledger_for(self, debit: int) -> int:
        if self.chance(10):
            return self.pick([*self.ledgers, UNKNOWN_LEDGER])
        known = self.accounts.get(debit)
        return known.ledger if known else self.ledgers[0]

    def plain(self, flags: TransferFlags) -> NewTransfer:
        debit, credit = self.two_accounts()
        flags |= self.pick([F.NONE] * 3 + [F.BALANCING_DEBIT, F.BALANCING_CREDIT, BALANCING])
        return NewTransfer(
            id=self.new_id(),
            debit_account_id=debit,
            credit_account_id=credit,
            amount=self.amount(flags),
            ledger=self.ledger_for(debit),
            code=self.draw(st.integers(1, 2)),
            flags=flags,
            user_data_64=self.draw(st.integers(0, 1)),
            user_data_32=self.draw(st.integers(0, 1)),
        )

    def pending(self, flags: TransferFlags) -> NewTransfer:
        transfer = self.plain(flags | F.PENDING)
        return dataclasses.replace(transfer, timeout_s=self.pick(TIMEOUTS_S))

    def closing(self, flags: TransferFlags) -> NewTransfer:
        """A pending transfer that closes one or both accounts (voiding it reopens them)."""
        closing = self.pick([F.CLOSING_DEBIT, F.CLOSING_CREDIT, F.CLOSING_DEBIT | F.CLOSING_CREDIT])
        transfer = self.pending(flags | closing)
        return dataclasses.replace(transfer, amount=self.pick([0, 0, transfer.amount]))

    def resolution(self, flags: TransferFlags) -> NewTransfer:
        """A post or void: mostly well-formed, of an open hold; else adversarial."""
        open_holds = self.open_holds()
        if not open_holds or self.chance(3):
            return self.adversarial_resolution(flags)
        # Voids aim at closing holds half the time (voiding one reopens its accounts); posts
        # mostly at other holds (posting a closing hold finds its account closed).
        closing = [i for i in open_holds if (h := self.hold(i)) and h.flags & CLOSING]
        others = [i for i in open_holds if i not in closing]
        if flags & F.VOID_PENDING_TRANSFER and closing and self.draw(st.booleans()):
            open_holds = closing
        elif flags & F.POST_PENDING_TRANSFER and others and not self.chance(4):
            open_holds = others
        return self.well_formed_resolution(flags, open_holds)

    def well_formed_resolution(self, flags: TransferFlags, holds: list[int]) -> NewTransfer:
        """A post or void of one of `holds` under a new id: fields zero or the hold's, and an
        amount the hold allows (a post: all of it, the whole-hold sentinel, part, or nothing)."""
        pending_id = self.pick(holds)
        hold = self.hold(pending_id)
        assert hold is not None
        if flags & F.POST_PENDING_TRANSFER:
            amounts = [AMOUNT_MAX, hold.amount // 2, hold.amount, hold.amount // 2, 0]
        else:
            amounts = [0, hold.amount]
        named = self.draw(st.booleans())
        return NewTransfer(
            id=next(self.fresh_ids),
            debit_account_id=hold.debit_account_id if named else 0,
            credit_account_id=hold.credit_account_id if named else 0,
            amount=self.pick(amounts),
            ledger=hold.ledger if named else 0,
            code=hold.code if named else 0,
            flags=flags,
            pending_id=pending_id,
        )

    def adversarial_resolution(self, flags: TransferFlags) -> NewTransfer:
        """A post or void of any hold, 0, itself, any id or none, with fields or amount off."""
        transfer_id = self.new_id()
        pending_id = self.pending_id(transfer_id)
        hold = self.hold(pending_id)
        held = hold.amount if hold else 10
        if flags & F.POST_PENDING_TRANSFER:
            amount = self.pick([AMOUNT_MAX, held // 2, held, 0, held + 1])
        else:
            amount = self.pick([0, 0, held, held + 1, 1])
        debit, credit, ledger, code = self.resolution_fields(hold)
        return NewTransfer(
            id=transfer_id,
            debit_account_id=debit,
            credit_account_id=credit,
            amount=min(amount, AMOUNT_MAX),
            ledger=ledger,
            code=code,
            flags=flags,
            pending_id=pending_id,
            user_data_64=self.draw(st.integers(0, 1)),
        )

    def resolve_again(self, flags: TransferFlags) -> NewTransfer:
        """A well-formed post or void, under a new id, of a hold already posted, voided or
        expired (pending_transfer_already_posted, _already_voided, _expired)."""
        flags |= self.pick([F.POST_PENDING_TRANSFER, F.VOID_PENDING_TRANSFER])
        return self.well_formed_resolution(flags, self.resolved_holds())

    def pending_id(self, transfer_id: int) -> int:
        """Mostly an open hold; else any hold, any id, 0, the event's own id, or none."""
        open_holds, any_holds = self.open_holds(), self.any_holds()
        pools = [open_holds] * 4 + [self.resolved_holds()] * 2 + [any_holds, self.used_ids()]
        pools += [[0], [transfer_id], [MISSING_TRANSFER]]
        return self.pick(self.pick([pool for pool in pools if pool]))

    def resolution_fields(self, hold: Transfer | NewTransfer | None) -> tuple[int, int, int, int]:
        """Debit, credit, ledger and code of a post or void: zero, the hold's, or one wrong."""
        if hold is None:
            debit, credit = self.two_accounts()
            named = [debit, credit, self.ledger_for(debit), 1]
        else:
            named = [hold.debit_account_id, hold.credit_account_id, hold.ledger, hold.code]
        spelling = self.pick(["zero", "named", "mixed", "wrong", "wrong"])
        if spelling == "zero":
            return 0, 0, 0, 0
        if spelling == "mixed":
            named = [self.pick([0, value]) for value in named]
        if spelling == "wrong":
            position = self.draw(st.integers(0, 3))
            named[position] = self.wrong(position, named[position])
        debit, credit, ledger, code = named
        return debit, credit, ledger, code

    def wrong(self, position: int, value: int) -> int:
        if position < 2:  # an account: another one, or one that does not exist
            return self.pick([a for a in (*self.accounts, MISSING_ACCOUNT) if a != value])
        return value + 1

    def retry(self, flags: TransferFlags) -> NewTransfer:
        """An event submitted before (often just before), whatever its outcome."""
        pool = self.submitted[-3:] if self.chance(2) else self.submitted
        original = self.pick(pool)
        return self.changed(dataclasses.replace(original, flags=original.flags | flags))

    def stored_again(self, flags: TransferFlags, pool: list[int]) -> NewTransfer:
        """A transfer of `pool` that was stored, sent again as stored (a post with its resolved
        amount, a balancing transfer with what it moved), or spelled otherwise."""
        stored = self.model.transfers[self.pick(pool)]
        again = NewTransfer(
            id=stored.id,
            debit_account_id=stored.debit_account_id,
            credit_account_id=stored.credit_account_id,
            amount=stored.amount,
            ledger=stored.ledger,
            code=stored.code,
            flags=stored.flags | flags,
            pending_id=stored.pending_id,
            timeout_s=stored.timeout_s,
            user_data_64=stored.user_data_64,
            user_data_32=stored.user_data_32,
        )
        return self.changed(again)

    def stored(self, flags: TransferFlags = F.NONE) -> list[int]:
        """Ids of the transfers stored so far (those with any of `flags`, when given)."""
        return [i for i, t in self.model.transfers.items() if not flags or t.flags & flags]

    def partial_posts(self) -> list[int]:
        """Stored posts of less than their hold (sent again with the whole-hold sentinel, they
        differ)."""
        transfers = self.model.transfers
        posts = self.stored(F.POST_PENDING_TRANSFER)
        return [i for i in posts if transfers[i].amount < transfers[transfers[i].pending_id].amount]

    def changed(self, again: NewTransfer) -> NewTransfer:
        """The same body, or one field changed (the answer: exists, or exists with different
        fields; id_already_failed for an id that failed on the ledger's state)."""
        if again.flags & POST_OR_VOID:
            return self.respelled_resolution(again)
        if again.flags & BALANCING:
            # A larger amount is the same body (it would move no more); a smaller one may not be.
            changes = ["none", "more", "more", "less", "code"]
        else:
            changes = ["none", "none", "none", "more", "less", "code", "user_data", "flags"]
        change = self.pick(changes)
        if change == "more":
            amount = self.pick([again.amount + 1, AMOUNT_MAX])
            return dataclasses.replace(again, amount=min(amount, AMOUNT_MAX))
        if change == "less":
            return dataclasses.replace(again, amount=max(0, again.amount - 1))
        if change == "code":
            return dataclasses.replace(again, code=again.code + 1)
        if change == "user_data":
            return dataclasses.replace(again, user_data_32=again.user_data_32 + 1)
        if change == "flags":
            return dataclasses.replace(again, flags=again.flags ^ F.PENDING)
        return again

    def respelled_resolution(self, again: NewTransfer) -> NewTransfer:
        """A post or void again: zero or named fields, the whole-hold sentinel, other amounts."""
        hold = self.hold(again.pending_id)
        spellings = ["same", "zero", "whole", "named", "zero", "amount 0", "held", "more"]
        if hold and again.flags & F.POST_PENDING_TRANSFER and again.amount < hold.amount:
            spellings += ["whole"] * 4  # the whole-hold sentinel must not match a partial post
        spelling = self.pick(spellings)
        if spelling == "zero":
            return dataclasses.replace(
                again, debit_account_id=0, credit_account_id=0, ledger=0, code=0
            )
        if spelling == "named" and hold is not None:
            return dataclasses.replace(
                again,
                debit_account_id=hold.debit_account_id,
                credit_account_id=hold.credit_account_id,
                ledger=hold.ledger,
                code=hold.code,
            )
        amount = {
            "whole": AMOUNT_MAX,
            "amount 0": 0,
            "held": hold.amount if hold else again.amount,
            "more": min(again.amount + 1, AMOUNT_MAX),
        }.get(spelling, again.amount)
        return dataclasses.replace(again, amount=amount)

    def malformed(self, flags: TransferFlags) -> NewTransfer:
        """An event with one field or flag combination that a rule refuses."""
        # A new id, so that the fault is what answers rather than the id.
        transfer = dataclasses.replace(self.plain(flags), id=next(self.fresh_ids))
        hold = self.pick(self.any_holds() or [MISSING_TRANSFER])
        own = transfer.flags
        faults: list[dict[str, Any]] = [
            {"id": 0},
            {"debit_account_id": 0},
            {"credit_account_id": 0},
            {"credit_account_id": transfer.debit_account_id},
            {"debit_account_id": MISSING_ACCOUNT},
            {"credit_account_id": MISSING_ACCOUNT},
            {"amount": AMOUNT_MAX},
            {"ledger": 0},
            {"code": 0},
            {"timeout_s": 5},
            {"pending_id": hold},
            {"flags": own | F.CLOSING_CREDIT},
            {"flags": own | POST_OR_VOID, "pending_id": hold},
            {"flags": own | F.POST_PENDING_TRANSFER | F.PENDING, "pending_id": hold},
            {"flags": own | F.VOID_PENDING_TRANSFER | F.CLOSING_DEBIT, "pending_id": hold},
            {"flags": own | F.POST_PENDING_TRANSFER, "pending_id": hold, "timeout_s": 1},
            {"flags": own | F.VOID_PENDING_TRANSFER, "pending_id": 0},
            {"flags": own | F.POST_PENDING_TRANSFER, "pending_id": transfer.id},
            {"flags": own & ~BALANCING | F.POST_PENDING_TRANSFER, "pending_id": MISSING_TRANSFER},
        ]
        # Accounts of two ledgers, the transfer on either (which of the two ledger rules wins).
        debit = self.accounts.get(transfer.debit_account_id)
        elsewhere = [a for a in self.accounts.values() if debit and a.ledger != debit.ledger]
        if elsewhere:
            credit = self.pick(elsewhere)
            faults += [
                {"credit_account_id": credit.id},
                {"credit_account_id": credit.id, "ledger": credit.ledger},
            ]
        return dataclasses.replace(transfer, **self.pick(faults))

    def event(self, flags: TransferFlags, *, in_chain: bool) -> NewTransfer:
        """One event of any kind; in a chain, half the time one likely to succeed (or chains
        would hardly ever commit)."""
        sound = in_chain and self.draw(st.booleans())
        transfer = self.sound(flags) if sound else self.any_event(flags)
        if transfer.flags & F.PENDING and transfer.id not in self.used_ids():
            self.batch_holds[transfer.id] = transfer
        self.submitted.append(transfer)
        return transfer

    def sweep(self, flags: TransferFlags) -> NewTransfer:
        """All that one account can give or take (a balancing debit or credit of AMOUNT_MAX,
        as `close_account` sweeps), mostly from one with room, and holds that limit it."""
        debit_side = self.draw(st.booleans())
        room: dict[int, tuple[int, int]] = {}  # account: (room, held)
        for i, a in self.model.accounts.items():
            if debit_side:
                room[i] = (a.credits_posted - a.debits_posted, a.debits_pending)
            else:
                room[i] = (a.debits_posted - a.credits_posted, a.credits_pending)
        with_room = [i for i, (free, _) in room.items() if free > 0]
        held = [i for i in with_room if room[i][1] > 0]
        pool = self.pick([p for p in (held, with_room, sorted(self.accounts)) if p])
        pair = self.pair_in_ledger(self.pick(pool))
        if pair is None:
            return self.plain(flags)
        swept, other = pair
        debit, credit = (swept, other) if debit_side else (other, swept)
        flags |= F.BALANCING_DEBIT if debit_side else F.BALANCING_CREDIT
        ledger = self.accounts[swept].ledger
        return NewTransfer(next(self.fresh_ids), debit, credit, AMOUNT_MAX, ledger, 1, flags)

    def pair_in_ledger(self, first: int | None = None) -> tuple[int, int] | None:
        """`first` (or any account) and another of its ledger; None if it has no peer."""
        first = self.pick(sorted(self.accounts)) if first is None else first
        ledger = self.accounts[first].ledger
        peers = [a for a, new in self.accounts.items() if a != first and new.ledger == ledger]
        return (first, self.pick(peers)) if peers else None

    def sound(self, flags: TransferFlags) -> NewTransfer:
        """A well-formed post or void of an open hold, or a small transfer or hold between two
        accounts of one ledger, under a new id."""
        open_holds = self.open_holds()
        if open_holds and self.chance(3):
            resolve = self.pick([F.POST_PENDING_TRANSFER, F.VOID_PENDING_TRANSFER])
            return self.well_formed_resolution(flags | resolve, open_holds)
        pair = self.pair_in_ledger()
        if pair is None:
            return self.plain(flags)
        pending = self.chance(3)
        return dataclasses.replace(
            self.small_transfer(*pair),
            flags=flags | (F.PENDING if pending else F.NONE),
            timeout_s=self.pick([0, 3_600]) if pending else 0,
        )

    def small_transfer(self, debit: int, credit: int) -> NewTransfer:
        """A plain transfer of 0-20 under a new id between two accounts of one ledger."""
        return NewTransfer(
            id=next(self.fresh_ids),
            debit_account_id=debit,
            credit_account_id=credit,
            amount=self.draw(st.integers(0, 20)),
            ledger=self.accounts[debit].ledger,
            code=1,
        )

    def any_event(self, flags: TransferFlags) -> NewTransfer:
        plainer = 4 if self.single else 1  # single events lean to what the plain path meets
        kinds = ["plain"] * 3 * plainer + ["pending"] * 3 + ["closing", "sweep"]
        kinds += ["malformed"] * 2 * plainer
        kinds += ["post"] * 4 + ["void"] * 3 + (["retry"] * 2 * plainer if self.submitted else [])
        stored, resolutions, balancing = (
            self.stored(),
            self.stored(POST_OR_VOID),
            self.stored(BALANCING),
        )
        kinds += ["stored again"] * 2 * plainer if stored else []
        kinds += ["stored resolution again"] * 2 if resolutions else []
        kinds += ["stored balancing again"] if balancing else []
        kinds += ["resolve again"] if self.resolved_holds() else []
        kind = self.pick(kinds)
        make = {
            "plain": self.plain,
            "pending": self.pending,
            "closing": self.closing,
            "sweep": self.sweep,
            "malformed": self.malformed,
            "post": lambda f: self.resolution(f | F.POST_PENDING_TRANSFER),
            "void": lambda f: self.resolution(f | F.VOID_PENDING_TRANSFER),
            "retry": self.retry,
            "stored again": lambda f: self.stored_again(f, stored),
            "stored resolution again": lambda f: self.stored_again(
                f, self.pick([resolutions, self.partial_posts() or resolutions])
            ),
            "stored balancing again": lambda f: self.stored_again(f, balancing),
            "resolve again": self.resolve_again,
        }[kind]
        return make(flags)

    def funding(self) -> Batch:
        """Credit every account that may not overdraw, debit every one that may not over-credit,
        so that later transfers and holds on them can succeed (a batch of its own, compared too).
        """
        events: list[NewTransfer] = []
        for account in self.accounts.values():
            limit = account.flags & (
                A.DEBITS_MUST_NOT_EXCEED_CREDITS | A.CREDITS_MUST_NOT_EXCEED_DEBITS
            )
            peers = [
                a.id
                for a in self.accounts.values()
                if a.id != account.id and a.ledger == account.ledger and not a.flags & limit
            ]
            if not limit or not peers:
                continue
            peer = self.pick(peers)
            debit, credit = (
                (peer, account.id)
                if limit & A.DEBITS_MUST_NOT_EXCEED_CREDITS
                else (account.id, peer)
            )
            amount = self.draw(st.integers(50, 400))
            events.append(
                NewTransfer(next(self.fresh_ids), debit, credit, amount, account.ledger, 1)
            )
        self.submitted.extend(events)
        return self.drafted(0, events, expire=False)

    def batch(self) -> Batch:
        """A fifth of the events are linked to the next, and a third of last ones (leaving a
        chain open)."""
        if self.plain_batches and not self.chance(4):
            return self.plain_batch()
        advance_ns = self.pick(ADVANCES_NS)
        size = self.batch_size()
        events: list[NewTransfer] = []
        for position in range(size):
            linked = self.chance(3 if position == size - 1 else 5)
            in_chain = linked or bool(events and events[-1].flags & F.LINKED)
            events.append(self.event(F.LINKED if linked else F.NONE, in_chain=in_chain))
        return self.drafted(advance_ns, events, expire=self.chance(3))

    def plain_batch(self) -> Batch:
        """Two to forty plain events (PostgreSQL's plain-batch function): sound ones (now and
        then one refused by a rule that needs no state), and in most batches one or two faults
        of one kind (an id used before, in the batch or earlier, or remembered as failed; an account
        missing, closed or of another ledger; an amount that overflows). Few faults, so that
        each one alone decides whether the set-based path may decide the batch."""
        advance_ns = self.pick(ADVANCES_NS)
        size = self.draw(st.integers(2, SMALL_BATCH_MAX + 24))
        fault = self.pick([None, "retry in batch", "retry", "failed id", "malformed", "any"])
        count = self.draw(st.integers(1, 2)) if fault else 0
        faulty = {self.draw(_below(size)) for _ in range(count)}
        events: list[NewTransfer] = []
        for position in range(size):
            event = self.plain_fault(fault, events) if position in faulty else self.sound_plain()
            self.submitted.append(event)
            events.append(event)
        return self.drafted(advance_ns, events, expire=self.chance(3))

    def plain_fault(self, fault: str | None, batch: list[NewTransfer]) -> NewTransfer:
        event = {
            "retry in batch": lambda: self.pick(batch) if batch else self.plain(F.NONE),
            "retry": lambda: self.pick(self.submitted or [self.plain(F.NONE)]),
            "failed id": lambda: dataclasses.replace(
                self.sound_plain(), id=self.pick([*self.model.failed, next(self.fresh_ids)])
            ),
            "malformed": lambda: self.malformed(F.NONE),
        }.get(fault or "any", lambda: self.plain(F.NONE))()
        return dataclasses.replace(event, flags=F.NONE, pending_id=0, timeout_s=0)

    def sound_plain(self) -> NewTransfer:
        pair = self.pair_in_ledger()
        if pair is None:
            return dataclasses.replace(self.plain(F.NONE), flags=F.NONE)
        event = self.small_transfer(*pair)
        if self.chance(8):
            static_faults: list[dict[str, Any]] = [
                {"id": 0},
                {"debit_account_id": 0},
                {"credit_account_id": 0},
                {"credit_account_id": event.debit_account_id},
                {"ledger": 0},
                {"code": 0},
                {"id": 0, "code": 0},
            ]
            return dataclasses.replace(event, **self.pick(static_faults))
        return event

    def batch_size(self) -> int:
        """1-12 events; now and then more than PostgreSQL's function takes one row at a time
        (a larger batch runs on its other path: set-based, in two passes)."""
        if self.single:
            return 1
        if self.chance(6):
            return self.draw(st.integers(SMALL_BATCH_MAX + 1, SMALL_BATCH_MAX + 16))
        return self.draw(st.integers(1, 12))

    def drafted(self, advance_ns: int, events: list[NewTransfer], *, expire: bool) -> Batch:
        """The batch, once the model has followed it."""
        self.now_ns += advance_ns
        self.model.create_transfers(events, self.now_ns)
        if expire:
            self.model.expire(self.now_ns)
        self.batch_holds = {}
        return Batch(advance_ns, tuple(events), expire)


@st.composite
def scenarios(draw: st.DrawFn, *, single: bool = False, plain_batches: bool = False) -> Scenario:
    ledgers = (1, 2) if draw(st.booleans()) else (1,)
    limits = [A.NONE, A.NONE, A.DEBITS_MUST_NOT_EXCEED_CREDITS, A.CREDITS_MUST_NOT_EXCEED_DEBITS]
    accounts = tuple(
        NewAccount(
            id=account_id,
            ledger=draw(st.sampled_from(ledgers)),
            code=draw(st.integers(1, 2)),
            flags=draw(st.sampled_from(limits)),
        )
        for account_id in range(1, draw(st.integers(3, 8)) + 1)
    )
    drafter = _Drafter(
        draw,
        ledgers,
        {a.id: a for a in accounts},
        LedgerModel(),
        single=single,
        plain_batches=plain_batches,
    )
    for ledger_id in ledgers:
        drafter.model.create_ledger(ledger_id)
    drafter.model.create_accounts(list(accounts), drafter.now_ns)
    funding = drafter.funding()
    count = draw(st.integers(12, 30) if single else st.integers(3, 8))
    batches = tuple(drafter.batch() for _ in range(count))
    return Scenario(ledgers, accounts, (funding, *batches) if funding.events else batches)


# Running a scenario on one backend


@dataclass
class _Backend:
    database: Database
    clock: SimulatedClock = field(default_factory=SimulatedClock)

    def set_up(self, scenario: Scenario) -> None:
        clear_ledger_tables(self.database)
        with self.database.write() as session:
            for ledger_id in scenario.ledgers:
                service.create_ledger(
                    session,
                    ledger_id=ledger_id,
                    name=f"ledger {ledger_id}",
                    asset_scale=6,
                    clock=self.clock,
                )
            service.create_accounts(session, scenario.accounts, self.clock)

    def submit(self, batch: Batch) -> list[Answer]:
        self.clock.advance(ns=batch.advance_ns)
        with self.database.write() as session:
            outcomes = service.create_transfers(session, batch.events, self.clock)
        return [(o.index, o.id, o.result.value) for o in outcomes]

    def expire(self) -> int:
        with self.database.write() as session:
            return service.expire_pending_transfers(session, self.clock)

    def rows(self) -> dict[str, list[tuple[Any, ...]]]:
        with self.database.read() as session:
            return {
                table: [tuple(row) for row in session.execute(query)]
                for table, query in _ROWS.items()
            }

    def seal_and_verify(self) -> VerifyReport:
        with self.database.write() as session:
            while service.seal_journal(session, wait=True) == service.SEAL_BATCH_MAX:
                pass
        with self.database.read() as session:
            return verify_ledger(session)


_ROWS: dict[str, sa.Executable] = {
    "transfers": sa.select(*TransferRow.__table__.c).order_by(TransferRow.id),
    "accounts": sa.select(*AccountRow.__table__.c).order_by(AccountRow.id),
    "pending_transfers": sa.select(
        PendingTransferRow.transfer_id, PendingTransferRow.status, PendingTransferRow.expires_at_ns
    ).order_by(PendingTransferRow.transfer_id),
    # Not the timestamp: when a failure is remembered is the implementation's business.
    "failed_transfers": sa.select(FailedTransferRow.id, FailedTransferRow.result).order_by(
        FailedTransferRow.id
    ),
    # Not the entry id: ties in timestamp may be inserted in either order.
    "journal_entries": sa.select(
        JournalEntryRow.kind, JournalEntryRow.transfer_id, JournalEntryRow.timestamp_ns
    ).order_by(JournalEntryRow.timestamp_ns, JournalEntryRow.transfer_id, JournalEntryRow.kind),
}


@pytest.fixture
def backends(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[Database, Database]]:
    """The shared PostgreSQL database (emptied) and a fresh SQLite copy of the template."""
    missing = {"postgresql", "sqlite"} - set(BACKENDS)
    if missing:
        pytest.skip(f"compares both backends; CCX_TEST_BACKENDS leaves out {sorted(missing)}")
    postgres: Database = request.getfixturevalue("_postgres_database")
    _truncate_all(postgres)
    template: Path = request.getfixturevalue("_sqlite_template")
    path = tmp_path / "ccx.sqlite3"
    shutil.copyfile(template, path)
    sqlite = open_database(f"sqlite:///{path}")
    yield postgres, sqlite
    sqlite.dispose()


def _disagreement(number: int, batch: Batch, postgres: list[Answer], sqlite: list[Answer]) -> str:
    """The events of a batch that the backends answered differently, one a line."""
    lines = [
        f"  #{index} {event}: postgresql {ours[2]}, sqlite {theirs[2]}"
        for index, (event, ours, theirs) in enumerate(
            zip(batch.events, postgres, sqlite, strict=False)  # a length mismatch: see the diff
        )
        if ours != theirs
    ]
    return "\n".join([f"batch {number} is answered differently:", *lines])


# Shrinking a disagreement can take Hypothesis up to its own limit of five minutes.
@pytest.mark.timeout(600)
@SETTINGS
@given(scenario=scenarios())
def test_postgresql_and_sqlite_agree_event_for_event(
    backends: tuple[Database, Database], scenario: Scenario
) -> None:
    _assert_backends_agree(backends, scenario)


@pytest.mark.timeout(600)
@settings(SETTINGS, max_examples=150)
@given(scenario=scenarios(single=True))
def test_postgresql_and_sqlite_agree_on_single_events(
    backends: tuple[Database, Database], scenario: Scenario
) -> None:
    # One event per batch: plain ones take PostgreSQL's one-transfer function, the others the
    # batch function, and both meet the same state.
    _assert_backends_agree(backends, scenario)


@pytest.mark.timeout(600)
@SETTINGS
@given(scenario=scenarios(plain_batches=True))
def test_postgresql_and_sqlite_agree_on_plain_batches(
    backends: tuple[Database, Database], scenario: Scenario
) -> None:
    # Mostly batches of two or more plain transfers: PostgreSQL decides them set-based where
    # no event can fail on the ledger's state, and hands the others on.
    _assert_backends_agree(backends, scenario)


def _is_plain(event: NewTransfer) -> bool:
    """Whether PostgreSQL gives the event, alone in its batch, to its one-transfer function."""
    return not (event.flags or event.pending_id or event.timeout_s)


def _assert_backends_agree(backends: tuple[Database, Database], scenario: Scenario) -> None:
    postgres, sqlite = _Backend(backends[0]), _Backend(backends[1])
    postgres.set_up(scenario)
    sqlite.set_up(scenario)
    for number, batch in enumerate(scenario.batches):
        answered, expected = postgres.submit(batch), sqlite.submit(batch)
        assert answered == expected, _disagreement(number, batch, answered, expected)
        plain = len(batch.events) == 1 and _is_plain(batch.events[0])
        for _, _, result in answered:  # shown by --hypothesis-show-statistics
            hypothesis.event(f"one plain transfer: {result}" if plain else result)
        if batch.expire:
            assert postgres.expire() == sqlite.expire(), f"expiry after batch {number}"
    postgres_rows, sqlite_rows = postgres.rows(), sqlite.rows()
    for table, rows in postgres_rows.items():
        assert rows == sqlite_rows[table], table
    for backend in (postgres, sqlite):
        report = backend.seal_and_verify()
        assert report.ok, report.problems
