"""Investigations as they really go: partial, late and sometimes wrong."""

from __future__ import annotations

import numpy as np
import pandas as pd

from pipeline.config import SimulateConfig
from pipeline.simulate.population import DAY, Period

SOURCES = np.array(["police", "internal_investigation", "regulator"])


def investigate(
    rng: np.random.Generator,
    cfg: SimulateConfig,
    period: Period,
    truth: pd.DataFrame,
    innocents: pd.DataFrame,
) -> pd.DataFrame:
    """Confirm a share of the truly bad entities weeks to months after they start.

    Cases confirmed after the end of the window are not known yet, so they are dropped;
    a few innocent entities (``innocents``: entity_type, entity_id) are labelled by mistake.
    """
    confirmed = rng.random(len(truth)) < cfg.label_confirm_rate
    delay = rng.integers(cfg.label_delay_days[0], cfg.label_delay_days[1] + 1, len(truth)) * DAY
    true_labels = truth.loc[confirmed, ["entity_type", "entity_id", "typology"]].assign(
        confirmed_t=(truth["active_from_t"].to_numpy() + delay)[confirmed]
    )
    wrong = innocents.sample(
        n=min(len(innocents), round(len(true_labels) * cfg.false_label_rate)),
        random_state=rng,
    )
    wrong_labels = wrong.assign(
        typology=rng.choice(truth["typology"].unique(), len(wrong)),
        confirmed_t=rng.integers(30 * DAY, period.seconds, len(wrong)),
    )
    labels = pd.concat([true_labels, wrong_labels], ignore_index=True)
    labels = labels[labels["confirmed_t"] < period.seconds]
    return labels.assign(source=rng.choice(SOURCES, len(labels)))
