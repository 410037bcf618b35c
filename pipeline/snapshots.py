"""Snapshot cut-offs, out-of-time splits and point-in-time labels."""

from __future__ import annotations

import numpy as np
import pandas as pd

from pipeline.config import Entity, FeaturesConfig, SplitConfig
from pipeline.errors import InputError

SPLITS = ("train", "valid", "calib", "test")


def training_snapshots(
    data_start: pd.Timestamp, data_end: pd.Timestamp, cfg: FeaturesConfig
) -> pd.DatetimeIndex:
    """Month starts with enough history before them and a fully observed label horizon."""
    first = data_start.floor("D") + pd.Timedelta(days=cfg.first_snapshot_after_days)
    last = data_end - pd.Timedelta(days=cfg.label_horizon_days)
    return pd.date_range(first, last, freq="MS")


def assign_splits(snapshots: pd.DatetimeIndex, cfg: SplitConfig) -> pd.Series:
    """Train on the earliest snapshots; validate, calibrate and test on ever later ones."""
    held_out = cfg.valid_snapshots + cfg.calib_snapshots + cfg.test_snapshots
    if len(snapshots) <= held_out:
        raise InputError(
            f"only {len(snapshots)} snapshots in the data but the split holds out {held_out}: "
            "simulate more months or reduce split.*_snapshots"
        )
    counts = [
        len(snapshots) - held_out,
        cfg.valid_snapshots,
        cfg.calib_snapshots,
        cfg.test_snapshots,
    ]
    return pd.Series(np.repeat(SPLITS, counts), index=snapshots, name="split")


def label_sql(rows: str, entity: Entity, horizon_days: int) -> str:
    """The rows of relation ``rows`` (``entity_id``, ``snapshot_date``, ...) with ``label`` (a
    case confirmed in ``[s, s + horizon)``), its ``typology``, and ``known``, in DuckDB SQL.

    An entity confirmed before ``s`` is ``known`` already: not a training row at ``s``, which
    the caller drops. An entity counts from its first confirmation: a later case does not
    make it new again.
    """
    within = f"c.confirmed_at < r.snapshot_date + to_days({int(horizon_days)})"
    return f"""
    WITH first_case AS (
        SELECT entity_id, min(confirmed_at) AS confirmed_at,
               first(typology ORDER BY confirmed_at, typology) AS typology
        FROM labels
        WHERE entity_type = '{entity}'
        GROUP BY entity_id
    )
    SELECT r.*, CAST(coalesce({within}, false) AS TINYINT) AS label,
           CASE WHEN {within} THEN c.typology END AS typology,
           coalesce(c.confirmed_at < r.snapshot_date, false) AS known
    FROM {rows} r LEFT JOIN first_case c USING (entity_id)
    """
