"""Point-in-time features: every catalog family run by DuckDB over the clean tables.

All snapshots are computed in one pass per family: events are joined to the (small)
snapshot table by time range, so each table is scanned once, not once per snapshot.
"""

from __future__ import annotations

from functools import reduce
from pathlib import Path

import duckdb
import pandas as pd

from pipeline.catalog import Family, families_for, views_sql
from pipeline.config import Entity
from pipeline.contract import TABLES
from pipeline.errors import InputError

KEYS = ["entity_id", "snapshot_date"]


def connect(clean_dir: Path, *, threads: int | None = None) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB session with a view per clean table present in ``clean_dir``."""
    if not clean_dir.is_dir():
        raise InputError(f"clean data directory not found: {clean_dir}")
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    if threads:
        con.execute(f"SET threads = {int(threads)}")
    for name in TABLES:
        path = clean_dir / f"{name}.parquet"
        if path.exists():
            con.execute(f"CREATE VIEW {name} AS SELECT * FROM read_parquet('{path.as_posix()}')")
    return con


def present_tables(con: duckdb.DuckDBPyConnection) -> set[str]:
    rows = con.execute("SELECT view_name FROM duckdb_views() WHERE NOT internal").fetchall()
    return {r[0] for r in rows} & set(TABLES)


def data_window(con: duckdb.DuckDBPyConnection) -> tuple[pd.Timestamp, pd.Timestamp]:
    """First event time and the day after the last one: what the data can speak for."""
    first, last = con.execute("SELECT min(ts), max(ts) FROM transactions").fetchone()
    return pd.Timestamp(first).tz_convert("UTC"), pd.Timestamp(last).tz_convert("UTC").floor(
        "D"
    ) + pd.Timedelta(days=1)


def available_families(entity: Entity, tables: set[str]) -> tuple[list[Family], list[Family]]:
    """Families whose required tables are all present, and those skipped for lack of one."""
    families = families_for(entity)
    usable = [f for f in families if set(f.requires) <= tables]
    return usable, [f for f in families if f not in usable]


def compute_features(
    con: duckdb.DuckDBPyConnection, entity: Entity, snapshots: pd.DatetimeIndex
) -> pd.DataFrame:
    """One row per entity and snapshot, with every available family's columns."""
    usable, _ = available_families(entity, present_tables(con))
    con.register("snapshots", pd.DataFrame({"snapshot_date": snapshots}))
    con.execute(views_sql())
    frames = [_run_family(con, family) for family in usable]
    features = reduce(lambda left, right: left.merge(right, on=KEYS, how="inner"), frames)
    features["snapshot_date"] = pd.to_datetime(features["snapshot_date"], utc=True)
    return features.sort_values(KEYS, ignore_index=True)


def _run_family(con: duckdb.DuckDBPyConnection, family: Family) -> pd.DataFrame:
    frame = con.execute(family.sql()).df()
    expected = KEYS + family.features
    if list(frame.columns) != expected:
        raise RuntimeError(
            f"{family.name}.sql returns {list(frame.columns)}, catalog lists {expected}"
        )
    numeric = frame[family.features].astype("float64")
    return pd.concat([frame[KEYS], numeric], axis=1)
