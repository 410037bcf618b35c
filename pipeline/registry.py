"""Promotion gates and the MLflow registry aliases they control."""

from __future__ import annotations

from dataclasses import asdict, dataclass

from mlflow import MlflowClient
from mlflow.entities.model_registry import ModelVersion

from pipeline.config import PromoteConfig

CHAMPION = "champion"
CHALLENGER = "challenger"


@dataclass(frozen=True)
class Gate:
    name: str
    value: float
    threshold: float
    passed: bool


def check_gates(metrics: dict, cfg: PromoteConfig) -> list[Gate]:
    """Floors a model must clear on the out-of-time test before it may score customers."""
    pr_auc_floor = cfg.min_pr_auc_lift * metrics["base_rate"]
    return [
        Gate("pr_auc", metrics["pr_auc"], pr_auc_floor, metrics["pr_auc"] >= pr_auc_floor),
        Gate(
            "recall_at_budget",
            metrics["recall_at_budget"],
            cfg.min_recall_at_budget,
            metrics["recall_at_budget"] >= cfg.min_recall_at_budget,
        ),
    ]


def register(
    client: MlflowClient, *, name: str, model_uri: str, run_id: str, gates: list[Gate]
) -> tuple[ModelVersion, str]:
    """Register a new version, tag its gates, and give it ``champion`` only if all pass."""
    if not client.search_registered_models(filter_string=f"name = '{name}'"):
        client.create_registered_model(name, description="bgrisk risk score; see model card")
    version = client.create_model_version(name, source=model_uri, run_id=run_id)
    for gate in gates:
        client.set_model_version_tag(
            name, version.version, f"gate.{gate.name}", "pass" if gate.passed else "fail"
        )
    alias = CHAMPION if all(g.passed for g in gates) else CHALLENGER
    client.set_registered_model_alias(name, alias, version.version)
    return version, alias


def gates_as_dicts(gates: list[Gate]) -> list[dict]:
    return [asdict(g) for g in gates]
