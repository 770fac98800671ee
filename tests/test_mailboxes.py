"""Mailboxes: a separator moved is another mailbox, except where the provider ignores dots.

Pure logic, no database: the e-mail comparison, and the generator's namesakes' mailboxes.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from entity_resolution.blocking import Candidates
from entity_resolution.comparisons import compare_one, encode
from entity_resolution.engine import _ambiguous_slips
from entity_resolution.settings import DEALER
from generator.people import _unique_emails


def _email_levels(pairs: list[tuple[str, str]]) -> list[str]:
    email = DEALER.comparison("email")
    values = [a for a, _ in pairs] + [b for _, b in pairs]
    (enc,) = encode(pd.DataFrame({"email": pd.Series(values, dtype="string")}), ["email"])
    n = len(pairs)
    levels = compare_one(email, [enc.codes[:n]], [enc.codes[n:]], [enc])
    return [email.levels[k].label for k in levels]


def test_a_separator_moved_is_a_namesakes_mailbox_except_where_dots_are_ignored():
    levels = _email_levels(
        [
            ("a.fortin@hotmail.com", "afortin@hotmail.com"),  # two Andre Fortins
            ("denis.lacroix@videotron.ca", "denis_lacroix@videotron.ca"),
            ("j.clark@gmail.com", "jclark@gmail.com"),  # Gmail: one mailbox
            ("sylvain.bouchard@hotmail.com", "sylvain.bouchrd@hotmail.com"),  # a slip
        ]
    )
    assert levels == ["different", "different", "one typo", "one typo"]


def test_a_namesake_at_gmail_cannot_take_a_mailbox_that_differs_only_in_its_dots():
    emails = np.array(
        ["jean.roy@gmail.com", "jeanroy@gmail.com", "jean.roy@hotmail.com", "jeanroy@hotmail.com"],
        dtype=object,
    )
    out = _unique_emails(np.random.default_rng(0), emails)
    assert out[0] == "jean.roy@gmail.com"
    assert out[1] != "jeanroy@gmail.com" and out[1].startswith("jeanroy")  # numbered
    assert out[1].endswith("@gmail.com") and any(c.isdigit() for c in out[1])
    assert list(out[2:]) == ["jean.roy@hotmail.com", "jeanroy@hotmail.com"]


def test_a_slip_between_two_mailboxes_in_use_or_near_two_of_them_identifies_nobody():
    # Codes per signature: 0 `patrick.martel@hotmail.ca` (twice), 1 `…@hotmail.com`
    # (twice), 2 `…@hotmail.co` (a slip as near both); 3 `l.leung@` and 4 `li.leung@`,
    # each on three signatures (two people's); 5 `jean.roy@` on three and 6 `jean.ry@`
    # once (his own slip).
    codes = np.array([0, 0, 1, 1, 2, 3, 3, 3, 4, 4, 4, 5, 5, 5, 6])
    left, right = np.array([4, 4, 5, 11]), np.array([0, 2, 8, 14])
    email = DEALER.comparison("email")
    levels = np.full(4, email.level_number("one typo"), dtype=np.int8)
    ambiguous = _ambiguous_slips(
        levels, email, Candidates(left, right, {}, {}), codes, np.ones(4, dtype=bool)
    )
    assert ambiguous.tolist() == [True, True, True, False]
