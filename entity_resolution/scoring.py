"""Fellegi–Sunter scoring with m, u and the prior learnt from the data on every run.

No labels, as Splink does it:
- u (chance of each level between two *different* people) is measured on random pairs,
  which are almost all non-matches; the engine measures it again leaving out the random
  pairs its first pass put in one cluster, since on small data (a few hundred people)
  enough random pairs are matches to make every agreement look several times commoner
  among strangers than it is;
- m (chance of each level for one person's two records) comes from EM with u fixed, run
  once per blocking rule over the candidates that rule found, leaving out the
  comparisons the rule is built from (they agree by construction there); each
  comparison's m is the average over the rules that left it free;
- the prior (chance that two random records match) is the fixed point of the expected
  number of matching candidates over all pairs (`estimate_prior`).
Agreeing on a value then weighs log2(m / u), adjusted by the value's frequency among
people (term frequency); missing values weigh nothing.

Why our own EM rather than recordlinkage's `ECMClassifier`: ECM one-hot encodes every
level as an independent binary feature, so it cannot say "missing means no evidence"
(a null level must have m = u, Bayes factor 1), learns agreement and disagreement of one
field as unrelated features, estimates u on the same biased candidate set (candidates
agree on a blocking key by construction, so u comes out far too high and weights too
low) and has no place for term frequencies or for explaining a score level by level. A
first version ran full two-class EM on the candidates and fell into exactly that trap:
it split *true* matches into "complete" and "sparse" records instead of matches and
non-matches. EM here runs over comparison *patterns* (identical level vectors counted
once), so millions of pairs cost milliseconds.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from entity_resolution.comparisons import Compared
from entity_resolution.settings import Comparison, LinkSettings

_FLOOR = 1e-6


@dataclass
class Parameters:
    m: list[np.ndarray]  # per comparison, probability of each level among matches
    u: list[np.ndarray]  # … among non-matches
    prior: float  # probability that two random records (signatures) match
    sessions: dict[str, dict] = field(default_factory=dict)  # EM per blocking rule

    def level_bits(self) -> list[np.ndarray]:
        """log2(m/u) per comparison level: the evidence one level contributes."""
        return [np.log2(m / u) for m, u in zip(self.m, self.u, strict=True)]

    @classmethod
    def from_dict(cls, stored: dict, settings: LinkSettings) -> Parameters:
        """The parameters `as_dict` wrote (a run's stored model), in `settings`' level order."""
        comparisons = stored["comparisons"]
        m, u = [], []
        for comp in settings.comparisons:
            levels = comparisons[comp.name]
            m.append(np.array([levels[label]["m"] for label in comp.labels], dtype=np.float64))
            u.append(np.array([levels[label]["u"] for label in comp.labels], dtype=np.float64))
        return cls(m=m, u=u, prior=float(stored["prior"]), sessions=stored.get("sessions", {}))

    def as_dict(self, settings: LinkSettings) -> dict:
        """Readable parameters (for run metadata and docs)."""
        return {
            "prior": self.prior,
            "sessions": self.sessions,
            "comparisons": {
                comp.name: {
                    label: {"m": float(m), "u": float(u), "bits": float(np.log2(m / u))}
                    for label, m, u in zip(comp.labels, self.m[k], self.u[k], strict=True)
                }
                for k, comp in enumerate(settings.comparisons)
            },
        }


def _patterns(levels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Distinct level vectors and how many pairs have each."""
    if levels.shape[0] == 0:
        return levels, np.empty(0, dtype=np.float64)
    radix = int(levels.max()) + 1
    key = np.zeros(levels.shape[0], dtype=np.int64)
    for k in range(levels.shape[1]):
        key = key * radix + levels[:, k]
    _, first, counts = np.unique(key, return_index=True, return_counts=True)
    return levels[first], counts.astype(np.float64)


def _null_mask(comp: Comparison) -> np.ndarray:
    return np.array([level.is_null for level in comp.levels])


def _initial_m(comp: Comparison) -> np.ndarray:
    """Agreement levels (listed first) likely among matches, the last level unlikely."""
    null = _null_mask(comp)
    informative = np.flatnonzero(~null)
    m = np.ones(len(comp.levels))
    raw = 0.5 ** np.arange(len(informative), dtype=np.float64)
    raw[-1] = min(raw[-1], 0.05)
    m[informative] = raw / raw.sum()
    return m


def _initial_u(comp: Comparison) -> np.ndarray:
    null = _null_mask(comp)
    informative = np.flatnonzero(~null)
    u = np.ones(len(comp.levels))
    raw = np.full(len(informative), 0.05)
    raw[-1] = 1.0
    u[informative] = raw / raw.sum()
    return u


def frequencies(levels: np.ndarray, settings: LinkSettings) -> list[np.ndarray]:
    """Share of each level among pairs where the comparison is not null (e.g. random pairs)."""
    out = []
    for k, comp in enumerate(settings.comparisons):
        null = _null_mask(comp)
        counts = np.bincount(levels[:, k], minlength=len(comp.levels)).astype(np.float64)
        counts[null] = 0
        total = counts.sum()
        f = np.ones(len(comp.levels))
        if total > 0:  # add-one smoothing: a level never seen is rare, not impossible
            f[~null] = (counts[~null] + 1) / (total + (~null).sum())
        else:
            f = _initial_u(comp)
        out.append(f)
    return out


@dataclass(frozen=True)
class Session:
    """Candidate pairs that agree on one blocking rule, and the comparisons that rule uses.

    Inside a session the rule's own comparisons agree by construction, so they say
    nothing about m there; they are left out and learnt in the other sessions.
    """

    name: str
    pairs: np.ndarray  # bool mask over candidate pairs
    involved: frozenset[int]  # indices of comparisons the rule is built from


def _session_em(
    patterns: np.ndarray,
    counts: np.ndarray,
    held_out: np.ndarray,
    active: list[int],
    m: list[np.ndarray],
    u: list[np.ndarray],
    settings: LinkSettings,
) -> tuple[dict[int, np.ndarray], float, int]:
    """EM of m (u fixed) over one session's patterns; returns m per active comparison,
    the expected number of matching pairs and the iterations used."""
    comps = settings.comparisons
    nulls = {k: _null_mask(comps[k]) for k in active}
    m = {k: m[k].copy() for k in active}
    m_prior = {k: _initial_m(comps[k]) * settings.em.prior_pairs for k in active}
    log_u = np.zeros(len(patterns))
    for k in active:
        log_u += np.log(u[k][patterns[:, k]])
    share = 0.5
    expected = 0.0
    iterations = 0
    while iterations < settings.em.max_iterations:
        iterations += 1
        log_m = np.zeros(len(patterns))
        for k in active:
            log_m += np.log(m[k][patterns[:, k]])
        logit = np.log(share) - np.log1p(-share) + log_m - log_u
        g = 1.0 / (1.0 + np.exp(-np.clip(logit, -700, 700)))
        g[held_out] = 0.0
        wm = counts * g
        expected = float(wm.sum())
        new_share = float(np.clip(expected / counts.sum(), _FLOOR, 1 - _FLOOR))
        delta = abs(new_share - share)
        share = new_share
        for k in active:
            n_levels = len(comps[k].levels)
            arr = np.bincount(patterns[:, k], weights=wm, minlength=n_levels) + m_prior[k]
            arr[nulls[k]] = 0
            fresh = np.ones(n_levels)
            fresh[~nulls[k]] = np.maximum(arr[~nulls[k]] / arr.sum(), _FLOOR)
            fresh[~nulls[k]] /= fresh[~nulls[k]].sum()
            delta = max(delta, float(np.abs(fresh - m[k]).max()))
            m[k] = fresh
        if delta < settings.em.tolerance:
            break
    return m, expected, iterations


def estimate_m(
    levels: np.ndarray,
    sessions: list[Session],
    u: list[np.ndarray],
    settings: LinkSettings,
    non_match: np.ndarray,
) -> tuple[list[np.ndarray], dict[str, dict]]:
    """m per comparison: EM per blocking session with u fixed, averaged over the sessions
    where the comparison was free, weighted by each session's expected matches."""
    comps = settings.comparisons
    start = [_initial_m(c) for c in comps]
    totals = [np.zeros(len(c.levels)) for c in comps]
    weights = np.zeros(len(comps))
    report: dict[str, dict] = {}
    for session in sessions:
        rows = np.flatnonzero(session.pairs)
        if rows.size == 0:
            continue
        active = [k for k in range(len(comps)) if k not in session.involved]
        stacked = np.column_stack([levels[rows], non_match[rows].astype(levels.dtype)])
        patterns, counts = _patterns(stacked)
        held_out = patterns[:, -1].astype(bool)
        m_session, expected, iterations = _session_em(
            patterns[:, :-1], counts, held_out, active, start, u, settings
        )
        for k, m_k in m_session.items():
            totals[k] += expected * m_k
            weights[k] += expected
        report[session.name] = {
            "pairs": int(rows.size),
            "expected_matches": round(expected, 1),
            "iterations": iterations,
        }
    m = [totals[k] / weights[k] if weights[k] > 0 else start[k] for k in range(len(comps))]
    return m, report


def estimate_prior(
    log2_bayes_factor: np.ndarray, total_pairs: float, non_match: np.ndarray
) -> float:
    """Probability that two random records match, from the candidates' Bayes factors.

    Solves prior = (expected matches among candidates at that prior) / (all pairs): the
    EM update of the prior over *all* pairs, taking pairs that were never candidates as
    non-matches (blocking recall is near 1) and contradictory pairs as non-matches.
    """
    bf = log2_bayes_factor[~non_match]
    if bf.size == 0 or total_pairs <= 0:
        return _FLOOR
    # Bayes factors rounded to 1/100 bit: millions of pairs, a few thousand distinct values.
    bf, weight = np.unique(np.round(bf, 2), return_counts=True)
    prior = min(0.5, weight.sum() / total_pairs / 2)
    for _ in range(200):
        logit = np.log2(prior / (1 - prior)) + bf
        expected = float((weight / (1.0 + np.exp2(-np.clip(logit, -1000, 1000)))).sum())
        new_prior = min(max(expected / total_pairs, 1e-15), 0.5)
        if abs(np.log(new_prior / prior)) < 1e-6:
            prior = new_prior
            break
        prior = new_prior
    return prior


def estimate(
    levels: np.ndarray,
    tf_bits: np.ndarray,
    settings: LinkSettings,
    u: list[np.ndarray],
    sessions: list[Session],
    non_match: np.ndarray,
    total_pairs: float,
) -> Parameters:
    """Fellegi–Sunter parameters without labels, as Splink estimates them.

    u: level frequencies among random pairs (given). m: EM per blocking session with u
    fixed (`estimate_m`). Prior: `estimate_prior` over all pairs. `non_match` marks pairs
    the settings' contradictions declare two people (two birth dates, two given names):
    non-matches by definition, held out of the match class, so a couple sharing a
    landline and an address does not teach the model that a different given name is
    no evidence against a match.
    """
    m, report = estimate_m(levels, sessions, u, settings, non_match)
    params = Parameters(m=m, u=u, prior=0.5, sessions=report)
    bits = params.level_bits()
    log_bf = np.zeros(levels.shape[0])
    for k in range(len(settings.comparisons)):
        log_bf += bits[k][levels[:, k]] + tf_bits[:, k]
    params.prior = estimate_prior(log_bf, total_pairs, non_match)
    return params


_SCORE_BATCH = 1_000_000  # pairs whose weights are built at once


@dataclass
class Scored:
    level_bits: list[np.ndarray]  # per comparison, the bits of each level
    levels: np.ndarray  # (pairs, comparisons) int8, as compared
    tf_bits: dict[int, np.ndarray]  # comparison → float32 term-frequency bits per pair
    log_odds: np.ndarray  # float64 bits, prior included
    probability: np.ndarray

    def weights(self, pairs: np.ndarray | slice | None = None) -> np.ndarray:
        """(pairs, comparisons) float32 bits, term frequency included, of the given pairs.

        Built on demand from the levels: a full matrix would cost 4 bytes per comparison
        and pair (gigabytes at tens of millions of pairs), and only a few pairs are shown.
        """
        sel = slice(None) if pairs is None else pairs
        levels = self.levels[sel]
        out = np.empty(levels.shape, dtype=np.float32)
        for k, bits in enumerate(self.level_bits):
            weight = bits[levels[:, k]]
            if k in self.tf_bits:
                weight = weight + self.tf_bits[k][sel]
            out[:, k] = weight
        return out

    def weight(self, k: int) -> np.ndarray:
        """float32 bits of comparison k for every pair."""
        weight = self.level_bits[k][self.levels[:, k]]
        if k in self.tf_bits:
            weight = weight + self.tf_bits[k]
        return weight.astype(np.float32)


def score(compared: Compared, params: Parameters, settings: LinkSettings) -> Scored:
    n, n_comp = compared.levels.shape
    tf = compared.tf_bits
    scored = Scored(
        level_bits=params.level_bits(),
        levels=compared.levels,
        # Only comparisons with an adjustment somewhere: the others' bits are all zero.
        tf_bits={
            k: np.ascontiguousarray(tf[:, k]) for k in range(n_comp) if tf.size and tf[:, k].any()
        },
        log_odds=np.empty(n, dtype=np.float64),
        probability=np.empty(n, dtype=np.float64),
    )
    prior_bits = np.log2(params.prior / (1 - params.prior))
    for start in range(0, n, _SCORE_BATCH):
        batch = slice(start, start + _SCORE_BATCH)
        log_odds = prior_bits + scored.weights(batch).sum(axis=1, dtype=np.float64)
        scored.log_odds[batch] = log_odds
        scored.probability[batch] = 1.0 / (1.0 + np.exp2(-np.clip(log_odds, -1000, 1000)))
    return scored
