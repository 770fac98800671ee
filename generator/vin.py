"""North-American VINs: generation with a correct check digit, and deliberate typos.

Position 9 is the check digit (49 CFR 565): letters are transliterated to digits, each
position weighted 8,7,6,5,4,3,2,10,0,9,8,7,6,5,4,3,2, the sum taken modulo 11, 10 -> 'X'.
"""

from __future__ import annotations

import numpy as np

ALPHABET = "0123456789ABCDEFGHJKLMNPRSTUVWXYZ"  # no I, O, Q
YEAR_CODES = "ABCDEFGHJKLMNPRSTVWXY123456789"  # position 10, 1980 = 'A', 30-year cycle
WEIGHTS = np.array([8, 7, 6, 5, 4, 3, 2, 10, 0, 9, 8, 7, 6, 5, 4, 3, 2], dtype=np.int64)
_VALUES = dict(zip("ABCDEFGH", range(1, 9), strict=True))
_VALUES |= dict(zip("JKLMN", range(1, 6), strict=True)) | {"P": 7, "R": 9}
_VALUES |= dict(zip("STUVWXYZ", range(2, 10), strict=True))
_VALUES |= {str(d): d for d in range(10)}

_TRANSLIT = np.zeros(128, dtype=np.int64)
for _char, _value in _VALUES.items():
    _TRANSLIT[ord(_char)] = _value


def check_digit(vin: str) -> str:
    total = sum(_VALUES.get(c, -100) * int(w) for c, w in zip(vin, WEIGHTS, strict=True))
    remainder = total % 11
    return "X" if remainder == 10 else str(remainder)


def is_valid(vin: str) -> bool:
    vin = vin.strip().upper()
    if len(vin) != 17 or any(c not in ALPHABET for c in vin):
        return False
    return vin[8] == check_digit(vin)


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
    remainder = (_TRANSLIT[chars] * WEIGHTS).sum(axis=1) % 11
    chars[:, 8] = np.where(remainder == 10, ord("X"), ord("0") + remainder)


def typo(vin: str, rng: np.random.Generator) -> str:
    """One realistic keying error that makes the VIN fail validation."""
    kind = rng.integers(0, 5)
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
            if not is_valid(swapped):
                return swapped
    # one character mistyped, check digit no longer matches
    for _ in range(20):
        pos = int(rng.integers(11, 17))
        digit = str(int(rng.integers(0, 10)))
        wrong = vin[:pos] + digit + vin[pos + 1 :]
        if not is_valid(wrong):
            return wrong
    return vin[:8] + ("0" if vin[8] != "0" else "1") + vin[9:]
