"""Money shown to people: integer cents in, text out, exact (no float rounding)."""


def money_format(cents: int, currency: str = "", *, grouping: bool = True) -> str:
    """`1234567, "usd"` -> "12,345.67 USD"; without a currency just the number.

    `grouping=False` leaves out the thousands separator, for files that programs read (CSV).
    """
    sign = "-" if cents < 0 else ""
    whole, fraction = divmod(abs(int(cents)), 100)
    number = f"{sign}{whole:,}.{fraction:02d}" if grouping else f"{sign}{whole}.{fraction:02d}"
    return f"{number} {currency.upper()}" if currency else number
