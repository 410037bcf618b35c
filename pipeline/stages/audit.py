"""Command: print the lineage of a registered version, or of the versions behind a scores
file, read-only."""

from __future__ import annotations

import json
from pathlib import Path

import mlflow
import pandas as pd
from mlflow import MlflowClient
from rich.console import Console

from pipeline.audit import lineage, lineage_tree, scored_versions
from pipeline.config import Entity
from pipeline.errors import InputError
from pipeline.registry import find_version
from pipeline.tracking import registered_model_name, tracking_uri


def run(
    *,
    entity: Entity | None,
    alias: str | None,
    version: int | None,
    scores: Path | None,
    as_json: bool,
) -> list[dict]:
    _check_arguments(entity=entity, alias=alias, version=version, scores=scores)
    mlflow.set_tracking_uri(tracking_uri())  # read only: creates no experiment
    chains = _chains(MlflowClient(), entity=entity, alias=alias, version=version, scores=scores)
    console = Console()
    if as_json:
        console.print_json(json.dumps(chains))
    else:
        for chain in chains:
            console.print(lineage_tree(chain))
    return chains


def _check_arguments(*, entity, alias, version, scores) -> None:
    if scores is not None and not scores.is_file():
        raise InputError(f"scores file not found: {scores}")
    if scores is None and entity is None:
        raise InputError("give --entity (with --alias or --version) or --scores FILE")
    if alias is not None and version is not None:
        raise InputError("give --alias or --version, not both")


def _chains(client, *, entity, alias, version, scores) -> list[dict]:
    if scores is not None:
        return [lineage(client, name, v) for name, v, _ in scored_versions(pd.read_parquet(scores))]
    name = registered_model_name(entity)
    found = find_version(client, name, alias=alias, version=version)
    return [lineage(client, name, int(found.version))]
