"""Reviewers teach the model: their verdicts train a classifier that re-scores the
uncertain band, and the review queue asks first what a verdict would teach most.

Fellegi–Sunter (`scoring.py`) learns without labels, so it cannot know what only a person
can tell: that two records sharing nothing but a phone are, in this data, nearly always
one person, or that a shared surname and street with different contacts is a family.
Every verdict is a labelled comparison vector. Once there are enough of both kinds
(`LearningSettings.min_verdicts_per_class`), recordlinkage's `LogisticRegressionClassifier`
learns a weight per comparison level (one-hot levels; a level that carries no evidence,
a value missing on one side, has no column) from every decided pair, compared. Weights
shared by every pattern cannot say that one pattern (a phone and nothing else on one
side) is nearly always one person while its levels elsewhere are not, so a pattern's own
verdicts speak for its pairs, the regression counting as `prior_verdicts` verdicts beside
them (a Beta prior centred on it). That probability re-scores every undecided pair of the
review band: a pair it calls a match as surely as the match threshold asks becomes a
link, one it calls a non-match as surely leaves the queue, the rest wait for a person.

The classifier reads levels only, not the Fellegi–Sunter weights (term frequencies vary
with the data around a pair): the same verdicts and the same data give the same weights,
on one machine or on Spark, in a full run or in an increment (which uses the full run's,
stored with its model: `Learnt.as_dict`).

Which pair a person should see first (`priority`): a verdict teaches about every pending
pair that shares its comparison pattern (the same level on every comparison), so a pair
counts for as many pending pairs as its pattern holds, times how unsure the model is about
it (1 at probability one half, 0 at certainty): information density times uncertainty
(Settles and Craven, 2008). What one more verdict tells about a pattern shrinks with the
verdicts it has: the uncertainty of a rate estimated from k verdicts falls as 1/k, so the
next one removes about 1/k² of it; a pattern's verdicts so far and its pairs queued ahead
count as k. Before the classifier is in force, the model is Fellegi–Sunter.

What reviewers taught stays taught (`Learnt.held`): a comparison pattern the classifier
linked in a run's review band stays linked in later runs, and one it dismissed stays
dismissed, whatever verdicts on other patterns do to the shared regression, until the
pattern's own verdicts turn against it: at least `HOLD_MIN_VERDICTS` of them, with a
same-person share under `HOLD_SHARE` (over 1 − `HOLD_SHARE` for a dismissed one), the share
taken over the pattern's pairs in the band when it was held if they outnumber its verdicts.
Then the pattern is decided afresh. A pattern linked at 0.95 whose pairs are truly one
person 95 % of the time gives two or more "two people" among five fairly drawn verdicts
about 2 % of the time; below 0.8 its own reviewers say it was not what the model thought.
Verdicts after a pattern is linked are not drawn fairly: the queue then holds only those of
its pairs that clustering kept apart all the same (a cannot-link, a contradiction in the
cluster), mostly two people, so a "two people" among them counts against all the pattern's
pairs, not against its verdicts (seed 2026 in docs/benchmarks.md: 5 such among 1,960 pairs
would otherwise have released a pattern 13 of 13 fair verdicts called one person).
Without this, a pattern on the
threshold flips (a customer split in one run, merged again in the next) each time verdicts
elsewhere move the regression a little. The memory travels with the stored model, so a full
run continues the one before it and an increment uses the full run's.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd

from entity_resolution.settings import LinkSettings

# A held pattern (linked or dismissed by the classifier in an earlier run) is decided afresh
# only once it has this many verdicts of its own ...
HOLD_MIN_VERDICTS = 5
# ... with a same-person share under this (a linked pattern) or over 1 − this (dismissed).
HOLD_SHARE = 0.8


@dataclass(frozen=True)
class Verdicts:
    """People's verdicts, each on a pair of signatures, with the pair's comparison levels."""

    match: np.ndarray  # bool: same person
    levels: np.ndarray  # (verdicts, comparisons)
    pairs: np.ndarray  # candidate pair index of each verdict on a candidate pair, ascending


def decided_pairs(
    decided: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray],
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The decided signature pairs (must left, must right, cannot left, cannot right) as
    (left, right, same person), left < right, each pair once (its must-link first)."""
    must_left, must_right, cannot_left, cannot_right = decided
    a = np.r_[must_left, cannot_left].astype(np.int64)
    b = np.r_[must_right, cannot_right].astype(np.int64)
    match = np.r_[np.ones(must_left.size, dtype=bool), np.zeros(cannot_left.size, dtype=bool)]
    left, right = np.minimum(a, b), np.maximum(a, b)
    pairs = pd.DataFrame({"left": left, "right": right})
    first = ~pairs.duplicated().to_numpy() & (left != right)
    return left[first], right[first], match[first]


def verdicts(
    left: np.ndarray,
    right: np.ndarray,
    n: int,
    decided: tuple[np.ndarray, np.ndarray, np.ndarray],
    levels: np.ndarray,
) -> Verdicts:
    """`decided` (as `decided_pairs` gives them) with their `levels`, and which candidate
    pairs (`left` < `right`, of `n` signatures) they are."""
    wanted = decided[0] * n + decided[1]
    keys = left.astype(np.int64) * n + right.astype(np.int64)
    pairs = np.empty(0, dtype=np.int64)
    if keys.size and wanted.size:
        ordered = bool(np.all(keys[1:] >= keys[:-1]))  # candidates come sorted (engine.py)
        order = None if ordered else np.argsort(keys, kind="stable")
        at = np.minimum(np.searchsorted(keys, wanted, sorter=order), keys.size - 1)
        at = at if order is None else order[at]
        pairs = np.unique(at[keys[at] == wanted])
    return Verdicts(match=decided[2], levels=levels, pairs=pairs)


@dataclass(frozen=True)
class Learnt:
    """The classifier as a weight (logit) per comparison level (a null level weighs 0),
    and the verdicts on each comparison pattern."""

    intercept: float
    weights: tuple[np.ndarray, ...]  # per comparison, one weight per level
    matches: int  # verdicts it learnt from, of each kind
    non_matches: int
    patterns: dict[str, tuple[int, int]]  # pattern → (verdicts "same person", verdicts)
    prior_verdicts: float  # LearningSettings.prior_verdicts
    # pattern → linked (True) or dismissed (False) by an earlier run, until its own verdicts
    # turn against that (module docstring)
    # … with its pairs in the review band when it was held: {pattern: (linked, pairs)}
    held: dict[str, tuple[bool, int]] = field(default_factory=dict)

    def probability(self, levels: np.ndarray) -> np.ndarray:
        """Probability of a match for pairs with these comparison levels: the regression's,
        counted as `prior_verdicts` verdicts beside those on the pair's own pattern."""
        return self._probability(levels, pattern_keys(levels))

    def decide(self, levels: np.ndarray, threshold: float) -> tuple[np.ndarray, np.ndarray]:
        """(link, two people) for pairs with these levels: a held pattern as it is held, any
        other by its probability against `threshold` (and 1 − `threshold`)."""
        keys = pattern_keys(levels)
        probability = self._probability(levels, keys)
        linked = {key: held[0] for key, held in self.held.items()}
        held = pd.Series(linked, dtype=object).reindex(keys).to_numpy()
        free = pd.isna(held)
        link = np.where(free, probability >= threshold, held == True)  # noqa: E712
        apart = np.where(free, probability <= 1.0 - threshold, held == False)  # noqa: E712
        return link.astype(bool), apart.astype(bool)

    def _probability(self, levels: np.ndarray, keys: np.ndarray) -> np.ndarray:
        logit = np.full(levels.shape[0], self.intercept, dtype=np.float64)
        for k, weight in enumerate(self.weights):
            logit += weight[levels[:, k]]
        regression = 1.0 / (1.0 + np.exp(-logit))
        counts = pd.DataFrame.from_dict(
            self.patterns, orient="index", columns=["same", "verdicts"], dtype=np.float64
        ).reindex(keys, fill_value=0.0)
        return (counts["same"].to_numpy() + self.prior_verdicts * regression) / (
            counts["verdicts"].to_numpy() + self.prior_verdicts
        )

    def as_dict(self, settings: LinkSettings) -> dict:
        """Readable weights (stored with a full run's model; read back by `from_dict`)."""
        return {
            "intercept": self.intercept,
            "matches": self.matches,
            "non_matches": self.non_matches,
            "weights": {
                comp.name: dict(zip(comp.labels, map(float, self.weights[k]), strict=True))
                for k, comp in enumerate(settings.comparisons)
            },
            "patterns": {key: list(counts) for key, counts in self.patterns.items()},
            "prior_verdicts": self.prior_verdicts,
            "held": {key: list(held) for key, held in sorted(self.held.items())},
        }

    @classmethod
    def from_dict(cls, stored: dict | None, settings: LinkSettings) -> Learnt | None:
        if not stored:
            return None
        weights = tuple(
            np.array([stored["weights"][comp.name][label] for label in comp.labels])
            for comp in settings.comparisons
        )
        return cls(
            intercept=float(stored["intercept"]),
            weights=weights,
            matches=int(stored["matches"]),
            non_matches=int(stored["non_matches"]),
            patterns={key: (int(m), int(n)) for key, (m, n) in stored["patterns"].items()},
            prior_verdicts=float(stored["prior_verdicts"]),
            held={
                key: (bool(linked), int(pairs))
                for key, (linked, pairs) in stored.get("held", {}).items()
            },
        )


def _columns(settings: LinkSettings) -> list[tuple[int, int]]:
    """(comparison, level) of each one-hot feature: every level that carries evidence."""
    return [
        (k, j)
        for k, comp in enumerate(settings.comparisons)
        for j, level in enumerate(comp.levels)
        if not level.is_null
    ]


def learn(found: Verdicts, settings: LinkSettings, before: Learnt | None = None) -> Learnt | None:
    """A logistic regression over the verdicts' one-hot levels, or None while either kind
    of verdict is rarer than the settings ask (or learning is off).

    `before`: the classifier of the run before (stored with its model), whose held
    patterns stay held unless their own verdicts now turn against them (`_turned`)."""
    rules = settings.learning
    matches = int(found.match.sum())
    non_matches = int(found.match.size - matches)
    if not rules.enabled or min(matches, non_matches) < rules.min_verdicts_per_class:
        return None
    # Imported here: scikit-learn takes seconds to load, and most runs have no verdicts.
    import recordlinkage

    columns = _columns(settings)
    features = np.column_stack([found.levels[:, k] == j for k, j in columns]).astype(np.float64)
    verdict = np.arange(found.match.size)
    index = pd.MultiIndex.from_arrays([verdict, verdict])
    classifier = recordlinkage.LogisticRegressionClassifier(
        C=rules.regularization, solver="lbfgs", max_iter=1000
    )
    classifier.fit(pd.DataFrame(features, index=index), index[found.match])
    weights = [np.zeros(len(comp.levels)) for comp in settings.comparisons]
    for (k, j), coefficient in zip(columns, classifier.coefficients, strict=True):
        weights[k][j] = float(coefficient)
    by_pattern = pd.DataFrame({"pattern": pattern_keys(found.levels), "same": found.match})
    by_pattern = by_pattern.groupby("pattern")["same"].agg(["sum", "size"])
    patterns = {
        key: (int(same), int(size))
        for key, same, size in zip(
            by_pattern.index, by_pattern["sum"], by_pattern["size"], strict=True
        )
    }
    held = {} if before is None else before.held
    return Learnt(
        intercept=float(classifier.intercept),
        weights=tuple(weights),
        matches=matches,
        non_matches=non_matches,
        patterns=patterns,
        prior_verdicts=rules.prior_verdicts,
        held={
            key: (linked, pairs)
            for key, (linked, pairs) in held.items()
            if not _turned(linked, pairs, *patterns.get(key, (0, 0)))
        },
    )


def _turned(linked: bool, pairs: int, same: int, verdicts: int) -> bool:
    """Whether a held pattern's own verdicts turn against how it is held: its verdicts of
    the other kind over its verdicts, or over its `pairs` when more (module docstring)."""
    if verdicts < HOLD_MIN_VERDICTS:
        return False
    against = verdicts - same if linked else same
    return against > (1.0 - HOLD_SHARE) * max(pairs, verdicts)


def remember(
    learnt: Learnt | None,
    probability: np.ndarray,
    levels: np.ndarray,
    contradiction: np.ndarray,
    settings: LinkSettings,
) -> Learnt | None:
    """`learnt`, holding besides the patterns of this run's review band (Fellegi–Sunter
    `probability` per candidate pair) that it links or dismisses: what the run decided, for
    the runs after it to keep."""
    if learnt is None:
        return None
    band = np.flatnonzero(in_band(probability, contradiction, settings))
    keys, first, counts = np.unique(
        pattern_keys(levels[band]).astype(str), return_index=True, return_counts=True
    )
    link, apart = learnt.decide(levels[band[first]], settings.match_threshold)
    held = dict(learnt.held)
    for key, pairs, linked, dismissed in zip(keys.tolist(), counts, link, apart, strict=True):
        if key not in held and (linked or dismissed):
            held[key] = (bool(linked), int(pairs))
    return replace(learnt, held=dict(sorted(held.items())))


def in_band(probability: np.ndarray, contradiction: np.ndarray, settings: LinkSettings):
    """Pairs Fellegi–Sunter leaves uncertain (the review band), contradictions left out."""
    low, high = settings.review_band
    return (probability >= low) & (probability < high) & ~contradiction


def promoted(
    learnt: Learnt | None,
    probability: np.ndarray,
    levels: np.ndarray,
    contradiction: np.ndarray,
    found: Verdicts,
    settings: LinkSettings,
) -> np.ndarray | None:
    """Undecided band pairs the classifier calls a match at the match threshold: links."""
    if learnt is None:
        return None
    band = in_band(probability, contradiction, settings)
    band[found.pairs] = False
    pairs = np.flatnonzero(band)
    out = np.zeros(probability.size, dtype=bool)
    out[pairs[learnt.decide(levels[pairs], settings.match_threshold)[0]]] = True
    return out


def dismissed(learnt: Learnt | None, levels: np.ndarray, settings: LinkSettings) -> np.ndarray:
    """Pairs (of these levels) the classifier calls two people as surely: out of review."""
    if learnt is None:
        return np.zeros(levels.shape[0], dtype=bool)
    return learnt.decide(levels, settings.match_threshold)[1]


def pattern_keys(levels: np.ndarray) -> np.ndarray:
    """Each pair's comparison levels as one text key ("1.1.0.2"): its evidence pattern."""
    if levels.shape[0] == 0:
        return np.empty(0, dtype=object)
    key = pd.Series(levels[:, 0].astype(str))
    for k in range(1, levels.shape[1]):
        key = key + "." + levels[:, k].astype(str)
    return key.to_numpy(dtype=object)


def pair_hash(keys: pd.DataFrame) -> np.ndarray:
    """A fixed pseudo-random number per pair (its record keys, hashed): the order of pairs
    the model cannot tell apart, so that a pattern's verdicts are a fair sample of it, not
    its first pairs by record number (often one record's many pairs)."""
    return pd.util.hash_pandas_object(keys, index=False).to_numpy()


def priority(
    pattern: np.ndarray, probability: np.ndarray, taught: pd.Series, tie: np.ndarray
) -> np.ndarray:
    """How much a verdict on each pending pair would teach (higher first).

    `pattern` and `probability` (the model's: learnt where in force, else Fellegi–Sunter)
    per pending pair, `tie` (`pair_hash`) orders a pattern's equally unsure pairs;
    `taught`: verdicts per pattern.
    A pair stands for the pending pairs of its pattern, times how unsure the model is
    about it, divided by the square of one plus the pattern's verdicts and its pairs ranked
    ahead (more unsure first).
    """
    unsure = 1.0 - np.abs(2.0 * np.asarray(probability, dtype=np.float64) - 1.0)
    frame = pd.DataFrame(
        {"pattern": pattern, "unsure": unsure, "tie": tie, "at": np.arange(unsure.size)}
    )
    frame = frame.sort_values(
        ["pattern", "unsure", "tie", "at"], ascending=[True, False, True, True], kind="stable"
    )
    group = frame.groupby("pattern", sort=False)
    ahead = group.cumcount().to_numpy()
    pending = group["at"].transform("size").to_numpy()
    verdicts = taught.reindex(frame["pattern"]).fillna(0).to_numpy()
    out = np.empty(unsure.size)
    out[frame["at"].to_numpy()] = (
        frame["unsure"].to_numpy() * pending / (1.0 + ahead + verdicts) ** 2
    )
    return out
