"""Business registration numbers: format, normalisation and the check digit."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ccx.registry import InvalidBrnError, brn_checksum_digit, format_brn, validate_brn

# 220-81-62517 worked by hand: digits 2,2,0,8,1,6,2,5,1 times weights 1,3,7,1,3,7,1,3,5 give
# 2+6+0+8+3+42+2+15+5 = 83; the ninth digit adds 1*5 // 10 = 0; (10 - 83 % 10) % 10 = 7.
VALID = ["220-81-62517", "124-81-00998", "120-81-47521", "0000000000"]


@pytest.mark.parametrize("text", VALID)
def test_valid_numbers_pass_and_come_back_as_ten_digits(text: str) -> None:
    assert validate_brn(text) == text.replace("-", "")


def test_the_check_digit_weights_the_ninth_digit_twice() -> None:
    # 9th digit 9: 9 * 5 = 45 in the sum, plus 45 // 10 = 4.
    assert brn_checksum_digit("000000009") == (10 - (45 + 4) % 10) % 10
    assert brn_checksum_digit("220816251") == 7


@pytest.mark.parametrize(
    "text",
    [" 220-81-62517 ", "2208162517", "220816-2517", "22-08-16-25-17"],
)
def test_spaces_around_and_hyphens_are_removed(text: str) -> None:
    assert validate_brn(text) == "2208162517"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("220-81-62518", "check digit (last digit should be 7)"),
        ("124-81-00990", "check digit (last digit should be 8)"),
        ("", "must be 10 digits"),
        ("220-81-6251", "must be 10 digits"),
        ("220-81-625177", "must be 10 digits"),
        ("220 81 62517", "must be 10 digits"),
        ("22O-81-62517", "must be 10 digits"),
        ("٢٢٠٨١٦٢٥١٧", "must be 10 digits"),  # Arabic-Indic digits are digits, not ASCII
        ("+220816251", "must be 10 digits"),
    ],
)
def test_invalid_numbers_are_refused_with_the_reason(text: str, message: str) -> None:
    with pytest.raises(InvalidBrnError, match=message.replace("(", r"\(").replace(")", r"\)")):
        validate_brn(text)


def test_an_invalid_number_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="check digit"):
        validate_brn("220-81-62510")


@pytest.mark.parametrize("first9", ["12345678", "1234567890", "12345678a", ""])
def test_a_check_digit_needs_exactly_nine_digits(first9: str) -> None:
    with pytest.raises(InvalidBrnError, match="nine digits"):
        brn_checksum_digit(first9)


@given(st.from_regex(r"[0-9]{9}", fullmatch=True))
def test_exactly_one_last_digit_completes_any_nine_digits(first9: str) -> None:
    passing = []
    for last in "0123456789":
        try:
            validate_brn(first9 + last)
        except InvalidBrnError:
            continue
        passing.append(last)
    assert passing == [str(brn_checksum_digit(first9))]


def test_format_writes_the_usual_groups() -> None:
    assert format_brn("2208162517") == "220-81-62517"
