"""Vectorized sampling and calendar helpers shared by every stage of the simulation.

Dates are carried as integer days since 1970-01-01 (numpy int64) until they are written:
arithmetic on whole columns is then plain integer arithmetic.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

YEAR = 365.25
START = int(np.datetime64("2008-01-01", "D").astype(np.int64))
END = int(np.datetime64("2026-11-01", "D").astype(np.int64))
# "Valid since forever": the first row of every history starts here.
ALWAYS = -(10**6)
# "Still true at the end of the data window".
NEVER = int(np.datetime64("2200-01-01", "D").astype(np.int64))


def days(iso: str) -> int:
    return int(np.datetime64(iso, "D").astype(np.int64))


def iso_dates(day_numbers: np.ndarray) -> np.ndarray:
    """ISO `YYYY-MM-DD` strings (object array) for integer day numbers."""
    return shared_text(np.asarray(day_numbers, dtype="int64").astype("datetime64[D]"))


def shared_text(values: np.ndarray) -> np.ndarray:
    """`str()` of each value as an object array, one string object per distinct value.

    Half a million rows of a few thousand dates or a dozen labels then cost pointers, not
    half a million separate strings.
    """
    unique, inverse = np.unique(np.asarray(values), return_inverse=True)
    return unique.astype(str).astype(object)[inverse.reshape(-1)]


def year_of(day_numbers: np.ndarray) -> np.ndarray:
    d = np.asarray(day_numbers, dtype="int64").astype("datetime64[D]")
    return d.astype("datetime64[Y]").astype(np.int64) + 1970


def month_of(day_numbers: np.ndarray) -> np.ndarray:
    d = np.asarray(day_numbers, dtype="int64").astype("datetime64[D]")
    return d.astype("datetime64[M]").astype(np.int64) % 12 + 1


def chance(rng: np.random.Generator, n: int, rate: float) -> np.ndarray:
    """Boolean mask, True with probability `rate` (clipped to [0, 1])."""
    return rng.random(n) < min(max(rate, 0.0), 1.0)


def choice(rng: np.random.Generator, values: Sequence, n: int, weights=None) -> np.ndarray:
    """`n` draws from `values` (object array), optionally weighted."""
    values = np.asarray(values, dtype=object)
    p = None
    if weights is not None:
        p = np.asarray(weights, dtype=float)
        p = p / p.sum()
    return values[rng.choice(len(values), size=n, p=p)]


class Lookup:
    """Many categorical distributions, sampled for a whole column in one call.

    Distribution `k` is chosen per row by an integer key; the CDFs of all distributions
    are stacked as `k + cdf_k` so one `searchsorted` of `key + u` draws every row.
    """

    def __init__(self, distributions: Sequence[tuple[Sequence, Sequence[float]]]):
        edges: list[np.ndarray] = []
        values: list[np.ndarray] = []
        for key, (vals, weights) in enumerate(distributions):
            w = np.asarray(weights, dtype=float)
            if len(w) == 0 or w.sum() <= 0:
                raise ValueError(f"distribution {key} has no positive weight")
            cdf = np.cumsum(w / w.sum())
            cdf[-1] = 1.0
            edges.append(key + cdf)
            values.append(np.asarray(vals, dtype=object))
        self._edges = np.concatenate(edges)
        self._values = np.concatenate(values)

    def sample(self, rng: np.random.Generator, keys: np.ndarray) -> np.ndarray:
        keys = np.asarray(keys, dtype=np.int64)
        u = rng.random(len(keys))
        pos = np.searchsorted(self._edges, keys + u, side="right")
        return self._values[np.minimum(pos, len(self._values) - 1)]


class History:
    """Values that change over time per entity (addresses, phones, e-mails).

    Rows carry `entity` and `valid_from` (day number); `at(entities, dates)` returns the row
    index in force for each pair. Every entity must have a first row valid from ALWAYS.
    """

    def __init__(self, entity: np.ndarray, valid_from: np.ndarray, n_entities: int):
        order = np.lexsort((valid_from, entity))
        self.order = order
        entity = np.asarray(entity)[order]
        valid_from = np.asarray(valid_from, dtype=np.int64)[order]
        counts = np.bincount(entity, minlength=n_entities)
        if (counts == 0).any():
            raise ValueError("every entity needs at least one history row")
        self.start = np.concatenate([[0], np.cumsum(counts)[:-1]])
        width = int(counts.max())
        pad = np.full((n_entities, width), np.iinfo(np.int64).max, dtype=np.int64)
        slot = np.arange(len(entity)) - self.start[entity]
        pad[entity, slot] = valid_from
        self._valid_from = pad

    def at(self, entities: np.ndarray, dates: np.ndarray) -> np.ndarray:
        """Row index (into the original, unsorted table) in force at each date."""
        entities = np.asarray(entities, dtype=np.int64)
        dates = np.asarray(dates, dtype=np.int64)
        n_in_force = (self._valid_from[entities] <= dates[:, None]).sum(axis=1)
        return self.order[self.start[entities] + np.maximum(n_in_force, 1) - 1]
