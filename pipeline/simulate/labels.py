"""Investigations as they really go: partial, late and sometimes wrong."""

from __future__ import annotations

import numpy as np
import pandas as pd

from pipeline.config import LabelConfig
from pipeline.simulate.population import DAY, Period

SOURCES = np.array(["police", "internal_investigation", "regulator"])


def investigate(
    rng: np.random.Generator,
    cfg: LabelConfig,
    period: Period,
    truth: pd.DataFrame,
    innocents: pd.DataFrame,
) -> pd.DataFrame:
    """Confirm a share of the truly bad entities weeks to months after they start.

    Cases confirmed after the end of the window are not known yet, so they are dropped;
    a few innocent entities (``innocents``: entity_type, entity_id) are labelled by mistake.
    """
    confirmed = rng.random(len(truth)) < cfg.confirm_rate
    delay = cfg.delay_days.integers(rng, len(truth)) * DAY
    true_labels = truth.loc[confirmed, ["entity_type", "entity_id", "typology"]].assign(
        confirmed_t=(truth["active_from_t"].to_numpy() + delay)[confirmed]
    )
    wrong = innocents.sample(
        n=min(len(innocents), round(len(true_labels) * cfg.false_label_rate)),
        random_state=rng,
    )
    wrong_labels = wrong.assign(
        typology=rng.choice(
            truth.loc[truth["entity_type"] == "account", "typology"].unique(), len(wrong)
        ),
        confirmed_t=rng.integers(30 * DAY, period.seconds, len(wrong)),
    )
    labels = pd.concat([true_labels, wrong_labels], ignore_index=True)
    labels = labels[labels["confirmed_t"] < period.seconds]
    return labels.assign(source=rng.choice(SOURCES, len(labels)))
