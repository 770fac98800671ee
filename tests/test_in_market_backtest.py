"""The in-market backtest's arithmetic, and a generated world in which buying has reasons.

The lift computation is checked on frames built by hand; the generator's purchase timing on
its simulated vehicle lifetimes (no files, no database), where each chain row is a car and
the chain's next row is the car that replaced it.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from generator.dealers import pick_dealers
from generator.people import PhoneBook, build_people
from generator.reference import load
from generator.vehicles import MONTH, Appetite, build_catalog, loan_keep_months, simulate

_PATH = Path(__file__).resolve().parents[1] / "benchmarks" / "in_market_backtest.py"
_SPEC = importlib.util.spec_from_file_location("in_market_backtest", _PATH)
backtest = importlib.util.module_from_spec(_SPEC)
_SPEC.loader.exec_module(backtest)


def _customers(rows: list[tuple[int, set[str], bool]]) -> pd.DataFrame:
    return pd.DataFrame(
        [(f"C{i}", s, frozenset(d), b) for i, (s, d, b) in enumerate(rows)],
        columns=["customer_id", "score", "drivers", "bought"],
    )


def test_lift_is_the_top_deciles_purchase_rate_over_the_base_rate():
    # 20 customers, 4 bought (base 20 %); the top two (the top decile) both bought.
    rows = [(90, {"lease_maturity", "open_lead"}, True), (80, {"lease_maturity"}, True)]
    rows += [(30, {"trade_cycle"}, i == 0) for i in range(6)]
    rows += [(0, set(), i == 0) for i in range(12)]
    result = backtest.lift_table(_customers(rows))
    assert result["customers"] == 20 and result["buyers"] == 4
    assert result["base_rate"] == pytest.approx(0.2)
    assert result["top_decile_rate"] == pytest.approx(1.0)
    assert result["top_decile_lift"] == pytest.approx(5.0)
    lease = result["drivers"]["lease_maturity"]
    assert (lease["customers"], lease["buyers"]) == (2, 2)
    assert lease["rate"] == pytest.approx(1.0)
    assert lease["rate_without"] == pytest.approx(2 / 18)
    assert lease["lift"] == pytest.approx(5.0)
    cycle = result["drivers"]["trade_cycle"]
    assert cycle["rate"] == pytest.approx(1 / 6)
    assert cycle["lift"] == pytest.approx((1 / 6) / 0.2)
    assert cycle["vs_without"] == pytest.approx((1 / 6) / (3 / 14))


def test_customers_tied_at_the_decile_cut_count_at_their_groups_rate():
    # 30 customers: the top decile is 3 places; one at 50 (bought), then 4 tied at 20 of
    # whom 2 bought: the 2 places left go to the tied group at its rate, 1/2 each.
    rows = [(50, {"open_lead"}, True)] + [(20, {"high_mileage"}, i < 2) for i in range(4)]
    rows += [(0, set(), False) for _ in range(25)]
    result = backtest.lift_table(_customers(rows))
    assert result["top_decile_rate"] == pytest.approx((1 + 2 * 0.5) / 3)


@pytest.fixture(scope="module")
def lifetimes() -> pd.DataFrame:
    """Each chain car with how long (months) its owner kept it before buying the next."""
    rng = np.random.default_rng(3)
    ref = load()
    phones = PhoneBook(rng)
    dealers = pick_dealers(rng, ref, phones)
    world = build_people(rng, ref, dealers, phones, 1500)
    acq = simulate(rng, world, build_catalog(ref, dealers))
    cars = acq[(acq["origin"] == "chain") & ~acq["first_car"]].sort_values(["chain", "date"])
    cars = cars[~world.entities["is_business"].to_numpy()[cars["eid"].to_numpy()]]
    kept = (cars.groupby("chain")["date"].shift(-1) - cars["date"]) / MONTH
    return cars.assign(kept=kept).dropna(subset=["kept"])


def test_lessees_buy_their_next_car_around_the_end_of_the_lease(lifetimes):
    leases = lifetimes[lifetimes["payment"] == "lease"]
    others = lifetimes[lifetimes["payment"] != "lease"]
    near_end = ((leases["kept"] - leases["term"]).between(-6, 3)).mean()
    # The same window around a 36-month mark for customers who did not lease.
    near_mark = ((others["kept"] - 36).between(-6, 3)).mean()
    assert near_end > 0.7
    assert near_end > 3 * near_mark


def test_borrowers_with_equity_trade_sooner_than_those_without(lifetimes):
    loans = lifetimes[(lifetimes["payment"] == "finance") & (lifetimes["condition"] == "new")]
    down = 1 - loans["amount"] / loans["price"]
    big_down, no_down = loans[down >= 0.15], loans[down <= 0.01]
    assert len(big_down) > 50 and len(no_down) > 50
    assert (big_down["kept"] / big_down["term"]).median() < (
        no_down["kept"] / no_down["term"]
    ).median()


def test_drivers_who_put_on_many_kilometres_replace_their_car_sooner(lifetimes):
    cash = lifetimes[lifetimes["payment"] == "cash"]
    heavy, light = cash[cash["km_per_year"] > 21000], cash[cash["km_per_year"] < 13000]
    assert len(heavy) > 30 and len(light) > 30
    assert heavy["kept"].median() < light["kept"].median() - 12


def test_a_loan_with_equity_is_traded_sooner_and_near_its_last_payments():
    appetite = Appetite(
        pull_ahead=0.2, extend=0.1, underwater=1 / 200, equity_boost=4.0,
        last_payments_boost=2.0, after_payoff_months=24, km_limit=230_000,
    )  # fmt: skip
    n = 4000
    price, term = np.full(n, 40000.0), np.full(n, 72)

    def kept(down: float) -> np.ndarray:
        amount = price * (1 - down) * 100  # cents
        return loan_keep_months(
            np.random.default_rng(5), appetite, price, np.zeros(n), amount, np.full(n, 6.99), term
        )

    nothing_down, third_down = kept(0.0), kept(0.35)
    assert np.median(third_down) < np.median(nothing_down) - 6
    # The last six payments see more trades than the six before them.
    last = ((nothing_down > 66) & (nothing_down <= 72)).sum()
    before = ((nothing_down > 60) & (nothing_down <= 66)).sum()
    assert last > 1.3 * before
