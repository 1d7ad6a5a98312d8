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


@pytest.mark.parametrize(
    ("amount", "currency", "shown"),
    [
        (9700, "jpy", "9,700 JPY"),  # zero-decimal: Stripe's 9700 is ¥9,700
        (9700, "krw", "9,700 KRW"),
        (1230, "bhd", "1.230 BHD"),  # three-decimal
        (50000, "isk", "500 ISK"),  # counted in hundredths by Stripe, written without decimals
        (9700, "gbp", "97.00 GBP"),
    ],
)
def test_money_follows_each_currency_s_decimals_as_stripe_counts_them(amount, currency, shown):
    assert money_format(amount, currency) == shown


def test_stripe_amounts_convert_both_ways_exactly():
    from decimal import Decimal

    from core.money import to_major, to_minor

    assert to_major(9700, "jpy") == Decimal(9700)
    assert to_major(9700, "usd") == Decimal("97.00")
    assert to_minor("97.00", "usd") == 9700 and to_minor(9700, "jpy") == 9700
    with pytest.raises(ValueError):
        to_minor("0.5", "jpy")


def test_only_amounts_stripe_can_charge_pass():
    from core.money import stripe_amount_problem

    assert stripe_amount_problem(9700, "usd") == ""
    assert stripe_amount_problem(9700, "jpy") == ""
    assert "does not take" in stripe_amount_problem(9700, "xyz")
    assert "end in 0" in stripe_amount_problem(1235, "bhd")
    assert "end in 00" in stripe_amount_problem(50050, "isk")
