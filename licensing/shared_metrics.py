"""The metrics of `serve --processes N`: one endpoint that shows the sum over every process.

Each process counts in memory-mapped files of its own in a private folder (prometheus_client's
multiprocess mode); the parent serves /metrics from those files, adding up the processes, so a
scrape sees the whole server whichever process served a call. The folder is made new by the
parent at every start (mode 0700: nothing from an earlier run, or another server, is counted)
and removed when the parent stops.

The switch must come before any series is counted: a series counted in memory first would stay
there, invisible to the parent. Every series in metrics.py has labels, so none exists until its
first count, and the parent counts nothing before it forks.

There are no gauges today. A gauge added later must choose its `multiprocess_mode` (say
"livesum" for something in flight, so that a dead process's value leaves the sum), which is why
`process_ended` marks a process dead.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

from prometheus_client import CollectorRegistry, multiprocess, values

from .metrics import MULTIPROC_ENV, MetricsServer, start_metrics_server

__all__ = ["SharedMetrics"]


class SharedMetrics:
    """The folder the processes count in, and the endpoint that adds them up."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    @classmethod
    def start(cls) -> SharedMetrics:
        """A new private folder, and every series counted from now on (in this process and its
        forks) counted there."""
        folder = Path(tempfile.mkdtemp(prefix="licensing-metrics-"))  # mode 0700, empty
        os.environ[MULTIPROC_ENV] = str(folder)  # prometheus_client opens each process's file there
        values.ValueClass = values.MultiProcessValue()
        return cls(folder)

    def serve(self, address: str) -> MetricsServer:
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry, path=str(self.folder))
        return start_metrics_server(address, registry)

    def process_ended(self, pid: int) -> None:
        """A process has exited: its counters stay in the sums, its live gauges leave them."""
        multiprocess.mark_process_dead(pid, str(self.folder))

    def close(self) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)
