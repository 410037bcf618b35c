"""Every stage through the real CLI, run by ``dvc repro`` on a tiny world in a temporary copy."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import yaml
from mlflow import MlflowClient

from tests.conftest import REPO, TINY_ACCOUNTS, tiny_params_dict

ALL_STAGES = {"simulate", "validate", "features", "score"} | {
    f"{stage}@{entity}"
    for stage in ("train", "calibrate", "evaluate", "promote")
    for entity in ("account", "intermediary")
}


def run(project: Path, *args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MLFLOW_", "BGRISK_"))}
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env['PATH']}"
    result = subprocess.run(args, cwd=project, env=env, capture_output=True, text=True, check=False)
    assert result.returncode == 0, (
        f"{args} failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    )
    return result


def stages_run(output: str) -> set[str]:
    return set(re.findall(r"Running stage '([^']+)'", output))


def set_param(project: Path, section: str, key: str, value) -> None:
    params = yaml.safe_load((project / "params.yaml").read_text())
    params[section][key] = value
    (project / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> Path:
    """A copy of the pipeline definition and code with tiny simulation parameters."""
    root = tmp_path_factory.mktemp("project")
    for item in ("pipeline", "features"):
        shutil.copytree(REPO / item, root / item, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(REPO / "dvc.yaml", root / "dvc.yaml")
    (root / "params.yaml").write_text(yaml.safe_dump(tiny_params_dict(), sort_keys=False))
    run(root, "dvc", "init", "--no-scm", "--quiet")
    first = run(root, "dvc", "repro")
    assert stages_run(first.stdout) == ALL_STAGES
    return root


@pytest.mark.slow
def test_scores_cover_every_entity_with_valid_values(project):
    scores_dir = project / "data" / "scores" / "as_of=2026-01-01"
    accounts = pd.read_parquet(scores_dir / "accounts.parquet")
    raw_accounts = pd.read_parquet(project / "data/raw/accounts.parquet")
    assert TINY_ACCOUNTS < len(accounts) == len(raw_accounts)  # bank and insurer accounts
    assert accounts["entity_id"].is_unique
    assert accounts["score"].between(0, 1).all()
    assert accounts["score"].nunique() > 10
    assert sorted(accounts["rank"]) == list(range(1, len(accounts) + 1))
    assert accounts["score"].is_monotonic_decreasing
    assert set(accounts["model_name"]) == {"bgrisk-account"}
    intermediaries = pd.read_parquet(scores_dir / "intermediaries.parquet")
    assert len(intermediaries) == len(pd.read_parquet(project / "data/raw/intermediaries.parquet"))
    # Scores carry pseudonyms of entities, never raw personal data.
    assert not any(c in accounts for c in ("phone", "id_number", "ip"))


@pytest.mark.slow
def test_champion_alias_points_at_the_scoring_version(project):
    client = MlflowClient(tracking_uri=f"sqlite:///{project / 'mlflow.db'}")
    for entity, file in (("account", "accounts"), ("intermediary", "intermediaries")):
        champion = client.get_model_version_by_alias(f"bgrisk-{entity}", "champion")
        scored = pd.read_parquet(project / f"data/scores/as_of=2026-01-01/{file}.parquet")
        assert set(scored["model_version"]) == {int(champion.version)}
        run_ = client.get_run(champion.run_id)
        assert (
            run_.data.metrics["test.lightgbm.pr_auc"] > run_.data.metrics["test.lightgbm.base_rate"]
        )
        assert "train.num_leaves" in run_.data.params
        # The run records which feature families the data allowed (all, for the simulator).
        assert run_.data.params["missing_families"] == "none"
        assert f"{entity}_" in run_.data.params["families"]


@pytest.mark.slow
def test_logged_models_hold_no_pickle(project):
    artifacts = list((project / "mlartifacts").rglob("*"))
    assert any(p.name == "booster.txt" for p in artifacts)
    assert any(p.name == "calibrator.json" for p in artifacts)
    assert not [p for p in artifacts if p.suffix in {".pkl", ".pickle", ".cloudpickle"}]


@pytest.mark.slow
def test_metrics_and_plots_are_declared(project):
    shown = run(project, "dvc", "metrics", "show").stdout
    assert "lightgbm.pr_auc" in shown and "rules.pr_auc" in shown and "logistic.ece" in shown
    plots = json.loads(run(project, "dvc", "plots", "show", "--json").stdout)["data"]
    for entity in ("account", "intermediary"):
        assert f"{entity} precision-recall" in plots and f"{entity} ROC" in plots
        images = {Path(p).name for p in plots if p.startswith(f"reports/{entity}/plots/")}
        assert {"reliability.png", "shap_summary.png", "score_distribution.png"} <= images


@pytest.mark.slow
def test_second_repro_is_a_noop_and_a_train_param_reruns_only_downstream(project):
    assert stages_run(run(project, "dvc", "repro").stdout) == set()
    set_param(project, "train", "num_leaves", 15)
    rerun = stages_run(run(project, "dvc", "repro").stdout)
    assert rerun == ALL_STAGES - {"simulate", "validate", "features"}


def raw_personal_values(raw_dir: Path) -> set[str]:
    """Every phone, id number and IP the simulator wrote, as written and as bare digits."""
    values: set[str] = set()
    for table, columns in {
        "accounts": ["phone", "id_number"],
        "intermediaries": ["phone"],
        "device_events": ["ip"],
        "complaints": ["contact_phone"],
    }.items():
        parts = raw_dir / table  # the bulk tables are directories of parts
        frame = pd.read_parquet(
            parts if parts.is_dir() else raw_dir / f"{table}.parquet", columns=columns
        )
        for column in columns:
            written = frame[column].dropna().astype(str)
            values |= set(written)
            if "phone" in column:
                values |= set(written.str.replace(r"\D", "", regex=True).str[-11:])
    return values


PII_PATTERN = re.compile(rb"1\d{10}|\d{17}[\dX]|\d{1,3}(?:\.\d{1,3}){3}")


@pytest.mark.slow
def test_no_raw_personal_data_reaches_clean_features_scores_or_mlflow(project):
    personal = raw_personal_values(project / "data" / "raw")
    assert len(personal) > 1000
    checked = 0
    places = [project / "data" / d for d in ("clean", "features", "scores")]
    for path in [p for place in [*places, project / "mlartifacts"] for p in place.rglob("*")]:
        if not path.is_file():
            continue
        checked += 1
        if path.suffix == ".parquet":
            frame = pd.read_parquet(path)
            for column in frame.columns:
                leaked = frame[column].astype(str).isin(personal)
                assert not leaked.any(), f"{path}:{column}"
        else:
            found = {m.decode() for m in PII_PATTERN.findall(path.read_bytes())}
            assert not found & personal, f"{path}: {sorted(found & personal)[:3]}"
    found = {m.decode() for m in PII_PATTERN.findall((project / "mlflow.db").read_bytes())}
    assert not found & personal
    assert checked > 20
