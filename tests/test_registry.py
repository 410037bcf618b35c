import mlflow
import pytest
from mlflow import MlflowClient

from pipeline.config import PromoteConfig
from pipeline.registry import (
    CHALLENGER,
    CHAMPION,
    Champion,
    check_gates,
    record_decision,
    register,
)

GOOD = {"pr_auc": 0.30, "base_rate": 0.01, "recall_at_budget": 0.4, "ece": 0.01}
CFG = PromoteConfig(
    min_pr_auc_lift=2.0, min_recall_at_budget=0.1, max_ece=0.02, max_pr_auc_regression=0.02
)


def test_gates_report_value_threshold_and_verdict():
    gates = {g.name: g for g in check_gates(GOOD, CFG, champion=None)}
    assert gates["pr_auc"].threshold == pytest.approx(0.02) and gates["pr_auc"].passed
    assert gates["recall_at_budget"].passed
    assert gates["ece"].comparison == "<=" and gates["ece"].passed
    assert gates["pr_auc_vs_champion"].passed and gates["pr_auc_vs_champion"].note
    weak = check_gates(
        {**GOOD, "pr_auc": 0.015, "recall_at_budget": 0.05, "ece": 0.03}, CFG, champion=None
    )
    assert [g.passed for g in weak] == [False, False, False, True]


def test_a_candidate_may_not_fall_behind_the_champion_beyond_the_tolerance():
    champion = Champion(version=3, metrics={"pr_auc": 0.35})
    [*_, versus] = check_gates(GOOD, CFG, champion=champion)
    assert versus.threshold == pytest.approx(0.33) and not versus.passed
    assert "version 3" in versus.note
    [*_, close] = check_gates({**GOOD, "pr_auc": 0.335}, CFG, champion=champion)
    assert close.passed


def logged_run() -> tuple[str, str]:
    with mlflow.start_run() as run:
        mlflow.log_text("stand-in model", "model/MLmodel")
    return f"runs:/{run.info.run_id}/model", run.info.run_id


def test_failing_model_becomes_challenger_and_champion_stays(mlflow_store):
    mlflow.set_tracking_uri(mlflow_store)
    client = MlflowClient()
    uri, run_id = logged_run()
    first = register(client, name="bgrisk-test", model_uri=uri, run_id=run_id, tags={})
    gates = check_gates(GOOD, CFG, champion=None)
    assert record_decision(client, first, gates, decided_by="tester") == CHAMPION
    uri, run_id = logged_run()
    second = register(client, name="bgrisk-test", model_uri=uri, run_id=run_id, tags={"k": "v"})
    worse = check_gates({**GOOD, "pr_auc": 0.25}, CFG, champion=Champion(int(first.version), GOOD))
    assert record_decision(client, second, worse, decided_by="tester") == CHALLENGER
    assert client.get_model_version_by_alias("bgrisk-test", CHAMPION).version == first.version
    assert client.get_model_version_by_alias("bgrisk-test", CHALLENGER).version == second.version
    tags = client.get_model_version("bgrisk-test", second.version).tags
    assert tags["gate.pr_auc_vs_champion"].startswith("fail 0.2500 >= 0.2800")
    assert tags["gate.recall_at_budget"].startswith("pass")
    assert tags["decision"] == CHALLENGER and tags["decided_by"] == "tester" and tags["k"] == "v"
