"""VINs for the synthetic world: generated with a correct check digit, and deliberate typos.

Position 9 is the check digit (49 CFR 565); it is computed, and VINs are judged, by the
one validator the loader uses (`ingest.vin`). Every generated VIN carries a correct check
digit, also those whose first character says they are not North-American.
"""

from __future__ import annotations

import numpy as np

from ingest.vin import check_characters, check_digit, is_valid_vin

__all__ = ["check_digit", "make_vins", "typo", "year_code"]

ALPHABET = "0123456789ABCDEFGHJKLMNPRSTUVWXYZ"  # no I, O, Q
YEAR_CODES = "ABCDEFGHJKLMNPRSTVWXY123456789"  # position 10, 1980 = 'A', 30-year cycle


def year_code(model_years: np.ndarray) -> np.ndarray:
    codes = np.frombuffer(YEAR_CODES.encode(), dtype=np.uint8)
    return codes[(np.asarray(model_years, dtype=np.int64) - 1980) % 30]


def make_vins(rng: np.random.Generator, wmis: np.ndarray, model_years: np.ndarray) -> np.ndarray:
    """Unique valid VINs (object array of str), one per (wmi, model_year) row."""
    n = len(wmis)
    alphabet = np.frombuffer(ALPHABET.encode(), dtype=np.uint8)
    chars = np.zeros((n, 17), dtype=np.uint8)
    if n == 0:
        return np.empty(0, dtype=object)
    chars[:, :3] = np.frombuffer("".join(wmis).encode("ascii"), dtype=np.uint8).reshape(n, 3)
    chars[:, 3:8] = alphabet[rng.integers(0, len(alphabet), size=(n, 5))]
    chars[:, 9] = year_code(model_years)
    chars[:, 10] = alphabet[rng.integers(0, len(alphabet), size=n)]
    chars[:, 11:17] = ord("0") + rng.integers(0, 10, size=(n, 6))
    while True:
        _fill_check_digits(chars)
        vins = chars.view("S17").ravel()
        _, first = np.unique(vins, return_index=True)
        duplicate = np.ones(n, dtype=bool)
        duplicate[first] = False
        if not duplicate.any():
            break
        chars[duplicate, 11:17] = ord("0") + rng.integers(0, 10, size=(duplicate.sum(), 6))
    return vins.astype(str).astype(object)


def _fill_check_digits(chars: np.ndarray) -> None:
    chars[:, 8] = check_characters(chars)


def typo(vin: str, rng: np.random.Generator) -> str:
    """One realistic keying error that makes the VIN fail validation.

    A VIN from outside North America has no check digit to break, so its typos change
    its length or put a letter it cannot hold."""
    kind = rng.integers(0, 5)
    if vin[0] not in "12345":
        kind %= 3
    if kind == 0:  # a character dropped
        pos = int(rng.integers(0, 17))
        return vin[:pos] + vin[pos + 1 :]
    if kind == 1:  # a character doubled
        pos = int(rng.integers(0, 17))
        return vin[:pos] + vin[pos] + vin[pos:]
    if kind == 2:  # letter O for zero (or I for one)
        for wrong, right in (("0", "O"), ("1", "I")):
            pos = vin.find(wrong, 3)
            if pos >= 0:
                return vin[:pos] + right + vin[pos + 1 :]
        return vin[:11] + "O" + vin[12:]
    if kind == 3:  # two neighbours swapped
        for _ in range(8):
            pos = int(rng.integers(10, 16))
            swapped = vin[:pos] + vin[pos + 1] + vin[pos] + vin[pos + 2 :]
            if not is_valid_vin(swapped):
                return swapped
    # one character mistyped, check digit no longer matches
    for _ in range(20):
        pos = int(rng.integers(11, 17))
        digit = str(int(rng.integers(0, 10)))
        wrong = vin[:pos] + digit + vin[pos + 1 :]
        if not is_valid_vin(wrong):
            return wrong
    return vin[:8] + ("0" if vin[8] != "0" else "1") + vin[9:]
