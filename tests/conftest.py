"""Fixtures: audio the tests write themselves, in every accepted format."""

from __future__ import annotations

import functools
import http.server
import os
import shutil
import threading
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from .helpers import TINY_MODEL, TINY_TRAIN

if os.environ.get("PYTEST_XDIST_WORKER"):
    # Parallel test workers share the cores: torch's and BLAS's thread pools (which spin while they wait)
    # would oversubscribe them many times over. One thread each, for this process and what it starts.
    for _var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        os.environ[_var] = "1"


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
SLOW_FILES_FIRST = ("test_browser.py", "test_audio_decode.py", "test_cli_analyze.py", "test_audio_features.py",
                    "test_ladder.py", "test_batch_ray.py", "test_batch.py", "test_batch_library.py", "test_reliability.py",
                    "test_training_job.py", "test_training_valence.py", "test_library_scale.py", "test_batch_job.py",
                    "test_app.py", "test_emotify.py", "test_fetch.py", "test_train.py", "test_cli.py", "test_registry.py",
                    "test_model_files.py", "test_analyze.py", "test_fine_tune.py")


#: Files whose tests start browsers, clusters or processes, or train: ``python -m pytest -m "not slow"`` leaves them
#: out for a quick inner loop (CI runs everything). A file that also holds cheap tests marks its slow ones
#: ``@pytest.mark.slow`` instead (test_app, test_batch_library, test_library_scale, test_docs, test_threads,
#: test_training_valence), so that the quick loop still tests each module somewhere.
SLOW_FILES = ("test_browser.py", "test_batch_ray.py", "test_reliability.py", "test_ladder.py", "test_fine_tune.py",
              "test_batch.py", "test_training_job.py", "test_batch_job.py")


def pytest_collection_modifyitems(items) -> None:
    rank = {name: i for i, name in enumerate(SLOW_FILES_FIRST)}
    items.sort(key=lambda item: rank.get(item.path.name, len(rank)))  # stable: the order within a file is kept
    for item in items:
        if item.path.name in SLOW_FILES:
            item.add_marker(pytest.mark.slow)


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
    from mer.data.demo import DemoConfig, generate_demo_corpus

    return _built_once(tmp_path_factory, "tiny-corpus",
                       lambda path: generate_demo_corpus(path, DemoConfig(tracks=36, seconds=10.5, seed=1)))


@pytest.fixture(scope="session")
def tiny_models(tmp_path_factory, tiny_corpus) -> Path:
    """A models folder whose 'default' is a CNN-LSTM trained for 2 epochs on the tiny corpus."""
    from mer.config import ModelConfig, TrainConfig
    from mer.training.train import train

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




@pytest.fixture(scope="session")
def va_model(tmp_path_factory) -> Path:
    """A MusiCNN CNN-LSTM trained briefly on 120 bundled Emotify tracks, with a valence–arousal head fitted on a
    third of the bundled 4Q clips (one C, no cross-validation: the recipe's evaluation is tested on its own)."""
    import dataclasses

    import numpy as np

    from mer.config import AudioConfig, DatasetInfo, FeatureConfig, ModelConfig, TrainConfig, VAConfig
    from mer.data.embedded import bundled_track_data
    from mer.data.fourq import load_fourq
    from mer.model_files import save_model
    from mer.training.train import fit
    from mer.training.valence import fit_head

    data = bundled_track_data()
    keep = np.arange(120)
    data = dataclasses.replace(data, X=data.X[keep], labels=data.labels[keep], shares=data.shares[keep],
                               genre=data.genre[keep], track_id=data.track_id[keep], summary=data.summary[keep])
    config, model_config = TrainConfig(epochs=2, cv_folds=0, ship="all"), ModelConfig(embedding=16, lstm_hidden=8)
    res = fit(data, np.arange(100), np.arange(100, 120), config, model_config)
    va_config = VAConfig(c_min=0.01, c_max=0.01, c_steps=1)
    head, _ = fit_head(load_fourq(va_config.layers), va_config, np.arange(0, 449, 3))  # a third of 4Q: quicker
    root = tmp_path_factory.mktemp("va-models")
    return save_model(res.net, name="va", root=root, audio_config=AudioConfig(), feature_config=FeatureConfig(),
                      model_config=model_config, train_config=config, dataset=DatasetInfo("120 tracks"),
                      metrics={}, card="", va=(head, va_config))


@pytest.fixture
def fresh_data(tmp_path, monkeypatch) -> Path:
    """A data folder of its own: no batch in it yet, as on a fresh start."""
    data = tmp_path / "data"
    data.mkdir()
    monkeypatch.setenv("MER_DATA_DIR", str(data))
    monkeypatch.delenv("MER_LIBRARY_ROOTS", raising=False)
    return data
