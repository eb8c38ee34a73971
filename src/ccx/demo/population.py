"""The synthetic nation: a pure, seeded generator (the same size and seed give the same nation).

Every random choice comes from one `random.Random(seed)`, drawn in a fixed order; nothing
reads the clock, the environment or global state. docs/demo-population.md describes the
distributions and their sources.
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date, timedelta
from typing import TypeVar

from ccx.demo import places
from ccx.demo.throughputs import SERVING, TRAINABLE, WorkloadKind
from ccx.demo.types import (
    SME_SEGMENTS,
    ConsortiumPlan,
    FirmPlan,
    IntegratorPlan,
    Nation,
    NationSize,
    PersonPlan,
    Relation,
    Segment,
    Standing,
    WorkloadProfile,
)
from ccx.exchange.types import NewPool
from ccx.ledger.types import MICRO_CREDITS_PER_CREDIT
from ccx.programs.types import GrantRule, NewProgramme, ProgrammeTerms, Track
from ccx.registry.brn import brn_checksum_digit
from ccx.registry.eligibility import SmeRules, rules_in_force
from ccx.registry.types import NewOrganisation, OrgKind, PersonRole, Region, Shareholder, SizeClass

T = TypeVar("T")

DEMO_START_ON = date(2026, 1, 1)
"""The first day of the demo: the day `ccx.clock.SimulatedClock` starts on."""
S_PER_DAY = 86_400
KRW_PER_BILLION = 1_000_000_000
LARGE_PARENT_ASSETS_KRW_MIN = 2_000 * KRW_PER_BILLION
"""A large parent's total assets are drawn from 2 to 60 trillion KRW (the SME test refuses
a firm whose largest shareholder, with 30 % or more, has 500 billion or more)."""
AFFILIATE_SHARE_BP = 5_100
SHARED_HOLDER_SHARE_BP = 4_000
INTEGRATORS_PER_FIRMS = 75  # one integrator per 75 firms, at least 8
INTEGRATORS_MIN = 8
UNIVERSITIES_PER_FIRMS = 250
UNIVERSITIES_MIN = 4
UNIVERSITIES_MAX = 40
RESEARCHERS_PER_UNIVERSITY = 3
CONSORTIUM_SMES_MAX = 8
FIRMS_FOR_SIX_CONSORTIA = 1_000
CLUSTER_PER_FIRMS = 600
CLUSTERS_MIN = 2

# Shares of demand firms: mid-sized 3 %, affiliates of large groups 1 % (at least 2); of the
# rest, medium 15 %, small 30 %, micro 55 %.
MID_SIZED_PER_MILLE = 30
AFFILIATES_PER_FIRMS = 100
MEDIUM_PER_MILLE = 150
SMALL_PER_MILLE = 300
YOUTH_LED_PER_MILLE = 150
NEWLY_FOUNDED_PER_MILLE = 20
SOLE_PROPRIETOR_PER_MILLE = 500  # of micro firms

# Arrivals: 60 % apply in the first week, the rest over the following three.
EARLY_ARRIVALS_PER_MILLE = 600
EARLY_WINDOW_DAYS = 7
LATE_WINDOW_DAYS = 30

# Centre capacity by type, per mille of the devices.
POOL_SHARES_PER_MILLE = (("B200", 550), ("H200", 200), ("H100", 150), ("RNGD", 70), ("A100", 30))

# The SME-direct programme (1 credit = 1 H100-hour, ~3,500 KRW).
PRICE_KRW_PER_CREDIT = 3_500
GRANT_CREDITS = {SizeClass.MICRO: 3_000, SizeClass.SMALL: 6_000, SizeClass.MEDIUM: 12_000}
BUDGET_CREDITS_PER_FIRM = 4_000
LOT_LIFETIME_DAYS = 21
PROGRAMME_OPEN_DAYS = 90
# The consortium track: the state's half of MOTIE's 2.1 billion KRW per consortium.
CONSORTIUM_GRANT_CREDITS = 300_000
CONSORTIUM_LOT_LIFETIME_DAYS = 28


def _credits(amount: int) -> int:
    return amount * MICRO_CREDITS_PER_CREDIT


def _weighted(rng: random.Random, pairs: Sequence[tuple[T, int]]) -> T:
    return rng.choices([item for item, _ in pairs], weights=[w for _, w in pairs])[0]


def _log_uniform(rng: random.Random, low: int, high: int) -> int:
    """An integer between `low` and `high`, uniform on a log scale."""
    return min(high, max(low, round(math.exp(rng.uniform(math.log(low), math.log(high))))))


def _per_mille(rng: random.Random, per_mille: int) -> bool:
    return rng.randrange(1000) < per_mille


class _Brns:
    """Unique, valid business registration numbers."""

    def __init__(self, rng: random.Random) -> None:
        self._rng = rng
        self._taken: set[str] = set()

    def new(self, *, corporation: bool = True) -> str:
        rng = self._rng
        while True:
            kind = rng.choice((81, 86, 87, 88)) if corporation else rng.randint(1, 79)
            first9 = f"{rng.randint(101, 899)}{kind:02d}{rng.randint(1, 9999):04d}"
            brn = first9 + str(brn_checksum_digit(first9))
            if brn not in self._taken:
                self._taken.add(brn)
                return brn


class _Addresses:
    """Street addresses, each used once unless shared on purpose."""

    def __init__(self, rng: random.Random) -> None:
        self._rng = rng
        self._taken: set[str] = set()

    def new(self, region: Region) -> str:
        rng = self._rng
        city, districts = places.REGION_PLACES[region]
        while True:
            address = (
                f"{city} {rng.choice(districts)} {rng.choice(places.ROADS)}"
                f"{rng.randint(1, 40)}번길 {rng.randint(1, 300)}, {rng.randint(1, 12)}층"
            )
            if address not in self._taken:
                self._taken.add(address)
                return address


@dataclass(frozen=True, slots=True)
class _Name:
    korean: str
    slug: str  # ascii, for email domains


def _suffixes(ksic: str) -> tuple[tuple[str, str], ...]:
    for length in (3, 1):
        if ksic[:length] in places.INDUSTRY_SUFFIXES:
            return places.INDUSTRY_SUFFIXES[ksic[:length]]
    return places.OTHER_SUFFIXES


def _org_name(
    rng: random.Random, serial: int, suffixes: Sequence[tuple[str, str]], *, corporation: bool
) -> _Name:
    stem, stem_slug = rng.choice(places.NAME_STEMS)
    suffix, suffix_slug = rng.choice(suffixes)
    korean = f"{stem}{suffix}"
    return _Name(
        f"주식회사 {korean}" if corporation else korean, f"{stem_slug}{suffix_slug}{serial}"
    )


def _person(rng: random.Random, serial: int, domain: str) -> tuple[str, str]:
    """A person's name and email."""
    surname, surname_slug = rng.choice(places.SURNAMES)
    given, given_slug = rng.choice(places.GIVEN_NAMES)
    return f"{surname}{given}", f"{given_slug}.{surname_slug}{serial}@{domain}"


def _founded(rng: random.Random, start_on: date, years_low: float, years_high: float) -> date:
    return start_on - timedelta(days=round(rng.uniform(years_low, years_high) * 365))


# --- firms -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Economics:
    sales_3y_avg_krw: int
    total_assets_krw: int
    employees: int


def _economics(rng: random.Random, segment: Segment, ksic: str, rules: SmeRules) -> _Economics:
    """Sales, assets and employees consistent with the segment and the KSIC band's caps."""
    caps = rules.caps_for(ksic)
    assert caps is not None, ksic
    micro_under = rules.micro_threshold(ksic)
    small, sme = caps.small_cap_krw, caps.sme_cap_krw
    if segment is Segment.MICRO:
        sales, employees = (
            _log_uniform(rng, small // 50, small // 4),
            rng.randint(1, micro_under - 1),
        )
    elif segment in (Segment.SMALL, Segment.AFFILIATE):
        sales, employees = _log_uniform(rng, small // 5, small), rng.randint(micro_under, 49)
    elif segment is Segment.MEDIUM:
        sales, employees = _log_uniform(rng, small + 1, sme * 9 // 10), rng.randint(50, 299)
    else:
        sales, employees = _log_uniform(rng, sme + KRW_PER_BILLION, sme * 3), rng.randint(300, 1500)
    if segment is Segment.MID_SIZED:
        assets = _log_uniform(rng, 100 * KRW_PER_BILLION, 450 * KRW_PER_BILLION)
    else:
        assets = sales * rng.randint(40, 150) // 100
    return _Economics(sales, assets, employees)


_FOUNDED_YEARS = {
    Segment.MICRO: (0.3, 8.0),
    Segment.SMALL: (1.0, 20.0),
    Segment.MEDIUM: (3.0, 30.0),
    Segment.MID_SIZED: (10.0, 50.0),
    Segment.AFFILIATE: (2.0, 25.0),
}


def _founded_on(rng: random.Random, segment: Segment, start_on: date) -> date:
    if segment in (Segment.MICRO, Segment.SMALL) and _per_mille(rng, NEWLY_FOUNDED_PER_MILLE):
        return start_on - timedelta(days=rng.randint(10, 80))
    return _founded(rng, start_on, *_FOUNDED_YEARS[segment])


def _segments(rng: random.Random, firms: int, consortia: int) -> list[Segment]:
    affiliates = max(2, firms // AFFILIATES_PER_FIRMS)
    mid_sized = max(consortia, firms * MID_SIZED_PER_MILLE // 1000)
    rest = firms - affiliates - mid_sized
    medium = rest * MEDIUM_PER_MILLE // 1000
    small = rest * SMALL_PER_MILLE // 1000
    segments = (
        [Segment.AFFILIATE] * affiliates
        + [Segment.MID_SIZED] * mid_sized
        + [Segment.MEDIUM] * medium
        + [Segment.SMALL] * small
        + [Segment.MICRO] * (rest - medium - small)
    )
    rng.shuffle(segments)
    return segments


def _region_for(rng: random.Random, ksic: str) -> Region:
    """Half of the firms in a vertical's industry sit in its industrial regions."""
    for vertical in places.VERTICALS:
        if ksic.startswith(vertical.industry) and rng.random() < 0.5:
            return rng.choice(vertical.regions)
    return _weighted(rng, places.REGION_WEIGHTS)


def _independence(
    rng: random.Random, brns: _Brns, segment: Segment
) -> tuple[str | None, tuple[Shareholder, ...]]:
    """An affiliate is in a designated group, or (every other one) held by a large parent."""
    if segment is not Segment.AFFILIATE:
        return None, ()
    group = rng.choice(places.BUSINESS_GROUPS)
    if rng.random() < 0.5:
        return group, ()
    parent = Shareholder(
        holder_name=f"{group} 계열 모회사",
        share_bp=AFFILIATE_SHARE_BP,
        is_corporation=True,
        holder_brn=brns.new(),
        holder_total_assets_krw=_log_uniform(
            rng, LARGE_PARENT_ASSETS_KRW_MIN, 30 * LARGE_PARENT_ASSETS_KRW_MIN
        ),
        is_largest=True,
    )
    return None, (parent,)


@dataclass(slots=True)
class _Context:
    rng: random.Random
    start_on: date
    rules: SmeRules
    brns: _Brns
    addresses: _Addresses


def _firm_organisation(
    ctx: _Context, serial: int, segment: Segment, ksic: str, region: Region
) -> NewOrganisation:
    rng = ctx.rng
    corporation = segment is not Segment.MICRO or not _per_mille(rng, SOLE_PROPRIETOR_PER_MILLE)
    name = _org_name(rng, serial, _suffixes(ksic), corporation=corporation)
    economics = _economics(rng, segment, ksic, ctx.rules)
    group, shareholders = _independence(rng, ctx.brns, segment)
    return NewOrganisation(
        kind=OrgKind.MID_SIZED if segment is Segment.MID_SIZED else OrgKind.SME,
        brn=ctx.brns.new(corporation=corporation),
        name=name.korean,
        region=region,
        ksic_code=ksic,
        address=ctx.addresses.new(region),
        contact_email=f"contact@{name.slug}.example",
        sales_3y_avg_krw=economics.sales_3y_avg_krw,
        total_assets_krw=economics.total_assets_krw,
        employees=economics.employees,
        founded_on=_founded_on(rng, segment, ctx.start_on),
        youth_led=segment in SME_SEGMENTS and _per_mille(rng, YOUTH_LED_PER_MILLE),
        business_group=group,
        shareholders=shareholders,
    )


_KIND_WEIGHTS = (
    (WorkloadKind.FINE_TUNING, 45),
    (WorkloadKind.TRAINING, 30),
    (WorkloadKind.INFERENCE, 25),
)
_DEVICES_PER_JOB = {
    WorkloadKind.TRAINING: ((1, 2), (2, 3), (4, 3), (8, 2)),
    WorkloadKind.FINE_TUNING: ((1, 4), (2, 3), (4, 2)),
    WorkloadKind.INFERENCE: ((1, 3), (2, 1)),
}
JOB_DEVICES_MAX = 64
JOB_HOURS_TARGET = 48
_WORK_DEVICE_HOURS = {
    WorkloadKind.TRAINING: (800, 8_000),
    WorkloadKind.FINE_TUNING: (200, 2_400),
    WorkloadKind.INFERENCE: (200, 1_500),
}
_REQUESTS_EVERY_DAYS = {
    WorkloadKind.TRAINING: (10, 20),
    WorkloadKind.FINE_TUNING: (7, 14),
    WorkloadKind.INFERENCE: (5, 10),
}
_WORK_SCALE_PERCENT = {
    Segment.MICRO: 50,
    Segment.SMALL: 100,
    Segment.MEDIUM: 200,
    Segment.MID_SIZED: 400,
    Segment.AFFILIATE: 200,
}


def _profile(rng: random.Random, segment: Segment) -> tuple[WorkloadProfile, int]:
    """A firm's workload and how many days apart it files requests."""
    kind = _weighted(rng, _KIND_WEIGHTS)
    model = rng.choice(SERVING if kind is WorkloadKind.INFERENCE else TRAINABLE)
    work = _log_uniform(rng, *_WORK_DEVICE_HOURS[kind]) * _WORK_SCALE_PERCENT[segment] // 100
    devices = _job_devices(_weighted(rng, _DEVICES_PER_JOB[kind]), work)
    profile = WorkloadProfile(
        kind=kind,
        workload_class=model.workload_class,
        devices_per_job=devices,
        work_device_hours=max(devices, work),
        options=model.options(),
    )
    return profile, rng.randint(*_REQUESTS_EVERY_DAYS[kind])


def _job_devices(devices: int, work_device_hours: int) -> int:
    """At least enough devices (a power of two, at most 64) to do the work in about two days."""
    while devices < JOB_DEVICES_MAX and devices * JOB_HOURS_TARGET < work_device_hours:
        devices *= 2
    return devices


def _applies_after_s(rng: random.Random) -> int:
    if _per_mille(rng, EARLY_ARRIVALS_PER_MILLE):
        return rng.randrange(EARLY_WINDOW_DAYS * S_PER_DAY)
    return rng.randrange(EARLY_WINDOW_DAYS * S_PER_DAY, LATE_WINDOW_DAYS * S_PER_DAY)


def _firms(ctx: _Context, size: NationSize, verticals: Sequence[places.Vertical]) -> list[FirmPlan]:
    """Demand firms; the first mid-sized firms are the consortia's anchors, in order."""
    rng = ctx.rng
    anchors = list(verticals)
    plans = []
    for serial, segment in enumerate(_segments(rng, size.firms, len(verticals)), start=1):
        if segment is Segment.MID_SIZED and anchors:
            vertical = anchors.pop(0)
            ksic, region = vertical.anchor_ksic, rng.choice(vertical.regions)
        else:
            ksic = _weighted(rng, places.KSIC_WEIGHTS)
            region = _region_for(rng, ksic)
        organisation = _firm_organisation(ctx, serial, segment, ksic, region)
        profile, every_days = _profile(rng, segment)
        plans.append(FirmPlan(organisation, segment, profile, _applies_after_s(rng), every_days))
    return plans


def _cluster(ctx: _Context, plans: list[FirmPlan], members: Sequence[int], shared: bool) -> None:
    """Move `members` to one address (and with `shared`, one contact email): one applicant
    behind several firms, which the audit's risk sample should catch."""
    first = plans[members[0]].organisation
    address = ctx.addresses.new(first.region)
    contact = f"apply.agent{members[0]}@proxy.example" if shared else None
    for index in members:
        organisation = plans[index].organisation
        organisation = replace(
            organisation,
            region=first.region,
            address=address,
            contact_email=contact or organisation.contact_email,
        )
        plans[index] = replace(plans[index], organisation=organisation)


def _clusters(ctx: _Context, plans: list[FirmPlan]) -> set[int]:
    """A few groups of 3 to 5 micro or small firms at one address; their indices."""
    candidates = [
        index for index, plan in enumerate(plans) if plan.segment in (Segment.MICRO, Segment.SMALL)
    ]
    count = max(CLUSTERS_MIN, len(plans) // CLUSTER_PER_FIRMS)
    sizes = [ctx.rng.randint(3, 5) for _ in range(count)]
    chosen = ctx.rng.sample(candidates, sum(sizes))
    start = 0
    for number, cluster_size in enumerate(sizes):
        _cluster(ctx, plans, chosen[start : start + cluster_size], shared=number == 0)
        start += cluster_size
    return set(chosen)


# --- integrators, universities, people -------------------------------------------------------


def _standings(count: int) -> list[Standing]:
    """About 10 % suspended and 10 % expired (at least one each), the rest certified."""
    off = max(1, count // 10)
    return (
        [Standing.SUSPENDED] * off
        + [Standing.EXPIRED] * off
        + [Standing.CERTIFIED] * (count - 2 * off)
    )


def _certification_days(
    rng: random.Random, standing: Standing, start_on: date
) -> tuple[date, date]:
    """When an integrator was certified, and until when."""
    if standing is Standing.EXPIRED:
        until = start_on - timedelta(days=rng.randint(1, 60))
        return until - timedelta(days=365), until
    certified_on = start_on - timedelta(days=rng.randint(30, 700))
    return certified_on, certified_on + timedelta(days=730)


def _integrator(
    ctx: _Context, serial: int, standing: Standing
) -> tuple[IntegratorPlan, PersonPlan]:
    rng = ctx.rng
    name = _org_name(rng, serial, places.INTEGRATOR_SUFFIXES, corporation=True)
    region = (
        rng.choice((Region.SEOUL, Region.GYEONGGI))
        if rng.random() < 0.6
        else _weighted(rng, places.REGION_WEIGHTS)
    )
    sales = _log_uniform(rng, 2 * KRW_PER_BILLION, 40 * KRW_PER_BILLION)
    certified_on, until = _certification_days(rng, standing, ctx.start_on)
    organisation = NewOrganisation(
        kind=OrgKind.INTEGRATOR,
        brn=ctx.brns.new(),
        name=name.korean,
        region=region,
        ksic_code="J62",
        address=ctx.addresses.new(region),
        contact_email=f"contact@{name.slug}.example",
        sales_3y_avg_krw=sales,
        total_assets_krw=sales * rng.randint(40, 120) // 100,
        employees=rng.randint(10, 120),
        founded_on=_founded(rng, certified_on, 2.0, 20.0),
        youth_led=_per_mille(rng, YOUTH_LED_PER_MILLE),
    )
    officer_name, officer_email = _person(rng, serial, f"{name.slug}.example")
    officer = PersonPlan(organisation.brn, officer_name, officer_email, PersonRole.OFFICER)
    login = f"si{serial:04d}"
    return IntegratorPlan(organisation, standing, certified_on, until, login), officer


def _relate(
    integrator: IntegratorPlan,
    officer: PersonPlan,
    firm: FirmPlan,
    relation: Relation,
) -> tuple[IntegratorPlan, FirmPlan, list[PersonPlan]]:
    """Make `integrator` related to `firm` by `relation`; the people to add for it."""
    organisation, firm_org = integrator.organisation, firm.organisation
    extra: list[PersonPlan] = []
    if relation is Relation.ADDRESS:
        organisation = replace(organisation, address=firm_org.address)
    elif relation is Relation.OFFICER:
        extra.append(replace(officer, org_brn=firm_org.brn))
    else:
        holder = Shareholder(officer.name, SHARED_HOLDER_SHARE_BP, is_largest=True)
        organisation = replace(organisation, shareholders=(holder,))
        firm_org = replace(firm_org, shareholders=(holder,))
    related = replace(
        integrator, organisation=organisation, related_firm_brn=firm_org.brn, relation=relation
    )
    return related, replace(firm, organisation=firm_org), extra


@dataclass(frozen=True, slots=True)
class _Integrators:
    plans: tuple[IntegratorPlan, ...]
    people: tuple[PersonPlan, ...]
    related_firms: frozenset[int]  # indices into the firms


def _integrators(ctx: _Context, plans: list[FirmPlan], avoid: set[int]) -> _Integrators:
    """Integrators with their officers; the last certified ones are related to a firm each."""
    standings = _standings(max(INTEGRATORS_MIN, len(plans) // INTEGRATORS_PER_FIRMS))
    made = [_integrator(ctx, serial, s) for serial, s in enumerate(standings, start=1)]
    related_count = max(2, len(made) // 10)
    candidates = [
        i for i, plan in enumerate(plans) if plan.segment in SME_SEGMENTS and i not in avoid
    ]
    firms = ctx.rng.sample(candidates, related_count)
    relations = list(Relation)
    integrators, people = [], []
    for number, (plain, officer) in enumerate(made):
        integrator = plain
        related_number = number - (len(made) - related_count)
        if related_number >= 0:
            index = firms[related_number]
            relation = relations[related_number % len(relations)]
            integrator, plans[index], extra = _relate(plain, officer, plans[index], relation)
            people += extra
        integrators.append(integrator)
        people.append(officer)
    return _Integrators(tuple(integrators), tuple(people), frozenset(firms))


def _universities(ctx: _Context, firms: int) -> tuple[list[NewOrganisation], list[PersonPlan]]:
    rng = ctx.rng
    count = min(UNIVERSITIES_MAX, max(UNIVERSITIES_MIN, firms // UNIVERSITIES_PER_FIRMS))
    universities, researchers = [], []
    for serial in range(1, count + 1):
        stem, slug = rng.choice(places.NAME_STEMS)
        region = _weighted(rng, places.REGION_WEIGHTS)
        domain = f"{slug}-univ{serial}.example"
        university = NewOrganisation(
            kind=OrgKind.UNIVERSITY,
            brn=ctx.brns.new(),
            name=f"{stem}대학교 ({serial})",
            region=region,
            ksic_code="P85",
            address=ctx.addresses.new(region),
            contact_email=f"research@{domain}",
        )
        universities.append(university)
        for number in range(RESEARCHERS_PER_UNIVERSITY):
            name, email = _person(rng, serial * 10 + number, domain)
            researchers.append(PersonPlan(university.brn, name, email, PersonRole.RESEARCHER))
    return universities, researchers


# --- consortia, pools, programmes ------------------------------------------------------------


def _consortia(
    rng: random.Random,
    *,
    verticals: Sequence[places.Vertical],
    plans: Sequence[FirmPlan],
    integrators: _Integrators,
    researchers: Sequence[PersonPlan],
    avoid: set[int],
) -> list[ConsortiumPlan]:
    anchors = [plan for plan in plans if plan.segment is Segment.MID_SIZED]
    certified = [
        plan.organisation.brn
        for plan in integrators.plans
        if plan.standing is Standing.CERTIFIED and plan.relation is None
    ]
    consortia = []
    for vertical, anchor in zip(verticals, anchors, strict=False):
        members = [
            plan.organisation.brn
            for index, plan in enumerate(plans)
            if plan.segment in SME_SEGMENTS
            and plan.organisation.ksic_code.startswith(vertical.industry)
            and index not in avoid
        ]
        consortia.append(
            ConsortiumPlan(
                name=vertical.name,
                industry=vertical.industry,
                regions=vertical.regions,
                anchor_brn=anchor.organisation.brn,
                sme_brns=tuple(rng.sample(members, min(CONSORTIUM_SMES_MAX, len(members)))),
                integrator_brns=tuple(rng.sample(certified, rng.randint(1, 2))),
                researcher_emails=(rng.choice(researchers).email,),
            )
        )
    return consortia


def _pools(devices: int) -> list[NewPool]:
    """Devices split by type (largest remainder), every type at least one device."""
    shares = [(code, devices * per_mille) for code, per_mille in POOL_SHARES_PER_MILLE]
    counts = {code: max(1, share // 1000) for code, share in shares}
    by_remainder = sorted(shares, key=lambda item: (-(item[1] % 1000), item[0]))
    for code, _ in by_remainder[: devices - sum(counts.values())]:
        counts[code] += 1
    counts["B200"] += devices - sum(counts.values())  # only when the minimums took some
    return [NewPool(f"haenam-{code.lower()}", code, counts[code]) for code, _ in shares]


def _programmes(start_on: date, firms: int, consortia: int) -> list[NewProgramme]:
    closes_on = start_on + timedelta(days=PROGRAMME_OPEN_DAYS)
    largest_grant = _credits(max(GRANT_CREDITS.values()))
    direct = ProgrammeTerms(
        budget_micro=_credits(BUDGET_CREDITS_PER_FIRM * firms),
        opens_on=start_on,
        closes_on=closes_on,
        grant=GrantRule(by_size_micro={k: _credits(v) for k, v in GRANT_CREDITS.items()}),
        lot_lifetime_days=LOT_LIFETIME_DAYS,
        firm_cap_micro=2 * largest_grant,
        group_cap_micro=4 * largest_grant,
        quota_non_capital_bp=4_000,
        quota_youth_bp=1_000,
        service_share_max_bp=1_500,
        price_krw_per_credit=PRICE_KRW_PER_CREDIT,
        audit_sample_bp=300,
    )
    consortium_grant = _credits(CONSORTIUM_GRANT_CREDITS)
    track = ProgrammeTerms(
        budget_micro=consortium_grant * max(1, consortia),
        opens_on=start_on,
        closes_on=closes_on,
        grant=GrantRule(fixed_micro=consortium_grant),
        lot_lifetime_days=CONSORTIUM_LOT_LIFETIME_DAYS,
        firm_cap_micro=consortium_grant,
        group_cap_micro=2 * consortium_grant,
        tracks=frozenset({Track.CONSORTIUM}),
        service_share_max_bp=1_500,
        price_krw_per_credit=PRICE_KRW_PER_CREDIT,
        audit_sample_bp=1_000,
    )
    return [
        NewProgramme(1, "AI 컴퓨팅 크레딧 (SME direct)", direct),
        NewProgramme(2, "산업 AI 컨소시엄 크레딧 (consortium track)", track),
    ]


def build_nation(size: NationSize, seed: int, *, start_on: date = DEMO_START_ON) -> Nation:
    """The synthetic nation of `size` for `seed`, with the demo starting on `start_on`."""
    rng = random.Random(seed)
    ctx = _Context(rng, start_on, rules_in_force(start_on), _Brns(rng), _Addresses(rng))
    count = len(places.VERTICALS) if size.firms >= FIRMS_FOR_SIX_CONSORTIA else 4
    verticals = places.VERTICALS[:count]
    plans = _firms(ctx, size, verticals)
    clustered = _clusters(ctx, plans)
    integrators = _integrators(ctx, plans, clustered)
    universities, researchers = _universities(ctx, size.firms)
    avoid = clustered | integrators.related_firms
    consortia = _consortia(
        rng,
        verticals=verticals,
        plans=plans,
        integrators=integrators,
        researchers=researchers,
        avoid=avoid,
    )
    return Nation(
        seed=seed,
        size=size,
        start_on=start_on,
        firms=tuple(plans),
        integrators=integrators.plans,
        universities=tuple(universities),
        people=integrators.people + tuple(researchers),
        consortia=tuple(consortia),
        pools=tuple(_pools(size.devices)),
        programmes=tuple(_programmes(start_on, size.firms, len(consortia))),
    )
