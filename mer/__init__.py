"""mer: music emotion recognition with a CNN-LSTM over 20 segments per track.

The pipeline, one module per stage: :mod:`mer.audio` decodes, :mod:`mer.segments`
cuts 20 segments, :mod:`mer.features` computes FFT spectra and log-mel windows,
:mod:`mer.model` is the CNN-LSTM, :mod:`mer.analyze` runs it on a file.
"""

__version__ = "0.1.0"


def analyze_many(paths, **kwargs):  # noqa: ANN001, ANN201 - the documented signature is mer.batch.analyze_many's
    """Analyse many files (folders, globs, lists) on all cores or a Ray cluster; see :func:`mer.batch.analyze_many`."""
    from .batch import analyze_many as _analyze_many

    return _analyze_many(paths, **kwargs)
