"""Stage: LightGBM and both baselines on the training snapshots.

LightGBM stops early on the validation snapshots; negatives may be subsampled for speed,
and the log-odds offset that undoes it travels with the model to calibration.
"""

from __future__ import annotations

import logging

import dask.dataframe as dd
import mlflow
import pandas as pd
from sklearn.metrics import average_precision_score

from pipeline.artifacts import EntityArtifacts
from pipeline.baselines import fit_baselines
from pipeline.catalog import families_for, load_catalog
from pipeline.config import Entity, Params, TrainConfig
from pipeline.dispatch import dask_client
from pipeline.distributed_training import fit_on_dask
from pipeline.errors import InputError
from pipeline.io import atomic_file, read_json, write_json
from pipeline.modeling import (
    feature_columns,
    fit_out_of_time,
    log_odds_offset,
    make_classifier,
    sample_negatives,
)
from pipeline.tracking import (
    TRAINING_EXPERIMENT,
    git_commit,
    log_split,
    params_hash,
    use_experiment,
)

log = logging.getLogger(__name__)


def load_feature_rows(artifacts: EntityArtifacts, *splits: str) -> pd.DataFrame:
    """The feature rows of the given splits only: at a million accounts the whole table is
    ten million rows, and a stage rarely needs more than a quarter of them."""
    if not artifacts.features.exists():
        raise InputError(f"features not found: {artifacts.features} (run `bgrisk features` first)")
    return pd.read_parquet(artifacts.features, filters=[("split", "in", list(splits))])


def training_features(rows: pd.DataFrame, cfg: TrainConfig, entity: Entity) -> list[str]:
    """The feature columns to train on: all but the excluded families'.

    Constraints and exclusions must name catalog entries; features of families skipped for
    lack of data simply drop out.
    """
    catalog = {family.name: family for family in families_for(entity)}
    unknown = sorted(set(cfg.monotone[entity]) - {f for c in catalog.values() for f in c.features})
    if unknown:
        raise InputError(f"train.monotone.{entity} names features not in the catalog: {unknown}")
    unknown = sorted(set(cfg.exclude_families) - set(load_catalog()))
    if unknown:
        raise InputError(f"train.exclude_families names families not in the catalog: {unknown}")
    excluded = [catalog[name] for name in cfg.exclude_families if name in catalog]
    dropped = {f for family in excluded for f in family.features}
    return [f for f in feature_columns(rows) if f not in dropped]


def _fit(classifier, *, artifacts, train, valid, features, params, scheduler):
    """The booster and its best number of trees, on this machine or on Dask workers."""
    if scheduler is None:
        model = fit_out_of_time(
            classifier,
            train=train,
            valid=valid,
            features=features,
            early_stopping_rounds=params.train.early_stopping_rounds,
        )
        return model.booster_, model.best_iteration_
    if params.train.negative_sample_rate < 1:
        raise InputError("negative subsampling is not available with --scheduler yet")
    with dask_client(scheduler) as client:
        rows = dd.read_parquet(
            artifacts.features, columns=[*features, "label"], filters=[("split", "==", "train")]
        )
        return fit_on_dask(classifier, client=client, train=rows, valid=valid, features=features)


def run(params: Params, entity: Entity, *, scheduler: str | None = None) -> None:
    artifacts = EntityArtifacts.of(params, entity)
    # Read apart rather than split in memory: no second copy of the largest table.
    train, valid = (load_feature_rows(artifacts, split) for split in ("train", "valid"))
    features = training_features(train, params.train, entity)
    if train["label"].sum() == 0 or valid["label"].sum() == 0:
        raise InputError(f"{entity}: no confirmed cases in the training or validation snapshots")
    sample_rate = params.train.negative_sample_rate
    fitted_rows = sample_negatives(train, sample_rate, seed=params.base.seed)

    experiment_id = use_experiment(TRAINING_EXPERIMENT)
    commit = git_commit()
    with mlflow.start_run(experiment_id=experiment_id, run_name=f"{entity}-{commit[:8]}") as run:
        mlflow.set_tags(
            {
                "entity": entity,
                "git_commit": commit,
                "mlflow.source.git.commit": commit,
                "params_hash": params_hash(params),
            }
        )
        for section in ("train", "baselines", "split"):
            values = getattr(params, section).model_dump()
            mlflow.log_params({f"{section}.{k}": v for k, v in values.items()})
        mlflow.log_params(
            {"seed": params.base.seed, "label_horizon_days": params.features.label_horizon_days}
        )
        log_split(train, entity=entity, split="training", source=artifacts.features)
        log_split(valid, entity=entity, split="validation", source=artifacts.features)

        classifier = make_classifier(
            params.train,
            seed=params.base.seed,
            features=features,
            monotone=params.train.monotone[entity],
        )
        booster, best_iteration = _fit(
            classifier, artifacts=artifacts, train=fitted_rows, valid=valid,
            features=features, params=params, scheduler=scheduler,
        )  # fmt: skip
        with atomic_file(artifacts.booster) as staging:
            booster.save_model(staging, num_iteration=best_iteration)
        baselines = fit_baselines(
            train, features, params.baselines, entity=entity, seed=params.base.seed
        )
        write_json(baselines, artifacts.baselines)
        for path in (artifacts.booster, artifacts.baselines):
            mlflow.log_artifact(str(path), artifact_path="training")
        mlflow.log_dict({"features": features}, "features.json")
        families = read_json(artifacts.features.parent / "manifest.json")["entities"][entity]
        mlflow.log_dict(families, "families.json")
        mlflow.log_param("families", ",".join(families["families"]))
        mlflow.log_param("missing_families", ",".join(families["missing_families"]) or "none")
        mlflow.log_metrics(
            {
                "best_iteration": best_iteration,
                "valid_average_precision": average_precision_score(
                    valid["label"],
                    booster.predict(valid[features], num_iteration=best_iteration),
                ),
                "train_rows": len(train),
                "train_rows_fitted": len(fitted_rows),
                "train_positives": int(train["label"].sum()),
            }
        )
        write_json(
            {
                "run_id": run.info.run_id,
                "experiment_id": experiment_id,
                "log_odds_offset": log_odds_offset(sample_rate),
            },
            artifacts.run,
        )
    log.info(
        "%s: trained on %s of %s rows, best iteration %s",
        entity,
        f"{len(fitted_rows):,}",
        f"{len(train):,}",
        best_iteration,
    )
