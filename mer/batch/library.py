"""Which batches exist, the folders the Library page may read and play, the sample batch; and the small-batch
pandas reading of a batch (:func:`load_tracks`, :func:`filter_tracks`, ...), kept as the reference the
catalogue-scale queries of :mod:`mer.batch.catalogue` (what the page uses) are tested against.

No streamlit here; the page lays these out.
"""

from __future__ import annotations

import os
import re
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import pandas as pd
import pyarrow.parquet as pq

from .. import settings
from ..audio.decode import SUPPORTED_EXTENSIONS
from ..choices import TrackStatus
from ..emotions import EMOTIONS, emotion_label
from ..errors import AudioError, BatchError, MerError
from ..files import exclusive_lock, file_kind, is_under, read_json, write_json_atomic
from ..text import csv_text, display_text

__all__ = ["BatchInfo", "TrackFile", "list_batches", "allowed_roots", "playable_path", "unplayable_reason",
           "read_track_file", "file_path", "tracks_csv", "table_view", "load_tracks", "track_segments", "filter_tracks", "group_shares",
           "emotion_counts", "TABLE_COLUMNS", "table_columns", "library_roots", "readable_folder", "batch_output",
           "sample_dir", "ensure_sample",
           "remembered_folders", "remember_folder", "folder_outside"]

#: Columns of the Library page's table, in order (valence and arousal only for a batch that has them).
TABLE_COLUMNS = ["file", "folder", "genre", "top_emotion", "top_probability", "valence", "arousal", *EMOTIONS,
                 "duration_s", "status", "error", "path"]
_MAX_DEPTH = 3


@dataclass(frozen=True)
class BatchInfo:
    """A batch result folder under the data folder."""

    name: str  # path relative to the data folder
    path: Path
    tracks: int
    finished: str

    def __str__(self) -> str:
        when = f", {self.finished.replace('T', ' ')[:16]}" if self.finished else ""
        return f"{self.name} ({self.tracks} tracks{when})"


def _batch_dirs(root: Path, depth: int = 0):
    if (root / "tracks.parquet").is_file() and (root / "segments.parquet").is_file():
        yield root
        return
    if depth >= _MAX_DEPTH:
        return
    try:  # links are not followed: a link in the data folder must not list (or serve) what lies elsewhere
        children = sorted(p for p in root.iterdir()
                          if p.is_dir() and not p.is_symlink() and not p.name.startswith("."))
    except OSError:
        return
    for child in children:
        yield from _batch_dirs(child, depth + 1)


def list_batches(root: Path | None = None) -> list[BatchInfo]:
    """Batch result folders (holding tracks.parquet and segments.parquet) up to 3 levels under ``root``.

    ``root`` defaults to the data folder (``$MER_DATA_DIR`` or ``data/``); the app never takes a typed path.
    """
    root = root or settings.data_dir()
    out = []
    for d in _batch_dirs(root) if root.is_dir() and not root.is_symlink() else ():
        if any((d / t).is_symlink() for t in ("tracks.parquet", "segments.parquet")):
            continue
        try:
            n = pq.ParquetFile(d / "tracks.parquet").metadata.num_rows
        except Exception:  # a damaged table is not offered  # noqa: BLE001
            continue
        finished = str(_summary(d).get("finished", ""))
        out.append(BatchInfo(name=str(d.relative_to(root)), path=d, tracks=n, finished=finished))
    return out


def _summary(batch: Path) -> dict[str, Any]:
    """A batch folder's ``batch.json`` (size- and depth-limited); empty when missing, unreadable or not an object."""
    try:
        summary = read_json(batch / "batch.json")
    except (OSError, MerError):
        return {}
    return summary if isinstance(summary, dict) else {}




def remembered_folders() -> list[Path]:
    """The folders the machine's owner allowed on the Library page (:func:`remember_folder`); none while
    ``$MER_LIBRARY_ROOTS`` is set, or when the file is missing or not one mer wrote."""
    if settings.shared_roots():
        return []
    try:
        saved = read_json(settings.library_folders_file())
    except (OSError, MerError):
        return []
    folders = saved.get("folders", []) if isinstance(saved, dict) else []
    return [Path(f) for f in folders if isinstance(f, str) and Path(f).is_absolute()] if isinstance(folders, list) \
        else []


def remember_folder(folder: Path) -> Path:
    """Allow the Library to read ``folder`` (links resolved) from now on: added to :func:`mer.settings.library_folders_file` in the
    data folder, written atomically. Only for the owner of the machine, after a confirmation (the page asks only
    a visitor on this machine, and never while ``$MER_LIBRARY_ROOTS`` is set).

    Raises
    ------
    BatchError
        ``folder`` is not a folder, or the data folder cannot be written.
    """
    real = Path(folder).expanduser().resolve()
    if not real.is_dir():
        raise BatchError(f"'{folder}' is not a folder on this computer. Type the folder that holds the music.")
    folders = [str(f) for f in remembered_folders()]
    if str(real) not in folders:
        try:
            write_json_atomic(settings.library_folders_file(), {"folders": [*folders, str(real)]})
        except OSError as e:
            raise BatchError(f"Cannot remember '{real}' in the data folder '{settings.data_dir()}' ({e.strerror}); make it "
                             "writable, or start the app with MER_LIBRARY_ROOTS naming the folder.") from None
    return real


def folder_outside(text: str) -> Path | None:
    """The folder typed on the Library page, links resolved, when it exists but lies outside
    :func:`library_roots` (what :func:`remember_folder` could allow); None otherwise."""
    text = text.strip()
    if not text:
        return None
    path = Path(text).expanduser()
    try:
        real = (path if path.is_absolute() else settings.data_dir() / path).resolve(strict=True)
    except (OSError, RuntimeError):
        return None
    return real if real.is_dir() and not is_under(real, library_roots()) else None


def allowed_roots(batch: Path) -> list[Path]:
    """Folders whose audio the page may play for a batch: the data folder, the library folders the batch
    recorded (``roots`` in its ``batch.json``), those in ``$MER_LIBRARY_ROOTS`` (separated by ``os.pathsep``)
    and, while that is not set, the folders the machine's owner allowed (:func:`remembered_folders`)."""
    roots = [settings.data_dir()]
    recorded = _summary(Path(batch)).get("roots", [])
    roots += [Path(r) for r in recorded if isinstance(r, str) and Path(r).is_absolute()] \
        if isinstance(recorded, list) else []
    return [*roots, *settings.shared_roots(), *remembered_folders()]


def playable_path(batch: Path, path: str) -> Path | None:
    """The audio file at ``path``, symlinks resolved, if the page may serve it: an audio file that lies under
    :func:`allowed_roots` of the batch. None for anything else (a link re-pointed at ``/etc/passwd``, a path
    written into a table by hand, a file that is gone)."""
    try:
        real = Path(path).resolve(strict=True)
    except (OSError, RuntimeError):  # gone, or a loop of links
        return None
    audio = str(path).lower().endswith(SUPPORTED_EXTENSIONS) and real.suffix.lower() in SUPPORTED_EXTENSIONS
    return real if audio and real.is_file() and is_under(real, allowed_roots(batch)) else None


def unplayable_reason(batch: Path, path: str) -> str | None:
    """Why the page may not play or read the file at ``path`` for ``batch``, as the end of a sentence about the
    file (``"is not a regular file: a named pipe"``); None if :func:`playable_path` accepts it.

    Looks without opening: a named pipe, a device or a folder is named for what it is, never read.
    """
    try:
        os.lstat(path)
    except OSError:
        return "is no longer there"
    try:
        real = Path(path).resolve(strict=True)
        mode = real.stat().st_mode
    except (OSError, RuntimeError):
        return "is a link that leads nowhere, or round in a loop"
    if not stat.S_ISREG(mode):
        return f"is not a regular file: {file_kind(mode)}"
    if not (str(path).lower().endswith(SUPPORTED_EXTENSIONS) and real.suffix.lower() in SUPPORTED_EXTENSIONS):
        return "is not named as audio (WAV, MP3, FLAC or OGG), links resolved"
    if not is_under(real, allowed_roots(batch)):
        return ("lies outside the library folders this batch analysed, links resolved (whoever runs the server may "
                "add its folder to MER_LIBRARY_ROOTS)")
    return None


@dataclass(frozen=True)
class TrackFile:
    """A Library track's bytes as the Analyze page reads them, and a token naming this version of the file
    (its path, size and modification time)."""

    data: bytes
    token: str


def _opened_path(fd: int) -> str | None:
    """The path the system names for an open file (Linux's ``/proc/self/fd``), or None where it names none."""
    try:
        return os.readlink(f"/proc/self/fd/{fd}")
    except OSError:
        return None


def read_track_file(batch: Path, path: str | os.PathLike, limit: int) -> TrackFile:
    """Read a track of ``batch`` for the Analyze page, checking it again at every read: the file at ``path``
    may have been swapped (for a link to ``/dev/zero``, a named pipe, a private file) since the Library offered it.

    The path must pass :func:`unplayable_reason` (an audio file under the batch's :func:`allowed_roots`, links
    resolved); the file is then opened without following a last link and without blocking (``O_NOFOLLOW``,
    ``O_NONBLOCK``), and the opened file itself must be a regular file under those roots, of at most ``limit``
    bytes; no more than ``limit + 1`` bytes are ever read.

    Raises
    ------
    AudioError
        Any of these fails; the message says which, and the way on.
    """
    shown = display_text(str(path))
    again = "Pick the track again on the Library page once the file is back in place."
    problem = unplayable_reason(batch, str(path))
    if problem:
        raise AudioError(f"'{shown}' {problem}. {again}")
    flags = os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(Path(path).resolve(strict=True), flags)
    except (OSError, RuntimeError) as e:  # swapped between the look and the open
        raise AudioError(f"'{shown}' cannot be opened ({getattr(e, 'strerror', None) or e}). {again}") from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise AudioError(f"'{shown}' is not a regular file: {file_kind(info.st_mode)}. {again}")
        opened = _opened_path(fd)
        if opened is not None and not is_under(opened, allowed_roots(batch)):
            raise AudioError(f"'{shown}' lies outside the library folders this batch analysed. {again}")
        too_big = AudioError(f"'{display_text(Path(path).name)}' is {info.st_size / 2**20:.0f} MB, more than the "
                             f"{limit // 2**20} MB this app analyses; run `python -m mer analyze FILE` on the server.")
        if info.st_size > limit:
            raise too_big
        chunks, size = [], 0
        while size <= limit:
            block = os.read(fd, min(1 << 20, limit + 1 - size))
            if not block:
                break
            chunks.append(block)
            size += len(block)
        if size > limit:  # it grew since fstat
            raise too_big
    finally:
        os.close(fd)
    return TrackFile(data=b"".join(chunks), token=f"library:{shown}:{info.st_size}:{info.st_mtime_ns}")


def file_path(row: Any) -> str:
    """The file system's path of a track row (``path_bytes``, exact for a name that is not UTF-8), or its
    ``path`` in a table an older mer wrote without it."""
    raw = row.get("path_bytes") if hasattr(row, "get") else None
    return os.fsdecode(raw) if isinstance(raw, bytes) else str(row["path"])


def library_roots() -> list[Path]:
    """Folders the Library page may analyse a library from: the data folder and those in ``$MER_LIBRARY_ROOTS``
    (separated by ``os.pathsep``), or while that is not set, the folders the machine's owner allowed
    (:func:`remembered_folders`); resolved, and those that do not exist left out."""
    roots = [settings.data_dir(), *settings.shared_roots(), *remembered_folders()]
    out: list[Path] = []
    for r in roots:
        try:
            real = r.expanduser().resolve(strict=True)
        except (OSError, RuntimeError):
            continue
        if real.is_dir() and real not in out:
            out.append(real)
    return out


def readable_folder(text: str) -> Path:
    """The folder typed on the Library page, links resolved, if the server lets the browser read it.

    A relative path is taken from the data folder. The folder's real path must lie under
    :func:`library_roots`: ``..`` and links that lead out of them are refused like any other path.

    Raises
    ------
    BatchError
        Nothing typed; no such folder; a file; a folder outside the allowed ones (the message lists them and
        names ``MER_LIBRARY_ROOTS``).
    """
    text = text.strip()
    if not text:
        raise BatchError("Type the path of a folder of music on this server.")
    path = Path(text).expanduser()
    path = path if path.is_absolute() else settings.data_dir() / path
    roots = library_roots()
    allowed = ", ".join(f"'{r}'" for r in roots) or "none"
    try:
        real = path.resolve(strict=True)
    except (OSError, RuntimeError):
        raise BatchError(f"There is no folder '{text}' on this server. Type the path of a folder under one of the "
                         f"folders the app may read: {allowed}.") from None
    if not is_under(real, roots):
        raise BatchError(f"'{text}' lies outside the folders this app may read ({allowed}; links resolved). Ask "
                         "whoever runs the server to add its folder to MER_LIBRARY_ROOTS (separated by "
                         f"'{os.pathsep}') when starting the app.")
    if not real.is_dir():
        raise BatchError(f"'{text}' is a file, not a folder. Type the folder that holds the music.")
    return real


_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")


def batch_output(name: str) -> Path:
    """The output folder of a batch the Library page starts, ``batches/NAME`` in the data folder.

    Raises
    ------
    BatchError
        ``name`` is not 1–64 letters, digits, ``.``, ``_`` or ``-`` starting with a letter or digit.
    """
    if not _NAME.fullmatch(name or ""):
        raise BatchError(f"'{name}' cannot name a batch: use 1 to 64 letters, digits, '.', '_' or '-', starting "
                         "with a letter or a digit.")
    return settings.batches_dir() / name


def sample_dir() -> Path:
    """The sample batch (the bundled example excerpts); hidden, so no user's batch name can meet it."""
    return settings.batches_dir() / ".sample"


def ensure_sample(model: Any, on_progress: Any = None) -> BatchInfo:
    """The Library page's sample: the bundled example excerpts analysed with ``model``, once.

    Kept in :func:`sample_dir` (written by :func:`mer.batch.run_batch`, so atomically) and analysed again
    only when the model changes (another name, config or weights) or an example is added.

    Raises
    ------
    BatchError
        The data folder cannot be written.
    """
    from ..data.examples import EXAMPLES_DIR, list_examples
    from .run import run_batch
    from .worker import model_identity

    out = sample_dir()
    settings.batches_dir().mkdir(parents=True, exist_ok=True)
    with exclusive_lock(settings.batches_dir() / ".sample.lock", wait=True):  # a second visitor waits for the first one's analysis
        summary = _summary(out)
        current = (summary.get("model_name"), summary.get("model_version")) == model_identity(model) \
            and summary.get("tracks") == len(list_examples()) and (out / "tracks.parquet").is_file()
        if not current:
            run_batch([EXAMPLES_DIR], out, model=model, workers=1, on_progress=on_progress)
    return BatchInfo(name="sample", path=out, tracks=len(list_examples()),
                     finished=str(_summary(out).get("finished", "")))


def load_tracks(path: Path) -> pd.DataFrame:
    """The tracks table of a batch folder."""
    return pq.read_table(Path(path) / "tracks.parquet").to_pandas()


def track_segments(path: Path, track_id: int) -> pd.DataFrame:
    """One track's segment rows, in order (read with a filter: the rest of the table stays on disk)."""
    t = pq.read_table(Path(path) / "segments.parquet", filters=[("track_id", "==", np.uint64(track_id))])
    return t.to_pandas().sort_values("segment", ignore_index=True)


def filter_tracks(tracks: pd.DataFrame, *, emotions: Sequence[str] | None = None, min_probability: float = 0.0,
                  status: str = TrackStatus.OK, text: str = "", sort_by: str = "top_probability",
                  valence_min: float | None = None, valence_max: float | None = None,
                  arousal_min: float | None = None, arousal_max: float | None = None) -> pd.DataFrame:
    """The rows the page's filters keep, sorted by ``sort_by`` (an emotion, ``top_probability``, ``valence`` or
    ``arousal``), highest first.

    ``emotions`` keeps tracks whose top emotion is one of them; ``min_probability`` applies to the top emotion's
    probability; ``status`` is ``"ok"``, ``"error"`` or ``"all"``; ``text`` must occur in the path (any case);
    ``valence_min`` ... ``arousal_max`` bound the learned valence and arousal (a track without them is left out).
    """
    keep = pd.Series(True, index=tracks.index)
    if status != "all":
        keep &= tracks["status"] == status
    if emotions is not None and status != TrackStatus.ERROR:
        keep &= tracks["top_emotion"].isin(list(emotions))
    if min_probability > 0:
        keep &= tracks["top_probability"].fillna(0) >= min_probability
    if text:
        keep &= tracks["path"].str.contains(text, case=False, regex=False)
    for column, low, high in (("valence", valence_min, valence_max), ("arousal", arousal_min, arousal_max)):
        if low is not None or high is not None:
            keep &= tracks[column].between(-1.0 if low is None else low, 1.0 if high is None else high)
    return tracks[keep].sort_values(sort_by, ascending=False, na_position="last", kind="stable")


def tracks_csv(tracks: pd.DataFrame) -> str:
    """The Library page's CSV download of some track rows: text cells neutralised for spreadsheets, each kept in
    its cell (:func:`mer.text.csv_text`), without ``path_bytes`` (``path`` shows it)."""
    return csv_text(tracks.drop(columns=["path_bytes"], errors="ignore"))


def table_columns(va: bool) -> list[str]:
    """:data:`TABLE_COLUMNS`, without valence and arousal for a batch that has none (``va`` False)."""
    return TABLE_COLUMNS if va else [c for c in TABLE_COLUMNS if c not in ("valence", "arousal")]


def table_view(tracks: pd.DataFrame, va: bool = True) -> pd.DataFrame:
    """The Library page's table of some track rows, as a reader sees it: :func:`table_columns` (``va``: whether
    the batch has valence and arousal), the top emotion by its readable label (``joyful activation``), every
    probability a fraction in [0, 1], and a missing text (no genre tag, no error) an empty cell rather than
    ``None``. The downloads keep the stored values."""
    view = tracks[table_columns(va)].copy()
    view["top_emotion"] = [emotion_label(e) if isinstance(e, str) else "" for e in view["top_emotion"]]
    for column in ("file", "folder", "genre", "status", "error", "path"):
        view[column] = [v if isinstance(v, str) else "" for v in view[column]]
    return view


def emotion_counts(tracks: pd.DataFrame) -> pd.Series:
    """Tracks per top emotion (analysed tracks only), in Emotify's order."""
    ok = tracks[tracks["status"] == TrackStatus.OK]
    return ok["top_emotion"].value_counts().reindex(list(EMOTIONS), fill_value=0)


def group_shares(tracks: pd.DataFrame, by: str) -> pd.DataFrame:
    """Share of each top emotion within each group (``folder`` or ``genre``); rows sum to 1, plus a count column."""
    ok = tracks[(tracks["status"] == TrackStatus.OK) & tracks[by].notna()]
    table = pd.crosstab(ok[by], ok["top_emotion"]).reindex(columns=list(EMOTIONS), fill_value=0)
    shares = table.div(table.sum(axis=1), axis=0)
    shares["tracks"] = table.sum(axis=1)
    return shares
