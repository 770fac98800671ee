"""What people type in the search box and how the dashboard writes things back (no database)."""

from __future__ import annotations

import html
from datetime import date

import pandas as pd
import pytest
from markdown_it import MarkdownIt

from dashboard import format as fmt
from dashboard.lookup import parse
from dashboard.queries import audience_query
from dealer360.errors import UserError


@pytest.mark.parametrize(
    "typed",
    ["(514) 555-0199", "514.555.0199", "+1 514 555 0199", "15145550199", "514-555-0199 "],
)
def test_a_phone_in_any_format_is_looked_up_by_its_last_ten_digits(typed: str):
    assert parse(typed) == parse("5145550199")
    assert parse(typed).kind == "phone"
    assert parse(typed).value == "5145550199"


def test_a_partial_phone_matches_the_end_of_a_number():
    assert parse("555-0199").kind == "phone_ending"
    assert parse("555-0199").value == "5550199"


def test_emails_vins_and_customer_ids_are_recognized():
    assert parse(" Marie.Cote@Example.com ").kind == "email"
    assert parse(" Marie.Cote@Example.com ").value == "marie.cote@example.com"
    assert parse("2t3w1rfv8kw123456").kind == "vin"
    assert parse("2t3w1rfv8kw123456").value == "2T3W1RFV8KW123456"
    assert parse("c000000042").kind == "customer_id"


@pytest.mark.parametrize("typed", ["Marie Côté", "côté", "O'Brien-Smith", "Jean-François Roy Jr"])
def test_anything_else_is_a_name(typed: str):
    assert parse(typed).kind == "name"
    assert parse(typed).value == typed


def test_an_empty_box_looks_nothing_up():
    assert parse("   ").kind == "empty"


def test_money_is_whole_canadian_dollars():
    assert fmt.money(12345.4) == "$12,345"
    assert fmt.money(-80) == "-$80"
    assert fmt.money(None) == "—"
    assert fmt.money(float("nan")) == "—"


def test_dates_read_like_people_write_them():
    assert fmt.day(date(2024, 3, 5)) == "Mar 5, 2024"
    assert fmt.day("2024-03-05") == "Mar 5, 2024"
    assert fmt.day(pd.Timestamp("2024-03-05 14:07")) == "Mar 5, 2024"
    assert fmt.day(None) == "—"
    assert fmt.period(date(2019, 1, 2), None) == "Jan 2, 2019 – today"


def test_names_phones_and_counts():
    assert fmt.person_name("Marie", "Côté") == "Marie Côté"
    assert fmt.person_name(None, None, "Toitures Côté") == "Toitures Côté"
    assert fmt.person_name(None, None) == "Unnamed customer"
    assert fmt.phone("+15145550199") == "(514) 555-0199"
    assert fmt.count(1, "record") == "1 record"
    assert fmt.count(1234, "record") == "1,234 records"
    assert fmt.dealer("TOY-LAV", {"TOY-LAV": "Toyota Laval"}) == "Toyota Laval (TOY-LAV)"


def test_the_cli_audience_is_one_senders_list_on_one_channel():
    sql, params = audience_query("TOY-LAV")
    assert "marts.campaign_audience" in sql and "marts.dealers" in sql
    assert params == {"dealer_code": "TOY-LAV", "channel": "email"}
    sql, params = audience_query(brand="Lexus", channel="sms")
    assert "'oem:' ||" in sql
    assert params == {"brand": "Lexus", "channel": "sms"}
    assert "in_market" not in sql
    for no_single_sender in ({}, {"dealer_code": "TOY-LAV", "brand": "Lexus"}):
        with pytest.raises(UserError, match="sender"):
            audience_query(**no_single_sender)
    with pytest.raises(UserError, match="channel"):
        audience_query("TOY-LAV", channel="fax")


def test_in_market_filters_need_a_dealer():
    with pytest.raises(ValueError, match="dealer"):
        audience_query(min_score=50)


@pytest.mark.parametrize(
    "text",
    [
        "*Bob* [x](javascript:alert(1))",
        ":red[alarm] $1 + $2",
        "C:\\dir\\ # _under_ `code`",
        "Côté-Lévesque Jr.",
    ],
)
def test_data_in_markdown_is_escaped_so_it_shows_as_typed(text: str):
    shown = MarkdownIt().renderInline(fmt.literal(text))
    assert "<" not in shown.replace("&lt;", "")  # no emphasis, link or code element
    assert html.unescape(shown) == text
