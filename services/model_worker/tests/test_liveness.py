"""The liveness probe reads what the heartbeat writes: fresh, old, missing, unreadable."""

import json

from saekdam_worker.liveness import Heartbeat, main, problem


class QuietWorker:
    worker_id = "w-1"

    def stalled_jobs(self, now, quiet_s):
        return []


def test_a_fresh_heartbeat_passes_and_an_old_one_fails(tmp_path):
    path = tmp_path / "alive"
    clock = {"now": 1000.0}
    heartbeat = Heartbeat(
        path, QuietWorker(), every_s=5, job_stall_s=900, wall=lambda: clock["now"]
    )
    heartbeat.beat()
    record = json.loads(path.read_text())
    assert record["worker_id"] == "w-1" and record["stalled"] == []
    assert problem(path, max_age_s=30, now=1010) is None
    reason = problem(path, max_age_s=30, now=1031)
    assert "31 s old" in reason and "stuck" in reason
    assert list(tmp_path.iterdir()) == [path]  # written whole: no partial file left


def test_the_probe_fails_without_a_file_or_with_a_broken_one(tmp_path, capsys):
    path = tmp_path / "alive"
    assert main(["--file", str(path)]) == 1
    assert "no heartbeat file" in capsys.readouterr().err
    path.write_text("{not json")
    assert main(["--file", str(path)]) == 1
    assert "unreadable" in capsys.readouterr().err
    Heartbeat(path, QuietWorker(), every_s=5, job_stall_s=0).beat()
    assert main(["--file", str(path), "--max-age", "30"]) == 0
