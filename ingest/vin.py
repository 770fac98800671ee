"""Is this text a valid Vehicle Identification Number?

A VIN that fails is still landed, flagged, because the rest of its row is good; entity
resolution just does not trust it as evidence of identity. The check is the one every
VIN decoder starts with (ISO 3779, 49 CFR 565): 17 characters from the digits and the
letters without I, O and Q. Only North-American VINs carry a check digit in position 9,
and whether a VIN is North-American is read from its first character (1-5: United
States, Canada, Mexico); elsewhere position 9 is free, so it is not checked. Letters
count in either case and blanks around the VIN are ignored.

Whole columns are checked at once, as a matrix of character codes: the loader calls
this once per batch of rows, never once per row. This is the one VIN validator: entity
resolution validates the VINs ingest did not flag with it, and the generator computes its
check digits with it.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ingest.arrays import ascii_codes
from ingest.contract import BLANKS

LENGTH = 17
_WEIGHTS = np.array([8, 7, 6, 5, 4, 3, 2, 10, 0, 9, 8, 7, 6, 5, 4, 3, 2], dtype=np.int64)
_LETTERS = "ABCDEFGHJKLMNPRSTUVWXYZ"
_LETTER_VALUES = [1, 2, 3, 4, 5, 6, 7, 8, 1, 2, 3, 4, 5, 7, 9, 2, 3, 4, 5, 6, 7, 8, 9]

# Transliterated value of each byte in the check-digit sum; -1 for a byte a VIN cannot hold.
_VALUE = np.full(256, -1, dtype=np.int64)
for _digit in "0123456789":
    _VALUE[ord(_digit)] = int(_digit)
for _letter, _value in zip(_LETTERS, _LETTER_VALUES, strict=True):
    _VALUE[ord(_letter)] = _VALUE[ord(_letter.lower())] = _value
_CHECK_CHARACTERS = np.frombuffer(b"0123456789X", dtype=np.uint8)
_NORTH_AMERICA = np.frombuffer(b"12345", dtype=np.uint8)


def vins_are_valid(vins: pa.Array | Iterable[str | None]) -> np.ndarray:
    """One boolean per value: is it a valid VIN? Missing values are not."""
    if not isinstance(vins, pa.Array):
        vins = pa.array(list(vins), pa.string())
    trimmed = pc.utf8_trim(vins, characters=BLANKS)
    right_length = pc.fill_null(pc.equal(pc.binary_length(trimmed), LENGTH), False)
    valid = np.zeros(len(vins), dtype=bool)
    candidates = right_length.to_numpy(zero_copy_only=False)
    valid[candidates] = valid_codes(ascii_codes(trimmed.filter(right_length), LENGTH))
    return valid


def valid_codes(codes: np.ndarray) -> np.ndarray:
    """Validity of VINs given as an (n, 17) matrix of ASCII codes, one row per VIN."""
    allowed = (_VALUE[codes] >= 0).all(axis=1)
    position_9 = np.where(codes[:, 8] == ord("x"), ord("X"), codes[:, 8])
    check_digit_ok = position_9 == check_characters(codes)
    north_american = np.isin(codes[:, 0], _NORTH_AMERICA)
    return allowed & (check_digit_ok | ~north_american)


def check_characters(codes: np.ndarray) -> np.ndarray:
    """The check digit (ASCII code of 0-9 or X) each VIN of an (n, 17) matrix of ASCII
    codes must carry in position 9; position 9 itself weighs nothing in the sum. Only
    meaningful for VINs whose other characters are allowed."""
    remainder = (_VALUE[codes] * _WEIGHTS).sum(axis=1) % 11
    return _CHECK_CHARACTERS[remainder]


def check_digit(vin: str) -> str:
    """The check digit of a 17-character VIN (for making valid ones)."""
    codes = np.frombuffer(vin.encode("ascii"), dtype=np.uint8).reshape(1, LENGTH)
    return chr(check_characters(codes)[0])


def is_valid_vin(vin: str | None) -> bool:
    """The same check for one value."""
    return bool(vins_are_valid([vin])[0])
