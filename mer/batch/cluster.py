"""The Ray engine: connect to a cluster (or start a local one) with the right authentication, and analyse on
actors that each hold one model.

Ray 2.60 has token authentication. A local ``ray.init()`` turns it on and writes a token to
``~/.ray/auth_token`` when there is none; ``ray start --head`` turns it on whenever this machine has a token
(``RAY_AUTH_TOKEN``, the file ``RAY_AUTH_TOKEN_PATH`` names, or ``~/.ray/auth_token``); a driver that joins a
cluster by its address sends a token only when ``RAY_AUTH_MODE=token``. So after one local run, the
README's ``ray start`` recipe gives a cluster that wants the token while ``ray.init(address=...)`` sends none.
:func:`join_mode` asks the cluster first, without a token, and joins in the mode it uses (``RAY_AUTH_MODE``,
when the user set it, wins), checking the token before Ray gets the address.
"""

from __future__ import annotations

import os
import socket
import tempfile
from pathlib import Path
from typing import Any, Iterable, Iterator

from ..errors import BatchError
from ..pool import default_workers
from .inputs import FileRef
from .worker import TrackResult, analyze_ref, single_thread

__all__ = ["AUTH_MODES", "auth_token_source", "join_mode", "connect", "ray_results"]

#: The values of Ray's ``RAY_AUTH_MODE`` mer deals with.
AUTH_MODES: tuple[str, ...] = ("disabled", "token")

_TOKEN_REMEDY = ("Give this machine the cluster's token: copy the head node's ~/.ray/auth_token (print it there "
                 "with `ray get-auth-token`) to ~/.ray/auth_token here, or set RAY_AUTH_TOKEN to it, or "
                 "RAY_AUTH_TOKEN_PATH to a file holding it.")


def auth_token_source() -> str | None:
    """Where Ray would read this machine's auth token from, in Ray's order; ``None`` when there is none.

    Returns
    -------
    str or None
        ``"RAY_AUTH_TOKEN"``, the file ``RAY_AUTH_TOKEN_PATH`` names, or ``~/.ray/auth_token`` (expanded).
    """
    if os.environ.get("RAY_AUTH_TOKEN", "").strip():
        return "RAY_AUTH_TOKEN"
    named = os.environ.get("RAY_AUTH_TOKEN_PATH")
    path = Path(named).expanduser() if named else Path.home() / ".ray" / "auth_token"
    try:
        return str(path) if path.read_text().strip() else None
    except OSError:
        return None


def _split_address(address: str) -> tuple[str, int]:
    host, sep, port = address.strip().rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise BatchError(f"--address takes HOST:PORT of the head node's GCS (the --port of `ray start --head`, "
                         f"6379 by default), got '{address}'.")
    return host.strip("[]"), int(port)


def _reachable(address: str, timeout: float = 5.0) -> None:
    """Raise a :class:`BatchError` at once when nothing listens at ``address`` (Ray itself retries for 40 s)."""
    host, port = _split_address(address)
    try:
        with socket.create_connection((host, port), timeout=timeout):
            pass
    except OSError as e:
        raise BatchError(f"Cannot connect to the Ray cluster at '{address}' ({e.strerror or e}). Check that "
                         "`ray start --head` runs there and that the address is HOST:PORT of its GCS.") from None


def _set_auth_mode(mode: str) -> None:
    """This process's Ray authentication mode, as Ray itself switches it (the environment, then its config)."""
    from ray._raylet import AuthenticationTokenLoader, Config

    os.environ["RAY_AUTH_MODE"] = mode
    Config.initialize("")  # Ray caches its config: re-read the environment, as Ray's own switch does
    AuthenticationTokenLoader.instance().reset_cache()


def _answers(address: str) -> bool:
    """Whether the cluster's GCS answers a request in this process's mode; ``False`` when it refuses the token
    sent, or the lack of one."""
    from ray._raylet import GcsClient
    from ray.exceptions import AuthenticationError, RayError

    try:
        GcsClient(address=address)
    except AuthenticationError:
        return False
    except RayError as e:
        raise BatchError(f"Cannot connect to the Ray cluster at '{address}' ({e}). Check that `ray start --head` "
                         "runs there and that the address is HOST:PORT of its GCS.") from None
    return True


def join_mode(address: str) -> str:
    """Set this process's Ray authentication mode for joining the cluster at ``address``, and return it.

    The user's ``RAY_AUTH_MODE`` when set, else the cluster's own: ``"token"`` when its GCS refuses a request
    without a token, else ``"disabled"``. The mode is checked with one request (a fraction of a second) before
    Ray is given the address: Ray itself retries a refused token for a minute.

    Raises
    ------
    BatchError
        Nothing answers at ``address``; the cluster wants a token and this machine has none, or another one;
        ``RAY_AUTH_MODE`` is not a mode Ray knows, or disagrees with the cluster.
    """
    chosen = os.environ.get("RAY_AUTH_MODE", "").strip().lower()
    if chosen and chosen not in AUTH_MODES:
        raise BatchError(f"RAY_AUTH_MODE is '{chosen}'; Ray knows {' and '.join(AUTH_MODES)}. Unset it to "
                         "let mer ask the cluster.")
    _reachable(address)
    if chosen:
        mode = chosen
    else:
        _set_auth_mode("disabled")
        mode = "disabled" if _answers(address) else "token"
    if mode == "token" and auth_token_source() is None:
        raise BatchError(f"The Ray cluster at '{address}' uses token authentication and this machine has no "
                         f"token. {_TOKEN_REMEDY}")
    _set_auth_mode(mode)
    if (chosen or mode == "token") and not _answers(address):
        if mode == "disabled":
            raise BatchError(f"The Ray cluster at '{address}' uses token authentication, and RAY_AUTH_MODE="
                             "disabled here sends no token: unset RAY_AUTH_MODE (mer then asks the cluster).")
        raise BatchError(f"The Ray cluster at '{address}' refused this machine's auth token (from "
                         f"{auth_token_source()}). {_TOKEN_REMEDY}")
    return mode


def connect(address: str | None, workers: int) -> Any:
    """``ray`` initialised as a driver of the cluster at ``address``, or of a new local Ray of ``workers`` CPUs.

    A local Ray is bound to 127.0.0.1 and uses Ray's default (token authentication, with a token created in
    ``~/.ray/auth_token`` when there is none). Call ``ray.shutdown()`` afterwards.

    Raises
    ------
    BatchError
        Ray is not installed, nothing answers at ``address``, or the cluster wants a token this machine lacks.
    """
    if not address:  # a local Ray is one node: keep its servers on the loopback interface (read at import)
        os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")
    try:
        import ray
    except ImportError:
        raise BatchError("The Ray engine needs Ray: pip install -r requirements-ray.txt (or use --engine local).") from None
    from ray.exceptions import AuthenticationError

    mer_dir = str(Path(__file__).resolve().parent.parent)
    kwargs: dict[str, Any] = dict(runtime_env={"py_modules": [mer_dir]}, include_dashboard=False,
                                  log_to_driver=False, logging_level="WARNING", configure_logging=True)
    try:
        if address:
            join_mode(address)
            ray.init(address=address, **kwargs)
        else:  # a local Ray on this machine only, bound to the loopback interface
            ray.init(num_cpus=workers, _node_ip_address="127.0.0.1", **kwargs)
    except AuthenticationError:
        raise BatchError(f"Ray refused this machine's auth token (RAY_AUTH_MODE={os.environ.get('RAY_AUTH_MODE')}, "
                         f"token from {auth_token_source()}). {_TOKEN_REMEDY}") from None
    except (ConnectionError, RuntimeError, ValueError) as e:
        raise BatchError(f"Cannot connect to the Ray cluster at '{address}' ({e}). Check that `ray start --head` "
                         "runs there and that the address is HOST:PORT of its GCS.") from None
    return ray


class _RayAnalyzer:
    """A Ray actor holding one model; the model's files travel with it, so nodes need no copy of models/."""

    def __init__(self, model_name: str, files: dict[str, bytes]) -> None:
        from ..model_files import load_model

        single_thread()
        self._dir = Path(tempfile.mkdtemp(prefix="mer-model-")) / model_name
        self._dir.mkdir()
        for name, data in files.items():
            (self._dir / name).write_bytes(data)
        self._model = load_model(self._dir)

    def analyze(self, ref: FileRef) -> TrackResult:
        return analyze_ref(ref, self._model)


def ray_results(refs: Iterable[FileRef], model_dir: Path, *, workers: int | None,
                address: str | None) -> Iterator[TrackResult]:
    """Results in completion order from Ray actors (one model per actor, one CPU each).

    ``workers`` actors (default: every CPU of the cluster; a local Ray gets one CPU per core). Every
    node must see the audio files at the same paths (a shared mount); mer's code and the model travel with
    the job. The process's ``RAY_AUTH_MODE`` is as it was before, afterwards.

    Raises
    ------
    BatchError
        See :func:`connect`; or the actors died (a node lost, or a cluster whose workers cannot start).
    """
    before = os.environ.get("RAY_AUTH_MODE")
    try:
        ray = connect(address, workers or default_workers())
        yield from _on_actors(ray, refs, model_dir, workers)
    finally:
        _restore_env("RAY_AUTH_MODE", before)


def _on_actors(ray: Any, refs: Iterable[FileRef], model_dir: Path, workers: int | None,
               inflight_per_worker: int = 4) -> Iterator[TrackResult]:
    from ray.exceptions import RayActorError
    from ray.util import ActorPool

    try:
        n = workers or max(1, int(ray.cluster_resources().get("CPU", 1)))
        files = {f.name: f.read_bytes() for f in Path(model_dir).iterdir() if f.is_file()}
        files_ref = ray.put(files)
        actor = ray.remote(num_cpus=1)(_RayAnalyzer)
        pool = ActorPool([actor.remote(Path(model_dir).name, files_ref) for _ in range(n)])
        inflight = 0
        for ref in refs:
            pool.submit(lambda a, r: a.analyze.remote(r), ref)
            inflight += 1
            if inflight >= n * inflight_per_worker:
                yield pool.get_next_unordered()
                inflight -= 1
        while pool.has_next():
            yield pool.get_next_unordered()
    except RayActorError as e:
        raise BatchError(f"A Ray worker died ({type(e).__name__}). The results written so far are kept: run the "
                         "same command again to resume. If no worker ever starts, the cluster may run without "
                         "token authentication while this machine sends a token: set RAY_AUTH_MODE to the mode "
                         "the cluster was started with.") from None
    finally:
        ray.shutdown()


def _restore_env(name: str, value: str | None) -> None:
    if value is None:
        os.environ.pop(name, None)
    else:
        os.environ[name] = value
