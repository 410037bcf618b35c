import pandas as pd
import pytest

from pipeline.evaluation import pr_curve_points, queue_metrics
from tests.conftest import utc


def scored_rows() -> pd.DataFrame:
    s1, s2 = utc("2025-10-01"), utc("2025-11-01")
    return pd.DataFrame(
        {
            "snapshot_date": [s1] * 4 + [s2] * 4,
            "score": [0.9, 0.8, 0.2, 0.1, 0.7, 0.6, 0.5, 0.05],
            "label": [1, 0, 1, 0, 0, 0, 1, 0],
            "typology": [
                "mule_account",
                None,
                "illegal_loan_intermediary",
                None,
                None,
                None,
                "mule_account",
                None,
            ],
        }
    )


def test_budget_is_per_snapshot():
    metrics = queue_metrics(scored_rows(), budget=1)
    # The queue holds the top row of each snapshot: 0.9 (bad) and 0.7 (good).
    assert metrics["precision_at_budget"] == 0.5
    assert metrics["recall_at_budget"] == pytest.approx(1 / 3)
    assert metrics["per_typology_recall"] == {"illegal_loan_intermediary": 0.0, "mule_account": 0.5}
    assert metrics["positives"] == 3 and metrics["rows"] == 8


def test_ranking_metrics():
    metrics = queue_metrics(scored_rows(), budget=3)
    assert metrics["recall_at_budget"] == 1.0
    assert metrics["precision_at_budget"] == 0.5
    # 9 of the 15 (bad, good) pairs are ordered correctly.
    assert metrics["roc_auc"] == pytest.approx(9 / 15)
    assert 0 < metrics["pr_auc"] < 1
    assert metrics["base_rate"] == pytest.approx(3 / 8)


def test_brier_skill_is_zero_for_the_base_rate_and_one_for_a_perfect_score():
    rows = scored_rows()
    assert queue_metrics(rows.assign(score=3 / 8), budget=1)["brier_skill"] == pytest.approx(0)
    assert queue_metrics(rows.assign(score=rows["label"]), budget=1)["brier_skill"] == 1


def test_pr_curve_is_thinned():
    points = pr_curve_points(scored_rows(), max_points=4)
    assert list(points.columns) == ["recall", "precision"] and len(points) <= 4
