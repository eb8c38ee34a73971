"""Registry over HTTP: organisations, people, eligibility, certification, conflicts, import,
with the authorisation matrix (each role, own against other organisation) and bad input."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from ccx.auth import Role
from ccx.clock import SimulatedClock
from ccx.db import Database
from ccx.registry import OrgKind, PersonRole, queries, service
from tests.api.client import TestClient, assert_error, bearer, issue_token
from tests.registry_factories import brn, new_org

BILLION = 1_000_000_000


@dataclass(frozen=True)
class World:
    """Two firms and an integrator, and a key for each role (firm and integrator keys own one)."""

    firm: int
    other_firm: int
    integrator: int
    admin: dict[str, str]
    operator: dict[str, str]
    auditor: dict[str, str]
    firm_key: dict[str, str]
    other_firm_key: dict[str, str]
    integrator_key: dict[str, str]


@pytest.fixture
def world(database: Database, clock: SimulatedClock) -> World:
    with database.write() as session:
        firm = service.register_organisation(session, new_org(1), clock).id
        other = service.register_organisation(session, new_org(2), clock).id
        integrator = service.register_organisation(
            session, new_org(3, kind=OrgKind.INTEGRATOR, ksic_code="J62"), clock
        ).id

    def key(role: Role, org_id: int | None = None) -> dict[str, str]:
        return bearer(issue_token(database, clock, role, org_id))

    return World(
        firm=firm,
        other_firm=other,
        integrator=integrator,
        admin=key(Role.ADMIN),
        operator=key(Role.OPERATOR),
        auditor=key(Role.AUDITOR),
        firm_key=key(Role.FIRM, firm),
        other_firm_key=key(Role.FIRM, other),
        integrator_key=key(Role.INTEGRATOR, integrator),
    )


def _body(number: int, **fields: Any) -> dict[str, Any]:
    return {
        "kind": "sme",
        "brn": brn(number),
        "name": f"Firm {number}",
        "region": "KR-46",
        "ksic_code": "C30",
        "sales_3y_avg_krw": 10 * BILLION,
        "total_assets_krw": 5 * BILLION,
        "employees": 30,
        **fields,
    }


# Organisations --------------------------------------------------------------------------------


def test_the_administrator_registers_and_everyone_allowed_reads(
    client: TestClient, world: World
) -> None:
    holder = {"holder_name": "Parent", "share_bp": 3000, "is_corporation": True, "is_largest": True}
    answer = client.post(
        "/api/v1/organisations",
        json=_body(10, founded_on="2020-05-01", shareholders=[holder]),
        headers=world.admin,
    )
    assert answer.status_code == 201, answer.text
    created = answer.json()
    assert created["brn"] == brn(10)
    assert created["in_capital_region"] is False
    assert created["founded_on"] == "2020-05-01"
    assert created["shareholders"][0]["share_bp"] == 3000
    for headers in (world.admin, world.operator, world.auditor):
        shown = client.get(f"/api/v1/organisations/{created['id']}", headers=headers)
        assert shown.json() == created


@pytest.mark.parametrize("who", ["operator", "auditor", "firm_key", "integrator_key"])
def test_only_the_administrator_registers(client: TestClient, world: World, who: str) -> None:
    answer = client.post("/api/v1/organisations", json=_body(10), headers=getattr(world, who))
    assert_error(answer, 403, "forbidden")


def test_firms_and_integrators_read_only_their_own(client: TestClient, world: World) -> None:
    own = client.get(f"/api/v1/organisations/{world.firm}", headers=world.firm_key)
    assert own.status_code == 200
    assert own.json()["id"] == world.firm
    other = client.get(f"/api/v1/organisations/{world.other_firm}", headers=world.firm_key)
    assert_error(other, 403, "forbidden")
    other = client.get(f"/api/v1/organisations/{world.firm}", headers=world.integrator_key)
    assert_error(other, 403, "forbidden")
    missing = client.get("/api/v1/organisations/999", headers=world.auditor)
    assert_error(missing, 404, "organisation_not_found")
    listed = client.get("/api/v1/organisations", headers=world.firm_key).json()
    assert [org["id"] for org in listed["items"]] == [world.firm]
    listed = client.get("/api/v1/organisations?kind=integrator", headers=world.firm_key).json()
    assert listed["items"] == []


def test_the_list_is_paged_and_filtered(client: TestClient, world: World) -> None:
    first = client.get("/api/v1/organisations?limit=2", headers=world.auditor).json()
    assert [org["id"] for org in first["items"]] == [world.firm, world.other_firm]
    rest = client.get(
        f"/api/v1/organisations?limit=2&after_id={first['next_after_id']}", headers=world.auditor
    ).json()
    assert [org["id"] for org in rest["items"]] == [world.integrator]
    assert rest["next_after_id"] is None
    integrators = client.get("/api/v1/organisations?kind=integrator", headers=world.operator)
    assert [org["id"] for org in integrators.json()["items"]] == [world.integrator]
    seoul = client.get("/api/v1/organisations?region=KR-11", headers=world.operator)
    assert seoul.json()["items"] == []


@pytest.mark.parametrize(
    "query", ["limit=0", "limit=1001", "kind=chaebol", "region=KR-99", "after_id=-1"]
)
def test_bad_list_parameters_answer_422(client: TestClient, world: World, query: str) -> None:
    answer = client.get(f"/api/v1/organisations?{query}", headers=world.auditor)
    assert_error(answer, 422, "invalid_request")


def test_every_invalid_field_is_named(client: TestClient, world: World) -> None:
    answer = client.post(
        "/api/v1/organisations",
        json=_body(10, brn="220-81-62518", name="", ksic_code="c3x", contact_email="x@"),
        headers=world.admin,
    )
    error = assert_error(answer, 422, "invalid_input")
    assert [d["field"] for d in error["details"]] == ["brn", "name", "ksic_code", "contact_email"]
    assert "last digit should be 7" in error["details"][0]["message"]


@pytest.mark.parametrize(
    "fields",
    [
        {"sales_3y_avg_krw": "100"},
        {"sales_3y_avg_krw": 1.5},
        {"sales_3y_avg_krw": -1},
        {"total_assets_krw": 2**63},
        {"kind": "chaebol"},
        {"region": "Seoul"},
        {"founded_on": "yesterday"},
        {"shareholders": [{"holder_name": "A", "share_bp": 10_001}]},
        {"colour": "blue"},
        {"name": "x" * 1001},
    ],
)
def test_malformed_bodies_answer_422(
    client: TestClient, world: World, fields: dict[str, Any]
) -> None:
    answer = client.post("/api/v1/organisations", json=_body(10, **fields), headers=world.admin)
    assert_error(answer, 422, "invalid_request")


def test_a_duplicate_number_answers_409(client: TestClient, world: World) -> None:
    answer = client.post("/api/v1/organisations", json=_body(1), headers=world.admin)
    error = assert_error(answer, 409, "duplicate_organisation")
    assert "registered already" in error["message"]


# Eligibility ----------------------------------------------------------------------------------


def test_eligibility_with_reasons(client: TestClient, world: World) -> None:
    created = client.post(
        "/api/v1/organisations",
        json=_body(10, sales_3y_avg_krw=121 * BILLION, business_group="LG"),
        headers=world.admin,
    ).json()
    answer = client.get(
        f"/api/v1/organisations/{created['id']}/eligibility?on=2026-03-01", headers=world.auditor
    )
    assert answer.status_code == 200
    assert answer.json() == {
        "org_id": created["id"],
        "on": "2026-03-01",
        "eligible": False,
        "reasons": [
            "3-year average sales 121,000,000,000 KRW exceed the cap of 120,000,000,000 KRW for"
            " KSIC C30",
            "affiliate of business group 'LG'",
        ],
        "rules_version": "sme-2025-09-01",
        "size_class": "medium",
    }


def test_a_firm_checks_its_own_eligibility_today(client: TestClient, world: World) -> None:
    answer = client.get(f"/api/v1/organisations/{world.firm}/eligibility", headers=world.firm_key)
    assert answer.json()["eligible"] is True
    assert answer.json()["on"] == "2026-01-01"
    other = client.get(
        f"/api/v1/organisations/{world.other_firm}/eligibility", headers=world.firm_key
    )
    assert_error(other, 403, "forbidden")


def test_eligibility_before_the_rules_answers_422(client: TestClient, world: World) -> None:
    answer = client.get(
        f"/api/v1/organisations/{world.firm}/eligibility?on=2020-01-01", headers=world.admin
    )
    assert_error(answer, 422, "rules_not_in_force")
    answer = client.get(
        f"/api/v1/organisations/{world.firm}/eligibility?on=2020-13-01", headers=world.admin
    )
    assert_error(answer, 422, "invalid_request")


# People ---------------------------------------------------------------------------------------


def test_people_are_added_by_the_administrator_and_read_by_their_organisation(
    client: TestClient, world: World
) -> None:
    body = {"name": "Kim", "email": "kim@firm.kr", "org_id": world.firm, "role": "officer"}
    created = client.post("/api/v1/people", json=body, headers=world.admin)
    assert created.status_code == 201, created.text
    again = client.post("/api/v1/people", json=body, headers=world.admin)
    assert_error(again, 409, "duplicate_person")
    assert_error(client.post("/api/v1/people", json=body, headers=world.firm_key), 403, "forbidden")
    missing = client.post("/api/v1/people", json=body | {"org_id": 999}, headers=world.admin)
    assert_error(missing, 404, "organisation_not_found")
    bad = client.post("/api/v1/people", json=body | {"email": "kim"}, headers=world.admin)
    assert_error(bad, 422, "invalid_input")
    bad = client.post("/api/v1/people", json=body | {"role": "boss"}, headers=world.admin)
    assert_error(bad, 422, "invalid_request")

    own = client.get("/api/v1/people", headers=world.firm_key).json()
    assert [p["email"] for p in own["items"]] == ["kim@firm.kr"]
    assert client.get("/api/v1/people", headers=world.other_firm_key).json()["items"] == []
    other = client.get(f"/api/v1/people?org_id={world.firm}", headers=world.other_firm_key)
    assert_error(other, 403, "forbidden")
    everyone = client.get(f"/api/v1/people?org_id={world.firm}", headers=world.auditor).json()
    assert everyone["items"] == own["items"]


# Certification --------------------------------------------------------------------------------


def _post(
    client: TestClient, world: World, action: str, headers: dict[str, str], **body: str
) -> Any:
    return client.post(
        f"/api/v1/integrators/{world.integrator}/certification/{action}",
        json=body or None,
        headers=headers,
    )


def test_the_certification_lifecycle(client: TestClient, world: World) -> None:
    applied = _post(client, world, "apply", world.integrator_key)
    assert applied.status_code == 201, applied.text
    assert applied.json()["status"] == "applied"
    certified = _post(client, world, "certify", world.admin, until="2026-12-31")
    assert certified.status_code == 200, certified.text
    assert certified.json()["valid_today"] is True
    suspended = _post(client, world, "suspend", world.admin, reason="late reports")
    assert suspended.json()["valid_today"] is False
    _post(client, world, "certify", world.admin, until="2027-06-30")
    renewed = _post(client, world, "renew", world.admin, until="2028-06-30")
    assert renewed.json()["certified_until"] == "2028-06-30"
    revoked = _post(client, world, "revoke", world.admin, reason="kickbacks")
    history = revoked.json()["history"]
    assert [(e["status"], e["reason"]) for e in history] == [
        ("applied", "application"),
        ("certified", "certification"),
        ("suspended", "late reports"),
        ("certified", "certification"),
        ("certified", "renewal"),
        ("revoked", "kickbacks"),
    ]
    illegal = _post(client, world, "certify", world.admin, until="2029-01-01")
    error = assert_error(illegal, 409, "illegal_transition")
    assert error["message"].endswith("its certification is revoked")


def test_who_may_apply_decide_and_read(client: TestClient, world: World) -> None:
    assert_error(_post(client, world, "apply", world.firm_key), 403, "forbidden")
    assert_error(_post(client, world, "apply", world.auditor), 403, "forbidden")
    path = f"/api/v1/integrators/{world.integrator}/certification"
    assert_error(client.get(path, headers=world.auditor), 404, "certification_not_found")
    assert _post(client, world, "apply", world.admin).status_code == 201
    for who in ("operator", "auditor", "firm_key", "integrator_key"):
        decided = _post(client, world, "certify", getattr(world, who), until="2026-12-31")
        assert_error(decided, 403, "forbidden")
    for who in ("admin", "operator", "auditor", "firm_key", "integrator_key"):
        assert client.get(path, headers=getattr(world, who)).status_code == 200
    foreign = client.get(
        f"/api/v1/integrators/{world.firm}/certification", headers=world.integrator_key
    )
    assert_error(foreign, 403, "forbidden")


def test_certification_bad_input(client: TestClient, world: World) -> None:
    not_integrator = client.post(
        f"/api/v1/integrators/{world.firm}/certification/apply", headers=world.admin
    )
    assert_error(not_integrator, 422, "not_an_integrator")
    missing = client.post("/api/v1/integrators/999/certification/apply", headers=world.admin)
    assert_error(missing, 404, "organisation_not_found")
    _post(client, world, "apply", world.admin)
    assert_error(
        _post(client, world, "certify", world.admin, until="2025-01-01"), 422, "invalid_input"
    )
    assert_error(_post(client, world, "certify", world.admin, until="soon"), 422, "invalid_request")
    assert_error(_post(client, world, "certify", world.admin), 422, "invalid_request")
    _post(client, world, "certify", world.admin, until="2026-12-31")
    assert_error(_post(client, world, "suspend", world.admin, reason=" "), 422, "invalid_input")


# Conflicts ------------------------------------------------------------------------------------


def test_conflicts_are_for_read_all_roles(
    client: TestClient, world: World, database: Database, clock: SimulatedClock
) -> None:
    with database.write() as session:
        for org_id in (world.firm, world.integrator):
            service.add_person(
                session,
                name="Choi",
                email="choi@x.kr",
                org_id=org_id,
                role=PersonRole.OFFICER,
                clock=clock,
            )
    path = f"/api/v1/integrators/{world.integrator}/conflicts?firm_id={world.firm}"
    answer = client.get(path, headers=world.auditor)
    assert answer.json() == {
        "firm_id": world.firm,
        "integrator_id": world.integrator,
        "related": True,
        "reasons": ["shared officer choi@x.kr"],
    }
    unrelated = client.get(
        f"/api/v1/integrators/{world.integrator}/conflicts?firm_id={world.other_firm}",
        headers=world.admin,
    )
    assert unrelated.json()["related"] is False
    assert_error(client.get(path, headers=world.firm_key), 403, "forbidden")
    missing = client.get(
        f"/api/v1/integrators/999/conflicts?firm_id={world.firm}", headers=world.admin
    )
    assert_error(missing, 404, "organisation_not_found")
    no_firm = client.get(f"/api/v1/integrators/{world.integrator}/conflicts", headers=world.admin)
    assert_error(no_firm, 422, "invalid_request")


# Import ---------------------------------------------------------------------------------------

CSV = "kind,brn,name,region,ksic_code\n"


def _import(client: TestClient, headers: dict[str, str], text: str | bytes, **extra: str) -> Any:
    return client.post(
        "/api/v1/organisations/import",
        content=text,
        headers=headers | {"Content-Type": "text/csv; charset=utf-8"} | extra,
    )


def test_a_csv_file_imports_all_rows(client: TestClient, world: World, database: Database) -> None:
    text = CSV + f"sme,{brn(20)},A,KR-11,J62\nintegrator,{brn(21)},B,KR-46,J63\n"
    answer = _import(client, world.admin, text)
    assert answer.status_code == 201, answer.text
    assert answer.json()["rows"] == 2
    with database.read() as session:
        names = [
            queries.require_organisation(session, i).name for i in answer.json()["imported_ids"]
        ]
    assert names == ["A", "B"]


def test_a_csv_file_with_errors_imports_nothing(
    client: TestClient, world: World, database: Database
) -> None:
    text = CSV + f"sme,{brn(20)},A,KR-11,J62\nsme,{brn(1)},B,KR-11,J62\nsme,123,,KR-1,9\n"
    answer = _import(client, world.admin, text)
    error = assert_error(answer, 422, "import_rejected")
    assert error["message"] == "5 problem(s) found; nothing was imported"
    assert [(d["row"], d["column"]) for d in error["details"]] == [
        (3, "brn"),
        (4, "region"),
        (4, "brn"),
        (4, "name"),
        (4, "ksic_code"),
    ]
    with database.read() as session:
        assert queries.get_organisation_by_brn(session, brn(20)) is None


def test_import_refuses_what_is_not_a_utf8_csv(client: TestClient, world: World) -> None:
    wrong_type = client.post("/api/v1/organisations/import", json={"rows": []}, headers=world.admin)
    assert_error(wrong_type, 415, "unsupported_media_type")
    latin = _import(client, world.admin, (CSV + "sme,1,Café,KR-11,J\n").encode("latin-1"))
    assert_error(latin, 422, "not_utf8")
    huge = _import(client, world.admin, b"x" * (16 * 1024 * 1024 + 1))
    assert_error(huge, 413, "too_large")
    assert_error(_import(client, world.auditor, CSV), 403, "forbidden")
    assert_error(_import(client, {}, CSV), 401, "not_authenticated")


# The authorisation matrix --------------------------------------------------------------------

READERS = {
    "admin": 200,
    "operator": 200,
    "auditor": 200,
    "firm_key": 200,
    "other_firm_key": 403,
    "integrator_key": 403,
}


@pytest.mark.parametrize("who", sorted(READERS))
@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/organisations/{firm}",
        "/api/v1/organisations/{firm}/eligibility",
        "/api/v1/people?org_id={firm}",
    ],
)
def test_reading_a_firm(client: TestClient, world: World, who: str, path: str) -> None:
    answer = client.get(path.format(firm=world.firm), headers=getattr(world, who))
    assert answer.status_code == READERS[who], answer.text


@pytest.mark.parametrize("who", ["operator", "auditor", "firm_key", "integrator_key"])
def test_every_registry_write_is_the_administrators(
    client: TestClient, world: World, who: str
) -> None:
    headers = getattr(world, who)
    person = {"name": "A", "email": "a@b.kr", "org_id": world.firm, "role": "staff"}
    assert_error(client.post("/api/v1/people", json=person, headers=headers), 403, "forbidden")
    assert_error(_import(client, headers, CSV), 403, "forbidden")
    for action, body in (
        ("certify", {"until": "2026-12-31"}),
        ("renew", {"until": "2026-12-31"}),
        ("suspend", {"reason": "x"}),
        ("revoke", {"reason": "x"}),
    ):
        answer = _post(client, world, action, headers, **body)
        assert_error(answer, 403, "forbidden")
