"""Agent-incited insurance surrender (代理退保).

A "surrender agent" recruits policyholders in waves: each files a near-identical complaint
carrying the agent's phone, surrenders within weeks for a full refund, and forwards 20-40 %
of it to accounts the agent controls (registered with the agent's phone).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from pipeline.config import SurrenderAgentConfig
from pipeline.simulate import texts
from pipeline.simulate.complaints import complaint_rows
from pipeline.simulate.insurance import YEAR, refund_payments
from pipeline.simulate.population import DAY, Period
from pipeline.simulate.world import (
    NEVER,
    Fragment,
    intermediary_scheme_truth,
    transfers,
    with_collectors,
)


def surrender_agents(
    rng: np.random.Generator,
    cfg: SurrenderAgentConfig,
    period: Period,
    people: pd.DataFrame,
    intermediaries: pd.DataFrame,
    insured: pd.DataFrame,
    policies: pd.DataFrame,
) -> tuple[Fragment, pd.DataFrame]:
    """The scheme's rows, and the policies with the incited surrenders filled in."""
    agents = np.flatnonzero(intermediaries["kind"].to_numpy() == "insurance_agent")
    count = max(1, round(len(agents) * cfg.illegal_share))
    illegal = rng.choice(agents, count, replace=False)
    agent_ids = intermediaries["intermediary_id"].to_numpy()[illegal]
    agent_phone = intermediaries["phone_digits"].to_numpy()[illegal]

    recruit_counts = np.minimum(cfg.recruits.integers(rng, count), len(policies) // (2 * count) + 1)
    candidates = np.flatnonzero(policies["surrendered_t"].to_numpy() == NEVER)
    recruited = rng.choice(candidates, recruit_counts.sum(), replace=False)
    agent = np.repeat(np.arange(count), recruit_counts)
    waves = rng.integers(30 * DAY, period.seconds - 60 * DAY, (count, 3))
    wave_t = waves[agent, rng.integers(0, 3, len(agent))]
    complained_t = wave_t + rng.integers(0, 10 * DAY, len(agent))
    surrendered_t = complained_t + rng.integers(10 * DAY, 45 * DAY, len(agent))
    in_window = surrendered_t < period.seconds
    recruited, agent = recruited[in_window], agent[in_window]
    complained_t, surrendered_t = complained_t[in_window], surrendered_t[in_window]

    complaints = complaint_rows(
        account_id=policies["account_id"].to_numpy()[recruited],
        t=complained_t,
        category="sales_misleading",
        target_id=policies["intermediary_id"].to_numpy()[recruited],
        contact_phone=agent_phone[agent],
        text=texts.scheme(rng, "surrender", rng.integers(0, 3, count)[agent], agent_phone[agent]),
    )
    held_years = (surrendered_t - policies["issued_t"].to_numpy()[recruited]) / YEAR
    refund = policies["premium"].to_numpy()[recruited] * np.maximum(np.ceil(held_years), 1)
    updated = policies.copy()
    updated.loc[recruited, "surrendered_t"] = surrendered_t
    updated.loc[recruited, "refund_amount"] = np.round(refund, 2)
    refunds = refund_payments(rng, updated.iloc[recruited], insured)

    collector_counts = rng.integers(1, 3, count)
    collectors = rng.choice(
        np.setdiff1d(
            np.flatnonzero(~people["is_business"].to_numpy() & ~people["recruited"]),
            insured["person"],
        ),
        collector_counts.sum(),
        replace=False,
    )
    collector_agent = np.repeat(np.arange(count), collector_counts)
    collector_ids = people["account_id"].to_numpy()[collectors]
    to_collector = collector_ids[
        np.searchsorted(collector_agent, agent) + rng.integers(0, collector_counts[agent])
    ]
    kickbacks = transfers(
        refunds["dst_id"].to_numpy(),
        to_collector,
        refunds["t"].to_numpy() + rng.integers(DAY // 2, 5 * DAY, len(refunds)),
        refunds["amount"].to_numpy() * cfg.refund_forward_share.uniform(rng, len(refunds)),
    )
    phones = people["phone_digits"].to_numpy().copy()
    phones[collectors] = agent_phone[collector_agent]

    active_from = np.full(count, period.seconds)
    np.minimum.at(active_from, agent, complained_t)
    active_to = np.zeros(count, dtype=np.int64)
    np.maximum.at(active_to, agent, surrendered_t + 5 * DAY)
    active_to = np.maximum(active_to, active_from)
    truth = intermediary_scheme_truth(
        typology="agent_incited_surrender",
        gang_prefix="SA",
        intermediary_ids=agent_ids,
        collector_ids=collector_ids,
        collector_owner=collector_agent,
        active_from=active_from,
        active_to=active_to,
    )
    transactions = pd.concat([refunds, kickbacks], ignore_index=True)
    fragment = Fragment(
        people=with_collectors(people, collector_ids, phones),
        transactions=transactions[transactions["t"] < period.seconds],
        complaints=complaints,
        truth=truth[truth["active_from_t"] < period.seconds],
    )
    return fragment, updated
