"""Out-of-time metrics as investigators use scores: an alert queue of fixed size per snapshot,
and as validators read them: does a score of 0.2 mean a one-in-five chance."""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.metrics import (
    average_precision_score,
    brier_score_loss,
    precision_recall_curve,
    roc_auc_score,
    roc_curve,
)


def alerted(scored: pd.DataFrame, budget: int) -> pd.Series:
    """Whether each row falls inside the top ``budget`` scores of its snapshot."""
    rank = scored.groupby("snapshot_date")["score"].rank(method="first", ascending=False)
    return rank <= budget


def reliability(label: np.ndarray, score: np.ndarray, bins: int) -> pd.DataFrame:
    """Mean score against observed rate in equal-mass bins (equal numbers of rows).

    Equal-width bins would put nearly every row of a rare-event score in the first bin.
    """
    order = np.argsort(score, kind="stable")
    groups = np.array_split(order, min(bins, len(order)))
    return pd.DataFrame(
        {
            "mean_score": [score[g].mean() for g in groups],
            "observed_rate": [label[g].mean() for g in groups],
            "rows": [len(g) for g in groups],
        }
    )


def expected_calibration_error(label: np.ndarray, score: np.ndarray, bins: int) -> float:
    """Row-weighted mean gap between score and observed rate over equal-mass bins."""
    points = reliability(label, score, bins)
    gaps = (points["mean_score"] - points["observed_rate"]).abs()
    return float(np.average(gaps, weights=points["rows"]))


def queue_metrics(scored: pd.DataFrame, budget: int, *, bins: int) -> dict:
    """Ranking, queue and calibration metrics of one model's ``score`` on labelled rows.

    ``scored`` holds ``snapshot_date``, ``label``, ``typology`` and the ``score``.
    """
    y, score = scored["label"].to_numpy(), scored["score"].to_numpy()
    in_queue = alerted(scored, budget).to_numpy()
    base_rate = float(y.mean())
    brier = brier_score_loss(y, score)
    metrics = {
        "rows": len(y),
        "positives": int(y.sum()),
        "expected_positives": float(score.sum()),
        "base_rate": base_rate,
        "pr_auc": float(average_precision_score(y, score)),
        "roc_auc": float(roc_auc_score(y, score)),
        "precision_at_budget": float(y[in_queue].mean()) if in_queue.any() else 0.0,
        "recall_at_budget": float(y[in_queue].sum() / max(y.sum(), 1)),
        "brier_skill": float(1 - brier / (base_rate * (1 - base_rate))),
        "ece": expected_calibration_error(y, score, bins),
    }
    metrics["per_typology_recall"] = {
        str(typology): float(in_queue[(scored["typology"] == typology).to_numpy()].mean())
        for typology in sorted(scored["typology"].dropna().unique())
    }
    return metrics


def _thinned(frame: pd.DataFrame, max_points: int) -> pd.DataFrame:
    keep = np.unique(np.linspace(0, len(frame) - 1, max_points).astype(int))
    return frame.iloc[keep].reset_index(drop=True)


def pr_curve_points(label, score, max_points: int = 200) -> pd.DataFrame:
    """Precision-recall curve thinned to a plottable number of points."""
    precision, recall, _ = precision_recall_curve(label, score)
    return _thinned(pd.DataFrame({"recall": recall, "precision": precision}), max_points)


def roc_curve_points(label, score, max_points: int = 200) -> pd.DataFrame:
    false_positive_rate, true_positive_rate, _ = roc_curve(label, score)
    return _thinned(
        pd.DataFrame(
            {"false_positive_rate": false_positive_rate, "true_positive_rate": true_positive_rate}
        ),
        max_points,
    )
