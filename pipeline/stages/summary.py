"""The closing table of ``make run``: what was scored, how well, by which version."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table

from pipeline.artifacts import EntityArtifacts
from pipeline.config import ENTITIES, Params
from pipeline.io import read_json
from pipeline.tracking import tracking_uri


def run(params: Params) -> None:
    scores_root = params.base.paths.scores
    latest = max(scores_root.glob("as_of=*"), default=None)
    if latest is None:
        Console().print(f"no scores under {scores_root} yet: run `dvc repro`")
        return
    scored = read_json(latest / "summary.json")["entities"]
    table = Table(title=f"bgrisk scores as of {latest.name.removeprefix('as_of=')}")
    for column in ("entity", "rows scored", "test PR-AUC", "recall at budget", "alias", "version"):
        table.add_column(column)
    for entity in ENTITIES:
        artifacts = EntityArtifacts.of(params, entity)
        metrics = read_json(artifacts.metrics)["lightgbm"]
        promotion = read_json(artifacts.promotion)
        table.add_row(
            entity,
            f"{scored[entity]['rows']:,}",
            f"{metrics['pr_auc']:.3f}",
            f"{metrics['recall_at_budget']:.3f}",
            promotion["alias"],
            str(scored[entity]["model_version"]),
        )
    console = Console()
    console.print(table)
    console.print(f"scores: {latest.resolve()}")
    console.print(
        f"MLflow store: {tracking_uri()}  (open it: mlflow ui --backend-store-uri {tracking_uri()})"
    )
