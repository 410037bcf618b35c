"""The dataset inputs logged to MLflow describe the rows a stage used."""

import mlflow
import numpy as np
import pandas as pd

from pipeline import tracking


def test_split_schema_is_mlflows_own_computed_by_column(monkeypatch, tmp_path):
    monkeypatch.setattr(tracking, "SCHEMA_SAMPLE_ROWS", 2)  # missing values only further down
    frame = pd.DataFrame(
        {
            "entity_id": ["A1", "A2", "A3", "A4"],
            "amount_in_30d": [1.0, 2.0, np.nan, 4.0],
            "txn_count_30d": [1.0, 2.0, 3.0, 4.0],
            "typology": [None, None, "mule_account", None],
            "label": [0.0, 0.0, 1.0, 0.0],
        }
    )
    source = mlflow.data.from_pandas(frame, source=str(tmp_path)).source
    ours = tracking._SplitDataset(frame, source=source, targets="label").schema
    theirs = mlflow.data.from_pandas(frame, source=str(tmp_path), targets="label").schema
    assert ours == theirs
    assert [c.required for c in ours.inputs] == [True, False, True, False, True]
