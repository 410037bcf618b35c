"""Costs of the feature extraction by partition, for the estimate in docs/scaling.md.

``python -m bench.partitions once WORK`` computes, over all accounts, what every partition
reads (device users and the account graph, as ``bgrisk features --scheduler`` does on its
client) into ``WORK/partitions``. ``python -m bench.partitions one WORK N`` then computes
the account features of partition 0 of N, as one Dask worker would. Each runs as its own
process, so the benchmark measures each one's time and peak memory apart.
"""

from __future__ import annotations

import sys
from pathlib import Path

from pipeline.config import load_params
from pipeline.featurize import AccountPartition, connect, data_window
from pipeline.partitioned_features import FeatureTask, extract_partition, write_counted_over_all
from pipeline.snapshots import training_snapshots


def main(how: str, work: Path, partitions: int = 1) -> None:
    params = load_params(work / "params.yaml")
    data = connect(work / "clean", memory_gib=params.features.duckdb_memory_gib)
    snapshots = training_snapshots(*data_window(data), params.features)
    shared = work / "partitions"
    if how == "once":
        shared.mkdir(exist_ok=True)
        write_counted_over_all(data, snapshots, shared)
        return
    data.con.close()
    output = shared / f"part-0-of-{partitions}.parquet"
    output.unlink(missing_ok=True)
    extract_partition(
        FeatureTask(
            clean=work / "clean",
            snapshots=tuple(snapshots),
            partition=AccountPartition(0, partitions, shared),
            output=output,
            memory_gib=params.features.duckdb_memory_gib,
        )
    )


if __name__ == "__main__":
    main(sys.argv[1], Path(sys.argv[2]), *map(int, sys.argv[3:]))
