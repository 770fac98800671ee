"""Given names as evidence, and records known by a contact alone.

Pure logic, no database: the given-name comparison, the given-name exclusive, the turned
names of one record, and a phone-only record following the one customer holding it.
"""

from __future__ import annotations

import dataclasses
from types import SimpleNamespace

import numpy as np
import pandas as pd

from entity_resolution import standardize as std
from entity_resolution.blocking import Candidates
from entity_resolution.clustering import Clusters, cluster
from entity_resolution.comparisons import compare_one, encode
from entity_resolution.engine import _attach_followers, _exclusives, _turned_given_names
from entity_resolution.settings import DEALER

_NONE = np.empty(0, dtype=np.int64)
_FIRST = DEALER.comparison("first_name")
_SHORT = _FIRST.labels[_FIRST.labels.index("different") - 1]


def _first_name_levels(pairs: list[tuple[str, str]]) -> list[str]:
    """The given-name comparison's level for each pair (formal-name key = the name)."""
    names = [a for a, _ in pairs] + [b for _, b in pairs]
    frame = pd.DataFrame({"first_name": names, "first_name_key": names}, dtype="string")
    encodings = encode(frame, ["first_name"]) + encode(frame, ["first_name_key"])
    n = len(pairs)
    levels = compare_one(
        _FIRST,
        [enc.codes[:n] for enc in encodings],
        [enc.codes[n:] for enc in encodings],
        encodings,
    )
    return [_FIRST.labels[k] for k in levels]


def test_two_whole_names_that_only_begin_alike_are_two_given_names():
    # Spouses Mark and Margaret, Michel and Mario, Line and Luc: one initial, two people.
    levels = _first_name_levels([("mark", "margaret"), ("michel", "mario"), ("line", "luc")])
    assert levels == ["different"] * 3


def test_an_initial_initials_or_one_slip_are_the_same_given_name():
    levels = _first_name_levels(
        [
            ("j", "jean"),
            ("jp", "jean philippe"),
            ("jy", "jean yves"),
            ("j", "marie josee"),  # an initial of the part she goes by
            ("jnu", "jun"),  # two letters exchanged in a short name
        ]
    )
    assert levels == [_SHORT] * 5


def test_a_slip_in_the_formal_name_behind_a_nickname_is_one_given_name():
    # Patricia's records: `Trish` and `Ptaricia` (a slip); her formal name is their key.
    names = ["trish", "ptaricia", "bob"]
    other = ["ptaricia", "trish", "rboert"]
    frame = pd.DataFrame({"first_name": names + other}, dtype="string")
    frame["first_name_key"] = std.first_name_key(frame["first_name"])
    encodings = encode(frame, ["first_name"]) + encode(frame, ["first_name_key"])
    levels = compare_one(
        _FIRST,
        [enc.codes[:3] for enc in encodings],
        [enc.codes[3:] for enc in encodings],
        encodings,
    )
    assert [_FIRST.labels[k] for k in levels] == ["very similar (Jaro-Winkler ≥ 0.92)"] * 3


def test_two_common_given_names_of_one_household_are_two_people_a_rare_slip_is_not():
    # A household's Mark and Maria, Patrick and Patricia, Daniel and Danielle: each name
    # on many records. Maia (one record) is a slip of Maria; Luis, one slip from Louis,
    # is left to the similarity levels even when common.
    common = ["mark", "maria", "patrick", "patricia", "daniel", "danielle", "louis", "luis"]
    filler = [f"name{k:04d}" for k in range(2000)]  # other people's given names
    names = common * 5 + ["maia"] + filler
    frame = pd.DataFrame({"first_name": names}, dtype="string")
    frame["first_name_key"] = frame["first_name"]
    encodings = encode(frame, ["first_name"]) + encode(frame, ["first_name_key"])
    code = {name: encodings[0].codes[names.index(name)] for name in set(names)}
    pairs = [("mark", "maria"), ("patrick", "patricia"), ("daniel", "danielle"),
             ("maia", "maria"), ("louis", "luis")]  # fmt: skip
    a = [np.array([code[x] for x, _ in pairs])] * 2
    b = [np.array([code[y] for _, y in pairs])] * 2
    levels = [_FIRST.labels[k] for k in compare_one(_FIRST, a, b, encodings)]
    two = next(label for label in _FIRST.labels if label.startswith("two given names"))
    assert levels[:3] == [two] * 3
    assert levels[3] != two and levels[4] != two
    # The level is a contradiction: two such names never link and keep their clusters apart.
    rule = next(c for c in DEALER.contradictions if c.name == "different given names")
    assert two in rule.levels["first_name"]


def _given_name_exclusive(names: list[str], records: list[int]):
    frame = pd.DataFrame({"first_name": names, "last_name": ["grenier"] * len(names)})
    frame["first_name_key"] = frame["first_name"]
    first, last = encode(frame, ["first_name", "last_name"])
    (key,) = encode(frame, ["first_name_key"])
    encodings = {"first_name": first, "last_name": last, "first_name_key": key}
    settings = dataclasses.replace(DEALER, exclusive=("first_name",))
    (exclusive,) = _exclusives(settings, encodings, np.array(records))
    return exclusive


def test_a_given_name_written_once_does_not_cut_a_customer_in_two():
    # Eric Grenier's records: `eric` twice, and two slips (`ertc`, `ebic`), each on one
    # record; each slip is one letter from `eric`, two from the other slip.
    exclusive = _given_name_exclusive(["eric", "ertc", "ebic", "eric"], [3, 1, 1, 2])
    assert (exclusive.codes[[1, 2]] == -1).all() and (exclusive.codes[[0, 3]] >= 0).all()
    links = (np.array([0, 2, 1]), np.array([1, 3, 2]), np.array([20.0, 20.0, 5.0]))
    result = cluster(4, *links, _NONE, _NONE, exclusives=(exclusive,))
    assert len(set(result.labels.tolist())) == 1
    # Two names each written more than once are two people, however they are linked.
    couple = _given_name_exclusive(["mark", "mark", "margaret", "margaret"], [1, 2, 1, 1])
    result = cluster(4, *links, _NONE, _NONE, exclusives=(couple,))
    assert result.labels[0] == result.labels[1] != result.labels[2] == result.labels[3]


def test_a_record_read_with_its_names_turned_does_not_hold_its_cluster_to_its_given_name():
    # 0: `T James` (a LAST F habit read the other way), linked to 1 (James Tran) only with
    # its names exchanged; 1 and 2 are linked in the usual order.
    exclusive = _given_name_exclusive(["t", "james", "james"], [2, 2, 2])
    candidates = Candidates(np.array([0, 1]), np.array([1, 2]), {}, {})
    confident = np.array([True, True])
    (turned,) = _turned_given_names(
        (exclusive,), DEALER, candidates, confident, swapped=np.array([True, False])
    )
    assert turned.codes[0] == -1 and (turned.codes[1:] == exclusive.codes[1:]).all()
    result = cluster(3, np.array([0, 1]), np.array([1, 2]), np.array([20.0, 20.0]),
                     _NONE, _NONE, exclusives=(turned,))  # fmt: skip
    assert len(set(result.labels.tolist())) == 1
    # Read in the usual order, `t` and `james` are two given names.
    kept = cluster(3, np.array([0, 1]), np.array([1, 2]), np.array([20.0, 20.0]),
                   _NONE, _NONE, exclusives=(exclusive,))  # fmt: skip
    assert kept.labels[0] != kept.labels[1]


def test_a_record_known_by_a_phone_alone_follows_the_one_customer_holding_it():
    # 0, 1: one customer with mobile A; 2: a lead with mobile A and nothing else.
    # 3, 4: two spouses (two customers) sharing landline B; 5: a lead with B alone.
    columns = list(DEALER.identity_columns)
    frame = pd.DataFrame({c: pd.Series([None] * 6, dtype="string") for c in columns})
    frame["first_name"] = pd.Series(["ana", "ana", None, "luc", "line", None], dtype="string")
    frame["last_name"] = pd.Series(["roy", "roy", None, "guay", "guay", None], dtype="string")
    frame["phone"] = pd.Series(["A", "A", "A", "B", "B", "B"], dtype="string")
    candidates = Candidates(np.array([0, 0, 1, 3, 3, 4]), np.array([1, 2, 2, 4, 5, 5]), {}, {})
    scored = SimpleNamespace(probability=np.array([0.99, 0.9, 0.9, 0.6, 0.9, 0.9]))
    clusters = Clusters(labels=np.array([0, 0, 1, 2, 3, 4]), tree=np.array([0]),
                        rebuilt_components=0)  # fmt: skip
    decided = (_NONE, _NONE, _NONE, _NONE)
    _attach_followers(frame, candidates, scored, clusters, decided, DEALER)
    labels = clusters.labels
    assert labels[2] == labels[0] == labels[1]  # whoever answers mobile A
    assert len({labels[3], labels[4], labels[5]}) == 3  # a household's landline: nobody's
