"""A training run's configs as a file, and the numbers a command takes besides them.

``python -m mer train --config FILE`` and the Train page's background run read the file :func:`write_run_config`
writes: ``{"train": {...}, "model": {...}, "valence_arousal": {...}}``, checked field by field where it is read.
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass
from typing import Any, TypeVar

from .config import MAX_SEED, ModelConfig, TrainConfig, VAConfig
from .errors import ConfigError, TrainingError
from .files import read_json, write_json_atomic
from .serial import from_dict, to_dict

__all__ = ["RunOptions", "read_run_config", "write_run_config", "read_va_config"]

_C = TypeVar("_C")


@dataclass(frozen=True)
class RunOptions:
    """The numbers a command takes besides a model's configs, checked before any work starts.

    Each is None where the command line left it out (the command's default then applies).

    Attributes
    ----------
    seed : int in [0, 2**32 - 1], optional
        Seed of the splits and samplers.
    k_neighbors : int in [1, 100], optional
        Neighbours of the SMOTE-style samplers.
    threads : int in [1, 1024], optional
        Torch threads of this process.
    workers : int in [1, 1024], optional
        Worker processes (or Ray actors).
    chunk_size : int in [1, 1_000_000], optional
        Files per chunk of a batch's tables.
    """

    seed: int | None = None
    k_neighbors: int | None = None
    threads: int | None = None
    workers: int | None = None
    chunk_size: int | None = None

    def __post_init__(self) -> None:
        ranges = {"seed": (0, MAX_SEED), "k_neighbors": (1, 100), "threads": (1, 1_024), "workers": (1, 1_024),
                  "chunk_size": (1, 1_000_000)}
        problems = []
        for name, (lo, hi) in ranges.items():
            value = getattr(self, name)
            if value is None:
                continue
            if not isinstance(value, int) or isinstance(value, bool):
                problems.append(f"{name} must be a whole number (got {value!r})")
            elif not lo <= value <= hi:
                problems.append(f"{name} must be between {lo:,} and {hi:,} (got {value:,})")
        if problems:
            raise ConfigError("Invalid options: " + "; ".join(problems) + ".")


def read_run_config(path: str | os.PathLike) -> tuple[TrainConfig, ModelConfig]:
    """The configs of a training run from a JSON file ``{"train": {...}, "model": {...}}`` (see :func:`write_run_config`).

    Raises
    ------
    TrainingError
        The file is missing, not JSON, or holds a field no config has.
    """
    try:
        data = read_json(path, error=TrainingError)
        return _strict(TrainConfig, data.get("train", {})), _strict(ModelConfig, data.get("model", {}))
    except FileNotFoundError:
        raise TrainingError(f"No run config at '{path}'.") from None
    except (AttributeError, TypeError, ValueError) as e:
        raise TrainingError(f"'{path}' is not a valid run config ({e}). Write it with write_run_config.") from None


def write_run_config(path: str | os.PathLike, train: TrainConfig, model: ModelConfig,
                     va: VAConfig | None = VAConfig()) -> None:
    """Write the configs of a training run as JSON (read back by ``python -m mer train --config``), atomically;
    ``va`` None trains no valence–arousal head."""
    write_json_atomic(path, {"train": to_dict(train), "model": to_dict(model),
                             "valence_arousal": None if va is None else to_dict(va)})


def read_va_config(path: str | os.PathLike) -> VAConfig | None:
    """The valence–arousal settings of a run config (:func:`write_run_config`): its ``valence_arousal`` section,
    the defaults where the file has none, None where it says null (no head).

    Raises
    ------
    TrainingError
        The file is missing or not JSON, or the section holds a field :class:`VAConfig` has not.
    """
    try:
        data = read_json(path, error=TrainingError)
        section = data.get("valence_arousal", {})
        return None if section is None else _strict(VAConfig, section)
    except FileNotFoundError:
        raise TrainingError(f"No run config at '{path}'.") from None
    except (AttributeError, TypeError, ValueError) as e:
        raise TrainingError(f"'{path}' is not a valid run config ({e}). Write it with write_run_config.") from None


def _strict(cls: type[_C], data: dict[str, Any]) -> _C:
    unknown = set(data) - {f.name for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    if unknown:
        raise ValueError(f"unknown {cls.__name__} field(s) {sorted(unknown)}")
    return from_dict(cls, data)
