"""Standardization, blocking, scoring and clustering as pure functions (no database)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from entity_resolution import standardize as std
from entity_resolution.blocking import pairs_touching, pairs_within_groups
from entity_resolution.clustering import Exclusive, cluster
from entity_resolution.evaluation import quality
from entity_resolution.ids import assign_ids, format_customer_id
from entity_resolution.ownership import epochs


def s(*values: str | None) -> pd.Series:
    return pd.Series(values, dtype="string")


def test_every_north_american_phone_spelling_becomes_one_e164_number():
    spellings = s(
        "(514) 555-0199", "514.555.0199", "+1 514 555 0199", "15145550199",
        "514-555-0199 ext 12", " 514 555 0199 ",
    )  # fmt: skip
    assert set(std.standardize_phone(spellings)) == {"+15145550199"}


def test_impossible_phones_are_no_evidence():
    out = std.standardize_phone(s("555-0199", "000-000-0000", "123-456-7890", "0", None))
    assert out.isna().all()


def test_emails_are_case_and_space_insensitive_and_placeholders_are_dropped():
    out = std.standardize_email(
        s(" Bob.Roy@GMAIL.com ", "noemail@dealer.com", "aucun@aucun.com", "none@none.com",
          "no@email.com", "pasdecourriel@gmail.com", "not-an-email")
    )  # fmt: skip
    assert out.iloc[0] == "bob.roy@gmail.com"
    assert out.iloc[1:].isna().all()


def test_every_placeholder_of_the_seed_is_a_placeholder_to_matching_and_nothing_else_is():
    """The dbt seed is the one list: what SQL drops from golden records, matching drops."""
    seed = pd.read_csv(std.PLACEHOLDER_CONTACTS, dtype=str, keep_default_na=False)
    by_channel = seed.groupby("channel")["value"].agg(list)
    locals_ = pd.Series([f"{v}@gmail.com" for v in by_channel["email_local_part"]])
    domains = pd.Series([f"marie.cote@{v}.com" for v in by_channel["email_domain"]])
    phones = pd.Series(by_channel["phone"])
    assert std.standardize_email(locals_).isna().all()
    assert std.standardize_email(domains).isna().all()
    assert std.standardize_phone(phones).isna().all()
    # Only whole local parts and a domain's first label count: these are real addresses.
    kept = s("noemail.roy@gmail.com", "client.services@toituresroy.ca", "marie@test-auto.ca",
             "xx@videotron.ca", "bob@mail.none.ca")  # fmt: skip
    assert std.standardize_email(kept).notna().all()


def test_names_fold_accents_case_and_punctuation():
    out = std.standardize_names(s("JOSÉE", "Marie-Ève"), s("Côté", "st-pierre"))
    assert out["first_name"].tolist() == ["josee", "marie eve"]
    assert out["last_name"].tolist() == ["cote", "saint pierre"]


def test_last_comma_first_and_unordered_free_text_names_are_split_right():
    first = s("André", "Isabelle", None, None, None)
    last = s("Leblanc", "Saint-Laurent", None, None, None)
    full = s(None, None, "LEBLANC, ANDRE", "Leblanc André", "Saint Laurent Isabelle")
    out = std.standardize_names(first, last, full)
    assert out["first_name"].tolist()[2:] == ["andre", "andre", "isabelle"]
    assert out["last_name"].tolist()[2:] == ["leblanc", "leblanc", "saint laurent"]


def test_a_last_comma_first_name_typed_the_other_way_round_is_put_back():
    first = s("John", "John", "Diane", None, None, None)
    last = s("Khalil", "Smith", "Vachon", None, None, None)
    full = s(None, None, None, "John, Khalil", "Diane, Vachon", "Khalil, John")
    out = std.standardize_names(first, last, full)
    assert out["first_name"].tolist()[3:] == ["john", "diane", "john"]
    assert out["last_name"].tolist()[3:] == ["khalil", "vachon", "khalil"]


def test_a_name_seen_in_both_orders_takes_the_more_common_one():
    # Paul and Morgan are both given names and surnames: only the data's habit decides.
    first = s("Paul", "Paul", "Paul", "Morgan", "Julie", "Martin")
    last = s("Morgan", "Morgan", "Morgan", "Paul", "Martin", "Julie")
    out = std.standardize_names(first, last)
    assert out["first_name"].tolist()[:4] == ["paul"] * 4
    assert out["last_name"].tolist()[:4] == ["morgan"] * 4
    # One each way: nothing to go by, both stay as typed.
    assert out["first_name"].tolist()[4:] == ["julie", "martin"]


def test_a_lone_unknown_word_in_a_free_text_name_is_a_surname():
    # More distinct surnames than given names must not make an unknown word a given name.
    first = s("Nicolas", "Nicolas", "Nicolas", None)
    last = s("Leclerc", "Roy", "Gagnon", None)
    out = std.standardize_names(first, last, s(None, None, None, "Lecelrc"))
    assert pd.isna(out["first_name"].iloc[3])
    assert out["last_name"].iloc[3] == "lecelrc"


def test_generational_suffix_is_its_own_field():
    out = std.standardize_names(s("Jean", "Jean", None), s("Tremblay Jr.", "Tremblay", None),
                                s(None, None, "TREMBLAY, JEAN SR"))  # fmt: skip
    assert out["last_name"].tolist() == ["tremblay"] * 3
    assert out["suffix"].tolist()[0] == "jr"
    assert pd.isna(out["suffix"].iloc[1])
    assert out["suffix"].iloc[2] == "sr"


def test_first_and_last_typed_in_each_others_box_are_put_back():
    first = s(*(["Simon"] * 9), "FORTIN", "Martin", "Julie")
    last = s(*(["Fortin"] * 9), "SIMON", "Julie", "Martin")
    out = std.standardize_names(first, last)
    assert (out["first_name"].iloc[9], out["last_name"].iloc[9]) == ("simon", "fortin")
    # Martin is a given name and a surname here: not enough evidence to exchange anything.
    assert out["first_name"].iloc[10:].tolist() == ["martin", "julie"]


def test_nicknames_come_from_the_shipped_table():
    assert std.nickname_related("bob", "robert")
    assert std.nickname_related("bill", "william")
    assert std.nickname_related("liz", "elizabeth")
    assert std.nickname_related("bob", "rob")  # both Robert
    assert not std.nickname_related("patrick", "patricia")  # Pat is both: not a bridge
    key = std.first_name_key(s("bob", "robert", "bill"))
    assert key.tolist() == ["robert", "robert", "william"]


def test_postal_codes_and_forward_sortation_area():
    out = std.standardize_postal(s("h2x 1y4", "H2X-1Y4", "HOX 1Y4", "12345"))
    assert out["postal_code"].tolist()[:2] == ["H2X1Y4", "H2X1Y4"]
    assert out["fsa"].iloc[0] == "H2X"
    assert pd.isna(out["postal_code"].iloc[3])


def test_street_spellings_agree():
    out = std.standardize_street(
        s("123, Boul. René-Lévesque O.", "123 boulevard Rene Levesque Ouest", "app. 4, 123 Boul René-Lévesque O",
          "4-123 boul. rené-lévesque ouest", "55 Main Street", "55 Main St.")
    )  # fmt: skip
    assert len(set(out.iloc[:4])) == 1
    assert out.iloc[4] == out.iloc[5]


def test_invalid_vins_are_no_evidence():
    out = std.standardize_vin(
        s("1hgcm82633a004352", "1HGCM82633A004353", "WVWZZZ1JZXW000001", "SHORT")
    )
    assert out.iloc[0] == "1HGCM82633A004352"
    assert pd.isna(out.iloc[1])  # wrong check digit
    assert out.iloc[2] == "WVWZZZ1JZXW000001"  # no check digit outside North America
    assert pd.isna(out.iloc[3])


def test_a_contact_shared_by_many_different_people_is_detected_from_the_data():
    phones = s(*(["+15145550100"] * 12), "+15145550123", "+15145550123")
    people = s(*[f"p{i}" for i in range(12)], "spouse a", "spouse b")
    assert std.shared_values(phones, people, max_people=8) == {"+15145550100"}


def test_firm_names_are_recognised():
    names = std.standardize_company(s("Plomberie Roy inc.", "Campbell Logistics", "Jean Roy"))
    assert names.tolist()[0] == "plomberie roy"
    assert std.is_business_name(names, known=set()).tolist() == [True, True, False]


def test_a_service_after_a_resale_falls_in_the_new_owners_period():
    records = pd.DataFrame(
        {
            "vin": ["V"] * 6,
            "date": [
                "2015-04-01",
                "2016-06-01",
                "2019-03-01",
                "2019-06-01",
                "2019-06-05",
                "2020-02-01",
            ],
            "role": ["sale", "service", "trade_in", "sale", "registration", "service"],
        }
    )
    keys = epochs(records, window_days=45).tolist()
    first_owner, early_service, trade_in, resale, registration, late_service = keys
    assert first_owner == early_service == trade_in
    assert resale == registration == late_service != first_owner


def test_blocking_pairs_every_record_sharing_a_key_once():
    keys = np.array([0, 1, 0, -1, 0, 1])
    left, right, skipped = pairs_within_groups(keys, max_block_size=10)
    assert sorted(zip(left.tolist(), right.tolist(), strict=True)) == [
        (0, 2),
        (0, 4),
        (1, 5),
        (2, 4),
    ]
    assert skipped == 0
    left, _, skipped = pairs_within_groups(keys, max_block_size=2)
    assert left.tolist() == [1] and skipped == 1


def test_a_seeds_pairs_are_every_pair_of_its_block_that_holds_it():
    rng = np.random.default_rng(7)
    for _ in range(20):
        keys = rng.integers(-1, 6, size=40)
        seed = rng.random(40) < 0.2
        a, b = pairs_touching(keys, seed)
        got = sorted(zip(a.tolist(), b.tolist(), strict=True))
        left, right, _ = pairs_within_groups(keys, max_block_size=100)
        want = sorted(
            (s, o)
            for i, j in zip(left.tolist(), right.tolist(), strict=True)
            for s, o in ((i, j), (j, i))
            if seed[s]
        )
        assert got == want


def test_clustering_does_not_chain_two_people_through_an_ambiguous_record():
    # 0 = father (born 1961), 2 = son (born 1990), 1 = a record that fits both.
    birth = Exclusive("birth_date", np.array([0, -1, 1]), lambda a, b: a != b)
    result = cluster(
        3,
        left=np.array([0, 1]),
        right=np.array([1, 2]),
        strength=np.array([12.0, 8.0]),
        cannot_left=np.empty(0, dtype=np.int64),
        cannot_right=np.empty(0, dtype=np.int64),
        exclusives=(birth,),
    )
    assert result.labels[0] == result.labels[1] != result.labels[2]
    assert result.rebuilt_components == 1


def test_clustering_honours_cannot_link_pairs():
    result = cluster(
        3,
        left=np.array([0, 1]),
        right=np.array([1, 2]),
        strength=np.array([5.0, 9.0]),
        cannot_left=np.array([0]),
        cannot_right=np.array([2]),
    )
    assert result.labels[1] == result.labels[2] != result.labels[0]


def _ids(start: int):
    counter = iter(range(start, start + 1000))
    return lambda k: [format_customer_id(next(counter)) for _ in range(k)]


def _records(labels: list[int]) -> pd.DataFrame:
    return pd.DataFrame(
        {"source": "s", "source_record_id": [str(i) for i in range(len(labels))], "cluster": labels}
    )


def test_ids_survive_a_rerun_and_a_merge_keeps_the_older_id():
    first = assign_ids(
        _records([0, 0, 1, 1, 1, 2]),
        pd.DataFrame(columns=["source", "source_record_id", "customer_id"]),
        _ids(1),
    )
    assert first.customer_of_cluster.to_dict() == {
        0: "C000000001",
        1: "C000000002",
        2: "C000000003",
    }
    previous = _records([0, 0, 1, 1, 1, 2])
    previous["customer_id"] = first.customer_of_cluster.reindex(previous["cluster"]).to_numpy()

    again = assign_ids(_records([7, 7, 3, 3, 3, 9]), previous, _ids(100))
    assert sorted(again.customer_of_cluster) == ["C000000001", "C000000002", "C000000003"]
    assert again.history.empty and again.new_ids == []

    merged = assign_ids(_records([0, 0, 0, 0, 0, 2, 0]), previous, _ids(100))
    assert merged.customer_of_cluster[0] == "C000000001"
    assert merged.history[["old_customer_id", "new_customer_id", "reason"]].values.tolist() == [
        ["C000000002", "C000000001", "merge"]
    ]


def test_a_split_leaves_the_id_on_the_larger_part():
    previous = _records([0, 0, 0, 0])
    previous["customer_id"] = "C000000001"
    split = assign_ids(_records([5, 5, 5, 6]), previous, _ids(50))
    assert split.customer_of_cluster[5] == "C000000001"
    assert split.customer_of_cluster[6] == "C000000050"
    assert split.history["reason"].tolist() == ["split"]


@pytest.mark.parametrize(
    ("predicted", "expected_f1"),
    [([0, 0, 1, 1], 1.0), ([0, 1, 2, 3], 0.0), ([0, 0, 0, 0], 0.5)],
)
def test_pairwise_quality(predicted, expected_f1):
    assert quality(np.array(predicted), np.array(["a", "a", "b", "b"])).f1 == pytest.approx(
        expected_f1
    )


def test_an_email_differing_only_in_its_digits_is_another_mailbox_not_a_typo():
    from entity_resolution.comparisons import compare_one, encode
    from entity_resolution.settings import DEALER

    (email,) = [c for c in DEALER.comparisons if c.name == "email"]
    left = ["isabelle.roy30@gmail.com", "marie.roy@gmail.com", "isabele.roy30@gmail.com"]
    right = ["isabelle.roy31@gmail.com", "marie.roy4@gmail.com", "isabelle.roy30@gmail.com"]
    (enc,) = encode(pd.DataFrame({"email": s(*left, *right)}), ["email"])
    n = len(left)
    levels = compare_one(email, [enc.codes[:n]], [enc.codes[n:]], [enc])
    named = [email.levels[k].label for k in levels]
    assert named == ["different", "different", "one typo"]
