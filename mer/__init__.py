"""mer: music emotion recognition with a CNN-LSTM over 20 segments per track.

The pipeline, one module per stage: :mod:`mer.audio.decode` decodes, :mod:`mer.audio.segments`
cuts 20 segments, :mod:`mer.audio.features` computes FFT spectra and log-mel windows,
:mod:`mer.model` is the CNN-LSTM, :mod:`mer.analyze` runs it on a file.
"""

from .version import __version__

__all__ = ["analyze_many", "__version__"]


def __getattr__(name: str):  # noqa: ANN202 - lazy, so `import mer` stays light
    if name == "analyze_many":
        from .batch import analyze_many

        return analyze_many
    raise AttributeError(f"module 'mer' has no attribute {name!r}")
