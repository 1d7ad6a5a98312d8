"""Money shown to people: an integer amount in the currency's minor unit, as Stripe counts it, in;
text out, exact (Decimal, no float rounding).

Stripe counts most currencies in hundredths, the zero-decimal ones (JPY, KRW ...) in whole units
and a few in thousandths (docs.stripe.com/currencies); Babel (CLDR data) knows how many decimals
each currency is written with and formats the number. A few currencies that CLDR writes without
decimals (ISK, HUF ...) are still counted in hundredths by Stripe "for backwards compatibility":
their amounts are divided by 100 and shown without decimals unless they have some.
"""

from decimal import Decimal

from babel.numbers import format_currency, get_currency_name, get_currency_precision

# Stripe's presentment currencies (docs.stripe.com/currencies). The stripe library's types say
# only `str` for a currency, and Babel knows every ISO currency, not which ones Stripe takes.
_STRIPE_CURRENCIES = (
    "usd aed afn all amd ang aoa ars aud awg azn bam bbd bdt bgn bhd bif bmd bnd bob brl bsd bwp "
    "byn bzd cad cdf chf clp cny cop crc cve czk djf dkk dop dzd egp etb eur fjd fkp gbp gel gip "
    "gmd gnf gtq gyd hkd hnl htg huf idr ils inr isk jmd jod jpy kes kgs khr kmf krw kwd kyd kzt "
    "lak lbp lkr lrd lsl mad mdl mga mkd mmk mnt mop mur mvr mwk mxn myr mzn nad ngn nio nok npr "
    "nzd omr pab pen pgk php pkr pln pyg qar ron rsd rub rwf sar sbd scr sek sgd shp sle sos srd "
    "std szl thb tjs tnd top try ttd twd tzs uah ugx uyu uzs vnd vuv wst xaf xcd xcg xof xpf yer "
    "zar zmw"
)
STRIPE_CURRENCIES: tuple[str, ...] = tuple(_STRIPE_CURRENCIES.split())
# Stripe's own lists (docs.stripe.com/currencies#zero-decimal and #three-decimal).
STRIPE_ZERO_DECIMAL = frozenset(
    [
        "bif",
        "clp",
        "djf",
        "gnf",
        "jpy",
        "kmf",
        "krw",
        "mga",
        "pyg",
        "rwf",
        "ugx",
        "vnd",
        "vuv",
        "xaf",
        "xof",
        "xpf",
    ]
)
STRIPE_THREE_DECIMAL = frozenset(["bhd", "jod", "kwd", "omr", "tnd"])


def stripe_exponent(currency: str) -> int:
    """How many decimal places Stripe's integer amounts hold for this currency: 0, 2 or 3."""
    code = currency.lower()
    if code in STRIPE_ZERO_DECIMAL:
        return 0
    if code in STRIPE_THREE_DECIMAL:
        return 3
    return 2


def to_major(amount: int, currency: str) -> Decimal:
    """Stripe's integer amount as the number people read: 9700 usd -> 97.00, 9700 jpy -> 9700."""
    return Decimal(int(amount)).scaleb(-stripe_exponent(currency))


def to_minor(value: Decimal | int | str, currency: str) -> int:
    """The reverse of to_major, refusing what Stripe cannot count (a fraction of a yen)."""
    scaled = Decimal(value).scaleb(stripe_exponent(currency))
    if scaled != scaled.to_integral_value():
        raise ValueError(f"{value} {currency.upper()} has more decimals than Stripe counts.")
    return int(scaled)


def money_format(amount: int, currency: str = "", *, grouping: bool = True) -> str:
    """`1234567, "usd"` -> "12,345.67 USD"; `9700, "jpy"` -> "9,700 JPY"; without a currency
    just the number, in hundredths (sums over one currency's minor units).

    `grouping=False` leaves out the thousands separator, for files that programs read (CSV).
    """
    pattern = "#,##0.00" if grouping else "0.00"
    if not currency:
        return format_currency(to_major(amount, "usd"), "USD", format=pattern, locale="en")
    code = currency.upper()
    # The pattern's two decimals are replaced by the currency's own (currency_digits); digits
    # beyond them are kept, not rounded away (an ISK or HUF amount with fractions).
    return format_currency(
        to_major(amount, currency),
        code,
        format=f"{pattern} ¤¤",
        locale="en",
        currency_digits=True,
        decimal_quantization=get_currency_precision(code) >= stripe_exponent(currency),
    )


def currency_choices() -> list[tuple[str, str]]:
    """Stripe's currencies for a form's select: ("jpy", "JPY: Japanese Yen")."""
    return [
        (code, f"{code.upper()}: {get_currency_name(code.upper(), locale='en')}")
        for code in STRIPE_CURRENCIES
    ]


def stripe_amount_problem(amount: int, currency: str) -> str:
    """Why Stripe would refuse to charge this integer amount in this currency ("" if it would
    not): an unknown currency, or digits Stripe cannot charge (three-decimal currencies end in
    0; ISK is counted in hundredths but charged in whole krónur)."""
    code = currency.lower()
    if code not in STRIPE_CURRENCIES:
        return f"Stripe does not take payments in {currency.upper() or 'this currency'}."
    if code in STRIPE_THREE_DECIMAL and amount % 10:
        return f"{code.upper()} amounts must end in 0 at Stripe (round to the nearest ten)."
    if code == "isk" and amount % 100:
        return "ISK is charged in whole krónur: the amount (in hundredths) must end in 00."
    return ""
