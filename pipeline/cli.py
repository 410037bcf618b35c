"""The ``bgrisk`` command line: parse, load params, call one stage, report errors plainly.

Stages are imported inside their command so that ``bgrisk --help`` and usage errors do not
pay for importing MLflow, LightGBM and DuckDB.
"""

from __future__ import annotations

import datetime as dt
import logging
import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from rich.logging import RichHandler
from typer.exceptions import TyperException

from pipeline.config import Params, load_params
from pipeline.errors import GateFailed, InputError

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    help="Score accounts and intermediaries for black- and gray-industry risk.",
)


class EntityOption(StrEnum):
    account = "account"
    intermediary = "intermediary"


EntityArg = Annotated[EntityOption, typer.Option("--entity", help="account or intermediary")]
Scheduler = Annotated[
    str | None, typer.Option("--scheduler", help="Dask scheduler address, or local-cluster:N")
]
AsOf = Annotated[
    dt.datetime | None, typer.Option("--as-of", formats=["%Y-%m-%d"], help="cut-off date")
]


def _params(ctx: typer.Context) -> Params:
    return load_params(ctx.obj["params_path"])


@app.callback()
def main(
    ctx: typer.Context,
    params: Annotated[Path, typer.Option("--params", help="parameters file")] = Path("params.yaml"),
    verbose: Annotated[bool, typer.Option("--verbose", "-v")] = False,
) -> None:
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(message)s",
        handlers=[RichHandler(show_path=False, show_time=False)],
    )
    # Dask narrates every worker's start and connection at INFO: keep its warnings only.
    logging.getLogger("distributed").setLevel(logging.DEBUG if verbose else logging.WARNING)
    ctx.obj = {"params_path": params}


@app.command()
def simulate(
    ctx: typer.Context,
    out: Annotated[Path, typer.Option("--out")],
    accounts: Annotated[int | None, typer.Option("--accounts", min=1)] = None,
    months: Annotated[int | None, typer.Option("--months", min=3)] = None,
    seed: Annotated[int | None, typer.Option("--seed")] = None,
) -> None:
    """Write the simulated raw tables."""
    from pipeline.stages import simulate as stage

    stage.run(_params(ctx), out=out, accounts=accounts, months=months, seed=seed)


@app.command()
def validate(
    raw: Annotated[Path, typer.Option("--raw")], out: Annotated[Path, typer.Option("--out")]
) -> None:
    """Check raw tables against the contract and pseudonymize personal data."""
    from pipeline.stages import validate as stage

    stage.run(raw_dir=raw, out=out)


@app.command()
def features(
    ctx: typer.Context,
    clean: Annotated[Path, typer.Option("--clean")],
    out: Annotated[Path, typer.Option("--out")],
    as_of: AsOf = None,
    scheduler: Scheduler = None,
) -> None:
    """Point-in-time features for every snapshot, or for one --as-of date."""
    from pipeline.stages import features as stage

    stage.run(
        _params(ctx),
        clean=clean,
        out=out,
        as_of=as_of.date() if as_of else None,
        scheduler=scheduler,
    )


@app.command()
def train(ctx: typer.Context, entity: EntityArg, scheduler: Scheduler = None) -> None:
    """Train LightGBM and the baselines on the training snapshots."""
    from pipeline.stages import train as stage

    stage.run(_params(ctx), entity.value, scheduler=scheduler)


@app.command()
def calibrate(ctx: typer.Context, entity: EntityArg) -> None:
    """Calibrate on the calibration snapshots and log the model."""
    from pipeline.stages import calibrate as stage

    stage.run(_params(ctx), entity.value)


@app.command()
def evaluate(ctx: typer.Context, entity: EntityArg) -> None:
    """Out-of-time metrics on the test snapshots."""
    from pipeline.stages import evaluate as stage

    stage.run(_params(ctx), entity.value)


@app.command()
def promote(
    ctx: typer.Context,
    entity: EntityArg,
    strict: Annotated[
        bool, typer.Option("--strict", help="exit 3 when a gate fails (the version stays)")
    ] = False,
) -> None:
    """Register the model; it becomes champion only if every gate passes."""
    from pipeline.stages import promote as stage

    gates = stage.run(_params(ctx), entity.value)
    if strict and not all(g.passed for g in gates):
        raise GateFailed(", ".join(g.name for g in gates if not g.passed))


@app.command()
def score(
    ctx: typer.Context,
    clean: Annotated[Path, typer.Option("--clean")],
    out: Annotated[Path, typer.Option("--out")],
    as_of: AsOf = None,
    alias: Annotated[str | None, typer.Option("--alias", help="default: score.alias")] = None,
    version: Annotated[int | None, typer.Option("--version", min=1)] = None,
    scheduler: Scheduler = None,
    force: Annotated[bool, typer.Option("--force", help="redo a finished as-of date")] = False,
) -> None:
    """Score every account and intermediary with the registered models (resumable)."""
    from pipeline.stages import score as stage

    if alias is not None and version is not None:
        raise InputError("give --alias or --version, not both")
    params = _params(ctx)
    stage.run(
        params,
        clean=clean,
        out=out,
        as_of=as_of.date() if as_of else None,
        alias=None if version else alias or params.score.alias,
        version=version,
        scheduler=scheduler,
        force=force,
    )


@app.command()
def audit(
    entity: Annotated[
        EntityOption | None, typer.Option("--entity", help="account or intermediary")
    ] = None,
    alias: Annotated[str | None, typer.Option("--alias", help="default: champion")] = None,
    version: Annotated[int | None, typer.Option("--version", min=1)] = None,
    scores: Annotated[
        Path | None, typer.Option("--scores", help="start from a scores file")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
) -> None:
    """Lineage of a model version: training run, commit, params, data, gates, decision."""
    from pipeline.stages import audit as stage

    stage.run(
        entity=entity.value if entity else None,
        alias=alias,
        version=version,
        scores=scores,
        as_json=as_json,
    )


@app.command()
def summary(ctx: typer.Context) -> None:
    """Print the latest scores, test metrics and model versions."""
    from pipeline.stages import summary as stage

    stage.run(_params(ctx))


def run() -> None:
    """Console entry point: usage and input errors are one line and exit 2."""
    try:
        app(standalone_mode=False)
    except InputError as err:
        print(f"error: {err}", file=sys.stderr)
        sys.exit(2)
    except GateFailed as err:
        print(f"error: promotion gates failed: {err} (registered as challenger)", file=sys.stderr)
        sys.exit(3)
    except TyperException as err:  # usage errors: unknown option, bad or missing value
        print(f"error: {' '.join(err.format_message().split())}", file=sys.stderr)
        sys.exit(2)
