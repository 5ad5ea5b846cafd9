"""mer's settings from the environment, all in one place, and every folder mer reads or writes.

Each ``MER_*`` variable is parsed here and nowhere else (the fork server's :mod:`mer.forkserver_guard`, which must
import nothing, reads its owner itself): its default, its check and its one line of help are in :data:`SETTINGS`,
which ``python -m mer settings`` lists with the values this process sees. Variables are read when asked for, not
at import, so a server started with one value and a test that sets another both see theirs.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .errors import ConfigError
from .serial import Record

__all__ = ["Setting", "SettingValue", "SETTINGS", "PACKAGE_PARENT", "from_checkout", "data_dir", "models_dir",
           "installed_models_dir", "batches_dir", "cache_dir", "demo_dir",
           "emotify_download_dir", "machine_dir", "library_folders_file", "shared_roots", "threads", "precision", "kernel", "max_analyses", "emotify_url",
           "emotify_dir", "describe", "DATA_DIR", "MODELS_DIR", "THREADS", "PRECISION", "KERNEL", "MAX_ANALYSES",
           "LIBRARY_ROOTS", "EMOTIFY_URL", "EMOTIFY_DIR", "PRECISIONS", "KERNELS", "MAX_ANALYSES_DEFAULT",
           "EMOTIFY_BASE_URL"]

DATA_DIR = "MER_DATA_DIR"
MODELS_DIR = "MER_MODELS_DIR"
THREADS = "MER_THREADS"
PRECISION = "MER_PRECISION"
KERNEL = "MER_KERNEL"
MAX_ANALYSES = "MER_MAX_ANALYSES"
LIBRARY_ROOTS = "MER_LIBRARY_ROOTS"
EMOTIFY_URL = "MER_EMOTIFY_URL"
EMOTIFY_DIR = "MER_EMOTIFY_DIR"

#: What ``MER_PRECISION`` may say: ``auto`` (the machine decides) or one of MusiCNN's precisions.
PRECISIONS = ("auto", "float32", "int8")
#: What ``MER_KERNEL`` may say: ``auto`` or one of the float32 kernels of :mod:`mer.audio.bandconv`.
KERNELS = ("auto", "direct", "dft")
#: Analyses one process runs at once unless ``MER_MAX_ANALYSES`` says otherwise: on 2 cores a third analysis
#: only queues behind the other two.
MAX_ANALYSES_DEFAULT = 2
#: Where Emotify's official files are downloaded from.
EMOTIFY_BASE_URL = "http://www2.projects.science.uu.nl/memotion/emotifydata/"

#: The folder above the package: a checkout of mer's repository, or an installation's site-packages.
PACKAGE_PARENT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Setting:
    """One environment variable mer reads: its name, its default in words and what it changes."""

    name: str
    default: str
    doc: str
    read: Callable[[], Any]


@dataclass(frozen=True)
class SettingValue(Record):
    """A setting as this process sees it: its raw text (None: unset), what mer makes of it (folders joined by
    ``os.pathsep``; "" for nothing), or why it is invalid; with its default and help."""

    name: str
    raw: str | None
    value: str
    default: str
    doc: str
    error: str | None = None


def _text(name: str) -> str:
    return os.environ.get(name, "").strip()


def from_checkout() -> bool:
    """Whether mer runs from a checkout of its repository (its bundled models beside the package), not from an
    installed package."""
    return (PACKAGE_PARENT / "models" / "default" / "config.json").is_file()


def data_dir() -> Path:
    """Where generated data lives (demo corpus, feature cache, batches, an installation's models):
    ``$MER_DATA_DIR``, else ``data/`` of the checkout (git-ignored), else ``$XDG_DATA_HOME/mer``
    (``~/.local/share/mer``) for an installed package."""
    if DATA_DIR in os.environ:
        return Path(os.environ[DATA_DIR])
    if from_checkout():
        return PACKAGE_PARENT / "data"
    return Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share") / "mer"


def models_dir() -> Path:
    """The models folder: ``$MER_MODELS_DIR``, else ``models/`` of the checkout, else ``models`` in the data
    folder (:func:`mer.registry.models_dir` gives an installation's the bundled models the first time)."""
    if MODELS_DIR in os.environ:
        return Path(os.environ[MODELS_DIR])
    return PACKAGE_PARENT / "models" if from_checkout() else data_dir() / "models"


def installed_models_dir() -> bool:
    """Whether the models folder is an installed package's own (neither ``$MER_MODELS_DIR`` nor a checkout's),
    which :func:`mer.registry.models_dir` gives the bundled models the first time."""
    return MODELS_DIR not in os.environ and not from_checkout()


def batches_dir() -> Path:
    """Where the Library page writes the batches it starts: ``batches/`` in the data folder."""
    return data_dir() / "batches"


def cache_dir() -> Path:
    """Where computed features are cached, keyed by code version: ``cache/`` in the data folder."""
    return data_dir() / "cache"


def demo_dir() -> Path:
    """The synthetic demo corpus, made on first use: ``demo/`` in the data folder."""
    return data_dir() / "demo"


def emotify_download_dir() -> Path:
    """Where the Train page downloads Emotify: ``emotify/`` in the data folder."""
    return data_dir() / "emotify"


def machine_dir() -> Path:
    """What mer measured about this machine (the kernel choice): ``machine/`` in the data folder."""
    return data_dir() / "machine"


def library_folders_file() -> Path:
    """The folders the machine's owner allowed on the Library page: ``library-folders.json`` in the data folder."""
    return data_dir() / "library-folders.json"


def shared_roots() -> list[Path]:
    """The folders ``$MER_LIBRARY_ROOTS`` names (separated by ``os.pathsep``); while it is set, it alone decides
    which folders a shared server's Library may read."""
    return [Path(r) for r in os.environ.get(LIBRARY_ROOTS, "").split(os.pathsep) if r]


def threads() -> int | None:
    """``$MER_THREADS``: the torch threads of every analysis; None where it is unset or empty (shared).

    Raises
    ------
    ConfigError
        It is not a whole number of threads from 1 to 1024.
    """
    return _count(THREADS, 1_024, " of threads", "share the free cores among the analyses running at once")


def max_analyses() -> int:
    """``$MER_MAX_ANALYSES``: how many analyses one process runs at once, else :data:`MAX_ANALYSES_DEFAULT`.

    Raises
    ------
    ConfigError
        It is not a whole number from 1 to 64.
    """
    count = _count(MAX_ANALYSES, 64, "", f"run {MAX_ANALYSES_DEFAULT}")
    return MAX_ANALYSES_DEFAULT if count is None else count


def _count(name: str, most: int, what: str, unset: str) -> int | None:
    text = _text(name)
    if not text:
        return None
    if not text.isdigit() or not 1 <= int(text) <= most:
        raise ConfigError(f"{name} must be a whole number{what} from 1 to {most} (got {text!r}); unset it to "
                          f"{unset}.")
    return int(text)


def precision() -> str:
    """``$MER_PRECISION``: ``auto`` (unset: the machine's choice), ``float32`` or ``int8``.

    Raises
    ------
    ConfigError
        It names none of :data:`PRECISIONS`.
    """
    return _one_of(PRECISION, PRECISIONS)


def kernel() -> str:
    """``$MER_KERNEL``: ``auto`` (unset: the machine's choice), ``direct`` or ``dft``.

    Raises
    ------
    ConfigError
        It names none of :data:`KERNELS`.
    """
    return _one_of(KERNEL, KERNELS)


def _one_of(name: str, allowed: tuple[str, ...]) -> str:
    choice = _text(name).lower() or "auto"
    if choice not in allowed:
        raise ConfigError(f"{name}={choice!r} is not one of {', '.join(allowed)}; unset it to let mer choose.")
    return choice


def emotify_url() -> str:
    """Where Emotify is downloaded from: ``$MER_EMOTIFY_URL`` or the official Utrecht University address."""
    return os.environ.get(EMOTIFY_URL) or EMOTIFY_BASE_URL


def emotify_dir() -> Path | None:
    """``$MER_EMOTIFY_DIR``: an Emotify with audio the app may offer (None: unset)."""
    return Path(os.environ[EMOTIFY_DIR]) if os.environ.get(EMOTIFY_DIR) else None


#: Every variable mer reads, in the order ``python -m mer settings`` lists them.
SETTINGS: tuple[Setting, ...] = (
    Setting(DATA_DIR, "data/ of a checkout, else $XDG_DATA_HOME/mer",
            "Where generated data lives: the demo corpus, feature caches, batches, the machine's kernel choice.",
            data_dir),
    Setting(MODELS_DIR, "models/ of a checkout, else models in the data folder",
            "The models folder: the trained models and which one is active.", models_dir),
    Setting(THREADS, "unset: the free cores, shared among the analyses running at once",
            "Torch threads of every analysis (1 to 1024).", threads),
    Setting(MAX_ANALYSES, str(MAX_ANALYSES_DEFAULT), "Analyses one process (the app) runs at once (1 to 64).",
            max_analyses),
    Setting(PRECISION, "auto: int8 where the CPU and a one-time probe favour it, else float32",
            "The arithmetic MusiCNN runs in: auto, float32 or int8.", precision),
    Setting(KERNEL, "auto: the faster float32 kernel by the same probe",
            "MusiCNN's float32 timbral convolutions: auto, direct or dft.", kernel),
    Setting(LIBRARY_ROOTS, "unset: the data folder, and folders the machine's owner allowed",
            f"Folders a shared server's Library may read, separated by '{os.pathsep}'.", shared_roots),
    Setting(EMOTIFY_DIR, "unset", "An Emotify folder with audio (data.csv and emotifymusic/) the app offers.",
            emotify_dir),
    Setting(EMOTIFY_URL, EMOTIFY_BASE_URL, "Where the Train page and `python -m mer data fetch-emotify` download Emotify from.",
            emotify_url),
)


def describe() -> list[SettingValue]:
    """Every setting with its raw text and what mer makes of it in this process (an invalid one says why)."""
    out = []
    for s in SETTINGS:
        raw = os.environ.get(s.name)
        try:
            value = s.read()
            shown = "" if value is None else os.pathsep.join(map(str, value)) if isinstance(value, list) else str(value)
            out.append(SettingValue(s.name, raw, shown, s.default, s.doc))
        except ConfigError as e:
            out.append(SettingValue(s.name, raw, "", s.default, s.doc, str(e)))
    return out
