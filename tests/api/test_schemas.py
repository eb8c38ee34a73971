"""The HTTP bodies name every ledger flag, and names and bits convert both ways."""

from __future__ import annotations

import functools
import operator

from ccx.api.schemas.ledger import (
    AccountFlagName,
    TransferFlagName,
    TransferIn,
    flags_from_names,
    names_from_flags,
)
from ccx.ledger import AMOUNT_MAX, AccountFlags, NewTransfer, TransferFlags


def test_every_account_flag_has_a_name_and_back() -> None:
    singles = [flags_from_names([name], AccountFlags) for name in AccountFlagName]
    assert singles == list(AccountFlags)
    every = functools.reduce(operator.or_, AccountFlags)
    assert names_from_flags(every, AccountFlagName) == list(AccountFlagName)


def test_every_transfer_flag_has_a_name_and_back() -> None:
    singles = [flags_from_names([name], TransferFlags) for name in TransferFlagName]
    assert singles == list(TransferFlags)
    every = functools.reduce(operator.or_, TransferFlags)
    assert names_from_flags(every, TransferFlagName) == list(TransferFlagName)


def test_a_post_without_amount_posts_the_whole_hold_and_a_void_none() -> None:
    post = TransferIn(id=2, pending_id=1, flags=[TransferFlagName.POST_PENDING_TRANSFER])
    void = TransferIn(id=3, pending_id=1, flags=[TransferFlagName.VOID_PENDING_TRANSFER])
    assert post.to_new() == NewTransfer(
        id=2,
        debit_account_id=0,
        credit_account_id=0,
        amount=AMOUNT_MAX,
        ledger=0,
        code=0,
        flags=TransferFlags.POST_PENDING_TRANSFER,
        pending_id=1,
    )
    assert void.to_new().amount == 0
