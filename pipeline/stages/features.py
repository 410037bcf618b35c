"""Stage: point-in-time features and labels for every snapshot, or one as-of snapshot."""

from __future__ import annotations

import datetime as dt
import json
import logging
from pathlib import Path

import pandas as pd

from pipeline.config import ENTITIES, TABLE_NAMES, Params
from pipeline.errors import InputError
from pipeline.featurize import available_families, compute_features, connect, data_window
from pipeline.io import atomic_dir
from pipeline.snapshots import assign_splits, label_rows, training_snapshots

log = logging.getLogger(__name__)


def as_of_snapshot(as_of: dt.date, start: pd.Timestamp, end: pd.Timestamp) -> pd.DatetimeIndex:
    """A single cut-off, which must fall inside the data (after the first event, up to its end)."""
    snapshot = pd.Timestamp(as_of, tz="UTC")
    if not start < snapshot <= end:
        raise InputError(
            f"--as-of {as_of} is outside the data, which covers {start.date()} to {end.date()}"
        )
    return pd.DatetimeIndex([snapshot])


def run(params: Params, *, clean: Path, out: Path, as_of: dt.date | None) -> None:
    data = connect(clean)
    start, end = data_window(data)
    if as_of:
        snapshots = as_of_snapshot(as_of, start, end)
    else:
        snapshots = training_snapshots(start, end, params.features)
        splits = assign_splits(snapshots, params.split)
        labels = data.con.execute("SELECT * FROM labels").df()
    manifest = {"data_start": str(start), "data_end": str(end), "entities": {}}
    with atomic_dir(out) as staging:
        for entity in ENTITIES:
            rows = compute_features(data, entity, snapshots)
            if not as_of:
                rows = label_rows(rows, labels, entity, params.features.label_horizon_days)
                rows["split"] = rows["snapshot_date"].map(splits)
            rows.to_parquet(staging / f"{TABLE_NAMES[entity]}.parquet", index=False)
            usable, missing = available_families(entity, data.present)
            manifest["entities"][entity] = {
                "rows": len(rows),
                "families": [f.name for f in usable],
                "missing_families": [f.name for f in missing],
            }
            log.info("%s: %s rows over %s snapshots", entity, f"{len(rows):,}", len(snapshots))
        manifest["snapshots"] = [str(s.date()) for s in snapshots]
        if not as_of:
            manifest["splits"] = {str(s.date()): v for s, v in splits.items()}
        (staging / "manifest.json").write_text(json.dumps(manifest, indent=2))
