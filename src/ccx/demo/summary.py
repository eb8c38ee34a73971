"""The demo's summary: gathered from the database through the features' reads after a run,
printed as Rich tables and written as JSON (schema in docs/demo.md).

Credits are micro-credits in the JSON and credits in the tables. The accounting check holds
over every programme ledger: what was appropriated equals what is still in the programme pool
plus everything granted, and everything granted equals what is in lots and consortium pools
(available or held) plus what was consumed by compute, paid as integrator fees, expired and
clawed back.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from rich.console import Console
from rich.table import Table
from sqlalchemy.orm import Session

from ccx.consortia import queries as consortia_queries
from ccx.exchange import queries as exchange_queries
from ccx.ledger import queries as ledger_queries
from ccx.programs import queries as programme_queries
from ccx.programs.types import AccountCode
from ccx.registry import eligibility
from ccx.registry import queries as registry_queries

MICRO = 1_000_000
MILLI = 1000
TOP_FIRMS = 10
PAGE = 1000


@dataclass(frozen=True, slots=True)
class Credits:
    appropriated_micro: int
    pool_remaining_micro: int
    granted_micro: int
    in_lots_micro: int  # available in firms' lots
    in_consortium_pools_micro: int
    held_micro: int  # held for allocations not yet settled
    consumed_micro: int  # posted to the centre's revenue accounts
    fees_micro: int  # posted to integrator payables
    expired_micro: int
    clawed_back_micro: int

    @property
    def check_ok(self) -> bool:
        accounted = (
            self.in_lots_micro
            + self.in_consortium_pools_micro
            + self.held_micro
            + self.consumed_micro
            + self.fees_micro
            + self.expired_micro
            + self.clawed_back_micro
        )
        return (
            self.appropriated_micro == self.pool_remaining_micro + self.granted_micro
            and self.granted_micro == accounted
        )


@dataclass(frozen=True, slots=True)
class Distribution:
    """Consumed credits by firm size, region and industry, and their concentration."""

    by_size_micro: dict[str, int]
    by_region_micro: dict[str, int]  # capital region / rest
    by_industry_micro: dict[str, int]  # KSIC section
    firms_with_grants: int
    gini_milli: int
    top10_share_milli: int


@dataclass(frozen=True, slots=True)
class Summary:
    meta: dict[str, Any]
    pools: list[dict[str, Any]]
    credits: Credits
    applications: dict[str, Any]
    time_to_credit_ms: dict[str, float]
    reserved_idle_device_hours: int
    distribution: Distribution
    integrators: dict[str, Any]
    consortia: dict[str, Any]
    rounds: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["credits"]["check_ok"] = self.credits.check_ok
        return data


# --- pure statistics -------------------------------------------------------------------------


def gini_milli(values: Sequence[int]) -> int:
    """The Gini coefficient of non-negative values, in thousandths (0: all equal)."""
    ordered = sorted(values)
    total = sum(ordered)
    if not ordered or total == 0:
        return 0
    weighted = sum((2 * rank - len(ordered) - 1) * value for rank, value in enumerate(ordered, 1))
    return weighted * MILLI // (len(ordered) * total)


def top_share_milli(values: Iterable[int], top: int) -> int:
    """The share of the `top` largest values in the total, in thousandths."""
    ordered = sorted(values, reverse=True)
    total = sum(ordered)
    return 0 if total == 0 else sum(ordered[:top]) * MILLI // total


def percentile(values: Sequence[float], fraction: float) -> float:
    """The nearest-rank percentile (0 for no values)."""
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = max(1, -(-len(ordered) * fraction // 1))
    return ordered[int(rank) - 1]


# --- gathering -------------------------------------------------------------------------------


def _credits(session: Session, programme_ids: Sequence[int]) -> Credits:
    figures = dict.fromkeys(
        ("appropriated", "pool", "granted", "lots", "consortium", "held", "consumed", "fees",
         "expired", "clawed"), 0,
    )  # fmt: skip
    for programme_id in programme_ids:
        totals = ledger_queries.totals_by_code(session, programme_id)
        report = programme_queries.programme_report(session, programme_id)
        assert report is not None

        def posted(code: AccountCode, totals: Mapping[int, Any] = totals) -> int:
            found = totals.get(code)
            return 0 if found is None else int(found.balance_posted)

        held = sum(totals[code].debits_pending for code in (AccountCode.FIRM_LOT,
                   AccountCode.CONSORTIUM_POOL) if code in totals)  # fmt: skip
        figures["appropriated"] += -posted(AccountCode.APPROPRIATION)
        figures["pool"] += posted(AccountCode.POOL)
        figures["granted"] += report.granted_micro
        figures["lots"] += posted(AccountCode.FIRM_LOT) - (
            totals[AccountCode.FIRM_LOT].debits_pending if AccountCode.FIRM_LOT in totals else 0
        )
        figures["consortium"] += posted(AccountCode.CONSORTIUM_POOL) - (
            totals[AccountCode.CONSORTIUM_POOL].debits_pending
            if AccountCode.CONSORTIUM_POOL in totals
            else 0
        )
        figures["held"] += held
        figures["consumed"] += posted(AccountCode.CENTRE_REVENUE)
        figures["fees"] += posted(AccountCode.INTEGRATOR_PAYABLE)
        figures["expired"] += posted(AccountCode.EXPIRED)
        figures["clawed"] += posted(AccountCode.CLAWBACK)
    return Credits(*figures.values())


def _distribution(
    session: Session, posted: Mapping[int, int], grantees: Sequence[int]
) -> Distribution:
    by_size: dict[str, int] = {}
    by_region = {"capital": 0, "rest": 0}
    by_industry: dict[str, int] = {}
    for firm_id in grantees:
        firm = registry_queries.require_organisation(session, firm_id)
        amount = posted.get(firm_id, 0)
        size = eligibility.size_class(firm).value if firm.kind.value == "sme" else firm.kind.value
        by_size[size] = by_size.get(size, 0) + amount
        by_region["capital" if firm.in_capital_region else "rest"] += amount
        section = firm.ksic_code[:1]  # the KSIC section letter
        by_industry[section] = by_industry.get(section, 0) + amount
    amounts = [posted.get(firm_id, 0) for firm_id in grantees]
    return Distribution(
        by_size_micro=dict(sorted(by_size.items())),
        by_region_micro=by_region,
        by_industry_micro=dict(sorted(by_industry.items())),
        firms_with_grants=len(grantees),
        gini_milli=gini_milli(amounts),
        top10_share_milli=top_share_milli(amounts, TOP_FIRMS),
    )


def _grantees(session: Session, programme_ids: Sequence[int]) -> list[int]:
    firms: set[int] = set()
    for programme_id in programme_ids:
        after = 0
        while True:
            lots = programme_queries.list_lots(
                session, limit=PAGE, after_id=after, programme_id=programme_id
            )
            firms.update(lot.firm_id for lot in lots)
            if len(lots) < PAGE:
                break
            after = lots[-1].account_id
    return sorted(firms)


def gather_summary(
    session: Session,
    *,
    programme_ids: Sequence[int],
    integrator_ids: Sequence[int],
    decision_ms: Sequence[float],
    meta: dict[str, Any],
) -> Summary:
    pools = exchange_queries.pool_figures(session)
    outcomes = [programme_queries.application_outcomes(session, p) for p in programme_ids]
    refusals: dict[str, int] = {}
    for outcome in outcomes:
        for code, count in outcome.refusals_by_reason.items():
            refusals[code] = refusals.get(code, 0) + count
    scores = sorted(
        score.score_milli
        for score in exchange_queries.efficiency_scores(session, integrator_ids).values()
    )
    rounds = exchange_queries.list_rounds(session, limit=PAGE)
    consortia = consortia_queries.list_consortia(session, limit=PAGE)
    return Summary(
        meta=meta,
        pools=[
            asdict(pool)
            | {
                "utilisation_milli": pool.used_device_hours * MILLI // pool.capacity_device_hours
                if pool.capacity_device_hours
                else 0
            }
            for pool in pools
        ],
        credits=_credits(session, programme_ids),
        applications={
            "received": sum(o.received for o in outcomes),
            "approved": sum(o.approved for o in outcomes),
            "refused": sum(o.refused for o in outcomes),
            "refused_by_reason": dict(sorted(refusals.items())),
            "audits_selected": sum(o.audits_selected for o in outcomes),
            "audits_failed": sum(o.audits_failed for o in outcomes),
        },
        time_to_credit_ms={
            "median": round(statistics.median(decision_ms), 2) if decision_ms else 0.0,
            "p95": round(percentile(decision_ms, 0.95), 2),
        },
        reserved_idle_device_hours=sum(pool.idle_reserved_device_hours for pool in pools),
        distribution=_distribution(
            session, exchange_queries.posted_by_firm(session), _grantees(session, programme_ids)
        ),
        integrators={
            "count": len(scores),
            "score_min_milli": scores[0] if scores else 0,
            "score_median_milli": int(statistics.median(scores)) if scores else 0,
            "score_max_milli": scores[-1] if scores else 0,
        },
        consortia={"count": len(consortia), **_consortium_activity(session, consortia)},
        rounds={
            "count": len(rounds),
            "allocated_device_hours": sum(r.allocated_device_hours for r in rounds),
            "reclaimed_device_hours": sum(r.reclaimed_device_hours for r in rounds),
            "capacity_device_hours": sum(r.capacity_device_hours for r in rounds),
        },
    )


def _consortium_activity(session: Session, consortia: Sequence[Any]) -> dict[str, int]:
    contributed = granted = spent = 0
    for consortium in consortia:
        for pool in consortia_queries.list_pools(session, consortium.id):
            contributed += pool.contributed_micro
            granted += pool.granted_micro
            spent += pool.spent_micro
    return {"contributed_micro": contributed, "granted_micro": granted, "spent_micro": spent}


# --- rendering -------------------------------------------------------------------------------


def _credits_text(micro: int) -> str:
    return f"{micro / MICRO:,.2f}"


def render(summary: Summary, console: Console) -> None:
    """The summary as tables."""
    pools = Table("pool", "type", "devices", "capacity h", "allocated h", "used h", "utilisation",
                  title="Capacity and utilisation per pool")  # fmt: skip
    for pool in summary.pools:
        pools.add_row(
            pool["name"],
            pool["accelerator"],
            f"{pool['devices']:,}",
            f"{pool['capacity_device_hours']:,}",
            f"{pool['allocated_device_hours']:,}",
            f"{pool['used_device_hours']:,}",
            f"{pool['utilisation_milli'] / 10:.1f} %",
        )
    console.print(pools)
    credits = Table("credits", "amount", title="Where the credits went")
    c = summary.credits
    for label, micro in (
        ("appropriated", c.appropriated_micro),
        ("still in the programme pools", c.pool_remaining_micro),
        ("granted", c.granted_micro),
        ("available in firms' lots", c.in_lots_micro),
        ("in consortium pools", c.in_consortium_pools_micro),
        ("held for allocations", c.held_micro),
        ("consumed by compute", c.consumed_micro),
        ("paid as integrator fees", c.fees_micro),
        ("expired", c.expired_micro),
        ("clawed back", c.clawed_back_micro),
    ):
        credits.add_row(label, _credits_text(micro))
    console.print(credits)
    verdict = "[green]holds[/]" if c.check_ok else "[red]FAILS[/]"
    console.print(
        f"Accounting check {verdict}: appropriated = pool + granted; granted = lots + consortium"
        " pools + held + consumed + fees + expired + clawed back"
    )
    _render_rest(summary, console)


def _render_rest(summary: Summary, console: Console) -> None:
    apps = summary.applications
    table = Table("applications", "count", title="Applications")
    for label in ("received", "approved", "refused", "audits_selected", "audits_failed"):
        table.add_row(label.replace("_", " "), f"{apps[label]:,}")
    for code, count in apps["refused_by_reason"].items():
        table.add_row(f"  refused: {code}", f"{count:,}")
    console.print(table)
    t = summary.time_to_credit_ms
    console.print(f"Time from application to credits: median {t['median']} ms, p95 {t['p95']} ms")
    console.print(f"Reserved but idle: {summary.reserved_idle_device_hours:,} device-hours")
    d = summary.distribution
    dist = Table("consumed by", "credits", title="Who really benefits")
    for group in (d.by_size_micro, d.by_region_micro, d.by_industry_micro):
        for key, micro in group.items():
            dist.add_row(key, _credits_text(micro))
    console.print(dist)
    console.print(
        f"Gini of consumed credits over {d.firms_with_grants:,} firms with grants:"
        f" {d.gini_milli / MILLI:.3f}; top-10 firms' share {d.top10_share_milli / 10:.1f} %"
    )
    i = summary.integrators
    console.print(
        f"Integrator efficiency scores ({i['count']}): min {i['score_min_milli'] / MILLI:.3f},"
        f" median {i['score_median_milli'] / MILLI:.3f}, max {i['score_max_milli'] / MILLI:.3f}"
    )
    k = summary.consortia
    console.print(
        f"Consortia: {k['count']}; contributed {_credits_text(k['contributed_micro'])},"
        f" granted {_credits_text(k['granted_micro'])}, spent {_credits_text(k['spent_micro'])}"
    )
