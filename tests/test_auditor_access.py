"""A real MLflow server with basic-auth on loopback: auditors read everything, change nothing.

Set up as docs/auditors.md says: no permission by default, the admin password changed, the
auditor granted READ on the training experiment and the registered model.
"""

from __future__ import annotations

import os
import secrets
import socket
import subprocess
import sys
import time
from pathlib import Path

import mlflow
import pytest
import requests
from mlflow import MlflowClient
from mlflow.server import get_app_client

from pipeline.stages import audit

AUDITOR, AUDITOR_PASSWORD = "auditor", secrets.token_urlsafe(16)
ADMIN = "admin"
MODEL = "bgrisk-account"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until_up(url: str, server: subprocess.Popen, timeout_s: float = 90) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        assert server.poll() is None, "the MLflow server exited while starting"
        try:
            if requests.get(f"{url}/health", timeout=1).status_code == 200:
                return
        # Not listening yet, or listening but too busy starting to answer within a second.
        except (requests.ConnectionError, requests.Timeout):
            pass
        time.sleep(0.25)
    raise TimeoutError(f"MLflow server at {url} did not come up in {timeout_s} s")


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    root = tmp_path_factory.mktemp("auth-server")
    bootstrap_password = secrets.token_urlsafe(16)
    config = root / "basic_auth.ini"
    config.write_text(
        "[mlflow]\n"
        "default_permission = NO_PERMISSIONS\n"
        f"database_uri = sqlite:///{root / 'basic_auth.db'}\n"
        f"admin_username = {ADMIN}\n"
        f"admin_password = {bootstrap_password}\n"
        "authorization_function = mlflow.server.auth:authenticate_request_basic_auth\n"
    )
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("MLFLOW_")} | {
        "MLFLOW_AUTH_CONFIG_PATH": str(config),
        "MLFLOW_FLASK_SERVER_SECRET_KEY": secrets.token_hex(16),
    }
    mlflow_cli = Path(sys.executable).parent / "mlflow"
    process = subprocess.Popen(
        [
            str(mlflow_cli), "server", "--app-name", "basic-auth",
            "--backend-store-uri", f"sqlite:///{root / 'mlflow.db'}",
            "--artifacts-destination", str(root / "artifacts"),
            "--host", "127.0.0.1", "--port", str(port), "--workers", "1",
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=(root / "server.log").open("w"),
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_up(url, process)
        yield {"url": url, "bootstrap_password": bootstrap_password}
    finally:
        process.terminate()
        process.wait(timeout=30)


@pytest.fixture(scope="module")
def shared_store(server):
    """The admin changes their password, the pipeline logs and registers a model with its
    card, and the auditor gets READ on both."""
    admin_password = secrets.token_urlsafe(16)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("MLFLOW_TRACKING_USERNAME", ADMIN)
        patch.setenv("MLFLOW_TRACKING_PASSWORD", server["bootstrap_password"])
        get_app_client("basic-auth", tracking_uri=server["url"]).update_user_password(
            ADMIN, admin_password, current_password=server["bootstrap_password"]
        )
        patch.setenv("MLFLOW_TRACKING_PASSWORD", admin_password)
        mlflow.set_tracking_uri(server["url"])
        experiment_id = mlflow.create_experiment("bgrisk-training")
        with mlflow.start_run(experiment_id=experiment_id) as run:
            mlflow.log_param("train.num_leaves", 31)
            mlflow.log_metric("test.lightgbm.pr_auc", 0.27)
            mlflow.log_text("# Model card\n\n## Known limitations\n", "model_card/model_card.md")
            mlflow.log_text("stand-in model", "model/MLmodel")
        client = MlflowClient(tracking_uri=server["url"])
        client.create_registered_model(MODEL)
        version = client.create_model_version(
            MODEL, source=f"runs:/{run.info.run_id}/model", run_id=run.info.run_id
        )
        client.set_registered_model_alias(MODEL, "champion", version.version)
        auth = get_app_client("basic-auth", tracking_uri=server["url"])
        auth.create_user(AUDITOR, AUDITOR_PASSWORD)
        auth.grant_user_permission(AUDITOR, "experiment", experiment_id, "READ")
        auth.grant_user_permission(AUDITOR, "registered_model", MODEL, "READ")
    return {
        "url": server["url"],
        "run_id": run.info.run_id,
        "version": str(version.version),
        "admin_password": admin_password,
        "bootstrap_password": server["bootstrap_password"],
    }


@pytest.fixture
def as_auditor(shared_store, monkeypatch):
    monkeypatch.setenv("MLFLOW_TRACKING_URI", shared_store["url"])
    monkeypatch.setenv("MLFLOW_TRACKING_USERNAME", AUDITOR)
    monkeypatch.setenv("MLFLOW_TRACKING_PASSWORD", AUDITOR_PASSWORD)
    mlflow.set_tracking_uri(shared_store["url"])
    return shared_store


def api(store: dict, method: str, endpoint: str, *, auth=(AUDITOR, AUDITOR_PASSWORD), **kwargs):
    return requests.request(
        method, f"{store['url']}/api/2.0/mlflow/{endpoint}", auth=auth, **kwargs
    )


def test_the_auditor_reads_runs_versions_and_the_model_card(as_auditor):
    client = MlflowClient()
    run = client.get_run(as_auditor["run_id"])
    assert run.data.metrics["test.lightgbm.pr_auc"] == 0.27
    version = client.get_model_version_by_alias(MODEL, "champion")
    assert str(version.version) == as_auditor["version"] and version.run_id == run.info.run_id
    card = mlflow.artifacts.load_text(f"runs:/{run.info.run_id}/model_card/model_card.md")
    assert "Known limitations" in card


def test_bgrisk_audit_works_with_read_permission_only(as_auditor):
    [chain] = audit.run(entity="account", alias="champion", version=None, scores=None, as_json=True)
    assert chain["training_run"]["run_id"] == as_auditor["run_id"]
    assert chain["params"] == {"train.num_leaves": "31"}


def test_the_auditor_cannot_move_an_alias_delete_a_version_or_log_to_a_run(as_auditor):
    version = as_auditor["version"]
    alias = api(
        as_auditor, "POST", "registered-models/alias",
        json={"name": MODEL, "alias": "champion", "version": version},
    )  # fmt: skip
    delete = api(
        as_auditor, "DELETE", "model-versions/delete", json={"name": MODEL, "version": version}
    )
    log = api(
        as_auditor, "POST", "runs/log-metric",
        json={"run_id": as_auditor["run_id"], "key": "forged", "value": 1.0, "timestamp": 0},
    )  # fmt: skip
    assert (alias.status_code, delete.status_code, log.status_code) == (403, 403, 403)
    # And nothing changed.
    admin = (ADMIN, as_auditor["admin_password"])
    run = api(as_auditor, "GET", "runs/get", params={"run_id": as_auditor["run_id"]}, auth=admin)
    assert "forged" not in {m["key"] for m in run.json()["run"]["data"].get("metrics", [])}
    still = api(as_auditor, "GET", "model-versions/get", params={"name": MODEL, "version": version})
    assert still.status_code == 200


def test_no_credentials_or_the_bootstrap_password_get_401(shared_store):
    anonymous = api(
        shared_store, "GET", "runs/get", params={"run_id": shared_store["run_id"]}, auth=None
    )
    stale = api(
        shared_store, "GET", "runs/get",
        params={"run_id": shared_store["run_id"]},
        auth=(ADMIN, shared_store["bootstrap_password"]),
    )  # fmt: skip
    assert (anonymous.status_code, stale.status_code) == (401, 401)
