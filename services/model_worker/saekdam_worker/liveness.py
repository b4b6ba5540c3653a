"""The worker's liveness: a heartbeat file the event loop rewrites, and the probe that reads it.

Two ways a worker can hang while its process lives on, holding a GPU:
- the event loop stops (SIGSTOP, a deadlock, a blocking call on the loop): the file is not
  rewritten, and the probe (`python -m saekdam_worker.liveness`, the container's liveness
  probe) fails once it is older than `--max-age`, so the orchestrator restarts the worker;
- the pipeline wedges (a CUDA hang): the loop lives, but the job on the pipeline reports no
  progress. After WORKER `job_stall_s` the heartbeat says so in the file and ends the process
  (exit 3). Either way the job's lease lapses and another worker takes it over.

The file is JSON: {"pid", "worker_id", "written_at" (Unix time), "stalled": [[task id, s]]},
written whole (a temporary file moved into place), so a probe never reads half of it.
"""

import argparse
import asyncio
import json
import logging
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path

log = logging.getLogger(__name__)

EXIT_STALLED = 3


class Heartbeat:
    def __init__(
        self,
        path: Path,
        worker,
        *,
        every_s: float,
        job_stall_s: float,
        exit: Callable[[int], None] = os._exit,
        monotonic: Callable[[], float] = time.monotonic,
        wall: Callable[[], float] = time.time,
    ):
        self.path = path
        self.worker = worker  # anything with `worker_id` and `stalled_jobs(now, quiet_s)`
        self.every_s = every_s
        self.job_stall_s = job_stall_s
        # os._exit, not sys.exit: a wedged pipeline thread would keep the process alive.
        self._exit = exit
        self._monotonic, self._wall = monotonic, wall

    def beat(self) -> list[tuple[str, float]]:
        """Write the file once; the jobs found stalled (the process then ends)."""
        stalled = []
        if self.job_stall_s > 0:
            stalled = self.worker.stalled_jobs(self._monotonic(), self.job_stall_s)
        record = {
            "pid": os.getpid(),
            "worker_id": self.worker.worker_id,
            "written_at": self._wall(),
            "stalled": stalled,
        }
        partial = self.path.with_name(f".{self.path.name}.partial")
        partial.write_text(json.dumps(record))
        os.replace(partial, self.path)
        if stalled:
            log.error(
                "a job reported no progress for %.0f s: the worker exits so that its lease "
                "lapses and another worker takes the job over",
                self.job_stall_s,
                extra={"worker_id": self.worker.worker_id, "task_id": stalled[0][0]},
            )
            self._exit(EXIT_STALLED)
        return stalled

    async def run_forever(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            while True:
                try:
                    self.beat()
                except OSError:
                    log.warning("could not write the heartbeat file %s", self.path, exc_info=True)
                await asyncio.sleep(self.every_s)
        finally:
            # A worker that stops on purpose is not a dead one to probe.
            self.path.unlink(missing_ok=True)


def problem(path: Path, max_age_s: float, now: float | None = None) -> str | None:
    """Why the worker behind `path` is not alive, or None when it is."""
    try:
        record = json.loads(path.read_text())
        written_at = float(record["written_at"])
    except FileNotFoundError:
        return f"no heartbeat file at {path}: the worker is not running (or not yet)"
    except (OSError, ValueError, KeyError, TypeError) as exc:
        return f"unreadable heartbeat file {path}: {exc}"
    age = (time.time() if now is None else now) - written_at
    if age > max_age_s:
        return (
            f"the heartbeat is {age:.0f} s old (limit {max_age_s:g} s): the worker's loop is stuck"
        )
    if record.get("stalled"):
        task_id, quiet = record["stalled"][0]
        return f"job {task_id} has reported no progress for {quiet:.0f} s"
    return None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m saekdam_worker.liveness",
        description="Liveness probe: exit 0 when the worker's heartbeat is fresh and no job "
        "has stalled, 1 (with the reason) otherwise.",
    )
    parser.add_argument(
        "--file",
        type=Path,
        default=Path(os.environ.get("HEARTBEAT_FILE") or "/tmp/saekdam-worker.alive"),
        help="the worker's HEARTBEAT_FILE (default: $HEARTBEAT_FILE or /tmp/saekdam-worker.alive)",
    )
    parser.add_argument(
        "--max-age",
        type=float,
        default=30.0,
        help="seconds the heartbeat may be old (default 30; the worker writes every 5)",
    )
    args = parser.parse_args(argv)
    reason = problem(args.file, args.max_age)
    if reason:
        print(reason, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
