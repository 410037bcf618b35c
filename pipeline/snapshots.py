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


def label_rows(
    features: pd.DataFrame, labels: pd.DataFrame, entity: Entity, horizon_days: int
) -> pd.DataFrame:
    """Attach ``label`` (case confirmed in ``[s, s + horizon)``) and its typology.

    Entities confirmed before ``s`` are known already, so they are not training rows at ``s``.
    """
    cases = labels.loc[labels["entity_type"] == entity, ["entity_id", "confirmed_at", "typology"]]
    first_case = cases.sort_values("confirmed_at").drop_duplicates("entity_id")
    rows = features.merge(first_case, on="entity_id", how="left")
    known_before = rows["confirmed_at"] < rows["snapshot_date"]
    in_horizon = ~known_before & (
        rows["confirmed_at"] < rows["snapshot_date"] + pd.Timedelta(days=horizon_days)
    )
    rows = rows.assign(
        label=in_horizon.astype("int8"),
        typology=rows["typology"].where(in_horizon),
    )
    return rows.loc[~known_before].drop(columns="confirmed_at").reset_index(drop=True)
