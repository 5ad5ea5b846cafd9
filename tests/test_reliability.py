"""Abuse: bad input through the CLI, faults during training, concurrency, and security checks."""

from __future__ import annotations

import concurrent.futures
import os
import shutil
import signal
import subprocess
import sys
import tomllib
from pathlib import Path

import numpy as np
import pytest

from mer.analyze import analyze
from mer.audio.decode import load_audio
from mer.cli import main
from mer.config import AudioConfig, DatasetInfo
from mer.errors import ModelError, TooLongError
from mer.model_files import load_model
from mer.registry import list_models, load_active

from .helpers import BAD_FILES, encode, tone

ROOT = Path(__file__).resolve().parent.parent


def run(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "mer", *args], capture_output=True, text=True, timeout=300,
                          env={**os.environ, **(env or {})})


@pytest.mark.parametrize("name", sorted(BAD_FILES))
def test_every_bad_file_is_one_error_line_from_the_cli(tiny_models, tmp_path, name, capsys):
    data, needle = BAD_FILES[name]
    path = tmp_path / name
    path.write_bytes(data)
    assert main(["analyze", str(path), "--model", str(tiny_models / "default")]) == 2
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert captured.out == "" and len(lines) == 1 and lines[0].startswith("error:") and needle in lines[0], lines


def test_a_bad_file_in_a_real_process_exits_2_with_only_the_error_line(tiny_models, tmp_path):
    path = tmp_path / "text.mp3"
    path.write_bytes(BAD_FILES["text.mp3"][0])
    res = run("analyze", str(path), "--model", str(tiny_models / "default"))
    assert res.returncode == 2 and res.stdout == ""
    assert res.stderr.strip().splitlines() == [res.stderr.strip()] and res.stderr.startswith("error:")


def test_a_21_minute_file_is_refused_before_decoding(tmp_path, monkeypatch):
    from mer.audio import decode

    path = tmp_path / "long.wav"
    path.write_bytes(encode(tone(21 * 60.0, sr=8_000, amp=0.1), 8_000, "WAV"))
    decoded = []
    monkeypatch.setattr(decode, "_decode", lambda *a, **k: decoded.append(a) or pytest.fail("decoded"))
    with pytest.raises(TooLongError, match="21.0 min.*20.0 min"):
        load_audio(path)
    assert decoded == []  # refused from the header alone


def test_upload_limit_fits_the_longest_accepted_track():
    config = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())
    limit_mb = config["server"]["maxUploadSize"]
    longest_wav_mb = AudioConfig().max_duration_s * 44_100 * 2 * 2 / 1e6  # 16-bit stereo CD audio
    assert longest_wav_mb < limit_mb < 2 * longest_wav_mb
    assert config["browser"]["gatherUsageStats"] is False


#: Killing and cancelling are about the training loop, not the front-end: the log-mel front-end trains on the
#: tiny corpus's cached features at once, where MusiCNN would first embed its 36 tracks.
LOGMEL_FLAGS = ("--front-end", "logmel", "--conv-channels", "32,32", "--embedding", "32", "--lstm-hidden", "16")


def test_kill_9_mid_training_leaves_the_active_model_working(tiny_models, tiny_corpus, tmp_path, write_audio):
    models = tmp_path / "models"
    shutil.copytree(tiny_models, models)
    clip = write_audio("c.wav", tone(15.0, freq=700.0), 22_050)
    before = analyze(clip, model=load_active(models)).probabilities
    proc = subprocess.Popen([sys.executable, "-m", "mer", "train", "--root", str(tiny_corpus), "--out",
                             str(models / "killed"), "--epochs", "50", "--progress-json", *LOGMEL_FLAGS],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
                            env={**os.environ, "MER_MODELS_DIR": str(models)})
    for line in proc.stdout:  # wait until it is inside an epoch loop
        if '"event": "epoch"' in line:
            break
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    assert [m.name for m in list_models(models)] == ["default"]
    assert not (models / "killed").exists()
    after = analyze(clip, model=load_active(models)).probabilities
    np.testing.assert_array_equal(before, after)


def test_sigterm_cancels_cleanly_with_a_message(tiny_models, tiny_corpus, tmp_path):
    proc = subprocess.Popen([sys.executable, "-m", "mer", "train", "--root", str(tiny_corpus), "--out",
                             str(tmp_path / "m"), "--epochs", "50", "--progress-json", *LOGMEL_FLAGS],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    for line in proc.stdout:
        if '"event": "epoch"' in line:
            break
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130
    assert '"event": "cancelled"' in out and "error: Training was cancelled" in err
    assert not (tmp_path / "m").exists()


def test_a_full_disk_while_saving_gives_a_clear_error(tiny_models, tmp_path, monkeypatch):
    import errno

    import torch

    from mer.config import AudioConfig, FeatureConfig, ModelConfig, TrainConfig
    from mer.model import build_model
    from mer.model_files import save_model

    models = tmp_path / "models"
    shutil.copytree(tiny_models, models)

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(torch, "save", full)
    with pytest.raises(ModelError, match="No space left on device.*active model is unchanged"):
        save_model(build_model(ModelConfig(front_end="logmel"), 64), name="new", root=models, audio_config=AudioConfig(),
                   feature_config=FeatureConfig(), model_config=ModelConfig(front_end="logmel"), train_config=TrainConfig(),
                   dataset=DatasetInfo("test"), metrics={}, card="# new")
    assert sorted(p.name for p in models.iterdir()) == ["default"]
    assert load_model(models / "default").name == "default"


def test_four_concurrent_analyses_match_sequential_ones(tiny_models, write_audio):
    model = load_model(tiny_models / "default")
    paths = [write_audio(f"t{i}.flac", tone(12.0 + i, freq=200.0 * (i + 1)), 22_050) for i in range(4)]
    sequential = [analyze(p, model=model).probabilities for p in paths]
    with concurrent.futures.ThreadPoolExecutor(max_workers=4) as pool:
        concurrent_ = list(pool.map(lambda p: analyze(p, model=model).probabilities, paths))
    for a, b in zip(sequential, concurrent_):
        np.testing.assert_allclose(a, b, atol=1e-6)


def test_uploaded_bytes_never_become_a_path(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    data = encode(tone(11.0), 22_050, "WAV")
    audio = load_audio(data, name="../../etc/evil.wav")
    assert audio.name == "../../etc/evil.wav" and audio.duration_s == pytest.approx(11.0)
    assert list(tmp_path.iterdir()) == []  # nothing written anywhere relative to the name


def _unsafe_loads(source: str) -> list[str]:
    """Each call in ``source`` that could run code from a file: ``torch.load`` without ``weights_only=True``,
    ``pickle.load(s)``, anything given ``allow_pickle=True`` (read from the syntax tree, whatever the nesting)."""
    import ast

    found = []
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.Call):
            continue
        name = ast.unparse(node.func)
        keywords = {k.arg: k.value for k in node.keywords}
        safe = isinstance(keywords.get("weights_only"), ast.Constant) and keywords["weights_only"].value is True
        pickles = isinstance(keywords.get("allow_pickle"), ast.Constant) and keywords["allow_pickle"].value is not False
        if (name == "torch.load" and not safe) or name in ("pickle.load", "pickle.loads") or pickles:
            found.append(ast.unparse(node))
    return found


def test_the_unsafe_load_check_reads_nested_calls():
    lines = (Path(__file__).parent / "fixtures" / "unsafe_loads.txt").read_text().splitlines()
    cases = [(code, want.removeprefix("# reports: ")) for code, want in zip(lines[2::2], lines[3::2])]
    assert len(cases) == 6
    for code, want in cases:
        assert _unsafe_loads(code) == ([] if want == "none" else [want]), code
    assert len(_unsafe_loads("\n".join(code for code, _ in cases))) == 4  # one source, every call found


def test_no_unsafe_deserialisation_in_the_code():
    files = [*ROOT.glob("mer/**/*.py"), *ROOT.glob("pages/*.py"), ROOT / "app.py", ROOT / "ui.py",
             *ROOT.glob("benchmarks/*.py")]
    assert len(files) > 15 and any(f.parent.name == "batch" for f in files)  # the subpackages too
    found = {f.name: calls for f in files if (calls := _unsafe_loads(f.read_text()))}
    assert not found
