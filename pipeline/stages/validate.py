"""Stage: check raw tables against the contract, pseudonymize PII, write clean Parquet."""

from __future__ import annotations

import json
import logging
import os
import warnings
from collections.abc import Iterator
from concurrent.futures import Executor, ProcessPoolExecutor, ThreadPoolExecutor, as_completed
from multiprocessing import get_context
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from pandas.errors import Pandas4Warning
from rich.progress import track

from pipeline.contract import ENTITY_TABLES, TABLES
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
# Event tables validated at once, each in its own process: the stage is mostly
# single-threaded pandas, and the largest table alone takes two thirds of it.
_WORKERS = 2
_PARALLEL_FROM_BYTES = 256 * 2**20


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

    The entity tables go first (the others refer to them); the event tables then go two at
    a time in worker processes, the largest first, each with the entities' keys. Tables go
    to a staging directory that becomes ``out`` only if no table broke a rule.
    """
    sources = table_sources(raw_dir)
    key = pseudonym_key(raw_dir)
    now = pd.Timestamp.now(tz="UTC")
    keys: dict[str, pa.Array] = {}
    with atomic_dir(out) as staging:
        reports = {
            name: _validate_table(name, sources.get(name), staging, keys=keys, key=key, now=now)
            for name in ENTITY_TABLES
        }
        sizes = {name: _size(sources.get(name)) for name in TABLES if name not in ENTITY_TABLES}
        events = sorted(sizes, key=lambda name: -sizes[name])
        with _pool(sum(sizes.values())) as pool:
            futures = {
                pool.submit(
                    _validate_table, name, sources.get(name), staging, keys=keys, key=key, now=now
                ): name
                for name in events
            }
            for future in track(
                as_completed(futures), total=len(futures), description="validating",
                transient=True,
            ):  # fmt: skip
                reports[futures[future]] = future.result()
        report = Report.merged(reports[name] for name in TABLES)
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


def _validate_table(
    name: str,
    source: Path | None,
    staging: Path,
    *,
    keys: dict[str, pa.Array],
    key: bytes,
    now: pd.Timestamp,
) -> Report:
    """One table, read, checked, pseudonymized and written; runs in a worker process too.

    ``keys`` gains the table's keys when it is an entity table.
    """
    report, table = Report(), TABLES[name]
    batches = read_batches(name, source, report) if source else None
    checked = validate_batches(table, batches, keys=keys, report=report, now=now)
    _write_batches(
        (pseudonymize_table(name, batch, key) for batch in checked),
        staging / f"{name}.parquet",
        report,
    )
    return report


def _pool(size: int) -> Executor:
    """Worker processes for large exports; small ones are done sooner in this process than
    it takes to start a worker (about a second and a half of imports)."""
    if size < _PARALLEL_FROM_BYTES:
        return ThreadPoolExecutor(1)
    return ProcessPoolExecutor(_WORKERS, mp_context=get_context("spawn"))


def _size(source: Path | None) -> int:
    """Bytes of a table's file or files: the largest tables are started first."""
    if source is None:
        return 0
    files = source.rglob("*") if source.is_dir() else [source]
    return sum(f.stat().st_size for f in files if f.is_file())


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
