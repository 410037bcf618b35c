"""Both notebooks, executed end to end on the tiny world's pipeline outputs.

They are stored without outputs and take their inputs from environment variables set at
their top, so here they read the tiny world instead of ``make run``'s.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

from pipeline.simulate import TRUTH_DIR
from pipeline.stages import score
from tests.conftest import REPO

NOTEBOOKS = sorted((REPO / "notebooks").glob("*.ipynb"))


@pytest.fixture(scope="module")
def pipeline_outputs(tiny_world, tiny_features, tiny_champions, tiny_clean_dir, tiny_mlflow,
                     tmp_path_factory) -> dict[str, str]:  # fmt: skip
    raw = tmp_path_factory.mktemp("raw")
    (raw / TRUTH_DIR).mkdir()
    for name, frame in tiny_world.items():
        frame.to_parquet(raw / f"{name}.parquet", index=False)
    scores = tmp_path_factory.mktemp("scores")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("MLFLOW_TRACKING_URI", tiny_mlflow)
        score.run(tiny_champions, clean=tiny_clean_dir, out=scores, as_of=None, alias="champion")
    return {
        "BGRISK_RAW": str(raw),
        "BGRISK_FEATURES": str(tiny_features),
        "BGRISK_TRACKING_URI": tiny_mlflow,
        "BGRISK_SCORES": str(scores),
    }


def execute(notebook, monkeypatch, env: dict[str, str], workdir) -> None:
    # The kernel is started as `python`: the one running the tests, with its packages.
    monkeypatch.setenv("PATH", f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    client = NotebookClient(
        notebook, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(workdir)}}
    )
    client.execute()


def test_there_are_two_notebooks_stored_without_outputs():
    assert [p.name for p in NOTEBOOKS] == ["01-simulated-world.ipynb", "02-model-review.ipynb"]
    for path in NOTEBOOKS:
        cells = nbformat.read(path, as_version=4).cells
        code = [c for c in cells if c.cell_type == "code"]
        assert code and all(not c.outputs and c.execution_count is None for c in code), path.name
        assert any("from pipeline" in c.source for c in code), path.name


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_runs_end_to_end(path, pipeline_outputs, monkeypatch, tmp_path):
    notebook = nbformat.read(path, as_version=4)
    execute(notebook, monkeypatch, pipeline_outputs, tmp_path)
    outputs = [o for c in notebook.cells if c.cell_type == "code" for o in c.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    assert any("image/png" in o.get("data", {}) for o in outputs), "a plot was drawn"


def test_a_failing_cell_fails_the_run(monkeypatch, tmp_path):
    notebook = nbformat.v4.new_notebook(
        cells=[nbformat.v4.new_code_cell("raise ValueError('a broken cell')")]
    )
    with pytest.raises(CellExecutionError, match="a broken cell"):
        execute(notebook, monkeypatch, {}, tmp_path)
