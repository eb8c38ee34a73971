"""reconcile(desired, actual) as a pure function, and the Slurm commands for its changes
(recorded by the runner's dry-run mode: nothing runs)."""

from __future__ import annotations

import pytest

from ccx.center import (
    AcceleratorRate,
    AccountLimit,
    CenterPlan,
    CenterState,
    Change,
    ChangeKind,
    JobSpec,
    SlurmRunner,
    account_name,
    billing_minutes_for,
    billing_weight_milli,
    reconcile,
)
from ccx.center.errors import CenterError
from ccx.center.parsers import parse_sacctmgr_assoc
from ccx.center.slurm import accounts_from, command_for, sbatch_command
from ccx.center.types import NO_LIMIT_BILLING_MINUTES

RATES = (AcceleratorRate("h100", 1_000_000), AcceleratorRate("a100", 250_000))
WEIGHTS = (("a100", 250), ("h100", 1000))


def _state(*accounts: AccountLimit, weights: tuple[tuple[str, int], ...] = WEIGHTS) -> CenterState:
    return CenterState(accounts=accounts, billing_weights_milli=weights, no_decay_qos=True)


def test_units_round_in_the_centres_favour_of_the_allocation() -> None:
    assert account_name(42) == "ccx-a42"
    assert billing_weight_milli(1_000_000) == 1000
    assert billing_weight_milli(333_333) == 334  # rounded up: Slurm never undercharges
    assert billing_minutes_for(1_000_000) == 60_000  # one credit = 60 H100-minutes at 1000
    assert billing_minutes_for(16) == 0  # rounded down: never more than paid


def test_an_empty_centre_gets_qos_weights_account_and_users() -> None:
    plan = CenterPlan((AccountLimit("ccx-a1", ("alice", "bob"), 600),), RATES)
    empty = CenterState(accounts=(), billing_weights_milli=(), no_decay_qos=False)
    assert reconcile(plan, empty) == [
        Change(ChangeKind.CREATE_QOS),
        Change(ChangeKind.SET_BILLING_WEIGHTS, billing_weights_milli=WEIGHTS),
        Change(ChangeKind.CREATE_ACCOUNT, account="ccx-a1", billing_minutes_max=600),
        Change(ChangeKind.ADD_USER, account="ccx-a1", user="alice"),
        Change(ChangeKind.ADD_USER, account="ccx-a1", user="bob"),
    ]


def test_a_centre_that_matches_needs_nothing() -> None:
    account = AccountLimit("ccx-a1", ("alice",), 600)
    assert reconcile(CenterPlan((account,), RATES), _state(account)) == []


def test_changed_limit_users_and_weights() -> None:
    plan = CenterPlan((AccountLimit("ccx-a1", ("alice", "carol"), 900),), RATES)
    actual = _state(AccountLimit("ccx-a1", ("alice", "bob"), 600), weights=(("h100", 1000),))
    assert reconcile(plan, actual) == [
        Change(ChangeKind.SET_BILLING_WEIGHTS, billing_weights_milli=WEIGHTS),
        Change(ChangeKind.SET_LIMIT, account="ccx-a1", billing_minutes_max=900),
        Change(ChangeKind.ADD_USER, account="ccx-a1", user="carol"),
        Change(ChangeKind.REMOVE_USER, account="ccx-a1", user="bob"),
    ]


def test_an_account_no_longer_planned_is_zeroed_never_deleted() -> None:
    gone = AccountLimit("ccx-a7", ("alice",), 600)
    zeroed = AccountLimit("ccx-a8", ("alice",), 0)
    assert reconcile(CenterPlan((), RATES), _state(gone, zeroed)) == [
        Change(ChangeKind.SET_LIMIT, account="ccx-a7", billing_minutes_max=0)
    ]


def test_an_accelerator_dropped_from_the_plan_changes_the_weights() -> None:
    plan = CenterPlan((), RATES[:1])
    assert reconcile(plan, _state()) == [
        Change(ChangeKind.SET_BILLING_WEIGHTS, billing_weights_milli=(("h100", 1000),))
    ]


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: AccountLimit("slurm-acct", (), 1), "start 'ccx-'"),
        (lambda: AccountLimit("ccx-A1", (), 1), "lower-case"),
        (lambda: AccountLimit("ccx-a1", ("x", "x"), 1), "twice"),
        (lambda: AccountLimit("ccx-a1", (), -1), "negative"),
        (lambda: AcceleratorRate("h100", -1), "out of range"),
        (lambda: CenterPlan((AccountLimit("ccx-a1", (), 1),) * 2, ()), "listed twice"),
        (lambda: CenterPlan((), (RATES[0], RATES[0])), "two rates"),
        (lambda: JobSpec("ccx-a1", "h100", 0, 1, 1), "devices"),
        (lambda: JobSpec("ccx-a1", "h100", 1, 0, 1), "time limit"),
    ],
)
def test_bad_plans_and_jobs_are_refused(make: object, message: str) -> None:
    assert callable(make)
    with pytest.raises(ValueError, match=message):
        make()


def test_plan_size_is_limited(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("ccx.center.types.ACCOUNTS_MAX", 1)
    accounts = (AccountLimit("ccx-a1", (), 1), AccountLimit("ccx-a2", (), 1))
    with pytest.raises(ValueError, match="at most 1 accounts"):
        CenterPlan(accounts, ())


def test_commands_for_each_change() -> None:
    def run(change: Change) -> list[str]:
        return command_for(change, "gpu")

    assert run(Change(ChangeKind.CREATE_QOS)) == [
        "sacctmgr", "-i", "add", "qos", "ccx", "Flags=NoDecay"
    ]  # fmt: skip
    weights = Change(ChangeKind.SET_BILLING_WEIGHTS, billing_weights_milli=WEIGHTS)
    assert run(weights) == [
        "scontrol", "update", "PartitionName=gpu",
        "TRESBillingWeights=CPU=0,Mem=0,GRES/gpu:a100=250,GRES/gpu:h100=1000",
    ]  # fmt: skip
    create = Change(ChangeKind.CREATE_ACCOUNT, account="ccx-a1", billing_minutes_max=600)
    assert run(create)[:5] == ["sacctmgr", "-i", "add", "account", "ccx-a1"]
    assert "GrpTRESMins=billing=600" in run(create)
    assert "DefaultQOS=ccx" in run(create)
    limit = Change(ChangeKind.SET_LIMIT, account="ccx-a1", billing_minutes_max=0)
    assert run(limit)[-1] == "GrpTRESMins=billing=0"
    remove = Change(ChangeKind.REMOVE_USER, account="ccx-a1", user="bob")
    assert run(remove) == ["sacctmgr", "-i", "remove", "user", "bob", "Account=ccx-a1"]


def test_sbatch_holds_typed_gpus_for_a_time_limit() -> None:
    args = sbatch_command(JobSpec("ccx-a1", "h100", 2, 1, 3, user="alice"))
    assert args[0] == "sbatch"
    assert "--gres=gpu:h100:2" in args
    assert "--time=1" in args
    assert "--uid=alice" in args
    assert args[-1] == "--wrap=sleep 3"


def test_dry_run_records_changes_and_runs_nothing() -> None:
    runner = SlurmRunner(dry_run=True)
    assert runner.change(["sacctmgr", "-i", "add", "qos", "ccx"]) == ""
    assert runner.recorded == [("sacctmgr", "-i", "add", "qos", "ccx")]


def test_runner_refuses_anything_but_slurm_commands() -> None:
    with pytest.raises(CenterError, match="not a Slurm command"):
        SlurmRunner().read(["rm", "-rf", "/"])


def test_an_unlimited_slurm_account_reads_as_no_limit_and_gets_zeroed() -> None:
    rows = parse_sacctmgr_assoc("c|root||\nc|ccx-a5||\nc|ccx-a5|alice|\nc|ccx-a6||billing=9\n")
    accounts = accounts_from(rows)
    assert accounts == (
        AccountLimit("ccx-a5", ("alice",), NO_LIMIT_BILLING_MINUTES),
        AccountLimit("ccx-a6", (), 9),
    )
    assert reconcile(CenterPlan((), ()), _state(*accounts, weights=())) == [
        Change(ChangeKind.SET_LIMIT, account="ccx-a5", billing_minutes_max=0),
        Change(ChangeKind.SET_LIMIT, account="ccx-a6", billing_minutes_max=0),
    ]


def test_accounts_of_several_clusters_are_refused() -> None:
    with pytest.raises(CenterError, match="one cluster"):
        accounts_from(parse_sacctmgr_assoc("c1|ccx-a1||\nc2|ccx-a1||\n"))
