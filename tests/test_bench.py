import sys

import pandas as pd
import pytest

from bench.activity import (
    account_payments,
    activity,
    plain_activity,
    with_past_hour_searchsorted,
)
from pipeline.catalog import load_catalog
from pipeline.featurize import KEYS, compute_features, connect
from tests.conftest import utc


@pytest.mark.parametrize("how", ["plain", "tuned"])
def test_the_pandas_yardsticks_compute_the_same_activity_family(how, tiny_clean_dir):
    """The benchmark compares like with like: same rows, same values."""
    snapshot = utc("2025-07-01")
    accounts = pd.read_parquet(
        tiny_clean_dir / "accounts.parquet", columns=["account_id", "opened_at"]
    )
    payments = account_payments(tiny_clean_dir)
    if how == "plain":
        theirs = plain_activity(accounts, payments, snapshot)
    else:
        theirs = activity(accounts, with_past_hour_searchsorted(payments), snapshot)
    names = load_catalog()["account_activity"].features
    ours = compute_features(connect(tiny_clean_dir), "account", pd.DatetimeIndex([snapshot]))
    theirs = theirs.rename(columns={"account_id": "entity_id"})[KEYS + names]
    theirs = theirs.sort_values(KEYS, ignore_index=True).astype({n: "float64" for n in names})
    theirs["snapshot_date"] = theirs["snapshot_date"].astype(ours["snapshot_date"].dtype)
    assert theirs["max_txns_one_hour_30d"].max() > 2, "bursts to compare"
    pd.testing.assert_frame_equal(
        theirs, ours[KEYS + names], check_exact=False, rtol=1e-9, check_dtype=False
    )


def test_a_stage_peak_adds_up_the_worker_processes_it_starts(tmp_path):
    """Validation and Dask stages start worker processes: their memory counts too."""
    from bench.__main__ import measure

    script = tmp_path / "holds.py"
    script.write_text(
        "import subprocess, sys, time\n"
        "parent = len(sys.argv) == 1\n"
        "child = subprocess.Popen([sys.executable, __file__, 'child']) if parent else None\n"
        "block = bytearray(300 * 2**20)\n"
        "block[::4096] = bytes(len(block) // 4096)  # touch every page: resident\n"
        "time.sleep(2)\n"
        "if child: child.wait()\n"
    )
    figures = measure([sys.executable, str(script)], tmp_path)
    assert figures["peak_gib"] > 0.55  # two processes of 300 MiB each, at the same time
    assert figures["wall_s"] >= 2 and "failed" not in figures


def test_a_stage_time_in_the_kernel_is_recorded_apart(tmp_path):
    """The system part of a stage's CPU is what moves with the machine's hour: kept apart."""
    from bench.__main__ import measure

    script = tmp_path / "copies.py"
    # Reading 20 GiB of /dev/zero is the kernel's work (its copies into the buffer): about
    # half a second, next to almost none of the interpreter's own.
    script.write_text(
        "import os\n"
        "zero = os.open('/dev/zero', os.O_RDONLY)\n"
        "for _ in range(20000):\n"
        "    os.read(zero, 2**20)\n"
    )
    figures = measure([sys.executable, str(script)], tmp_path)
    assert figures["system_s"] >= 0.1
    assert figures["system_s"] <= figures["cpu_s"]
    assert figures["system_s"] > figures["cpu_s"] - figures["system_s"]


def test_repeated_stages_keep_their_median_run_and_pair_rounds_of_one_invocation():
    """On a machine whose speed moves, a comparison is read from rounds run side by side."""
    from bench.__main__ import _against, median_run

    ours = median_run(
        [{"wall_s": 7.0, "peak_gib": 1.0}, {"wall_s": 6.5, "peak_gib": 1.1},
         {"wall_s": 9.0, "peak_gib": 1.2}],
        rounds_of="t0",
    )  # fmt: skip
    assert ours["wall_s"] == 7.0 and ours["peak_gib"] == 1.0
    assert ours["rounds_wall_s"] == [7.0, 6.5, 9.0]
    failed = median_run(
        [{"failed": "exit code -9", "wall_s": 1.0}, {"wall_s": 80.0}], rounds_of="t0"
    )
    assert failed["wall_s"] == 80.0 and failed["rounds_wall_s"] == [1.0, 80.0]
    theirs = median_run(
        [{"wall_s": 70.0, "peak_gib": 3.0}, {"wall_s": 66.0, "peak_gib": 3.0},
         {"wall_s": 95.0, "peak_gib": 3.0}],
        rounds_of="t0",
    )  # fmt: skip
    text = _against("plain", theirs, ours)
    assert "**10.0x**" in text
    assert "70.0 / 7.0 s = 10.0x, 66.0 / 6.5 s = 10.2x, 95.0 / 9.0 s = 10.6x" in text
    elsewhere = _against("plain", theirs | {"rounds_of": "t1"}, ours)
    assert "rounds" not in elsewhere and "**10.0x**" in elsewhere
