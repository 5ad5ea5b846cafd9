"""A model's ``config.json`` as one typed record, read in one place, older files migrated as they are read.

Every model directory carries the four configs it was trained with, the emotion names, how many networks it
averages, what it was trained on, the feature-code version its inputs were computed with and, for a MusiCNN
model, the front-end record (the pretrained network's name, weights hash, layers, embeddings version and
precision). :meth:`ModelRecord.from_dict` is the only reader of that file's layout; files written by earlier
versions of mer are migrated there:

* no ``model`` section: a log-mel model (there was no other front-end);
* no ``features_version``: the current one (the version was recorded from the first change on);
* a front-end record without ``precision``: float32 (there was no other arithmetic);
* no ``members``: one network; no ``dataset``: unknown data; no ``emotions``: the nine GEMS ones.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .audio.features import FEATURES_VERSION
from .config import AudioConfig, DatasetInfo, FeatureConfig, ModelConfig, TrainConfig, VAConfig
from .emotions import EMOTIONS
from .serial import from_dict, to_dict

__all__ = ["ModelRecord", "LEGACY_PRECISION"]

#: The precision of a front-end record written before MusiCNN had a choice of arithmetic.
LEGACY_PRECISION = "float32"


@dataclass(frozen=True)
class ModelRecord:
    """What ``config.json`` records about a model: enough to rebuild it and to recompute its inputs.

    Attributes
    ----------
    audio, features, model, train : AudioConfig, FeatureConfig, ModelConfig, TrainConfig
        The configs the model was trained with.
    dataset : DatasetInfo
        What it was trained on.
    name : str
        The name it was saved under ("" in files that did not record it).
    created : str or None
        When it was saved (ISO 8601, UTC), None in files that did not record it.
    emotions : tuple of str
        The classes of its outputs, in order.
    members : int >= 1
        Networks averaged (the fold models of a cross-validation, or one).
    features_version : int
        :data:`mer.audio.features.FEATURES_VERSION` of the code that computed its training inputs.
    front_end : dict or None
        The MusiCNN front-end's record (:func:`mer.audio.embeddings.front_end_record`), None for a log-mel model.
    versions : dict
        The library versions it was trained with.
    valence_arousal : VAConfig or None
        How its valence–arousal head (:mod:`mer.valence`, the folder's ``valence-arousal.npz``) was trained; None
        for a model without one (a log-mel model, or one trained before the head existed).
    """

    audio: AudioConfig
    features: FeatureConfig
    model: ModelConfig
    train: TrainConfig
    dataset: DatasetInfo
    name: str = ""
    created: str | None = None
    emotions: tuple[str, ...] = EMOTIONS
    members: int = 1
    features_version: int = FEATURES_VERSION
    front_end: dict[str, Any] | None = None
    versions: dict[str, str] = field(default_factory=dict)
    valence_arousal: VAConfig | None = None

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> ModelRecord:
        """The record of a ``config.json`` object, an older file's migrated (see the module's notes).

        Raises
        ------
        TypeError
            ``d`` or one of its sections is not an object, or a section holds a value of the wrong kind.
        MerError
            A setting out of range (the configs check themselves where they are built).
        """
        if not isinstance(d, dict):
            raise TypeError("config.json is not a JSON object")
        model = d.get("model") or {}
        if not isinstance(model, dict):
            raise TypeError("its 'model' is not an object")
        record = d.get("front_end")
        return cls(audio=from_dict(AudioConfig, _section(d, "audio")),
                   features=from_dict(FeatureConfig, _section(d, "features")),
                   model=from_dict(ModelConfig, {"front_end": "logmel", **model}),
                   train=from_dict(TrainConfig, _section(d, "train")),
                   dataset=DatasetInfo.from_dict(d.get("dataset")),
                   name=str(d.get("name", "")),
                   created=None if d.get("created") is None else str(d["created"]),
                   emotions=tuple(d.get("emotions", EMOTIONS)),
                   members=int(d.get("members", 1)),
                   features_version=int(d.get("features_version", FEATURES_VERSION)),
                   front_end={"precision": LEGACY_PRECISION, **record} if isinstance(record, dict) else None,
                   versions=dict(d.get("versions") or {}),
                   valence_arousal=from_dict(VAConfig, _section(d, "valence_arousal"))
                   if d.get("valence_arousal") is not None else None)

    def to_dict(self) -> dict[str, Any]:
        """``config.json``'s object: :meth:`from_dict` of it gives this record back."""
        return {"name": self.name, "created": self.created, "emotions": list(self.emotions),
                "audio": to_dict(self.audio), "features": to_dict(self.features), "model": to_dict(self.model),
                "train": to_dict(self.train), "dataset": self.dataset.to_dict(), "members": self.members,
                "features_version": self.features_version,
                **({"front_end": dict(self.front_end)} if self.front_end is not None else {}),
                "versions": dict(self.versions),
                **({"valence_arousal": to_dict(self.valence_arousal)} if self.valence_arousal else {})}

    @property
    def precision(self) -> str:
        """The precision MusiCNN computed the training inputs in, as recorded (float32 where nothing says)."""
        return str((self.front_end or {}).get("precision", LEGACY_PRECISION))


def _section(d: dict[str, Any], key: str) -> dict[str, Any] | None:
    """``d[key]``, which must be an object where present."""
    value = d.get(key)
    if value is not None and not isinstance(value, dict):
        raise TypeError(f"its {key!r} is not an object")
    return value
