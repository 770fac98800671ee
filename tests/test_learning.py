"""Reviewers teach the model (entity_resolution/learning.py): pure functions on comparison
vectors, no database. The end-to-end case is in tests/test_identity.py."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd

from entity_resolution import learning
from entity_resolution.settings import DEALER

_LEVELS = {comp.name: comp for comp in DEALER.comparisons}


def vector(**levels: str) -> np.ndarray:
    """One pair's comparison levels by label; a comparison not named is missing (level 0)."""
    out = np.zeros(len(DEALER.comparisons), dtype=np.int8)
    for k, comp in enumerate(DEALER.comparisons):
        if comp.name in levels:
            out[k] = comp.level_number(levels[comp.name])
    return out


# A phone and nothing else to compare: Fellegi–Sunter leaves such pairs uncertain.
PHONE_ONLY = vector(phone="exact")
# One name, one street, another phone and e-mail: a family, not a person.
FAMILY = vector(
    first_name="different", last_name="exact", phone="different", email="different", street="exact"
)
NAMESAKES = vector(first_name="exact", last_name="exact", phone="different", street="different")


def taught(*groups: tuple[np.ndarray, bool, int]) -> learning.Verdicts:
    """Verdicts: (levels, same person, how many) per group."""
    levels = np.vstack([np.repeat(v[None, :], n, axis=0) for v, _, n in groups])
    match = np.concatenate([np.full(n, same) for _, same, n in groups])
    return learning.Verdicts(match=match, levels=levels, pairs=np.empty(0, dtype=np.int64))


def test_verdicts_turn_an_uncertain_phone_only_pair_into_a_link():
    pending = np.vstack([PHONE_ONLY, FAMILY])
    fs = np.array([0.87, 0.62])  # both in the review band
    no_contradiction = np.zeros(2, dtype=bool)
    nobody = learning.Verdicts(
        match=np.empty(0, dtype=bool), levels=np.empty((0, 10)), pairs=np.empty(0, dtype=np.int64)
    )
    before = learning.learn(taught((PHONE_ONLY, True, 9), (FAMILY, False, 12)), DEALER)
    assert before is None  # nine verdicts of one kind: not yet enough to teach
    assert learning.promoted(before, fs, pending, no_contradiction, nobody, DEALER) is None

    learnt = learning.learn(
        taught((PHONE_ONLY, True, 12), (FAMILY, False, 10), (NAMESAKES, False, 4)), DEALER
    )
    assert learnt is not None and (learnt.matches, learnt.non_matches) == (12, 14)
    promoted = learning.promoted(learnt, fs, pending, no_contradiction, nobody, DEALER)
    assert promoted.tolist() == [True, False]  # the phone-only pair becomes a link
    assert learning.dismissed(learnt, pending, DEALER).tolist() == [False, True]


def test_a_pair_outside_the_band_or_already_decided_is_left_to_the_model_and_the_verdict():
    learnt = learning.learn(taught((PHONE_ONLY, True, 12), (FAMILY, False, 12)), DEALER)
    pending = np.vstack([PHONE_ONLY, PHONE_ONLY, PHONE_ONLY])
    fs = np.array([0.3, 0.87, 0.87])  # below the band, in it, in it but decided
    decided = learning.Verdicts(
        match=np.array([False]), levels=PHONE_ONLY[None, :], pairs=np.array([2])
    )
    promoted = learning.promoted(learnt, fs, pending, np.zeros(3, dtype=bool), decided, DEALER)
    assert promoted.tolist() == [False, True, False]


def test_the_learnt_classifier_is_the_same_after_storing_it():
    learnt = learning.learn(taught((PHONE_ONLY, True, 12), (FAMILY, False, 11)), DEALER)
    again = learning.Learnt.from_dict(learnt.as_dict(DEALER), DEALER)
    levels = np.vstack([PHONE_ONLY, FAMILY, NAMESAKES])
    assert np.array_equal(again.probability(levels), learnt.probability(levels))
    twice = learning.learn(taught((PHONE_ONLY, True, 12), (FAMILY, False, 11)), DEALER)
    assert np.array_equal(twice.probability(levels), learnt.probability(levels))


def test_the_queue_asks_first_about_the_pattern_a_verdict_would_teach_most():
    patterns = learning.pattern_keys(np.vstack([PHONE_ONLY] * 40 + [FAMILY, NAMESAKES]))
    probability = np.r_[np.full(40, 0.87), 0.5, 0.5]
    tie = np.arange(42)
    nothing_taught = pd.Series(dtype=np.float64)
    first = learning.priority(patterns, probability, nothing_taught, tie)
    # Forty pending pairs share the phone-only pattern: its first pair teaches the most,
    # though the two lone pairs sit at exactly one half ...
    assert np.argmax(first) < 40
    # ... and its next pairs teach less and less: the lone pairs come before its fourth.
    phone_only = np.sort(first[:40])[::-1]
    assert phone_only[0] > phone_only[1] > phone_only[2] > first[40] > phone_only[3]
    # Once the pattern has verdicts, the pairs nobody has spoken about come first.
    after = learning.priority(patterns, probability, pd.Series({patterns[0]: 10.0}), tie)
    assert set(np.argsort(-after)[:2]) == {40, 41}


# A landline and a street, nothing else: in this data, a household's two people.
HOME = vector(phone="exact", street="exact")


def test_a_linked_pattern_stays_linked_until_its_own_verdicts_turn_against_it():
    pending = np.vstack([PHONE_ONLY, HOME])
    fs = np.array([0.87, 0.6])  # both in the review band
    no_contradiction = np.zeros(2, dtype=bool)
    nobody = learning.Verdicts(
        match=np.empty(0, dtype=bool), levels=np.empty((0, 10)), pairs=np.empty(0, dtype=np.int64)
    )

    def run(before, *groups):
        """A full run: learn from every verdict so far, link, remember (and store)."""
        learnt = learning.learn(taught(*groups), DEALER, before)
        links = learning.promoted(learnt, fs, pending, no_contradiction, nobody, DEALER)
        kept = learning.remember(learnt, fs, pending, no_contradiction, DEALER)
        return links.tolist(), learning.Learnt.from_dict(kept.as_dict(DEALER), DEALER)

    first = [(PHONE_ONLY, True, 10), (FAMILY, False, 10), (NAMESAKES, False, 4)]
    links, stored = run(None, *first)
    assert links == [True, False]  # ten of ten: the phone-only pattern is linked
    assert stored.held == {learning.pattern_keys(PHONE_ONLY[None])[0]: (True, 1)}

    # Twenty verdicts on another pattern sharing the phone move the shared regression:
    # learnt afresh, the phone-only pattern falls under the threshold (the old behaviour) ...
    later = [*first, (HOME, False, 20)]
    afresh = learning.learn(taught(*later), DEALER)
    assert afresh.probability(PHONE_ONLY[None])[0] < DEALER.match_threshold
    assert run(None, *later)[0] == [False, False]
    # ... but the run after the first keeps it linked: its own verdicts have not changed.
    links, stored = run(stored, *later)
    assert links == [True, False]
    assert stored.held[learning.pattern_keys(HOME[None])[0]] == (False, 1)  # dismissed, kept

    # One "two people" of eleven (share 0.91, not under HOLD_SHARE): still linked.
    links, stored = run(stored, *later, (PHONE_ONLY, False, 1))
    assert links == [True, False]
    # Held over forty pairs, three "two people" of thirteen count against the forty: once a
    # pattern is linked, the queue shows only the pairs clustering kept apart all the same.
    phone_only = learning.pattern_keys(PHONE_ONLY[None])[0]
    many = dataclasses.replace(stored, held={**stored.held, phone_only: (True, 40)})
    assert run(many, *later, (PHONE_ONLY, False, 3))[0] == [True, False]
    assert run(many, *later, (PHONE_ONLY, False, 9))[0] == [False, False]  # 9 > 40 / 5
    # Three of thirteen (share 0.77): its own verdicts turn, and it is decided afresh.
    links, stored = run(stored, *later, (PHONE_ONLY, False, 3))
    assert links == [False, False]
    assert phone_only not in stored.held
