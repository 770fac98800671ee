"""Compare candidate pairs field by field: one comparison level per field and pair.

Values are factorized once per column, so a pair is two integer codes; string
similarity runs once per distinct (value, value) combination through rapidfuzz's
vectorized `cpdist`, since the same two spellings meet in thousands of pairs.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd
from rapidfuzz import process
from rapidfuzz.distance import DamerauLevenshtein, JaroWinkler, Levenshtein

from entity_resolution.settings import (
    AllOf,
    AnyEqual,
    AnyOf,
    BothNull,
    Comparison,
    DateTypo,
    Else,
    Exact,
    Initial,
    LettersDiffer,
    LinkSettings,
    Nickname,
    Null,
    OneSided,
    Prefix,
    SharedWord,
    Similar,
    TwoNames,
)
from entity_resolution.standardize import nickname_related

_SWAP_MARGIN = 0.15  # the swapped reading must be clearly better, not a coin toss
_BATCH_PAIRS = 5_000_000  # pairs compared at once (see `compare`)


@dataclass
class Encoded:
    """A column as integer codes (-1 = missing) into `values`, plus each value's frequency."""

    codes: np.ndarray
    values: np.ndarray
    frequency: np.ndarray  # share of non-missing rows holding each value


@dataclass
class Compared:
    levels: np.ndarray  # (pairs, comparisons) int8: index into each comparison's levels
    tf_bits: np.ndarray  # (pairs, comparisons) float32: term-frequency adjustment, in bits
    swapped: np.ndarray  # bool per pair: names read with first and last exchanged


def encode(frame: pd.DataFrame, columns: list[str]) -> list[Encoded]:
    """Factorize columns over one shared vocabulary (so codes compare across them).

    Frequencies are per column: a first name's commonness is counted among first names.
    """
    n = len(frame)
    stacked = pd.concat([frame[c] for c in columns], ignore_index=True)
    codes, values = pd.factorize(stacked, use_na_sentinel=True)
    codes = codes.astype(np.int64)
    values = np.asarray(values, dtype=object)
    union = np.bincount(codes[codes >= 0], minlength=len(values)).astype(np.float64)
    out = []
    for k in range(len(columns)):
        own = codes[k * n : (k + 1) * n]
        counts = np.bincount(own[own >= 0], minlength=len(values)).astype(np.float64)
        total = max(counts.sum(), 1.0)
        frequency = np.where(counts > 0, counts / total, union / max(union.sum(), 1.0))
        out.append(Encoded(codes=own, values=values, frequency=frequency))
    return out


def encode_all(frame: pd.DataFrame, settings: LinkSettings) -> dict[str, Encoded]:
    """Encodings per comparison column; swap columns and multi-column comparisons share one."""
    out: dict[str, Encoded] = {}
    groups: list[list[str]] = []
    if settings.swap_columns:
        groups.append(list(settings.swap_columns))
    for comp in settings.comparisons:
        for level in comp.levels:
            if isinstance(level.when, AnyEqual):
                groups.append(list(level.when.columns))
    for comp in settings.comparisons:
        for col in comp.columns:
            if not any(col in g for g in groups):
                groups.append([col])
    for group in groups:
        if all(c in out for c in group):
            continue
        for col, enc in zip(group, encode(frame, group), strict=True):
            out[col] = enc
    return out


def _pair_values(
    a: np.ndarray, b: np.ndarray, n_values: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Distinct (a, b) code combinations among pairs where both are known and differ."""
    idx = np.flatnonzero((a >= 0) & (b >= 0) & (a != b))
    key = a[idx] * n_values + b[idx]
    uniq, inverse = np.unique(key, return_inverse=True)
    return idx, uniq // n_values, uniq % n_values, inverse


def similarity(a: np.ndarray, b: np.ndarray, enc: Encoded, metric: str) -> np.ndarray:
    """Similarity per pair (1 for equal values, 0 when either is missing).

    For `damerau` the result is the edit distance (0 equal, large when missing).
    """
    is_distance = metric == "damerau"
    out = np.full(a.shape, 99.0 if is_distance else 0.0, dtype=np.float64)
    both = (a >= 0) & (b >= 0)
    out[both & (a == b)] = 0.0 if is_distance else 1.0
    idx, ua, ub, inverse = _pair_values(a, b, len(enc.values))
    if idx.size == 0:
        return out
    scorer = {
        "jaro_winkler": JaroWinkler.normalized_similarity,
        "levenshtein": Levenshtein.normalized_similarity,
        "damerau": DamerauLevenshtein.distance,
    }[metric]
    values = enc.values
    sims = process.cpdist(
        values[ua].astype(str), values[ub].astype(str), scorer=scorer, workers=-1
    ).astype(np.float64)
    out[idx] = sims[inverse]
    return out


def _date_typo(a: np.ndarray, b: np.ndarray, enc: Encoded) -> np.ndarray:
    """One character apart, or the same date with day and month exchanged."""
    out = np.zeros(a.shape, dtype=bool)
    idx, ua, ub, inverse = _pair_values(a, b, len(enc.values))
    if idx.size == 0:
        return out
    da = pd.Series(enc.values[ua].astype(str)).str.replace(r"\D", "", regex=True)
    db = pd.Series(enc.values[ub].astype(str)).str.replace(r"\D", "", regex=True)
    one_edit = process.cpdist(da.to_numpy(), db.to_numpy(), scorer=Levenshtein.distance) <= 1
    swapped = (da.str[:4] + da.str[6:8] + da.str[4:6]) == db
    out[idx] = (one_edit | swapped.to_numpy())[inverse]
    return out


def _value_pair_test(
    a: np.ndarray, b: np.ndarray, enc: Encoded, test: Callable[[str, str], bool]
) -> np.ndarray:
    """A scalar test run once per distinct value pair (a few thousand, not millions)."""
    out = np.zeros(a.shape, dtype=bool)
    idx, ua, ub, inverse = _pair_values(a, b, len(enc.values))
    if idx.size == 0:
        return out
    values = enc.values
    verdict = np.fromiter(
        (test(str(x), str(y)) for x, y in zip(values[ua], values[ub], strict=True)),
        dtype=bool,
        count=ua.size,
    )
    out[idx] = verdict[inverse]
    return out


def _shares_word(a: str, b: str) -> bool:
    return bool(set(a.split()) & set(b.split()))


_DIGITS_AND_SEPARATORS = str.maketrans("", "", "0123456789._-")
# Providers that ignore the dots of a user name: `jean.roy@gmail.com` is `jeanroy@gmail.com`.
_DOTLESS_PROVIDERS = frozenset({"gmail.com", "googlemail.com"})


def _mailbox(value: str) -> str:
    local, at, domain = value.partition("@")
    return local.replace(".", "") + at + domain if domain in _DOTLESS_PROVIDERS else value


def _letters_differ(a: str, b: str) -> bool:
    if _mailbox(a) == _mailbox(b):
        return True  # one mailbox written two ways: no namesake's
    return a.translate(_DIGITS_AND_SEPARATORS) != b.translate(_DIGITS_AND_SEPARATORS)


def _related_names(a: str, b: str) -> bool:
    """One name's forms: initials, a shared word, or one slip apart (a slip can land on
    another common name: Emile for Emilie, Luis for Louis). A common name that begins
    another (Daniel, Danielle; Marc, Marcel) is a name of its own."""
    return min(len(a), len(b)) < 3 or _shares_word(a, b) or DamerauLevenshtein.distance(a, b) <= 1


def _two_names(a: np.ndarray, b: np.ndarray, enc: Encoded, when: TwoNames) -> np.ndarray:
    """Both values common in their own right and not one name's forms (`TwoNames`)."""
    out = (a >= 0) & (b >= 0) & (a != b)
    fa = enc.frequency[np.maximum(a, 0)]
    fb = enc.frequency[np.maximum(b, 0)]
    rarer, commoner = np.minimum(fa, fb), np.maximum(fa, fb)
    written = np.count_nonzero(enc.codes >= 0)  # frequency is a share of these
    out &= (rarer >= when.min_share) & (rarer >= when.min_ratio * commoner)
    out &= rarer * written >= when.min_count - 0.5
    idx = np.flatnonzero(out)
    if idx.size:
        out[idx] = ~_value_pair_test(a[idx], b[idx], enc, _related_names)
    return out


def _prefix_equal(a: np.ndarray, b: np.ndarray, enc: Encoded, length: int) -> np.ndarray:
    prefixes = pd.Series(enc.values.astype(str)).str[:length]
    pcodes, _ = pd.factorize(prefixes)
    out = (a >= 0) & (b >= 0)
    out[out] = pcodes[a[out]] == pcodes[b[out]]
    return out


def _short_for(a: str, b: str) -> bool:
    """One name a short form of the other: its initial (`J`), its initials (`JP` for
    Jean-Philippe) or its beginning (`Jos` for Joseph)."""
    short, full = sorted((a, b), key=len)
    if len(short) == len(full):
        return False
    if full.startswith(short):
        return True
    words = full.replace("-", " ").split()
    if len(short) == 1:  # J. for Marie-Josée, who goes by Josée
        return any(w.startswith(short) for w in words)
    return len(words) > 1 and "".join(w[0] for w in words) == short


def _initial_of(a: np.ndarray, b: np.ndarray, enc: Encoded) -> np.ndarray:
    """One side a short form (initial, initials, beginning) of the other."""
    values = pd.Series(enc.values.astype(str))
    heads, _ = pd.factorize(values.str[:1])
    length = values.str.len().to_numpy()
    out = np.zeros(a.shape, dtype=bool)
    idx = np.flatnonzero((a >= 0) & (b >= 0))
    la, lb = length[a[idx]], length[b[idx]]
    # A short form is shorter, and begins alike unless it is one letter.
    idx = idx[(la != lb) & ((heads[a[idx]] == heads[b[idx]]) | (np.minimum(la, lb) == 1))]
    out[idx] = _value_pair_test(a[idx], b[idx], enc, _short_for)
    return out


def _side_missing(codes: list[np.ndarray]) -> np.ndarray:
    missing = codes[0] < 0
    for c in codes[1:]:
        missing &= c < 0
    return missing


def _any_equal(a_cols: list[np.ndarray], b_cols: list[np.ndarray]) -> np.ndarray:
    out = np.zeros(a_cols[0].shape, dtype=bool)
    for x in a_cols:
        for y in b_cols:
            out |= (x >= 0) & (x == y)
    return out


@dataclass
class _Pairs:
    """One comparison's columns for a batch of pairs: codes on each side and encodings."""

    comp: Comparison
    a: dict[str, np.ndarray]
    b: dict[str, np.ndarray]
    enc: dict[str, Encoded]
    cache: dict

    def column(self, predicate) -> str:
        return getattr(predicate, "column", None) or self.comp.columns[0]


def _evaluate(when, pairs: _Pairs) -> np.ndarray:
    comp = pairs.comp
    col = pairs.column(when)
    a, b, enc = pairs.a[col], pairs.b[col], pairs.enc[col]
    if isinstance(when, AllOf):
        out = np.ones(a.shape, dtype=bool)
        for part in when.parts:
            out &= _evaluate(part, pairs)
        return out
    if isinstance(when, AnyOf):
        out = np.zeros(a.shape, dtype=bool)
        for part in when.parts:
            out |= _evaluate(part, pairs)
        return out
    if isinstance(when, (Null, BothNull, OneSided)):
        a_missing = _side_missing([pairs.a[c] for c in _side_columns(comp)])
        b_missing = _side_missing([pairs.b[c] for c in _side_columns(comp)])
        if isinstance(when, Null):
            return a_missing | b_missing
        if isinstance(when, BothNull):
            return a_missing & b_missing
        return a_missing ^ b_missing
    if isinstance(when, Exact):
        return (a >= 0) & (a == b)
    if isinstance(when, Similar):
        key = (col, when.metric)
        if key not in pairs.cache:
            pairs.cache[key] = similarity(a, b, enc, when.metric)
        s = pairs.cache[key]
        return s <= when.threshold if when.metric == "damerau" else s >= when.threshold
    if isinstance(when, Nickname):
        return _value_pair_test(a, b, enc, nickname_related)
    if isinstance(when, SharedWord):
        return _value_pair_test(a, b, enc, _shares_word)
    if isinstance(when, TwoNames):
        return _two_names(a, b, enc, when)
    if isinstance(when, LettersDiffer):
        return _value_pair_test(a, b, enc, _letters_differ)
    if isinstance(when, Prefix):
        return _prefix_equal(a, b, enc, when.length)
    if isinstance(when, Initial):
        return _initial_of(a, b, enc)
    if isinstance(when, DateTypo):
        return _date_typo(a, b, enc)
    if isinstance(when, AnyEqual):
        return _any_equal([pairs.a[c] for c in when.columns], [pairs.b[c] for c in when.columns])
    if isinstance(when, Else):
        return np.ones(a.shape, dtype=bool)
    raise TypeError(f"unknown comparison predicate {when!r}")


def _side_columns(comp: Comparison) -> tuple[str, ...]:
    """A side is missing when the field is: all its columns for an AnyEqual comparison."""
    if any(isinstance(level.when, AnyEqual) for level in comp.levels):
        return comp.columns
    return comp.columns[:1]


def compare_one(
    comp: Comparison,
    a_cols: list[np.ndarray],
    b_cols: list[np.ndarray],
    encodings: list[Encoded],
) -> np.ndarray:
    """Level index per pair: the first level whose predicate holds (columns in comp order)."""
    pairs = _Pairs(
        comp,
        dict(zip(comp.columns, a_cols, strict=True)),
        dict(zip(comp.columns, b_cols, strict=True)),
        dict(zip(comp.columns, encodings, strict=True)),
        {},
    )
    # The first level that holds wins (np.select's rule), built straight as int8 rather than
    # from every level's mask at once and an int64 result.
    levels = np.full(a_cols[0].shape, len(comp.levels) - 1, dtype=np.int8)
    undecided = np.ones(a_cols[0].shape, dtype=bool)
    for j, level in enumerate(comp.levels):
        hit = _evaluate(level.when, pairs)
        hit &= undecided
        levels[hit] = j
        undecided &= ~hit
    return levels


def _swapped(left: np.ndarray, right: np.ndarray, first: Encoded, last: Encoded) -> np.ndarray:
    """Pairs where reading one side's first and last names the other way round fits better."""
    fa, fb = first.codes[left], first.codes[right]
    la, lb = last.codes[left], last.codes[right]
    known = (fa >= 0) & (fb >= 0) & (la >= 0) & (lb >= 0)
    candidates = np.flatnonzero(known & ((fa != fb) | (la != lb)))
    out = np.zeros(left.shape, dtype=bool)
    if candidates.size == 0:
        return out
    fa, fb, la, lb = fa[candidates], fb[candidates], la[candidates], lb[candidates]
    direct = similarity(fa, fb, first, "jaro_winkler") + similarity(la, lb, last, "jaro_winkler")
    crossed = similarity(fa, lb, first, "jaro_winkler") + similarity(la, fb, last, "jaro_winkler")
    out[candidates] = crossed > direct + _SWAP_MARGIN
    return out


def compare(
    frame: pd.DataFrame,
    left: np.ndarray,
    right: np.ndarray,
    settings: LinkSettings,
    encodings: dict[str, Encoded] | None = None,
) -> Compared:
    """Levels (and term-frequency adjustments) of every comparison for every pair."""
    encodings = encodings or encode_all(frame, settings)
    swapped = np.zeros(left.shape, dtype=bool)
    swap_cols: tuple[str, str] | None = settings.swap_columns
    n_comp = len(settings.comparisons)
    levels = np.empty((left.size, n_comp), dtype=np.int8)
    # In batches: each comparison gathers codes, similarities and masks per pair, and tens
    # of millions of pairs at once would hold gigabytes of them. A pair's levels do not
    # depend on the batch it is in.
    for start in range(0, left.size, _BATCH_PAIRS):
        batch = slice(start, start + _BATCH_PAIRS)
        lb, rb = left[batch], right[batch]
        if swap_cols:
            swapped[batch] = _swapped(lb, rb, encodings[swap_cols[0]], encodings[swap_cols[1]])
        for k, comp in enumerate(settings.comparisons):
            a_cols = [encodings[c].codes[lb] for c in comp.columns]
            b_cols = [
                _right_codes(c, rb, swapped[batch], encodings, swap_cols) for c in comp.columns
            ]
            levels[batch, k] = compare_one(
                comp, a_cols, b_cols, [encodings[c] for c in comp.columns]
            )
    tf_bits = np.zeros(levels.shape, dtype=np.float32)  # set once u is known
    return Compared(levels=levels, tf_bits=tf_bits, swapped=swapped)


def term_frequency_bits(
    levels: np.ndarray,
    left: np.ndarray,
    encodings: dict[str, Encoded],
    settings: LinkSettings,
    u: list[np.ndarray],
    frequency: dict[str, np.ndarray] | None = None,
) -> np.ndarray:
    """Term-frequency adjustment (bits) of every pair at an exact level with `tf`.

    As in Splink, agreeing on value v has Bayes factor m / tf(v) instead of m / u: the
    adjustment is log2(u / tf(v)), bounded by `max_tf_bits`. Two Tremblays agree on less
    than two Papadopouloses. `frequency` overrides a column's value frequencies (the
    engine's second pass counts values per cluster, i.e. per person).
    """
    frequency = frequency or {}
    tf_bits = np.zeros(levels.shape, dtype=np.float32)
    for k, comp in enumerate(settings.comparisons):
        for j, level in enumerate(comp.levels):
            if not (isinstance(level.when, Exact) and level.when.tf):
                continue
            column = level.when.column or comp.columns[0]
            enc = encodings[column]
            freq = frequency.get(column, enc.frequency)
            bits = np.log2(u[k][j] / np.maximum(freq, 1e-12))
            bits = np.clip(bits, -settings.em.max_tf_bits, settings.em.max_tf_bits)
            at_level = np.flatnonzero(levels[:, k] == j)
            tf_bits[at_level, k] = bits[enc.codes[left[at_level]]]
    return tf_bits


def tf_columns(settings: LinkSettings) -> set[str]:
    """Columns whose exact agreement is adjusted by term frequency."""
    return {
        level.when.column or comp.columns[0]
        for comp in settings.comparisons
        for level in comp.levels
        if isinstance(level.when, Exact) and level.when.tf
    }


def _right_codes(
    column: str,
    right: np.ndarray,
    swapped: np.ndarray,
    encodings: dict[str, Encoded],
    swap_cols: tuple[str, str] | None,
) -> np.ndarray:
    codes = encodings[column].codes[right]
    if swap_cols and column in swap_cols and swapped.any():
        other = swap_cols[1] if column == swap_cols[0] else swap_cols[0]
        codes = codes.copy()
        codes[swapped] = encodings[other].codes[right[swapped]]
    return codes
