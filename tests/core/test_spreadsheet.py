import pytest

from core.spreadsheet import csv_cell


@pytest.mark.parametrize("start", ["=", "+", "-", "@", "\t", "\r"])
def test_a_cell_a_spreadsheet_would_run_as_a_formula_gets_a_leading_apostrophe(start):
    assert csv_cell(f"{start}SUM(A1:A9)") == f"'{start}SUM(A1:A9)"


@pytest.mark.parametrize(
    ("value", "cell"),
    [("ok", "ok"), ("a=b", "a=b"), ("", ""), (None, ""), (42, "42"), (-2, "'-2")],
)
def test_other_values_are_written_as_text_unchanged(value, cell):
    assert csv_cell(value) == cell
