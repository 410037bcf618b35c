"""The insurer: its customers (who also bank with the bank), policies and honest surrenders."""

from __future__ import annotations

import numpy as np
import pandas as pd

from pipeline.config import InsurerConfig
from pipeline.simulate.codes import NO_ID, code
from pipeline.simulate.population import DAY, MONTH, Period, event_times, ids
from pipeline.simulate.world import NEVER, transfers

YEAR = 365 * DAY
INSURER_PARTY = code("XI", 1)


def insured_people(rng: np.random.Generator, cfg: InsurerConfig, people: pd.DataFrame):
    """Bank customers who also hold an insurer account, under the same phone and id number."""
    individuals = np.flatnonzero(~people["is_business"].to_numpy())
    holders = individuals[rng.random(len(individuals)) < cfg.customer_share]
    return pd.DataFrame(
        {
            "person": holders,
            "insurer_account_id": ids("N", np.arange(len(holders))),
            "bank_account_id": people["account_id"].to_numpy()[holders],
            "region": people["region"].to_numpy()[holders],
            "birth_year": people["birth_year"].to_numpy()[holders],
            "phone_digits": people["phone_digits"].to_numpy()[holders],
            "id_number": people["id_number"].to_numpy()[holders],
            "policy_t": -(rng.random(len(holders)) * 6 * YEAR).astype(np.int64) - DAY,
        }
    )


def policies(rng: np.random.Generator, insured: pd.DataFrame, agents: pd.DataFrame) -> pd.DataFrame:
    """One or two policies per insured person; most sold by an insurance agent."""
    per_person = rng.integers(1, 3, len(insured))
    holder = np.repeat(np.arange(len(insured)), per_person)
    issued_t = insured["policy_t"].to_numpy()[holder] + (
        (per_person[holder] > 1) * rng.integers(0, 2 * YEAR, len(holder))
    )
    sold_by_agent = rng.random(len(holder)) < 0.6
    agent = agents["intermediary_id"].to_numpy()[rng.integers(0, len(agents), len(holder))]
    return pd.DataFrame(
        {
            "holder": holder,
            "account_id": insured["insurer_account_id"].to_numpy()[holder],
            "intermediary_id": np.where(sold_by_agent, agent, NO_ID),
            "issued_t": np.minimum(issued_t, -DAY),
            "premium": np.round(rng.lognormal(8.3, 0.6, len(holder)), 0),
            "surrendered_t": NEVER,
            "refund_amount": np.nan,
        }
    )


def ordinary_surrenders(
    rng: np.random.Generator,
    cfg: InsurerConfig,
    period: Period,
    policies: pd.DataFrame,
    insured: pd.DataFrame,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Honest surrenders at a steady rate, refunded at cash value (a loss for the holder)."""
    open_policies = policies["surrendered_t"].to_numpy() == NEVER
    years = period.seconds / YEAR
    surrender = open_policies & (rng.random(len(policies)) < cfg.surrender_rate_per_year * years)
    rows = np.flatnonzero(surrender)
    surrendered_t = event_times(rng, np.zeros(len(rows)), np.full(len(rows), period.seconds), 0.0)
    held_years = (surrendered_t - policies["issued_t"].to_numpy()[rows]) / YEAR
    refund = (
        policies["premium"].to_numpy()[rows]
        * np.maximum(held_years, 0.1)
        * rng.uniform(0.3, 0.7, len(rows))
    )
    updated = policies.copy()
    updated.loc[rows, "surrendered_t"] = surrendered_t
    updated.loc[rows, "refund_amount"] = np.round(refund, 2)
    return updated, refund_payments(rng, updated.iloc[rows], insured)


def refund_payments(
    rng: np.random.Generator, surrendered: pd.DataFrame, insured: pd.DataFrame
) -> pd.DataFrame:
    """The insurer pays each refund into the holder's bank account a few days later."""
    return transfers(
        INSURER_PARTY,
        insured["bank_account_id"].to_numpy()[surrendered["holder"].to_numpy()],
        surrendered["surrendered_t"].to_numpy() + rng.integers(DAY, 3 * DAY, len(surrendered)),
        surrendered["refund_amount"].to_numpy(),
        channel="transfer",
    )


def policies_table(policies: pd.DataFrame) -> pd.DataFrame:
    return policies.drop(columns="holder")


def premiums_paid_to_agents(
    rng: np.random.Generator,
    cfg: InsurerConfig,
    period: Period,
    policies: pd.DataFrame,
    insured: pd.DataFrame,
    agents: pd.DataFrame,
) -> pd.DataFrame:
    """Agents who collect premiums for the insurer, for their own policies and for half of
    those sold directly: many clients pay them every month, an honest reason for an agent to
    receive money from many payers."""
    collecting = agents["intermediary_id"].to_numpy()[
        rng.random(len(agents)) < cfg.premium_collecting_agent_share
    ]
    if len(collecting) == 0:
        return transfers([], [], [], [])
    sold_directly = policies["intermediary_id"].to_numpy() == NO_ID
    collector = np.where(
        sold_directly & (rng.random(len(policies)) < 0.5),
        collecting[rng.integers(0, len(collecting), len(policies))],
        policies["intermediary_id"].to_numpy(),
    )
    paying = np.flatnonzero(
        np.isin(collector, collecting) & (policies["surrendered_t"].to_numpy() == NEVER)
    )
    months = period.seconds // MONTH
    policy = np.repeat(paying, months)
    month = np.tile(np.arange(months), len(paying))
    return transfers(
        insured["bank_account_id"].to_numpy()[policies["holder"].to_numpy()[policy]],
        collector[policy],
        month * MONTH + rng.integers(0, 28 * DAY, len(policy)),
        policies["premium"].to_numpy()[policy] / 12,
    )
