import mlflow
import pytest
from mlflow import MlflowClient

from pipeline.config import PromoteConfig
from pipeline.registry import CHALLENGER, CHAMPION, check_gates, register

GOOD = {"pr_auc": 0.30, "base_rate": 0.01, "recall_at_budget": 0.4}
CFG = PromoteConfig(min_pr_auc_lift=2.0, min_recall_at_budget=0.1)


def test_gates_report_value_threshold_and_verdict():
    gates = {g.name: g for g in check_gates(GOOD, CFG)}
    assert gates["pr_auc"].threshold == pytest.approx(0.02) and gates["pr_auc"].passed
    assert gates["recall_at_budget"].passed
    weak = check_gates({**GOOD, "pr_auc": 0.015, "recall_at_budget": 0.05}, CFG)
    assert [g.passed for g in weak] == [False, False]


def logged_run() -> tuple[str, str]:
    with mlflow.start_run() as run:
        mlflow.log_text("stand-in model", "model/MLmodel")
    return f"runs:/{run.info.run_id}/model", run.info.run_id


def test_failing_model_becomes_challenger_and_champion_stays(mlflow_store):
    mlflow.set_tracking_uri(mlflow_store)
    client = MlflowClient()
    uri, run_id = logged_run()
    first, alias = register(
        client, name="bgrisk-test", model_uri=uri, run_id=run_id, gates=check_gates(GOOD, CFG)
    )
    assert alias == CHAMPION
    uri, run_id = logged_run()
    worse = check_gates({**GOOD, "pr_auc": 0.01}, CFG)
    second, alias = register(client, name="bgrisk-test", model_uri=uri, run_id=run_id, gates=worse)
    assert alias == CHALLENGER
    assert client.get_model_version_by_alias("bgrisk-test", CHAMPION).version == first.version
    assert client.get_model_version_by_alias("bgrisk-test", CHALLENGER).version == second.version
    tags = client.get_model_version("bgrisk-test", second.version).tags
    assert tags["gate.pr_auc"] == "fail" and tags["gate.recall_at_budget"] == "pass"
