"""Promotion gates and the MLflow registry aliases they control.

A version is registered whatever its gates say (the registry is the record of every
candidate); only a version that passes every gate takes ``champion``. The others take
``challenger`` and leave the champion scoring.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass
from typing import Literal

from mlflow import MlflowClient
from mlflow.entities.model_registry import ModelVersion
from mlflow.exceptions import MlflowException

from pipeline.config import PromoteConfig
from pipeline.errors import InputError

CHAMPION = "champion"
CHALLENGER = "challenger"


@dataclass(frozen=True)
class Gate:
    name: str
    value: float
    threshold: float
    comparison: Literal[">=", "<="]
    passed: bool
    note: str = ""

    @classmethod
    def at_least(cls, name: str, value: float, threshold: float, note: str = "") -> Gate:
        return cls(name, value, threshold, ">=", value >= threshold, note)

    @classmethod
    def at_most(cls, name: str, value: float, threshold: float, note: str = "") -> Gate:
        return cls(name, value, threshold, "<=", value <= threshold, note)

    @property
    def verdict(self) -> str:
        return "pass" if self.passed else "fail"


@dataclass(frozen=True)
class Champion:
    """The current champion's version and its metrics on the candidate's test rows."""

    version: int
    metrics: dict


def check_gates(metrics: dict, cfg: PromoteConfig, *, champion: Champion | None) -> list[Gate]:
    """Floors and ceilings a model must meet on the out-of-time test before it may score
    customers, and no regression against the champion scored on the very same rows."""
    gates = [
        Gate.at_least(
            "pr_auc",
            metrics["pr_auc"],
            cfg.min_pr_auc_lift * metrics["base_rate"],
            note=f"{cfg.min_pr_auc_lift} x the base rate",
        ),
        Gate.at_least("recall_at_budget", metrics["recall_at_budget"], cfg.min_recall_at_budget),
        Gate.at_most("ece", metrics["ece"], cfg.max_ece),
    ]
    if champion is None:
        gates.append(Gate.at_least("pr_auc_vs_champion", metrics["pr_auc"], 0.0, "no champion yet"))
    else:
        gates.append(
            Gate.at_least(
                "pr_auc_vs_champion",
                metrics["pr_auc"],
                champion.metrics["pr_auc"] - cfg.max_pr_auc_regression,
                note=f"champion version {champion.version} scores "
                f"{champion.metrics['pr_auc']:.4f} on the same rows",
            )
        )
    return gates


def find_version(
    client: MlflowClient, name: str, *, alias: str | None, version: int | None
) -> ModelVersion:
    """The version asked for: by number, else by alias (the champion by default)."""
    try:
        if version is not None:
            return client.get_model_version(name, str(version))
        return client.get_model_version_by_alias(name, alias or CHAMPION)
    except MlflowException:
        wanted = f"version {version}" if version is not None else f"alias '{alias or CHAMPION}'"
        raise InputError(
            f"{name} has no {wanted} in the registry (run `bgrisk promote` first)"
        ) from None


def aliased_version(client: MlflowClient, name: str, alias: str) -> ModelVersion | None:
    try:
        return client.get_model_version_by_alias(name, alias)
    except MlflowException:
        return None


def register(
    client: MlflowClient, *, name: str, model_uri: str, run_id: str, tags: dict[str, str]
) -> ModelVersion:
    """A new version of ``name`` (created with the model if needed), tagged for lineage."""
    if not client.search_registered_models(filter_string=f"name = '{name}'"):
        client.create_registered_model(name, description="bgrisk risk score; see model card")
    return client.create_model_version(name, source=model_uri, run_id=run_id, tags=tags)


def decision(gates: list[Gate]) -> str:
    return CHAMPION if all(g.passed for g in gates) else CHALLENGER


def record_decision(
    client: MlflowClient, version: ModelVersion, gates: list[Gate], *, decided_by: str
) -> str:
    """Record the gates on the version, then move ``champion`` to it only if all passed.

    The alias moves last, so a champion always has its gates and decision on record.
    """
    alias = decision(gates)
    record = {
        f"gate.{g.name}": f"{g.verdict} {g.value:.4f} {g.comparison} {g.threshold:.4f}"
        for g in gates
    }
    record |= {
        "decision": alias,
        "decided_by": decided_by,
        "decided_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
    }
    for key, value in record.items():
        client.set_model_version_tag(version.name, version.version, key, value)
    client.set_registered_model_alias(version.name, alias, version.version)
    return alias


def gates_as_dicts(gates: list[Gate]) -> list[dict]:
    return [asdict(g) for g in gates]
