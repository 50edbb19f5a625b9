from shared.rules import (
    ADD_MAX_DIGITS,
    IMPORT_MAX_DIGITS,
    Reason,
    check_description,
    check_number,
    check_numbers,
    prerequisites_met,
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


class TestDescriptionAndPrerequisites:
    def test_255_characters_pass_and_256_do_not(self) -> None:
        assert check_description("x" * 255) is None
        assert check_description("x" * 256).reason is Reason.DESCRIPTION_TOO_LONG  # type: ignore[union-attr]

    def test_control_characters_in_a_description_are_refused(self) -> None:
        for description in ["a\x00b", "line\nbreak", "\x7f"]:
            assert check_description(description).reason is Reason.DESCRIPTION_INVALID  # type: ignore[union-attr]
        assert check_description("Hotline, 9-18h — ünïcode ok") is None

    def test_both_prerequisites_are_needed(self) -> None:
        assert prerequisites_met(anonymization_enabled=True, tenants_may_maintain=True)
        assert not prerequisites_met(anonymization_enabled=False, tenants_may_maintain=True)
        assert not prerequisites_met(anonymization_enabled=True, tenants_may_maintain=False)
