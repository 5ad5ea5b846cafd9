"""Batch analysis of a library: python -m mer batch, resuming after kill -9, bad files, analyze_many."""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import soundfile as sf

from mer.analyze import analyze
from mer.batch import BatchError, analyze_many, iter_paths, run_batch
from mer.cli import main
from mer.emotions import EMOTIONS
from mer.errors import MerError
from mer.model_files import load_model

from .helpers import BAD_FILES, processes_of, tone

ROOT = Path(__file__).resolve().parent.parent
BAD = ("empty.wav", "text.mp3", "clip.wav")


def write_library(root: Path, n_good: int, bad: tuple[str, ...] = BAD, seconds: float = 10.5) -> Path:
    """``n_good`` tones of ``seconds`` and different pitch in three folders, plus the named bad files at the top."""
    root.mkdir(parents=True, exist_ok=True)
    for i in range(n_good):
        folder = root / ("low", "mid", "high")[i % 3]
        folder.mkdir(parents=True, exist_ok=True)
        sf.write(folder / f"t{i:02d}.wav", tone(seconds, sr=16_000, freq=110.0 * 2 ** (i / 12)), 16_000)
    for name in bad:
        (root / name).write_bytes(BAD_FILES[name][0])
    return root


def batch(*args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "mer", "batch", *args], capture_output=True, text=True,
                          timeout=timeout, cwd=ROOT)


def read(out: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    return pd.read_parquet(out / "tracks.parquet"), pd.read_parquet(out / "segments.parquet")


@pytest.fixture(scope="module")
def library(tmp_path_factory) -> Path:
    return write_library(tmp_path_factory.mktemp("library"), 47)


@pytest.fixture(scope="module")
def model_dir(tiny_models) -> Path:
    return tiny_models / "default"


def test_a_library_of_50_with_3_bad_files_gives_47_ok_and_3_error_rows(library, model_dir, tmp_path, capsys):
    out = tmp_path / "out"
    assert main(["batch", str(library), "--out", str(out), "--model", str(model_dir), "--csv", "--no-progress",
                 "--workers", "1"]) == 0
    assert "done: 47 analysed, 0 skipped, 3 failed" in capsys.readouterr().err
    tracks, segments = read(out)
    assert len(tracks) == 50 and tracks["path"].is_unique
    assert (tracks["status"] == "ok").sum() == 47
    model = load_model(model_dir)
    for name in BAD:  # the CLI's own one-line message
        row = tracks[tracks["file"] == name].iloc[0]
        with pytest.raises(MerError) as e:
            analyze(library / name, model=model)
        assert row["status"] == "error" and row["error"] == str(e.value) and row["n_segments"] == 0
    ok = tracks[tracks["status"] == "ok"]
    assert set(ok["folder"]) == {"low", "mid", "high"} and ok["duration_s"].eq(10.5).all()
    assert ok["model_name"].eq("default").all() and ok["model_version"].str.len().eq(12).all()
    assert len(segments) == 47 * 20
    assert segments.groupby("path")["segment"].apply(lambda s: sorted(s) == list(range(1, 21))).all()
    probs = segments[list(EMOTIONS)].to_numpy()
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, atol=1e-5)
    np.testing.assert_allclose(ok[list(EMOTIONS)].sum(axis=1), 1.0, atol=1e-5)
    first = ok.iloc[0]  # a track's row holds the model's track head, as `mer analyze` gives it
    direct = analyze(first["path"], model=model).track_probabilities
    np.testing.assert_allclose(first[list(EMOTIONS)].to_numpy(dtype=float), direct, atol=1e-5)
    assert (ok["top_emotion"] == ok[list(EMOTIONS)].idxmax(axis=1)).all()
    assert len(pd.read_csv(out / "tracks.csv")) == 50 and len(pd.read_csv(out / "segments.csv")) == 940


def _torch_loaded(pid: int) -> bool:
    """Whether process ``pid`` has imported torch (a batch worker does so while it gets ready, then loads the
    model and takes files)."""
    try:
        return "libtorch_cpu" in Path(f"/proc/{pid}/maps").read_text()
    except OSError:
        return False


def _kill_when(args: list[str], out: Path, ready) -> None:
    """Start ``mer batch`` on ``args``, SIGKILL its main process as soon as ``ready(fork_server_pid, workers,
    chunks)`` says so, and check that no process of that batch is left 5 s later."""
    run = uuid.uuid4().hex
    proc = subprocess.Popen([sys.executable, "-m", "mer", "batch", *args], cwd=ROOT, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, env=os.environ | {"MER_TEST_RUN": run})
    deadline = time.monotonic() + 120
    while True:
        assert proc.poll() is None, "the batch finished before it could be killed"
        assert time.monotonic() < deadline, f"the batch never got there: {processes_of(run)}"
        procs = processes_of(run)
        fork_server = next((pid for pid, (ppid, cmd) in procs.items()
                            if ppid == proc.pid and "multiprocessing.forkserver" in cmd), None)
        workers = [pid for pid, (ppid, _) in procs.items() if fork_server is not None and ppid == fork_server]
        if ready(fork_server, workers, len(list((out / ".parts").glob("0*")))):
            break
        time.sleep(0.02)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    deadline = time.monotonic() + 5
    while processes_of(run) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert processes_of(run) == {}  # no fork server, worker or resource tracker outlives the batch


@pytest.mark.slow
def test_a_batch_killed_with_sigkill_leaves_no_process_behind_and_resumes_to_exactly_50_tracks(model_dir, tmp_path,
                                                                                                capsys):
    # 30 s tracks, so that the pool gets ready well before the end; three workers, so that a pool starts at once
    # whatever the machine's load (the default starts one only on idle cores)
    library, out = write_library(tmp_path / "library", 47, seconds=30.0), tmp_path / "out"
    args = [str(library), "--out", str(out), "--model", str(model_dir), "--chunk-size", "3", "--no-progress",
            "--workers", "3"]
    _kill_when(args, out, lambda fork_server, workers, chunks: fork_server is not None)  # the pool still starting
    _kill_when(args, out, lambda fork_server, workers, chunks: len(workers) == 2 and chunks >= 9  # over half done,
               and all(map(_torch_loaded, workers)))  # and both workers ready or nearly
    assert not (out / "tracks.parquet").exists()
    assert main(["batch", *args[:-2], "--workers", "1"]) == 0  # resumed in this process
    counts = re.search(r"(\d+) analysed, (\d+) skipped, (\d+) failed", capsys.readouterr().err)
    analysed, skipped, failed = (int(x) for x in counts.groups())
    assert skipped >= 27 and analysed + skipped + failed == 50
    tracks, segments = read(out)
    assert len(tracks) == 50 and tracks["path"].is_unique and (tracks["status"] == "ok").sum() == 47
    assert len(segments) == 940 and not segments.duplicated(["path", "segment"]).any()
    assert not list((out / ".parts").iterdir())  # merged, then the chunks removed


def test_a_changed_file_a_removed_file_and_another_model_are_handled_on_rerun(model_dir, tmp_path):
    lib = write_library(tmp_path / "lib", 3, bad=())
    out = tmp_path / "out"
    first = run_batch([lib], out, model=model_dir, workers=1)
    assert (first.analysed, first.skipped, first.tracks) == (3, 0, 3)
    before = read(out)[0].set_index("file")
    changed = lib / "low" / "t00.wav"
    sf.write(changed, tone(11.0, sr=16_000, freq=880.0), 16_000)
    (lib / "high" / "t02.wav").unlink()
    second = run_batch([lib], out, model=model_dir, workers=1)
    assert (second.analysed, second.skipped, second.tracks) == (1, 1, 2)
    after = read(out)[0].set_index("file")
    assert after.loc["t00.wav", "duration_s"] == 11.0 and before.loc["t00.wav", "duration_s"] == 10.5
    assert after.loc["t01.wav", "input_key"] == before.loc["t01.wav", "input_key"]
    assert len(read(out)[1]) == 40
    other = shutil.copytree(model_dir, tmp_path / "models" / "other")
    third = run_batch([lib], out, model=other, workers=1)
    assert (third.analysed, third.skipped, third.tracks) == (2, 0, 2)
    assert read(out)[0]["model_name"].eq("other").all()


def test_when_nothing_can_be_analysed_the_exit_status_is_2_and_the_rows_are_written(model_dir, tmp_path, capsys):
    lib = write_library(tmp_path / "lib", 0, bad=("empty.wav", "clip.wav"))
    assert main(["batch", str(lib), "--out", str(tmp_path / "out"), "--model", str(model_dir), "--no-progress",
                 "--workers", "1"]) == 2
    assert capsys.readouterr().err.strip().splitlines()[-1].startswith("error: none of the 2 files could be analysed")
    assert read(tmp_path / "out")[0]["status"].eq("error").sum() == 2


@pytest.mark.parametrize("arg, needle", [("missing-folder", "is not a folder"), ("empty-folder", "No audio files")])
def test_bad_inputs_are_one_error_line(tmp_path, arg, needle):
    (tmp_path / "empty-folder").mkdir()
    res = batch(str(tmp_path / arg), "--out", str(tmp_path / "out"))
    assert res.returncode == 2
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:") and needle in lines[0], res.stderr


def test_inputs_are_folders_globs_and_lists_each_file_once(tmp_path):
    lib = write_library(tmp_path / "lib", 4, bad=("text.mp3",))
    (lib / "notes.txt").write_text("not audio, not listed")
    listing = tmp_path / "list.txt"
    listing.write_text("# my picks\nlib/low/t00.wav\n\n" + str(lib / "gone.wav") + "\n")
    paths = list(iter_paths([lib, str(tmp_path / "lib" / "**" / "*.wav"), listing]))
    assert len(paths) == 5 + 4 + 2 and all(os.path.isabs(p) for p in paths)
    assert sorted(set(paths)) == sorted([*(str(p) for p in lib.rglob("*.wav")), str(lib / "text.mp3"),
                                         str(lib / "gone.wav")])
    with pytest.raises(BatchError, match="is not a folder"):
        list(iter_paths([tmp_path / "nope"]))


def test_analyze_many_yields_each_file_once_with_the_analysis_of_analyze(model_dir, tmp_path):
    lib = write_library(tmp_path / "lib", 2, bad=("text.mp3",))
    listing = tmp_path / "list.txt"
    listing.write_text(f"{lib / 'low' / 't00.wav'}\n{lib / 'missing.wav'}\n")
    seen = []
    results = {Path(r.path).name: r for r in analyze_many([lib, listing], model=model_dir, workers=2,
                                                          on_progress=lambda d, t, m: seen.append((d, t)))}
    assert sorted(results) == ["missing.wav", "t00.wav", "t01.wav", "text.mp3"]
    assert seen[-1] == (4, 5)  # 5 paths named, one of them twice
    assert "does not exist" in results["missing.wav"].error and results["text.mp3"].status == "error"
    direct = analyze(lib / "low" / "t00.wav", model=load_model(model_dir))
    r = results["t00.wav"]
    assert r.ok and r.track_top == direct.track_top and r.reading.probabilities.shape == (20, 9)
    np.testing.assert_allclose(r.reading.probabilities, direct.probabilities, atol=1e-5)


def test_pool_workers_compute_in_the_parents_arithmetic(tiny_models, monkeypatch):
    # every process of one batch on one machine runs MusiCNN alike, instead of each probing the CPU itself
    from mer.batch import worker
    from mer.kernels import run_kernel, run_precision

    monkeypatch.setenv("MER_PRECISION", "auto")
    monkeypatch.setenv("MER_KERNEL", "auto")
    monkeypatch.setattr(worker, "_MODEL", None)
    worker.init_worker(str(tiny_models / "default"), arithmetic=("int8", "dft"))
    assert (run_precision(), run_kernel()) == ("int8", "dft") and worker._MODEL.name == "default"


def test_a_musicnn_batch_stores_what_musicnn_hears_per_track(tmp_path):
    # the 50 tags averaged over the segments: "similar by sound" reads them, the CSV leaves them out
    import pyarrow.parquet as pq

    from mer.batch.catalogue import Catalogue

    root = Path(__file__).resolve().parent.parent
    lib = tmp_path / "lib"
    lib.mkdir()
    for i, freq in enumerate((220.0, 330.0, 440.0)):
        sf.write(lib / f"t{i}.wav", tone(10.5, freq=freq), 22_050)
    model = load_model(root / "models" / "default")
    out = tmp_path / "out"
    run_batch([lib], out, model=model, workers=1, csv=True)
    sounds = Catalogue(out).sounds()
    table = pq.read_table(out / "tracks.parquet", columns=["path", "sound"]).to_pandas()
    alone = analyze(lib / "t1.wav", model=model)
    got = np.asarray(table.loc[table["path"].str.endswith("t1.wav"), "sound"].iloc[0], dtype=np.float32)
    np.testing.assert_allclose(got, alone.tags.mean(axis=0), atol=1e-3)  # float16 storage
    assert sounds.shape == (3, 50) and np.isfinite(sounds).all()
    assert "sound" not in pd.read_csv(out / "tracks.csv").columns
