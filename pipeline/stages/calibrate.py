"""Stage: calibrate on the calibration snapshots and log the calibrated model to MLflow."""

from __future__ import annotations

import logging
from importlib import resources
from importlib.metadata import version
from pathlib import Path

import lightgbm as lgb
import mlflow
import pandas as pd
from mlflow.models import infer_signature

from pipeline.artifacts import EntityArtifacts
from pipeline.calibration import fit_calibrator
from pipeline.config import Entity, Params
from pipeline.drift import reference_bins
from pipeline.io import read_json, write_json
from pipeline.modeling import BoosterClassifier
from pipeline.serving import apply_calibrator, booster_probability
from pipeline.stages.train import load_feature_rows
from pipeline.tracking import TRAINING_EXPERIMENT, log_split, use_experiment

log = logging.getLogger(__name__)
MODEL_CODE = Path(__file__).resolve().parent.parent / "model_code.py"
REQUIREMENTS = ("lightgbm", "mlflow", "numpy", "pandas")
# Ten quantile bins per feature are pinned down by half a million rows to well within a
# percent; scoring every training row of a million-account bank adds minutes, not accuracy.
REFERENCE_ROWS = 500_000


def run(params: Params, entity: Entity) -> None:
    artifacts = EntityArtifacts.of(params, entity)
    calib = load_feature_rows(artifacts, "calib")
    booster = lgb.Booster(model_file=artifacts.booster)
    offset = read_json(artifacts.run)["log_odds_offset"]
    calibrator = fit_calibrator(
        BoosterClassifier(booster, log_odds_offset=offset), calib, params.calibrate.method
    )
    write_json(calibrator, artifacts.calibrator)
    # What scoring measures drift against: the training rows' features and scores.
    train = _sample(load_feature_rows(artifacts, "train"), REFERENCE_ROWS, seed=params.base.seed)
    scored_train = train.assign(
        score=apply_calibrator(calibrator, booster_probability(booster, train, offset))
    )
    write_json(
        reference_bins(scored_train, [*booster.feature_name(), "score"]), artifacts.reference
    )

    features = booster.feature_name()
    example = calib[features].head(5)
    calibrated = apply_calibrator(calibrator, booster_probability(booster, example, offset))
    signature = infer_signature(example, calibrated)
    use_experiment(TRAINING_EXPERIMENT)
    with mlflow.start_run(run_id=read_json(artifacts.run)["run_id"]):
        mlflow.log_param("calibrate.method", params.calibrate.method)
        log_split(calib, entity=entity, split="calibration", source=artifacts.features)
        catalog = resources.files("features").joinpath("catalog.yaml")
        with resources.as_file(catalog) as catalog_path:
            info = mlflow.pyfunc.log_model(
                name="model",
                python_model=str(MODEL_CODE),
                artifacts={
                    "booster": str(artifacts.booster),
                    "calibrator": str(artifacts.calibrator),
                    "reference": str(artifacts.reference),
                    "catalog": str(catalog_path),
                },
                signature=signature,
                input_example=example,
                pip_requirements=[_pinned(p) for p in REQUIREMENTS],
            )
    write_json({"model_uri": info.model_uri, "model_id": info.model_id}, artifacts.logged_model)
    log.info("%s: %s calibration on %s rows", entity, params.calibrate.method, f"{len(calib):,}")


def _sample(rows: pd.DataFrame, at_most: int, *, seed: int) -> pd.DataFrame:
    return rows if len(rows) <= at_most else rows.sample(n=at_most, random_state=seed)


def _pinned(package: str) -> str:
    return f"{package}=={version(package)}"
