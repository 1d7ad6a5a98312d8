"""Cells of files that people open in a spreadsheet program."""

# Spreadsheets run a cell that starts with one of these as a formula (CSV injection); tab and
# carriage return count too, because some programs strip them and then see the formula.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value: object) -> str:
    """The value as text, with a leading apostrophe when a spreadsheet would run it as a formula."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text
