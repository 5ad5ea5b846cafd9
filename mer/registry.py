"""The folder of models: where it is, what it holds, which model is active, and the ladder they share.

Each model is a folder ``models/<name>/`` (its files, saved and loaded: :mod:`mer.model_files`).
``models/active.json`` names the active model (a name inside the models folder, nothing else) and is
replaced atomically; when it or the model it names is missing or broken, the
bundled ``default`` model is used, with the reason shown. ``models/ladder.json`` holds the leakage ladder,
shared by every model of the folder. An installed package's folder is given the bundled models the first time.
"""

from __future__ import annotations

import dataclasses
import os
import shutil
import tempfile
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from . import settings
from .errors import MerError, ModelError
from .files import repair, write_json_atomic
from .model_files import (
    MODEL_FOLDER_FILES,
    LoadedModel,
    check_model_name,
    load_metrics,
    load_model,
    read_json,
    read_record,
)
from .results import LadderReport

__all__ = [
    "model_stamp",
    "ModelInfo",
    "DEFAULT_MODEL",
    "FALLBACK_MODELS",
    "models_dir",
    "seed_models",
    "load_active",
    "list_models",
    "active_name",
    "set_active",
    "new_model_name",
    "ladder_file",
    "save_ladder",
    "load_ladder",
]

DEFAULT_MODEL = "default"
#: Bundled models that stand in, in this order, when the active one cannot be loaded: the log-mel model needs
#: no MusiCNN weights, so the app still works if those are missing or damaged.
FALLBACK_MODELS = (DEFAULT_MODEL, "logmel")


#: Where an installed package carries the bundled models (a checkout has them in ``models/``).
INSTALLED_MODELS = Path(__file__).resolve().parent / "bundled_models"


def models_dir() -> Path:
    """The models folder (:func:`mer.settings.models_dir`); an installed package's is given the bundled models the
    first time (see :func:`seed_models`)."""
    root = settings.models_dir()
    return seed_models(root) if settings.installed_models_dir() else root


def seed_models(root: Path, bundled: Path | None = None) -> Path:
    """``root``, holding a copy of each bundled model it lacks (and the ladder), each copied under a temporary
    name and renamed: an installed mer's writable models folder starts with what the wheel carries
    (``bundled``, default :data:`INSTALLED_MODELS`).

    Raises
    ------
    ModelError
        The folder cannot be written.
    """
    bundled = bundled or INSTALLED_MODELS
    if not bundled.is_dir() or all((root / m.name).exists() for m in bundled.iterdir()):
        return root
    try:
        root.mkdir(parents=True, exist_ok=True)
        for item in sorted(bundled.iterdir()):
            dest = root / item.name
            if dest.exists() or item.name.startswith(("_", ".")):
                continue
            tmp = Path(tempfile.mkdtemp(prefix=f".seed-{item.name}-", dir=root))
            if item.is_dir():
                shutil.copytree(item, tmp / item.name)
            else:
                shutil.copyfile(item, tmp / item.name)
            os.replace(tmp / item.name, dest)
            shutil.rmtree(tmp, ignore_errors=True)
    except OSError as e:
        raise ModelError(f"Cannot set up the models folder '{root}' ({e.strerror}). Make it writable, or name "
                         "another with MER_MODELS_DIR.") from None
    return root


def new_model_name(prefix: str = "model") -> str:
    """Default name of a newly trained model: a prefix and the local time, e.g. ``model-20261125-231500``."""
    return f"{prefix}-{datetime.now().strftime('%Y%m%d-%H%M%S')}"


@dataclass(frozen=True)
class ModelInfo:
    """What the model list shows about a model directory."""

    name: str
    path: Path
    created: str
    trained_on: str
    cv_accuracy: float | None = None  # pooled track accuracy of the cross-validation, if one was run
    front_end: str = "logmel"  # what hears the segments (ModelConfig.front_end)
    broken: str | None = None  # why the folder is not a usable model (its files unreadable or invalid), or None


def active_name(root: Path | None = None) -> str:
    """Name in ``active.json``, or the bundled default when there is none."""
    root = root or models_dir()
    try:
        return str(read_json(root / "active.json")["name"])
    except (ModelError, KeyError, TypeError):
        return DEFAULT_MODEL


def model_stamp(name: str | None = None, root: Path | None = None) -> str:
    """A key naming a model of the models folder and its version: the active one (``name`` None) until the active
    pointer changes, or the model ``name`` until its ``config.json`` does; the app's cache of loaded models is
    keyed by it. The name is the key's second field (``key.split("\\0")[1]``, "" for the active one)."""
    root = root or models_dir()
    if name is None:
        pointer = root / "active.json"
        stamp = pointer.stat().st_mtime_ns if pointer.exists() else 0
        return f"{root}\0\0{active_name(root)}:{stamp}"
    config = root / name / "config.json"
    return f"{root}\0{name}\0{config.stat().st_mtime_ns if config.exists() else 0}"


def set_active(name: str, root: Path | None = None) -> None:
    """Make ``name`` the active model (checked to load first; the pointer is replaced atomically)."""
    root = root or models_dir()
    load_model(root / check_model_name(name))
    try:
        write_json_atomic(root / "active.json", {"name": name})
    except OSError as e:
        raise ModelError(f"Cannot switch the active model: '{root}' is not writable ({e.strerror}).") from None


def load_active(root: Path | None = None) -> LoadedModel:
    """The active model; the first bundled model of :data:`FALLBACK_MODELS` that loads if the active one is
    missing or broken (with ``fallback_reason`` saying why).

    Raises
    ------
    ModelError
        When no fallback model can be loaded either.
    """
    root = root or models_dir()
    name = active_name(root)
    try:
        return load_model(root / check_model_name(name))
    except ModelError as e:
        problem = e
    for fallback in (n for n in FALLBACK_MODELS if n != name):
        try:
            model = load_model(root / fallback)
        except ModelError:
            continue
        model.fallback_reason = (f"The active model '{name}' could not be loaded ({problem}) — using the "
                                 f"'{fallback}' model instead.")
        return model
    raise problem


def list_models(root: Path | None = None) -> list[ModelInfo]:
    """Model directories, newest first; temporary ones (hidden) and folders holding neither of a model's two
    files are skipped. A folder whose files are missing, unreadable or invalid is listed with ``broken``
    saying why (it never hides the others)."""
    root = root or models_dir()
    out = []
    if not root.is_dir():
        return out
    repair(root)
    for d in root.iterdir():
        if d.name.startswith(".") or not d.is_dir() or not any((d / f).is_file() for f in MODEL_FOLDER_FILES):
            continue
        try:
            out.append(_model_info(d))
        except ModelError as e:
            out.append(ModelInfo(name=d.name, path=d, created="", trained_on="", front_end="?", broken=str(e)))
    return sorted(out, key=lambda m: m.created, reverse=True)


def _model_info(d: Path) -> ModelInfo:
    """What the model list shows of the model folder ``d``, read from its JSON files (its weights are not loaded).

    Raises
    ------
    ModelError
        A file is missing, or ``config.json`` is unreadable or holds settings no model has.
    """
    for f in MODEL_FOLDER_FILES:
        if not (d / f).is_file():
            raise ModelError(f"The model '{d.name}' is incomplete: {f} is missing. Retrain it or remove the folder.")
    record = read_record(d)
    metrics = load_metrics(d)
    return ModelInfo(name=d.name, path=d, created=record.created or "", trained_on=record.dataset.description,
                     cv_accuracy=metrics.cv.pooled.accuracy if metrics and metrics.cv else None,
                     front_end=record.model.front_end)


# --- the leakage ladder, shared by every model of the folder -----------------------------------------


def ladder_file() -> Path:
    """Where the ladder is saved and read: ``ladder.json`` in the models folder."""
    return models_dir() / "ladder.json"


def save_ladder(report: LadderReport, path: str | os.PathLike | None = None) -> Path:
    """Write a ladder (atomically), keeping the families of an earlier one on the same data that this one lacks."""
    path = Path(path) if path is not None else ladder_file()
    previous = load_ladder(path)
    if previous is not None and (previous.data, previous.seed) == (report.data, report.seed):
        report = dataclasses.replace(report, families={**previous.families, **report.families})
    write_json_atomic(path, report.to_dict())
    return path


def load_ladder(path: str | os.PathLike | None = None) -> LadderReport | None:
    """The saved ladder, or None when there is none or it cannot be read."""
    path = Path(path) if path is not None else ladder_file()
    try:
        return LadderReport.from_dict(read_json(path))
    except (MerError, OSError, ValueError, KeyError, TypeError, AttributeError):
        return None
