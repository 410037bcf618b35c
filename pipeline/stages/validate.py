"""Stage: check raw tables against the contract, pseudonymize PII, write clean Parquet."""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path

import pandas as pd

from pipeline.errors import InputError
from pipeline.io import atomic_dir
from pipeline.pseudonymize import KEY_VARIABLE, SIMULATION_KEY
from pipeline.simulate import SIMULATION_MARKER
from pipeline.validate import pseudonymize_tables, read_raw, validate_tables

log = logging.getLogger(__name__)


def pseudonym_key(raw_dir: Path) -> bytes:
    """The secret from the environment; simulated data alone may use the public key."""
    key = os.environ.get(KEY_VARIABLE)
    if key:
        return key.encode("utf-8")
    if (raw_dir / SIMULATION_MARKER).exists():
        log.warning("%s is not set: using the public key reserved for simulated data", KEY_VARIABLE)
        return SIMULATION_KEY.encode("utf-8")
    raise InputError(
        f"{KEY_VARIABLE} is not set: export a secret key (e.g. "
        f"`export {KEY_VARIABLE}=$(openssl rand -hex 32)`) shared by the institutions "
        "whose data must join, then run validate again"
    )


def run(*, raw_dir: Path, out: Path) -> None:
    raw, unreadable = read_raw(raw_dir)
    clean, report = validate_tables(raw, now=pd.Timestamp.now(tz="UTC"))
    problems = unreadable + report.problems
    if problems:
        lines = "\n  ".join(str(p) for p in problems)
        raise InputError(f"{raw_dir} breaks the data contract in {len(problems)} ways:\n  {lines}")
    clean = pseudonymize_tables(clean, pseudonym_key(raw_dir))
    with atomic_dir(out) as staging:
        for name, frame in clean.items():
            frame.to_parquet(staging / f"{name}.parquet", index=False)
        summary = {
            "row_counts": report.row_counts,
            "outside_party_share": report.outside_party_share,
            "warnings": report.warnings,
        }
        (staging / "validation_report.json").write_text(json.dumps(summary, indent=2))
    for warning in report.warnings:
        log.warning(warning)
    log.info("validated %s tables into %s", len(clean), out)
