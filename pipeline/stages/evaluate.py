"""Stage: score the test snapshots with the logged model and report queue metrics."""

from __future__ import annotations

import logging

import mlflow

from pipeline.artifacts import EntityArtifacts
from pipeline.config import Entity, Params
from pipeline.evaluation import pr_curve_points, queue_metrics
from pipeline.io import atomic_file, read_json, write_json
from pipeline.serving import model_features
from pipeline.stages.train import load_feature_rows
from pipeline.tracking import TRAINING_EXPERIMENT, use_experiment

log = logging.getLogger(__name__)


def run(params: Params, entity: Entity) -> None:
    artifacts = EntityArtifacts.of(params, entity)
    rows = load_feature_rows(artifacts)
    test = rows[rows["split"] == "test"]
    use_experiment(TRAINING_EXPERIMENT)
    # Evaluate exactly what was logged, loaded the way scoring will load it.
    model = mlflow.pyfunc.load_model(read_json(artifacts.logged_model)["model_uri"])
    scored = test.assign(score=model.predict(test[model_features(model)]))
    budget = params.evaluate.alert_budget[entity]
    metrics = {"alert_budget": budget, "lightgbm": queue_metrics(scored, budget)}
    write_json(metrics, artifacts.metrics)
    with atomic_file(artifacts.pr_curve) as staging:
        pr_curve_points(scored).to_csv(staging, index=False)

    with mlflow.start_run(run_id=read_json(artifacts.run)["run_id"]):
        lightgbm = metrics["lightgbm"]
        mlflow.log_metrics(
            {f"test_{k}": v for k, v in lightgbm.items() if isinstance(v, int | float)}
        )
        mlflow.log_artifact(str(artifacts.metrics), artifact_path="evaluation")
        mlflow.log_artifact(str(artifacts.pr_curve), artifact_path="evaluation")
    log.info(
        "%s: test PR-AUC %.3f, recall at budget %.3f",
        entity,
        metrics["lightgbm"]["pr_auc"],
        metrics["lightgbm"]["recall_at_budget"],
    )
