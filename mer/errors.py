"""The exceptions and warnings of mer.

Every problem a user can cause (a bad file, a bad dataset, a broken model
directory) is raised as a subclass of :class:`MerError` whose message says
what is wrong and what to do about it. The app shows ``str(error)``; the CLI
prints it after ``error:`` and exits with status 2.
"""

__all__ = [
    "MerError",
    "AudioError",
    "EmptyAudioError",
    "NotAudioError",
    "CorruptAudioError",
    "TooShortError",
    "TooLongError",
    "SilentAudioError",
    "InvalidSamplesError",
    "UnsupportedSampleRateError",
    "DataError",
    "ConfigError",
    "ModelError",
    "TrainingError",
    "TrainingBusyError",
    "TrainingCancelled",
    "DownloadError",
    "DeviceError",
    "OutputFolderError",
    "BatchError",
    "BatchCancelled",
    "MerWarning",
]


class MerError(Exception):
    """Base class of every error mer raises for bad input or state."""


class AudioError(MerError):
    """An audio file or upload cannot be analysed."""


class EmptyAudioError(AudioError):
    """The file has no bytes, or its header announces no samples."""


class NotAudioError(AudioError):
    """The bytes are not in any audio format mer can decode."""


class CorruptAudioError(AudioError):
    """The stream is damaged and too little of it decodes."""


class TooShortError(AudioError):
    """The track is shorter than the configured minimum duration."""


class TooLongError(AudioError):
    """The track is longer than the configured maximum duration."""


class SilentAudioError(AudioError):
    """The track's peak level is below the silence threshold."""


class InvalidSamplesError(AudioError):
    """The decoded samples contain NaN or infinite values."""


class UnsupportedSampleRateError(AudioError):
    """The sample rate is outside the supported range."""


class DataError(MerError):
    """A dataset (CSV, folder layout, feature cache) is malformed or incomplete."""


class ConfigError(MerError):
    """A setting is out of its range or of the wrong type (raised where the config is built)."""


class ModelError(MerError):
    """A model directory is missing, corrupt or inconsistent with its config."""


class TrainingError(MerError):
    """Training cannot start or cannot go on."""


class TrainingBusyError(TrainingError):
    """Another training run is already in progress."""


class TrainingCancelled(TrainingError):
    """Training was stopped by the user (Ctrl-C, SIGTERM or the app's button)."""


class DownloadError(MerError):
    """A download failed: offline, wrong size, or an unsafe archive."""


class DeviceError(MerError):
    """The requested compute device (a GPU) is not available."""


class OutputFolderError(MerError):
    """A command was pointed at a folder it must not write into or replace."""


class BatchError(MerError):
    """A batch cannot start or cannot finish (no inputs, an unwritable output folder, nothing analysable)."""


class BatchCancelled(BatchError):
    """A batch was asked to stop (SIGTERM, the Library page's Cancel): what it analysed is kept, to resume."""


class MerWarning(UserWarning):
    """Something was recovered from (e.g. a truncated stream) and the user should know."""
