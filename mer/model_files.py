"""One model on disk: its folder's files, saved atomically and loaded safely.

A model directory ``models/<name>/`` holds

* ``weights.pt``  – the network's ``state_dict`` (read with ``torch.load(weights_only=True)``),
* ``config.json`` – audio, feature, model and training configs, emotion names,
  dataset fingerprint and library versions: everything needed to rebuild it
  (read as one :class:`mer.record.ModelRecord`, older files migrated),
* ``metrics.json`` – cross-validated metrics, baselines on the same folds, the leakage ladder, curves
  (:class:`mer.results.ModelMetrics`),
* ``card.md``     – the model card.

It is written into a hidden temporary folder and renamed into place, so a
crash never leaves half a model where one is expected; replacing a model goes
through a journal (:func:`mer.files.replace_dir`) that the next load repairs, so
a kill at any instant leaves the old or the new model, and one writer at a time
holds a name (two runs replacing one model: the second is told). Only a folder
holding nothing but these four files is ever replaced. The folder of models, its
active pointer and the fallback live in :mod:`mer.registry`.
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
import shutil
import tempfile
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .config import AudioConfig, DatasetInfo, FeatureConfig, ModelConfig, TrainConfig, VAConfig
from .emotions import EMOTIONS
from .errors import MerError, ModelError
from .files import check_output_dir, name_lock, repair, replace_dir
from .files import read_json as read_limited_json
from .frontend import FrontEnd, front_end
from .record import ModelRecord
from .results import ModelMetrics
from .valence import VA_FILE, VAHead

__all__ = [
    "LoadedModel",
    "read_record",
    "save_model",
    "load_model",
    "read_json",
    "load_metrics",
    "load_card",
    "MODEL_FILES",
    "MODEL_FOLDER_FILES",
    "check_model_name",
    "check_model_out",
    "model_inputs",
]

if TYPE_CHECKING:
    from torch import nn

#: The two files without which a folder is no model (and with either of which it is listed as one).
MODEL_FOLDER_FILES = ("weights.pt", "config.json")
#: Everything mer writes into a model directory: a folder holding anything else is never replaced.
MODEL_FILES = ("weights.pt", "config.json", "metrics.json", "card.md", VA_FILE)
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}")


def read_json(path: Path) -> Any:
    """A model folder's JSON file (size- and depth-limited: :func:`mer.files.read_json`).

    Raises
    ------
    ModelError
        The file is missing, unreadable, too large, nested too deeply or not JSON.
    """
    try:
        return read_limited_json(path, error=ModelError)
    except FileNotFoundError:
        raise ModelError(f"'{path}' is missing.") from None


def check_model_name(name: str) -> str:
    """``name`` if it can name a model directory inside the models folder (no path, no leading dot).

    Raises
    ------
    ModelError
        A path (``../x``, ``/abs``), an empty or hidden name, or characters other than letters, digits, ``._-``.
    """
    if not isinstance(name, str) or not _NAME.fullmatch(name) or name in (".", ".."):
        raise ModelError(f"'{name}' is not a model name: give the name of a folder inside the models folder "
                         "(letters, digits, '.', '_' and '-'; see `python -m mer models`), not a path.")
    return name


def check_model_out(dest: Path, *, replace: bool) -> None:
    """Refuse a model destination that exists (without ``replace``) or holds anything but a model's files."""
    if (dest.exists() or dest.is_symlink()) and not replace:
        raise ModelError(f"'{dest}' already exists. Choose another name (--out), or pass --replace to overwrite it.")
    check_output_dir(dest, markers=("config.json",), allowed=MODEL_FILES, what="a model", error=ModelError)


@dataclass
class LoadedModel:
    """A network ready for inference, with the configs it was trained with."""

    name: str
    path: Path
    net: nn.Module  # a mer.model network (or an Ensemble of them), in eval mode
    audio_config: AudioConfig
    feature_config: FeatureConfig
    model_config: ModelConfig
    train_config: TrainConfig
    record: ModelRecord  # its config.json, read once (older files migrated)
    fallback_reason: str | None = None  # set when the active model failed and this one stood in
    va_head: VAHead | None = None  # its valence–arousal head (None: the model has none)

    @property
    def dataset(self) -> DatasetInfo:
        return self.record.dataset

    @property
    def trained_on(self) -> str:
        return self.dataset.description

    @property
    def front_end(self) -> FrontEnd:
        """What hears this model's segments."""
        return front_end(self.model_config)

    @property
    def recorded_precision(self) -> str | None:
        """The precision MusiCNN computed this model's training embeddings in (None: not a MusiCNN model)."""
        return self.front_end.recorded_precision(self.record)

    @property
    def run_precision(self) -> str | None:
        """The precision MusiCNN runs in for this model here (:func:`mer.kernels.run_precision`: what this CPU
        does fastest, or ``MER_PRECISION``); the two precisions agree within a few thousandths, so it need not be
        the recorded one. None: not a MusiCNN model."""
        return self.front_end.run_precision()


def save_model(net: nn.Module, *, name: str, audio_config: AudioConfig, feature_config: FeatureConfig,
               model_config: ModelConfig, train_config: TrainConfig, dataset: DatasetInfo,
               metrics: dict[str, Any], card: str, root: Path, replace: bool = False,
               precision: str | None = None, va: tuple[VAHead, VAConfig] | None = None) -> Path:
    """Write a model directory atomically into the models folder ``root`` and return its path.

    With ``replace``, an existing directory of that name is swapped out only
    once the new one is complete. ``precision``: MusiCNN's, in which the training embeddings were computed
    (recorded in the front-end record; default: the bundled embeddings'). ``va``: a valence–arousal head and
    the config it was trained with.

    Raises
    ------
    ModelError
        The name is taken, or the models folder cannot be written (full, read-only).
    """
    import torch

    from .version import __version__

    dest = root / name
    check_model_out(dest, replace=replace)
    inputs = front_end(model_config).record(precision)
    config = ModelRecord(
        audio=audio_config, features=feature_config, model=model_config, train=train_config, dataset=dataset,
        name=name, created=datetime.now(timezone.utc).isoformat(timespec="seconds"), emotions=EMOTIONS,
        members=len(getattr(net, "members", [net])),  # networks averaged (an ensemble of fold models)
        features_version=inputs["features_version"], front_end=inputs.get("front_end"),
        versions=_versions(__version__), valence_arousal=va[1] if va else None).to_dict()
    try:
        root.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".tmp-{name}-", dir=root))
    except OSError as e:
        raise ModelError(f"Cannot write to the models folder '{root}' ({e.strerror}). "
                         "Free some space or make it writable; the active model is unchanged.") from None
    try:
        torch.save(net.state_dict(), tmp / "weights.pt")
        if va is not None:
            va[0].save(tmp / VA_FILE)
        (tmp / "config.json").write_text(json.dumps(config, indent=2))
        (tmp / "metrics.json").write_text(json.dumps(metrics, indent=2))
        (tmp / "card.md").write_text(card)
        with name_lock(root, name, what="the model", error=ModelError):
            check_model_out(dest, replace=replace)  # again: another run may have written it meanwhile
            replace_dir(tmp, dest)
    except OSError as e:
        shutil.rmtree(tmp, ignore_errors=True)
        raise ModelError(f"Could not save the model to '{dest}' ({e.strerror}). Free some space or make the "
                         "models folder writable; the active model is unchanged.") from None
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return dest


def _versions(mer_version: str) -> dict[str, str]:
    import importlib.metadata as md
    import platform

    out = {"mer": mer_version, "python": platform.python_version()}
    for pkg in ("torch", "numpy", "librosa", "imbalanced-learn", "scikit-learn", "soundfile"):
        try:
            out[pkg] = md.version(pkg)
        except md.PackageNotFoundError:
            pass
    return out


def _invalid(path: Path, problem: MerError) -> ModelError:
    return ModelError(f"The config.json of '{path.name}' is not a valid model: {problem} Retrain it or roll back.")


def load_model(path: str | os.PathLike) -> LoadedModel:
    """Rebuild a model from its directory; weights are read with ``weights_only=True``.

    Raises
    ------
    ModelError
        Missing files, unreadable JSON, weights that are not a state dict, or
        weights that do not fit the network the config describes.
    """
    import torch

    from .model import build_model

    path = Path(path)
    repair(path.parent)  # a replacement a crash interrupted is finished before anything is read
    if not path.is_dir():
        raise ModelError(f"No model at '{path}'. Train one with `python -m mer train` or pick one from the list.")
    for f in MODEL_FOLDER_FILES:
        if not (path / f).is_file():
            raise ModelError(f"The model '{path.name}' is incomplete: {f} is missing. Retrain it or roll back.")
    record = read_record(path)
    model_cfg, feat_cfg = record.model, record.features
    if record.emotions != EMOTIONS:
        raise ModelError(f"The model '{path.name}' was trained on other emotion classes than the nine GEMS ones.")
    front_end(model_cfg).check(path.name, record)
    try:
        net = build_model(model_cfg, model_inputs(model_cfg, feat_cfg), members=record.members)
    except MerError as e:  # too large
        raise _invalid(path, e) from None
    except (ValueError, TypeError) as e:
        raise ModelError(f"The config.json of '{path.name}' describes no buildable network ({e}).") from None
    try:
        state = torch.load(path / "weights.pt", map_location="cpu", weights_only=True)
    except Exception as e:  # torch raises many types for a damaged file (pickle, zip, runtime)
        raise ModelError(f"The weights of '{path.name}' cannot be read ({type(e).__name__}); the file is damaged. "
                         "Retrain the model or roll back to another.") from None
    if not isinstance(state, dict):
        raise ModelError(f"The weights of '{path.name}' are not a state dict.")
    try:
        net.load_state_dict(state, strict=True)
    except RuntimeError as e:
        first = str(e).splitlines()[1].strip() if len(str(e).splitlines()) > 1 else str(e)
        raise ModelError(f"The weights of '{path.name}' do not match its config.json ({first[:160]}). "
                         "The files come from different models; retrain or roll back.") from None
    net.eval()
    va = record.valence_arousal
    va_head = dataclasses.replace(VAHead.load(path / VA_FILE), context=(va.valence_context, va.arousal_context)) \
        if va is not None else None
    return LoadedModel(name=path.name, path=path, net=net, audio_config=record.audio, feature_config=feat_cfg,
                       model_config=model_cfg, train_config=record.train, record=record, va_head=va_head)


def read_record(path: Path) -> ModelRecord:
    """The :class:`~mer.record.ModelRecord` of the model folder ``path`` (its ``config.json``, migrated).

    Raises
    ------
    ModelError
        The file is missing, unreadable, not a JSON object, or holds settings no model has.
    """
    meta = read_json(path / "config.json")
    if not isinstance(meta, dict):
        raise ModelError(f"The config.json of '{path.name}' is not a JSON object. Retrain the model or roll back.")
    try:
        return ModelRecord.from_dict(meta)
    except (TypeError, ValueError, AttributeError) as e:
        raise ModelError(f"The config.json of '{path.name}' has invalid fields ({e}).") from None
    except MerError as e:  # a setting out of range: refused before anything is built
        raise _invalid(path, e) from None


def model_inputs(model_config: ModelConfig, feature_config: FeatureConfig) -> int:
    """Numbers per segment the network reads (:meth:`mer.frontend.FrontEnd.input_size`)."""
    return front_end(model_config).input_size(feature_config)


def load_metrics(path: str | os.PathLike) -> ModelMetrics | None:
    """A model directory's ``metrics.json`` as :class:`~mer.results.ModelMetrics`; None if absent or of an older format."""
    try:
        return ModelMetrics.from_dict(read_json(Path(path) / "metrics.json"))
    except (ModelError, KeyError, TypeError, ValueError, AttributeError):
        return None


def load_card(path: str | os.PathLike) -> str:
    """A model directory's ``card.md`` (a short note when it has none)."""
    card = Path(path) / "card.md"
    return card.read_text() if card.is_file() else "This model has no card."

