"""Stage: write the simulated raw tables."""

from __future__ import annotations

import logging
from pathlib import Path

from rich.progress import track

from pipeline.config import Params
from pipeline.simulate import part_count, simulate_parts, write_world

log = logging.getLogger(__name__)


def run(params: Params, *, out: Path, accounts: int | None, months: int | None, seed: int | None):
    overrides = {"accounts": accounts, "months": months}
    cfg = params.simulate.model_copy(update={k: v for k, v in overrides.items() if v})
    seed = params.base.seed if seed is None else seed
    manifest = {"accounts": cfg.accounts, "months": cfg.months, "seed": seed}
    parts = simulate_parts(cfg, start=params.base.start_date, seed=seed)
    progress = track(parts, total=part_count(cfg), description="simulating", transient=True)
    write_world(progress, out, manifest=manifest)
    log.info("simulated %s accounts over %s months into %s", f"{cfg.accounts:,}", cfg.months, out)
