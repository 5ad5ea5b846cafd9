"""Fixtures: audio the tests write themselves, in every accepted format."""

from __future__ import annotations

import functools
import http.server
import io
import os
import shutil
import threading
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

if os.environ.get("PYTEST_XDIST_WORKER"):
    # Parallel test workers share the cores: torch's and BLAS's thread pools (which spin while they wait)
    # would oversubscribe them many times over. One thread each, for this process and what it starts.
    for _var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        os.environ[_var] = "1"


def tone(seconds: float, sr: int = 22_050, freq: float = 440.0, amp: float = 0.5, channels: int = 1) -> np.ndarray:
    """A sine (with a little noise so it is not pathological), shape (n,) or (n, channels)."""
    rng = np.random.default_rng(0)
    t = np.arange(int(round(seconds * sr))) / sr
    y = amp * (np.sin(2 * np.pi * freq * t) + 0.002 * rng.standard_normal(len(t)))
    y = y.astype(np.float32)
    if channels == 1:
        return y
    return np.stack([y * (1 - 0.1 * c) for c in range(channels)], axis=1)


def encode(y: np.ndarray, sr: int, fmt: str, subtype: str | None = None) -> bytes:
    buf = io.BytesIO()
    sf.write(buf, y, sr, format=fmt, subtype=subtype)
    return buf.getvalue()


def _nan_wav() -> bytes:
    y = tone(12.0)
    y[100:200] = np.nan
    return encode(y, 22_050, "WAV", "FLOAT")


#: Bad inputs with the words their error message must contain (library, CLI and app tests share them).
BAD_FILES = {
    "empty.wav": (b"", "empty"),
    "text.mp3": (b"definitely not audio\n" * 50, "not an audio file"),
    "truncated.flac": (encode(tone(12.0), 22_050, "FLAC")[:30_000], "damaged"),
    "clip.wav": (encode(tone(0.5), 22_050, "WAV"), "too short"),
    "silence.wav": (encode(np.zeros(22_050 * 30, dtype=np.float32), 22_050, "WAV"), "silent"),
    "nan.wav": (_nan_wav(), "invalid samples"),
    "hollow.wav": (encode(np.zeros(0, dtype=np.float32), 22_050, "WAV"), "no audio samples"),
}



@pytest.fixture
def write_audio(tmp_path: Path):
    """Write audio to tmp_path; returns the path."""

    def _write(name: str, y: np.ndarray, sr: int, subtype: str | None = None) -> Path:
        path = tmp_path / name
        sf.write(path, y, sr, subtype=subtype)
        return path

    return _write


#: Files that start servers or processes come early, so that with several workers the long files start first
#: and the workers finish together (pytest-xdist hands out whole files in this order); right behind the first,
#: files that need no trained model keep a second worker busy while the first trains the tiny one.
SLOW_FILES_FIRST = ("test_browser.py", "test_audio.py", "test_cli_spectra.py", "test_segments_features.py",
                    "test_ladder.py", "test_batch_ray.py", "test_batch.py", "test_library.py", "test_reliability.py",
                    "test_jobs.py", "test_app.py", "test_train.py", "test_cli.py", "test_registry.py", "test_analyze.py",
                    "test_fine_tune.py")


def pytest_collection_modifyitems(items) -> None:
    rank = {name: i for i, name in enumerate(SLOW_FILES_FIRST)}
    items.sort(key=lambda item: rank.get(item.path.name, len(rank)))  # stable: the order within a file is kept


def pytest_xdist_auto_num_workers(config) -> int:
    """``-n auto``: a worker per core, at most 4 (each holds torch, a model and a Streamlit runtime)."""
    from mer.pool import default_workers

    return default_workers(limit=4)


@pytest.fixture(scope="session", autouse=True)
def _components_scanned_once():
    """Scan the installed packages for Streamlit components once per session, as a server does once per start.

    Every ``AppTest.run`` of a fresh AppTest rescans all ~570 installed distributions (~0.7 s each time);
    the packages cannot change during a test session.
    """
    from streamlit.components.v2 import manifest_scanner

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(manifest_scanner, "scan_component_manifests",
                   functools.cache(manifest_scanner.scan_component_manifests))
        yield


@pytest.fixture(scope="session", autouse=True)
def _isolated_data_dir(tmp_path_factory):
    """Feature caches and the demo corpus of the tests live in a temporary folder, never in the repo."""
    path = tmp_path_factory.mktemp("mer-data")
    old = os.environ.get("MER_DATA_DIR")
    os.environ["MER_DATA_DIR"] = str(path)
    yield path
    if old is None:
        os.environ.pop("MER_DATA_DIR", None)
    else:
        os.environ["MER_DATA_DIR"] = old


def _built_once(tmp_path_factory, name: str, build) -> Path:
    """``build(path)`` once per test run, shared by every pytest-xdist worker (the first one builds, under a lock)."""
    from filelock import FileLock  # a dependency of torch

    root = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        root = root.parent  # the workers' temporary folders share this parent
    path, done = root / name, root / f"{name}.done"
    with FileLock(str(root / f"{name}.lock")):
        if not done.exists():
            shutil.rmtree(path, ignore_errors=True)  # what a crashed worker left
            build(path)
            done.touch()
    return path


@pytest.fixture(scope="session")
def tiny_corpus(tmp_path_factory) -> Path:
    """36 synthetic tracks of 10.5 s in Emotify's layout (generated once per test run)."""
    from mer.demo import DemoConfig, generate_demo_corpus

    return _built_once(tmp_path_factory, "tiny-corpus",
                       lambda path: generate_demo_corpus(path, DemoConfig(tracks=36, seconds=10.5, seed=1)))


#: A valid value other than the default for every setting, the cheap side of it where there is one (the Train
#: page test's job trains five networks with them); a new field must be added here to pass.
TRAIN = dict(epochs=1, lr=0.002, batch_size=32, weight_decay=0.002, target="dominant", segment_weight=0.5,
             segment_target="dominant", genre_weight=0.2, sampler="random", k_neighbors=3, class_weighted=True,
             mixup=0.2, fine_tune_lr=0.0005, track_weights="responses", augment=False,
             val_fraction=0.2, patience=3, lr_patience=1, lr_factor=0.3, seed=7, cv_folds=2, ladder=True, ship="all")
MODEL = dict(front_end="logmel", time_pool=8, conv_channels=(32, 32), embedding=32, lstm_hidden=16, lstm_layers=2, bidirectional=False,
             dropout=0.2, track_statistics=False)
#: Settings MODEL leaves at their defaults because they need the front-end it changes away from (fine-tuning
#: needs MusiCNN); tests/test_app.py checks their inputs on their own.
DEPENDENT = {"fine_tune"}


TINY_TRAIN = dict(epochs=2, batch_size=8, seed=0, patience=5, cv_folds=2)
#: The bundled architecture at a third of its width: the same layers, quick to train and to run in every test.
TINY_MODEL = dict(front_end="logmel", conv_channels=(32, 32), embedding=32, lstm_hidden=16)


@pytest.fixture(scope="session")
def tiny_models(tmp_path_factory, tiny_corpus) -> Path:
    """A models folder whose 'default' is a CNN-LSTM trained for 2 epochs on the tiny corpus."""
    from mer.config import ModelConfig, TrainConfig
    from mer.train import train

    return _built_once(tmp_path_factory, "tiny-models",
                       lambda path: train(tiny_corpus, config=TrainConfig(**TINY_TRAIN),
                                          model_config=ModelConfig(**TINY_MODEL), out=path / "default"))


class _Handler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):  # keep test output clean
        pass


@pytest.fixture
def local_server(tmp_path):
    """Serve tmp_path/site on 127.0.0.1 (never the internet)."""
    site = tmp_path / "site"
    site.mkdir()
    handler = lambda *a, **k: _Handler(*a, directory=str(site), **k)  # noqa: E731
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield site, f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()


def separable(n: int = 40, seed: int = 0, frames: int = 32):
    """:class:`~mer.dataset.TrackData` of tracks of two emotions that differ in which mel bands are loud, plus noise: learnable by any sane model.

    Windows of 32 frames instead of the 126 a real segment has: the network takes any length, and the tests
    that train on these run four times faster.
    """
    rng = np.random.default_rng(seed)
    labels = np.array([4, 6] * (n // 2))  # calmness, joyful activation
    X = rng.normal(-50, 6, size=(n, 20, 64, frames)).astype(np.float16)
    X[labels == 4, :, :20] += 15  # calm tracks: loud low bands
    X[labels == 6, :, 40:] += 15  # joyful tracks: loud high bands
    shares = np.full((n, 9), 0.1)
    shares[np.arange(n), labels] = 0.6
    from mer.dataset import TrackData

    return TrackData(X=X, labels=labels, shares=shares, genre=np.arange(n) % 4, track_id=np.arange(1, n + 1))
