"""Load a synthetic nation through the real services, in a few write transactions.

It registers the organisations and people, certifies the integrators (with their history:
an expired certification was granted a year before it ran out), gives each integrator a
centre login, declares the pools, creates the programmes and forms the consortia. It applies
for nothing and grants no mandates: the demo's day loop does that.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from datetime import UTC, date, datetime
from typing import TypeVar

from sqlalchemy.orm import Session

from ccx.clock import NS_PER_S, Clock, SimulatedClock
from ccx.consortia import service as consortia_service
from ccx.consortia.types import MemberRole, NewConsortium
from ccx.db import Database
from ccx.demo.types import ConsortiumPlan, IntegratorPlan, Loaded, Nation, Standing
from ccx.exchange import service as exchange_service
from ccx.metering import service as metering_service
from ccx.programs import service as programme_service
from ccx.registry import service as registry_service
from ccx.registry.brn import format_brn
from ccx.registry.errors import DuplicateOrganisationError
from ccx.registry.queries import PAGE_SIZE_MAX, registered_brns
from ccx.registry.types import NewOrganisation, PersonRole
from ccx.registry.validation import normalise_organisation

T = TypeVar("T")

SUSPENSION_REASON = "suspended pending review of a complaint about a past project (synthetic)"


def _batches(items: Sequence[T], size: int) -> Iterator[Sequence[T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _day_clock(day: date) -> SimulatedClock:
    """A clock at the start of `day` (UTC), for what happened before the demo."""
    return SimulatedClock(
        int(datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp()) * NS_PER_S
    )


def _insert_batch(session: Session, batch: Sequence[NewOrganisation], clock: Clock) -> list[int]:
    """Register a batch as the registry's import does: check each, refuse any number that is
    registered already, insert."""
    today = registry_service.utc_today(clock)
    clean = [normalise_organisation(new, today=today) for new in batch]
    taken = registered_brns(session, (new.brn for new in clean))
    if taken:
        listed = ", ".join(format_brn(brn) for brn in sorted(taken))
        raise DuplicateOrganisationError(f"registered already: {listed}")
    return [registry_service.insert_organisation(session, new, clock) for new in clean]


def _register(
    database: Database, organisations: Sequence[NewOrganisation], clock: Clock
) -> dict[str, int]:
    ids: dict[str, int] = {}
    for batch in _batches(organisations, PAGE_SIZE_MAX):
        with database.write() as session:
            inserted = _insert_batch(session, batch, clock)
        ids.update(zip((new.brn for new in batch), inserted, strict=True))
    return ids


def _certify(session: Session, plan: IntegratorPlan, integrator_id: int, clock: Clock) -> None:
    """The integrator's certification as it stands on the demo's first day."""
    history = _day_clock(plan.certified_on)
    registry_service.apply_for_certification(session, integrator_id, history)
    registry_service.certify(session, integrator_id, until=plan.certified_until, clock=history)
    if plan.standing is Standing.SUSPENDED:
        registry_service.suspend(session, integrator_id, reason=SUSPENSION_REASON, clock=clock)


def _integrators(session: Session, nation: Nation, clock: Clock) -> tuple[int, ...]:
    """Register (on the day they were certified), certify and give a centre login to each."""
    ids = []
    for plan in nation.integrators:
        history = _day_clock(plan.certified_on)
        integrator = registry_service.register_organisation(session, plan.organisation, history)
        _certify(session, plan, integrator.id, clock)
        metering_service.add_centre_user(
            session, integrator_id=integrator.id, username=plan.login, clock=clock
        )
        ids.append(integrator.id)
    return tuple(ids)


def _people(
    session: Session, nation: Nation, org_ids: Mapping[str, int], clock: Clock
) -> tuple[int, ...]:
    return tuple(
        registry_service.add_person(
            session,
            name=person.name,
            email=person.email,
            org_id=org_ids[person.org_brn],
            role=person.role,
            clock=clock,
        ).id
        for person in nation.people
    )


def _consortium(
    session: Session,
    plan: ConsortiumPlan,
    org_ids: Mapping[str, int],
    person_ids: Mapping[str, int],
    clock: Clock,
) -> int:
    new = NewConsortium(plan.name, plan.industry, plan.regions, org_ids[plan.anchor_brn])
    consortium_id = consortia_service.create_consortium(session, new, clock).id
    members = [
        *((MemberRole.SME, org_ids[brn]) for brn in plan.sme_brns),
        *((MemberRole.INTEGRATOR, org_ids[brn]) for brn in plan.integrator_brns),
        *((MemberRole.UNIVERSITY, person_ids[email]) for email in plan.researcher_emails),
    ]
    for role, member_id in members:
        consortia_service.add_member(
            session, consortium_id=consortium_id, role=role, member_id=member_id, clock=clock
        )
    return consortium_id


def _check_day(nation: Nation, clock: Clock) -> None:
    today = registry_service.utc_today(clock)
    if today != nation.start_on:
        raise ValueError(
            f"the nation starts on {nation.start_on.isoformat()},"
            f" but the clock is on {today.isoformat()}"
        )


def load_nation(database: Database, nation: Nation, clock: SimulatedClock) -> Loaded:
    """Register `nation` in `database` on its first day (the clock's); its ids."""
    _check_day(nation, clock)
    firms = [plan.organisation for plan in nation.firms]
    org_ids = _register(database, [*firms, *nation.universities], clock)
    with database.write() as session:
        integrator_ids = _integrators(session, nation, clock)
    org_ids.update(
        zip((p.organisation.brn for p in nation.integrators), integrator_ids, strict=True)
    )
    with database.write() as session:
        person_ids = _people(session, nation, org_ids, clock)
        programme_ids = tuple(
            programme_service.create_programme(session, new, clock).id for new in nation.programmes
        )
        pool_ids = tuple(
            exchange_service.create_pool(session, new, clock).id for new in nation.pools
        )
    researchers = {
        person.email: person_id
        for person, person_id in zip(nation.people, person_ids, strict=True)
        if person.role is PersonRole.RESEARCHER
    }
    with database.write() as session:
        consortium_ids = tuple(
            _consortium(session, plan, org_ids, researchers, clock) for plan in nation.consortia
        )
    return Loaded(
        firm_ids=tuple(org_ids[new.brn] for new in firms),
        integrator_ids=integrator_ids,
        university_ids=tuple(org_ids[new.brn] for new in nation.universities),
        person_ids=person_ids,
        consortium_ids=consortium_ids,
        pool_ids=pool_ids,
        programme_ids=programme_ids,
        centre_logins=tuple(plan.login for plan in nation.integrators),
        org_ids_by_brn=org_ids,
    )
