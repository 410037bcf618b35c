"""The simulated world: reproducible, realistic in its labels, and hard to score."""

from __future__ import annotations

import ast
import hashlib
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from pipeline.config import Params
from pipeline.featurize import compute_features, connect, data_window
from pipeline.simulate import TRUTH_DIR, part_count, simulate, simulate_parts, write_world
from pipeline.snapshots import training_snapshots
from pipeline.validate import pseudonymize_tables, validate_tables
from tests.conftest import NOW, REPO, write_tables

REALISM_ACCOUNTS = 20_000
TYPOLOGIES = {
    "mule_account",
    "illegal_loan_intermediary",
    "agent_incited_surrender",
    "debt_relief_agency",
    "improper_collection",
}


def digests(directory: Path) -> dict[str, str]:
    return {
        str(p.relative_to(directory)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(directory.rglob("*.parquet"))
    }


def test_same_seed_same_bytes_other_seed_other_tables(tiny_params, tmp_path):
    cfg, start = tiny_params.simulate, tiny_params.base.start_date
    for name, seed in (("a", 7), ("b", 7), ("c", 8)):
        parts = simulate_parts(cfg, start=start, seed=seed, block_accounts=700)
        write_world(parts, tmp_path / name, manifest={})
    first, again, other = (digests(tmp_path / n) for n in "abc")
    # Three blocks of customers after the schemes: four parts of each bulk table.
    assert {f"transactions/part-{i:05d}.parquet" for i in range(4)} <= set(first)
    assert len(first) == part_count(cfg, block_accounts=700)
    assert first == again
    assert all(other[table] != first[table] for table in first)


def test_every_contract_table_passes_validation(tiny_world):
    raw = {k: v for k, v in tiny_world.items() if not k.startswith("_")}
    clean, report = validate_tables(raw, now=NOW)
    assert report.problems == []
    assert set(clean) == {
        "accounts", "intermediaries", "transactions", "device_events", "loans",
        "policies", "complaints", "collection_events", "labels",
    }  # fmt: skip
    assert not [w for w in report.warnings if "absent" in w or "unknown" in w]


def test_two_institutions_share_customers_through_raw_identifiers(tiny_world):
    accounts = tiny_world["accounts"]
    bank, insurer = (accounts[accounts["institution"] == i] for i in ("bank", "insurer"))
    assert len(insurer) > 0.2 * len(bank)
    shared_ids = set(bank["id_number"]) & set(insurer["id_number"])
    assert len(shared_ids) > 0.9 * len(insurer)
    # The same phone is written differently: only normalization makes them join.
    digits = accounts["phone"].str.replace(r"\D", "", regex=True).str.removeprefix("86")
    assert (
        accounts["phone"].str.startswith("+86 ").any() and accounts["phone"].str.contains("-").any()
    )
    assert digits.str.fullmatch(r"1\d{10}").all()


def test_identity_numbers_carry_valid_check_characters(tiny_world):
    ids = tiny_world["accounts"]["id_number"]
    digits = np.array([[int(c) for c in i[:17]] for i in ids.head(200)])
    weights = np.array([7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2])
    expected = np.array(list("10X98765432"))[(digits * weights).sum(axis=1) % 11]
    assert (ids.head(200).str[-1].to_numpy() == expected).all()


def test_no_pipeline_code_reads_the_truth():
    """Only the simulator may name the truth directory; nothing downstream imports it."""
    offenders = []
    for path in (REPO / "pipeline").rglob("*.py"):
        if "simulate" in path.relative_to(REPO / "pipeline").parts:
            continue
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            names = (
                [node.id] if isinstance(node, ast.Name)
                else [node.value] if isinstance(node, ast.Constant) and isinstance(node.value, str)
                else [node.module or ""] if isinstance(node, ast.ImportFrom)
                else []
            )  # fmt: skip
            if any(n == "TRUTH_DIR" or TRUTH_DIR in n or n == "truth" for n in names):
                offenders.append(f"{path.name}:{node.lineno}")
    assert offenders == []


@pytest.fixture(scope="module")
def realistic_world(tmp_path_factory):
    """A mid-sized world at the default rates, with features at every training snapshot."""
    raw = yaml.safe_load((REPO / "params.yaml").read_text())
    raw["simulate"]["accounts"] = REALISM_ACCOUNTS
    params = Params.model_validate(raw)
    tables = simulate(params.simulate, start=params.base.start_date, seed=3)
    clean, _ = validate_tables({k: v for k, v in tables.items() if not k.startswith("_")}, now=NOW)
    data = connect(write_tables(tmp_path_factory.mktemp("clean"), pseudonymize_tables(clean, b"k")))
    snapshots = training_snapshots(*data_window(data), params.features)
    features = {e: compute_features(data, e, snapshots) for e in ("account", "intermediary")}
    return tables, features, params


def test_confirmed_label_rate_per_snapshot(realistic_world):
    tables, features, params = realistic_world
    labels = tables["labels"]
    account_labels = labels[labels["entity_type"] == "account"]
    horizon = pd.Timedelta(days=params.features.label_horizon_days)
    for snapshot, rows in features["account"].groupby("snapshot_date"):
        confirmed = account_labels["confirmed_at"].between(snapshot, snapshot + horizon, "left")
        rate = confirmed.sum() / len(rows)
        assert 0.003 <= rate <= 0.05, f"{snapshot.date()}: {rate:.4f}"


def test_labels_are_partial_late_and_cover_every_typology(realistic_world):
    tables, _, params = realistic_world
    truth, labels = tables[f"{TRUTH_DIR}/truth"], tables["labels"]
    never = ~truth["entity_id"].isin(labels["entity_id"])
    assert never.mean() >= 0.3
    assert set(labels["typology"]) == TYPOLOGIES
    confirmed = labels.merge(truth, on=["entity_type", "entity_id"], suffixes=("", "_true"))
    # Long-running schemes found at work when the data starts had been at work before it.
    start = pd.Timestamp(params.base.start_date, tz="UTC")
    ongoing = (confirmed["active_from"] < start + pd.Timedelta(days=90)) & (
        confirmed["active_to"] - confirmed["active_from"] > pd.Timedelta(days=180)
    )
    began = confirmed["active_from"] - np.where(ongoing, pd.Timedelta(days=365), pd.Timedelta(0))
    assert (confirmed["confirmed_at"] - began >= pd.Timedelta(days=20)).all()
    assert (confirmed["confirmed_at"] - confirmed["active_to"] <= pd.Timedelta(days=150)).all()
    delay = confirmed["confirmed_at"] - confirmed["active_from"]
    assert delay.median() > pd.Timedelta(days=60)
    # Agencies are confirmed all year round, not all in the first months.
    agencies = confirmed[confirmed["entity_type"] == "intermediary"]
    assert (agencies["confirmed_at"] >= start + pd.Timedelta(days=183)).mean() > 0.35
    wrong = labels[~labels["entity_id"].isin(truth["entity_id"])]
    assert 0 < len(wrong) < 0.1 * len(labels)


def best_single_feature_precision(features: pd.DataFrame, positive: np.ndarray) -> tuple:
    """The best precision any one-feature threshold rule reaches at 50 % recall."""
    best = (0.0, "")
    for column in features.columns.drop(["entity_id", "snapshot_date", "ring_id"]):
        values = features[column].to_numpy(dtype=float)
        for sign in (1, -1):
            score = np.where(np.isnan(values), -np.inf, sign * values)
            threshold = np.quantile(score[positive], 0.5)
            flagged = score >= threshold
            if flagged.any():
                best = max(best, (positive[flagged].mean(), f"{column} {sign:+d}"))
    return best


@pytest.mark.parametrize("entity", ["account", "intermediary"])
def test_no_single_signal_gives_a_typology_away(realistic_world, entity):
    tables, features, _ = realistic_world
    truth = tables[f"{TRUTH_DIR}/truth"]
    truth = truth[truth["entity_type"] == entity]
    rows = features[entity].merge(
        truth[["entity_id", "typology", "active_from", "active_to"]], on="entity_id", how="left"
    )
    # Bad while active, and for a month after: what an investigator could still catch.
    active = (rows["active_from"] < rows["snapshot_date"]) & (
        rows["snapshot_date"] <= rows["active_to"] + pd.Timedelta(days=30)
    )
    for typology in truth["typology"].unique():
        positive = (active & (rows["typology"] == typology)).to_numpy()
        assert positive.sum() >= 20, typology
        precision, rule = best_single_feature_precision(features[entity], positive)
        assert precision < 0.6, f"{typology}: {rule} reaches {precision:.2f}"


def test_mules_forward_more_slowly_as_the_months_pass(realistic_world):
    tables, _, _ = realistic_world
    truth = tables[f"{TRUTH_DIR}/truth"]
    mules = truth.loc[truth["typology"] == "mule_account", "entity_id"]
    txns = tables["transactions"].sort_values("ts")
    inflows = txns[txns["dst_id"].isin(mules)].rename(columns={"dst_id": "mule"})
    outflows = txns[txns["src_id"].isin(mules)].rename(columns={"src_id": "mule", "ts": "out_ts"})
    forwarded = pd.merge_asof(
        inflows, outflows[["mule", "out_ts"]], left_on="ts", right_on="out_ts", by="mule",
        direction="forward",
    ).dropna(subset=["out_ts"])  # fmt: skip
    hours = (forwarded["out_ts"] - forwarded["ts"]).dt.total_seconds() / 3600
    month = forwarded["ts"].dt.month
    early, late = hours[month <= 3].median(), hours[month >= 10].median()
    assert late > 1.5 * early, (early, late)
