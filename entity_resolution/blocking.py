"""Candidate pairs: records that agree exactly on at least one blocking key.

Each rule is a sort-and-pair over one key; the union over rules, deduplicated, is what
gets compared. Pair count grows with the sum of squared block sizes, so a rule's blocks
over `max_block_size` are skipped and counted: a key that large is not personal.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
import pandas as pd

from entity_resolution.settings import BlockingRule, LinkSettings

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Candidates:
    left: np.ndarray  # row positions (int32 when they fit), left < right
    right: np.ndarray
    pairs_per_rule: dict[str, int]
    skipped_blocks: dict[str, int]


def block_key(frame: pd.DataFrame, columns: tuple[str, ...]) -> np.ndarray:
    """Integer key per row (-1 when any column is missing)."""
    sub = frame[list(columns)]
    missing = sub.isna().any(axis=1).to_numpy()
    if len(columns) == 1:
        codes, _ = pd.factorize(sub.iloc[:, 0])
    else:
        codes = sub.groupby(list(columns), sort=False, dropna=False).ngroup().to_numpy()
    codes = np.asarray(codes, dtype=np.int64)
    codes[missing] = -1
    return codes


def pairs_within_groups(
    keys: np.ndarray, max_block_size: int
) -> tuple[np.ndarray, np.ndarray, int]:
    """All (i, j), i < j, of rows sharing a key ≥ 0, skipping groups over the size cap."""
    rows = np.flatnonzero(keys >= 0)
    if rows.size < 2:
        empty = np.empty(0, dtype=np.int64)
        return empty, empty, 0
    order = rows[np.argsort(keys[rows], kind="stable")]
    sorted_keys = keys[order]
    starts = np.flatnonzero(np.r_[True, sorted_keys[1:] != sorted_keys[:-1]])
    sizes = np.diff(np.r_[starts, sorted_keys.size])
    too_big = sizes > max_block_size
    keep = (sizes >= 2) & ~too_big
    starts, sizes = starts[keep], sizes[keep]
    if starts.size == 0:
        empty = np.empty(0, dtype=np.int64)
        return empty, empty, int(too_big.sum())
    # Element k of a block of n pairs with the n-1-k elements after it.
    member_pos = np.repeat(starts, sizes) + _ranges(sizes)
    member_rank = _ranges(sizes)
    member_n = np.repeat(sizes, sizes)
    partners = member_n - 1 - member_rank
    left_pos = np.repeat(member_pos, partners)
    right_pos = left_pos + 1 + _ranges(partners)
    a, b = order[left_pos], order[right_pos]
    return np.minimum(a, b), np.maximum(a, b), int(too_big.sum())


def _ranges(counts: np.ndarray) -> np.ndarray:
    """Concatenated aranges: [3, 2] → [0, 1, 2, 0, 1]."""
    counts = counts.astype(np.int64)
    total = int(counts.sum())
    if total == 0:
        return np.empty(0, dtype=np.int64)
    ends = np.cumsum(counts)
    return np.arange(total, dtype=np.int64) - np.repeat(ends - counts, counts)


def pairs_touching(key: np.ndarray, seed: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each (s, j), s a `seed` row and j another row of s's block (`key` ≥ 0): the pairs a
    seed's block gives it, without the pairs among the others of the block."""
    seeds = np.flatnonzero(seed & (key >= 0))
    if seeds.size == 0:
        empty = np.empty(0, dtype=np.int64)
        return empty, empty
    members = np.flatnonzero(np.isin(key, key[seeds]))
    order = members[np.argsort(key[members], kind="stable")]
    sorted_keys = key[order]
    start = np.searchsorted(sorted_keys, key[seeds], side="left")
    counts = np.searchsorted(sorted_keys, key[seeds], side="right") - start
    a = np.repeat(seeds, counts)
    b = order[np.repeat(start, counts) + _ranges(counts)]
    other = a != b
    return a[other], b[other]


def rule_keys(frame: pd.DataFrame, settings: LinkSettings) -> list[np.ndarray]:
    """Each blocking rule's key per row of `frame`, -1 in a block over the rule's size cap:
    the keys of the whole data, for blocking a part of it as the whole would be blocked."""
    out = []
    for rule in settings.blocking_rules:
        key = block_key(frame, rule.columns)
        known = np.flatnonzero(key >= 0)
        if known.size:
            sizes = np.bincount(key[known])
            key[known[sizes[key[known]] > rule.max_block_size]] = -1
        out.append(key)
    return out


def candidate_pairs(
    frame: pd.DataFrame, settings: LinkSettings, keys: list[np.ndarray] | None = None
) -> Candidates:
    """The union of every blocking rule's pairs over `frame` (one row per signature).

    `keys` (one array per rule, as `rule_keys` gives them for a larger frame, restricted
    to these rows) replaces each rule's own key: a part of the data is then blocked as it
    would be within the whole, oversized blocks of the whole left out."""
    n = len(frame)
    source = None
    if settings.link_type == "link_only":
        source = pd.factorize(frame[settings.source_column])[0]
    codes: list[np.ndarray] = []
    per_rule: dict[str, int] = {}
    skipped: dict[str, int] = {}
    for k, rule in enumerate(settings.blocking_rules):
        if keys is None:
            left, right, n_skipped = _rule_pairs(frame, rule)
        else:
            left, right, n_skipped = pairs_within_groups(keys[k], rule.max_block_size)
        if source is not None:
            cross = source[left] != source[right]
            left, right = left[cross], right[cross]
        per_rule[rule.name] = int(left.size)
        skipped[rule.name] = n_skipped
        if n_skipped:
            log.info("blocking rule %r skipped %d oversized blocks", rule.name, n_skipped)
        codes.append(left * n + right)
    # Sorted in place and deduplicated by hand: np.unique would copy every rule's pairs
    # (duplicates included) once more, the largest allocation of blocking.
    all_codes = np.concatenate(codes) if codes else np.empty(0, dtype=np.int64)
    del codes
    all_codes.sort()
    unique_codes = (
        all_codes[np.r_[True, all_codes[1:] != all_codes[:-1]]] if all_codes.size else all_codes
    )
    del all_codes
    # Positions fit in 32 bits (signatures, not pairs): half the memory of every pair.
    position = np.int32 if n < 2**31 else np.int64
    return Candidates(
        left=(unique_codes // n).astype(position),
        right=(unique_codes % n).astype(position),
        pairs_per_rule=per_rule,
        skipped_blocks=skipped,
    )


def _rule_pairs(frame: pd.DataFrame, rule: BlockingRule) -> tuple[np.ndarray, np.ndarray, int]:
    missing = [c for c in rule.columns if c not in frame.columns]
    if missing:
        raise KeyError(f"blocking rule {rule.name!r} needs columns {missing}")
    return pairs_within_groups(block_key(frame, rule.columns), rule.max_block_size)
