"""Stage: check raw tables against the contract, pseudonymize PII, write clean Parquet."""

from __future__ import annotations

import json
import logging
import os
import warnings
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from pandas.errors import Pandas4Warning
from rich.progress import track

from pipeline.contract import TABLES
from pipeline.errors import InputError
from pipeline.io import atomic_dir
from pipeline.pseudonymize import KEY_VARIABLE, SIMULATION_KEY
from pipeline.simulate import SIMULATION_MARKER
from pipeline.validate import (
    Report,
    pseudonymize_table,
    read_batches,
    table_sources,
    validate_batches,
)

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
    """Validate, pseudonymize and write each table batch by batch: memory holds one batch.

    Tables go to a staging directory that becomes ``out`` only if no table broke a rule.
    """
    sources = table_sources(raw_dir)
    key = pseudonym_key(raw_dir)
    now = pd.Timestamp.now(tz="UTC")
    report, keys = Report(), {}
    with atomic_dir(out) as staging:
        for table in track(TABLES.values(), description="validating", transient=True):
            batches = (
                read_batches(table.name, sources[table.name], report)
                if table.name in sources
                else None
            )
            checked = validate_batches(table, batches, keys=keys, report=report, now=now)
            _write_batches(
                (pseudonymize_table(table.name, batch, key) for batch in checked),
                staging / f"{table.name}.parquet",
                report,
            )
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


def _write_batches(batches: Iterator[pd.DataFrame], target: Path, report: Report) -> None:
    """Append batches to one Parquet file; once a problem is known, only keep checking."""
    writer = None
    for batch in batches:
        if report.problems:
            continue
        with warnings.catch_warnings():
            # pyarrow reads time-zone-aware columns through a pandas API deprecated in 3.1.
            warnings.simplefilter("ignore", Pandas4Warning)
            arrow = pa.Table.from_pandas(batch, preserve_index=False)
        if writer is None:
            writer = pq.ParquetWriter(target, arrow.schema)
        writer.write_table(arrow.cast(writer.schema))
    if writer is not None:
        writer.close()
