"""Families: a name and an address chain nobody together, a family mailbox links a household.

Pure logic, no database: clustering with contacts, and the family-mailbox rule.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from entity_resolution import standardize as std
from entity_resolution.clustering import Contacts, cluster

_NONE = np.empty(0, dtype=np.int64)


def test_father_and_son_chained_through_a_contactless_registration_stay_two():
    # 0, 1: father (his mobile 10, his e-mail 20); 3, 4: son (mobile 11, e-mail 21; 4 has
    # no Jr, so no suffix keeps it from the father); 2: an OEM registration with the name and
    # the address only. The name-and-address links (weak) are as strong as the others.
    phone = np.array([10, 10, -1, 11, 11])
    email = np.array([20, -1, -1, 21, -1])
    left = np.array([0, 1, 2, 3, 1])
    right = np.array([1, 2, 4, 4, 4])
    strength = np.array([14.0, 20.0, 19.0, 12.0, 18.0])
    weak = np.array([False, True, True, False, True])
    result = cluster(5, left, right, strength, _NONE, _NONE,
                     contacts=Contacts((phone, email), weak))  # fmt: skip
    labels = result.labels
    assert labels[0] == labels[1] != labels[3]
    assert labels[3] == labels[4]
    assert labels[2] == labels[1]  # the registration goes to its strongest link
    assert result.rebuilt_components == 1
    # Without contacts (what the engine did before), the chain made one customer.
    chained = cluster(5, left, right, strength, _NONE, _NONE)
    assert len(set(chained.labels.tolist())) == 1


def test_one_person_with_a_new_phone_stays_one_when_a_record_carries_both():
    # 0: old phone 10 and e-mail 20; 1: new phone 11 and the same e-mail; 2: new phone only.
    # Joined by the e-mail, the old and the new phone are one person's.
    phone = np.array([10, 11, 11])
    email = np.array([20, 20, -1])
    result = cluster(
        3,
        np.array([0, 1, 0]),
        np.array([1, 2, 2]),
        np.array([10.0, 10.0, 15.0]),
        _NONE,
        _NONE,
        contacts=Contacts((phone, email), np.array([False, False, True])),
    )
    assert len(set(result.labels.tolist())) == 1
    assert result.rebuilt_components == 0


def test_a_phone_only_group_and_an_email_only_group_are_not_strangers():
    # Nothing says a phone and an e-mail are two people's: the weak link stands.
    result = cluster(
        2,
        np.array([0]),
        np.array([1]),
        np.array([12.0]),
        _NONE,
        _NONE,
        contacts=Contacts((np.array([10, -1]), np.array([-1, 20])), np.array([True])),
    )
    assert result.labels[0] == result.labels[1]


def test_a_son_who_writes_jr_and_his_fathers_email_only_registration_stay_two():
    # 0, 1: the son's phone-only records, Jr on 1 (suffix code 0); 2: an OEM registration
    # with the father's own e-mail and no suffix, joined to the son only by the name and
    # the address (weak). Contacts of two kinds cannot part them; the suffix can.
    phone, email = np.array([10, 10, -1]), np.array([-1, -1, 20])
    left, right, strength = np.array([0, 1]), np.array([1, 2]), np.array([14.0, 12.0])
    weak = np.array([False, True])
    marked = cluster(3, left, right, strength, _NONE, _NONE,
                     contacts=Contacts((phone, email), weak, np.array([-1, 0, -1])))  # fmt: skip
    assert marked.labels[0] == marked.labels[1] != marked.labels[2]
    # Neither side writing a suffix: nothing tells them apart, the weak link stands.
    plain = cluster(3, left, right, strength, _NONE, _NONE,
                    contacts=Contacts((phone, email), weak, np.full(3, -1)))  # fmt: skip
    assert len(set(plain.labels.tolist())) == 1
    # The father reached only through the family's mailbox (no contact of his own): the
    # suffix still parts them; with no contact at all, the registration is anybody's.
    household = Contacts((phone, np.full(3, -1)), weak, np.array([-1, 0, -1]),
                         reached=np.array([True, True, True]))  # fmt: skip
    parted = cluster(3, left, right, strength, _NONE, _NONE, contacts=household)
    assert parted.labels[1] != parted.labels[2]
    nobody = Contacts((phone, np.full(3, -1)), weak, np.array([-1, 0, -1]),
                      reached=np.array([True, True, False]))  # fmt: skip
    joined = cluster(3, left, right, strength, _NONE, _NONE, contacts=nobody)
    assert len(set(joined.labels.tolist())) == 1


def _mailbox(rows: list[tuple[str, str, str]]) -> set[str]:
    frame = pd.DataFrame(rows, columns=["email", "first", "last"], dtype="string")
    return std.family_mailboxes(frame["email"], frame["first"], frame["last"])


def test_a_mailbox_written_beside_two_peoples_given_names_is_a_households():
    couple = [("famille.gagnon@videotron.ca", "marie", "gagnon")] * 5 + [
        ("famille.gagnon@videotron.ca", "pierre", "gagnon")
    ] * 3
    assert _mailbox(couple) == {"famille.gagnon@videotron.ca"}


def test_one_persons_name_written_several_ways_is_no_household():
    mail = "bob.fortin@videotron.ca"
    rows = (
        [(mail, "robert", "fortin")] * 6
        + [(mail, "bob", "fortin")] * 3  # nickname
        + [(mail, "robret", "fortin")]  # a one-off typo
        + [(mail, "fortin", "robert")] * 2  # typed the wrong way round
        + [(mail, "r", "fortin")] * 2  # an initial
        + [("mj.roy@gmail.com", "marie josee", "roy")] * 4
        + [("mj.roy@gmail.com", "marie", "roy")] * 2  # part of a compound name
        + [("m.michel@gmail.com", "michel", "michel")] * 4
        + [("m.michel@gmail.com", "michael", "michel")] * 2  # one name, two spellings
    )
    assert _mailbox(rows) == set()
