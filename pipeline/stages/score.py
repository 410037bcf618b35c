"""Stage: score every account and intermediary as of a date with the aliased models."""

from __future__ import annotations

import datetime as dt
import json
import logging
from pathlib import Path

import mlflow
from mlflow import MlflowClient
from mlflow.exceptions import MlflowException

from pipeline.config import ENTITIES, TABLE_NAMES, Params
from pipeline.errors import InputError
from pipeline.featurize import compute_features, connect, data_window
from pipeline.io import atomic_dir
from pipeline.scoring import rank_scores
from pipeline.serving import model_features
from pipeline.stages.features import as_of_snapshot
from pipeline.tracking import TRAINING_EXPERIMENT, registered_model_name, use_experiment

log = logging.getLogger(__name__)


def run(params: Params, *, clean: Path, out: Path, as_of: dt.date | None, alias: str) -> Path:
    data = connect(clean, memory_gib=params.features.duckdb_memory_gib)
    start, end = data_window(data)
    snapshot = as_of_snapshot(as_of or end.date(), start, end)
    use_experiment(TRAINING_EXPERIMENT)
    client = MlflowClient()
    target = out / f"as_of={snapshot[0].date()}"
    summary = {"as_of": str(snapshot[0].date()), "alias": alias, "entities": {}}
    with atomic_dir(target) as staging:
        for entity in ENTITIES:
            name = registered_model_name(entity)
            version = _aliased_version(client, name, alias)
            model = mlflow.pyfunc.load_model(f"models:/{name}@{alias}")
            features = compute_features(data, entity, snapshot)
            scored = rank_scores(
                features,
                model.predict(features[model_features(model)]),
                model_name=name,
                model_version=int(version.version),
            )
            scored.to_parquet(staging / f"{TABLE_NAMES[entity]}.parquet", index=False)
            summary["entities"][entity] = {
                "rows": len(scored),
                "model_version": int(version.version),
            }
            log.info(
                "%s: scored %s with %s version %s",
                entity,
                f"{len(scored):,}",
                name,
                version.version,
            )
        (staging / "summary.json").write_text(json.dumps(summary, indent=2))
    return target


def _aliased_version(client: MlflowClient, name: str, alias: str):
    try:
        return client.get_model_version_by_alias(name, alias)
    except MlflowException:
        raise InputError(
            f"no model version of {name} holds alias '{alias}': run `bgrisk promote` first"
        ) from None
