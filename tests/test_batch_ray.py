"""The Ray engine with Ray's token authentication: a local Ray run, then the README's `ray start` cluster in the
same home (which then wants the token the local run left), both giving the local engine's tables."""

from __future__ import annotations

import importlib.util
import os
import shutil
import socket
import subprocess
import sys
import tempfile
from pathlib import Path
from types import SimpleNamespace

import pandas as pd
import pytest

from mer.batch import BatchError, run_batch
from mer.cli import main

from .test_batch import write_library

HAVE_RAY = importlib.util.find_spec("ray") is not None  # not imported here: only the worker running this file pays

if not HAVE_RAY and not os.environ.get("CI"):  # in CI, .ci/run installs requirements-ray.txt: it must run
    pytest.skip("Ray is not installed (pip install -r requirements-ray.txt)", allow_module_level=True)

#: Ray reads its auth settings from these and from ~/.ray/auth_token: the tests get a home of their own and none
#: of the machine's settings, so a token left on this machine cannot decide whether they pass.
AUTH_VARS = ("RAY_AUTH_MODE", "RAY_AUTH_TOKEN", "RAY_AUTH_TOKEN_PATH")
# A one-machine cluster keeps every server on the loopback interface with this setting.
SETTINGS = {"RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0", "RAY_USAGE_STATS_ENABLED": "0"}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _ray(*args: str, env: dict[str, str], timeout: float) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "ray.scripts.scripts", *args], capture_output=True, text=True,
                          timeout=timeout, env=env)


def _stop_in_background(env: dict[str, str], temp: str) -> None:
    """``ray stop --force`` (6 s, nearly all of it waiting) while this worker goes on with other tests; this
    process waits for it, and removes the cluster's folder, before it exits."""
    import atexit

    stopper = subprocess.Popen([sys.executable, "-m", "ray.scripts.scripts", "stop", "--force"], env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def finish() -> None:
        try:
            stopper.wait(timeout=60)
        except subprocess.TimeoutExpired:
            stopper.kill()
        shutil.rmtree(temp, ignore_errors=True)

    atexit.register(finish)


def _batch(lib: Path, out: Path, model: str, *extra: str) -> tuple[int, str]:
    """``python -m mer batch`` in this process (a Ray driver like the command's own process): status, stderr."""
    import contextlib
    import io

    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        code = main(["batch", str(lib), "--out", str(out), "--model", model, "--no-progress", "--chunk-size", "2",
                     "--engine", "ray", *extra])
    return code, err.getvalue()


@pytest.fixture(scope="module")
def recipe(tiny_models, tmp_path_factory):
    """The issue's sequence in a fresh home: a local Ray run (``--engine ray``, no address), then
    ``ray start --head --node-ip-address=127.0.0.1 --port=P --num-cpus=2`` in the same home; ``ray stop``
    afterwards, whatever happens."""
    tmp = tmp_path_factory.mktemp("ray")
    home = tmp / "home"
    home.mkdir()
    lib = write_library(tmp / "lib", 4, bad=("text.mp3",))
    model = str(tiny_models / "default")
    temp = tempfile.mkdtemp(prefix="mer-ray-", dir="/tmp")  # short: Ray's socket paths have a length limit
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if k not in AUTH_VARS} | SETTINGS | {"HOME": str(home)}
    with pytest.MonkeyPatch.context() as mp:
        for name in AUTH_VARS:
            mp.delenv(name, raising=False)
        for name, value in (SETTINGS | {"HOME": str(home)}).items():
            mp.setenv(name, value)
        try:
            local_ray = _batch(lib, tmp / "local-ray", model, "--workers", "1")  # the cluster's run has two
            started = _ray("start", "--head", "--node-ip-address=127.0.0.1", f"--port={port}", "--num-cpus=2",
                           "--include-dashboard=false", "--disable-usage-stats", f"--temp-dir={temp}", env=env,
                           timeout=120)
            assert started.returncode == 0, started.stderr[-2000:]
            yield SimpleNamespace(lib=lib, model=model, home=home, tmp=tmp, address=f"127.0.0.1:{port}",
                                  local_ray=local_ray, ray_start=started.stdout + started.stderr)
        finally:
            _stop_in_background(env, temp)


def _assert_same_tables(a_dir: Path, b_dir: Path) -> None:
    for table, keys in (("tracks", ["path"]), ("segments", ["path", "segment"])):
        a = pd.read_parquet(a_dir / f"{table}.parquet").sort_values(keys, ignore_index=True)
        b = pd.read_parquet(b_dir / f"{table}.parquet").sort_values(keys, ignore_index=True)
        pd.testing.assert_frame_equal(a, b, check_exact=True)  # byte-identical probabilities
    assert len(a) == 80


@pytest.fixture(scope="module")
def local_engine(recipe) -> Path:
    """The local engine's tables (one worker, in this process): what every Ray run must reproduce."""
    run_batch([recipe.lib], recipe.tmp / "local", model=recipe.model, workers=1, chunk_size=2)
    return recipe.tmp / "local"


def test_a_local_ray_run_leaves_a_token_and_gives_the_local_engines_tables(recipe, local_engine):
    code, err = recipe.local_ray
    assert code == 0 and "4 analysed, 0 skipped, 1 failed" in err and "ray engine" in err, err
    assert len((recipe.home / ".ray" / "auth_token").read_text().strip()) >= 32  # Ray's default, in this home
    assert "Token authentication is enabled" in recipe.ray_start  # so `ray start` now wants that token
    _assert_same_tables(local_engine, recipe.tmp / "local-ray")


def test_the_readme_cluster_recipe_works_after_a_local_ray_run_and_resumes(recipe, local_engine):
    code, err = _batch(recipe.lib, recipe.tmp / "cluster", recipe.model, "--address", recipe.address)
    assert code == 0 and "4 analysed, 0 skipped, 1 failed" in err and "ray engine" in err, err
    _assert_same_tables(local_engine, recipe.tmp / "cluster")
    assert "RAY_AUTH_MODE" not in os.environ  # the driver's switch to token mode ends with the run
    code, err = _batch(recipe.lib, recipe.tmp / "cluster", recipe.model, "--address", recipe.address)
    assert code == 0 and "0 analysed, 5 skipped, 0 failed" in err, err


@pytest.mark.parametrize("env, words", [
    ({"HOME": "EMPTY"}, ["uses token authentication and this machine has no token", "~/.ray/auth_token",
                         "RAY_AUTH_TOKEN"]),
    ({"RAY_AUTH_TOKEN": "not-the-token"}, ["refused this machine's auth token (from RAY_AUTH_TOKEN)",
                                           "ray get-auth-token"]),
    ({"RAY_AUTH_MODE": "disabled"}, ["uses token authentication, and RAY_AUTH_MODE=disabled here sends no token",
                                     "unset RAY_AUTH_MODE"]),
])
def test_a_driver_without_the_clusters_token_is_told_where_to_put_it(recipe, tmp_path, monkeypatch, env, words):
    for name, value in env.items():
        monkeypatch.setenv(name, str(tmp_path) if value == "EMPTY" else value)
    with pytest.raises(BatchError) as e:
        run_batch([recipe.lib], tmp_path / "out", model=recipe.model, engine="ray", address=recipe.address)
    for w in words:
        assert w in str(e.value)
    assert not (tmp_path / "out" / "tracks.parquet").exists()


def test_an_address_where_nothing_listens_fails_at_once_with_the_way_on(recipe, tmp_path):
    with pytest.raises(BatchError, match=r"Cannot connect to the Ray cluster at '127\.0\.0\.1:\d+' .*ray start --head"):
        run_batch([recipe.lib], tmp_path / "out", model=recipe.model, engine="ray",
                  address=f"127.0.0.1:{_free_port()}")
    with pytest.raises(BatchError, match="HOST:PORT"):
        run_batch([recipe.lib], tmp_path / "out", model=recipe.model, engine="ray", address="head-node")
