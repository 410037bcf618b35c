"""Stage: register the evaluated model and move ``champion`` to it only through the gates."""

from __future__ import annotations

import logging

from mlflow import MlflowClient
from rich.console import Console
from rich.table import Table

from pipeline.artifacts import EntityArtifacts
from pipeline.config import Entity, Params
from pipeline.io import read_json, write_json
from pipeline.registry import check_gates, gates_as_dicts, register
from pipeline.tracking import TRAINING_EXPERIMENT, registered_model_name, use_experiment

log = logging.getLogger(__name__)


def run(params: Params, entity: Entity) -> None:
    artifacts = EntityArtifacts.of(params, entity)
    metrics = read_json(artifacts.metrics)["lightgbm"]
    gates = check_gates(metrics, params.promote)
    use_experiment(TRAINING_EXPERIMENT)
    name = registered_model_name(entity)
    version, alias = register(
        MlflowClient(),
        name=name,
        model_uri=read_json(artifacts.logged_model)["model_uri"],
        run_id=read_json(artifacts.run)["run_id"],
        gates=gates,
    )
    write_json(
        {
            "name": name,
            "version": int(version.version),
            "alias": alias,
            "gates": gates_as_dicts(gates),
        },
        artifacts.promotion,
    )
    table = Table(title=f"{name} version {version.version} -> {alias}")
    for column in ("gate", "value", "threshold", "verdict"):
        table.add_column(column)
    for gate in gates:
        table.add_row(
            gate.name,
            f"{gate.value:.4f}",
            f"{gate.threshold:.4f}",
            "pass" if gate.passed else "FAIL",
        )
    Console().print(table)
