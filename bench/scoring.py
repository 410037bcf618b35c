"""Scoring speed for the benchmark: the score-only path and the reason-code path.

``python -m bench.scoring model WORK`` downloads the account champion of the MLflow store
(``MLFLOW_TRACKING_URI``: the benchmark's own, where the promote stages at this scale put
it) into ``WORK/model``. ``python -m bench.scoring only|reasons WORK`` scores the last snapshot of
``WORK/features/accounts.parquet`` with it, in one process and in memory, features
excluded from the timing as the target asks, and writes its rows per second to
``WORK/score_only.json`` or ``WORK/score_reasons.json``. The reason-code path explains the
rows in the alert, high and medium bands (``score.bands.medium`` and up), as the job does.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import mlflow
import pandas as pd
import pyarrow.dataset as ds

from pipeline.config import load_params
from pipeline.scoring import load_model, reason_texts, score_rows
from pipeline.tracking import tracking_uri

REPO = Path(__file__).resolve().parents[1]


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
    floor = load_params(REPO / "params.yaml").score.bands.medium
    texts = reason_texts(catalog) if how == "reasons" else None
    scored = score_rows(model, rows, texts, reasons_from=floor)
    seconds = time.perf_counter() - started
    figures = {"rows": len(scored), "scoring_s": round(seconds, 1),
               "rows_per_second": round(len(scored) / seconds)}  # fmt: skip
    (work / f"score_{how}.json").write_text(json.dumps(figures))
    print(json.dumps(figures))


if __name__ == "__main__":
    main(sys.argv[1], Path(sys.argv[2]))
