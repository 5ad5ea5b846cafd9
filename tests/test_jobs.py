"""The generic background job (mer.jobs) and the event lines its runs write (mer.progress): a run's state from its
files, its lock, and the lines of job folders an earlier mer wrote, which must read the same."""

from __future__ import annotations

import io
import json
import subprocess
import sys
import time
from contextlib import redirect_stdout
from dataclasses import dataclass
from typing import Any

import pytest

from mer.errors import MerError
from mer.files import hold_lock
from mer.jobs import BackgroundJob, JobState
from mer.progress import (
    RATE_KEYS,
    BatchDone,
    Cancelled,
    Epoch,
    ProgressEvent,
    ProgressPrinter,
    TrainingDone,
    Unit,
    event_line,
    parse_event,
)

#: Lines exactly as `python -m mer train | batch --progress-json` wrote them before the events had records.
_LINES = {
    '{"event": "progress", "done": 3, "total": 8, "files_per_s": 1.5, "eta_s": 3.3, "message": "b/c.flac"}':
        ProgressEvent(3, 8, "b/c.flac", rate=1.5, eta_s=3.3, unit=Unit.FILE),
    '{"event": "progress", "done": 1, "total": 6, "steps_per_s": 0.25, "eta_s": null, "message": "features"}':
        ProgressEvent(1, 6, "features", rate=0.25, unit=Unit.STEP),
    '{"event": "epoch", "stage": "fold 2/5", "epoch": 3, "epochs": 40, "train_loss": 1.5, "val_loss": 1.75, '
    '"val_accuracy": 0.5, "lr": 0.001, "seconds": 0.25, "best_epoch": 2, "early_stop": false}':
        Epoch("fold 2/5", 3, 40, 1.5, 1.75, 0.5, 0.001, 0.25, 2, False),
    '{"event": "cancelled", "message": "Cancelled after 3 of 8 files. The results are kept."}':
        Cancelled("Cancelled after 3 of 8 files. The results are kept."),
    '{"event": "done", "analysed": 7, "skipped": 1, "failed": 1, "tracks": 8, "ok_tracks": 7, "seconds": 2.125, '
    '"out": "/data/batches/music"}': BatchDone(7, 1, 1, 8, 7, 2.125, "/data/batches/music"),
}


def test_each_event_line_reads_as_its_record_and_is_written_back_byte_for_byte():
    for line, event in _LINES.items():
        done = BatchDone if '"done"' in line else TrainingDone
        assert parse_event(json.loads(line), done) == event
        assert event_line(event) == line
    assert parse_event({"event": "done", "model": "/m/track-1"}, TrainingDone) == TrainingDone("/m/track-1")
    assert event_line(TrainingDone("/m/track-1")) == '{"event": "done", "model": "/m/track-1"}'


def test_the_printer_names_its_rate_by_the_one_key_the_reader_looks_up():
    out = io.StringIO()
    with redirect_stdout(out):
        ProgressPrinter(style=None, json_lines=True, unit="file")(2, 2, "last.flac")
    data = json.loads(out.getvalue())
    assert list(data) == ["event", "done", "total", RATE_KEYS[Unit.FILE], "eta_s", "message"]
    assert RATE_KEYS[Unit.FILE] == "files_per_s"  # on disk in every batch job folder: it may never change
    event = parse_event(data, BatchDone)
    assert event.unit == Unit.FILE and event.rate == data["files_per_s"] and event.rate >= 0
    assert (event.done, event.total, event.message, event.eta_s) == (2, 2, "last.flac", data["eta_s"])


@pytest.mark.parametrize("data", [
    [1, 2], "progress", {"event": "mystery", "done": 1}, {"message": "no event"},
    {"event": "epoch", "stage": "fold 1/5", "epoch": 1},  # an epoch missing its numbers
    {"event": "done", "tracks": "many"}, {"event": "progress", "done": "x", "total": 2},
])
def test_a_line_that_is_no_event_this_mer_knows_is_left_out(data):
    assert parse_event(data, BatchDone) is None


def test_a_progress_line_without_a_rate_is_a_stage_note():
    """A stage after the fits writes done, total and a message only: it reads with no rate and no ETA."""
    event = parse_event({"event": "progress", "done": 1, "total": 6, "message": "valence and arousal"}, TrainingDone)
    assert event == ProgressEvent(1, 6, "valence and arousal")


@dataclass(frozen=True)
class _Request:
    name: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> _Request:
        return cls(str(data.get("name", "")))


def _job(tmp_path) -> BackgroundJob[_Request]:
    return BackgroundJob(tmp_path / "job", "test", lambda started: MerError(f"busy since {started}"), _Request,
                         BatchDone)


def test_a_run_records_its_request_and_reads_its_events_in_order_to_done(tmp_path):
    lines = [event_line(ProgressEvent(1, 2, "one", rate=1.0, eta_s=1.0, unit=Unit.FILE)), "not json",
             json.dumps({"event": "from a newer mer"}), event_line(BatchDone(analysed=2, tracks=2, ok_tracks=2))]
    script = "import sys; print(sys.argv[1], flush=True)"
    job = _job(tmp_path)
    started = job.start(lambda run: [sys.executable, "-S", "-c", script, "\n".join(lines)], request=_Request("a b"))
    assert started.request == _Request("a b") and started.pid > 0
    assert json.loads((tmp_path / "job" / "job.json").read_text())["name"] == "a b"  # its keys, beside run and pid
    deadline = time.monotonic() + 20
    while (status := job.status()).state == JobState.RUNNING and time.monotonic() < deadline:
        time.sleep(0.02)
    assert status.state == JobState.DONE, status.message
    assert status.events == [ProgressEvent(1, 2, "one", rate=1.0, eta_s=1.0, unit=Unit.FILE),
                             BatchDone(analysed=2, tracks=2, ok_tracks=2)]
    assert status.last(ProgressEvent).message == "one" and status.last(Cancelled) is None


def test_a_run_whose_process_died_is_failed_with_its_last_error_and_a_start_may_follow(tmp_path):
    job, folder = _job(tmp_path), tmp_path / "job"
    dead = subprocess.Popen(["true"])
    dead.wait()
    (folder / "runs" / "run-old").mkdir(parents=True)
    (folder / "runs" / "run-old" / "stderr.log").write_text("working\nerror: the disk is full\nbye\n")
    (folder / "job.json").write_text(json.dumps({"run": "run-old", "pid": dead.pid, "started": "2026-01-01T00:00:00"}))
    assert job.status().state == JobState.FAILED and job.status().message == "the disk is full"
    (folder / "runs" / "run-old" / "stderr.log").write_text("")
    assert job.status().message == "the test process ended without a result"
    job.start(lambda run: [sys.executable, "-S", "-c", "pass"], request=_Request())
    assert [p.name for p in (folder / "runs").iterdir()] != ["run-old"]  # the dead run's folder went with the start
    assert not (folder / "runs" / "run-old").exists()


def test_the_job_lock_refuses_a_second_holder_of_the_same_process(tmp_path):
    """The app serves each user from a thread of one process: a lock that let its own process in twice would
    let two starts win."""
    def busy() -> MerError:
        return MerError("held")

    with hold_lock(tmp_path / "lock", busy=busy):
        with pytest.raises(MerError, match="held"):
            with hold_lock(tmp_path / "lock", busy=busy):
                pass
    with hold_lock(tmp_path / "lock", busy=busy):  # released: free again, and the file stays
        assert (tmp_path / "lock").exists()
