"""Pure checks of exchange input: each returns every problem found, as sentences for the user."""

from __future__ import annotations

import re
from collections.abc import Collection

from ccx.exchange.types import (
    CODE_CHARS_MAX,
    DEVICES_MAX,
    GRACE_S_MAX,
    JOB_DEVICES_MAX,
    NAME_CHARS_MAX,
    OPTIONS_MAX,
    PRICE_CAP_MILLI_MAX,
    RATE_MICRO_MAX,
    SLOT_S_MAX,
    SLOT_S_MIN,
    SLOTS_MAX,
    THROUGHPUT_MILLI_MAX,
    WORK_DEVICE_HOURS_MAX,
    WORKLOAD_CHARS_MAX,
    NewPool,
    NewRequest,
    RoundParameters,
)
from ccx.ledger.types import AMOUNT_MAX
from ccx.programs.rules import in_range, key_problems, text_problems
from ccx.programs.types import credits_text

MILLI_MAX = 1000
POLICIES = ("lp", "fcfs", "quotas")
_CODE = re.compile(r"[A-Z0-9][A-Z0-9_-]*")


def code_problems(code: str) -> list[str]:
    if len(code) > CODE_CHARS_MAX or not _CODE.fullmatch(code):
        return [
            f"an accelerator type code is 1 to {CODE_CHARS_MAX} capital letters, digits, '-' "
            f"or '_', not {code!r}"
        ]
    return []


def pool_problems(new: NewPool, known_types: Collection[str]) -> list[str]:
    problems = [
        *text_problems("the pool name", new.name, chars_max=NAME_CHARS_MAX),
        *in_range("the device count", new.devices, 0, DEVICES_MAX),
    ]
    if new.accelerator not in known_types:
        problems.append(unknown_type(new.accelerator, known_types))
    return problems


def unknown_type(code: str, known_types: Collection[str]) -> str:
    return f"unknown accelerator type {code!r} (known: {', '.join(sorted(known_types))})"


def rate_problems(rate_micro: int, effective_from_ns: int, now_ns: int) -> list[str]:
    problems = in_range("the rate (micro-credits per device-hour)", rate_micro, 1, RATE_MICRO_MAX)
    if effective_from_ns < now_ns:
        problems.append(
            "a new rate takes effect now or later: rates in force in the past stay as they were"
        )
    return problems


def maintenance_problems(start_ns: int, end_ns: int, devices_out: int, devices: int) -> list[str]:
    problems = in_range("the devices out of service", devices_out, 1, devices)
    if end_ns <= start_ns:
        problems.append("maintenance must end after it starts")
    return problems


def price_cap_problems(price_cap_milli: int) -> list[str]:
    return in_range(
        "the price cap (thousandths of the published rate)",
        price_cap_milli,
        MILLI_MAX,
        PRICE_CAP_MILLI_MAX,
    )


def request_problems(new: NewRequest, known_types: Collection[str]) -> list[str]:
    """Problems of a request on its own (the mandate's limits are checked by the service)."""
    problems = [
        *key_problems(new.key),
        *text_problems("the workload class", new.workload_class, chars_max=WORKLOAD_CHARS_MAX),
        *in_range("the devices per job", new.devices_per_job, 1, JOB_DEVICES_MAX),
        *in_range("the work (device-hours)", new.work_device_hours, 1, WORK_DEVICE_HOURS_MAX),
    ]
    if new.deadline_ns <= new.earliest_start_ns:
        problems.append("the deadline must come after the earliest start")
    if not 0 < new.max_credits_micro <= AMOUNT_MAX:
        problems.append(f"the maximum credits must be more than 0, not {new.max_credits_micro:,}")
    problems.extend(_option_problems(new, known_types))
    return problems


def _option_problems(new: NewRequest, known_types: Collection[str]) -> list[str]:
    if not 1 <= len(new.options) <= OPTIONS_MAX:
        return [f"a request accepts 1 to {OPTIONS_MAX} accelerator types"]
    problems = []
    codes = [option.accelerator for option in new.options]
    if len(set(codes)) != len(codes):
        problems.append("each accelerator type is listed once")
    for option in new.options:
        if option.accelerator not in known_types:
            problems.append(unknown_type(option.accelerator, known_types))
        problems.extend(
            in_range(
                f"the throughput on {option.accelerator} (thousandths of an H100)",
                option.throughput_milli,
                1,
                THROUGHPUT_MILLI_MAX,
            )
        )
    return problems


def mandate_room_problems(max_credits_micro: int, room_micro: int) -> list[str]:
    if max_credits_micro > room_micro:
        return [
            f"the maximum credits ({credits_text(max_credits_micro)}) exceed what the mandate "
            f"still allows ({credits_text(room_micro)})"
        ]
    return []


def round_problems(parameters: RoundParameters) -> list[str]:
    return [
        *in_range("the slot length (seconds)", parameters.slot_s, SLOT_S_MIN, SLOT_S_MAX),
        *in_range("the number of slots", parameters.slots, 1, SLOTS_MAX),
        *in_range("the grace period (seconds)", parameters.grace_s, 0, GRACE_S_MAX),
        *in_range("the firm cap (thousandths)", parameters.firm_share_milli, 1, MILLI_MAX),
        *in_range(
            "the integrator cap (thousandths)", parameters.integrator_share_milli, 1, MILLI_MAX
        ),
        *in_range("the group cap (thousandths)", parameters.group_share_milli, 1, MILLI_MAX),
        *in_range("the fairness floor (thousandths)", parameters.floor_share_milli, 0, MILLI_MAX),
        *(
            []
            if parameters.policy in POLICIES
            else [f"unknown policy {parameters.policy!r} (known: {', '.join(POLICIES)})"]
        ),
    ]
