"""Arrow string columns seen as NumPy matrices of character codes, for checks done in NumPy."""

from __future__ import annotations

import numpy as np
import pyarrow as pa


def ascii_codes(strings: pa.Array, width: int) -> np.ndarray:
    """An (n, width) uint8 matrix of the bytes of strings that are all `width` bytes long."""
    fixed = strings.cast(pa.binary(width))
    if not len(fixed):
        return np.zeros((0, width), dtype=np.uint8)
    codes = np.frombuffer(fixed.buffers()[1], dtype=np.uint8)
    return codes[fixed.offset * width :][: len(fixed) * width].reshape(-1, width)
