"""Hash partitions of entities: how work is split across processes and Dask workers."""

from __future__ import annotations

import numpy as np
import pandas as pd


def partition_of(entity_ids: pd.Series, partitions: int) -> np.ndarray:
    """A stable partition number per entity (the same in every process and run)."""
    hashes = pd.util.hash_array(entity_ids.to_numpy(dtype=object))
    return (hashes % np.uint64(partitions)).astype(np.int64)
