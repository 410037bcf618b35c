"""Shared fixtures: tiny simulated worlds, hand-made clean tables, an isolated MLflow store."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
import yaml

from pipeline.config import ENTITIES, Params, deep_update
from pipeline.simulate import simulate
from pipeline.validate import pseudonymize_tables, validate_tables

REPO = Path(__file__).resolve().parents[1]
# "Now" for validation in tests: after the simulated year, fixed so tests do not age.
NOW = pd.Timestamp("2026-06-01", tz="UTC")
TINY_ACCOUNTS = 2000
# Small worlds need denser crime for every split to hold confirmed cases.
TINY_SIMULATION = {
    "accounts": TINY_ACCOUNTS,
    "population": {"intermediaries_per_1000_accounts": 120},
    "loan_brokers": {"illegal_share": 0.6},
    "labels": {"confirm_rate": 0.8},
}
# A few hundred intermediaries cannot show the lift of the full world; the gates' logic is
# tested on its own (test_registry), here they only have to beat chance.
TINY_GATES = {
    "min_pr_auc_lift": 1.2,
    "min_recall_at_budget": 0.0,
    "max_ece": 0.05,
    "max_pr_auc_regression": 0.02,
}


def tiny_params_dict() -> dict:
    """The project's params with a world small enough for tests."""
    raw = yaml.safe_load((REPO / "params.yaml").read_text())
    raw["simulate"] = deep_update(raw["simulate"], TINY_SIMULATION)
    raw["promote"] = TINY_GATES
    raw["evaluate"]["alert_budget"] = {"account": 20, "intermediary": 5}
    raw["base"]["seed"] = 1
    return raw


@pytest.fixture(scope="session")
def tiny_params() -> Params:
    return Params.model_validate(tiny_params_dict())


@pytest.fixture(scope="session")
def tiny_world(tiny_params) -> dict[str, pd.DataFrame]:
    return simulate(tiny_params.simulate, start=tiny_params.base.start_date, seed=1)


@pytest.fixture(scope="session")
def tiny_clean_dir(tiny_world, tmp_path_factory) -> Path:
    raw = {k: v for k, v in tiny_world.items() if not k.startswith("_")}
    clean, report = validate_tables(raw, now=NOW)
    assert not report.problems
    return write_tables(tmp_path_factory.mktemp("clean"), pseudonymize_tables(clean, b"test"))


def write_tables(directory: Path, tables: dict[str, pd.DataFrame]) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    for name, frame in tables.items():
        frame.to_parquet(directory / f"{name}.parquet", index=False)
    return directory


def utc(text: str) -> pd.Timestamp:
    return pd.Timestamp(text, tz="UTC")


def account_rows(*ids: str, opened_at: str = "2024-01-01") -> pd.DataFrame:
    return pd.DataFrame(
        {
            "account_id": list(ids),
            "opened_at": [utc(opened_at)] * len(ids),
            "customer_type": ["individual"] * len(ids),
            "phone": [None] * len(ids),
        }
    )


def transaction_rows(*rows: tuple[str, str, str, float]) -> pd.DataFrame:
    """Transactions from ``(ts, src_id, dst_id, amount)`` tuples."""
    frame = pd.DataFrame(rows, columns=["ts", "src_id", "dst_id", "amount"])
    return frame.assign(
        txn_id=[f"T{i}" for i in range(len(frame))], ts=pd.to_datetime(frame["ts"], utc=True)
    )


@pytest.fixture
def mlflow_store(tmp_path, monkeypatch) -> str:
    """A fresh SQLite tracking store in a temporary working directory."""
    monkeypatch.chdir(tmp_path)
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    return uri


@pytest.fixture(scope="session")
def tiny_features(tiny_params, tiny_clean_dir, tmp_path_factory) -> Path:
    from pipeline.stages import features

    out = tmp_path_factory.mktemp("features")
    features.run(tiny_params, clean=tiny_clean_dir, out=out, as_of=None)
    return out


def params_under(root: Path, features: Path, **train) -> Params:
    """Tiny-world params writing models and reports under ``root``, reading ``features``."""
    raw = tiny_params_dict()
    raw["base"]["paths"] = {
        name: str(root / name) for name in ("raw", "clean", "models", "reports", "scores")
    } | {"features": str(features)}
    raw["train"] |= train
    return Params.model_validate(raw)


def train_and_evaluate(params: Params) -> None:
    from pipeline.stages import calibrate, evaluate, train

    for entity in ENTITIES:
        train.run(params, entity)
        calibrate.run(params, entity)
        evaluate.run(params, entity)


@pytest.fixture(scope="session")
def tiny_mlflow(tmp_path_factory) -> str:
    """One tracking store for the session's trained models."""
    store = tmp_path_factory.mktemp("mlflow")
    return f"sqlite:///{store / 'mlflow.db'}"


@pytest.fixture(scope="session")
def tiny_trained(tiny_features, tiny_mlflow, tmp_path_factory) -> Path:
    """Models, baselines and reports of both entity types, trained on the tiny world."""
    root = tmp_path_factory.mktemp("trained")
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(root)
        patch.setenv("MLFLOW_TRACKING_URI", tiny_mlflow)
        train_and_evaluate(params_under(root, tiny_features))
    return root


@pytest.fixture(scope="session")
def tiny_champions(tiny_trained, tiny_features, tiny_mlflow) -> Params:
    """The tiny world's models promoted to champion in the session's store."""
    from pipeline.stages import promote

    params = params_under(tiny_trained, tiny_features)
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(tiny_trained)
        patch.setenv("MLFLOW_TRACKING_URI", tiny_mlflow)
        for entity in ENTITIES:
            assert all(g.passed for g in promote.run(params, entity))
    return params
