"""The efficiency score of an integrator (pure): how much of what it was allocated it used, and
how well, so that hoarders and idle reservations lose weight in later rounds.

    score = (utilised + PRIOR) / (allocated + PRIOR), in thousandths, at least SCORE_MIN_MILLI

`allocated` counts the device-hours of its resolved allocations (settled or reclaimed),
`utilised` the device-hours it used, each weighted by the measured accelerator utilisation
where one was metered (full weight where none was). A reclaimed allocation used nothing. The
prior counts PRIOR_DEVICE_HOURS at full use, so a newcomer starts at 1000 and one small miss
does not sink anyone; the minimum keeps every integrator in the running (the fairness floor of
the clearing protects small firms whatever their integrator's score).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from ccx.exchange.types import EfficiencyScore

PRIOR_DEVICE_HOURS = 100
SCORE_MIN_MILLI = 100
SCORE_MAX_MILLI = 1000
RESOLVED_MAX = 500
"""The most recent resolved allocations that count."""
S_PER_HOUR = 3600


@dataclass(frozen=True, slots=True)
class Resolved:
    """One resolved allocation, as the score sees it."""

    device_hours: int
    used_device_s: int  # 0 when reclaimed
    utilisation_milli: int | None
    reclaimed: bool


def efficiency_score(integrator_id: int, resolved: Sequence[Resolved]) -> EfficiencyScore:
    allocated_device_hours = sum(item.device_hours for item in resolved)
    used_device_s = sum(item.used_device_s for item in resolved)
    utilised_device_s = sum(
        item.used_device_s * (SCORE_MAX_MILLI if item.utilisation_milli is None
                              else item.utilisation_milli) // SCORE_MAX_MILLI
        for item in resolved
    )  # fmt: skip
    prior_s = PRIOR_DEVICE_HOURS * S_PER_HOUR
    raw_milli = (
        (utilised_device_s + prior_s)
        * SCORE_MAX_MILLI
        // (allocated_device_hours * S_PER_HOUR + prior_s)
    )
    score_milli = max(SCORE_MIN_MILLI, min(SCORE_MAX_MILLI, raw_milli))
    reclaimed = sum(1 for item in resolved if item.reclaimed)
    return EfficiencyScore(
        integrator_id=integrator_id,
        score_milli=score_milli,
        allocations=len(resolved),
        allocated_device_hours=allocated_device_hours,
        used_device_hours=used_device_s // S_PER_HOUR,
        utilised_device_hours=utilised_device_s // S_PER_HOUR,
        reclaimed=reclaimed,
        explanation=_explain(score_milli, len(resolved), reclaimed, allocated_device_hours,
                             utilised_device_s),
    )  # fmt: skip


def _explain(
    score_milli: int, count: int, reclaimed: int, allocated_device_hours: int, utilised_s: int
) -> str:
    if count == 0:
        return "no resolved allocations yet: full weight (1.000)"
    return (
        f"{score_milli / 1000:.3f}: used {utilised_s / S_PER_HOUR:,.1f} of "
        f"{allocated_device_hours:,} device-hours allocated over {count} resolved allocations "
        f"({reclaimed} reclaimed unused), weighted by measured utilisation, with a prior of "
        f"{PRIOR_DEVICE_HOURS} fully used device-hours; never below {SCORE_MIN_MILLI / 1000:.3f}"
    )
