"""Mule and rented accounts run by gangs (两卡, 跑分), and the e-commerce sellers they resemble."""

from __future__ import annotations

import numpy as np
import pandas as pd

from pipeline.config import SimulateConfig
from pipeline.simulate.population import DAY, HOUR, Period, event_times, ids
from pipeline.simulate.world import Fragment


def mule_gangs(
    rng: np.random.Generator, cfg: SimulateConfig, period: Period, people: pd.DataFrame
) -> Fragment:
    """Gangs of mostly new accounts that receive from many payers and forward within hours."""
    individuals = np.flatnonzero(~people["is_business"].to_numpy())
    wanted = max(cfg.mule_account_share * len(people), cfg.mule_gang_size[0])
    sizes = rng.integers(cfg.mule_gang_size[0], cfg.mule_gang_size[1] + 1, len(people))
    sizes = sizes[: np.searchsorted(np.cumsum(sizes), wanted) + 1]
    gang_count = len(sizes)
    members = rng.choice(individuals, sizes.sum(), replace=False)
    gang = np.repeat(np.arange(gang_count), sizes)

    gang_start = rng.integers(30 * DAY, period.seconds - 45 * DAY, gang_count)
    gang_end = np.minimum(gang_start + rng.integers(30, 120, gang_count) * DAY, period.seconds)
    start, end = gang_start[gang], gang_end[gang]
    newly_opened = rng.random(len(members)) < 0.7
    opened_t = people["opened_t"].to_numpy().copy()
    opened_t[members] = np.where(
        newly_opened, start - rng.integers(3, 30, len(members)) * DAY, opened_t[members]
    )
    member_ids = people["account_id"].to_numpy()[members]
    member_device = ids("DG", gang * 3 + rng.integers(0, 3, len(members)), 6).to_numpy()

    inflow_counts = rng.poisson(rng.uniform(0.8, 3.0, len(members)) * (end - start) / DAY)
    receiver = np.repeat(np.arange(len(members)), inflow_counts)
    received_t = event_times(rng, start[receiver], end[receiver], night_share=0.35)
    received = rng.lognormal(7.3, 0.7, len(receiver))
    forwarded_t = received_t + (rng.exponential(2 * HOUR, len(receiver)) + 600).astype(np.int64)
    layered = rng.random(len(receiver)) < 0.3
    same_gang_member = member_ids[
        np.searchsorted(gang, gang[receiver]) + rng.integers(0, sizes[gang[receiver]])
    ]
    cash_out = ids("C", gang[receiver] * 4 + rng.integers(0, 4, len(receiver)), 6).to_numpy()
    inflows = pd.DataFrame(
        {
            "src_id": ids("P", rng.integers(0, 10**8, len(receiver)), 8).to_numpy(),
            "dst_id": member_ids[receiver],
            "t": received_t,
            "amount": np.round(received, 2),
            "channel": "transfer",
            "device_id": None,
        }
    )
    outflows = pd.DataFrame(
        {
            "src_id": member_ids[receiver],
            "dst_id": np.where(layered, same_gang_member, cash_out),
            "t": forwarded_t,
            "amount": np.round(received * rng.uniform(0.92, 1.0, len(receiver)), 2),
            "channel": "app",
            "device_id": member_device[receiver],
        }
    )
    transactions = pd.concat([inflows, outflows], ignore_index=True)
    transactions = transactions[transactions["t"] < period.seconds]

    login_counts = rng.poisson(25 * (end - start) / (30 * DAY))
    who = np.repeat(np.arange(len(members)), login_counts)
    logins = pd.DataFrame(
        {
            "account_id": member_ids[who],
            "t": event_times(rng, start[who], end[who], night_share=0.3),
            "device_id": ids("DG", gang[who] * 3 + rng.integers(0, 3, len(who)), 6).to_numpy(),
            "ip": "45.77." + pd.Series(gang[who] % 250).astype(str) + ".7",
        }
    )
    truth = pd.DataFrame(
        {
            "entity_type": "account",
            "entity_id": member_ids,
            "typology": "mule_account",
            "gang_id": ids("MG", gang, 4).to_numpy(),
            "active_from_t": start,
            "active_to_t": end,
        }
    )
    return Fragment(
        people=people.assign(opened_t=opened_t),
        transactions=transactions,
        device_events=logins,
        truth=truth,
    )


def ecommerce_sellers(
    rng: np.random.Generator, cfg: SimulateConfig, period: Period, people: pd.DataFrame
) -> Fragment:
    """Honest businesses with many distinct small payers, paid out weekly in daytime."""
    businesses = np.flatnonzero(people["is_business"].to_numpy())
    sellers = businesses[rng.random(len(businesses)) < cfg.ecommerce_seller_share]
    lo = np.maximum(people["opened_t"].to_numpy()[sellers], 0)
    counts = rng.poisson(rng.uniform(2.0, 6.0, len(sellers)) * (period.seconds - lo) / DAY)
    seller = np.repeat(np.arange(len(sellers)), counts)
    t = event_times(rng, lo[seller], np.full(len(seller), period.seconds), night_share=0.05)
    seller_ids = people["account_id"].to_numpy()[sellers]
    sales = pd.DataFrame(
        {
            "src_id": ids("P", rng.integers(0, 10**8, len(seller)), 8).to_numpy(),
            "dst_id": seller_ids[seller],
            "t": t,
            "amount": np.round(rng.lognormal(5.0, 0.7, len(seller)), 2),
            "channel": "transfer",
            "device_id": None,
        }
    )
    week = sales["t"] // (7 * DAY)
    payouts = sales.assign(week=week).groupby(["dst_id", "week"], as_index=False)["amount"].sum()
    payouts = pd.DataFrame(
        {
            "src_id": payouts["dst_id"],
            "dst_id": ids("S", rng.integers(0, 5_000, len(payouts)), 5).to_numpy(),
            "t": (payouts["week"] + 1) * 7 * DAY + 11 * HOUR,
            "amount": np.round(payouts["amount"] * 0.8, 2),
            "channel": "transfer",
            "device_id": None,
        }
    )
    transactions = pd.concat([sales, payouts], ignore_index=True)
    return Fragment(transactions=transactions[transactions["t"] < period.seconds])
