"""Stage: score the test snapshots with the logged model and both baselines; report all three.

The model is loaded from MLflow the way scoring loads it, so what is evaluated is exactly
what may be promoted.
"""

from __future__ import annotations

import logging

import mlflow
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from pipeline.artifacts import EntityArtifacts
from pipeline.baselines import baseline_scores
from pipeline.config import Entity, Params
from pipeline.evaluation import (
    expected_calibration_error,
    pr_curve_points,
    queue_metrics,
    reliability,
    roc_curve_points,
)
from pipeline.io import atomic_dir, read_json, write_json
from pipeline.plots import (
    curves_figure,
    importance_figure,
    reliability_figure,
    score_distribution_figure,
    shap_summary_figure,
)
from pipeline.serving import model_features
from pipeline.stages.train import load_feature_rows
from pipeline.tracking import TRAINING_EXPERIMENT, log_split, use_experiment

log = logging.getLogger(__name__)
SHAP_ROWS = 5000  # enough points for the summary plot to show the shape


def run(params: Params, entity: Entity) -> None:
    artifacts = EntityArtifacts.of(params, entity)
    test = load_feature_rows(artifacts, "test")
    use_experiment(TRAINING_EXPERIMENT)
    model = mlflow.pyfunc.load_model(read_json(artifacts.logged_model)["model_uri"])
    served = model.unwrap_python_model()
    scores = {"lightgbm": model.predict(test[model_features(model)])} | baseline_scores(
        read_json(artifacts.baselines), test, entity=entity
    )
    uncalibrated = served.uncalibrated(test)
    budget, bins = params.evaluate.alert_budget[entity], params.evaluate.calibration_bins
    metrics = {"alert_budget": budget} | {
        name: queue_metrics(test.assign(score=score), budget, bins=bins)
        for name, score in scores.items()
    }
    label = test["label"].to_numpy()
    metrics["lightgbm"]["ece_uncalibrated"] = expected_calibration_error(label, uncalibrated, bins)
    write_json(metrics, artifacts.metrics)

    curves = _curves(label, scores, uncalibrated=uncalibrated, bins=bins)
    with atomic_dir(artifacts.curves) as staging:
        for name, points in curves.items():
            points.to_csv(staging / f"{name}.csv", index=False)
    figures = _figures(entity, curves, test=test, scores=scores, booster=served.booster)
    with atomic_dir(artifacts.plots) as staging:
        for name, figure in figures.items():
            figure.savefig(staging / f"{name}.png", dpi=110)

    with mlflow.start_run(run_id=read_json(artifacts.run)["run_id"]):
        log_split(test, entity=entity, split="test", source=artifacts.features)
        mlflow.log_metrics(
            {
                f"test.{name}.{key}": value
                for name in scores
                for key, value in metrics[name].items()
                if isinstance(value, int | float)
            }
        )
        mlflow.log_artifact(str(artifacts.metrics), artifact_path="evaluation")
        mlflow.log_artifacts(str(artifacts.curves), artifact_path="evaluation/curves")
        mlflow.log_artifacts(str(artifacts.plots), artifact_path="evaluation/plots")
    log.info(
        "%s: test PR-AUC lightgbm %.3f, rules %.3f, logistic %.3f; ECE %.4f",
        entity,
        metrics["lightgbm"]["pr_auc"],
        metrics["rules"]["pr_auc"],
        metrics["logistic"]["pr_auc"],
        metrics["lightgbm"]["ece"],
    )


def _curves(
    label: np.ndarray, scores: dict[str, np.ndarray], *, uncalibrated: np.ndarray, bins: int
) -> dict[str, pd.DataFrame]:
    """The plotted points, by file name: PR and ROC per model, reliability of LightGBM."""
    curves = {}
    for name, score in scores.items():
        curves[f"pr_{name}"] = pr_curve_points(label, score)
        curves[f"roc_{name}"] = roc_curve_points(label, score)
    curves["reliability_uncalibrated"] = reliability(label, uncalibrated, bins)
    curves["reliability_calibrated"] = reliability(label, scores["lightgbm"], bins)
    return curves


def _figures(
    entity: Entity,
    curves: dict[str, pd.DataFrame],
    *,
    test: pd.DataFrame,
    scores: dict[str, np.ndarray],
    booster,
) -> dict[str, Figure]:
    label = test["label"].to_numpy()
    base_rate = label.mean()
    features = booster.feature_name()
    explained = test.sample(n=min(SHAP_ROWS, len(test)), random_state=0)[features]
    contributions = booster.predict(explained, pred_contrib=True)[:, :-1]
    return {
        "precision_recall": curves_figure(
            {name: curves[f"pr_{name}"] for name in scores},
            x="recall",
            y="precision",
            title=f"{entity}: precision-recall on the test snapshots",
            chance=pd.DataFrame({"recall": [0, 1], "precision": [base_rate, base_rate]}),
        ),
        "roc": curves_figure(
            {name: curves[f"roc_{name}"] for name in scores},
            x="false_positive_rate",
            y="true_positive_rate",
            title=f"{entity}: ROC on the test snapshots",
            chance=pd.DataFrame({"false_positive_rate": [0, 1], "true_positive_rate": [0, 1]}),
        ),
        "reliability": reliability_figure(
            curves["reliability_uncalibrated"],
            curves["reliability_calibrated"],
            title=f"{entity}: reliability on the test snapshots",
        ),
        "score_distribution": score_distribution_figure(
            scores["lightgbm"], label, title=f"{entity}: calibrated score by label"
        ),
        "feature_importance": importance_figure(
            pd.Series(booster.feature_importance("gain"), index=features),
            title=f"{entity}: LightGBM feature importance",
        ),
        "shap_summary": shap_summary_figure(
            contributions, explained, title=f"{entity}: SHAP summary (pred_contrib)"
        ),
    }
