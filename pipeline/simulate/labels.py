"""Investigations as they really go: partial, late and sometimes wrong."""

from __future__ import annotations

import numpy as np
import pandas as pd

from pipeline.config import LabelConfig
from pipeline.simulate.population import DAY, Period

# A scheme first seen this early and lasting this long was running before the data began.
ONGOING_STARTED_BEFORE = 90 * DAY
ONGOING_LASTS = 180 * DAY
YEAR = 365 * DAY
SOURCES = np.array(["police", "internal_investigation", "regulator"])


def investigate(
    rng: np.random.Generator,
    cfg: LabelConfig,
    period: Period,
    truth: pd.DataFrame,
    innocents: pd.DataFrame,
) -> pd.DataFrame:
    """Confirm a share of the truly bad entities weeks to months after they are noticed.

    An investigation starts at a random moment of the entity's active period (a victim
    reports, an alert fires), not at its first act. Long-running schemes already at work
    when the data starts had been at work for a while before it, so their period reaches
    back a year: otherwise every agency would be confirmed in the same few months and the
    label rate would swing through the year in a way no real portfolio does.

    Cases confirmed after the end of the window are not known yet, so they are dropped;
    a few innocent entities (``innocents``: entity_type, entity_id) are labelled by mistake.
    """
    confirmed = rng.random(len(truth)) < cfg.confirm_rate
    active_from, active_to = truth["active_from_t"].to_numpy(), truth["active_to_t"].to_numpy()
    ongoing = (active_from < ONGOING_STARTED_BEFORE) & (active_to - active_from > ONGOING_LASTS)
    active_from = np.where(ongoing, active_from - YEAR, active_from)
    noticed = active_from + rng.random(len(truth)) * np.maximum(active_to - active_from, 0)
    delay = cfg.delay_days.integers(rng, len(truth)) * DAY
    true_labels = truth.loc[confirmed, ["entity_type", "entity_id", "typology"]].assign(
        confirmed_t=(noticed + delay)[confirmed].astype("int64")
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
