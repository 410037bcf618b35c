import logging
import re
import time

from pipeline.timing import timed


def test_a_step_is_logged_with_its_time_and_the_cores_it_kept_busy(caplog):
    with caplog.at_level(logging.INFO, logger="pipeline.timing"):
        with timed("waiting"):
            time.sleep(0.3)
        with timed("counting"):
            deadline = time.perf_counter() + 0.3
            while time.perf_counter() < deadline:
                pass
    waiting, counting = (
        re.fullmatch(r"(\w+): ([\d.]+) s \(([\d.]+) cores\)", r.getMessage())
        for r in caplog.records
    )
    assert waiting[1] == "waiting" and float(waiting[2]) >= 0.3 and float(waiting[3]) < 0.5
    assert counting[1] == "counting" and float(counting[3]) > 0.5
