import pytest

from core.money import money_format


@pytest.mark.parametrize(
    ("cents", "currency", "shown"),
    [
        (9700, "usd", "97.00 USD"),
        (1234567, "eur", "12,345.67 EUR"),
        (5, "usd", "0.05 USD"),
        (0, "usd", "0.00 USD"),
        (-2550, "usd", "-25.50 USD"),
        (123456789, "", "1,234,567.89"),
    ],
)
def test_money_is_cents_as_a_number_with_two_decimals_and_the_currency_in_capitals(
    cents, currency, shown
):
    assert money_format(cents, currency) == shown


def test_money_for_files_has_no_thousands_separator():
    assert money_format(1234567, grouping=False) == "12345.67"
    assert money_format(-5, grouping=False) == "-0.05"


def test_money_is_exact_where_float_division_would_round():
    # 2**53 + 1 cents cannot be a float; integer arithmetic keeps the last cent.
    assert money_format(2**53 + 1) == "90,071,992,547,409.93"
