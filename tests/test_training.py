"""Train, calibrate and evaluate as stages on the tiny world: files, determinism, MLflow."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from mlflow import MlflowClient

from pipeline.stages import calibrate, evaluate, train
from tests.conftest import params_under, train_and_evaluate

MODELS = ("lightgbm", "rules", "logistic")
METRICS = (
    "pr_auc",
    "roc_auc",
    "precision_at_budget",
    "recall_at_budget",
    "brier_skill",
    "ece",
    "expected_positives",
)
PLOTS = {"precision_recall", "roc", "reliability", "score_distribution", "feature_importance"}


@pytest.fixture(scope="module")
def two_runs(tiny_trained, tiny_features, tiny_mlflow, tmp_path_factory) -> tuple[Path, Path]:
    """The same stages run a second time on the same features, in another directory."""
    second = tmp_path_factory.mktemp("second")
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(second)
        patch.setenv("MLFLOW_TRACKING_URI", tiny_mlflow)
        train_and_evaluate(params_under(second, tiny_features))
    return tiny_trained, second


def test_train_and_calibrate_twice_give_identical_files_and_metrics(two_runs):
    first, second = two_runs
    for entity in ("account", "intermediary"):
        for name in ("booster.txt", "baselines.json", "calibrator.json"):
            a, b = first / "models" / entity / name, second / "models" / entity / name
            assert a.read_bytes() == b.read_bytes(), f"{entity}/{name} differs"
        metrics = [
            json.loads((r / "reports" / entity / "metrics.json").read_text()) for r in two_runs
        ]
        assert metrics[0] == metrics[1]


@pytest.mark.parametrize("entity", ["account", "intermediary"])
def test_metrics_compare_the_model_with_both_baselines_on_the_same_rows(tiny_trained, entity):
    reports = tiny_trained / "reports" / entity
    metrics = json.loads((reports / "metrics.json").read_text())
    assert {m: metrics[m]["rows"] for m in MODELS} == {
        m: metrics["lightgbm"]["rows"] for m in MODELS
    }
    for model in MODELS:
        assert set(METRICS) <= set(metrics[model])
        assert 0 <= metrics[model]["ece"] <= 1
        assert metrics[model]["pr_auc"] > metrics[model]["base_rate"]
    assert metrics["lightgbm"]["per_typology_recall"]
    # Calibrated on its own snapshots, the model expects about as many cases as there are.
    expected, observed = metrics["lightgbm"]["expected_positives"], metrics["lightgbm"]["positives"]
    assert 0.5 * observed < expected < 2 * observed
    assert {p.stem for p in (reports / "plots").glob("*.png")} >= PLOTS | {"shap_summary"}
    for model in MODELS:
        curve = pd.read_csv(reports / "curves" / f"pr_{model}.csv")
        assert curve["precision"].between(0, 1).all() and curve["recall"].max() == 1


def test_mlflow_run_holds_metrics_inputs_and_plots(tiny_trained, tiny_mlflow):
    run_id = json.loads((tiny_trained / "models" / "account" / "run.json").read_text())["run_id"]
    client = MlflowClient(tracking_uri=tiny_mlflow)
    run = client.get_run(run_id)
    for model in MODELS:
        assert f"test.{model}.pr_auc" in run.data.metrics
    assert run.data.params["baselines.logistic_c"] == "1.0"
    contexts = {i.tags[0].value for i in run.inputs.dataset_inputs}
    assert contexts == {"training", "validation", "calibration", "test"}
    digests = {i.dataset.digest for i in run.inputs.dataset_inputs}
    assert len(digests) == 4  # one per split, over all of its rows
    plots = {Path(a.path).stem for a in client.list_artifacts(run_id, "evaluation/plots")}
    assert plots >= PLOTS


def test_negative_subsampling_is_corrected_before_calibration(
    tiny_features, tmp_path, mlflow_store
):
    params = params_under(tmp_path, tiny_features, negative_sample_rate=0.25)
    train.run(params, "account")
    run = json.loads((tmp_path / "models" / "account" / "run.json").read_text())
    assert run["log_odds_offset"] == pytest.approx(np.log(0.25))
    calibrate.run(params, "account")
    calibrator = json.loads((tmp_path / "models" / "account" / "calibrator.json").read_text())
    assert calibrator["log_odds_offset"] == pytest.approx(np.log(0.25))
    evaluate.run(params, "account")
    metrics = json.loads((tmp_path / "reports" / "account" / "metrics.json").read_text())
    # Uncorrected, a model fitted on a quarter of the negatives would expect ~4x the cases.
    expected, observed = metrics["lightgbm"]["expected_positives"], metrics["lightgbm"]["positives"]
    assert 0.5 * observed < expected < 2 * observed
