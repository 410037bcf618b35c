"""`bgrisk features` as a stage: files, labels, splits, and families skipped for lack of data."""

import datetime as dt
import json
import shutil

import pandas as pd
import pytest

from pipeline.stages import features as stage


@pytest.fixture(scope="module")
def without_logins_and_loans(tiny_clean_dir, tmp_path_factory):
    """The tiny world as an institution without device logs and loan data would export it."""
    clean = tmp_path_factory.mktemp("partial")
    for path in tiny_clean_dir.glob("*.parquet"):
        if path.stem not in ("device_events", "loans"):
            shutil.copy(path, clean / path.name)
    return clean


def test_training_snapshots_with_labels_and_splits(tiny_params, without_logins_and_loans, tmp_path):
    out = tmp_path / "features"
    stage.run(tiny_params, clean=without_logins_and_loans, out=out, as_of=None)
    manifest = json.loads((out / "manifest.json").read_text())
    accounts = pd.read_parquet(out / "accounts.parquet")
    intermediaries = pd.read_parquet(out / "intermediaries.parquet")

    assert manifest["entities"]["account"]["missing_families"] == [
        "account_devices",
        "account_loans",
    ]
    assert "intermediary_portfolio" in manifest["entities"]["intermediary"]["missing_families"]
    assert "account_graph" in manifest["entities"]["account"]["families"]
    assert "distinct_devices_90d" not in accounts and "ring_id" in accounts
    assert len(accounts) == manifest["entities"]["account"]["rows"]
    assert len(intermediaries) == manifest["entities"]["intermediary"]["rows"]
    # Every snapshot in the manifest, each with its split, labels only 0/1, rows unique.
    assert sorted(accounts["snapshot_date"].dt.date.astype(str).unique()) == manifest["snapshots"]
    splits = accounts.groupby("snapshot_date")["split"].unique().map(list)
    assert [s for [s] in splits] == list(manifest["splits"].values())
    assert set(accounts["label"]) == {0, 1} and set(intermediaries["label"]) <= {0, 1}
    assert not accounts.duplicated(["entity_id", "snapshot_date"]).any()
    # Snapshot-major, so that a stage reading one split skips the others' row groups.
    assert accounts["snapshot_date"].is_monotonic_increasing
    assert accounts["typology"].notna().sum() == accounts["label"].sum()
    for frame in (accounts, intermediaries):
        keys = frame[["snapshot_date", "entity_id"]]
        assert keys.equals(keys.sort_values(["snapshot_date", "entity_id"]))


@pytest.mark.parametrize("entity", ["account", "intermediary"])
def test_each_row_carries_its_own_label(entity, tiny_params, tiny_clean_dir, tmp_path):
    """Labels are lined up with the features by position: each matches, row by row, the
    entity's first confirmation as pandas reads it, and known cases have no rows."""
    stage.run(tiny_params, clean=tiny_clean_dir, out=tmp_path, as_of=None)
    rows = pd.read_parquet(
        tmp_path / f"{'accounts' if entity == 'account' else 'intermediaries'}.parquet"
    )
    labels = pd.read_parquet(tiny_clean_dir / "labels.parquet")
    first = labels[labels["entity_type"] == entity].groupby("entity_id")["confirmed_at"].min()
    confirmed = rows["entity_id"].map(first)
    horizon = pd.Timedelta(days=tiny_params.features.label_horizon_days)
    assert not (confirmed < rows["snapshot_date"]).any()
    expected = (confirmed < rows["snapshot_date"] + horizon).astype(int)
    assert rows["label"].sum() > 0
    assert (rows["label"] == expected).all()


def test_one_scoring_snapshot_without_labels(tiny_params, tiny_clean_dir, tmp_path):
    out = tmp_path / "features"
    stage.run(tiny_params, clean=tiny_clean_dir, out=out, as_of=dt.date(2025, 9, 1))
    accounts = pd.read_parquet(out / "accounts.parquet")
    assert accounts["snapshot_date"].unique().tolist() == [pd.Timestamp("2025-09-01", tz="UTC")]
    assert not {"label", "typology", "split"} & set(accounts.columns)
    assert json.loads((out / "manifest.json").read_text())["snapshots"] == ["2025-09-01"]
