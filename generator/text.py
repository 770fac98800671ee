"""Text helpers: accent folding (Côté -> Cote) and e-mail-style slugs."""

from __future__ import annotations

import numpy as np
import pandas as pd
from unidecode import unidecode

# Latin-1 supplement and Latin Extended-A cover every accent in French, Portuguese, etc.
_FOLD = str.maketrans({chr(c): unidecode(chr(c)) for c in range(0xC0, 0x180)})


def fold(value: str) -> str:
    """`Côté` -> `Cote`."""
    return value.translate(_FOLD)


def slug(values, keep_hyphen: np.ndarray | None = None) -> np.ndarray:
    """Lower-case ASCII letters and digits only, as people write them in e-mail addresses."""
    s = pd.Series([fold(v) for v in values], dtype=object).str.lower()
    s = s.str.replace(r"[\s'.&]", "", regex=True)
    no_hyphen = s.str.replace("-", "", regex=False)
    s = no_hyphen if keep_hyphen is None else s.where(keep_hyphen, no_hyphen)
    return s.str.replace(r"[^a-z0-9-]", "", regex=True).to_numpy(dtype=object)
