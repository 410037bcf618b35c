import pytest

from pipeline.io import atomic_dir, atomic_file


def test_atomic_dir_replaces_only_on_success(tmp_path):
    target = tmp_path / "out"
    with atomic_dir(target) as staging:
        (staging / "a.txt").write_text("first")
    with pytest.raises(RuntimeError), atomic_dir(target) as staging:
        (staging / "a.txt").write_text("half")
        raise RuntimeError("killed halfway")
    assert (target / "a.txt").read_text() == "first"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_atomic_dir_creates_nothing_on_failure(tmp_path):
    with pytest.raises(ValueError), atomic_dir(tmp_path / "out"):
        raise ValueError
    assert list(tmp_path.iterdir()) == []


def test_atomic_file(tmp_path):
    target = tmp_path / "x.json"
    with pytest.raises(OSError), atomic_file(target) as staging:
        staging.write_text("partial")
        raise OSError
    assert list(tmp_path.iterdir()) == []
    with atomic_file(target) as staging:
        staging.write_text("done")
    assert target.read_text() == "done"
