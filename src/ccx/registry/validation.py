"""Checks on what is registered: every problem of an input is collected, each with its field."""

from __future__ import annotations

import re
from datetime import date

from ccx.registry.brn import validate_brn
from ccx.registry.errors import FieldProblem, InvalidBrnError, InvalidInputError
from ccx.registry.types import NewOrganisation, Shareholder

NAME_CHARS_MAX = 200
ADDRESS_CHARS_MAX = 300
EMAIL_CHARS_MAX = 254
GROUP_CHARS_MAX = 100
REASON_CHARS_MAX = 500
SHAREHOLDERS_MAX = 100
SHARE_BP_TOTAL = 10_000
KRW_MAX = 2**63 - 1  # a signed 64-bit column
EMPLOYEES_MAX = 2**31 - 1  # a signed 32-bit column

KSIC_PATTERN = re.compile(r"[A-U][0-9]{0,5}")
_EMAIL_PATTERN = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")


class _Problems:
    """Collects the problems of one input."""

    def __init__(self) -> None:
        self.items: list[FieldProblem] = []

    def add(self, field: str, message: str) -> None:
        self.items.append(FieldProblem(field, message))

    def raise_any(self) -> None:
        if self.items:
            raise InvalidInputError(self.items)


_CONTROL_CHARS = re.compile(r"[\x00-\x1f\x7f]")


def _text(problems: _Problems, field: str, value: str, *, chars_max: int, required: bool) -> str:
    text = value.strip()
    if required and not text:
        problems.add(field, "must not be empty")
    if len(text) > chars_max:
        problems.add(field, f"must be at most {chars_max} characters, not {len(text)}")
    if _CONTROL_CHARS.search(text):
        problems.add(field, "must not contain control characters")
    return text


def _brn(problems: _Problems, field: str, value: str) -> str:
    try:
        return validate_brn(value)
    except InvalidBrnError as error:
        problems.add(field, str(error))
        return value


def _email(problems: _Problems, field: str, value: str) -> str:
    email = value.strip().lower()
    if (
        len(email) > EMAIL_CHARS_MAX
        or not _EMAIL_PATTERN.fullmatch(email)
        or _CONTROL_CHARS.search(email)
    ):
        problems.add(field, f"{value!r} is not an email address (user@example.kr)")
    return email


def _amount(problems: _Problems, field: str, value: int | None, *, maximum: int) -> None:
    if value is not None and not 0 <= value <= maximum:
        problems.add(field, f"must be between 0 and {maximum:,}, not {value:,}")


def _shareholder(problems: _Problems, number: int, holder: Shareholder) -> Shareholder:
    field = f"shareholders[{number}]"
    name = _text(
        problems, f"{field}.name", holder.holder_name, chars_max=NAME_CHARS_MAX, required=True
    )
    if not 0 < holder.share_bp <= SHARE_BP_TOTAL:
        problems.add(f"{field}.share_bp", f"must be 1 to 10000 basis points, not {holder.share_bp}")
    _amount(problems, f"{field}.assets_krw", holder.holder_total_assets_krw, maximum=KRW_MAX)
    brn = holder.holder_brn
    if brn is not None:
        brn = _brn(problems, f"{field}.brn", brn)
    return Shareholder(
        holder_name=name,
        share_bp=holder.share_bp,
        is_corporation=holder.is_corporation,
        holder_brn=brn,
        holder_total_assets_krw=holder.holder_total_assets_krw,
        is_largest=holder.is_largest,
    )


def _shareholders(problems: _Problems, holders: tuple[Shareholder, ...]) -> tuple[Shareholder, ...]:
    if len(holders) > SHAREHOLDERS_MAX:
        problems.add("shareholders", f"at most {SHAREHOLDERS_MAX} major shareholders")
        return holders
    cleaned = tuple(_shareholder(problems, n, h) for n, h in enumerate(holders, start=1))
    total_bp = sum(holder.share_bp for holder in holders)
    if total_bp > SHARE_BP_TOTAL:
        problems.add("shareholders", f"shares add up to {total_bp} basis points, over 10000")
    largest = [holder for holder in holders if holder.is_largest]
    if len(largest) > 1:
        problems.add("shareholders", "at most one shareholder can be the largest")
    elif largest and any(holder.share_bp > largest[0].share_bp for holder in holders):
        problems.add("shareholders", "the shareholder marked largest holds less than another")
    return cleaned


def normalise_organisation(new: NewOrganisation, *, today: date) -> NewOrganisation:
    """`new` cleaned up (trimmed, BRN digits only, KSIC upper case, email lower case), or
    InvalidInputError listing every problem."""
    problems = _Problems()
    brn = _brn(problems, "brn", new.brn)
    name = _text(problems, "name", new.name, chars_max=NAME_CHARS_MAX, required=True)
    ksic = new.ksic_code.strip().upper()
    if not KSIC_PATTERN.fullmatch(ksic):
        problems.add("ksic_code", f"{new.ksic_code!r} is not a KSIC code (A-U and up to 5 digits)")
    email = new.contact_email.strip()
    if email:
        email = _email(problems, "contact_email", email)
    _amount(problems, "sales_3y_avg_krw", new.sales_3y_avg_krw, maximum=KRW_MAX)
    _amount(problems, "total_assets_krw", new.total_assets_krw, maximum=KRW_MAX)
    _amount(problems, "employees", new.employees, maximum=EMPLOYEES_MAX)
    if new.founded_on is not None and new.founded_on > today:
        problems.add("founded_on", f"{new.founded_on.isoformat()} is in the future")
    group = _text(
        problems,
        "business_group",
        new.business_group or "",
        chars_max=GROUP_CHARS_MAX,
        required=False,
    )
    cleaned = NewOrganisation(
        kind=new.kind,
        brn=brn,
        name=name,
        region=new.region,
        ksic_code=ksic,
        address=_text(
            problems, "address", new.address, chars_max=ADDRESS_CHARS_MAX, required=False
        ),
        contact_email=email,
        sales_3y_avg_krw=new.sales_3y_avg_krw,
        total_assets_krw=new.total_assets_krw,
        employees=new.employees,
        founded_on=new.founded_on,
        youth_led=new.youth_led,
        business_group=group or None,
        shareholders=_shareholders(problems, new.shareholders),
    )
    problems.raise_any()
    return cleaned


def person_fields(*, name: str, email: str) -> tuple[str, str]:
    """A person's trimmed name and lower-case email, or InvalidInputError."""
    problems = _Problems()
    clean_name = _text(problems, "name", name, chars_max=NAME_CHARS_MAX, required=True)
    clean_email = _email(problems, "email", email)
    problems.raise_any()
    return clean_name, clean_email


def reason_text(reason: str) -> str:
    """A required reason (suspension, revocation), trimmed, or InvalidInputError."""
    problems = _Problems()
    text = _text(problems, "reason", reason, chars_max=REASON_CHARS_MAX, required=True)
    problems.raise_any()
    return text
