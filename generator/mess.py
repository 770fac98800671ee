"""How clerks, web forms and old DMS exports garble clean values, one column at a time.

Every function takes whole columns (object arrays) and a boolean mask of the rows to
garble, and returns a new column; only the masked rows pay for a Python-level edit.
Rates are decided by the caller (`render`), scaled by the `mess` knob.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping

import numpy as np
import pandas as pd

from generator.text import fold

PHONE_FORMATS = (
    "{}-{}-{}".format,  # the clean form
    "({}) {}-{}".format,
    "{}.{}.{}".format,
    "+1 {} {} {}".format,
    "1{}{}{}".format,
    "{}{}{}".format,
    "{} {}-{}".format,
    "1-{}-{}-{}".format,
    "+1{}{}{}".format,
)
PHONE_FORMAT_WEIGHTS = np.array([30, 20, 8, 6, 5, 14, 10, 4, 3], dtype=float)
EXTENSIONS = (" x{n}", " ext. {n}", " poste {n}", " #{n}")
EMAIL_DOMAIN_TYPOS = {
    "gmail.com": ("gmial.com", "gmail.co", "gmail.con", "gmal.com"),
    "hotmail.com": ("hotmial.com", "hotmail.con", "hotmal.com", "hotmail.co"),
    "hotmail.ca": ("hotmail.com", "hotmial.ca"),
    "videotron.ca": ("videotron.com", "videotrom.ca"),
    "yahoo.ca": ("yaho.ca", "yahoo.com"),
    "outlook.com": ("outlok.com", "outlook.ca"),
    "sympatico.ca": ("sympatico.com", "simpatico.ca"),
}
REGION_SPELLINGS = {
    "QC": ("Québec", "Quebec", "PQ", "Qc", "qc", "QUÉBEC"),
    "ON": ("Ontario", "Ont.", "on", "ONT"),
    "AB": ("Alberta", "Alta"),
    "BC": ("British Columbia", "B.C."),
    "MB": ("Manitoba", "Man."),
    "NS": ("Nova Scotia", "N.S."),
    "NB": ("New Brunswick", "Nouveau-Brunswick", "N.-B."),
}
_LETTERS = "abcdefghijklmnopqrstuvwxyz"


def where(mask: np.ndarray, new: np.ndarray, old: np.ndarray) -> np.ndarray:
    return np.where(mask, new, old).astype(object)


def apply(values: np.ndarray, mask: np.ndarray, fn: Callable[[str], str]) -> np.ndarray:
    """`fn` on the masked, non-empty rows only; a plain list comprehension beats `.str` here."""
    out = np.array(values, dtype=object)
    idx = np.flatnonzero(mask & (out != ""))
    if len(idx):
        out[idx] = np.array([fn(v) for v in out[idx]], dtype=object)
    return out


def fold_accents(values: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Côté -> Cote, as DMS screens without accents store it."""
    return apply(values, mask, fold)


def upper(values: np.ndarray, mask: np.ndarray) -> np.ndarray:
    return apply(values, mask, str.upper)


def lower(values: np.ndarray, mask: np.ndarray) -> np.ndarray:
    return apply(values, mask, str.lower)


def capitalize(values: np.ndarray, mask: np.ndarray) -> np.ndarray:
    return apply(values, mask, str.capitalize)


def blank(values: np.ndarray, mask: np.ndarray) -> np.ndarray:
    return where(mask, "", values)


def pad_spaces(rng: np.random.Generator, values: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """A stray leading/trailing space or a doubled inner space."""
    out = np.array(values, dtype=object)
    idx = np.flatnonzero(mask & (out != ""))
    for i, k in zip(idx, rng.integers(0, 3, len(idx)), strict=True):
        v = out[i]
        if k == 0:
            out[i] = v + " "
        elif k == 1:
            out[i] = " " + v
        else:
            out[i] = v.replace(" ", "  ", 1) if " " in v else v + " "
    return out


def nickname(
    rng: np.random.Generator,
    first: np.ndarray,
    mask: np.ndarray,
    table: Mapping[str, tuple[str, ...]],
) -> np.ndarray:
    """Bob for Robert, JF for Jean-François, when the customer said it that way."""
    out = np.asarray(first, dtype=object).copy()
    known = pd.Series(out, dtype=object).isin(list(table)).to_numpy()
    idx = np.flatnonzero(mask & known)
    picks = rng.random(len(idx))
    for i, u in zip(idx, picks, strict=True):
        options = table[out[i]]
        out[i] = options[int(u * len(options))]
    return out


def typo(rng: np.random.Generator, values: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """One keying error: a letter dropped, doubled, swapped with its neighbour or replaced."""
    out = np.array(values, dtype=object)
    idx = np.flatnonzero(mask & (out != ""))
    idx = idx[[len(v) >= 3 for v in out[idx]]] if len(idx) else idx
    kinds = rng.integers(0, 4, len(idx))
    spots = rng.random(len(idx))
    letters = rng.integers(0, 26, len(idx))
    for i, k, s, c in zip(idx, kinds, spots, letters, strict=True):
        v = out[i]
        p = 1 + int(s * (len(v) - 2))  # keep the first letter: people rarely miss it
        if k == 0:
            v = v[:p] + v[p + 1 :]
        elif k == 1:
            v = v[:p] + v[p] + v[p:]
        elif k == 2:
            v = v[:p] + v[p + 1] + v[p] + v[p + 2 :] if p + 1 < len(v) else v[:-1]
        else:
            repl = _LETTERS[c]
            v = v[:p] + (repl.upper() if v[p].isupper() else repl) + v[p + 1 :]
        out[i] = v
    return out


def hyphen_to_space(values: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Jean-François -> Jean François; Tremblay-Gagnon -> Tremblay Gagnon."""
    return apply(values, mask, lambda v: v.replace("-", " "))


def first_part(values: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Tremblay-Gagnon -> Tremblay: only the first of a double surname."""
    return apply(values, mask, lambda v: v.split("-")[0] or v)


_SAINT = re.compile(r"\b(Saint|Sainte|St|Ste)([- ])")
_SAINT_SWAP = {"Saint": "St", "Sainte": "Ste", "St": "Saint", "Ste": "Sainte"}


def saint(rng: np.random.Generator, values: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Saint-Jérôme <-> St-Jérôme <-> St Jérôme: Québec writes saints every way."""
    spaced = rng.random(len(values)) < 0.3
    dashed = apply(
        values, mask & ~spaced, lambda v: _SAINT.sub(lambda x: _SAINT_SWAP[x[1]] + x[2], v)
    )
    return apply(dashed, mask & spaced, lambda v: _SAINT.sub(lambda x: _SAINT_SWAP[x[1]] + " ", v))


def junior(
    rng: np.random.Generator, values: np.ndarray, mask: np.ndarray, words: tuple[str, ...]
) -> np.ndarray:
    """Append `Jr`/`Sr`-style words the way a clerk would type them."""
    out = np.asarray(values, dtype=object).copy()
    idx = np.flatnonzero(mask & (out != ""))
    picks = rng.integers(0, len(words), len(idx))
    out[idx] = out[idx] + " " + np.asarray(words, dtype=object)[picks]
    return out


def format_phones(
    rng: np.random.Generator, digits: np.ndarray, style: np.ndarray, ext_rate: np.ndarray | float
) -> np.ndarray:
    """10-digit strings to the given format index per row; empty stays empty."""
    digits = np.asarray(digits, dtype=object)
    n = len(digits)
    out = np.full(n, "", dtype=object)
    has = digits != ""
    for k, fmt in enumerate(PHONE_FORMATS):
        idx = np.flatnonzero(has & (style == k))
        if len(idx):
            out[idx] = np.array([fmt(d[:3], d[3:6], d[6:]) for d in digits[idx]], dtype=object)
    ext = np.flatnonzero(has & (rng.random(n) < ext_rate))
    if len(ext):
        forms = rng.integers(0, len(EXTENSIONS), len(ext))
        nums = rng.integers(1, 999, len(ext))
        out[ext] = out[ext] + np.array(
            [EXTENSIONS[f].format(n=x) for f, x in zip(forms, nums, strict=True)], dtype=object
        )
    return out


def email_typo(rng: np.random.Generator, emails: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """gmial.com, hotmail.con, or a letter lost in the local part."""
    out = np.asarray(emails, dtype=object).copy()
    idx = np.flatnonzero(mask & (out != ""))
    for i, u in zip(idx, rng.random(len(idx)), strict=True):
        local, _, domain = out[i].partition("@")
        options = EMAIL_DOMAIN_TYPOS.get(domain)
        if options and u < 0.6:
            out[i] = local + "@" + options[int(u / 0.6 * len(options))]
        elif len(local) > 3:
            p = 1 + int(u * (len(local) - 2))
            out[i] = local[:p] + local[p + 1 :] + "@" + domain
    return out


def region_spelling(rng: np.random.Generator, regions: np.ndarray, mask: np.ndarray) -> np.ndarray:
    out = np.asarray(regions, dtype=object).copy()
    idx = np.flatnonzero(
        mask & pd.Series(out, dtype=object).isin(list(REGION_SPELLINGS)).to_numpy()
    )
    for i, u in zip(idx, rng.random(len(idx)), strict=True):
        options = REGION_SPELLINGS[out[i]]
        out[i] = options[int(u * len(options))]
    return out


def postal_variants(rng: np.random.Generator, postal: np.ndarray, rate: float) -> np.ndarray:
    """H2X 1Y4 -> H2X1Y4 / h2x 1y4 / h2x1y4."""
    n = len(postal)
    out = apply(postal, rng.random(n) < rate, lambda v: v.replace(" ", ""))
    return lower(out, rng.random(n) < rate / 3)


def swap_day_month(iso: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """1975-03-04 typed as 1975-04-03: a wrong but valid date when the day is <= 12."""
    return apply(iso, mask, lambda v: v[:5] + v[8:10] + "-" + v[5:7] if int(v[8:10]) <= 12 else v)
