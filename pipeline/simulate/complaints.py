"""Honest complaints, including waves after a real product problem (a scheme look-alike)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from pipeline.config import InsurerConfig
from pipeline.simulate import texts
from pipeline.simulate.codes import NO_ID
from pipeline.simulate.population import DAY, Period, event_times

BANK_CATEGORIES = np.array(["service", "fees", "card"])
INSURER_CATEGORIES = np.array(["service", "claims", "sales_misleading", "fees"])
YEAR = 365 * DAY


def complaint_rows(*, account_id, t, category, target_id, contact_phone, text) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "account_id": account_id,
            "t": t,
            "category": category,
            "target_id": target_id,
            "contact_phone": contact_phone,
            "text": text,
        }
    )


def genuine_complaints(
    rng: np.random.Generator,
    cfg: InsurerConfig,
    period: Period,
    people: pd.DataFrame,
    insured: pd.DataFrame,
    policies: pd.DataFrame,
) -> pd.DataFrame:
    """Customers complain now and then, in their own words, with their own phone."""
    years = period.seconds / YEAR
    bank = np.flatnonzero(rng.random(len(people)) < cfg.complaint_rate_per_year * years)
    insurer = np.flatnonzero(rng.random(len(policies)) < cfg.complaint_rate_per_year * years)
    holder = policies["holder"].to_numpy()[insurer]
    category = np.concatenate(
        [
            BANK_CATEGORIES[rng.integers(0, len(BANK_CATEGORIES), len(bank))],
            INSURER_CATEGORIES[rng.integers(0, len(INSURER_CATEGORIES), len(insurer))],
        ]
    )
    everyday = complaint_rows(
        account_id=np.concatenate(
            [people["account_id"].to_numpy()[bank], policies["account_id"].to_numpy()[insurer]]
        ),
        t=event_times(rng, np.zeros(len(category)), np.full(len(category), period.seconds), 0.05),
        category=category,
        target_id=np.concatenate(
            [np.full(len(bank), NO_ID), policies["intermediary_id"].to_numpy()[insurer]]
        ),
        contact_phone=np.concatenate(
            [people["phone_digits"].to_numpy()[bank], insured["phone_digits"].to_numpy()[holder]]
        ),
        text=texts.genuine(rng, category),
    )
    return pd.concat([everyday, _product_wave(rng, period, insured, policies)], ignore_index=True)


def _product_wave(
    rng: np.random.Generator, period: Period, insured: pd.DataFrame, policies: pd.DataFrame
) -> pd.DataFrame:
    """A crediting-rate cut makes many holders complain within days, in similar words."""
    affected = np.flatnonzero(rng.random(len(policies)) < 0.02)
    wave_t = rng.integers(60 * DAY, period.seconds - 30 * DAY)
    holder = policies["holder"].to_numpy()[affected]
    return complaint_rows(
        account_id=policies["account_id"].to_numpy()[affected],
        t=wave_t + rng.integers(0, 10 * DAY, len(affected)),
        category="sales_misleading",
        target_id=policies["intermediary_id"].to_numpy()[affected],
        contact_phone=insured["phone_digits"].to_numpy()[holder],
        text=np.where(
            rng.random(len(affected)) < 0.5,
            "万能险结算利率下调，与购买时宣传的收益不符，要求说明。",
            "结算利率突然下调，业务员当初承诺的收益无法兑现，请给说法。",
        ),
    )


def agent_assisted_complaints(
    rng: np.random.Generator,
    cfg: InsurerConfig,
    period: Period,
    agents: pd.DataFrame,
    insured: pd.DataFrame,
    policies: pd.DataFrame,
) -> pd.DataFrame:
    """Honest agents who file claims complaints for their clients, giving their own phone:
    the same mark a surrender agent leaves, for a good reason."""
    assisting = np.flatnonzero(rng.random(len(agents)) < cfg.assisting_agent_share)
    rate = cfg.assisted_complaints_per_year.uniform(rng, len(assisting))
    agent = np.repeat(assisting, rng.poisson(rate * period.seconds / YEAR))
    policy = rng.integers(0, len(policies), len(agent))
    return complaint_rows(
        account_id=policies["account_id"].to_numpy()[policy],
        t=event_times(rng, np.zeros(len(agent)), np.full(len(agent), period.seconds), 0.02),
        category="claims",
        target_id=NO_ID,
        contact_phone=agents["phone_digits"].to_numpy()[agent],
        text=texts.genuine(rng, np.full(len(agent), "claims")),
    )
