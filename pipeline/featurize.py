"""Point-in-time features: every catalog family run over the clean tables.

All snapshots are computed in one pass per family: events are assigned to the (few)
snapshots whose windows hold them, so each table is scanned once, not once per snapshot.
Each family lands in a DuckDB table and the families are joined there; only the caller
decides whether the result becomes a pandas frame or goes straight to Parquet.
"""

from __future__ import annotations

import os
import tempfile
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

import duckdb
import pandas as pd

from pipeline.catalog import Family, families_for, load_catalog, shared_table_sql, views_sql
from pipeline.config import ENTITIES, Entity
from pipeline.contract import TABLES
from pipeline.errors import InputError
from pipeline.partitions import partition_of
from pipeline.timing import timed

KEYS = ["entity_id", "snapshot_date"]
# A family's rows are keyed by the entity's integer key (its id's rank, features/_views.sql)
# and stored in ROW_ORDER: ids never enter the families' tables, and the families are lined
# up side by side with no join (see aligned_view).
FAMILY_KEYS = ["entity_key", "snapshot_date"]
ROW_ORDER = "snapshot_date, entity_key"

# The session's in-memory database of shared tables and families (see connect), and the
# share of DuckDB's memory it may fill before what it holds is compressed (see store).
WORK = "work"
COMPRESS_FROM_SHARE = 0.5
# Rows per Arrow batch on their way to the Parquet writer (see write_parquet): DuckDB's
# row group size; smaller or larger batches measured slower.
STREAM_BATCH_ROWS = 122_880

# Money is exact DECIMAL: sums of integers in cents do not depend on the order in which
# parallel threads add them, so features (and the models trained on them) are bit-identical
# from run to run whatever the number of threads.
_SQL_TYPES = {
    "id": "VARCHAR",
    "text": "VARCHAR",
    "timestamp": "TIMESTAMPTZ",
    "number": "DECIMAL(18, 2)",
    "integer": "BIGINT",
    "boolean": "BOOLEAN",
}


# The shared tables (features/_<name>.sql), built when a family first reads them.
SHARED_TABLES = frozenset(table for family in load_catalog().values() for table in family.uses)

# Shared tables that count over every account (who else logs in from a device) or are the
# same for every account (the watched payments): an extraction by partition builds them
# once, over all accounts, and every partition reads them.
COUNTED_OVER_ALL = ("device_users_90d", "watched_payments_180d")

# Shared tables built snapshot by snapshot: their SQL is a query of one snapshot
# (``$snapshot``), whose groupings fit in memory where those of all snapshots spill.
BY_SNAPSHOT = ("account_counterparties_30d",)


@dataclass(frozen=True)
class AccountPartition:
    """One hash partition of the accounts, and the directory holding what was computed once
    over all of them: the ``COUNTED_OVER_ALL`` tables and the graph family, by name."""

    number: int
    count: int
    shared_dir: Path

    def shared_file(self, name: str) -> Path:
        return shared_file(self.shared_dir, name)


def shared_file(directory: Path, name: str) -> Path:
    """Where a table computed once over all accounts is written for the partitions."""
    return directory / f"{name}.parquet"


def parquet_reader(*paths: Path) -> str:
    """DuckDB's reader of Parquet files, blind to ``key=value`` directories on the path
    (scores live under ``as_of=DATE/``): it would add them as columns."""
    files = [path.as_posix() for path in paths]
    return f"read_parquet({files}, hive_partitioning = false)"


@dataclass(frozen=True)
class CleanData:
    """A DuckDB session over the clean tables, and which of them the institution supplied."""

    con: duckdb.DuckDBPyConnection
    present: frozenset[str]
    # Work shared by both entity types (the flow tables, one graph per snapshot), done once
    # per set of snapshots.
    shared: dict = field(default_factory=dict, compare=False, repr=False)
    # Set when only one partition's accounts get features (pipeline/partitioned_features.py).
    partition: AccountPartition | None = None
    # DuckDB's memory limit.
    memory_gib: float = 4


def connect(clean_dir: Path, *, threads: int | None = None, memory_gib: float = 4) -> CleanData:
    """A view per clean table; an absent optional table is an empty view of its contract.

    DuckDB keeps to ``memory_gib`` and spills the rest to a temporary directory.
    """
    if not clean_dir.is_dir():
        raise InputError(f"clean data directory not found: {clean_dir}")
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    con.execute(f"SET threads = {int(threads or os.cpu_count() or 1)}")
    con.execute(f"SET memory_limit = '{memory_gib}GiB'")
    # A spill directory of its own: DuckDB creates it when it first spills and removes it.
    spill = Path(tempfile.gettempdir()) / f"bgrisk-duckdb-{uuid.uuid4().hex}"
    con.execute(f"SET temp_directory = '{spill.as_posix()}'")
    con.execute("SET enable_progress_bar = false")
    # The large tables (shared tables, families) go to an in-memory database that can be
    # compressed by a checkpoint (see store): 2.5 to 5 times smaller than temporary
    # tables, which DuckDB keeps uncompressed and, at a million accounts, spills.
    con.execute(f"ATTACH ':memory:' AS {WORK} (COMPRESS)")
    con.execute(f"USE {WORK}")
    present = set()
    for table in TABLES.values():
        path = clean_dir / f"{table.name}.parquet"
        if path.exists():
            reader = parquet_reader(path)
            supplied = {
                row[0] for row in con.execute(f"DESCRIBE SELECT * FROM {reader}").fetchall()
            }
            present.add(table.name)
        else:
            reader, supplied = None, set()
        # Every contract column, so families may use optional ones: NULL when not supplied.
        columns = ", ".join(
            f"CAST({c.name if c.name in supplied else 'NULL'} AS {_SQL_TYPES[c.kind]}) AS {c.name}"
            for c in table.columns
        )
        source = f"SELECT {columns} FROM {reader}" if reader else f"SELECT {columns} WHERE false"
        con.execute(f"CREATE VIEW {table.name} AS {source}")
    return CleanData(con=con, present=frozenset(present), memory_gib=memory_gib)


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


@dataclass(frozen=True)
class Aligned:
    """A table with one row per row of its entity's ``<entity>_snapshots``, in ROW_ORDER
    and keyed by FAMILY_KEYS, and the names of the columns it adds to the features."""

    table: str
    columns: list[str]


def feature_table(clean: CleanData, entity: Entity, snapshots: pd.DatetimeIndex) -> str:
    """Build DuckDB view ``<entity>_features``: one row per entity and snapshot, with every
    available family's features as DOUBLE (and any family's annotations, e.g. ``ring_id``),
    in ROW_ORDER (snapshot-major, ids ascending)."""
    return aligned_view(clean, entity, family_parts(clean, entity, snapshots))


def family_parts(
    clean: CleanData,
    entity: Entity,
    snapshots: pd.DatetimeIndex,
    *,
    later: Sequence[Entity] = (),
) -> list[Aligned]:
    """Run every available family of ``entity`` into its table: the features, as parts of
    :func:`aligned_view`. The shared tables that the families of the entities ``later`` in
    this session read are kept for them."""
    usable, _ = available_families(entity, clean.present)
    prepare(clean, snapshots)
    run_order = sorted(usable, key=_shared_tables_first)
    later_families = [f for other in later for f in available_families(other, clean.present)[0]]
    for done, family in enumerate(run_order, start=1):
        # Shared tables built on the way are in its time (and logged on their own too).
        with timed(f"family {family.name}"):
            materialize(clean, family)
        release_shared(clean, [*run_order[done:], *later_families])
        if _born_in_row_order(clean, family):
            continue
        # Sorted by a statement of its own, once the shared tables it read are dropped:
        # sorting inside the family's statement, beside its hash tables, ran out of memory
        # at a million accounts and 12 snapshots. Only the sorted table is compressed. The
        # features become DOUBLE here, in parallel, rather than in the line-up, which reads
        # the families on one thread.
        with timed(f"family {family.name} put in row order"):
            rows = ", ".join(stored_columns(family))
            store_in_row_order(clean, family.name, f"SELECT {rows} FROM {family.name}")
    return [family_part(family) for family in usable]


def store_in_row_order(clean: CleanData, table: str, source: str, *, compress: bool = True) -> None:
    """Store query ``source`` as table ``table``, in ROW_ORDER: a part of :func:`aligned_view`
    (``compress`` as for :func:`store`)."""
    store(
        clean,
        f"CREATE OR REPLACE TABLE {table} AS SELECT * FROM ({source}) ORDER BY {ROW_ORDER}",
        compress=compress,
    )


def stored_columns(family: Family) -> list[str]:
    """What is kept of a family's rows for the line-up: its keys, its features as DOUBLE,
    its annotations."""
    features = [f"CAST({name} AS DOUBLE) AS {name}" for name in family.features]
    return [*FAMILY_KEYS, *features, *family.annotations]


def family_part(family: Family) -> Aligned:
    """A family's table once stored in row order (its :func:`stored_columns`)."""
    return Aligned(family.name, [*family.features, *family.annotations])


def aligned_view(clean: CleanData, entity: Entity, parts: list[Aligned], *, where: str = "") -> str:
    """Create view ``<entity>_features``: the entity's ids and snapshots, then the columns of
    each part, row by row, optionally filtered by ``where``.

    The parts are lined up by position (a POSITIONAL JOIN of tables): no hash tables of
    fifteen million wide rows and no sort, and the rows come out in ROW_ORDER, the order the
    features file keeps. Checked first, since a part out of line would give an entity
    another's features.
    """
    spine = store_spine(clean, entity)
    # Each table once: the spine may hold parts too (the labels, stored with it).
    tables = list(dict.fromkeys([spine, *(part.table for part in parts)]))
    out_of_line = " OR ".join(
        f"{table}.{key} IS DISTINCT FROM {spine}.{key}"
        for table in tables[1:]
        for key in FAMILY_KEYS
    )
    lined_up = " POSITIONAL JOIN ".join(tables)
    [(misaligned,)] = clean.con.execute(
        f"SELECT count(*) FILTER (WHERE {out_of_line or 'false'}) FROM {lined_up}"
    ).fetchall()
    if misaligned:
        raise RuntimeError(f"{misaligned} rows of {entity} features are not in line with {spine}")
    columns = [f"{spine}.entity_id", f"{spine}.snapshot_date"] + [
        f"{part.table}.{column}" for part in parts for column in part.columns
    ]
    view = _features_view(entity)
    # In the work database, not TEMP: write_parquet reads it on a cursor of its own.
    clean.con.execute(
        f"CREATE OR REPLACE VIEW {view} AS SELECT {', '.join(columns)} FROM {lined_up} "
        + (f"WHERE {where}" if where else "")
    )
    return view


def store_spine(clean: CleanData, entity: Entity, rows: str | None = None) -> str:
    """Table ``<entity>_spine``, the rows the parts of :func:`aligned_view` line up with, in
    ROW_ORDER: FAMILY_KEYS and ``entity_id`` of every row of ``<entity>_snapshots`` (stored
    once), or of query ``rows``, which adds columns of its own to them (the labels, which
    then share the spine's one sort)."""
    spine = _spine_table(entity)
    if rows or spine not in clean.shared:
        source = rows or f"SELECT * FROM {snapshot_ids(entity)}"
        # Not compressed: only the line-up follows, which streams its rows to the writer and
        # needs no room of its own (at a million accounts and 12 snapshots, compressing the
        # spine's 15 M ids cost 3 s).
        store_in_row_order(clean, spine, source, compress=False)
        clean.shared[spine] = True
    return spine


def snapshot_ids(entity: Entity) -> str:
    """The rows of ``<entity>_snapshots`` by FAMILY_KEYS, with the ``entity_id`` that names
    them in the features file: a subquery."""
    return (
        f"(SELECT s.entity_key, s.snapshot_date, i.entity_id FROM {entity}_snapshots s "
        f"JOIN {entity}_ids i USING (entity_key))"
    )


def drop_lineup(clean: CleanData, entity: Entity, parts: list[Aligned]) -> None:
    """Drop the view and tables of an entity's features once written: the families of the
    next entity need the memory, and a checkpoint would spend time compressing them."""
    clean.con.execute(f"DROP VIEW IF EXISTS {_features_view(entity)}")
    for table in {_spine_table(entity), *(part.table for part in parts)}:
        clean.shared.pop(table, None)
        clean.con.execute(f"DROP TABLE IF EXISTS {table}")


def _spine_table(entity: Entity) -> str:
    return f"{entity}_spine"


def _features_view(entity: Entity) -> str:
    return f"{entity}_features"


def write_parquet(clean: CleanData, view: str, path: Path, options: str) -> int:
    """Write view ``view`` of the work database, in its row order, to Parquet file ``path``
    with COPY ``options``; the number of rows written.

    A positional join is read on one thread, and DuckDB's Parquet writer encodes rows on
    the thread that reads them: a COPY of the lined-up view itself keeps one core busy. Read
    on a second cursor as a stream of Arrow batches, the rows reach the writer as numbered
    batches, which it encodes on every thread and writes in order (the same rows and row
    groups, a fifth faster at `170k`, 10.8 s against 15.5 s at `1m-12`).
    """
    with clean.con.cursor() as reader:
        reader.execute(f"USE {WORK}")
        batches = reader.sql(f"SELECT * FROM {view}").to_arrow_reader(STREAM_BATCH_ROWS)
        clean.con.register("rows_to_write", batches)
        try:
            [(count,)] = clean.con.execute(
                f"COPY rows_to_write TO '{path.as_posix()}' ({options})"
            ).fetchall()
        finally:
            clean.con.unregister("rows_to_write")
    return count


def _shared_tables_first(family: Family) -> int:
    """Run order: the families reading shared tables, then the graph (which reads them all),
    then the rest, so that the large shared tables are dropped as early as they can be."""
    if family.engine == "graph":
        return 1
    return 0 if family.uses else 2


def release_shared(clean: CleanData, pending: list[Family]) -> None:
    """Drop the shared tables that no family still to run will read: at a million accounts
    they fill most of DuckDB's memory, which the families after them need. A graph family
    reads none once the graph is built."""
    readers = [f for f in pending if not (f.engine == "graph" and f.name in clean.shared)]
    needed = {table for family in readers for table in family.uses}
    for table in SHARED_TABLES - needed:
        if clean.shared.pop(table, None):
            clean.con.execute(f"DROP TABLE {table}")


def compute_features(clean: CleanData, entity: Entity, snapshots: pd.DatetimeIndex) -> pd.DataFrame:
    """:func:`feature_table` as a pandas frame, sorted by entity and snapshot."""
    return feature_frame(clean, feature_table(clean, entity, snapshots))


def feature_frame(clean: CleanData, table: str) -> pd.DataFrame:
    """A feature table as a pandas frame, sorted by entity and snapshot."""
    frame = clean.con.execute(f"SELECT * FROM {table} ORDER BY entity_id, snapshot_date").df()
    frame["snapshot_date"] = pd.to_datetime(frame["snapshot_date"], utc=True)
    return frame


def prepare(clean: CleanData, snapshots: pd.DatetimeIndex) -> None:
    """Register the snapshots and build the common views, unless done for these already.

    Shared tables (``uses`` in the catalog) follow when a family first needs them.
    """
    if snapshots.empty:
        raise ValueError("no snapshots to compute features for")
    if (snapshots != snapshots.normalize()).any():
        raise ValueError("snapshots must be at midnight UTC: windows are counted in whole days")
    key = tuple(snapshots)
    if clean.shared.get("snapshots") != key:
        clean.shared.clear()
        clean.con.register("snapshots", pd.DataFrame({"snapshot_date": snapshots}))
        for name, cutoff in (("first_cutoff", snapshots.min()), ("last_cutoff", snapshots.max())):
            clean.con.execute(
                f"CREATE OR REPLACE TEMP MACRO {name}() AS TIMESTAMPTZ '{cutoff.isoformat()}'"
            )
        clean.con.execute(views_sql())
        if clean.partition:
            _narrow_scope(clean.con, clean.partition)
        # The rows every account family reads (features/_views.sql), for the scope just set.
        store_in_row_order(clean, "account_snapshots", "SELECT * FROM account_snapshots_in_scope")
        clean.shared["snapshots"] = key


def _narrow_scope(con: duckdb.DuckDBPyConnection, partition: AccountPartition) -> None:
    """Only this partition's accounts get rows and per-account tables (``account_scope``)."""
    keys = con.execute("SELECT account_id, account_key FROM account_keys").df()
    inside = keys.loc[partition_of(keys["account_id"], partition.count) == partition.number]
    con.register("partition_keys", inside[["account_key"]])
    con.execute("CREATE OR REPLACE TEMP TABLE account_scope AS SELECT * FROM partition_keys")
    con.unregister("partition_keys")


def build_shared(clean: CleanData, family: Family) -> None:
    """The shared tables a family reads, each built once; a partition reads those counted
    over every account from the files computed before it."""
    for table in family.uses:
        if table in clean.shared:
            continue
        if clean.partition and table in COUNTED_OVER_ALL:
            path = clean.partition.shared_file(table)
            store(
                clean,
                f"CREATE OR REPLACE TABLE {table} AS SELECT * FROM {parquet_reader(path)}",
            )
        else:
            with timed(f"shared table {table}"):
                if table in BY_SNAPSHOT:
                    _store_by_snapshot(clean, table)
                else:
                    store(clean, shared_table_sql(table))
        clean.shared[table] = True


def _store_by_snapshot(clean: CleanData, table: str) -> None:
    """Shared table ``table`` (one of ``BY_SNAPSHOT``): its query run for each snapshot in
    turn, compressed once all are in."""
    query = shared_table_sql(table)
    snapshots = clean.con.execute("SELECT snapshot_date FROM snapshots ORDER BY 1").fetchall()
    for index, (snapshot,) in enumerate(snapshots):
        into = f"CREATE OR REPLACE TABLE {table} AS" if index == 0 else f"INSERT INTO {table}"
        clean.con.execute(f"{into} {query}", {"snapshot": snapshot})
    compress_when_full(clean)


@contextmanager
def _hash_tables_on_aggregates(con: duckdb.DuckDBPyConnection) -> Iterator[None]:
    """For a family marked ``hash_aggregates``, keep DuckDB from flipping its LEFT JOINs of
    aggregates to all entity snapshots. It estimates the aggregates high and builds its hash
    tables on the snapshot rows instead: at a million accounts and 12 snapshots, 4 GiB of
    hash tables for `account_policies` (out of memory at 5 GiB) against a few hundred MiB
    built on the policy holders, and out of memory in `account_flow` too. Elsewhere
    DuckDB's choice stands: it was measured faster for `account_activity`."""
    con.execute("SET disabled_optimizers = 'build_side_probe_side'")
    try:
        yield
    finally:
        con.execute("RESET disabled_optimizers")


def store(clean: CleanData, sql: str, *, compress: bool = True) -> None:
    """Run a statement that writes a table of the work database, then, if asked to
    ``compress``, :func:`compress_when_full`."""
    clean.con.execute(sql)
    if compress:
        compress_when_full(clean)


def compress_when_full(clean: CleanData) -> None:
    """Once the tables fill ``COMPRESS_FROM_SHARE`` of DuckDB's memory, compress what the
    work database holds (a checkpoint).

    Compressing costs about 2 s per GB: worth it where the alternative is spilling (a
    million accounts), not for tables that fit (the ``make run`` world, a few hundred
    thousand accounts), whose extraction it would only slow down.
    """
    [(used,)] = clean.con.execute("SELECT sum(memory_usage_bytes) FROM duckdb_memory()").fetchall()
    if used > COMPRESS_FROM_SHARE * clean.memory_gib * 2**30:
        with timed(f"work tables compressed at {used / 2**30:.1f} GiB"), _spare_thread(clean.con):
            clean.con.execute(f"CHECKPOINT {WORK}")


@contextmanager
def _spare_thread(con: duckdb.DuckDBPyConnection) -> Iterator[None]:
    """One DuckDB thread more than it was given, for a checkpoint. A checkpoint hands its row
    groups to DuckDB's worker threads as tasks, and with two threads the one worker now and
    then sleeps through them all: the same compression on one core, twice as long (at a
    million accounts and 12 snapshots, 16 s instead of 8.5 s for the flow table; 4 of 30
    checkpoints of a test table, 8 of 30 after a pause, none of 30 with a third thread)."""
    [(threads,)] = con.execute("SELECT current_setting('threads')").fetchall()
    con.execute(f"SET threads = {threads + 1}")
    try:
        yield
    finally:
        con.execute(f"SET threads = {threads}")


def materialize(clean: CleanData, family: Family) -> None:
    """Run one family into a table of its name, in no particular order unless
    :func:`_born_in_row_order`, checking its columns against the catalog."""
    if _born_in_row_order(clean, family):
        if family.name not in clean.shared:
            build_shared(clean, family)
            _build_graph_families(clean)
    else:
        if family.engine == "graph":
            # The graph needs every node: computed once, this partition's rows read back.
            source = (
                f"SELECT * FROM {parquet_reader(clean.partition.shared_file(family.name))} "
                "SEMI JOIN account_snapshots USING (entity_key, snapshot_date)"
            )
        else:
            build_shared(clean, family)
            source = family.sql()
        # Not compressed (see store): family_parts stores it again in row order, and only
        # that copy is compressed.
        with _hash_tables_on_aggregates(clean.con) if family.hash_aggregates else nullcontext():
            clean.con.execute(f"CREATE OR REPLACE TABLE {family.name} AS {source}")
    columns = [c[0] for c in clean.con.execute(f"DESCRIBE {family.name}").fetchall()]
    expected = FAMILY_KEYS + family.features + list(family.annotations)
    if columns != expected:
        raise RuntimeError(f"family {family.name} returns {columns}, catalog lists {expected}")


def _born_in_row_order(clean: CleanData, family: Family) -> bool:
    """Whether a family's table is written in ROW_ORDER as it is computed: the graph's, one
    entity's rows snapshot by snapshot (features/graph.py), unless a partition reads its
    rows back from the file of the whole graph family."""
    return family.engine == "graph" and not clean.partition


def _build_graph_families(clean: CleanData) -> None:
    """Every available graph family's table, from one graph for both entity types: a row
    per row of the entity's snapshots, in ROW_ORDER."""
    # Imported here: the graph's libraries (scipy, igraph) take 0.13 s to load, which every
    # extraction without a graph (a partition, one family) would wait for.
    from features import graph  # noqa: PLC0415

    families = [
        graph.FamilyRows(
            family.entity,
            family.name,
            f"SELECT epoch_us(snapshot_date) AS snapshot_us, entity_key "
            f"FROM {family.entity}_snapshots ORDER BY {ROW_ORDER}",
        )
        for entity in ENTITIES
        for family in available_families(entity, clean.present)[0]
        if family.engine == "graph"
    ]
    graph.build_graph_features(clean.con, partial(compress_when_full, clean), families)
    clean.shared.update(dict.fromkeys((family.table for family in families), True))
