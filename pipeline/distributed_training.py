"""LightGBM on a Dask cluster (``lightgbm.dask``), for training sets beyond one machine.

The workers read their share of the training snapshots from the features Parquet and build
the trees together (data-parallel). ``lightgbm.dask`` reports validation metrics from one
worker's share only and has no early stopping, so the boosting runs its full length and the
best iteration is chosen here, on all the validation rows, as single-machine early stopping
would.
"""

from __future__ import annotations

import dask.dataframe as dd
import lightgbm as lgb
import numpy as np
import pandas as pd
from distributed import Client
from lightgbm.dask import DaskLGBMClassifier
from sklearn.metrics import average_precision_score

STEP = 5  # trees added between two looks at the validation rows


def fit_on_dask(
    classifier: lgb.LGBMClassifier,
    *,
    client: Client,
    train: dd.DataFrame,
    valid: pd.DataFrame,
    features: list[str],
) -> tuple[lgb.Booster, int]:
    """Train ``classifier``'s configuration on the workers; the booster and its best length."""
    params = classifier.get_params() | {"n_jobs": 1}  # one thread per worker process
    model = DaskLGBMClassifier(client=client, **params).fit(train[features], train["label"])
    booster = model.booster_
    return booster, best_iteration(booster, valid, features)


def best_iteration(booster: lgb.Booster, valid: pd.DataFrame, features: list[str]) -> int:
    """The number of trees with the best average precision on ``valid``.

    Adds the trees' raw scores ``STEP`` at a time, so the whole curve costs one prediction.
    """
    log_odds = np.zeros(len(valid))
    best, best_score = STEP, -1.0
    for start in range(0, booster.num_trees(), STEP):
        log_odds += booster.predict(
            valid[features], raw_score=True, start_iteration=start, num_iteration=STEP
        )
        score = average_precision_score(valid["label"], log_odds)
        if score > best_score:
            best, best_score = min(start + STEP, booster.num_trees()), score
    return best
