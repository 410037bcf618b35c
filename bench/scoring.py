"""Scoring speed for the benchmark: the score-only path and the reason-code path.

``python -m bench.scoring model WORK`` downloads the account champion of the MLflow store
(``MLFLOW_TRACKING_URI``, default the repository's: run ``make run`` first) into
``WORK/model``. ``python -m bench.scoring only|reasons WORK`` scores the last snapshot of
``WORK/features/accounts.parquet`` with it, in one process and in memory, features
excluded from the timing as the target asks, and prints rows per second.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import mlflow
import pandas as pd
import pyarrow.dataset as ds

from pipeline.scoring import load_model, reason_texts, score_rows
from pipeline.tracking import tracking_uri


def download_champion(work: Path) -> None:
    mlflow.set_tracking_uri(tracking_uri())
    mlflow.artifacts.download_artifacts(
        "models:/bgrisk-account@champion", dst_path=str(work / "model")
    )


def last_snapshot(features: Path) -> pd.DataFrame:
    dataset = ds.dataset(features)
    last = max(dataset.to_table(columns=["snapshot_date"]).column(0).to_pylist())
    return dataset.to_table(filter=ds.field("snapshot_date") == last).to_pandas()


def main(how: str, work: Path) -> None:
    if how == "model":
        download_champion(work)
        return
    model, catalog = load_model(work / "model")
    rows = last_snapshot(work / "features" / "accounts.parquet")
    started = time.perf_counter()
    scored = score_rows(model, rows, reason_texts(catalog) if how == "reasons" else None)
    seconds = time.perf_counter() - started
    print(json.dumps({"path": how, "rows": len(scored), "seconds": round(seconds, 1),
                      "rows_per_second": round(len(scored) / seconds)}))  # fmt: skip


if __name__ == "__main__":
    main(sys.argv[1], Path(sys.argv[2]))
