"""The overnight job as operators meet it: killed and rerun, spread over Dask workers,
rerun when finished, refused on bad input; and its report opened in a real browser."""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
import yaml

from pipeline.errors import InputError
from pipeline.stages import score

AS_OF = dt.date(2025, 12, 1)


@pytest.fixture
def store(tiny_champions, tiny_mlflow, monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", tiny_mlflow)
    return tiny_champions


@pytest.fixture(scope="module")
def uninterrupted(tiny_champions, tiny_clean_dir, tiny_mlflow, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("uninterrupted")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("MLFLOW_TRACKING_URI", tiny_mlflow)
        return score.run(
            tiny_champions, clean=tiny_clean_dir, out=out, as_of=AS_OF, alias="champion"
        )


def manifest(target: Path) -> dict:
    return json.loads((target / "_SUCCESS").read_text())


def test_a_finished_run_holds_queue_reasons_rings_drift_and_report(uninterrupted):
    files = manifest(uninterrupted)
    assert set(files) == {"accounts.parquet", "intermediaries.parquet", "rings.parquet",
                          "drift.csv", "report.html", "summary.json"}  # fmt: skip
    accounts = pd.read_parquet(uninterrupted / "accounts.parquet")
    assert len(accounts) == files["accounts.parquet"]["rows"] and accounts["entity_id"].is_unique
    assert accounts["rank"].tolist() == list(range(1, len(accounts) + 1))
    assert (accounts["risk_band"] == "alert").sum() == 20  # the tiny world's account budget
    top = accounts.iloc[0]
    assert top["reason_1_contribution"] >= top["reason_2_contribution"] > 0
    assert isinstance(top["reason_1_text"], str) and top["as_of"] == AS_OF
    rings = pd.read_parquet(uninterrupted / "rings.parquet")
    assert (rings["size"] > 1).all() and rings["max_score"].is_monotonic_decreasing
    assert rings["typology"].notna().any()
    drift = pd.read_csv(uninterrupted / "drift.csv")
    assert {"score", "pass_through_ratio_30d"} <= set(drift["feature"])
    assert set(drift["status"]) <= {"ok", "warn", "alert"}
    summary = json.loads((uninterrupted / "summary.json").read_text())
    assert summary["entities"]["account"]["rows"] == len(accounts)
    assert not (uninterrupted / "_work").exists()


def test_a_killed_run_resumes_to_the_same_result(store, tiny_clean_dir, tmp_path, uninterrupted):
    params = store.model_dump(mode="json")
    params["score"]["partitions"] = 32  # many small tasks: time to be killed among them
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    command = [
        str(Path(sys.executable).parent / "bgrisk"), "--params", str(tmp_path / "params.yaml"),
        "score", "--clean", str(tiny_clean_dir), "--out", str(tmp_path / "scores"),
        "--as-of", str(AS_OF),
    ]  # fmt: skip
    target = tmp_path / "scores" / f"as_of={AS_OF}"
    scored = target / "_work" / "scored"
    job = subprocess.Popen(command, env=os.environ.copy(), stderr=subprocess.DEVNULL)
    while not list(scored.glob("*/part-*.parquet")) and job.poll() is None:
        time.sleep(0.005)
    job.send_signal(signal.SIGKILL)
    job.wait()
    done = len(list(scored.glob("*/part-*.parquet")))
    assert 0 < done < 64 and not (target / "_SUCCESS").exists()

    subprocess.run(command, env=os.environ.copy(), check=True, capture_output=True)
    assert manifest(target) == manifest(uninterrupted)
    accounts = pd.read_parquet(target / "accounts.parquet")
    assert not accounts.duplicated("entity_id").any()


def test_dask_workers_give_the_same_result(store, tiny_clean_dir, tmp_path, uninterrupted):
    target = score.run(
        store, clean=tiny_clean_dir, out=tmp_path, as_of=AS_OF, alias="champion",
        scheduler="local-cluster:2",
    )  # fmt: skip
    assert manifest(target) == manifest(uninterrupted)


def test_a_finished_date_is_left_alone_unless_forced(
    store, tiny_clean_dir, tmp_path, uninterrupted
):
    shutil.copytree(uninterrupted, tmp_path / uninterrupted.name)
    target = tmp_path / uninterrupted.name
    (target / "accounts.parquet").write_bytes(b"not touched")
    score.run(store, clean=tiny_clean_dir, out=tmp_path, as_of=AS_OF, alias="champion")
    assert (target / "accounts.parquet").read_bytes() == b"not touched"
    score.run(store, clean=tiny_clean_dir, out=tmp_path, as_of=AS_OF, alias="champion", force=True)
    assert manifest(target) == manifest(uninterrupted)
    assert pd.read_parquet(target / "accounts.parquet")["rank"].min() == 1


def test_bad_requests_stop_with_a_clear_message(store, tiny_clean_dir, tmp_path):
    with pytest.raises(InputError, match="bgrisk-account has no alias 'nosuch'"):
        score.run(store, clean=tiny_clean_dir, out=tmp_path, as_of=AS_OF, alias="nosuch")
    with pytest.raises(InputError, match="outside the data"):
        score.run(
            store, clean=tiny_clean_dir, out=tmp_path, as_of=dt.date(2030, 1, 1), alias="champion"
        )
    partial = tmp_path / "clean"
    shutil.copytree(tiny_clean_dir, partial)
    (partial / "device_events.parquet").unlink()
    with pytest.raises(InputError, match="do not match the model's signature"):
        score.run(store, clean=partial, out=tmp_path / "out", as_of=AS_OF, alias="champion")
    assert not list((tmp_path / "out").glob("as_of=*/_SUCCESS"))


def test_the_report_renders_in_headless_chromium(uninterrupted, tmp_path):
    browser = shutil.which("chromium")
    assert browser, "chromium is installed by `make test` (apt-get install chromium)"
    flags = ["--headless", "--no-sandbox", "--disable-gpu", f"--user-data-dir={tmp_path}"]
    page = (uninterrupted / "report.html").as_uri()
    dom = subprocess.run(
        [browser, *flags, "--dump-dom", page],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    ).stdout
    accounts = pd.read_parquet(uninterrupted / "accounts.parquet")
    assert "Top of the account queue" in dom and accounts["entity_id"].iloc[0] in dom
    assert 'id="drift-table"' in dom and "pass_through_ratio_30d" in dom
    shot = tmp_path / "report.png"
    subprocess.run(
        [browser, *flags, f"--screenshot={shot}", "--window-size=1200,2000", page],
        capture_output=True, timeout=120, check=True,
    )  # fmt: skip
    assert shot.stat().st_size > 20_000  # a rendered page, not a blank one


def test_the_whole_alert_band_is_explained_even_below_the_reason_floor(
    store, tiny_clean_dir, tmp_path
):
    raw = store.model_dump(mode="json")
    raw["score"]["bands"] = {"high": 0.995, "medium": 0.99}  # partitions explain almost no one
    target = score.run(
        type(store).model_validate(raw), clean=tiny_clean_dir, out=tmp_path, as_of=AS_OF,
        alias="champion",
    )  # fmt: skip
    accounts = pd.read_parquet(target / "accounts.parquet")
    alert = accounts[accounts["risk_band"] == "alert"]
    assert len(alert) == 20 and alert["reason_1_feature"].notna().all()
    assert accounts.loc[accounts["risk_band"] == "low", "reason_1_feature"].isna().all()
