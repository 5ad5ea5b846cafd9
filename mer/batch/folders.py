"""The folders the Library page may read and play: the data folder, the library folders a batch recorded,
``$MER_LIBRARY_ROOTS``, and the folders the machine's owner allowed (remembered in the data folder); and a track's
bytes read from them for the Analyze page, checked again at every read.

No streamlit here; the page lays these out.
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass
from pathlib import Path

from .. import settings
from ..audio.decode import SUPPORTED_EXTENSIONS
from ..errors import AudioError, BatchError, MerError
from ..files import file_kind, is_under, read_json, write_json_atomic
from ..text import display_text
from .library import batch_summary

__all__ = ["remembered_folders", "remember_folder", "folder_outside", "allowed_roots", "playable_path",
           "unplayable_reason", "TrackFile", "read_track_file", "library_roots", "readable_folder"]


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
    recorded = batch_summary(Path(batch)).get("roots", [])
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
