"""Nothing lost: output folders mer may write, crash-safe model replacement, one writer per name, model configs
refused before anything is built, and the models folder's active pointer."""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import signal
from pathlib import Path

import pytest
import torch

from mer import files
from mer.cli import main
from mer.config import AudioConfig, DatasetInfo, FeatureConfig, ModelConfig, TrainConfig
from mer.errors import ModelError, OutputFolderError
from mer.model import build_model
from mer.model_files import load_model, save_model
from mer.registry import load_active, set_active

SMALL = ModelConfig(front_end="logmel", conv_channels=(4,), embedding=4, lstm_hidden=4)
FEATURES = FeatureConfig(n_mels=8)


def _save(root: Path, name: str, seed: int, replace: bool = False) -> Path:
    torch.manual_seed(seed)
    return save_model(build_model(SMALL, 8), name=name, root=root, audio_config=AudioConfig(),
                      feature_config=FEATURES, model_config=SMALL, train_config=TrainConfig(),
                      dataset=DatasetInfo("nothing"),
                      metrics={}, card=f"seed {seed}", replace=replace)


def _weights(path: Path) -> dict:
    return torch.load(path / "weights.pt", weights_only=True)


def test_demo_corpus_never_empties_a_folder_it_did_not_write(tmp_path, monkeypatch, capsys):
    here = tmp_path / "here"
    here.mkdir()
    (here / "keep.txt").write_text("keep")
    monkeypatch.chdir(here)
    assert main(["data", "demo", "--out", ".", "--tracks", "4", "--seconds", "11"]) == 2
    thesis = tmp_path / "thesis"
    thesis.mkdir()
    (thesis / "thesis.txt").write_text("years of work")
    assert main(["data", "demo", "--out", str(thesis), "--tracks", "4", "--seconds", "11"]) == 2
    err = capsys.readouterr().err
    assert err.count("error:") == 2 and "thesis.txt" in err
    assert (here / "keep.txt").read_text() == "keep" and (thesis / "thesis.txt").read_text() == "years of work"
    # an earlier demo corpus is mer's own: it is replaced, and nothing is left beside it
    demo = tmp_path / "demo"
    for seed in (1, 2):
        assert main(["data", "demo", "--out", str(demo), "--tracks", "4", "--seconds", "11", "--seed", str(seed)]) == 0
    assert json.loads((demo / "demo.json").read_text())["seed"] == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == ["demo", "here", "thesis"]
    (demo / "notes.txt").write_text("mine")  # a demo folder holding a user's file is not replaced either
    assert main(["data", "demo", "--out", str(demo), "--tracks", "4", "--seconds", "11"]) == 2
    assert (demo / "notes.txt").exists()


def test_replace_refuses_a_folder_that_is_not_a_model(tmp_path):
    folder = tmp_path / "notes"
    folder.mkdir()
    (folder / "notes.txt").write_text("mine")
    with pytest.raises(ModelError, match="notes.txt"):
        _save(tmp_path, "notes", 0, replace=True)
    with pytest.raises(ModelError, match="already exists"):
        _save(tmp_path, "notes", 0)
    _save(tmp_path, "model", 0)
    (tmp_path / "model" / "data.csv").write_text("someone's")
    with pytest.raises(ModelError, match="data.csv"):
        _save(tmp_path, "model", 1, replace=True)
    assert (folder / "notes.txt").read_text() == "mine" and (tmp_path / "model" / "data.csv").exists()


@pytest.mark.parametrize("step,survivor", [("journal", "seed 1"), ("rename-old", "seed 1"),
                                           ("rename-new", "seed 2"), ("remove-old", "seed 2")])
def test_a_kill_at_any_step_of_a_replace_leaves_a_loadable_model(tmp_path, step, survivor):
    _save(tmp_path, "m", seed=1)
    pid = os.fork()
    if pid == 0:  # the writer, killed with SIGKILL (no cleanup runs) just before `step`
        files._on_step = lambda s: os.kill(os.getpid(), signal.SIGKILL) if s == step else None
        try:
            _save(tmp_path, "m", seed=2, replace=True)
        finally:
            os._exit(0)
    _, status = os.waitpid(pid, 0)
    assert os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL
    assert (tmp_path / "m").exists() == (step != "rename-new")  # between the renames the name is empty ...
    model = load_model(tmp_path / "m")  # ... and the next load finishes the swap first
    assert (model.path / "card.md").read_text() == survivor
    assert all(torch.equal(model.net.state_dict()[k], v) for k, v in _weights(tmp_path / "m").items())
    assert not list(tmp_path.glob(".replace-*")) and not list(tmp_path.glob(".old-*"))


def test_a_second_writer_of_one_name_is_told(tmp_path):
    _save(tmp_path, "m", seed=1)
    fd = os.open(tmp_path / ".lock-m", os.O_CREAT | os.O_RDWR)  # another process's run holds the name
    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    try:
        with pytest.raises(ModelError, match="Another run is writing"):
            _save(tmp_path, "m", seed=2, replace=True)
    finally:
        os.close(fd)
    assert (tmp_path / "m" / "card.md").read_text() == "seed 1"
    _save(tmp_path, "m", seed=2, replace=True)
    assert (tmp_path / "m" / "card.md").read_text() == "seed 2"


def test_a_lock_refuses_a_second_holder_and_dies_with_its_process(tmp_path):
    lock = tmp_path / ".lock"
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the holder: takes the lock, says so, and waits to be killed (no cleanup runs)
        try:
            with files.exclusive_lock(lock):
                os.write(write, b"x")
                signal.pause()
        finally:
            os._exit(0)
    try:
        assert os.read(read, 1) == b"x"
        with pytest.raises(OutputFolderError, match="busy"):
            with files.exclusive_lock(lock, busy=lambda: OutputFolderError("busy")):
                pass
        with pytest.raises(BlockingIOError):  # the default error
            with files.exclusive_lock(lock):
                pass
    finally:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        os.close(read), os.close(write)
    with files.exclusive_lock(lock):  # the system dropped the dead holder's lock
        assert lock.exists()
    assert lock.exists()  # a lock that others wait on stays (old batches' .lock files are the same)


def test_a_removed_lock_leaves_no_file_and_a_waiter_locks_a_fresh_one(tmp_path):
    import threading

    lock, order = tmp_path / ".lock-m", []
    with files.exclusive_lock(lock, remove=True):
        def waiter():
            with files.exclusive_lock(lock, wait=True, remove=True):
                order.append(("waiter", lock.exists()))

        t = threading.Thread(target=waiter)
        t.start()
        t.join(0.2)  # the waiter blocks on the held file (flock excludes two opens in one process too)
        order.append(("holder", lock.exists()))
    t.join()
    assert order == [("holder", True), ("waiter", True)] and not lock.exists()
    with files.name_lock(tmp_path, "m", what="the model"), files.name_lock(tmp_path, "m", what="the model"):
        assert (tmp_path / ".lock-m").exists()  # re-entrant within a process
    assert not (tmp_path / ".lock-m").exists()


def test_a_second_batch_on_one_folder_is_refused_and_an_unwritable_one_is_one_error(tmp_path):
    from mer.batch.store import locked
    from mer.errors import BatchError

    with locked(tmp_path / "out"):
        with pytest.raises(BatchError, match="Another batch is writing"):
            with locked(tmp_path / "out"):
                pass
    with locked(tmp_path / "out"):  # released
        pass
    (tmp_path / "file").write_text("not a folder")
    with pytest.raises(BatchError, match="Cannot write to the output folder"):
        with locked(tmp_path / "file" / "out"):
            pass


@pytest.mark.parametrize("section,change,message", [
    ("model", {"conv_channels": [100000, 100000]}, "conv_channels must be between"),
    ("model", {"lstm_hidden": 100000}, "lstm_hidden must be between"),
    ("model", {"lstm_hidden": 2048, "lstm_layers": 8, "conv_channels": [1024] * 8}, "weights"),
    ("model", {"conv_channels": [-5]}, "conv_channels"),
    ("model", {"embedding": "wide"}, "embedding must be a whole number"),
    ("audio", {"sample_rate": 0}, "sample_rate must be between"),
    ("features", {"hop_length": 0}, "hop_length must be between"),
    ("features", {"n_segments": 0}, "n_segments must be between"),
    (None, {"members": 1000000}, "1 to 50 networks"),
])
def test_an_absurd_config_is_refused_before_anything_is_built(tmp_path, section, change, message):
    path = _save(tmp_path, "m", seed=0)
    meta = json.loads((path / "config.json").read_text())
    (meta[section] if section else meta).update(change)
    (path / "config.json").write_text(json.dumps(meta))
    with pytest.raises(ModelError, match=message):
        load_model(path)


def test_a_broken_active_model_falls_back_with_its_reason_and_activation_stays_inside(tmp_path, capsys,
                                                                                      monkeypatch):
    _save(tmp_path, "default", seed=0)
    bad = _save(tmp_path, "bad", seed=1)
    meta = json.loads((bad / "config.json").read_text())
    meta["model"]["lstm_hidden"] = 100000
    (bad / "config.json").write_text(json.dumps(meta))
    (tmp_path / "active.json").write_text(json.dumps({"name": "bad"}))
    model = load_active(tmp_path)
    assert model.name == "default" and "lstm_hidden must be between" in model.fallback_reason
    with pytest.raises(ModelError, match="lstm_hidden"):
        set_active("bad", tmp_path)
    outside = tmp_path.parent / f"{tmp_path.name}-outside"
    shutil.copytree(tmp_path / "default", outside / "evil")
    monkeypatch.setenv("MER_MODELS_DIR", str(tmp_path))
    for name in (f"../{outside.name}/evil", str(outside / "evil"), ".", ".."):
        assert main(["models", "--activate", name]) == 2
    assert "not a model name" in capsys.readouterr().err
    (tmp_path / "active.json").write_text(json.dumps({"name": f"../{outside.name}/evil"}))  # written by hand
    model = load_active(tmp_path)
    assert model.name == "default" and "not a model name" in model.fallback_reason


def test_cli_settings_out_of_range_are_one_error_line(capsys, tmp_path):
    for flags in (["--conv-channels=-3"], ["--embedding", "0"], ["--cv-folds", "1"], ["--lr", "5"]):
        assert main(["train", "--root", str(tmp_path), "--out", str(tmp_path / "m"), *flags]) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 4 and all(line.startswith("error: Invalid") for line in lines)


def test_output_dir_rules(tmp_path):
    files.check_output_dir(tmp_path / "new", markers=("m",), what="x")  # a new folder is fine
    (tmp_path / "empty").mkdir()
    files.check_output_dir(tmp_path / "empty", markers=("m",), what="x")
    with pytest.raises(OutputFolderError, match="home folder"):
        files.check_output_dir(Path.home(), markers=(), what="x")
    with pytest.raises(OutputFolderError, match="root"):
        files.check_output_dir(Path("/"), markers=(), what="x")
    (tmp_path / "link").symlink_to(tmp_path / "empty")
    with pytest.raises(OutputFolderError, match="a file or a link"):
        files.check_output_dir(tmp_path / "link", markers=(), what="x")


def test_train_replace_on_a_folder_that_is_not_a_model_is_one_error_line(tmp_path, capsys):
    folder = tmp_path / "results"
    folder.mkdir()
    (folder / "thesis.txt").write_text("mine")
    assert main(["train", "--root", str(tmp_path), "--out", str(folder), "--replace"]) == 2
    assert "thesis.txt" in capsys.readouterr().err and (folder / "thesis.txt").read_text() == "mine"


def test_batch_never_writes_into_a_folder_holding_someone_elses_tables(tmp_path, capsys):
    for name in ("tracks.csv", "tracks.parquet"):
        folder = tmp_path / name.replace(".", "-")
        folder.mkdir()
        (folder / name).write_text("mine")
        assert main(["batch", str(tmp_path), "--out", str(folder), "--csv"]) == 2
        assert (folder / name).read_text() == "mine"
    err = capsys.readouterr().err
    assert err.count("error:") == 2 and "did not write (tracks.parquet)" in err and "Traceback" not in err


# --- JSON from anyone: size and depth limits ------------------------------------------------------------------

_DEEP = "[" * 100_000 + "]" * 100_000


def test_json_nested_past_the_limit_is_refused_before_parsing_and_strings_do_not_count(monkeypatch):
    import json
    import types

    from mer.errors import MerError

    def parse(raw):
        parsed.append(len(raw))
        return json.loads(raw)

    parsed: list[int] = []
    monkeypatch.setattr(files, "json", types.SimpleNamespace(loads=parse))
    with pytest.raises(ModelError, match=r"nested too deeply .*100000 levels; at most 64"):
        files.loads_json(_DEEP, what="'x.json'", error=ModelError)
    assert parsed == []  # refused by the depth count: the parser (which would recurse 100,000 deep) never saw it
    nested = files.loads_json("[" * 64 + "]" * 64, what="x")  # at the limit: parsed
    for _ in range(63):
        nested = nested[0]
    assert nested == []
    assert files._json_depth(("[" * 64 + "]" * 64).encode()) == 64
    with pytest.raises(MerError, match="65 levels"):
        files.loads_json("[" * 65 + "]" * 65, what="x")
    text = json.dumps({"name": "[{" * 1000 + '\\"' + "]" * 3, "tags": [["a"]]})
    assert files._json_depth(text.encode()) == 3  # the object, the list and the list inside it
    assert files.loads_json(text, what="x")["tags"] == [["a"]]


def test_json_too_large_or_not_json_is_the_callers_error(tmp_path):
    from mer.errors import DataError

    with pytest.raises(DataError, match=r"too large .*101 bytes; at most 100"):
        files.loads_json(b"[" + b"1," * 49 + b"1]", what="x", max_bytes=100, error=DataError)
    assert len(files.loads_json(b"[" + b"1," * 48 + b"1]", what="x", max_bytes=100)) == 49  # 99 bytes
    for bad in (b"{", b"\xff\xfe{}", b"NaN]"):
        with pytest.raises(DataError, match="not valid JSON"):
            files.loads_json(bad, what="x", error=DataError)
    big = tmp_path / "big.json"
    big.write_text("[" + "0," * 10_000 + "0]")
    with pytest.raises(DataError, match="too large"):
        files.read_json(big, max_bytes=1000, error=DataError)
    with pytest.raises(FileNotFoundError):
        files.read_json(tmp_path / "missing.json")


def test_a_deeply_nested_model_config_is_listed_as_broken_and_hides_no_model(tmp_path, monkeypatch, capsys):
    from mer.registry import list_models

    monkeypatch.setenv("MER_MODELS_DIR", str(tmp_path))
    _save(tmp_path, "good", seed=0)
    _save(tmp_path, "deep", seed=1)
    (tmp_path / "deep" / "config.json").write_text(_DEEP)
    _save(tmp_path, "wrong", seed=2)
    (tmp_path / "wrong" / "config.json").write_text(json.dumps({"model": {"lstm_layers": 99}}))
    models = {m.name: m for m in list_models(tmp_path)}
    assert set(models) == {"good", "deep", "wrong"} and models["good"].broken is None
    assert "nested too deeply" in models["deep"].broken and "lstm_layers" in models["wrong"].broken
    assert main(["models"]) == 0
    out = capsys.readouterr().out
    assert "  good " in out and "! deep" in out and "broken:" in out
    for argv in (["models", "--activate", "deep"], ["card", "--model", str(tmp_path / "deep")]):
        assert main(argv) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and err[0].startswith("error: ") and "nested too deeply" in err[0]
    (tmp_path / "active.json").write_text(_DEEP)  # the pointer itself: the bundled fallback, no traceback
    assert main(["models"]) == 0


def test_job_and_run_files_nested_too_deeply_are_no_crash(tmp_path):
    from mer.errors import TrainingError
    from mer.registry import load_ladder
    from mer.run_config import read_run_config
    from mer.training.job import job_status

    (tmp_path / ".jobs").mkdir()
    (tmp_path / ".jobs" / "job.json").write_text(_DEEP)
    assert job_status(tmp_path).state == "idle"
    (tmp_path / "run.json").write_text(_DEEP)
    with pytest.raises(TrainingError, match="nested too deeply"):
        read_run_config(tmp_path / "run.json")
    assert load_ladder(tmp_path / "run.json") is None
