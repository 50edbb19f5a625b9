"""The domain rules every service shares: pure functions, no I/O."""

import re
from enum import StrEnum
from typing import NamedTuple

ADD_MAX_DIGITS = 24
IMPORT_MAX_DIGITS = 20
MAX_NUMBERS_PER_REQUEST = 100
MAX_DESCRIPTION_LENGTH = 255

_DIGITS = re.compile(r"[0-9]+")
# C0 and C1 controls (PostgreSQL text cannot hold NUL, and none belongs in a description), and
# the bidirectional marks, embeddings, overrides and isolates, which make text display in
# another order than it is stored (U+202E "RIGHT-TO-LEFT OVERRIDE" turns "gpj.exe" around).
BIDI_CONTROLS = "\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069"
_CONTROL = re.compile(f"[\\x00-\\x1f\\x7f-\\x9f{BIDI_CONTROLS}]")
_SURROGATE = re.compile(r"[\ud800-\udfff]")
# How people write numbers: "+86 138-0013 8000", "(021) 5000.1234".
_AS_PEOPLE_WRITE_IT = re.compile(r"\+?[0-9 .()\-]*")


class Reason(StrEnum):
    """Why a number or a command was refused; stable codes that clients may match on."""

    EMPTY = "empty"
    NOT_DIGITS = "not_digits"
    TOO_LONG = "too_long"
    DUPLICATE = "duplicate"
    REPEATED_IN_REQUEST = "repeated_in_request"
    DESCRIPTION_TOO_LONG = "description_too_long"
    DESCRIPTION_INVALID = "description_invalid"
    ORG_UNIT_NOT_FOUND = "org_unit_not_found"
    FORBIDDEN_ORG_UNIT = "forbidden_org_unit"
    PERMISSION_DENIED = "permission_denied"
    FEATURE_DISABLED = "feature_disabled"
    TENANT_NOT_FOUND = "tenant_not_found"
    NOT_FOUND = "not_found"
    # The tenant has as many numbers as its quota (maximum caller numbers) allows:
    QUOTA_EXCEEDED = "quota_exceeded"
    # A command on Kafka that cannot be applied at all:
    MALFORMED_COMMAND = "malformed_command"
    KEY_MISMATCH = "key_mismatch"
    UNAUTHENTICATED = "unauthenticated"  # no valid signature of a key trusted for the tenant
    # A command the gateway could not hand to Kafka (a bulk operation's chunk):
    NOT_SENT = "not_sent"
    # Import rows only:
    NUMBER_NOT_TEXT = "number_not_text"
    FORMULA_WITHOUT_RESULT = "formula_without_result"
    UNEXPECTED_COLUMNS = "unexpected_columns"
    NOT_PROCESSED = "not_processed"
    NOT_APPLIED = "not_applied"


class Rejection(NamedTuple):
    reason: Reason
    message: str


# What an import row that got no other result reports.
NOT_PROCESSED = Rejection(Reason.NOT_PROCESSED, "Not processed: the import was cancelled.")
NOT_APPLIED = Rejection(
    Reason.NOT_APPLIED,
    "Not applied: this row could not be written. Import it again; if it fails again, "
    "contact support with the task id.",
)


def storable(text: str) -> str:
    """The text unchanged if PostgreSQL and JSON can hold it; ValueError naming why not.

    A NUL character cannot be stored in PostgreSQL text, and a lone UTF-16 surrogate (what
    the JSON escape "\\ud83d" alone decodes to) is not Unicode at all: neither can be kept,
    so both are refused where they come in."""
    if "\x00" in text:
        raise ValueError("the text holds a NUL character (U+0000), which cannot be stored")
    if _SURROGATE.search(text):
        raise ValueError("the text holds a lone UTF-16 surrogate, which is not valid Unicode")
    return text


def check_number(raw: str, *, max_digits: int) -> tuple[str, Rejection | None]:
    """Trim the number and say why it is refused, if it is; never alter it otherwise."""
    number = raw.strip()
    if not number:
        return number, Rejection(Reason.EMPTY, "The caller number is empty.")
    if not _DIGITS.fullmatch(number):
        return number, Rejection(Reason.NOT_DIGITS, "A caller number may hold digits 0-9 only.")
    if len(number) > max_digits:
        message = f"A caller number has at most {max_digits} digits; this one has {len(number)}."
        return number, Rejection(Reason.TOO_LONG, message)
    return number, None


def check_description(description: str) -> Rejection | None:
    if len(description) > MAX_DESCRIPTION_LENGTH:
        message = f"The description has at most {MAX_DESCRIPTION_LENGTH} characters."
        return Rejection(Reason.DESCRIPTION_TOO_LONG, message)
    if found := _CONTROL.search(description):
        message = (
            f"The description holds the control or text-direction character "
            f"U+{ord(found.group()):04X} at position {found.start() + 1}."
        )
        return Rejection(Reason.DESCRIPTION_INVALID, message)
    if _SURROGATE.search(description):
        message = "The description holds a lone UTF-16 surrogate, which is not valid Unicode."
        return Rejection(Reason.DESCRIPTION_INVALID, message)
    return None


def check_numbers(raw_numbers: list[str], *, max_digits: int) -> list[tuple[str, Rejection | None]]:
    """Check each number of one request; a number repeated in it is refused after its first."""
    seen: set[str] = set()
    checked = []
    for raw in raw_numbers:
        number, rejection = check_number(raw, max_digits=max_digits)
        if rejection is None and number in seen:
            rejection = Rejection(
                Reason.REPEATED_IN_REQUEST, "The number is repeated in the request."
            )
        seen.add(number)
        checked.append((number, rejection))
    return checked


def search_digits(typed: str) -> str:
    """The digits of a number as typed into a search box; ValueError if it is not one.

    Spaces, dashes, dots, parentheses and a leading + are how people write numbers, so they
    are dropped; the stored numbers are digits only."""
    if not _AS_PEOPLE_WRITE_IT.fullmatch(typed.strip()):
        raise ValueError(
            "A number search holds digits, spaces, dashes, dots, parentheses and a leading +."
        )
    digits = re.sub(r"[^0-9]", "", typed)
    if len(digits) > ADD_MAX_DIGITS:
        raise ValueError(f"A caller number has at most {ADD_MAX_DIGITS} digits.")
    return digits


def prerequisites_met(*, anonymization_enabled: bool, tenants_may_maintain: bool) -> bool:
    """The manual's prerequisites: both must hold before any caller-number write."""
    return anonymization_enabled and tenants_may_maintain


FEATURE_DISABLED = Rejection(
    Reason.FEATURE_DISABLED,
    "Caller numbers cannot be changed: the tenant's Calling Number Anonymization feature "
    "must be enabled and the system parameter Allowing Tenants to Maintain Calling Numbers "
    "must be Yes.",
)


def quota_room(*, used: int, allowed: int | None) -> int | None:
    """How many more numbers a tenant may add; None without a quota. A quota set below what
    the tenant has leaves no room (its numbers stay; new ones wait until it is under again)."""
    return None if allowed is None else max(allowed - used, 0)


def quota_exceeded(*, used: int, allowed: int) -> Rejection:
    return Rejection(
        Reason.QUOTA_EXCEEDED,
        f"The tenant's quota is reached: {used:,} of {allowed:,} caller numbers are used.",
    )
