"""What the rest of ccx sees of the centre: plans, state, jobs, usage, changes.

Units: rates are integer micro-credits per device-hour (1 credit = one H100-hour). Inside a
centre, the *billing* of one device is its rate in whole milli-credits per device-hour (the
rate rounded up, so the scheduler never lets a job use more than it was paid for), and limits
are in *billing-minutes*: a job of d devices at weight w running m minutes uses d * w * m
billing-minutes, so one billing-minute is 1/60 of a milli-credit.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

ACCOUNT_PREFIX = "ccx-"  # accounts ccx manages; others on the centre are never touched
ACCOUNTS_MAX = 10_000  # accounts per plan
USERS_PER_ACCOUNT_MAX = 256
ACCELERATORS_MAX = 64
DEVICES_PER_JOB_MAX = 1024
TIME_LIMIT_MIN_MAX = 7 * 24 * 60
MICRO_PER_MILLI = 1000
MINUTES_PER_HOUR = 60
RATE_MICRO_MAX = 10**12  # a million credits per device-hour: far above any real rate
# How a centre reports an account with no billing limit at all (Slurm: no GrpTRESMins=billing).
NO_LIMIT_BILLING_MINUTES = 2**63 - 1

_NAME = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,63}$")


def _check_name(kind: str, name: str) -> None:
    if not _NAME.fullmatch(name):
        raise ValueError(f"{kind} {name!r}: lower-case letters, digits, '_', '.', '-' (1-64)")


def account_name(allocation_id: int) -> str:
    """The Slurm account of one allocation: one account per allocation keeps its limit exact."""
    assert allocation_id > 0
    return f"{ACCOUNT_PREFIX}a{allocation_id}"


def billing_weight_milli(rate_micro_per_device_hour: int) -> int:
    """A rate as a scheduler billing weight: milli-credits per device-hour, rounded up."""
    assert rate_micro_per_device_hour >= 0
    return -(-rate_micro_per_device_hour // MICRO_PER_MILLI)


def billing_minutes_for(credits_micro: int) -> int:
    """The billing-minute limit worth `credits_micro`, rounded down (never more than paid)."""
    assert credits_micro >= 0
    return credits_micro * MINUTES_PER_HOUR // MICRO_PER_MILLI


class JobState(StrEnum):
    """Slurm's job states (sacct/squeue, all of them), by value in lower case."""

    PENDING = "pending"
    CONFIGURING = "configuring"
    RUNNING = "running"
    SUSPENDED = "suspended"
    SIGNALING = "signaling"
    STOPPED = "stopped"
    RESIZING = "resizing"
    COMPLETING = "completing"
    STAGE_OUT = "stage_out"
    COMPLETED = "completed"
    CANCELLED = "cancelled"
    FAILED = "failed"
    TIMEOUT = "timeout"
    NODE_FAIL = "node_fail"
    PREEMPTED = "preempted"
    OUT_OF_MEMORY = "out_of_memory"
    BOOT_FAIL = "boot_fail"
    DEADLINE = "deadline"
    SPECIAL_EXIT = "special_exit"
    REQUEUED = "requeued"
    REQUEUE_FED = "requeue_fed"
    REQUEUE_HOLD = "requeue_hold"
    RESV_DEL_HOLD = "resv_del_hold"
    REVOKED = "revoked"


@dataclass(frozen=True)
class AccountLimit:
    """One scheduler account: who may submit under it and its billing-minute limit."""

    account: str
    users: tuple[str, ...]
    billing_minutes_max: int

    def __post_init__(self) -> None:
        _check_name("account", self.account)
        if not self.account.startswith(ACCOUNT_PREFIX):
            raise ValueError(f"account {self.account!r}: ccx accounts start {ACCOUNT_PREFIX!r}")
        if len(self.users) > USERS_PER_ACCOUNT_MAX:
            raise ValueError(f"account {self.account}: more than {USERS_PER_ACCOUNT_MAX} users")
        if len(set(self.users)) != len(self.users):
            raise ValueError(f"account {self.account}: a user is listed twice")
        for user in self.users:
            _check_name("user", user)
        if self.billing_minutes_max < 0:
            raise ValueError(f"account {self.account}: negative limit")


@dataclass(frozen=True)
class AcceleratorRate:
    """An exchange rate: micro-credits per device-hour of one accelerator type (a GRES type)."""

    accelerator: str
    micro_credits_per_device_hour: int

    def __post_init__(self) -> None:
        _check_name("accelerator", self.accelerator)
        if not 0 <= self.micro_credits_per_device_hour <= RATE_MICRO_MAX:
            raise ValueError(f"rate of {self.accelerator}: out of range")


@dataclass(frozen=True)
class CenterPlan:
    """What the centre should look like: ccx's accounts with limits, and the rates."""

    accounts: tuple[AccountLimit, ...]
    rates: tuple[AcceleratorRate, ...]

    def __post_init__(self) -> None:
        if len(self.accounts) > ACCOUNTS_MAX:
            raise ValueError(f"a plan holds at most {ACCOUNTS_MAX} accounts")
        if len({a.account for a in self.accounts}) != len(self.accounts):
            raise ValueError("an account is listed twice in the plan")
        if len(self.rates) > ACCELERATORS_MAX:
            raise ValueError(f"a plan holds at most {ACCELERATORS_MAX} rates")
        if len({r.accelerator for r in self.rates}) != len(self.rates):
            raise ValueError("an accelerator has two rates in the plan")

    def billing_weights_milli(self) -> dict[str, int]:
        return {
            r.accelerator: billing_weight_milli(r.micro_credits_per_device_hour) for r in self.rates
        }


@dataclass(frozen=True)
class CenterState:
    """What the centre looks like: ccx's accounts (prefix `ccx-`), billing weights per
    accelerator (milli-credits per device-hour), and whether the NoDecay QOS exists."""

    accounts: tuple[AccountLimit, ...]
    billing_weights_milli: tuple[tuple[str, int], ...]
    no_decay_qos: bool


class ChangeKind(StrEnum):
    CREATE_QOS = "create_qos"
    SET_BILLING_WEIGHTS = "set_billing_weights"
    CREATE_ACCOUNT = "create_account"
    SET_LIMIT = "set_limit"
    ADD_USER = "add_user"
    REMOVE_USER = "remove_user"


@dataclass(frozen=True)
class Change:
    """One step that brings the centre closer to a plan (the output of `reconcile`)."""

    kind: ChangeKind
    account: str = ""
    user: str = ""
    billing_minutes_max: int = 0
    billing_weights_milli: tuple[tuple[str, int], ...] = ()


@dataclass(frozen=True)
class JobSpec:
    """A job to submit (tests and the demo): `run_s` of work on `devices` accelerators."""

    account: str
    accelerator: str
    devices: int
    time_limit_min: int
    run_s: int
    user: str | None = None  # None: the submitting user

    def __post_init__(self) -> None:
        _check_name("account", self.account)
        _check_name("accelerator", self.accelerator)
        if not 1 <= self.devices <= DEVICES_PER_JOB_MAX:
            raise ValueError(f"devices: 1 to {DEVICES_PER_JOB_MAX}")
        if not 1 <= self.time_limit_min <= TIME_LIMIT_MIN_MAX:
            raise ValueError(f"time limit: 1 to {TIME_LIMIT_MIN_MAX} minutes")
        if not 0 <= self.run_s <= TIME_LIMIT_MIN_MAX * 60:
            raise ValueError("run time out of range")
        if self.user is not None:
            _check_name("user", self.user)


@dataclass(frozen=True)
class JobStatus:
    job_id: str
    state: JobState
    reason: str  # the scheduler's reason while pending (e.g. AssocGrpBillingMinutes), or "None"


@dataclass(frozen=True)
class UsageRecord:
    """Accelerator usage of one job allocation or step, keyed by (cluster, job_id, step).

    `step` is "" for the job's allocation, else Slurm's step name ("batch", "extern", "0"...).
    `end_ns` is None while the job runs. `utilisation_milli` is the mean accelerator
    utilisation in thousandths (870 = 87 %) where metrics were matched, else None."""

    cluster: str
    job_id: str
    step: str
    account: str
    accelerator: str
    devices: int
    start_ns: int
    end_ns: int | None
    state: JobState
    utilisation_milli: int | None = None

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.cluster, self.job_id, self.step)
