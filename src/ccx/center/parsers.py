"""Pure parsers of scheduler and exporter output. Each raises `ParseError` naming the line.

- `sacct --parsable2` (jobs and steps; times in UTC, as the adapter runs sacct with TZ=UTC),
- `sacctmgr --parsable2 --noheader` (associations, QOS),
- `scontrol show partition --oneliner` (billing weights),
- `squeue`/`sacct` job states,
- DCGM exporter metrics in Prometheus text format (GPU utilisation).
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo
from decimal import Decimal, InvalidOperation

from ccx.center.errors import ManyLinesParseError, ParseError
from ccx.center.types import JobState, JobStatus, UsageRecord
from ccx.clock import NS_PER_S

LINES_MAX = 1_000_000  # lines per input
ERRORS_MAX = 100  # malformed lines reported per input
LINE_CHARS_MAX = 65_536
SACCT_FIELDS = (
    "Cluster",
    "JobID",
    "Account",
    "User",
    "State",
    "Start",
    "End",
    "ElapsedRaw",
    "AllocTRES",
)
_SACCT_REQUIRED = ("Cluster", "JobID", "Account", "State", "Start", "End", "AllocTRES")
_NOT_A_TIME = ("None", "Unknown")
_TIME_FORMAT = "%Y-%m-%dT%H:%M:%S"
_JOB_ID = re.compile(r"^(\d+(?:[_+]\d+)?)(?:\.([A-Za-z0-9_-]+))?$")
_GPU_TRES = "gres/gpu:"
DCGM_GPU_UTIL = "DCGM_FI_DEV_GPU_UTIL"
_SAMPLE = re.compile(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)(?:\s+-?\d+)?$")
_LABEL = re.compile(r'\s*([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"\s*(?:,|$)')
PERCENT_MILLI = 10  # thousandths per percent


@dataclass(frozen=True)
class AssocRow:
    """One association from `sacctmgr show assoc format=Cluster,Account,User,GrpTRESMins`;
    `user` is "" for the account's own association."""

    cluster: str
    account: str
    user: str
    grp_tres_mins: tuple[tuple[str, int], ...]


@dataclass(frozen=True)
class QosRow:
    name: str
    flags: frozenset[str]


@dataclass(frozen=True)
class PartitionRow:
    name: str
    default: bool
    gpu_weights_milli: tuple[tuple[str, int], ...]  # GRES/gpu:TYPE weights


@dataclass(frozen=True)
class GpuUtilSample:
    """One DCGM_FI_DEV_GPU_UTIL sample: one GPU of one host at one scrape."""

    hostname: str
    gpu: str
    job_id: str | None  # the `hpc_job` label (dcgm-exporter --hpc-job-mapping-dir), if any
    utilisation_milli: int


def _lines(text: str) -> Iterator[tuple[int, str]]:
    """Numbered non-blank lines, within the limits."""
    for line_no, line in enumerate(text.splitlines(), start=1):
        if line_no > LINES_MAX:
            raise ParseError(line_no, f"more than {LINES_MAX} lines")
        if len(line) > LINE_CHARS_MAX:
            raise ParseError(line_no, f"longer than {LINE_CHARS_MAX} characters")
        if line.strip():
            yield line_no, line


def _fields(line_no: int, line: str, count: int) -> list[str]:
    values = line.split("|")
    if len(values) != count:
        raise ParseError(line_no, f"{len(values)} fields, expected {count}: {line!r}")
    return values


class _Errors:
    """The malformed lines of one input: every one is reported (up to ERRORS_MAX), not only
    the first."""

    def __init__(self) -> None:
        self.found: list[ParseError] = []

    @contextlib.contextmanager
    def collect(self) -> Iterator[None]:
        try:
            yield
        except ParseError as error:
            self.found.append(error)
            if len(self.found) >= ERRORS_MAX:
                self.raise_any()

    def raise_any(self) -> None:
        if len(self.found) == 1:
            raise self.found[0]
        if self.found:
            raise ManyLinesParseError(self.found)


# ---- sacct -------------------------------------------------------------------------------


def parse_sacct(
    text: str, *, fields: Sequence[str] | None = None, tz: tzinfo = UTC
) -> list[UsageRecord]:
    """Usage records from `sacct --parsable2`. With `fields`, the text has no header (the
    adapter's `--noheader` with `SACCT_FIELDS`); without, its first line is the header.

    Lines of jobs that never started (Start None/Unknown) or hold no typed GPU are skipped:
    they used no accelerator."""
    lines = _lines(text)
    if fields is None:
        fields = _sacct_header(lines)
    records: list[UsageRecord] = []
    errors = _Errors()
    for line_no, line in lines:
        with errors.collect():
            row = dict(zip(fields, _fields(line_no, line, len(fields)), strict=True))
            record = _usage_record(line_no, row, tz)
            if record is not None:
                records.append(record)
    errors.raise_any()
    return records


def _sacct_header(lines: Iterator[tuple[int, str]]) -> Sequence[str]:
    first = next(lines, None)
    if first is None:
        return SACCT_FIELDS
    line_no, line = first
    fields = line.split("|")
    missing = [name for name in _SACCT_REQUIRED if name not in fields]
    if missing:
        raise ParseError(line_no, f"header lacks {', '.join(missing)}: {line!r}")
    return fields


def _usage_record(line_no: int, row: dict[str, str], tz: tzinfo) -> UsageRecord | None:
    state = parse_job_state(line_no, row["State"])
    if row["Start"] in _NOT_A_TIME:
        return None
    gpus = _gpus(line_no, row["AllocTRES"])
    if not gpus:
        return None
    if len(gpus) > 1:
        raise ParseError(line_no, f"more than one accelerator type in one job: {gpus}")
    ((accelerator, devices),) = gpus.items()
    job_id, step = parse_job_id(line_no, row["JobID"])
    end = row["End"]
    return UsageRecord(
        cluster=row["Cluster"],
        job_id=job_id,
        step=step,
        account=row["Account"],
        accelerator=accelerator,
        devices=devices,
        start_ns=parse_time_ns(line_no, row["Start"], tz),
        end_ns=None if end in _NOT_A_TIME else parse_time_ns(line_no, end, tz),
        state=state,
    )


def parse_job_id(line_no: int, text: str) -> tuple[str, str]:
    """`7` -> ("7", ""); `7.batch` -> ("7", "batch"); `12_3.0` -> ("12_3", "0")."""
    match = _JOB_ID.fullmatch(text)
    if match is None:
        raise ParseError(line_no, f"job id {text!r}")
    return match.group(1), match.group(2) or ""


def parse_job_state(line_no: int, text: str) -> JobState:
    """`COMPLETED`, `CANCELLED by 0` (the uid that cancelled) ... as a JobState."""
    word = text.split(" ", 1)[0]
    try:
        return JobState(word.lower())
    except ValueError:
        raise ParseError(line_no, f"job state {text!r}") from None


def parse_time_ns(line_no: int, text: str, tz: tzinfo = UTC) -> int:
    try:
        moment = datetime.strptime(text, _TIME_FORMAT).replace(tzinfo=tz)
    except ValueError:
        raise ParseError(line_no, f"time {text!r}, expected {_TIME_FORMAT}") from None
    return int(moment.timestamp()) * NS_PER_S


def _gpus(line_no: int, alloc_tres: str) -> dict[str, int]:
    """Typed GPU counts from AllocTRES (`billing=2,cpu=1,gres/gpu:h100=2,gres/gpu=2,node=1`)."""
    gpus: dict[str, int] = {}
    untyped = False
    for item in filter(None, alloc_tres.split(",")):
        name, sep, value = item.partition("=")
        if not sep:
            raise ParseError(line_no, f"TRES {item!r} has no '='")
        if name == "gres/gpu":
            untyped = True
        elif name.startswith(_GPU_TRES):
            gpus[name.removeprefix(_GPU_TRES)] = _count(line_no, name, value)
    if untyped and not gpus:
        raise ParseError(
            line_no, "GPUs without a type: list gres/gpu:TYPE in AccountingStorageTRES"
        )
    return gpus


def _count(line_no: int, name: str, value: str) -> int:
    if not value.isdigit():
        raise ParseError(line_no, f"{name}={value!r} is not a count")
    return int(value)


# ---- sacctmgr, scontrol, squeue --------------------------------------------------------------


def parse_tres_counts(line_no: int, text: str) -> dict[str, int]:
    """`billing=600,gres/gpu=10` -> {"billing": 600, "gres/gpu": 10}."""
    counts: dict[str, int] = {}
    for item in filter(None, text.split(",")):
        name, sep, value = item.partition("=")
        if not sep:
            raise ParseError(line_no, f"TRES {item!r} has no '='")
        counts[name] = _count(line_no, name, value)
    return counts


def parse_sacctmgr_assoc(text: str) -> list[AssocRow]:
    """`sacctmgr show assoc format=Cluster,Account,User,GrpTRESMins --parsable2 --noheader`."""
    rows = []
    for line_no, line in _lines(text):
        cluster, account, user, grp = _fields(line_no, line, 4)
        limits = parse_tres_counts(line_no, grp)
        rows.append(AssocRow(cluster, account, user, tuple(sorted(limits.items()))))
    return rows


def parse_sacctmgr_qos(text: str) -> list[QosRow]:
    """`sacctmgr show qos format=Name,Flags --parsable2 --noheader`."""
    rows = []
    for line_no, line in _lines(text):
        name, flags = _fields(line_no, line, 2)
        rows.append(QosRow(name, frozenset(filter(None, flags.split(",")))))
    return rows


def parse_partitions(text: str) -> list[PartitionRow]:
    """`scontrol show partition --oneliner`: one partition per line of Key=Value words."""
    rows = []
    for line_no, line in _lines(text):
        values = _key_values(line_no, line)
        if "PartitionName" not in values:
            raise ParseError(line_no, "no PartitionName")
        rows.append(
            PartitionRow(
                name=values["PartitionName"],
                default=values.get("Default") == "YES",
                gpu_weights_milli=_gpu_weights(line_no, values.get("TRESBillingWeights", "")),
            )
        )
    return rows


def _key_values(line_no: int, line: str) -> dict[str, str]:
    values: dict[str, str] = {}
    for word in line.split():
        key, sep, value = word.partition("=")
        if not sep:
            raise ParseError(line_no, f"{word!r} is not Key=Value")
        values[key] = value
    return values


def _gpu_weights(line_no: int, text: str) -> tuple[tuple[str, int], ...]:
    weights = {}
    for item in filter(None, text.split(",")):
        name, sep, value = item.partition("=")
        if not sep:
            raise ParseError(line_no, f"billing weight {item!r} has no '='")
        if name.lower().startswith(_GPU_TRES):  # Slurm prints GRES/gpu:TYPE
            if not value.isdigit():
                raise ParseError(line_no, f"weight {item!r} is not whole milli-credits")
            weights[name[len(_GPU_TRES) :]] = int(value)
    return tuple(sorted(weights.items()))


def parse_job_statuses(text: str) -> list[JobStatus]:
    """`squeue -h -o %i|%T|%r` or `sacct -X -n -P -o JobID,State,Reason`."""
    statuses = []
    for line_no, line in _lines(text):
        job_id, state, reason = _fields(line_no, line, 3)
        statuses.append(JobStatus(job_id, parse_job_state(line_no, state), reason))
    return statuses


# ---- DCGM exporter ---------------------------------------------------------------------------


def parse_dcgm(text: str) -> list[GpuUtilSample]:
    """GPU utilisation samples (`DCGM_FI_DEV_GPU_UTIL`, percent) from dcgm-exporter's
    Prometheus text. Other metrics are checked for syntax and skipped."""
    samples = []
    errors = _Errors()
    for line_no, line in _lines(text):
        if line.startswith("#"):
            continue
        with errors.collect():
            match = _SAMPLE.fullmatch(line.strip())
            if match is None:
                raise ParseError(line_no, f"not a Prometheus sample: {line!r}")
            name, label_text, value = match.groups()
            labels = _labels(line_no, label_text or "")
            if name == DCGM_GPU_UTIL:
                samples.append(_util_sample(line_no, labels, value))
    errors.raise_any()
    return samples


def _labels(line_no: int, text: str) -> dict[str, str]:
    labels: dict[str, str] = {}
    position = 0
    while position < len(text):
        match = _LABEL.match(text, position)
        if match is None:
            raise ParseError(line_no, f"labels {text!r}")
        labels[match.group(1)] = match.group(2)
        position = match.end()
    return labels


def _util_sample(line_no: int, labels: dict[str, str], value: str) -> GpuUtilSample:
    for needed in ("gpu", "Hostname"):
        if needed not in labels:
            raise ParseError(line_no, f"{DCGM_GPU_UTIL} without label {needed!r}")
    try:
        percent = Decimal(value)
    except InvalidOperation:
        raise ParseError(line_no, f"value {value!r}") from None
    if not 0 <= percent <= 100:
        raise ParseError(line_no, f"utilisation {value} outside 0-100 %")
    return GpuUtilSample(
        hostname=labels["Hostname"],
        gpu=labels["gpu"],
        job_id=labels.get("hpc_job") or None,
        utilisation_milli=int(percent * PERCENT_MILLI),
    )


def utilisation_by_job(samples: Sequence[GpuUtilSample]) -> dict[str, int]:
    """Mean utilisation (thousandths, rounded down) of each job over every sample labelled
    with it: each GPU the job held, on every host, at every scrape, weighs the same. Samples
    without an `hpc_job` label belong to no job and are left out."""
    totals: dict[str, list[int]] = {}
    for sample in samples:
        if sample.job_id is not None:
            totals.setdefault(sample.job_id, []).append(sample.utilisation_milli)
    return {job: sum(values) // len(values) for job, values in totals.items()}
