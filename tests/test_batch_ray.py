"""The Ray engine on a local two-worker cluster (bound to 127.0.0.1): same tables as the local engine."""

from __future__ import annotations

import importlib.util
import os
import shutil
import socket
import subprocess
import sys
import tempfile

import pandas as pd
import pytest

from mer.batch import run_batch
from mer.cli import main

from .test_batch import write_library

HAVE_RAY = importlib.util.find_spec("ray") is not None  # not imported here: only the worker running this file pays

if not HAVE_RAY and not os.environ.get("CI"):  # in CI, .ci/run installs requirements-ray.txt: it must run
    pytest.skip("Ray is not installed (pip install -r requirements-ray.txt)", allow_module_level=True)

# A one-machine cluster keeps every server on the loopback interface with this setting. The cluster and the
# driver get a home of their own: Ray keeps an auth token in ~/.ray, and one left by an earlier run on this
# machine must not decide whether the tests pass.
HOME = tempfile.mkdtemp(prefix="mer-ray-home-")
RAY_ENV = {**os.environ, "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0", "RAY_USAGE_STATS_ENABLED": "0", "HOME": HOME}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _ray(*args: str, timeout: float) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "ray.scripts.scripts", *args], capture_output=True, text=True,
                          timeout=timeout, env=RAY_ENV)


@pytest.fixture(scope="module")
def ray_cluster():
    """``ray start --head`` on 127.0.0.1 with two CPUs (two workers); ``ray stop`` afterwards, whatever happens."""
    temp = tempfile.mkdtemp(prefix="mer-ray-", dir="/tmp")  # short: Ray's socket paths have a length limit
    port = _free_port()
    try:
        res = _ray("start", "--head", "--node-ip-address=127.0.0.1", f"--port={port}", "--num-cpus=2",
                   "--include-dashboard=false", "--disable-usage-stats", f"--temp-dir={temp}", timeout=120)
        assert res.returncode == 0, res.stderr[-2000:]
        yield f"127.0.0.1:{port}"
    finally:
        _ray("stop", "--force", timeout=60)
        shutil.rmtree(temp, ignore_errors=True)
        shutil.rmtree(HOME, ignore_errors=True)


def test_the_ray_engine_gives_the_local_engines_tables_and_resumes(ray_cluster, tiny_models, tmp_path, capsys,
                                                                    monkeypatch):
    lib = write_library(tmp_path / "lib", 4, bad=("text.mp3",))
    model = str(tiny_models / "default")
    for name in ("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "RAY_USAGE_STATS_ENABLED", "HOME"):
        monkeypatch.setenv(name, RAY_ENV[name])

    def batch(out: str) -> tuple[int, str]:
        """``mer batch`` on the cluster, in this process (a Ray driver like the command's own process)."""
        capsys.readouterr()
        code = main(["batch", str(lib), "--out", str(tmp_path / out), "--model", model, "--no-progress",
                     "--chunk-size", "2", "--engine", "ray", "--address", ray_cluster])
        return code, capsys.readouterr().err

    run_batch([lib], tmp_path / "local", model=model, workers=1, chunk_size=2)  # in this process, one thread
    code, err = batch("ray")
    assert code == 0 and "4 analysed, 0 skipped, 1 failed" in err and "ray engine" in err, err
    for table, keys in (("tracks", ["path"]), ("segments", ["path", "segment"])):
        a = pd.read_parquet(tmp_path / "local" / f"{table}.parquet").sort_values(keys, ignore_index=True)
        b = pd.read_parquet(tmp_path / "ray" / f"{table}.parquet").sort_values(keys, ignore_index=True)
        pd.testing.assert_frame_equal(a, b, check_exact=True)  # byte-identical probabilities
    assert len(a) == 80
    code, err = batch("ray")
    assert code == 0 and "0 analysed, 5 skipped, 0 failed" in err, err
