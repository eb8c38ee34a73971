"""CSV import of organisations: all rows or none, every error reported by row and column."""

from __future__ import annotations

import pytest

from ccx.clock import SimulatedClock
from ccx.db import Database
from ccx.registry import Shareholder, format_brn, queries, service
from ccx.registry.importer import (
    ROWS_MAX,
    ImportReport,
    RowError,
    import_csv,
    import_organisations,
)
from tests.registry_factories import brn, new_org

HEADER = (
    "kind,brn,name,region,ksic_code,address,contact_email,sales_3y_avg_krw,total_assets_krw,"
    "employees,founded_on,youth_led,business_group,shareholders"
)


def _line(number: int, **cells: str) -> str:
    values = {
        "kind": "sme",
        "brn": format_brn(brn(number)),
        "name": f"Firm {number}",
        "region": "KR-46",
        "ksic_code": "C26",
        "address": f'"{number} Solaseado-ro, Haenam"',
        "contact_email": f"ceo{number}@firm.kr",
        "sales_3y_avg_krw": "5000000000",
        "total_assets_krw": "3000000000",
        "employees": "20",
        "founded_on": "2019-03-01",
        "youth_led": "no",
        "business_group": "",
        "shareholders": "",
    } | cells
    return ",".join(values.values())


def _csv(*lines: str) -> str:
    return "\n".join([HEADER, *lines]) + "\n"


def _import(database: Database, clock: SimulatedClock, text: str) -> ImportReport:
    with database.write() as session:
        return import_csv(session, text, clock)


def _count(database: Database) -> int:
    with database.read() as session:
        return len(queries.list_organisations(session, limit=1000))


def test_a_clean_file_registers_every_row(database: Database, clock: SimulatedClock) -> None:
    holders = f'"Kim Minsu||6000|no||yes;Parent Co|{brn(9)}|4000|yes|600000000000|no"'
    text = _csv(
        _line(1, shareholders=holders),
        _line(2, kind="INTEGRATOR", ksic_code="j62", region="kr-11", youth_led="yes"),
        _line(3, sales_3y_avg_krw="", total_assets_krw="", employees="", founded_on=""),
    )
    report = _import(database, clock, "\ufeff" + text)  # a byte-order mark, as Excel writes
    assert report.ok
    assert report.rows == 3
    with database.read() as session:
        first, second, third = [
            queries.require_organisation(session, org_id) for org_id in report.imported_ids
        ]
    assert [first.name, second.name, third.name] == ["Firm 1", "Firm 2", "Firm 3"]
    assert first.address == "1 Solaseado-ro, Haenam"
    assert first.shareholders == (
        Shareholder("Kim Minsu", 6000, is_largest=True),
        Shareholder("Parent Co", 4000, True, brn(9), 600_000_000_000),
    )
    assert (second.kind.value, second.ksic_code, second.region.value) == (
        "integrator",
        "J62",
        "KR-11",
    )
    assert second.youth_led
    assert (third.sales_3y_avg_krw, third.employees, third.founded_on) == (None, None, None)


def test_one_bad_row_rejects_the_whole_file(database: Database, clock: SimulatedClock) -> None:
    text = _csv(
        _line(1),
        _line(2, brn="220-81-62518", region="KR-99", sales_3y_avg_krw="12e9"),
        _line(3),
        _line(4, kind="chaebol", founded_on="2019-02-30", youth_led="maybe", employees="-3"),
        _line(5, shareholders='"A|x|50|no||no"', contact_email="nobody"),
        _line(6, shareholders='"A||6000|no||no;B||5000|no||no"'),
        _line(7, shareholders='"A|B"'),
    )
    report = _import(database, clock, text)
    assert not report.ok
    assert report.imported_ids == ()
    assert [(e.row, e.column) for e in report.errors] == [
        (3, "region"),
        (3, "sales_3y_avg_krw"),
        (3, "brn"),
        (5, "kind"),
        (5, "founded_on"),
        (5, "youth_led"),
        (5, "employees"),
        (6, "contact_email"),
        (6, "shareholders"),
        (7, "shareholders"),
        (8, "shareholders"),
    ]
    messages = {(e.row, e.column): e.message for e in report.errors}
    assert "fails its check digit (last digit should be 7)" in messages[3, "brn"]
    assert (
        messages[3, "sales_3y_avg_krw"]
        == "'12e9' is not a whole number (digits only, e.g. 1200000000)"
    )
    assert messages[5, "founded_on"] == "'2019-02-30' is not a date (YYYY-MM-DD)"
    assert messages[6, "shareholders"].startswith(
        "shareholders[1].brn: business registration number 'x'"
    )
    assert messages[7, "shareholders"] == "shares add up to 11000 basis points, over 10000"
    assert "must have 6 parts" in messages[8, "shareholders"]
    assert _count(database) == 0


def test_each_shareholder_part_is_checked(database: Database, clock: SimulatedClock) -> None:
    report = _import(database, clock, _csv(_line(1, shareholders='"A||x|maybe||no;B|||no|-|no"')))
    assert [(e.column, e.message) for e in report.errors] == [
        ("shareholders", "'x' is not a whole number (digits only, e.g. 1200000000)"),
        ("shareholders", "'maybe' is not true or false (yes/no, 1/0)"),
        ("shareholders", "'B|||no|-|no' needs a share in basis points"),
        ("shareholders", "'-' is not a whole number (digits only, e.g. 1200000000)"),
    ]


def test_duplicates_in_the_file_and_in_the_registry(
    database: Database, clock: SimulatedClock
) -> None:
    with database.write() as session:
        service.register_organisation(session, new_org(1), clock)
    report = _import(database, clock, _csv(_line(1), _line(2), _line(3), _line(2), _line(3)))
    assert report.errors == (
        RowError(2, "brn", f"{format_brn(brn(1))} is registered already"),
        RowError(5, "brn", "same number as row 3"),
        RowError(6, "brn", "same number as row 4"),
    )
    assert _count(database) == 1


@pytest.mark.parametrize(
    ("text", "errors"),
    [
        pytest.param("", [RowError(1, "", "the file is empty: it needs a header row")], id="empty"),
        pytest.param(
            "kind,name,region,shareholders,colour\n",
            [
                RowError(1, "brn", "required column is missing"),
                RowError(1, "ksic_code", "required column is missing"),
                RowError(
                    1,
                    "",
                    "unknown columns colour; known: kind, brn, name, region, ksic_code, address,"
                    " contact_email, sales_3y_avg_krw, total_assets_krw, employees, founded_on,"
                    " youth_led, business_group, shareholders",
                ),
            ],
            id="header",
        ),
        pytest.param(
            "kind,brn,name,region,ksic_code,name\n",
            [RowError(1, "name", "column appears twice")],
            id="repeated-column",
        ),
        pytest.param(
            "kind,brn,name,region,ksic_code\nsme,1,2\nsme,1,2,3,4,5\n",
            [
                RowError(2, "", "has 3 fields, the header 5"),
                RowError(3, "", "has 6 fields, the header 5"),
            ],
            id="ragged-rows",
        ),
    ],
)
def test_a_file_that_cannot_be_read_is_refused_whole(
    database: Database, clock: SimulatedClock, text: str, errors: list[RowError]
) -> None:
    report = _import(database, clock, text)
    assert list(report.errors) == errors
    assert _count(database) == 0


def test_blank_lines_are_skipped_and_rows_keep_their_numbers(
    database: Database, clock: SimulatedClock
) -> None:
    report = _import(database, clock, _csv(_line(1), "", ",,,,,,,,,,,,,", _line(2, name="")))
    assert report.errors == (RowError(5, "name", "must not be empty"),)


def test_a_file_holds_at_most_ten_thousand_rows(database: Database, clock: SimulatedClock) -> None:
    rows = ({"kind": "sme"} for _ in range(ROWS_MAX + 5))
    with database.write() as session:
        report = import_organisations(session, rows, clock)
    assert report.errors == (RowError(ROWS_MAX + 2, "", "a file holds at most 10,000 rows"),)
    assert _count(database) == 0


def test_unknown_keys_in_a_row_are_reported(database: Database, clock: SimulatedClock) -> None:
    row = {"kind": "sme", "brn": brn(1), "name": "A", "region": "KR-11", "ksic_code": "J", "x": "1"}
    with database.write() as session:
        report = import_organisations(session, [row], clock)
    assert report.errors == (RowError(2, "", "unknown columns x"),)


def test_a_thousand_rows_import_in_one_go(database: Database, clock: SimulatedClock) -> None:
    report = _import(database, clock, _csv(*(_line(n) for n in range(1, 1_201))))
    assert report.ok
    assert len(report.imported_ids) == 1_200
    with database.read() as session:
        assert len(queries.list_organisations(session, limit=1000)) == 1000
