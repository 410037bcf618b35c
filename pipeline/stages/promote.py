"""Stage: register the evaluated model, write its model card, and move ``champion`` to it
only through the gates (the champion scored on the very same test rows)."""

from __future__ import annotations

import getpass
import logging
import os

import lightgbm as lgb
import mlflow
import pandas as pd
from mlflow import MlflowClient
from rich.console import Console
from rich.table import Table

from pipeline.artifacts import EntityArtifacts
from pipeline.catalog import families_for
from pipeline.config import Entity, Params
from pipeline.evaluation import queue_metrics
from pipeline.io import atomic_file, read_json, write_json
from pipeline.model_card import CardFacts, model_card_html, model_card_markdown
from pipeline.registry import (
    CHAMPION,
    Champion,
    Gate,
    aliased_version,
    check_gates,
    decision,
    gates_as_dicts,
    record_decision,
    register,
)
from pipeline.serving import model_features
from pipeline.stages.train import load_feature_rows
from pipeline.tracking import TRAINING_EXPERIMENT, registered_model_name, use_experiment

log = logging.getLogger(__name__)
TOP_FEATURES = 10


def run(params: Params, entity: Entity) -> list[Gate]:
    artifacts = EntityArtifacts.of(params, entity)
    metrics = read_json(artifacts.metrics)
    use_experiment(TRAINING_EXPERIMENT)
    client, name = MlflowClient(), registered_model_name(entity)
    champion = _champion_on(artifacts, client=client, name=name, params=params, entity=entity)
    gates = check_gates(metrics["lightgbm"], params.promote, champion=champion)

    run_id = read_json(artifacts.run)["run_id"]
    training = client.get_run(run_id)
    version = register(
        client,
        name=name,
        model_uri=read_json(artifacts.logged_model)["model_uri"],
        run_id=run_id,
        tags=_lineage_tags(training),
    )
    facts = CardFacts(
        name=name,
        version=int(version.version),
        entity=entity,
        alias=decision(gates),
        run_id=run_id,
        git_commit=training.data.tags.get("git_commit", "unknown"),
        params_hash=training.data.tags.get("params_hash", "unknown"),
        metrics=metrics,
        gates=gates,
        **_data_facts(artifacts, entity),
        top_features=_top_features(artifacts, entity),
    )
    card_uri = _write_and_log_card(facts, artifacts=artifacts, client=client)
    client.set_model_version_tag(name, version.version, "model_card", card_uri)
    alias = record_decision(client, version, gates, decided_by=_operator())
    write_json(
        {"name": name, "version": int(version.version), "alias": alias}
        | {"gates": gates_as_dicts(gates), "model_card": card_uri},
        artifacts.promotion,
    )
    _print_gates(f"{name} version {version.version} -> {alias}", gates)
    return gates


def _champion_on(
    artifacts: EntityArtifacts, *, client: MlflowClient, name: str, params: Params, entity: Entity
) -> Champion | None:
    """The current champion's metrics on the candidate's test rows, if it can score them."""
    current = aliased_version(client, name, CHAMPION)
    if current is None:
        return None
    test = load_feature_rows(artifacts, "test")
    model = mlflow.pyfunc.load_model(f"models:/{name}/{current.version}")
    features = model_features(model)
    missing = sorted(set(features) - set(test.columns))
    if missing:
        log.warning(
            "champion version %s needs features these rows lack: %s", current.version, missing
        )
        return None
    scored = test.assign(score=model.predict(test[features]))
    budget = params.evaluate.alert_budget[entity]
    metrics = queue_metrics(scored, budget, bins=params.evaluate.calibration_bins)
    return Champion(version=int(current.version), metrics=metrics)


def _lineage_tags(training) -> dict[str, str]:
    """What an auditor needs on the version itself: run, commit, params, data digests."""
    tags = {
        "training_run_id": training.info.run_id,
        "git_commit": training.data.tags.get("git_commit", "unknown"),
        "params_hash": training.data.tags.get("params_hash", "unknown"),
    }
    for dataset_input in training.inputs.dataset_inputs:
        context = {t.key: t.value for t in dataset_input.tags}.get("mlflow.data.context")
        tags[f"data.{context}"] = dataset_input.dataset.digest
    return tags


def _data_facts(artifacts: EntityArtifacts, entity: Entity) -> dict:
    manifest = read_json(artifacts.features.parent / "manifest.json")
    return {
        "families": manifest["entities"][entity]["families"],
        "missing_families": manifest["entities"][entity]["missing_families"],
        "splits": manifest["splits"],
    }


def _top_features(artifacts: EntityArtifacts, entity: Entity) -> list[tuple[str, float, str]]:
    booster = lgb.Booster(model_file=artifacts.booster)
    gain = pd.Series(booster.feature_importance("gain"), index=booster.feature_name())
    share = (gain / gain.sum()).sort_values(ascending=False).head(TOP_FEATURES)
    described = {
        f: text for family in families_for(entity) for f, text in family.descriptions.items()
    }
    return [(feature, float(value), described[feature]) for feature, value in share.items()]


def _write_and_log_card(
    facts: CardFacts, *, artifacts: EntityArtifacts, client: MlflowClient
) -> str:
    """Model card as Markdown and self-contained HTML, in models/ and on the training run."""
    reliability = artifacts.plots / "reliability.png"
    markdown = model_card_markdown(facts, reliability_image="reliability.png")
    html = model_card_html(
        markdown,
        title=f"{facts.name} version {facts.version}",
        images={"reliability.png": reliability.read_bytes()},
    )
    for path, text in ((artifacts.model_card_md, markdown), (artifacts.model_card_html, html)):
        with atomic_file(path) as staging:
            staging.write_text(text, encoding="utf-8")
        client.log_artifact(facts.run_id, str(path), artifact_path="model_card")
    client.log_artifact(facts.run_id, str(reliability), artifact_path="model_card")
    return f"runs:/{facts.run_id}/model_card/{artifacts.model_card_html.name}"


def _operator() -> str:
    """Who promoted: the pipeline's operator if set (a CI job, a service account), else the
    login running the command."""
    return os.environ.get("BGRISK_OPERATOR") or getpass.getuser()


def _print_gates(title: str, gates: list[Gate]) -> None:
    table = Table(title=title)
    for column in ("gate", "value", "threshold", "verdict", "note"):
        table.add_column(column)
    for gate in gates:
        table.add_row(
            gate.name,
            f"{gate.value:.4f}",
            f"{gate.comparison} {gate.threshold:.4f}",
            gate.verdict if gate.passed else "FAIL",
            gate.note,
        )
    Console().print(table)
