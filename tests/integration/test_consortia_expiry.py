"""Consortium pools expire on both databases: a pool expires with the latest of the credits
put in (a contribution keeps its lots' expiry, a consortium grant the programme's lot
lifetime); the expiry sweep returns what it holds to the programme, deferring a pool with
holds outstanding; the ledger verifies after each scenario."""

from __future__ import annotations

from datetime import date

import pytest

from ccx.clock import SimulatedClock
from ccx.consortia import MemberRole, Pool, PoolSweep
from ccx.consortia import queries as consortium_queries
from ccx.consortia import service as consortium_service
from ccx.db import Database
from ccx.programs import ReasonCode, RefusedError, Track, mandates
from tests.consortia_factories import add_member, anchor, make_consortium, sme
from tests.integration.test_consortia import contribute
from tests.integration.test_consortia_mandates import grant, setup
from tests.integration.test_programs_mandates import ACCOUNTS, balance, refusal_codes, spend
from tests.programs_factories import (
    CREDIT,
    PROGRAMME_ID,
    advance_days,
    apply,
    make_programme,
    verified_ledger,  # noqa: F401 - a fixture
)

pytestmark = pytest.mark.usefixtures("verified_ledger")
LOT_EXPIRY = date(2026, 4, 1)  # a lot granted on 2026-01-01, 90 days' lifetime


def expire_pools(database: Database, clock: SimulatedClock) -> PoolSweep:
    with database.write() as session:
        return consortium_service.expire_pools(session, clock=clock)


def pool_of(database: Database, consortium_id: int) -> Pool:
    with database.read() as session:
        [pool] = consortium_queries.list_pools(session, consortium_id)
    return pool


def test_a_contribution_keeps_its_lots_expiry_and_is_swept_then(
    database: Database, clock: SimulatedClock
) -> None:
    scene = setup(database, clock, pooled=40)
    mandate = grant(database, clock, scene)
    assert pool_of(database, scene.consortium_id).expires_on == LOT_EXPIRY
    advance_days(clock, 89)
    assert expire_pools(database, clock).expired == ()
    spend(database, clock, mandate.id, 10 * CREDIT, "s1")
    advance_days(clock, 1)
    with pytest.raises(RefusedError) as expired:
        spend(database, clock, mandate.id, CREDIT, "s2")
    assert refusal_codes(expired) == [ReasonCode.INSUFFICIENT_CREDITS]
    sweep = expire_pools(database, clock)
    assert (sweep.expired, sweep.expired_micro, sweep.deferred) == (
        (scene.pool_id,),
        30 * CREDIT,
        (),
    )
    pool = pool_of(database, scene.consortium_id)
    assert (pool.available_micro, pool.spent_micro, pool.expired_micro, pool.expires_on) == (
        0, 10 * CREDIT, 30 * CREDIT, None,
    )  # fmt: skip
    assert balance(database, ACCOUNTS.expired) == 30 * CREDIT
    assert expire_pools(database, clock).expired == ()  # idempotent


def test_the_pool_expires_with_its_latest_credits_and_expired_ones_stay_expired(
    database: Database, clock: SimulatedClock
) -> None:
    scene = setup(database, clock, pooled=40)
    advance_days(clock, 10)
    apply(database, clock, scene.member_id, key="later")  # expires on 2026-04-11
    contribute(database, clock, scene.consortium_id, scene.member_id, 70, key="c2")
    pool = pool_of(database, scene.consortium_id)
    assert (pool.available_micro, pool.expires_on) == (110 * CREDIT, date(2026, 4, 11))
    advance_days(clock, 89)  # 2026-04-10: the first lot has expired, the later one has not
    contribute(database, clock, scene.consortium_id, scene.member_id, 1, key="c3")
    advance_days(clock, 1)  # 2026-04-11
    with pytest.raises(RefusedError):  # the member's lots have expired too
        contribute(database, clock, scene.consortium_id, scene.member_id, 1, key="c4")
    # credits put into a pool past its expiry first sweep what it held
    newcomer = sme(database, clock, 4)
    add_member(database, clock, scene.consortium_id, MemberRole.SME, newcomer.id)
    apply(database, clock, newcomer.id)  # expires on 2026-07-10
    contribute(database, clock, scene.consortium_id, newcomer.id, 5)
    pool = pool_of(database, scene.consortium_id)
    assert (pool.available_micro, pool.expires_on, pool.expired_micro) == (
        5 * CREDIT, date(2026, 7, 10), 111 * CREDIT,
    )  # fmt: skip
    assert balance(database, ACCOUNTS.expired) == 111 * CREDIT
    assert expire_pools(database, clock).expired == ()


def test_a_consortium_grant_expires_after_the_lot_lifetime(
    database: Database, clock: SimulatedClock
) -> None:
    make_programme(database, clock, tracks=frozenset({Track.SME_DIRECT, Track.CONSORTIUM}))
    consortium = make_consortium(database, clock, anchor(database, clock, 1).id)
    with database.write() as session:
        consortium_service.apply_for_grant(
            session, consortium_id=consortium.id, programme_id=PROGRAMME_ID, key="g1", clock=clock
        )
    assert pool_of(database, consortium.id).expires_on == LOT_EXPIRY
    advance_days(clock, 90)
    sweep = expire_pools(database, clock)
    assert sweep.expired_micro == 100 * CREDIT
    assert pool_of(database, consortium.id).granted_micro == 100 * CREDIT


def test_the_sweep_defers_a_pool_with_holds_until_they_are_settled(
    database: Database, clock: SimulatedClock
) -> None:
    scene = setup(database, clock)
    mandate = grant(database, clock, scene)
    held = spend(database, clock, mandate.id, 30 * CREDIT, "h1", pending=True)
    advance_days(clock, 90)
    sweep = expire_pools(database, clock)
    assert (sweep.expired, sweep.deferred) == ((), (scene.pool_id,))
    with database.write() as session:
        mandates.settle_spend(session, spend_id=held.id, post_micro=20 * CREDIT, clock=clock)
    sweep = expire_pools(database, clock)
    assert (sweep.expired, sweep.expired_micro) == ((scene.pool_id,), 80 * CREDIT)
    pool = pool_of(database, scene.consortium_id)
    assert (pool.spent_micro, pool.expired_micro) == (20 * CREDIT, 80 * CREDIT)
    assert balance(database, ACCOUNTS.centre_revenue) == 20 * CREDIT
