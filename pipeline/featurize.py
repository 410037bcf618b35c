"""Point-in-time features: every catalog family run by DuckDB over the clean tables.

All snapshots are computed in one pass per family: events are joined to the (small)
snapshot table by time range, so each table is scanned once, not once per snapshot.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import reduce
from pathlib import Path

import duckdb
import pandas as pd

from pipeline.catalog import Family, families_for, views_sql
from pipeline.config import Entity
from pipeline.contract import TABLES
from pipeline.errors import InputError

KEYS = ["entity_id", "snapshot_date"]


_SQL_TYPES = {
    "id": "VARCHAR",
    "text": "VARCHAR",
    "timestamp": "TIMESTAMPTZ",
    "number": "DOUBLE",
    "integer": "BIGINT",
    "boolean": "BOOLEAN",
}


@dataclass(frozen=True)
class CleanData:
    """A DuckDB session over the clean tables, and which of them the institution supplied."""

    con: duckdb.DuckDBPyConnection
    present: frozenset[str]


def connect(clean_dir: Path, *, threads: int = 1) -> CleanData:
    """A view per clean table; an absent optional table is an empty view of its contract.

    One thread by default: parallel aggregation adds floating-point numbers in varying
    order, and features that differ in the last bit make models that are not byte-identical
    from run to run. Scale comes from partitions run side by side, not from threads here.
    """
    if not clean_dir.is_dir():
        raise InputError(f"clean data directory not found: {clean_dir}")
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    con.execute(f"SET threads = {int(threads)}")
    present = set()
    for table in TABLES.values():
        path = clean_dir / f"{table.name}.parquet"
        if path.exists():
            source = f"SELECT * FROM read_parquet('{path.as_posix()}')"
            present.add(table.name)
        else:
            columns = ", ".join(f"NULL::{_SQL_TYPES[c.kind]} AS {c.name}" for c in table.columns)
            source = f"SELECT {columns} WHERE false"
        con.execute(f"CREATE VIEW {table.name} AS {source}")
    return CleanData(con=con, present=frozenset(present))


def data_window(clean: CleanData) -> tuple[pd.Timestamp, pd.Timestamp]:
    """First event time and the day after the last one: what the data can speak for."""
    [(first, last)] = clean.con.execute("SELECT min(ts), max(ts) FROM transactions").fetchall()
    if first is None:
        raise InputError("transactions table is empty: there is no period to compute features for")
    end = pd.Timestamp(last).tz_convert("UTC").floor("D") + pd.Timedelta(days=1)
    return pd.Timestamp(first).tz_convert("UTC"), end


def available_families(entity: Entity, tables: frozenset[str]) -> tuple[list[Family], list[Family]]:
    """Families whose required tables are all present, and those skipped for lack of one."""
    families = families_for(entity)
    usable = [f for f in families if set(f.requires) <= tables]
    return usable, [f for f in families if f not in usable]


def compute_features(clean: CleanData, entity: Entity, snapshots: pd.DatetimeIndex) -> pd.DataFrame:
    """One row per entity and snapshot, with every available family's columns."""
    usable, _ = available_families(entity, clean.present)
    clean.con.register("snapshots", pd.DataFrame({"snapshot_date": snapshots}))
    clean.con.execute(views_sql())
    frames = [_run_family(clean.con, family) for family in usable]
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
