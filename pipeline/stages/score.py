"""Stage: the overnight scoring run, resumable and never half-written.

``DIR/as_of=DATE/`` is complete when its ``_SUCCESS`` manifest (row counts and content
hashes) exists; it is written last. Work in progress lives in ``_work/``: the downloaded
models, the features split into hash partitions, and one scored file per partition, each
renamed into place when complete. A killed run, run again, scores only the partitions it
had not finished; the result is the same as an uninterrupted run.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import shutil
from pathlib import Path

import mlflow
import numpy as np
import pandas as pd
from mlflow import MlflowClient

from pipeline.catalog import library_text
from pipeline.config import ENTITIES, TABLE_NAMES, Entity, Params
from pipeline.dispatch import run_tasks
from pipeline.drift import population_stability
from pipeline.errors import InputError
from pipeline.featurize import compute_features, connect, data_window, feature_frame
from pipeline.io import atomic_dir, atomic_file, write_json
from pipeline.partitioned_features import partitioned_account_table
from pipeline.partitions import partition_of
from pipeline.registry import find_version
from pipeline.report import scoring_report
from pipeline.rings import ring_report
from pipeline.scoring import (
    PartitionTask,
    explain,
    feature_typologies,
    load_model,
    rank_and_band,
    reason_texts,
)
from pipeline.stages.features import as_of_snapshot
from pipeline.tracking import SCORING_EXPERIMENT, registered_model_name, use_experiment

log = logging.getLogger(__name__)
SUCCESS = "_SUCCESS"


def run(
    params: Params,
    *,
    clean: Path,
    out: Path,
    as_of: dt.date | None,
    alias: str | None,
    version: int | None = None,
    scheduler: str | None = None,
    force: bool = False,
) -> Path:
    data = connect(clean, memory_gib=params.features.duckdb_memory_gib)
    start, end = data_window(data)
    snapshot = as_of_snapshot(as_of or end.date(), start, end)
    day = str(snapshot[0].date())
    target = out / f"as_of={day}"
    if (target / SUCCESS).exists() and not force:
        log.info(
            "%s is already scored (%s exists): nothing to do; --force to redo", target, SUCCESS
        )
        return target
    if force and target.exists():
        _retire(target)
    use_experiment(SCORING_EXPERIMENT)
    client, work = MlflowClient(), target / "_work"
    versions = {
        e: find_version(client, registered_model_name(e), alias=alias, version=version)
        for e in ENTITIES
    }
    tasks, features, served = [], {}, {}
    for entity in ENTITIES:
        model_dir = _downloaded(versions[entity], work / "models" / entity)
        served[entity] = load_model(model_dir)  # (model, catalog), read once per run
        features[entity] = _partitioned_features(
            data, entity, snapshot, model=served[entity][0], parts=work / "features" / entity,
            partitions=params.score.partitions, scheduler=scheduler,
            clean=clean, memory_gib=params.features.duckdb_memory_gib,
        )  # fmt: skip
        tasks += [
            PartitionTask(
                features=part,
                model_dir=model_dir,
                output=work / "scored" / entity / part.name,
                reasons_from=params.score.bands.medium,
            )
            for part in sorted((work / "features" / entity).glob("part-*.parquet"))
        ]
    run_tasks(tasks, scheduler=scheduler)

    queues = {
        e: _queue(params, e, work=work, features=features[e], served=served[e]) for e in ENTITIES
    }
    drift = _drift(versions, features, queues, served=served)
    rings = _rings(data, snapshot, queues, served=served)
    models = {
        e: {"model_name": v.name, "model_version": int(v.version)} for e, v in versions.items()
    }
    files = _write_outputs(target, day=day, queues=queues, rings=rings, drift=drift, models=models)
    summary = _summary(day, versions, queues, rings, drift)
    write_json(summary, target / "summary.json")
    _log_run(summary, target)
    shutil.rmtree(work)
    write_json(files | {"summary.json": _file_facts(target / "summary.json")}, target / SUCCESS)
    log.info("scored as of %s into %s", day, target)
    return target


def _downloaded(version, directory: Path) -> Path:
    """The registered model's files, downloaded once (a rerun reuses them)."""
    if not directory.exists():
        with atomic_dir(directory) as staging:
            mlflow.artifacts.download_artifacts(
                f"models:/{version.name}/{version.version}", dst_path=str(staging)
            )
    return directory


def _partitioned_features(
    data, entity, snapshot, *, model, parts: Path, partitions: int, scheduler, clean, memory_gib
):
    """The as-of features, checked against the model, split by entity hash; computed once
    (accounts on the Dask workers when there are some)."""
    if parts.exists():
        return pd.read_parquet(parts)
    if scheduler and entity == "account":
        table = partitioned_account_table(
            data, clean, snapshot, partitions=partitions, work=parts.parent / "extraction",
            scheduler=scheduler, memory_gib=memory_gib,
        )  # fmt: skip
        features = feature_frame(data, table)
    else:
        features = compute_features(data, entity, snapshot)
    missing = sorted(set(model.booster.feature_name()) - set(features.columns))
    if missing:
        raise InputError(
            f"{entity} features do not match the model's signature: missing {missing} "
            "(a table absent from this export?)"
        )
    partition = partition_of(features["entity_id"], partitions)
    with atomic_dir(parts) as staging:
        for number in range(partitions):
            features[partition == number].to_parquet(
                staging / f"part-{number:03d}.parquet", index=False
            )
    return features


def _queue(
    params: Params, entity: Entity, *, work: Path, features: pd.DataFrame, served: tuple
) -> pd.DataFrame:
    scored = pd.concat(
        [pd.read_parquet(p) for p in sorted((work / "scored" / entity).glob("part-*.parquet"))],
        ignore_index=True,
    )
    bands = params.score.bands
    ranked = rank_and_band(
        scored, budget=params.evaluate.alert_budget[entity], high=bands.high, medium=bands.medium
    )
    # The alert band is the budget's worth of rows, whatever their score: explain those
    # that scored below the floor from which partitions give reason codes.
    unexplained = np.flatnonzero(
        (ranked["risk_band"] == "alert") & (ranked["score"] < bands.medium)
    )
    if len(unexplained):
        model, catalog = served
        rows = features.set_index("entity_id").loc[ranked["entity_id"].iloc[unexplained]]
        reasons = explain(model, rows[model.booster.feature_name()], reason_texts(catalog),
                          rows=unexplained, of=len(ranked))  # fmt: skip
        ranked = ranked.fillna(reasons)
    return ranked


def _drift(versions, features, queues, *, served) -> pd.DataFrame:
    tables = []
    for entity, version in versions.items():
        model, _ = served[entity]
        if model.reference is None:
            log.warning(
                "%s version %s has no training reference: no drift figures",
                version.name,
                version.version,
            )
            continue
        current = features[entity].merge(queues[entity][["entity_id", "score"]], on="entity_id")
        tables.append(population_stability(model.reference, current).assign(entity=entity))
    drift = (
        pd.concat(tables, ignore_index=True)
        if tables
        else pd.DataFrame(columns=["entity", "feature", "psi", "status"])
    )
    for row in drift[drift["status"] != "ok"].itertuples():
        (log.error if row.status == "alert" else log.warning)(
            "drift %s on %s %s: PSI %.3f", row.status, row.entity, row.feature, row.psi
        )
    return drift[["entity", "feature", "psi", "status"]]


def _rings(data, snapshot, queues, *, served) -> pd.DataFrame:
    members = pd.concat([q.assign(entity_type=e) for e, q in queues.items()], ignore_index=True)[
        ["entity_id", "entity_type", "ring_id", "score", "reason_1_feature"]
    ]
    data.con.register("ring_members", members.dropna(subset=["ring_id"])[["entity_id", "ring_id"]])
    data.con.register("snapshots", pd.DataFrame({"snapshot_date": snapshot}))
    links = data.con.execute(library_text("ring_links.sql")).df()
    typologies = {}
    for _, catalog in served.values():
        typologies |= feature_typologies(catalog)
    return ring_report(members, links, typologies)


def _write_outputs(target: Path, *, day, queues, rings, drift, models) -> dict:
    files = {}
    for entity, queue in queues.items():
        name = f"{TABLE_NAMES[entity]}.parquet"
        _atomic_parquet(
            queue.assign(**models[entity], as_of=dt.date.fromisoformat(day)), target / name
        )
        files[name] = _file_facts(target / name) | {"rows": len(queue)}
    _atomic_parquet(rings, target / "rings.parquet")
    files["rings.parquet"] = _file_facts(target / "rings.parquet") | {"rows": len(rings)}
    with atomic_file(target / "drift.csv") as staging:
        drift.to_csv(staging, index=False)
    files["drift.csv"] = _file_facts(target / "drift.csv") | {"rows": len(drift)}
    shown = {e: f"{m['model_name']} version {m['model_version']}" for e, m in models.items()}
    page = scoring_report(as_of=day, models=shown, queues=queues, rings=rings, drift=drift)
    with atomic_file(target / "report.html") as staging:
        staging.write_text(page, encoding="utf-8")
    files["report.html"] = _file_facts(target / "report.html")
    return files


def _atomic_parquet(frame: pd.DataFrame, path: Path) -> None:
    with atomic_file(path) as staging:
        frame.to_parquet(staging, index=False)


def _file_facts(path: Path) -> dict:
    return {"sha256": hashlib.sha256(path.read_bytes()).hexdigest()}


def _summary(day, versions, queues, rings, drift) -> dict:
    return {
        "as_of": day,
        "entities": {
            entity: {
                "rows": len(queues[entity]),
                "model_name": version.name,
                "model_version": int(version.version),
                "alerts": int((queues[entity]["risk_band"] == "alert").sum()),
                "drift_warnings": int(
                    ((drift["entity"] == entity) & (drift["status"] == "warn")).sum()
                ),
                "drift_alerts": int(
                    ((drift["entity"] == entity) & (drift["status"] == "alert")).sum()
                ),
                "score_psi": _score_psi(drift, entity),
            }
            for entity, version in versions.items()
        },
        "rings": len(rings),
    }


def _score_psi(drift: pd.DataFrame, entity: str) -> float | None:
    row = drift[(drift["entity"] == entity) & (drift["feature"] == "score")]
    return float(row["psi"].iloc[0]) if len(row) else None


def _log_run(summary: dict, target: Path) -> None:
    with mlflow.start_run(run_name=f"score-{summary['as_of']}"):
        mlflow.set_tag("as_of", summary["as_of"])
        for entity, facts in summary["entities"].items():
            mlflow.set_tag(
                f"{entity}.model", f"{facts['model_name']} version {facts['model_version']}"
            )
            mlflow.log_metrics(
                {
                    f"{entity}.{k}": v
                    for k, v in facts.items()
                    if isinstance(v, int | float) and k != "model_version"
                }
            )
        mlflow.log_metric("rings", summary["rings"])
        mlflow.log_dict(summary, "summary.json")
        mlflow.log_artifact(str(target / "drift.csv"))
        mlflow.log_artifact(str(target / "report.html"))


def _retire(target: Path) -> None:
    """Move a finished run out of the way, then delete it (a reader never sees it half gone)."""
    retired = target.with_name(f".{target.name}.retired")
    shutil.rmtree(retired, ignore_errors=True)
    target.rename(retired)
    shutil.rmtree(retired)
