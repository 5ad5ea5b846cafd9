"""What hears each segment, as one object: the pretrained MusiCNN or a CNN on the log-mel image.

A :class:`FrontEnd` knows the size of the input it gives the network, what a model records about it (and how
that record is checked when the model loads), how to compute a corpus's and a track's inputs, and the sentence
the model card says about it. Code above asks ``front_end(model_config)`` instead of testing the name.
"""

from __future__ import annotations

import os
from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from .audio.decode import Audio
from .audio.features import FEATURES_VERSION, TrackFeatures, track_features
from .audio.segments import Segments
from .choices import DatasetKind, FrontEndKind
from .config import AudioConfig, DatasetInfo, FeatureConfig, ModelConfig
from .errors import MerError, ModelError, TrainingError
from .progress import ProgressFn

if TYPE_CHECKING:  # an analysis needs none of the corpus code (pandas: tens of MB of a process's memory)
    from .data.dataset import TrackData
    from .data.emotify import Corpus
    from .record import ModelRecord

__all__ = ["FrontEnd", "LogMelFrontEnd", "MusiCNNFrontEnd", "TrackInputs", "front_end", "FINE_TUNE_NEEDS_AUDIO"]

FINE_TUNE_NEEDS_AUDIO = ("Fine-tuning MusiCNN's last block needs the audio: the bundled Emotify ships only the "
                         "pooled embeddings. Choose a corpus with audio (--root), or train without fine_tune.")
MUSICNN_NOTE = ("the pretrained MusiCNN (MSD_musicnn of the musicnn 0.1.0 package, ISC licence; J. Pons and X. Serra, "
                "\"musicnn: pre-trained convolutional neural networks for music audio tagging\", ISMIR 2019 "
                "late-breaking demo; trained to tag the Million Song Dataset with 50 Last.fm tags) embeds each of a "
                "track's 20 segments from 3 s patches of its 16 kHz log-mel spectrogram (its timbral convolutions in "
                "float32, or in 8-bit integers where the CPU does those fast, within about 1 % of float32)")
BUNDLED_IS_MUSICNN = ("The bundled Emotify is shipped as MusiCNN embeddings: train it with the MusiCNN front-end, "
                      "or choose a corpus with audio for the log-mel front-end.")


@dataclass(frozen=True)
class TrackInputs:
    """One track's network input and what came with it.

    Attributes
    ----------
    X : np.ndarray
        The network's input for this one track: its segments' embeddings (MusiCNN) or windows (log-mel).
    segments : Segments
    tags : np.ndarray [shape=(n_segments, 50)] or None
        MusiCNN's tag probabilities (None with the log-mel front-end).
    precision : str or None
        The arithmetic MusiCNN ran in (None with the log-mel front-end).
    kernel : {"direct", "dft"} or None
        How float32 computed MusiCNN's timbral convolutions (None in int8 and with the log-mel front-end).
    extra : np.ndarray [shape=(n_segments, n)] or None
        MusiCNN's further layers asked for (the valence–arousal head's input), per segment.
    """

    X: np.ndarray
    segments: Segments
    tags: np.ndarray | None = None
    precision: str | None = None
    kernel: str | None = None
    extra: np.ndarray | None = None


class FrontEnd(ABC):
    """What hears the segments of a model of ``model_config`` (build one with :func:`front_end`)."""

    kind: FrontEndKind
    #: Stages of reading a track that its progress reports (the front-end's own, then the network).
    reading_stages: int = 1

    def __init__(self, model_config: ModelConfig) -> None:
        self.model_config = model_config

    @abstractmethod
    def input_size(self, feature_config: FeatureConfig) -> int:
        """Numbers per segment the network reads."""

    def record(self, precision: str | None = None) -> dict[str, Any]:
        """What ``config.json`` records about how the inputs were computed, checked when the model loads."""
        return {"features_version": FEATURES_VERSION}

    def check(self, name: str, record: ModelRecord) -> None:
        """Refuse a model whose inputs this mer computes differently (another feature version or front-end).

        Raises
        ------
        ModelError
            Naming what the model records, what mer computes, and how to retrain it.
        """
        expected = self.record(self.recorded_precision(record))
        got: dict[str, Any] = {"features_version": record.features_version}
        if "front_end" in expected and record.front_end is not None:
            got["front_end"] = record.front_end
        if got != expected:
            import json

            raise ModelError(f"The model '{name}' was trained on inputs this version of mer computes differently "
                             f"(it records {json.dumps(got)}, mer computes {json.dumps(expected)}). Retrain it with "
                             "`python -m mer train`, or use the mer it was trained with.")

    def recorded_precision(self, record: ModelRecord) -> str | None:
        """The precision a model's training inputs were computed in (None: no MusiCNN involved)."""
        return None

    def run_precision(self) -> str | None:
        """The precision this machine computes a track's inputs in (None: no MusiCNN involved)."""
        return None

    def bundled_refusal(self) -> str | None:
        """Why this front-end cannot train on the bundled Emotify (None: it can)."""
        return BUNDLED_IS_MUSICNN

    def bundled_data(self) -> tuple[TrackData, DatasetInfo]:
        """The bundled Emotify as this front-end's training data.

        Raises
        ------
        TrainingError
            This front-end cannot train on the bundled data (:meth:`bundled_refusal` says why).
        """
        raise TrainingError(self.bundled_refusal() or BUNDLED_IS_MUSICNN)

    @abstractmethod
    def corpus_data(self, corpus: Corpus, *, audio_config: AudioConfig, feature_config: FeatureConfig,
                    cache_dir: str | os.PathLike | None = None, on_progress: ProgressFn | None = None,
                    precision: str | None = None) -> TrackData:
        """The network's inputs for every track of a corpus (cached)."""

    @abstractmethod
    def track_inputs(self, audio: Audio, feature_config: FeatureConfig, features: TrackFeatures | None = None,
                     on_progress: ProgressFn | None = None, extra_layers: tuple[str, ...] = ()) -> TrackInputs:
        """One decoded track's input (``features``: already computed, reused where this front-end reads them;
        ``on_progress`` is told the front-end's own stage, where it has one; ``extra_layers``: MusiCNN layers to
        keep beside it, for the valence–arousal head, where the front-end runs MusiCNN)."""

    @abstractmethod
    def predict(self, net: Any, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The track's and its segments' probabilities, (9,) and (n_segments, 9), from :attr:`TrackInputs.X`."""

    @abstractmethod
    def card_sentence(self) -> str:
        """What the model card says hears the segments."""


class LogMelFrontEnd(FrontEnd):
    """A 1-D CNN over each segment's log-mel image, trained from scratch with the LSTM."""

    kind = FrontEndKind.LOGMEL

    def input_size(self, feature_config: FeatureConfig) -> int:
        return feature_config.n_mels

    def corpus_data(self, corpus: Corpus, *, audio_config: AudioConfig, feature_config: FeatureConfig,
                    cache_dir: str | os.PathLike | None = None, on_progress: ProgressFn | None = None,
                    precision: str | None = None) -> TrackData:
        from .data.dataset import segment_data, track_data

        return track_data(corpus, segment_data(corpus, audio_config=audio_config, feature_config=feature_config,
                                               cache_dir=cache_dir, on_progress=on_progress))

    def track_inputs(self, audio: Audio, feature_config: FeatureConfig, features: TrackFeatures | None = None,
                     on_progress: ProgressFn | None = None, extra_layers: tuple[str, ...] = ()) -> TrackInputs:
        features = features or track_features(audio, feature_config)
        return TrackInputs(X=features.windows, segments=features.segments)

    def predict(self, net: Any, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        from .model import predict_windows

        return predict_windows(net, X)

    def card_sentence(self) -> str:
        return ("a CNN trained from scratch embeds each of a track's 20 segments (log-mel images from the segments' "
                "FFT frames)")


class MusiCNNFrontEnd(FrontEnd):
    """The pretrained MusiCNN: each segment's embedding feeds the LSTM (its last block optionally fine-tuned)."""

    kind = FrontEndKind.MUSICNN
    reading_stages = 2

    def input_size(self, feature_config: FeatureConfig) -> int:
        from .audio.embeddings import EMBEDDING_DIM
        from .audio.musicnn import LAST_BLOCK_INPUTS

        return EMBEDDING_DIM + (LAST_BLOCK_INPUTS if self.model_config.fine_tune else 0)

    def record(self, precision: str | None = None) -> dict[str, Any]:
        from .audio.embeddings import BUNDLED_PRECISION, front_end_record

        return {**super().record(), "front_end": front_end_record(precision or BUNDLED_PRECISION)}

    def check(self, name: str, record: ModelRecord) -> None:
        from .audio.musicnn import load_musicnn

        load_musicnn()  # missing or damaged weights: an error naming the file and how to rebuild it
        super().check(name, record)

    def recorded_precision(self, record: ModelRecord) -> str | None:
        return record.precision

    def run_precision(self) -> str | None:
        from .kernels import run_precision

        return run_precision()

    def bundled_refusal(self) -> str | None:
        return FINE_TUNE_NEEDS_AUDIO if self.model_config.fine_tune else None

    def bundled_data(self) -> tuple[TrackData, DatasetInfo]:
        from .data.embedded import BUNDLED_EMBEDDINGS, bundled_track_data
        from .files import file_digest

        if self.bundled_refusal():
            return super().bundled_data()
        data = bundled_track_data()
        return data, DatasetInfo(kind=DatasetKind.EMOTIFY, n_tracks=len(data), root="bundled",
                                 fingerprint=f"sha256:{file_digest(BUNDLED_EMBEDDINGS)}",
                                 description=f"Emotify, {len(data)} tracks with their listeners' votes "
                                             "(the bundled MusiCNN embeddings)")

    def corpus_data(self, corpus: Corpus, *, audio_config: AudioConfig, feature_config: FeatureConfig,
                    cache_dir: str | os.PathLike | None = None, on_progress: ProgressFn | None = None,
                    precision: str | None = None) -> TrackData:
        from .data.embedded import embedding_track_data

        return embedding_track_data(corpus, audio_config=audio_config, n_segments=feature_config.n_segments,
                                    block_inputs=self.model_config.fine_tune, cache_dir=cache_dir,
                                    on_progress=on_progress, precision=precision)

    def track_inputs(self, audio: Audio, feature_config: FeatureConfig, features: TrackFeatures | None = None,
                     on_progress: ProgressFn | None = None, extra_layers: tuple[str, ...] = ()) -> TrackInputs:
        from .audio.embeddings import embed_audio

        precision = self.run_precision()
        emb = embed_audio(audio, n_segments=feature_config.n_segments,
                          segments=features.segments if features is not None else None, precision=precision,
                          block_inputs=self.model_config.fine_tune, extra_layers=extra_layers, on_progress=on_progress)
        X = emb.fine_tune_inputs() if self.model_config.fine_tune else emb.vectors
        from .kernels import run_kernel

        return TrackInputs(X=X, segments=emb.segments, tags=emb.tags, precision=precision,
                           kernel=run_kernel() if precision == "float32" else None, extra=emb.extra)

    def predict(self, net: Any, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        from .model import predict_tracks

        track, segments = predict_tracks(net, X[None])
        return track[0], segments[0]

    def card_sentence(self) -> str:
        trained = ("MusiCNN is frozen except its last mid-end layer, fine-tuned with the layers after it on the "
                   "training tracks" if self.model_config.fine_tune else
                   "MusiCNN is frozen and only the layers after it are trained on the training tracks")
        return f"{MUSICNN_NOTE}; {trained}"


def front_end(model_config: ModelConfig) -> FrontEnd:
    """The front-end of a model of ``model_config``."""
    kinds: dict[FrontEndKind, type[FrontEnd]] = {FrontEndKind.MUSICNN: MusiCNNFrontEnd,
                                                  FrontEndKind.LOGMEL: LogMelFrontEnd}
    try:
        return kinds[FrontEndKind(model_config.front_end)](model_config)
    except ValueError:
        raise MerError(f"Unknown front-end {model_config.front_end!r}.") from None
