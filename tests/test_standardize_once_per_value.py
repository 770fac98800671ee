"""Standardizing decides once per distinct value or pair and spreads the answer back to the
rows (integer codes, not row-by-row string work): every row must get what deciding it on
its own would give, missing values and repeated rows included. Pure, no database."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pandas as pd

from entity_resolution import records as recs
from entity_resolution import standardize as std
from entity_resolution.ownership import epoch_numbers, epochs
from entity_resolution.settings import DEALER_PREP


def s(*values: str | None) -> pd.Series:
    return pd.Series(values, dtype="string")


def values(series: pd.Series) -> list:
    return [None if pd.isna(v) else v for v in series]


FIRST = s("paul", "paul", "morgan", None, "julie", "martin", "ann", "ann", "roy", "paul")
LAST = s("morgan", "morgan", "paul", "roy", "martin", "julie", "ann", None, None, "morgan")


def test_a_name_order_is_decided_per_pair_as_counting_the_rows_would():
    first, last = std.unswap_by_majority(FIRST, LAST)
    typed = [(f, la) for f, la in zip(values(FIRST), values(LAST), strict=True)]
    counts = Counter(p for p in typed if None not in p and p[0] != p[1])
    expected = [
        (la, f) if None not in (f, la) and counts[(la, f)] > counts[(f, la)] else (f, la)
        for f, la in typed
    ]
    assert list(zip(values(first), values(last), strict=True)) == expected
    assert expected[2] == ("paul", "morgan")  # the one `Morgan Paul` joins the three others


def test_the_name_keys_of_a_pair_with_a_missing_part_are_what_the_rules_say():
    signature = std.name_signature(FIRST, LAST)
    assert values(signature) == [
        f"{'?' if f is None else f[:1]}|{'?' if la is None else la[:4]}"
        for f, la in zip(values(FIRST), values(LAST), strict=True)
    ]
    tokens = std.map_pairs(FIRST, LAST, lambda f, la: " ".join(sorted(f"{f} {la}".split())))
    assert values(tokens) == [
        None if None in (f, la) else " ".join(sorted([f, la]))
        for f, la in zip(values(FIRST), values(LAST), strict=True)
    ]


def test_each_row_of_a_free_text_name_shows_the_words_typed_for_its_parts():
    full = s("TREMBLAY, Jean", None, "TREMBLAY, Jean", "Côté-St-Pierre Marie", "Roy", "Roy")
    first = s("jean", "jean", "jean", "marie", None, "roy")
    last = s("tremblay", "tremblay", "tremblay", "cote saint pierre", "roy", None)
    shown = std.display_name_parts(full, first, last)
    assert values(shown["first_name"]) == ["Jean", None, "Jean", "Marie", None, "Roy"]
    assert values(shown["last_name"]) == [
        "TREMBLAY",
        None,
        "TREMBLAY",
        "Côté-St-Pierre",
        "Roy",
        None,
    ]


def test_ingests_vin_flag_overrides_the_check_row_by_row():
    vins = s("1hgcm82633a004352", "1HGCM82633A004352", "1HGCM82633A004353", "", None, "SHORT")
    flag = s("false", None, "TRUE", "true", "true", None)
    assert values(std.standardize_vin(vins, flag)) == [
        None,  # ingest said invalid
        "1HGCM82633A004352",  # no flag: checked here
        "1HGCM82633A004353",  # ingest said valid
        None,  # nothing typed
        None,
        None,
    ]


def test_ownership_periods_do_not_depend_on_how_a_vin_is_spelled_as_a_key():
    events = pd.DataFrame(
        {
            "vin": ["A", "A", "B", "A", "B", None, "A"],
            "date": pd.to_datetime(
                [
                    "2015-04-01",
                    "2019-03-01",
                    "2018-01-01",
                    "2019-06-01",
                    "2020-05-01",
                    "2020-01-01",
                    None,
                ]
            ),  # fmt: skip
            "role": ["sale", "trade_in", "sale", "sale", "service", "sale", "service"],
        }
    )
    keys = values(epochs(events, window_days=45))
    coded = events.assign(vin=events["vin"].map({"A": 7, "B": 3}).astype("Int64"))
    numbers = epoch_numbers(coded.dropna(subset=["vin"]).astype({"vin": np.int64}), 45)
    by_code = [None] * len(events)
    for row, n in zip(np.flatnonzero(events["vin"].notna()), numbers, strict=True):
        by_code[row] = None if n < 0 else f"{events['vin'][row]}#{n}"
    # The trade-in closes the first period; the resale three months on opens the third.
    assert keys == by_code == ["A#1", "A#1", "B#1", "A#3", "B#1", None, None]


def test_a_vin_traded_in_shares_the_sellers_period_and_missing_vins_have_none():
    table = pd.DataFrame(
        {
            "source_record_id": ["s1", "s2", "s3"],
            "deal_date": ["2015-04-01", "2019-03-01", "2019-03-02"],
            "first_name": ["Ann", "Ann", "Bob"],
            "last_name": ["Roy", "Roy", "Lee"],
            "vin": ["1HGCM82633A004352", "WVWZZZ1JZXW000001", None],
            "trade_in_vin": [None, "1HGCM82633A004352", None],
        },
        dtype="string",
    ).reindex(columns=recs.raw_columns("dealer_sales"))
    out = recs.person_records({"dealer_sales": table}, None, DEALER_PREP)
    assert values(out["vin_epoch"]) == ["1HGCM82633A004352#1", "WVWZZZ1JZXW000001#1", None]
    assert values(out["trade_epoch"]) == [None, "1HGCM82633A004352#1", None]
