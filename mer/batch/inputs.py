"""What a batch reads: folders (recursive), globs and text files of paths, streamed one path at a time."""

from __future__ import annotations

import glob
import hashlib
import itertools
import os
from dataclasses import dataclass
from typing import Iterable, Iterator, Sequence

import numpy as np

from ..audio.decode import SUPPORTED_EXTENSIONS
from ..errors import BatchError
from ..files import is_under

__all__ = ["FileRef", "iter_paths", "iter_file_refs", "count_paths", "path_id", "input_key", "HashSet",
           "input_roots"]

_GLOB_CHARS = set("*?[")


def path_id(path: str) -> int:
    """A stable 64-bit id of an absolute path (the ``track_id`` column; joins tracks and segments)."""
    return int.from_bytes(hashlib.blake2b(path.encode("utf-8", "surrogateescape"), digest_size=8).digest(), "little")


def input_key(path: str, size: int, mtime_ns: int, model_id: str) -> int:
    """A 64-bit id of one analysis: the file as it is now, by this model. Any change means a new key."""
    text = f"{path}\0{size}\0{mtime_ns}\0{model_id}"
    return int.from_bytes(hashlib.blake2b(text.encode("utf-8", "surrogateescape"), digest_size=8).digest(), "little")


@dataclass(frozen=True)
class FileRef:
    """One audio file to analyse, as found on disk."""

    path: str  # absolute
    track_id: int
    size_bytes: int
    mtime_ns: int
    refused: str | None = None  # why the file is not read (its real path lies outside the folders allowed)


def _is_audio(name: str) -> bool:
    return name.lower().endswith(SUPPORTED_EXTENSIONS)


def _walk(folder: str) -> Iterator[str]:
    """Audio files under ``folder``, recursively, in a stable (sorted) order, without listing it all first."""
    for root, dirs, files in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for f in sorted(files):
            if _is_audio(f) and not f.startswith("."):
                yield os.path.join(root, f)


def _list_file(path: str) -> Iterator[str]:
    """Paths in a text file, one a line; blank lines and ``#`` comments skipped; relative to the file's folder.

    Bytes that are not UTF-8 are kept as :func:`os.fsdecode` keeps them in a file name, so such a path is found."""
    base = os.path.dirname(path)
    with open(path, encoding="utf-8", errors="surrogateescape") as f:  # a name that is not UTF-8, as os.fsdecode gives it
        for line in f:
            line = line.strip()
            if line and not line.startswith("#"):
                yield line if os.path.isabs(line) else os.path.join(base, line)


def _expand(item: str) -> Iterator[str]:
    if os.path.isdir(item):
        yield from _walk(item)
    elif os.path.isfile(item):
        yield from ([item] if _is_audio(item) else _list_file(item))
    elif _GLOB_CHARS & set(item):
        for p in sorted(glob.iglob(item, recursive=True)):
            if os.path.isdir(p):
                yield from _walk(p)
            elif _is_audio(p):
                yield p
    else:
        raise BatchError(f"'{item}' is not a folder, an audio file, a text file of paths or a glob that matches "
                         "anything. Check the path.")


def iter_paths(inputs: Iterable[str | os.PathLike]) -> Iterator[str]:
    """Absolute paths of the audio files the inputs name, streamed, each path once per input item.

    Parameters
    ----------
    inputs : iterable of path-like
        Folders (searched recursively for .wav/.mp3/.flac/.ogg), single audio files, globs
        (``'music/**/*.mp3'``), or text files listing one path a line.

    Raises
    ------
    BatchError
        An input that is none of these.
    """
    for item in inputs:
        for p in _expand(os.fspath(item)):
            yield os.path.abspath(p)


def _glob_base(pattern: str) -> str:
    """The folder a glob searches: its leading components without wildcards."""
    parts = pattern.split(os.sep)
    fixed = [p for p in itertools.takewhile(lambda p: not (_GLOB_CHARS & set(p)), parts)]
    return os.sep.join(fixed) or "."


def input_roots(inputs: Iterable[str | os.PathLike]) -> list[str]:
    """Where the audio the inputs name lies, symlinks resolved: each folder, file and glob base, and the
    common folder of a text file's paths. Recorded with a batch, they bound what the browser may read."""
    def folder_of(path: str) -> str:  # the folder's links resolved, not the file's own (it may point anywhere)
        return os.path.realpath(os.path.dirname(os.path.abspath(path)))

    roots = []
    for item in map(os.fspath, inputs):
        if os.path.isdir(item):
            roots.append(os.path.realpath(item))
        elif os.path.isfile(item) and _is_audio(item):
            roots.append(os.path.join(folder_of(item), os.path.basename(item)))
        elif os.path.isfile(item):
            listed = [folder_of(p) for p in _list_file(item)]
            if listed:
                roots.append(os.path.commonpath(listed))
        elif _GLOB_CHARS & set(item):
            roots.append(os.path.realpath(_glob_base(item)))
    return sorted(set(roots))


def count_paths(inputs: Iterable[str | os.PathLike]) -> int:
    """How many paths :func:`iter_paths` will give (a second pass over the inputs; constant memory)."""
    return sum(1 for _ in iter_paths(inputs))


def iter_file_refs(inputs: Iterable[str | os.PathLike], seen: "HashSet | None" = None, *,
                   within: Sequence[str | os.PathLike] | None = None) -> Iterator[FileRef]:
    """:class:`FileRef` per distinct audio path (size and mtime -1 for a listed path that cannot be read).

    ``seen`` collects the track ids given so far, so a file named twice (by a folder and a glob) is analysed once.
    With ``within``, a file whose real path (links resolved) lies outside those folders is not read: its
    reference carries the reason, and it becomes an error row.
    """
    seen = seen if seen is not None else HashSet()
    for p in iter_paths(inputs):
        tid = path_id(p)
        if tid in seen:
            continue
        seen.add(tid)
        if within is not None and os.path.lexists(p) and not is_under(p, within):
            yield FileRef(path=p, track_id=tid, size_bytes=-1, mtime_ns=-1,
                          refused=f"'{os.path.basename(p)}' lies outside the folders this batch may read "
                                  f"({', '.join(map(str, within))}; links resolved), so it was not read.")
            continue
        try:
            st = os.stat(p)
        except OSError:  # listed but missing: the worker reports it with the CLI's own message
            yield FileRef(path=p, track_id=tid, size_bytes=-1, mtime_ns=-1)
            continue
        yield FileRef(path=p, track_id=tid, size_bytes=st.st_size, mtime_ns=st.st_mtime_ns)


class HashSet:
    """A set of 64-bit ids in 8 bytes each (a sorted numpy array plus a small buffer), for millions of tracks."""

    _FLUSH = 65_536

    def __init__(self, values: Iterable[int] | np.ndarray = ()) -> None:
        self._sorted = np.unique(np.asarray(list(values) if not isinstance(values, np.ndarray) else values,
                                            dtype=np.uint64))
        self._recent: set[int] = set()

    def __contains__(self, value: int) -> bool:
        if value in self._recent:
            return True
        i = np.searchsorted(self._sorted, np.uint64(value))
        return bool(i < len(self._sorted) and self._sorted[i] == np.uint64(value))

    def add(self, value: int) -> None:
        self._recent.add(int(value))
        if len(self._recent) >= self._FLUSH:
            self._merge()

    def update(self, values: np.ndarray) -> None:
        self._merge()
        self._sorted = np.union1d(self._sorted, np.asarray(values, dtype=np.uint64))

    def isin(self, values: np.ndarray) -> np.ndarray:
        """Vectorised membership of an array of ids."""
        self._merge()
        return np.isin(np.asarray(values, dtype=np.uint64), self._sorted)

    def __len__(self) -> int:
        self._merge()
        return len(self._sorted)

    def _merge(self) -> None:
        if self._recent:
            self._sorted = np.union1d(self._sorted, np.fromiter(self._recent, dtype=np.uint64, count=len(self._recent)))
            self._recent.clear()
