"""Stage: check raw tables against the contract, pseudonymize PII, write clean Parquet."""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path

import pandas as pd

from pipeline.contract import TABLES
from pipeline.errors import InputError
from pipeline.io import atomic_dir
from pipeline.pseudonymize import KEY_VARIABLE, SIMULATION_KEY
from pipeline.simulate import SIMULATION_MARKER
from pipeline.validate import Report, pseudonymize_table, read_table, table_sources, validate_table

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
    """Validate, pseudonymize and write one table at a time, so memory holds one table.

    Tables go to a staging directory that becomes ``out`` only if no table broke a rule.
    """
    sources = table_sources(raw_dir)
    key = pseudonym_key(raw_dir)
    now = pd.Timestamp.now(tz="UTC")
    report, keys = Report(), {}
    with atomic_dir(out) as staging:
        for table in TABLES.values():
            frame = (
                read_table(table.name, sources[table.name], report)
                if table.name in sources
                else None
            )
            checked = validate_table(table, frame, keys=keys, report=report, now=now)
            if checked is not None and not report.problems:
                pseudonymize_table(table.name, checked, key).to_parquet(
                    staging / f"{table.name}.parquet", index=False
                )
            del frame, checked
        if report.problems:
            lines = "\n  ".join(str(p) for p in report.problems)
            raise InputError(
                f"{raw_dir} breaks the data contract in {len(report.problems)} ways:\n  {lines}"
            )
        summary = {
            "row_counts": report.row_counts,
            "outside_party_share": report.outside_party_share,
            "warnings": report.warnings,
        }
        (staging / "validation_report.json").write_text(json.dumps(summary, indent=2))
    for warning in report.warnings:
        log.warning(warning)
    log.info("validated %s tables into %s", len(report.row_counts), out)
