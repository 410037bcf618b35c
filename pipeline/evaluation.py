"""Out-of-time metrics as investigators use scores: an alert queue of fixed size per snapshot."""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.metrics import (
    average_precision_score,
    brier_score_loss,
    precision_recall_curve,
    roc_auc_score,
)


def alerted(scored: pd.DataFrame, budget: int) -> pd.Series:
    """Whether each row falls inside the top ``budget`` scores of its snapshot."""
    rank = scored.groupby("snapshot_date")["score"].rank(method="first", ascending=False)
    return rank <= budget


def queue_metrics(scored: pd.DataFrame, budget: int) -> dict[str, float]:
    """PR-AUC, ROC-AUC, Brier skill and precision/recall at the alert budget.

    ``scored`` holds ``snapshot_date``, ``label``, ``typology`` and a calibrated ``score``.
    """
    y, score = scored["label"].to_numpy(), scored["score"].to_numpy()
    in_queue = alerted(scored, budget).to_numpy()
    base_rate = float(y.mean())
    brier = brier_score_loss(y, score)
    metrics = {
        "rows": len(y),
        "positives": int(y.sum()),
        "base_rate": base_rate,
        "pr_auc": float(average_precision_score(y, score)),
        "roc_auc": float(roc_auc_score(y, score)),
        "precision_at_budget": float(y[in_queue].mean()) if in_queue.any() else 0.0,
        "recall_at_budget": float(y[in_queue].sum() / max(y.sum(), 1)),
        "brier_skill": float(1 - brier / (base_rate * (1 - base_rate))),
    }
    metrics["per_typology_recall"] = {
        str(typology): float(in_queue[(scored["typology"] == typology).to_numpy()].mean())
        for typology in sorted(scored["typology"].dropna().unique())
    }
    return metrics


def pr_curve_points(scored: pd.DataFrame, max_points: int = 200) -> pd.DataFrame:
    """Precision-recall curve thinned to a plottable number of points."""
    precision, recall, _ = precision_recall_curve(scored["label"], scored["score"])
    keep = np.unique(np.linspace(0, len(recall) - 1, max_points).astype(int))
    return pd.DataFrame({"recall": recall[keep], "precision": precision[keep]})
