"""The command line as users meet it: one-line errors and exit code 2 for bad usage."""

import os
import subprocess
import sys

import pytest

from tests.conftest import REPO


def bgrisk(*args: str, cwd=REPO) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", "from pipeline.cli import run; run()", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        env={**os.environ, "MLFLOW_TRACKING_URI": "sqlite:///unused.db"},
        check=False,
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["train", "--entity", "merchant"], "'merchant' is not one of 'account', 'intermediary'"),
        (["validate", "--raw", "no/such/dir", "--out", "x"], "raw data directory not found"),
        (["features", "--clean", "no/such/dir", "--out", "x"], "clean data directory not found"),
        (["promote"], "Missing option '--entity'"),
        (["--params", "missing.yaml", "train", "--entity", "account"], "parameters file not found"),
        (["features", "--clean", ".", "--out", "x", "--as-of", "yesterday"], "'--as-of'"),
        (["audit"], "give --entity (with --alias or --version) or --scores FILE"),
        (["audit", "--entity", "account", "--alias", "a", "--version", "2"], "not both"),
        (["audit", "--scores", "no/such/scores.parquet"], "scores file not found"),
    ],
)
def test_bad_usage_is_one_line_and_exit_2(args, message, tmp_path):
    result = bgrisk(*args, cwd=tmp_path if args[0] == "--params" else REPO)
    assert result.returncode == 2, result.stderr
    assert message in result.stderr
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert not (REPO / "x").exists()


def test_help_lists_every_stage():
    result = bgrisk("--help")
    assert result.returncode == 0
    for command in (
        "simulate",
        "validate",
        "features",
        "train",
        "calibrate",
        "evaluate",
        "promote",
        "score",
        "audit",
    ):
        assert command in result.stdout


def test_auditing_a_version_the_registry_lacks_is_exit_2(tmp_path):
    result = bgrisk("audit", "--entity", "account", "--version", "9", cwd=tmp_path)
    assert result.returncode == 2
    assert "bgrisk-account has no version 9 in the registry" in result.stderr
