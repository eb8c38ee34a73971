"""Bulk registration of organisations from CSV: every row checked first, then all or nothing.

Rows are numbered as a spreadsheet numbers them: the header is row 1, the first organisation
row 2. Columns (docs/registry.md has the full description):

    kind, brn, name, region, ksic_code            required
    address, contact_email, sales_3y_avg_krw, total_assets_krw, employees, founded_on,
    youth_led, business_group, shareholders       optional (empty = not declared)

``shareholders`` holds ``name|brn|share_bp|is_corporation|assets_krw|largest`` entries
separated by ``;``.
"""

from __future__ import annotations

import csv
import io
import itertools
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date

from sqlalchemy.orm import Session

from ccx.clock import Clock
from ccx.registry.brn import format_brn
from ccx.registry.errors import InvalidInputError
from ccx.registry.queries import PAGE_SIZE_MAX, registered_brns
from ccx.registry.service import insert_organisation, utc_today
from ccx.registry.types import NewOrganisation, OrgKind, Region, Shareholder
from ccx.registry.validation import normalise_organisation

ROWS_MAX = 10_000
FIRST_ROW = 2  # the header is row 1
REQUIRED_COLUMNS = ("kind", "brn", "name", "region", "ksic_code")
OPTIONAL_COLUMNS = (
    "address",
    "contact_email",
    "sales_3y_avg_krw",
    "total_assets_krw",
    "employees",
    "founded_on",
    "youth_led",
    "business_group",
    "shareholders",
)
COLUMNS = REQUIRED_COLUMNS + OPTIONAL_COLUMNS
SHAREHOLDER_FIELDS = ("name", "brn", "share_bp", "is_corporation", "assets_krw", "largest")
_INTEGER = re.compile(r"-?[0-9]{1,20}")
_TRUE = frozenset({"true", "yes", "y", "1"})
_FALSE = frozenset({"false", "no", "n", "0", ""})


@dataclass(frozen=True, slots=True)
class RowError:
    """One problem in one cell (`column` is empty for a problem with the whole row or file)."""

    row: int
    column: str
    message: str

    def __str__(self) -> str:
        where = f"row {self.row}" + (f", column {self.column}" if self.column else "")
        return f"{where}: {self.message}"


@dataclass(frozen=True, slots=True)
class ImportReport:
    """What an import did: the new organisations' ids, or the errors (and nothing imported)."""

    rows: int
    imported_ids: tuple[int, ...]
    errors: tuple[RowError, ...]

    @property
    def ok(self) -> bool:
        return not self.errors


class _Row:
    """Parses the cells of one row, collecting an error per bad cell."""

    def __init__(self, number: int, cells: Mapping[str, str]) -> None:
        self.number = number
        self.cells = cells
        self.errors: list[RowError] = []

    def error(self, column: str, message: str) -> None:
        self.errors.append(RowError(self.number, column, message))

    def text(self, column: str) -> str:
        return self.cells.get(column) or ""

    def integer(self, column: str, value: str | None = None) -> int | None:
        raw = (self.text(column) if value is None else value).strip()
        if not raw:
            return None
        if not _INTEGER.fullmatch(raw):
            self.error(column, f"{raw!r} is not a whole number (digits only, e.g. 1200000000)")
            return None
        return int(raw)

    def boolean(self, column: str, value: str | None = None) -> bool:
        raw = (self.text(column) if value is None else value).strip().lower()
        if raw not in _TRUE | _FALSE:
            self.error(column, f"{raw!r} is not true or false (yes/no, 1/0)")
        return raw in _TRUE

    def day(self, column: str) -> date | None:
        raw = self.text(column).strip()
        if not raw:
            return None
        try:
            return date.fromisoformat(raw)
        except ValueError:
            self.error(column, f"{raw!r} is not a date (YYYY-MM-DD)")
            return None

    def kind(self) -> OrgKind:
        raw = self.text("kind").strip().lower()
        try:
            return OrgKind(raw)
        except ValueError:
            self.error("kind", f"{raw!r} is not one of {', '.join(k.value for k in OrgKind)}")
            return OrgKind.SME

    def region(self) -> Region:
        raw = self.text("region").strip().upper()
        try:
            return Region(raw)
        except ValueError:
            self.error("region", f"{raw!r} is not an ISO 3166-2:KR code (KR-11 ... KR-50)")
            return Region.SEOUL

    def shareholder(self, entry: str) -> Shareholder | None:
        parts = entry.split("|")
        if len(parts) != len(SHAREHOLDER_FIELDS):
            self.error(
                "shareholders",
                f"{entry!r} must have {len(SHAREHOLDER_FIELDS)} parts:"
                f" {'|'.join(SHAREHOLDER_FIELDS)}",
            )
            return None
        name, brn, share_bp, is_corporation, assets, largest = (part.strip() for part in parts)
        share = self.integer("shareholders", share_bp)
        if not share_bp:
            self.error("shareholders", f"{entry!r} needs a share in basis points")
        return Shareholder(
            holder_name=name,
            share_bp=share or 0,
            is_corporation=self.boolean("shareholders", is_corporation),
            holder_brn=brn or None,
            holder_total_assets_krw=self.integer("shareholders", assets),
            is_largest=self.boolean("shareholders", largest),
        )

    def shareholders(self) -> tuple[Shareholder, ...]:
        entries = [entry for entry in self.text("shareholders").split(";") if entry.strip()]
        parsed = (self.shareholder(entry) for entry in entries)
        return tuple(holder for holder in parsed if holder is not None)

    def organisation(self) -> NewOrganisation:
        return NewOrganisation(
            kind=self.kind(),
            brn=self.text("brn"),
            name=self.text("name"),
            region=self.region(),
            ksic_code=self.text("ksic_code"),
            address=self.text("address"),
            contact_email=self.text("contact_email"),
            sales_3y_avg_krw=self.integer("sales_3y_avg_krw"),
            total_assets_krw=self.integer("total_assets_krw"),
            employees=self.integer("employees"),
            founded_on=self.day("founded_on"),
            youth_led=self.boolean("youth_led"),
            business_group=self.text("business_group") or None,
            shareholders=self.shareholders(),
        )


def parse_shareholders(text: str) -> tuple[tuple[Shareholder, ...], list[str]]:
    """Shareholders written in the compact CSV form, and what is wrong with them."""
    row = _Row(0, {"shareholders": text})
    holders = row.shareholders()
    return holders, [error.message for error in row.errors]


def _column_of(field: str) -> str:
    return "shareholders" if field.startswith("shareholders") else field


def _check_row(number: int, cells: Mapping[str, str], today: date) -> NewOrganisation | _Row:
    """The row's organisation, checked and cleaned, or the row with its errors."""
    row = _Row(number, cells)
    unknown = sorted(str(column) for column in cells if column not in COLUMNS)
    if unknown:
        row.error("", f"unknown columns {', '.join(unknown)}")
    organisation = row.organisation()
    unreadable = {error.column for error in row.errors}
    try:
        clean = normalise_organisation(organisation, today=today)
    except InvalidInputError as error:
        for problem in error.problems:
            if _column_of(problem.field) in unreadable:
                continue  # the stand-in for an unreadable cell says nothing more
            message = problem.message
            if problem.field.startswith("shareholders["):
                message = f"{problem.field}: {message}"
            row.error(_column_of(problem.field), message)
        return row
    return row if row.errors else clean


def _duplicates(session: Session, checked: list[tuple[int, NewOrganisation]]) -> list[RowError]:
    errors = []
    first_row: dict[str, int] = {}
    for number, organisation in checked:
        if organisation.brn in first_row:
            errors.append(
                RowError(number, "brn", f"same number as row {first_row[organisation.brn]}")
            )
        first_row.setdefault(organisation.brn, number)
    brns = list(first_row)
    taken: set[str] = set()
    for start in range(0, len(brns), PAGE_SIZE_MAX):
        taken |= registered_brns(session, brns[start : start + PAGE_SIZE_MAX])
    errors += [
        RowError(number, "brn", f"{format_brn(organisation.brn)} is registered already")
        for number, organisation in checked
        if organisation.brn in taken and first_row[organisation.brn] == number
    ]
    return errors


def import_organisations(
    session: Session, rows: Iterable[Mapping[str, str]], clock: Clock
) -> ImportReport:
    """Check every row (at most ROWS_MAX); register them all if none has an error, else none.

    The first row is numbered 2 (after a header row) in errors."""
    return _import_numbered(session, enumerate(rows, start=FIRST_ROW), clock)


def _import_numbered(
    session: Session, rows: Iterable[tuple[int, Mapping[str, str]]], clock: Clock
) -> ImportReport:
    bounded = list(itertools.islice(rows, ROWS_MAX + 1))
    if len(bounded) > ROWS_MAX:
        error = RowError(bounded[-1][0], "", f"a file holds at most {ROWS_MAX:,} rows")
        return ImportReport(rows=len(bounded), imported_ids=(), errors=(error,))
    today = utc_today(clock)
    checked: list[tuple[int, NewOrganisation]] = []
    errors: list[RowError] = []
    for number, cells in bounded:
        result = _check_row(number, cells, today)
        if isinstance(result, _Row):
            errors += result.errors
        else:
            checked.append((number, result))
    errors += _duplicates(session, checked)
    if errors:
        errors.sort(key=lambda error: error.row)
        return ImportReport(rows=len(bounded), imported_ids=(), errors=tuple(errors))
    ids = tuple(insert_organisation(session, clean, clock) for _, clean in checked)
    return ImportReport(rows=len(bounded), imported_ids=ids, errors=())


def _header_errors(header: list[str]) -> list[RowError]:
    errors = [
        RowError(1, column, "required column is missing")
        for column in REQUIRED_COLUMNS
        if column not in header
    ]
    repeated = sorted({column for column in header if header.count(column) > 1})
    errors += [RowError(1, column, "column appears twice") for column in repeated]
    unknown = [column for column in header if column not in COLUMNS]
    if unknown:
        errors.append(
            RowError(1, "", f"unknown columns {', '.join(unknown)}; known: {', '.join(COLUMNS)}")
        )
    return errors


def read_csv(text: str) -> tuple[list[tuple[int, dict[str, str]]], list[RowError]]:
    """The numbered rows of a CSV text with a header row (blank rows left out), or the errors
    that stop it being read."""
    reader = csv.reader(io.StringIO(text.removeprefix("\ufeff"), newline=""))
    try:
        header = [column.strip() for column in next(reader, [])]
        if not header:
            return [], [RowError(1, "", "the file is empty: it needs a header row")]
        errors = _header_errors(header)
        rows: list[tuple[int, dict[str, str]]] = []
        for number, cells in enumerate(reader, start=FIRST_ROW):
            if len(rows) > ROWS_MAX:
                break  # the import reports the excess
            if not any(cell.strip() for cell in cells):
                continue
            if len(cells) != len(header):
                message = f"has {len(cells)} fields, the header {len(header)}"
                errors.append(RowError(number, "", message))
            rows.append((number, dict(zip(header, cells, strict=False))))
    except csv.Error as error:
        return [], [RowError(reader.line_num, "", f"not readable as CSV: {error}")]
    return rows, errors


def import_csv(session: Session, text: str, clock: Clock) -> ImportReport:
    """Read and import a CSV text (UTF-8, header row first); all rows or none."""
    rows, errors = read_csv(text)
    if errors:
        return ImportReport(rows=len(rows), imported_ids=(), errors=tuple(errors))
    return _import_numbered(session, rows, clock)
