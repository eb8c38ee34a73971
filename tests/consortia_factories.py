"""Consortium test data: a mid-sized anchor in KSIC C30, a consortium around it, members.

Builds on the programme factories (simulated clock on 2026-01-01, programme 7 open all year).
"""

from __future__ import annotations

from typing import Any

from ccx.clock import SimulatedClock
from ccx.consortia import Consortium, MemberRole, NewConsortium
from ccx.consortia import service as consortium_service
from ccx.db import Database
from ccx.registry import Organisation, OrgKind, Region
from tests.programs_factories import register

MID_SIZED = {
    "kind": OrgKind.MID_SIZED,
    "ksic_code": "C30",
    "sales_3y_avg_krw": 300_000_000_000,
    "total_assets_krw": 200_000_000_000,
    "employees": 400,
}


def anchor(database: Database, clock: SimulatedClock, number: int, **fields: Any) -> Organisation:
    return register(database, clock, number, **(MID_SIZED | fields))


def sme(database: Database, clock: SimulatedClock, number: int, **fields: Any) -> Organisation:
    """An SME in KSIC C30 (car parts)."""
    return register(database, clock, number, **({"ksic_code": "C30"} | fields))


def new_consortium(anchor_id: int, **changes: Any) -> NewConsortium:
    values: dict[str, Any] = {
        "name": "Mobility AI",
        "industry": "C30",
        "regions": (Region.ULSAN, Region.GYEONGNAM),
        "anchor_id": anchor_id,
    }
    return NewConsortium(**(values | changes))


def make_consortium(
    database: Database, clock: SimulatedClock, anchor_id: int, **changes: Any
) -> Consortium:
    with database.write() as session:
        return consortium_service.create_consortium(
            session, new_consortium(anchor_id, **changes), clock
        )


def add_member(
    database: Database, clock: SimulatedClock, consortium_id: int, role: MemberRole, member_id: int
) -> Consortium:
    with database.write() as session:
        return consortium_service.add_member(
            session, consortium_id=consortium_id, role=role, member_id=member_id, clock=clock
        )
