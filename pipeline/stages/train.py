"""Stage: LightGBM on the training snapshots, early-stopped on the validation snapshots."""

from __future__ import annotations

import logging

import mlflow
import pandas as pd

from pipeline.artifacts import EntityArtifacts
from pipeline.config import Entity, Params
from pipeline.errors import InputError
from pipeline.io import atomic_file, read_json, write_json
from pipeline.modeling import feature_columns, fit_out_of_time, make_classifier
from pipeline.tracking import TRAINING_EXPERIMENT, git_commit, use_experiment

log = logging.getLogger(__name__)


def load_feature_rows(artifacts: EntityArtifacts) -> pd.DataFrame:
    if not artifacts.features.exists():
        raise InputError(f"features not found: {artifacts.features} (run `bgrisk features` first)")
    return pd.read_parquet(artifacts.features)


def run(params: Params, entity: Entity) -> None:
    artifacts = EntityArtifacts.of(params, entity)
    rows = load_feature_rows(artifacts)
    features = feature_columns(rows)
    train, valid = rows[rows["split"] == "train"], rows[rows["split"] == "valid"]
    if train["label"].sum() == 0 or valid["label"].sum() == 0:
        raise InputError(f"{entity}: no confirmed cases in the training or validation snapshots")

    experiment_id = use_experiment(TRAINING_EXPERIMENT)
    commit = git_commit()
    with mlflow.start_run(experiment_id=experiment_id, run_name=f"{entity}-{commit[:8]}") as run:
        mlflow.set_tags(
            {"entity": entity, "git_commit": commit, "mlflow.source.git.commit": commit}
        )
        mlflow.log_params({f"train.{k}": v for k, v in params.train.model_dump().items()})
        mlflow.log_params({f"split.{k}": v for k, v in params.split.model_dump().items()})
        mlflow.log_params(
            {"seed": params.base.seed, "label_horizon_days": params.features.label_horizon_days}
        )
        for split, frame in (("training", train), ("validation", valid)):
            # Float labels keep MLflow's schema inference from warning about integer columns.
            dataset = mlflow.data.from_pandas(
                frame.astype({"label": "float64"}),
                source=str(artifacts.features),
                name=f"{entity}-{split}",
                targets="label",
            )
            mlflow.log_input(dataset, context=split)

        model = fit_out_of_time(
            make_classifier(params.train, seed=params.base.seed),
            train=train,
            valid=valid,
            features=features,
            early_stopping_rounds=params.train.early_stopping_rounds,
        )
        with atomic_file(artifacts.booster) as staging:
            model.booster_.save_model(staging)
        mlflow.log_artifact(str(artifacts.booster), artifact_path="booster")
        mlflow.log_dict({"features": features}, "features.json")
        families = read_json(artifacts.features.parent / "manifest.json")["entities"][entity]
        mlflow.log_dict(families, "families.json")
        mlflow.log_param("families", ",".join(families["families"]))
        mlflow.log_param("missing_families", ",".join(families["missing_families"]) or "none")
        mlflow.log_metrics(
            {
                "best_iteration": model.best_iteration_,
                "valid_average_precision": model.best_score_["valid_0"]["average_precision"],
                "train_rows": len(train),
                "train_positives": int(train["label"].sum()),
            }
        )
        write_json({"run_id": run.info.run_id, "experiment_id": experiment_id}, artifacts.run)
    log.info(
        "%s: trained on %s rows, best iteration %s",
        entity,
        f"{len(train):,}",
        model.best_iteration_,
    )
