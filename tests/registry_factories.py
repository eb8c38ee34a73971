"""Registry test data: valid business registration numbers, organisations ready to register."""

from __future__ import annotations

import dataclasses
from typing import Any

from ccx.registry import NewOrganisation, Organisation, OrgKind, Region, brn_checksum_digit


def brn(number: int) -> str:
    """A valid business registration number, distinct for each `number` below 10⁹."""
    first9 = f"{number:09d}"
    return first9 + str(brn_checksum_digit(first9))


def new_org(number: int = 1, **fields: Any) -> NewOrganisation:
    """A small manufacturing SME in South Jeolla, with `fields` changed."""
    values: dict[str, Any] = {
        "kind": OrgKind.SME,
        "brn": brn(number),
        "name": f"Firm {number}",
        "region": Region.JEONNAM,
        "ksic_code": "C26",
        "address": f"{number} Solaseado-ro, Haenam",
        "contact_email": f"ceo{number}@firm{number}.kr",
        "sales_3y_avg_krw": 5_000_000_000,
        "total_assets_krw": 3_000_000_000,
        "employees": 20,
    }
    return NewOrganisation(**(values | fields))


def org(**fields: Any) -> Organisation:
    """A registered-looking organisation (for the pure rules), with `fields` changed."""
    new = new_org()
    values = {field.name: getattr(new, field.name) for field in dataclasses.fields(new)}
    return Organisation(**(values | {"id": 1, "registered_at_ns": 0} | fields))
