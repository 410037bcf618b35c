"""Honest customers who look like mules: e-commerce sellers, payroll accounts, circles.

Sellers receive from many distinct small payers; payroll accounts receive a lump and pay it
out to many employees within hours. Both move money fast through one account, as mules do.
Circles of friends and relatives pay each other as a gang's members pass money around.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from pipeline.config import PopulationConfig
from pipeline.simulate.population import (
    DAY,
    HOUR,
    MONTH,
    Period,
    active_window,
    event_times,
    ids,
)
from pipeline.simulate.world import transfers


def ecommerce_sellers(
    rng: np.random.Generator, cfg: PopulationConfig, period: Period, people: pd.DataFrame
) -> pd.DataFrame:
    """Many distinct small payers all day; weekly payouts of most of it to suppliers."""
    businesses = np.flatnonzero(people["is_business"].to_numpy())
    sellers = businesses[rng.random(len(businesses)) < cfg.ecommerce_seller_share]
    lo = np.maximum(people["opened_t"].to_numpy()[sellers], 0)
    counts = rng.poisson(rng.uniform(2.0, 8.0, len(sellers)) * (period.seconds - lo) / DAY)
    seller = np.repeat(np.arange(len(sellers)), counts)
    seller_ids = people["account_id"].to_numpy()[sellers][seller]
    sales = transfers(
        ids("P", rng.integers(0, 10**8, len(seller))),
        seller_ids,
        event_times(rng, lo[seller], np.full(len(seller), period.seconds), night_share=0.12),
        rng.lognormal(5.0, 0.7, len(seller)),
        channel="transfer",
    )
    weekly = sales.assign(week=sales["t"] // (7 * DAY)).groupby(["dst_id", "week"], as_index=False)
    payouts = weekly["amount"].sum()
    payout_flows = transfers(
        payouts["dst_id"].to_numpy(),
        ids("S", rng.integers(0, 5_000, len(payouts))),
        (payouts["week"].to_numpy() + 1) * 7 * DAY + 11 * HOUR,
        payouts["amount"].to_numpy() * rng.uniform(0.6, 0.95, len(payouts)),
        channel="transfer",
    )
    return pd.concat([sales, payout_flows], ignore_index=True)


def broker_service_fees(
    rng: np.random.Generator,
    cfg: PopulationConfig,
    loans: pd.DataFrame,
    brokers: pd.DataFrame,
    people: pd.DataFrame,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Licensed brokers that charge a disclosed fee, paid soon after disbursement to them or,
    for some, to their company's account at the bank, registered with the broker's phone:
    clients paying one same phone-linked customer account after their loans is then no
    giveaway of an illegal broker's collectors. Returns the population (company accounts on
    their broker's phone) and the fee payments."""
    charging = brokers[rng.random(len(brokers)) < cfg.fee_charging_broker_share]
    with_company = charging[rng.random(len(charging)) < cfg.broker_company_account_share]
    businesses = np.flatnonzero(people["is_business"].to_numpy())
    company_row = rng.choice(businesses, len(with_company), replace=False)
    phones = people["phone_digits"].to_numpy().copy()
    phones[company_row] = with_company["phone_digits"].to_numpy()
    company = pd.Series(
        people["account_id"].to_numpy()[company_row], index=with_company["intermediary_id"]
    )
    paying = loans[loans["intermediary_id"].isin(charging["intermediary_id"]) & loans["approved"]]
    payee = paying["intermediary_id"].map(company).fillna(paying["intermediary_id"])
    fees = transfers(
        paying["account_id"].to_numpy(),
        payee.to_numpy(),
        paying["disbursed_t"].to_numpy() + rng.integers(DAY // 2, 5 * DAY, len(paying)),
        paying["amount"].to_numpy() * cfg.broker_service_fee.uniform(rng, len(paying)),
    )
    return people.assign(phone_digits=phones), fees


def salaries(
    rng: np.random.Generator, period: Period, people: pd.DataFrame, all_accounts: np.ndarray
) -> pd.DataFrame:
    """Monthly salaries for the customers in ``people``: from outside employers, or from a
    payroll account among the customers (``employer`` indexes ``all_accounts``)."""
    earners = np.flatnonzero(~people["is_business"].to_numpy())
    months = period.days // 30
    earner = np.repeat(earners, months)
    month = np.tile(np.arange(months), len(earners))
    employer = people["employer"].to_numpy()[earner]
    outside = people.index.to_numpy()[earner] % 997
    payer = np.where(employer >= 0, employer, outside)
    paid_t = month * MONTH + pay_day(payer) + 10 * HOUR + rng.integers(0, 3 * HOUR, len(earner))
    keep = paid_t >= people["opened_t"].to_numpy()[earner]
    earner, paid_t, employer, outside = earner[keep], paid_t[keep], employer[keep], outside[keep]
    amount = people["monthly_income"].to_numpy()[earner] * rng.uniform(0.95, 1.05, len(earner))
    outside = ids("E", outside)
    return transfers(
        np.where(employer >= 0, all_accounts[np.maximum(employer, 0)], outside),
        people["account_id"].to_numpy()[earner],
        paid_t,
        amount,
        channel="transfer",
    )


def pay_day(employer: np.ndarray) -> np.ndarray:
    """Each employer pays on its own day of the month, spread over the month."""
    return (employer * 7919 % 28) * DAY


def payroll_funding(rng: np.random.Generator, period: Period, people: pd.DataFrame) -> pd.DataFrame:
    """Each payroll account is funded on pay day, hours before it pays its employees: money
    in and straight out again, as through a mule."""
    employed = people[people["employer"] >= 0]
    payroll = employed.groupby("employer")["monthly_income"].sum()
    months = period.days // 30
    employer = np.repeat(payroll.index.to_numpy(), months)
    month = np.tile(np.arange(months), len(payroll))
    return transfers(
        ids("F", rng.integers(0, 10_000, len(employer))),
        people["account_id"].to_numpy()[employer],
        month * MONTH + pay_day(employer) + 8 * HOUR,
        np.repeat(payroll.to_numpy(), months) * 1.02,
        channel="transfer",
    )


def social_circles(
    rng: np.random.Generator, cfg: PopulationConfig, period: Period, people: pd.DataFrame
) -> pd.DataFrame:
    """Friends and relatives paying each other back and forth: many customer payers, money
    in and out, a tight cluster in the payment graph, as a mule gang's layering has."""
    individuals = np.flatnonzero(~people["is_business"].to_numpy())
    members = rng.permutation(individuals)[: int(len(individuals) * cfg.circle_share)]
    sizes = cfg.circle_size.integers(rng, len(members))
    sizes = sizes[: np.searchsorted(np.cumsum(sizes), len(members)) + 1]
    circle = np.repeat(np.arange(len(sizes)), sizes)[: len(members)]
    first = np.searchsorted(circle, circle)
    count = np.bincount(circle)[circle]
    lo, hi = active_window(people.iloc[members], period)
    sends = rng.poisson(cfg.circle_transfers_per_month * (hi - lo) / MONTH)
    sender = np.repeat(np.arange(len(members)), sends)
    # Anyone else in the circle: skip over the sender's own place.
    other = rng.integers(0, np.maximum(count[sender] - 1, 1))
    other = first[sender] + other + (first[sender] + other >= sender)
    other = np.where(count[sender] > 1, other, sender)
    t = event_times(rng, lo[sender], hi[sender], night_share=0.04)
    keep = (other != sender) & (t >= lo[other])
    account_ids = people["account_id"].to_numpy()[members]
    return transfers(
        account_ids[sender[keep]],
        account_ids[other[keep]],
        t[keep],
        rng.lognormal(5.5, 0.9, keep.sum()),
    )
