"""The two baselines every model is measured against, on the very same rows.

- Expert red-flag rules (``features/red_flags.yaml``): what a risk team does without a
  model. An entity's risk is the confirmed-case rate, in the training snapshots, of entities
  raising as many flags as it does.
- Logistic regression on standardized features: the simplest learned model.

Both are fitted scikit-learn estimators that export to plain JSON and score from it, so
they are stored and reloaded the way the LightGBM model is: without pickle.
"""

from __future__ import annotations

import operator
import re
from dataclasses import dataclass

import numpy as np
import pandas as pd
import yaml
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import FunctionTransformer, StandardScaler

from pipeline.catalog import library_text
from pipeline.config import BaselineConfig, Entity

OPERATORS = {"<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge}
CONDITION = re.compile(r"^\s*(\w+)\s*(<=|>=|<|>)\s*(-?[\d.]+)\s*$")


@dataclass(frozen=True)
class Condition:
    feature: str
    op: str
    threshold: float

    @classmethod
    def parse(cls, text: str) -> Condition:
        match = CONDITION.match(text)
        if match is None:
            raise ValueError(f"red flag condition {text!r} is not 'feature <op> number'")
        feature, op, threshold = match.groups()
        return cls(feature, op, float(threshold))

    def holds(self, frame: pd.DataFrame) -> np.ndarray:
        """Where the condition holds; a missing value never raises a flag."""
        values = frame[self.feature].to_numpy(dtype=float, na_value=np.nan)
        return OPERATORS[self.op](values, self.threshold)  # NaN compares False


@dataclass(frozen=True)
class RedFlag:
    name: str
    typology: str
    conditions: tuple[Condition, ...]

    def raised(self, frame: pd.DataFrame) -> np.ndarray:
        return np.logical_and.reduce([c.holds(frame) for c in self.conditions])


def load_red_flags(entity: Entity) -> tuple[RedFlag, ...]:
    spec = yaml.safe_load(library_text("red_flags.yaml"))[entity]
    return tuple(
        RedFlag(
            name=flag["name"],
            typology=flag["typology"],
            conditions=tuple(Condition.parse(c) for c in flag["when"]),
        )
        for flag in spec
    )


def flags_raised(frame: pd.DataFrame, flags: tuple[RedFlag, ...]) -> np.ndarray:
    """How many of ``flags`` each row raises."""
    return np.sum([flag.raised(frame) for flag in flags], axis=0, dtype=np.int64)


class RedFlagRules(ClassifierMixin, BaseEstimator):
    """Risk = smoothed confirmed-case rate among training rows raising as many flags.

    Rates are shrunk towards the base rate (``prior_strength`` pseudo-rows) and made
    non-decreasing in the flag count, as an investigator would read the rules.
    """

    def __init__(self, flags: tuple[RedFlag, ...] = (), prior_strength: float = 20.0):
        self.flags = flags
        self.prior_strength = prior_strength

    def fit(self, X: pd.DataFrame, y) -> RedFlagRules:
        y = np.asarray(y, dtype=float)
        counts = flags_raised(X, self.flags)
        rows = np.bincount(counts, minlength=len(self.flags) + 1)
        positives = np.bincount(counts, weights=y, minlength=len(self.flags) + 1)
        rate = (positives + self.prior_strength * y.mean()) / (rows + self.prior_strength)
        self.rate_by_flag_count_ = np.maximum.accumulate(rate)
        self.classes_ = np.array([0, 1])
        return self

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        positive = self.rate_by_flag_count_[flags_raised(X, self.flags)]
        return np.column_stack([1 - positive, positive])

    def to_json(self) -> dict:
        return {
            "flags": [flag.name for flag in self.flags],
            "rate_by_flag_count": self.rate_by_flag_count_.tolist(),
        }


def rules_scores(fitted: dict, frame: pd.DataFrame, flags: tuple[RedFlag, ...]) -> np.ndarray:
    """Score rows with exported rules; the flags must be the ones they were fitted with."""
    if fitted["flags"] != [flag.name for flag in flags]:
        raise ValueError("the red flags changed since the rules baseline was fitted")
    return np.asarray(fitted["rate_by_flag_count"])[flags_raised(frame, flags)]


def signed_log1p(values: np.ndarray) -> np.ndarray:
    """Tame heavy tails (amounts, counts) while keeping order and sign."""
    return np.sign(values) * np.log1p(np.abs(values))


def _median_or_zero(present: np.ndarray) -> float:
    """A column's median, 0 when it has no values: what strategy="median" gives, without
    its sort of masked arrays (40 s on 3.6 million rows, against 5)."""
    return float(np.median(present)) if len(present) else 0.0


def make_logistic(cfg: BaselineConfig, *, seed: int) -> Pipeline:
    """Unfitted logistic regression: median imputation, log of magnitudes, standardization."""
    return make_pipeline(
        SimpleImputer(strategy=_median_or_zero, keep_empty_features=True),
        FunctionTransformer(signed_log1p),
        StandardScaler(),
        LogisticRegression(C=cfg.logistic_c, max_iter=5000, random_state=seed),
    )


def logistic_to_json(fitted: Pipeline, features: list[str]) -> dict:
    imputer, _, scaler, logistic = (step for _, step in fitted.steps)
    return {
        "features": features,
        "medians": imputer.statistics_.tolist(),
        "means": scaler.mean_.tolist(),
        "scales": scaler.scale_.tolist(),
        "coefficients": logistic.coef_[0].tolist(),
        "intercept": float(logistic.intercept_[0]),
    }


def logistic_scores(fitted: dict, frame: pd.DataFrame) -> np.ndarray:
    """Score rows with an exported logistic regression, the same steps as the pipeline."""
    values = frame[fitted["features"]].to_numpy(dtype=float, na_value=np.nan)
    values = np.where(np.isnan(values), np.asarray(fitted["medians"]), values)
    standardized = (signed_log1p(values) - fitted["means"]) / np.asarray(fitted["scales"])
    return 1.0 / (1.0 + np.exp(-(standardized @ fitted["coefficients"] + fitted["intercept"])))


def fit_baselines(
    train: pd.DataFrame, features: list[str], cfg: BaselineConfig, *, entity: Entity, seed: int
) -> dict:
    """Fit both baselines on the training rows; return them as JSON data."""
    rules = RedFlagRules(load_red_flags(entity), cfg.rules_prior_strength)
    logistic = make_logistic(cfg, seed=seed)
    return {
        "rules": rules.fit(train, train["label"]).to_json(),
        "logistic": logistic_to_json(logistic.fit(train[features], train["label"]), features),
    }


def baseline_scores(fitted: dict, frame: pd.DataFrame, *, entity: Entity) -> dict[str, np.ndarray]:
    return {
        "rules": rules_scores(fitted["rules"], frame, load_red_flags(entity)),
        "logistic": logistic_scores(fitted["logistic"], frame),
    }
