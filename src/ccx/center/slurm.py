"""The Slurm centre: sacctmgr, scontrol, sacct, sbatch, squeue and scancel, each run as an
argument list through one runner.

Mapping (docs/center.md): one Slurm account per allocation (`ccx-a<id>`) with the integrator's
users as associations; accelerator types are GRES types (`gpu:h100`); the partition's
`TRESBillingWeights` are the exchange rates in milli-credits per device-hour; the account's
`GrpTRESMins=billing=N` is the allocation, enforced by Slurm itself (`AccountingStorageEnforce`
with `safe`); every ccx account runs under the QOS `ccx` with `Flags=NoDecay`.
"""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

from ccx.center.errors import CenterError
from ccx.center.parsers import (
    SACCT_FIELDS,
    AssocRow,
    PartitionRow,
    parse_job_statuses,
    parse_partitions,
    parse_sacct,
    parse_sacctmgr_assoc,
    parse_sacctmgr_qos,
)
from ccx.center.reconcile import reconcile
from ccx.center.types import (
    ACCOUNT_PREFIX,
    NO_LIMIT_BILLING_MINUTES,
    AccountLimit,
    CenterPlan,
    CenterState,
    Change,
    ChangeKind,
    JobSpec,
    JobStatus,
    UsageRecord,
)
from ccx.clock import NS_PER_S

COMMANDS = frozenset({"sacct", "sacctmgr", "sbatch", "scancel", "scontrol", "squeue"})
COMMAND_TIMEOUT_S = 60
RECORDED_MAX = 100_000  # commands a dry run keeps
QOS_NAME = "ccx"
_NO_DECAY = "NoDecay"
_CPU_MEM_UNBILLED = "CPU=0,Mem=0"


@dataclass
class SlurmRunner:
    """Runs Slurm commands as argument lists (never a shell), in UTC, with a timeout.

    Reads (`read`) always run. Changes (`change`) run, or in dry-run mode are only recorded,
    so a dry run against a live cluster shows what `apply` would do."""

    dry_run: bool = False
    timeout_s: int = COMMAND_TIMEOUT_S
    recorded: list[tuple[str, ...]] = field(default_factory=list)

    def read(self, args: Sequence[str]) -> str:
        return self._run(tuple(args))

    def change(self, args: Sequence[str]) -> str:
        command = tuple(args)
        if len(self.recorded) >= RECORDED_MAX:
            raise CenterError(f"more than {RECORDED_MAX} commands recorded")
        self.recorded.append(command)
        if self.dry_run:
            return ""
        return self._run(command)

    def _run(self, args: tuple[str, ...]) -> str:
        if not args or args[0] not in COMMANDS:
            raise CenterError(f"not a Slurm command: {args[:1]}")
        try:
            done = subprocess.run(  # an argument list from COMMANDS, no shell
                args,
                capture_output=True,
                text=True,
                timeout=self.timeout_s,
                env={**os.environ, "TZ": "UTC"},
                check=False,
            )
        except (OSError, subprocess.TimeoutExpired) as error:
            raise CenterError(f"{' '.join(args)}: {error}") from error
        if done.returncode != 0:
            detail = done.stderr.strip() or done.stdout.strip()
            raise CenterError(f"{' '.join(args)}: exit {done.returncode}: {detail}")
        return done.stdout


def command_for(change: Change, partition: str) -> list[str]:
    """The command that makes one change. Pure."""
    account = change.account
    match change.kind:
        case ChangeKind.CREATE_QOS:
            return ["sacctmgr", "-i", "add", "qos", QOS_NAME, f"Flags={_NO_DECAY}"]
        case ChangeKind.SET_BILLING_WEIGHTS:
            weights = ",".join(f"GRES/gpu:{n}={w}" for n, w in change.billing_weights_milli)
            value = f"{_CPU_MEM_UNBILLED},{weights}" if weights else _CPU_MEM_UNBILLED
            return [
                "scontrol",
                "update",
                f"PartitionName={partition}",
                f"TRESBillingWeights={value}",
            ]
        case ChangeKind.CREATE_ACCOUNT:
            return [
                "sacctmgr",
                "-i",
                "add",
                "account",
                account,
                f"Description={account}",
                "Organization=ccx",
                f"QOS={QOS_NAME}",
                f"DefaultQOS={QOS_NAME}",
                f"GrpTRESMins=billing={change.billing_minutes_max}",
            ]
        case ChangeKind.SET_LIMIT:
            return [
                "sacctmgr",
                "-i",
                "modify",
                "account",
                account,
                "set",
                f"GrpTRESMins=billing={change.billing_minutes_max}",
            ]
        case ChangeKind.ADD_USER:
            return ["sacctmgr", "-i", "add", "user", change.user, f"Account={account}"]
        case ChangeKind.REMOVE_USER:
            return ["sacctmgr", "-i", "remove", "user", change.user, f"Account={account}"]


def sbatch_command(job: JobSpec) -> list[str]:
    """A batch job that holds `devices` GPUs of one type and sleeps `run_s`. Pure."""
    args = [
        "sbatch",
        "--parsable",
        f"--account={job.account}",
        f"--gres=gpu:{job.accelerator}:{job.devices}",
        f"--time={job.time_limit_min}",
        "--output=/dev/null",
        "--job-name=ccx",
    ]
    if job.user is not None:
        args.append(f"--uid={job.user}")
    return [*args, f"--wrap=sleep {job.run_s}"]


def accounts_from(rows: Sequence[AssocRow]) -> tuple[AccountLimit, ...]:
    """ccx's accounts from association rows: the account row holds the limit, user rows the
    users. An account with no billing limit reads as NO_LIMIT_BILLING_MINUTES, so reconcile
    limits it (or zeroes it when no longer planned)."""
    clusters = {row.cluster for row in rows}
    if len(clusters) > 1:
        raise CenterError(f"ccx manages one cluster; slurmdbd serves {sorted(clusters)}")
    limits: dict[str, int] = {}
    users: dict[str, list[str]] = {}
    for row in rows:
        if not row.account.startswith(ACCOUNT_PREFIX):
            continue
        if row.user:
            users.setdefault(row.account, []).append(row.user)
        else:
            limits[row.account] = dict(row.grp_tres_mins).get("billing", NO_LIMIT_BILLING_MINUTES)
    return tuple(
        AccountLimit(name, tuple(sorted(users.get(name, []))), limit)
        for name, limit in sorted(limits.items())
    )


class SlurmCenter:
    """The real centre, through Slurm's command-line tools (needs SLURM_CONF or /etc/slurm)."""

    def __init__(self, runner: SlurmRunner, partition: str | None = None) -> None:
        self._runner = runner
        self._partition = partition

    def apply(self, plan: CenterPlan) -> list[Change]:
        changes = reconcile(plan, self.state())
        partition = self._partition_name()
        for change in changes:
            self._runner.change(command_for(change, partition))
        return changes

    def state(self) -> CenterState:
        assoc_text = self._runner.read(
            [
                "sacctmgr",
                "show",
                "assoc",
                "format=Cluster,Account,User,GrpTRESMins",
                "--parsable2",
                "--noheader",
            ]
        )
        qos_text = self._runner.read(
            ["sacctmgr", "show", "qos", "format=Name,Flags", "--parsable2", "--noheader"]
        )
        qos = {row.name: row.flags for row in parse_sacctmgr_qos(qos_text)}
        return CenterState(
            accounts=accounts_from(parse_sacctmgr_assoc(assoc_text)),
            billing_weights_milli=self._partition_row().gpu_weights_milli,
            no_decay_qos=_NO_DECAY in qos.get(QOS_NAME, frozenset()),
        )

    def usage_since(self, since_ns: int) -> list[UsageRecord]:
        """Job allocations from sacct; none for a time still to come on Slurm's own clock
        (a caller on a simulated clock may be ahead of it)."""
        if since_ns > time.time_ns():
            return []
        since = dt.datetime.fromtimestamp(since_ns // NS_PER_S, tz=dt.UTC)
        text = self._runner.read(
            [
                "sacct",
                "--allusers",
                "--allocations",
                "--parsable2",
                "--noheader",
                f"--starttime={since:%Y-%m-%dT%H:%M:%S}",
                "--endtime=now",
                f"--format={','.join(SACCT_FIELDS)}",
            ]
        )
        return parse_sacct(text, fields=SACCT_FIELDS)

    def submit(self, job: JobSpec) -> str:
        out = self._runner.change(sbatch_command(job)).strip()
        job_id = out.split(";", 1)[0]  # --parsable prints ID or ID;CLUSTER
        if not job_id.isdigit():
            raise CenterError(f"sbatch printed no job id: {out!r}")
        return job_id

    def job_state(self, job_id: str) -> JobStatus:
        queued = self._runner.read(
            ["squeue", "--noheader", "--states=all", f"--jobs={job_id}", "--format=%i|%T|%r"]
        )
        statuses = parse_job_statuses(queued)
        if not statuses:  # gone from slurmctld's memory (MinJobAge): ask the database
            done = self._runner.read(
                [
                    "sacct",
                    "--allocations",
                    "--noheader",
                    "--parsable2",
                    f"--jobs={job_id}",
                    "--format=JobID,State,Reason",
                ]
            )
            statuses = parse_job_statuses(done)
        for status in statuses:
            if status.job_id == job_id:
                return status
        raise CenterError(f"no job {job_id}")

    def cancel(self, job_id: str) -> None:
        self._runner.change(["scancel", job_id])

    def _partition_row(self) -> PartitionRow:
        rows = parse_partitions(self._runner.read(["scontrol", "show", "partition", "--oneliner"]))
        for row in rows:
            if row.name == self._partition or (self._partition is None and row.default):
                return row
        raise CenterError(f"no partition {self._partition or '(default)'}")

    def _partition_name(self) -> str:
        return self._partition or self._partition_row().name
