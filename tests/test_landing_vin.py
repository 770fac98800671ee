"""VIN validation, a pure function: no database."""

from __future__ import annotations

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from ingest.vin import is_valid_vin, vins_are_valid

ALPHABET = "0123456789ABCDEFGHJKLMNPRSTUVWXYZ"


def reference_check_digit(vin: str) -> str:
    """Position 9 as 49 CFR 565.15 computes it, written plainly."""
    values = {str(d): d for d in range(10)}
    values |= {"A": 1, "B": 2, "C": 3, "D": 4, "E": 5, "F": 6, "G": 7, "H": 8}
    values |= {"J": 1, "K": 2, "L": 3, "M": 4, "N": 5, "P": 7, "R": 9}
    values |= {"S": 2, "T": 3, "U": 4, "V": 5, "W": 6, "X": 7, "Y": 8, "Z": 9}
    weights = [8, 7, 6, 5, 4, 3, 2, 10, 0, 9, 8, 7, 6, 5, 4, 3, 2]
    remainder = sum(values[c] * w for c, w in zip(vin, weights, strict=True)) % 11
    return "X" if remainder == 10 else str(remainder)


def test_published_north_american_vins_are_valid():
    assert vins_are_valid(["1HGCM82633A004352", "1M8GDM9AXKP042788", "11111111111111111"]).all()


def test_a_wrong_check_digit_makes_a_north_american_vin_invalid():
    assert not is_valid_vin("1HGCM82634A004352")


def test_vins_from_elsewhere_skip_the_check_digit():
    assert is_valid_vin("WVWZZZ1JZXW000001")
    assert is_valid_vin("JHMCM56557C404453")
    assert is_valid_vin("WVWZZZ1JZ3W000001")


def test_i_o_q_wrong_lengths_and_missing_values_are_invalid():
    assert not vins_are_valid(
        ["WVWZZZ1JZXW00000I", "WVWZZZ1JZXW00000O", "WVWZZZ1JZXW00000Q", "1HGCM82633A00435",
         "1HGCM82633A0043521", "1HGCM82633A00435É", "", None, "   "]
    ).any()  # fmt: skip


def test_case_and_surrounding_blanks_do_not_matter():
    assert vins_are_valid([" 1hgcm82633a004352 ", "1m8gdm9axkp042788\u00a0"]).all()


def test_a_column_is_checked_at_once_and_agrees_with_one_at_a_time():
    vins = ["1HGCM82633A004352", None, "bad", "WVWZZZ1JZXW000001", "1HGCM82634A004352"]
    assert vins_are_valid(vins).tolist() == [is_valid_vin(v) for v in vins]
    assert vins_are_valid([]).shape == (0,)


@given(st.text(alphabet=ALPHABET, min_size=17, max_size=17))
def test_any_seventeen_allowed_characters_follow_the_reference_rule(vin):
    north_american = vin[0] in "12345"
    expected = not north_american or vin[8] == reference_check_digit(vin)
    assert bool(vins_are_valid(np.array([vin], dtype=object))[0]) is expected
