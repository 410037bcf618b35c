"""Account features extracted by hash partition on Dask workers, for banks whose accounts
outgrow one machine.

What counts over every account is computed once, here: how many accounts log in from each
device and address, and the graph, whose rings, hops and PageRank need every node. Both go
to files next to the partitions. Each worker then computes the families of one partition's
accounts straight from the clean tables: their own payments and logins (the large shared
tables are narrowed to them), joined with those files. Intermediaries, a few thousand,
stay on the client. The result equals the single-machine extraction row for row.

Each partition still scans the whole clean tables to find its accounts' rows: a fixed cost
per partition that docs/scaling.md measures, and that clean tables bucketed by the same
account hash would remove.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
from distributed import get_worker

from pipeline.dispatch import run_tasks
from pipeline.featurize import (
    COUNTED_OVER_ALL,
    FAMILY_KEYS,
    AccountPartition,
    Aligned,
    CleanData,
    aligned_view,
    available_families,
    build_shared,
    connect,
    feature_table,
    materialize,
    parquet_reader,
    prepare,
    shared_file,
    store_in_row_order,
    write_parquet,
)
from pipeline.io import atomic_file


@dataclass(frozen=True)
class FeatureTask:
    """One partition's account features, from the clean tables into one Parquet file."""

    clean: Path
    snapshots: tuple[pd.Timestamp, ...]
    partition: AccountPartition
    output: Path
    memory_gib: float


def extract_partition(task: FeatureTask) -> Path:
    """Run anywhere (a Dask worker too): compute, write atomically; idempotent."""
    if task.output.exists():
        return task.output
    data = dataclasses.replace(
        connect(task.clean, threads=_worker_threads(), memory_gib=task.memory_gib),
        partition=task.partition,
    )
    table = feature_table(data, "account", pd.DatetimeIndex(task.snapshots))
    with atomic_file(task.output) as staging:
        write_parquet(data, table, staging, "FORMAT parquet")
    data.con.close()
    return task.output


def partitioned_account_table(
    clean: CleanData, clean_dir: Path, snapshots: pd.DatetimeIndex, **how
) -> str:
    """What :func:`feature_table` builds, from partitions computed on Dask workers (``how``
    as for :func:`partitioned_account_parts`)."""
    return aligned_view(
        clean, "account", partitioned_account_parts(clean, clean_dir, snapshots, **how)
    )


def partitioned_account_parts(
    clean: CleanData,
    clean_dir: Path,
    snapshots: pd.DatetimeIndex,
    *,
    partitions: int,
    work: Path,
    scheduler: str,
    memory_gib: float,
) -> list[Aligned]:
    """The account features as one part of :func:`aligned_view`: table ``account_partitions``,
    ``partitions`` partitions computed on the Dask workers of ``scheduler``, in row order.

    ``work`` must be readable by every worker: tasks pass paths, not data.
    """
    work.mkdir(parents=True, exist_ok=True)
    write_counted_over_all(clean, snapshots, work)
    tasks = [
        FeatureTask(
            clean=clean_dir,
            snapshots=tuple(snapshots),
            partition=AccountPartition(number, partitions, work),
            output=work / f"part-{number:04d}.parquet",
            memory_gib=memory_gib,
        )
        for number in range(partitions)
    ]
    run_tasks(tasks, scheduler=scheduler, work=extract_partition, doing="features")
    table = "account_partitions"
    store_in_row_order(
        clean,
        table,
        f"SELECT k.account_key AS entity_key, p.* EXCLUDE (entity_id) "
        f"FROM {parquet_reader(*(task.output for task in tasks))} p "
        "JOIN account_keys k ON k.account_id = p.entity_id",
    )
    columns = [c[0] for c in clean.con.execute(f"DESCRIBE {table}").fetchall()]
    return [Aligned(table, [c for c in columns if c not in FAMILY_KEYS])]


def write_counted_over_all(clean: CleanData, snapshots: pd.DatetimeIndex, work: Path) -> None:
    """What the account families need of every account, computed here and written to
    ``work`` for the partitions to read: shared counts, and the whole graph family."""
    prepare(clean, snapshots)
    usable, _ = available_families("account", clean.present)
    for family in usable:
        if family.engine == "graph":
            materialize(clean, family)
            tables = [family.name]
        else:
            tables = [table for table in family.uses if table in COUNTED_OVER_ALL]
            if tables:
                build_shared(clean, family)
        for table in tables:
            target = shared_file(work, table).as_posix()
            clean.con.execute(f"COPY {table} TO '{target}' (FORMAT parquet)")


def _worker_threads() -> int | None:
    """DuckDB threads: the Dask worker's own share of cores, else all of this machine's."""
    try:
        return get_worker().state.nthreads
    except ValueError:  # not on a worker
        return None
