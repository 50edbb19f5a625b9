import unicodedata

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shared.rules import (
    ADD_MAX_DIGITS,
    IMPORT_MAX_DIGITS,
    Reason,
    check_description,
    check_number,
    check_numbers,
    prerequisites_met,
    quota_exceeded,
    quota_room,
)


class TestCallerNumberFormat:
    def test_surrounding_whitespace_is_trimmed(self) -> None:
        assert check_number("  0123 \t", max_digits=ADD_MAX_DIGITS) == ("0123", None)

    def test_leading_zeros_are_kept(self) -> None:
        assert check_number("000", max_digits=ADD_MAX_DIGITS)[0] == "000"

    def test_24_digits_pass_the_add_form_and_25_do_not(self) -> None:
        assert check_number("1" * 24, max_digits=ADD_MAX_DIGITS)[1] is None
        assert check_number("1" * 25, max_digits=ADD_MAX_DIGITS)[1].reason is Reason.TOO_LONG  # type: ignore[union-attr]

    def test_an_import_allows_20_digits(self) -> None:
        assert check_number("1" * 20, max_digits=IMPORT_MAX_DIGITS)[1] is None
        assert check_number("1" * 21, max_digits=IMPORT_MAX_DIGITS)[1].reason is Reason.TOO_LONG  # type: ignore[union-attr]

    def test_anything_but_ascii_digits_is_refused_not_altered(self) -> None:
        for raw in ["+123", "12 34", "12-34", "1e5", "١٢٣", "²", "12a"]:
            number, rejection = check_number(raw, max_digits=ADD_MAX_DIGITS)
            assert rejection is not None and rejection.reason is Reason.NOT_DIGITS, raw
            assert number == raw.strip()

    def test_an_empty_or_blank_number_is_refused(self) -> None:
        assert check_number("   ", max_digits=ADD_MAX_DIGITS)[1].reason is Reason.EMPTY  # type: ignore[union-attr]


class TestOneRequest:
    def test_a_repeat_is_refused_after_its_first_occurrence(self) -> None:
        checked = check_numbers(["1", "2", " 1"], max_digits=ADD_MAX_DIGITS)
        assert [r.reason if r else None for _, r in checked] == [
            None,
            None,
            Reason.REPEATED_IN_REQUEST,
        ]

    def test_an_invalid_number_does_not_count_as_a_first_occurrence(self) -> None:
        checked = check_numbers(["1x", "1x"], max_digits=ADD_MAX_DIGITS)
        assert [r.reason for _, r in checked if r] == [Reason.NOT_DIGITS, Reason.NOT_DIGITS]


_SUSPECTS = "\x00\x1b\x7f\x85\x9f\u061c\u200b\u200d\u200e\u202a\u202e\u2066\u2069\ufeff"
_BIDI_EXPLICIT = {"LRE", "RLE", "PDF", "LRO", "RLO", "LRI", "RLI", "FSI", "PDI"}


class TestDescriptionAndPrerequisites:
    def test_255_characters_pass_and_256_do_not(self) -> None:
        assert check_description("x" * 255) is None
        assert check_description("x" * 256).reason is Reason.DESCRIPTION_TOO_LONG  # type: ignore[union-attr]

    def test_control_characters_in_a_description_are_refused(self) -> None:
        for description in ["a\x00b", "line\nbreak", "\x7f"]:
            assert check_description(description).reason is Reason.DESCRIPTION_INVALID  # type: ignore[union-attr]
        assert check_description("Hotline, 9-18h — ünïcode ok") is None

    @given(st.text(st.one_of(st.characters(), st.sampled_from(_SUSPECTS)), max_size=300))
    def test_a_description_is_refused_iff_too_long_or_holding_a_control_or_bidi_character(
        self, description: str
    ) -> None:
        def hidden(char: str) -> bool:
            return (
                unicodedata.category(char) == "Cc"  # C0, DEL and C1
                or unicodedata.bidirectional(char) in _BIDI_EXPLICIT
                or char in "\u200e\u200f\u061c"  # LRM, RLM, ALM: marks, not explicit codes
                or unicodedata.category(char) == "Cs"  # a lone surrogate is not Unicode
            )

        rejection = check_description(description)
        if len(description) > 255:
            assert rejection is not None and rejection.reason is Reason.DESCRIPTION_TOO_LONG
        elif any(hidden(char) for char in description):
            assert rejection is not None and rejection.reason is Reason.DESCRIPTION_INVALID
        else:
            assert rejection is None

    @pytest.mark.parametrize("char", ["\u202e", "\u2066", "\x85", "\x9b", "\x1b"])
    def test_the_probes_bidi_override_and_c1_controls_are_refused(self, char: str) -> None:
        rejection = check_description(f"invoice{char}fdp.exe")
        assert rejection is not None and f"U+{ord(char):04X}" in rejection.message

    def test_both_prerequisites_are_needed(self) -> None:
        assert prerequisites_met(anonymization_enabled=True, tenants_may_maintain=True)
        assert not prerequisites_met(anonymization_enabled=False, tenants_may_maintain=True)
        assert not prerequisites_met(anonymization_enabled=True, tenants_may_maintain=False)


class TestQuota:
    @given(used=st.integers(0, 10**6), allowed=st.none() | st.integers(0, 10**6))
    def test_the_room_left_is_never_negative_and_none_without_a_quota(
        self, used: int, allowed: int | None
    ) -> None:
        room = quota_room(used=used, allowed=allowed)
        if allowed is None:
            assert room is None
        else:
            assert room is not None and room >= 0 and used + room >= min(allowed, used)
            assert room == 0 or used + room == allowed

    def test_the_refusal_names_used_and_allowed(self) -> None:
        rejection = quota_exceeded(used=1000, allowed=1000)
        assert rejection.reason is Reason.QUOTA_EXCEEDED
        assert "1,000 of 1,000" in rejection.message
