"""Korean business registration numbers (사업자등록번호).

Ten digits, written ``123-45-67890``. The last digit is a check digit over the first nine:
weights 1, 3, 7, 1, 3, 7, 1, 3, 5; add the products, add ``(ninth digit * 5) // 10``, and the
check digit is ``(10 - sum % 10) % 10``.
"""

from __future__ import annotations

from ccx.registry.errors import InvalidBrnError

_WEIGHTS = (1, 3, 7, 1, 3, 7, 1, 3, 5)
BRN_DIGITS = 10


def brn_checksum_digit(first9: str) -> int:
    """The check digit that completes the nine digits `first9`."""
    if len(first9) != len(_WEIGHTS) or not first9.isascii() or not first9.isdigit():
        raise InvalidBrnError(f"expected nine digits to compute a check digit, got {first9!r}")
    digits = [int(char) for char in first9]
    total = sum(d * w for d, w in zip(digits, _WEIGHTS, strict=True))
    total += digits[8] * 5 // 10
    return (10 - total % 10) % 10


def validate_brn(text: str) -> str:
    """The ten digits of a business registration number, or InvalidBrnError saying why not.

    Surrounding spaces and hyphens (``123-45-67890``) are removed first.
    """
    digits = text.strip().replace("-", "")
    if len(digits) != BRN_DIGITS or not digits.isascii() or not digits.isdigit():
        raise InvalidBrnError(
            f"business registration number {text!r} must be 10 digits (e.g. 123-45-67890)"
        )
    expected = brn_checksum_digit(digits[:9])
    if int(digits[9]) != expected:
        raise InvalidBrnError(
            f"business registration number {text!r} fails its check digit"
            f" (last digit should be {expected})"
        )
    return digits


def format_brn(brn: str) -> str:
    """Ten digits written the usual way, ``123-45-67890``."""
    return f"{brn[:3]}-{brn[3:5]}-{brn[5:]}"
