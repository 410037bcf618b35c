"""LightGBM on a real two-worker Dask LocalCluster against the single-machine model."""

from __future__ import annotations

import lightgbm as lgb
import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import average_precision_score

from pipeline.distributed_training import best_iteration
from pipeline.stages import train
from tests.conftest import params_under


def test_pr_auc_on_dask_is_within_a_hundredth_of_one_machine(
    tiny_trained, tiny_features, tiny_mlflow, tmp_path, monkeypatch
):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", tiny_mlflow)
    train.run(params_under(tmp_path, tiny_features), "account", scheduler="local-cluster:2")
    test = pd.read_parquet(tiny_features / "accounts.parquet").query("split == 'test'")
    pr_auc = {}
    for name, root in (("single", tiny_trained), ("dask", tmp_path)):
        booster = lgb.Booster(model_file=root / "models" / "account" / "booster.txt")
        scores = booster.predict(test[booster.feature_name()])
        pr_auc[name] = average_precision_score(test["label"], scores)
    assert pr_auc["dask"] == pytest.approx(pr_auc["single"], abs=0.01), pr_auc


def test_best_iteration_is_where_validation_precision_peaks():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(3000, 2))
    y = (rng.random(3000) < 1 / (1 + np.exp(-(3 * x[:, 0] - 3)))).astype(int)
    frame = pd.DataFrame(x, columns=["a", "b"]).assign(label=y)
    booster = lgb.train(
        {"objective": "binary", "verbose": -1, "num_leaves": 63, "learning_rate": 0.3, "seed": 0},
        lgb.Dataset(frame.iloc[:1000][["a", "b"]], frame.iloc[:1000]["label"]),
        num_boost_round=60,
    )
    valid = frame.iloc[1000:]
    best = best_iteration(booster, valid, ["a", "b"])
    curve = {
        k: average_precision_score(
            valid["label"], booster.predict(valid[["a", "b"]], num_iteration=k)
        )
        for k in range(5, 61, 5)
    }
    assert best == max(curve, key=curve.get)
