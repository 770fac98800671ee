"""A cluster known by a name alone joins the one identified customer bearing that name.

Pure logic, no database: `engine._attach_by_name` on hand-built signatures.
"""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pandas as pd

from entity_resolution.blocking import Candidates
from entity_resolution.clustering import Clusters, Exclusive
from entity_resolution.comparisons import encode
from entity_resolution.engine import _attach_by_name, _full_names, _identified_signatures
from entity_resolution.settings import DEALER

_NONE = np.empty(0, dtype=np.int64)

# 0, 1: Ana Roy with her mobile A; 2: a lead "Ana Roy" and nothing else.
# 3: Luc Guay (mobile B) and 4: Luc Guay his son (mobile C), two customers; 5: a
# registration "Luc Guay" with no contact. 6: a lead "J Roy" (an initial: no full name).
_FIRST = ["ana", "ana", "ana", "luc", "luc", "luc", "j"]
_LAST = ["roy", "roy", "roy", "guay", "guay", "guay", "roy"]
_PHONE = ["A", "A", None, "B", "C", None, None]
_PAIRS = ([0, 0, 1, 3, 4, 3, 0], [1, 2, 2, 5, 5, 4, 6])


def _problem(apart_pair: int | None = None):
    columns = list(DEALER.identity_columns)
    frame = pd.DataFrame({c: pd.Series([None] * 7, dtype="string") for c in columns})
    frame["first_name"] = pd.Series(_FIRST, dtype="string")
    frame["last_name"] = pd.Series(_LAST, dtype="string")
    frame["phone"] = pd.Series(_PHONE, dtype="string")
    encodings = {
        "first_name": encode(frame, ["first_name"])[0],
        "last_name": encode(frame, ["last_name"])[0],
    }
    identified = _identified_signatures(frame, DEALER)
    candidates = Candidates(np.array(_PAIRS[0]), np.array(_PAIRS[1]), {}, {})
    scored = SimpleNamespace(probability=np.array([0.99, 0.3, 0.3, 0.3, 0.3, 0.2, 0.1]))
    clusters = Clusters(labels=np.array([0, 0, 1, 2, 3, 4, 5]), tree=np.array([0]),
                        rebuilt_components=0)  # fmt: skip
    apart = np.zeros(len(_PAIRS[0]), dtype=bool)
    if apart_pair is not None:
        apart[apart_pair] = True
    return _full_names(encodings, DEALER), identified, candidates, scored, clusters, apart


def _attach(apart_pair=None, exclusives=(), elsewhere=None, decided=None) -> np.ndarray:
    names, identified, candidates, scored, clusters, apart = _problem(apart_pair)
    _attach_by_name(
        names, identified, candidates, scored, clusters, apart,
        decided or (_NONE, _NONE, _NONE, _NONE), exclusives, DEALER, elsewhere,
    )  # fmt: skip
    return clusters.labels


def test_a_lead_known_by_its_name_alone_joins_the_one_customer_bearing_it():
    labels = _attach()
    assert labels[2] == labels[0] == labels[1]  # the only identified Ana Roy
    # Father and son of one name: the registration stays alone, for a reviewer.
    assert len({labels[3], labels[4], labels[5]}) == 3
    assert labels[6] not in {labels[0], labels[2]}  # an initial is no full name


def test_a_namesake_outside_an_increment_keeps_the_lead_alone():
    names, *_ = _problem()
    labels = _attach(elsewhere={int(names[0]): 1})  # another Ana Roy, not re-clustered
    assert labels[2] != labels[0]


def test_a_contradiction_or_a_reviewers_decision_keeps_the_lead_alone():
    assert _attach(apart_pair=1)[2] != _attach(apart_pair=1)[0]
    cannot = (_NONE, _NONE, np.array([2]), np.array([1]))  # reviewer: lead 2 is not record 1
    labels = _attach(decided=cannot)
    assert labels[2] != labels[0]


def test_an_incompatible_exclusive_value_keeps_the_lead_alone():
    # The lead wrote Jr (code 1) and Ana Roy's records Sr (code 0).
    suffix = Exclusive("suffix", np.array([0, -1, 1, -1, -1, -1, -1]), lambda a, b: a != b)
    labels = _attach(exclusives=(suffix,))
    assert labels[2] != labels[0]
    same = Exclusive("suffix", np.array([0, -1, 0, -1, -1, -1, -1]), lambda a, b: a != b)
    labels = _attach(exclusives=(same,))
    assert labels[2] == labels[0]
