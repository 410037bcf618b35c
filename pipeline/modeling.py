"""LightGBM per entity type: an unfitted factory, out-of-time fitting, a frozen wrapper."""

from __future__ import annotations

import lightgbm as lgb
import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClassifierMixin

from pipeline.config import TrainConfig
from pipeline.serving import booster_probability

# Keys, targets and annotations for investigators (ring_id): never model inputs.
NON_FEATURES = {"entity_id", "snapshot_date", "label", "typology", "split", "ring_id"}


def feature_columns(frame: pd.DataFrame) -> list[str]:
    return [c for c in frame.columns if c not in NON_FEATURES]


def make_classifier(
    cfg: TrainConfig, *, seed: int, features: list[str], monotone: dict[str, int]
) -> lgb.LGBMClassifier:
    """Unfitted, deterministic LightGBM: same data and params give a byte-identical model.

    ``monotone`` (feature -> 1 or -1) constrains the direction of the named features.
    """
    return lgb.LGBMClassifier(
        objective="binary",
        num_leaves=cfg.num_leaves,
        learning_rate=cfg.learning_rate,
        n_estimators=cfg.n_estimators,
        min_child_samples=cfg.min_child_samples,
        subsample=cfg.subsample,
        subsample_freq=1,
        colsample_bytree=cfg.colsample_bytree,
        reg_lambda=cfg.reg_lambda,
        random_state=seed,
        n_jobs=cfg.num_threads,
        deterministic=True,
        force_row_wise=True,
        monotone_constraints=[monotone.get(f, 0) for f in features],
        verbose=-1,
    )


def sample_negatives(rows: pd.DataFrame, rate: float, *, seed: int) -> pd.DataFrame:
    """Every positive and a seeded share ``rate`` of the negatives (all rows at rate 1)."""
    if rate >= 1:
        return rows
    kept = np.random.default_rng(seed).random(len(rows)) < rate
    return rows[kept | (rows["label"] == 1).to_numpy()]


def log_odds_offset(negative_sample_rate: float) -> float:
    """What to add to the booster's log-odds to undo negative subsampling."""
    return float(np.log(negative_sample_rate))


def fit_out_of_time(
    classifier: lgb.LGBMClassifier,
    *,
    train: pd.DataFrame,
    valid: pd.DataFrame,
    features: list[str],
    early_stopping_rounds: int,
) -> lgb.LGBMClassifier:
    """Fit on the training snapshots, stopping early on the later validation snapshots."""
    return classifier.fit(
        train[features],
        train["label"],
        eval_X=(valid[features],),
        eval_y=(valid["label"],),
        eval_metric="average_precision",
        callbacks=[lgb.early_stopping(early_stopping_rounds, verbose=False)],
    )


class BoosterClassifier(ClassifierMixin, BaseEstimator):
    """A trained booster (e.g. read back from its text file) as a fitted classifier."""

    def __init__(self, booster: lgb.Booster | None = None, log_odds_offset: float = 0.0):
        self.booster = booster
        self.log_odds_offset = log_odds_offset

    def fit(self, X, y) -> BoosterClassifier:
        raise NotImplementedError("BoosterClassifier wraps an already trained booster")

    def __sklearn_is_fitted__(self) -> bool:
        return self.booster is not None

    @property
    def classes_(self) -> np.ndarray:
        return np.array([0, 1])

    @property
    def feature_names_in_(self) -> np.ndarray:
        return np.array(self.booster.feature_name())

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        positive = booster_probability(self.booster, X, self.log_odds_offset)
        return np.column_stack([1 - positive, positive])

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        return (self.predict_proba(X)[:, 1] >= 0.5).astype(int)
