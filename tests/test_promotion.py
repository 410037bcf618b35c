"""Promotion through the gates, the model card, the audit trail, and pickle-free loading,
on the tiny world with a real local MLflow store."""

from __future__ import annotations

import os
import pickle
import subprocess
import sys
from pathlib import Path

import mlflow
import pandas as pd
import pytest
import yaml
from mlflow import MlflowClient

from pipeline.audit import lineage, scored_versions
from pipeline.registry import CHALLENGER, CHAMPION
from pipeline.stages import audit, calibrate, evaluate, promote, score, train
from tests.conftest import params_under, train_and_evaluate

CRIPPLED = [
    "account_flow",
    "account_devices",
    "account_loans",
    "account_policies",
    "account_complaints",
    "account_collection",
    "account_graph",
]


@pytest.fixture(scope="module")
def registry(tiny_features, tiny_clean_dir, tmp_path_factory):
    """A champion per entity type, then a crippled account model that must not replace it,
    then the nightly scores: everything in one store, as a team's would be."""
    root = tmp_path_factory.mktemp("registry")
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(root)
        uri = f"sqlite:///{root / 'mlflow.db'}"
        patch.setenv("MLFLOW_TRACKING_URI", uri)
        patch.setenv("BGRISK_OPERATOR", "ci-pipeline")
        good = params_under(root / "good", tiny_features)
        train_and_evaluate(good)
        first = {entity: promote.run(good, entity) for entity in ("account", "intermediary")}
        crippled = params_under(root / "crippled", tiny_features, exclude_families=CRIPPLED)
        for stage in (train, calibrate, evaluate):
            stage.run(crippled, "account")
        second = promote.run(crippled, "account")
        scores = score.run(
            good, clean=tiny_clean_dir, out=root / "scores", as_of=None, alias=CHAMPION
        )
    return {"root": root, "uri": uri, "first": first, "second": second, "scores": scores}


def test_a_worse_model_is_registered_as_challenger_and_the_champion_stays(registry):
    client = MlflowClient(tracking_uri=registry["uri"])
    assert all(g.passed for g in registry["first"]["account"])
    failed = {g.name for g in registry["second"] if not g.passed}
    assert "pr_auc_vs_champion" in failed
    assert int(client.get_model_version_by_alias("bgrisk-account", CHAMPION).version) == 1
    assert int(client.get_model_version_by_alias("bgrisk-account", CHALLENGER).version) == 2
    tags = client.get_model_version("bgrisk-account", "2").tags
    assert tags["decision"] == CHALLENGER and tags["decided_by"] == "ci-pipeline"
    assert tags["gate.pr_auc_vs_champion"].startswith("fail")


def test_the_champion_still_scores_overnight(registry):
    scored = pd.read_parquet(registry["scores"] / "accounts.parquet")
    assert set(scored["model_version"]) == {1} and len(scored) > 1000


def test_version_tags_carry_the_lineage(registry):
    client = MlflowClient(tracking_uri=registry["uri"])
    version = client.get_model_version("bgrisk-account", "1")
    run = client.get_run(version.run_id)
    assert version.tags["training_run_id"] == run.info.run_id
    assert version.tags["git_commit"] == run.data.tags["git_commit"]
    assert version.tags["params_hash"] == run.data.tags["params_hash"]
    digests = {i.dataset.digest for i in run.inputs.dataset_inputs}
    assert {version.tags[f"data.{c}"] for c in ("training", "validation")} <= digests
    assert {"gate.pr_auc", "gate.recall_at_budget", "gate.ece"} <= set(version.tags)


def test_the_model_card_is_written_and_logged_with_the_version(registry):
    card = (registry["root"] / "good" / "models" / "account" / "model_card.md").read_text()
    for heading in (
        "Purpose and intended use",
        "against both baselines",
        "Recall per typology",
        "Top features",
        "Promotion gates",
        "Known limitations",
    ):
        assert heading in card
    assert "| rules |" in card and "| logistic |" in card
    html = (registry["root"] / "good" / "models" / "account" / "model_card.html").read_text()
    assert "<table>" in html and 'src="data:image/png;base64,' in html
    client = MlflowClient(tracking_uri=registry["uri"])
    uri = client.get_model_version("bgrisk-account", "1").tags["model_card"]
    mlflow.set_tracking_uri(registry["uri"])
    assert "Known limitations" in mlflow.artifacts.load_text(uri)


def test_audit_from_a_scores_file_arrives_at_the_same_chain(registry, capsys):
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("MLFLOW_TRACKING_URI", registry["uri"])
        by_alias = audit.run(entity="account", alias=None, version=None, scores=None, as_json=False)
        from_scores = audit.run(
            entity=None,
            alias=None,
            version=None,
            scores=registry["scores"] / "accounts.parquet",
            as_json=True,
        )
    assert from_scores == by_alias
    [chain] = by_alias
    assert chain["version"] == 1 and chain["aliases"] == [CHAMPION]
    assert chain["decision"] == CHAMPION and chain["decided_by"] == "ci-pipeline"
    assert set(chain["data"]) == {"training", "validation", "calibration", "test"}
    assert chain["params"]["train.num_leaves"] == "31"
    printed = capsys.readouterr().out
    assert "git commit" in printed and "pr_auc_vs_champion" in printed


def test_scores_file_names_every_version_that_scored(registry):
    rows = pd.read_parquet(registry["scores"] / "intermediaries.parquet")
    assert scored_versions(rows) == [("bgrisk-intermediary", 1, len(rows))]
    client = MlflowClient(tracking_uri=registry["uri"])
    assert lineage(client, "bgrisk-intermediary", 1)["model"] == "bgrisk-intermediary"


def test_strict_promotion_exits_3_and_leaves_the_champion(registry, tiny_features, tmp_path):
    """The crippled model through the real command line: gates printed, exit 3."""
    crippled = params_under(registry["root"] / "crippled", tiny_features, exclude_families=CRIPPLED)
    params = tmp_path / "params.yaml"
    params.write_text(yaml.safe_dump(crippled.model_dump(mode="json"), sort_keys=False))
    bgrisk = Path(sys.executable).parent / "bgrisk"
    result = subprocess.run(
        [str(bgrisk), "--params", str(params), "promote", "--entity", "account", "--strict"],
        cwd=registry["root"],
        env=os.environ | {"MLFLOW_TRACKING_URI": registry["uri"]},
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 3, result.stderr
    assert "pr_auc_vs_champion" in result.stdout and "FAIL" in result.stdout
    assert "promotion gates failed" in result.stderr
    client = MlflowClient(tracking_uri=registry["uri"])
    assert int(client.get_model_version_by_alias("bgrisk-account", CHAMPION).version) == 1


def test_loading_a_registered_model_unpickles_nothing(registry, tiny_features, monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("a registered model must load without unpickling")

    mlflow.set_tracking_uri(registry["uri"])
    local = Path(mlflow.artifacts.download_artifacts("models:/bgrisk-account@champion"))
    files = {p.name for p in local.rglob("*") if p.is_file()}
    assert {"booster.txt", "calibrator.json", "catalog.yaml"} <= files
    assert not [f for f in files if f.endswith((".pkl", ".pickle", ".cloudpickle", ".joblib"))]
    monkeypatch.setattr(pickle, "load", refuse)
    monkeypatch.setattr(pickle, "loads", refuse)
    model = mlflow.pyfunc.load_model("models:/bgrisk-account@champion")
    rows = pd.read_parquet(tiny_features / "accounts.parquet").head(50)
    assert model.predict(rows).shape == (50,)
