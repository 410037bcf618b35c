import pytest
import yaml

from pipeline.config import load_params
from pipeline.errors import InputError
from tests.conftest import REPO


def test_project_params_load():
    params = load_params(REPO / "params.yaml")
    assert params.calibrate.method in {"isotonic", "sigmoid"}
    assert set(params.evaluate.alert_budget) == {"account", "intermediary"}


def test_bad_key_is_named_with_its_path(tmp_path):
    raw = yaml.safe_load((REPO / "params.yaml").read_text())
    raw["train"]["learning_rate"] = -1
    raw["calibrate"]["method"] = "platt"
    path = tmp_path / "params.yaml"
    path.write_text(yaml.safe_dump(raw))
    with pytest.raises(InputError) as err:
        load_params(path)
    assert "train.learning_rate" in str(err.value)
    assert "calibrate.method" in str(err.value)


def test_unknown_key_is_refused(tmp_path):
    raw = yaml.safe_load((REPO / "params.yaml").read_text())
    raw["train"]["num_leafs"] = 7
    path = tmp_path / "params.yaml"
    path.write_text(yaml.safe_dump(raw))
    with pytest.raises(InputError, match=r"train\.num_leafs"):
        load_params(path)


def test_missing_file(tmp_path):
    with pytest.raises(InputError, match="not found"):
        load_params(tmp_path / "nope.yaml")
