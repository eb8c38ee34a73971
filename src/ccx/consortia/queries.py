"""Consortium reads. They return types, never rows; every list is bounded and keyset-paged."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

import sqlalchemy as sa
from sqlalchemy.orm import Session

from ccx.consortia.models import (
    ConsortiumRow,
    ContributionRow,
    MemberRow,
    PoolRow,
    SharedModelRow,
)
from ccx.consortia.types import (
    Consortium,
    Contribution,
    ContributionLeg,
    Member,
    MemberRole,
    Metric,
    Pool,
    SharedModel,
)
from ccx.ledger import queries as ledger_queries
from ccx.programs.types import TransferCode
from ccx.registry.types import Region

PAGE_SIZE_MAX = ledger_queries.PAGE_SIZE_MAX


def _members(session: Session, consortium_ids: Sequence[int]) -> dict[int, list[Member]]:
    members: dict[int, list[Member]] = {consortium_id: [] for consortium_id in consortium_ids}
    if members:
        rows = session.scalars(
            sa.select(MemberRow)
            .where(MemberRow.consortium_id.in_(list(members)))
            .order_by(MemberRow.id)
        )
        for row in rows:
            members[row.consortium_id].append(
                Member(MemberRole(row.role), row.org_id, row.person_id, row.joined_at_ns)
            )
    return members


def _consortia(session: Session, rows: Sequence[ConsortiumRow]) -> list[Consortium]:
    members = _members(session, [row.id for row in rows])
    return [
        Consortium(
            id=row.id,
            name=row.name,
            industry=row.industry,
            regions=tuple(Region(code) for code in row.regions.split(",")),
            anchor_id=row.anchor_id,
            members=tuple(members[row.id]),
            created_at_ns=row.created_at_ns,
        )
        for row in rows
    ]


def get_consortium(session: Session, consortium_id: int) -> Consortium | None:
    row = session.get(ConsortiumRow, consortium_id)
    return None if row is None else _consortia(session, [row])[0]


def list_consortia(
    session: Session, *, limit: int, after_id: int = 0, member_org_id: int | None = None
) -> list[Consortium]:
    """Consortia with id > after_id, in id order; optionally those an organisation is in."""
    assert 0 < limit <= PAGE_SIZE_MAX
    statement = sa.select(ConsortiumRow).where(ConsortiumRow.id > after_id)
    if member_org_id is not None:
        statement = statement.where(
            ConsortiumRow.id.in_(
                sa.select(MemberRow.consortium_id).where(MemberRow.org_id == member_org_id)
            )
        )
    rows = session.scalars(statement.order_by(ConsortiumRow.id).limit(limit)).all()
    return _consortia(session, rows)


def list_pools(session: Session, consortium_id: int) -> list[Pool]:
    """The consortium's pools (one per programme it takes part in), in programme order."""
    rows = session.scalars(
        sa.select(PoolRow)
        .where(PoolRow.consortium_id == consortium_id)
        .order_by(PoolRow.programme_id)
        .limit(PAGE_SIZE_MAX)
    ).all()
    accounts = ledger_queries.get_accounts(session, [row.account_id for row in rows])
    contributed = {
        programme_id: int(total or 0)
        for programme_id, total in session.execute(
            sa.select(ContributionRow.programme_id, sa.func.sum(ContributionRow.amount_micro))
            .where(ContributionRow.consortium_id == consortium_id)
            .group_by(ContributionRow.programme_id)
        )
    }
    clawed_back = ledger_queries.debited_by_code(
        session, [row.account_id for row in rows], code=TransferCode.CLAWBACK
    )
    pools = []
    for row in rows:
        account = accounts[row.account_id]
        given = contributed.get(row.programme_id, 0)
        taken = clawed_back.get(row.account_id, 0)
        pools.append(
            Pool(
                programme_id=row.programme_id,
                account_id=row.account_id,
                available_micro=account.balance_available,
                contributed_micro=given,
                granted_micro=account.credits_posted - given,
                spent_micro=account.debits_posted - row.expired_micro - taken,
                expires_on=row.expires_on,
                expired_micro=row.expired_micro,
                held_micro=account.debits_pending,
                clawed_back_micro=taken,
            )
        )
    return pools


def locked_pool_account(
    session: Session, *, consortium_id: int, programme_id: int
) -> tuple[int, date | None]:
    """The consortium's pool account in the programme and its expiry, with its pool row locked
    (spends from the pool take it as spends from lots take the lots' rows). The pool must
    exist."""
    row = session.get(PoolRow, (consortium_id, programme_id), with_for_update=True)
    assert row is not None, (consortium_id, programme_id)
    return row.account_id, row.expires_on


def contribution_from_row(row: ContributionRow) -> Contribution:
    return Contribution(
        id=row.id,
        consortium_id=row.consortium_id,
        programme_id=row.programme_id,
        firm_id=row.firm_id,
        key=row.key,
        amount_micro=row.amount_micro,
        legs=tuple(
            ContributionLeg(leg["transfer_id"], leg["lot_account_id"], leg["amount_micro"])
            for leg in row.legs
        ),
        created_at_ns=row.created_at_ns,
    )


def list_contributions(
    session: Session, *, consortium_id: int, limit: int, after_id: int = 0
) -> list[Contribution]:
    assert 0 < limit <= PAGE_SIZE_MAX
    rows = session.scalars(
        sa.select(ContributionRow)
        .where(ContributionRow.consortium_id == consortium_id, ContributionRow.id > after_id)
        .order_by(ContributionRow.id)
        .limit(limit)
    )
    return [contribution_from_row(row) for row in rows]


def model_from_row(row: SharedModelRow) -> SharedModel:
    return SharedModel(
        id=row.id,
        consortium_id=row.consortium_id,
        name=row.name,
        base_model=row.base_model,
        task=row.task,
        hardware_profile=row.hardware_profile,
        licence=row.licence,
        metrics=tuple(Metric(item["name"], item["value"]) for item in row.metrics),
        registered_at_ns=row.registered_at_ns,
    )


def list_models(
    session: Session, *, consortium_id: int, limit: int, after_id: int = 0
) -> list[SharedModel]:
    assert 0 < limit <= PAGE_SIZE_MAX
    rows = session.scalars(
        sa.select(SharedModelRow)
        .where(SharedModelRow.consortium_id == consortium_id, SharedModelRow.id > after_id)
        .order_by(SharedModelRow.id)
        .limit(limit)
    )
    return [model_from_row(row) for row in rows]
