"""The matching settings refuse, when built, a rule naming a comparison or level that is not
there: a typo in a label would otherwise make a contradiction silently match nothing."""

from __future__ import annotations

import dataclasses

import pytest

from entity_resolution.settings import (
    DEALER,
    FEBRL,
    Comparison,
    Contradiction,
    Else,
    Exact,
    Level,
    exact_comparison,
)


def with_contradiction(levels: dict[str, tuple[str, ...]]):
    rule = Contradiction("x", levels)
    return dataclasses.replace(DEALER, contradictions=(*DEALER.contradictions, rule))


def test_the_shipped_settings_are_valid():
    for settings in (DEALER, FEBRL):
        assert dataclasses.replace(settings) == settings


def test_a_contradiction_with_a_mistyped_level_fails_with_a_sentence_naming_it():
    with pytest.raises(ValueError) as error:
        with_contradiction({"email": ("exct",)})
    assert str(error.value) == (
        "contradiction 'x' names level 'exct' which comparison 'email' does not have;"
        " its levels are: 'missing on one side', 'exact', 'one typo', 'different'"
    )


def test_a_contradiction_naming_an_unknown_comparison_fails_listing_the_comparisons():
    with pytest.raises(ValueError, match=r"^contradiction 'x' names comparison 'e-mail', which"):
        with_contradiction({"e-mail": ("exact",)})


def test_a_contradiction_naming_no_level_fails():
    with pytest.raises(ValueError, match="contradiction 'x' names no level"):
        with_contradiction({})


def test_weak_alone_joint_tf_and_exclusive_must_name_what_exists():
    with pytest.raises(ValueError, match="weak_alone names comparison 'surname'"):
        dataclasses.replace(DEALER, weak_alone=("surname",))
    with pytest.raises(ValueError, match="joint_tf names comparison 'given_name'"):
        dataclasses.replace(DEALER, joint_tf=("given_name", "last_name"))
    with pytest.raises(ValueError, match="joint_tf names comparison 'suffix', which has no level"):
        dataclasses.replace(DEALER, joint_tf=("first_name", "suffix"))
    with pytest.raises(ValueError, match="exclusive names column 'dob'"):
        dataclasses.replace(DEALER, exclusive=("dob",))
    with pytest.raises(ValueError, match="contacts names comparison 'mobile'"):
        dataclasses.replace(DEALER, contacts=("mobile",))
    with pytest.raises(ValueError, match="identifying names comparison 'vin'"):
        dataclasses.replace(DEALER, identifying=("vin",))
    with pytest.raises(ValueError, match="family_contacts names column 'mail'"):
        dataclasses.replace(DEALER, family_contacts=("mail",))


def test_two_comparisons_of_one_name_or_two_levels_of_one_label_fail():
    with pytest.raises(ValueError, match="two comparisons are named 'phone'"):
        dataclasses.replace(
            DEALER, comparisons=(*DEALER.comparisons, exact_comparison("phone", "phone"))
        )
    with pytest.raises(ValueError, match="comparison 'phone' has two levels labelled 'exact'"):
        Comparison("phone", ("phone",), (Level("exact", Exact()), Level("exact", Else())))
