"""Parsers on real output captured from the Slurm testbed (tests/data/slurm/README.md) and on
a dcgm-exporter sample."""

from __future__ import annotations

from pathlib import Path

import pytest

from ccx.center import JobState, ParseError
from ccx.center.parsers import (
    SACCT_FIELDS,
    parse_dcgm,
    parse_job_id,
    parse_job_statuses,
    parse_partitions,
    parse_sacct,
    parse_sacctmgr_assoc,
    parse_sacctmgr_qos,
    utilisation_by_job,
)
from ccx.clock import NS_PER_S

DATA = Path(__file__).parent.parent / "data"
START_1_NS = 1_795_314_026 * NS_PER_S  # 2026-11-22T02:20:26 UTC


def _read(name: str) -> str:
    return (DATA / name).read_text()


def test_sacct_with_header_gives_jobs_and_steps_that_used_gpus() -> None:
    records = parse_sacct(_read("slurm/sacct-jobs-and-steps.txt"))
    keys = [r.key for r in records]
    assert ("ccxtest", "1", "") in keys
    assert ("ccxtest", "1", "batch") in keys
    assert ("ccxtest", "7", "0") in keys
    assert ("ccxtest", "7", "1") in keys
    assert not any(r.job_id in {"2", "8"} for r in records)  # never started: no usage
    first = records[0]
    assert (first.account, first.accelerator, first.devices) == ("ccx-a101", "h100", 1)
    assert (first.start_ns, first.end_ns, first.state) == (
        START_1_NS,
        START_1_NS + 2 * NS_PER_S,
        JobState.COMPLETED,
    )


def test_sacct_running_job_has_no_end_and_failed_job_keeps_its_state() -> None:
    records = {r.key: r for r in parse_sacct(_read("slurm/sacct-jobs-and-steps.txt"))}
    running = records[("ccxtest", "4", "")]
    assert (running.state, running.end_ns, running.accelerator) == (JobState.RUNNING, None, "b200")
    failed = records[("ccxtest", "6", "")]
    assert (failed.state, failed.accelerator, failed.devices) == (JobState.FAILED, "a100", 1)


def test_sacct_without_header_reads_allocations_in_the_adapters_fields() -> None:
    records = parse_sacct(_read("slurm/sacct-allocations-noheader.txt"), fields=SACCT_FIELDS)
    assert [r.job_id for r in records] == ["1", "3", "4", "5", "6", "7"]
    assert all(r.step == "" for r in records)
    by_job = {r.job_id: r for r in records}
    assert (by_job["3"].accelerator, by_job["3"].devices) == ("a100", 2)
    assert by_job["4"].end_ns is not None
    assert by_job["4"].end_ns - by_job["4"].start_ns == 30 * NS_PER_S


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("Cluster|JobID\nx|1\n", "line 1: header lacks Account"),
        ("ccxtest|1|acc|root|COMPLETED\n", "line 1: 5 fields, expected 9"),
        ("ccxtest|1|a|root|DONE|2026-11-22T02:20:26|Unknown|2|gres/gpu:h100=1\n", "job state"),
        ("ccxtest|1|a|root|RUNNING|22/11/2026|Unknown|2|gres/gpu:h100=1\n", "time '22/11/2026'"),
        ("ccxtest|1|a|root|RUNNING|2026-11-22T02:20:26|Unknown|2|gres/gpu:h100=x\n", "not a count"),
        ("ccxtest|1|a|root|RUNNING|2026-11-22T02:20:26|Unknown|2|gres/gpu=1\n", "without a type"),
        ("ccxtest|x.y.z|a|root|RUNNING|2026-11-22T02:20:26|Unknown|2|gres/gpu:a100=1\n", "job id"),
    ],
)
def test_sacct_refuses_malformed_lines_naming_the_line(text: str, message: str) -> None:
    fields = None if text.startswith("Cluster") else SACCT_FIELDS
    with pytest.raises(ParseError, match=message):
        parse_sacct(text, fields=fields)


def test_sacct_error_names_the_line_number_in_a_real_file() -> None:
    lines = _read("slurm/sacct-jobs-and-steps.txt").splitlines()
    lines[5] = lines[5].replace("|", ";")
    with pytest.raises(ParseError, match=r"^line 6: ") as caught:
        parse_sacct("\n".join(lines))
    assert caught.value.line_no == 6


def test_job_ids_of_arrays_and_steps() -> None:
    assert parse_job_id(1, "12_3.batch") == ("12_3", "batch")
    assert parse_job_id(1, "12+1") == ("12+1", "")


def test_sacctmgr_associations_and_qos() -> None:
    rows = parse_sacctmgr_assoc(_read("slurm/sacctmgr-assoc.txt"))
    limits = {r.account: dict(r.grp_tres_mins) for r in rows if not r.user}
    assert limits["ccx-a900"] == {"billing": 60000}
    assert limits["ccx-a101"] == {"billing": 0}
    assert limits["root"] == {}
    assert {r.user for r in rows if r.account == "ccx-a900"} == {"", "root"}
    qos = {r.name: r.flags for r in parse_sacctmgr_qos(_read("slurm/sacctmgr-qos.txt"))}
    assert qos == {"normal": frozenset(), "ccx": frozenset({"NoDecay"})}


def test_sacctmgr_refuses_a_limit_that_is_not_a_count() -> None:
    with pytest.raises(ParseError, match=r"line 2: billing=.1\.5."):
        parse_sacctmgr_assoc("c|root||\nc|ccx-a1||billing=1.5\n")


def test_partition_billing_weights() -> None:
    (row,) = parse_partitions(_read("slurm/scontrol-partition.txt"))
    assert (row.name, row.default) == ("gpu", True)
    assert dict(row.gpu_weights_milli) == {"h100": 1000, "a100": 250, "b200": 2250}
    with pytest.raises(ParseError, match="not whole milli-credits"):
        parse_partitions("PartitionName=p TRESBillingWeights=CPU=0,GRES/gpu:npu=0.5")


def test_job_statuses_from_squeue() -> None:
    statuses = parse_job_statuses("2|PENDING|AssocGrpBillingMinutes\n6|FAILED|NonZeroExitCode\n")
    assert [(s.job_id, s.state, s.reason) for s in statuses] == [
        ("2", JobState.PENDING, "AssocGrpBillingMinutes"),
        ("6", JobState.FAILED, "NonZeroExitCode"),
    ]


def test_every_slurm_job_state_parses() -> None:
    # squeue's long names, as `man squeue` lists them under JOB STATE CODES
    names = [
        "BOOT_FAIL",
        "CANCELLED",
        "COMPLETED",
        "CONFIGURING",
        "COMPLETING",
        "DEADLINE",
        "FAILED",
        "NODE_FAIL",
        "OUT_OF_MEMORY",
        "PENDING",
        "PREEMPTED",
        "RUNNING",
        "RESV_DEL_HOLD",
        "REQUEUE_FED",
        "REQUEUE_HOLD",
        "REQUEUED",
        "RESIZING",
        "REVOKED",
        "SIGNALING",
        "SPECIAL_EXIT",
        "STAGE_OUT",
        "STOPPED",
        "SUSPENDED",
        "TIMEOUT",
    ]
    text = "".join(f"{n}|{name}|None\n" for n, name in enumerate(names))
    assert [s.state.name for s in parse_job_statuses(text)] == names
    with pytest.raises(ParseError, match="line 1: job state 'FINISHED'"):
        parse_job_statuses("1|FINISHED|None\n")


def test_dcgm_sample_gives_utilisation_per_job() -> None:
    samples = parse_dcgm(_read("dcgm/dcgm-exporter-sample.prom"))
    assert len(samples) == 6  # only DCGM_FI_DEV_GPU_UTIL
    assert samples[0].hostname == "node01"
    assert samples[0].gpu == "0"
    assert samples[3].job_id is None  # an idle GPU held by no job
    assert utilisation_by_job(samples) == {"1": 870, "5": 775, "3": 425}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('DCGM_FI_DEV_GPU_UTIL{gpu="0",Hostname="n"}\n', "not a Prometheus sample"),
        ('DCGM_FI_DEV_GPU_UTIL{gpu="0",Hostname=n} 5\n', "labels"),
        ('DCGM_FI_DEV_GPU_UTIL{gpu="0"} 5\n', "without label 'Hostname'"),
        ('DCGM_FI_DEV_GPU_UTIL{gpu="0",Hostname="n"} 120\n', "outside 0-100"),
        ('DCGM_FI_DEV_GPU_UTIL{gpu="0",Hostname="n"} abc\n', "value 'abc'"),
    ],
)
def test_dcgm_refuses_malformed_lines(text: str, message: str) -> None:
    with pytest.raises(ParseError, match=f"line 2: .*{message}"):
        parse_dcgm("# HELP x\n" + text)


def test_inputs_longer_than_the_line_limit_are_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("ccx.center.parsers.LINES_MAX", 3)
    with pytest.raises(ParseError, match="line 4: more than 3 lines"):
        parse_sacct(_read("slurm/sacct-jobs-and-steps.txt"))


def test_every_malformed_line_is_named() -> None:
    header = "Cluster|JobID|Account|User|State|Start|End|ElapsedRaw|AllocTRES"
    good = "c|1|ccx-a1|root|COMPLETED|2026-11-22T02:20:26|2026-11-22T02:20:28|2|gres/gpu:h100=1"
    text = "\n".join([header, good, "c|2|short", good, "c|3|ccx-a1|root|DONE?|x|y|1|", good])
    with pytest.raises(ParseError) as caught:
        parse_sacct(text)
    assert [problem.split(":")[0] for problem in caught.value.problems] == ["line 3", "line 5"]
