"""Where partition tasks run: in this process with a progress bar, or on Dask workers
(``local-cluster:N`` starts N worker processes here; any other value is a scheduler
address). Tasks are idempotent, so the result does not depend on where they ran."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import TypeVar

from distributed import Client, LocalCluster, as_completed
from rich.progress import track

from pipeline.scoring import score_partition

LOCAL_CLUSTER = "local-cluster:"
Task = TypeVar("Task")


def run_tasks(
    tasks: Sequence[Task],
    *,
    scheduler: str | None,
    work: Callable[[Task], object] = score_partition,
    doing: str = "scoring",
) -> None:
    if scheduler is None:
        for task in track(tasks, description=f"{doing} partitions", transient=True):
            work(task)
        return
    with dask_client(scheduler) as client:
        futures = client.map(work, tasks, pure=False)
        for future in track(
            as_completed(futures), total=len(futures), description=f"{doing} on Dask"
        ):
            future.result()  # re-raises a worker's error here


@contextmanager
def dask_client(scheduler: str) -> Iterator:
    if scheduler.startswith(LOCAL_CLUSTER):
        workers = int(scheduler.removeprefix(LOCAL_CLUSTER))
        with (
            LocalCluster(
                n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None
            ) as cluster,
            Client(cluster) as client,
        ):
            yield client
    else:
        with Client(scheduler) as client:
            yield client
