"""The auditor's view: from a registered version, or from a scores file, to the training
run, the code commit, the parameters, the data digests, and the gates that let it score.

Only reads MLflow, so it works with READ permission on a shared server.
"""

from __future__ import annotations

import datetime as dt

import pandas as pd
from mlflow import MlflowClient
from rich.tree import Tree

from pipeline.errors import InputError


def scored_versions(scores: pd.DataFrame) -> list[tuple[str, int, int]]:
    """(model name, version, rows) for every model that scored rows of a scores file."""
    if not {"model_name", "model_version"} <= set(scores.columns):
        raise InputError("not a bgrisk scores file: no model_name and model_version columns")
    counts = scores.groupby(["model_name", "model_version"]).size()
    return [(str(name), int(v), int(rows)) for (name, v), rows in counts.items()]


def lineage(client: MlflowClient, name: str, version: int) -> dict:
    """Version -> training run -> commit, params, data digests -> gates and decision."""
    model_version = client.get_model_version(name, str(version))
    run = client.get_run(model_version.run_id)
    tags = model_version.tags
    return {
        "model": name,
        "version": int(model_version.version),
        "aliases": sorted(model_version.aliases),
        "registered_at": _time(model_version.creation_timestamp),
        "source": model_version.source,
        "training_run": {
            "run_id": run.info.run_id,
            "experiment_id": run.info.experiment_id,
            "started_at": _time(run.info.start_time),
            "status": run.info.status,
        },
        "git_commit": run.data.tags.get("git_commit", "unknown"),
        "params_hash": tags.get("params_hash", "unknown"),
        "params": dict(sorted(run.data.params.items())),
        "data": {
            _context(i): {"name": i.dataset.name, "digest": i.dataset.digest}
            for i in run.inputs.dataset_inputs
        },
        "test_metrics": {
            k.removeprefix("test."): v
            for k, v in sorted(run.data.metrics.items())
            if k.startswith("test.")
        },
        "gates": {
            k.removeprefix("gate."): v for k, v in sorted(tags.items()) if k.startswith("gate.")
        },
        "decision": tags.get("decision", "none recorded"),
        "decided_by": tags.get("decided_by", "unknown"),
        "decided_at": tags.get("decided_at", "unknown"),
        "model_card": tags.get("model_card", "none"),
    }


def lineage_tree(chain: dict) -> Tree:
    """The chain as a tree a terminal can print."""
    aliases = ", ".join(chain["aliases"]) or "no alias"
    root = Tree(f"[bold]{chain['model']} version {chain['version']}[/] ({aliases})")
    root.add(f"registered {chain['registered_at']} from {chain['source']}")
    run = chain["training_run"]
    training = root.add(
        f"training run {run['run_id']} (experiment {run['experiment_id']}, "
        f"{run['status']}, started {run['started_at']})"
    )
    training.add(f"code: git commit {chain['git_commit']}")
    params = training.add(f"params: hash {chain['params_hash']}")
    for key, value in chain["params"].items():
        params.add(f"{key} = {value}")
    data = training.add("data")
    for context, dataset in chain["data"].items():
        data.add(f"{context}: {dataset['name']} digest {dataset['digest']}")
    metrics = training.add("test metrics")
    for key, value in chain["test_metrics"].items():
        metrics.add(f"{key} = {value:.4f}")
    gates = root.add(
        f"gates -> {chain['decision']} (by {chain['decided_by']} at {chain['decided_at']})"
    )
    for gate, verdict in chain["gates"].items():
        gates.add(f"{gate}: {verdict}")
    root.add(f"model card: {chain['model_card']}")
    return root


def _context(dataset_input) -> str:
    return {t.key: t.value for t in dataset_input.tags}.get("mlflow.data.context", "unknown")


def _time(epoch_ms: int | None) -> str:
    if epoch_ms is None:
        return "unknown"
    return dt.datetime.fromtimestamp(epoch_ms / 1000, dt.UTC).isoformat(timespec="seconds")
