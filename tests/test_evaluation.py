import numpy as np
import pandas as pd
import pytest

from pipeline.evaluation import (
    expected_calibration_error,
    pr_curve_points,
    queue_metrics,
    reliability,
)
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
    metrics = queue_metrics(scored_rows(), budget=1, bins=2)
    # The queue holds the top row of each snapshot: 0.9 (bad) and 0.7 (good).
    assert metrics["precision_at_budget"] == 0.5
    assert metrics["recall_at_budget"] == pytest.approx(1 / 3)
    assert metrics["per_typology_recall"] == {"illegal_loan_intermediary": 0.0, "mule_account": 0.5}
    assert metrics["positives"] == 3 and metrics["rows"] == 8


def test_ranking_metrics():
    metrics = queue_metrics(scored_rows(), budget=3, bins=2)
    assert metrics["recall_at_budget"] == 1.0
    assert metrics["precision_at_budget"] == 0.5
    # 9 of the 15 (bad, good) pairs are ordered correctly.
    assert metrics["roc_auc"] == pytest.approx(9 / 15)
    assert 0 < metrics["pr_auc"] < 1
    assert metrics["base_rate"] == pytest.approx(3 / 8)


def test_brier_skill_is_zero_for_the_base_rate_and_one_for_a_perfect_score():
    rows = scored_rows()
    assert queue_metrics(rows.assign(score=3 / 8), budget=1, bins=2)[
        "brier_skill"
    ] == pytest.approx(0)
    assert queue_metrics(rows.assign(score=rows["label"]), budget=1, bins=2)["brier_skill"] == 1


def test_pr_curve_is_thinned():
    rows = scored_rows()
    points = pr_curve_points(rows["label"], rows["score"], max_points=4)
    assert list(points.columns) == ["recall", "precision"] and len(points) <= 4


def test_reliability_bins_hold_equal_numbers_of_rows():
    score = np.array([0.01] * 6 + [0.5] * 2)
    label = np.array([0, 0, 0, 0, 1, 0, 1, 0])
    points = reliability(label, score, bins=4)
    assert points["rows"].tolist() == [2, 2, 2, 2]
    assert points["observed_rate"].tolist() == [0, 0, 0.5, 0.5]
    np.testing.assert_allclose(points["mean_score"], [0.01, 0.01, 0.01, 0.5])


def test_expected_calibration_error_weights_bin_gaps_by_rows():
    label = np.array([0, 0, 0, 1, 0, 1, 1, 1])
    # Bins of four: scores 0.25 against a rate of 0.25 (no gap), 0.5 against 0.75.
    score = np.array([0.25] * 4 + [0.5] * 4)
    assert expected_calibration_error(label, score, bins=2) == pytest.approx(0.125)
    assert expected_calibration_error(label, np.where(score < 0.3, 0.25, 0.75), bins=2) == 0


def test_metrics_count_the_positives_the_scores_expect():
    metrics = queue_metrics(scored_rows(), budget=1, bins=2)
    assert metrics["expected_positives"] == pytest.approx(scored_rows()["score"].sum())
