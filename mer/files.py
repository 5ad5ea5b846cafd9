"""What mer may write and read on disk: atomic files, folders it owns, crash-safe replacement, allowed roots.

Three rules, one place:

* **Nothing half-written.** Files are written to a temporary name beside their
  destination and renamed (:func:`write_atomic`, :func:`write_json_atomic`).
* **Nothing of anyone else's.** A command writes into a folder only when it
  created it, the folder is empty, or it carries that command's own marker; a
  folder is replaced only when everything in it is what mer writes there
  (:func:`check_output_dir`), and never ``/``, the home folder or the working folder.
* **A crash never loses a folder.** :func:`replace_dir` swaps a complete new
  folder for an old one with a journal: killed at any instant, the old or the
  new folder is under its name, or :func:`repair` puts one back at the next
  start. :func:`name_lock` lets one writer at a time own a name, on :func:`exclusive_lock`, mer's one ``flock``.

And the browser reads only files under allowed roots (:func:`is_under`), and every JSON file mer reads is
size- and depth-limited (:func:`read_json`, :func:`loads_json`): a hostile file is an error, never a hang or a
``RecursionError``.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import re
import shutil
import stat
import tempfile
from pathlib import Path
from typing import Any, BinaryIO, Callable, Iterable, Iterator

import numpy as np

from .errors import MerError, OutputFolderError

__all__ = ["JSON_MAX_BYTES", "JSON_MAX_DEPTH", "loads_json", "read_json", "open_atomic", "write_atomic", "write_json_atomic", "check_output_dir",
           "exclusive_lock", "hold_lock", "name_lock", "replace_dir", "repair", "is_under", "file_digest", "file_kind"]


#: The largest JSON file mer reads (the biggest it writes, a model's metrics.json, is about 100 kB).
JSON_MAX_BYTES = 16 * 1024 * 1024
#: The deepest nesting of arrays and objects mer accepts (its own files nest at most 6 deep).
JSON_MAX_DEPTH = 64

_JSON_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"', re.DOTALL)
_OPEN, _CLOSE = np.frombuffer(b"[{", np.uint8), np.frombuffer(b"]}", np.uint8)


def _json_depth(data: bytes) -> int:
    """The deepest nesting of ``[`` and ``{`` in JSON text, brackets inside strings not counted (linear time)."""
    codes = np.frombuffer(_JSON_STRING.sub(b'""', data), np.uint8)
    steps = np.isin(codes, _OPEN).astype(np.int64) - np.isin(codes, _CLOSE)
    return int(np.cumsum(steps).max(initial=0))


def loads_json(data: bytes | str, *, what: str, max_bytes: int = JSON_MAX_BYTES, max_depth: int = JSON_MAX_DEPTH,
               error: type[MerError] = MerError) -> Any:
    """Parse JSON text that may come from anyone, within limits of size and nesting.

    Parameters
    ----------
    data : bytes or str
        The JSON text.
    what : str
        How messages name it, e.g. ``"'models/x/config.json'"``.
    max_bytes : int > 0
        The most bytes accepted.
    max_depth : int > 0
        The deepest nesting of arrays and objects accepted (checked before parsing, so a file of 100,000
        ``[`` is refused in milliseconds instead of ending in a ``RecursionError``).
    error : type of MerError
        The caller's kind of error.

    Raises
    ------
    MerError (or ``error``)
        The text is too large, nested too deep, not UTF-8 or not JSON.
    """
    raw = data.encode("utf-8", "surrogatepass") if isinstance(data, str) else bytes(data)
    if len(raw) > max_bytes:
        raise error(f"{what} is too large to be a file mer wrote ({len(raw):,} bytes; at most {max_bytes:,}). "
                    "Remove or replace it.")
    depth = _json_depth(raw)
    if depth > max_depth:
        raise error(f"{what} is nested too deeply to be a file mer wrote ({depth} levels; at most {max_depth}). "
                    "Remove or replace it.")
    try:
        return json.loads(raw)
    except (ValueError, RecursionError) as e:  # JSONDecodeError and UnicodeDecodeError are ValueErrors
        raise error(f"{what} is not valid JSON ({type(e).__name__}: {str(e)[:120]}). Remove or replace it.") from None


def read_json(path: str | os.PathLike, *, what: str | None = None, max_bytes: int = JSON_MAX_BYTES,
              max_depth: int = JSON_MAX_DEPTH, error: type[MerError] = MerError) -> Any:
    """Read a JSON file with :func:`loads_json`'s limits, reading no more than ``max_bytes + 1`` bytes.

    Raises
    ------
    FileNotFoundError
        There is no file at ``path`` (callers decide whether that is an error or a default).
    MerError (or ``error``)
        The file cannot be read, is too large, nested too deeply or not JSON.
    """
    what = what or f"'{path}'"
    try:
        with open(path, "rb") as f:
            raw = f.read(max_bytes + 1)
    except FileNotFoundError:
        raise
    except OSError as e:
        raise error(f"{what} cannot be read ({e.strerror or e}).") from None
    return loads_json(raw, what=what, max_bytes=max_bytes, max_depth=max_depth, error=error)


@contextlib.contextmanager
def open_atomic(path: str | os.PathLike, *, mode: int = 0o644) -> Iterator[BinaryIO]:
    """A binary file that appears at ``path`` only once it is complete: written under a temporary name in the
    same folder, fsynced and renamed when the block ends; removed if the block fails."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}-", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, mode)  # mkstemp's 0600 would hide the file from other users
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_atomic(path: str | os.PathLike, data: bytes | str, *, mode: int = 0o644) -> Path:
    """Write ``data`` to ``path`` with :func:`open_atomic`."""
    with open_atomic(path, mode=mode) as f:
        f.write(data.encode() if isinstance(data, str) else data)
    return Path(path)


def write_json_atomic(path: str | os.PathLike, data: Any) -> Path:
    """:func:`write_atomic` of ``data`` as indented JSON."""
    return write_atomic(path, json.dumps(data, indent=2))


def _forbidden(path: Path) -> str | None:
    """Why ``path`` may never be written into or replaced by a command, or None."""
    resolved = path.resolve()
    if resolved == Path(resolved.anchor):
        return "it is the file system's root"
    if resolved == Path.home().resolve():
        return "it is the home folder"
    if resolved == Path.cwd().resolve() or Path.cwd().resolve().is_relative_to(resolved):
        return "it is the working folder (or holds it)"
    return None


def _describe(entries: list[str]) -> str:
    shown = ", ".join(sorted(entries)[:3])
    return shown + (f" and {len(entries) - 3} more" if len(entries) > 3 else "")


def check_output_dir(path: str | os.PathLike, *, markers: Iterable[str], what: str,
                     allowed: Iterable[str] | None = None, ignore: Iterable[str] = (),
                     error: type[MerError] = OutputFolderError) -> None:
    """Check that a command may write (or replace) ``what`` at folder ``path``.

    Allowed: a path that does not exist, an empty folder (``ignore`` names entries that do not count, such
    as a lock file), or a folder holding one of ``markers`` (files that command writes there itself) and,
    when ``allowed`` is given, nothing but those names, so that replacing it loses nothing of anyone else's.

    Raises
    ------
    OutputFolderError (or ``error``, the caller's own kind)
        ``path`` is a file, ``/``, the home or working folder, or a folder holding other files.
    """
    path = Path(path)
    if not path.exists() and not path.is_symlink():
        return
    if not path.is_dir() or path.is_symlink():
        raise error(f"'{path}' is not a folder mer wrote (a file or a link). Choose a new folder for "
                                f"{what}.")
    why = _forbidden(path)
    if why:
        raise error(f"Refusing to write {what} into '{path}': {why}. Choose a new folder.")
    entries = [e.name for e in path.iterdir() if e.name not in set(ignore)]
    if not entries:
        return
    if not any((path / m).exists() for m in markers):
        raise error(
            f"'{path}' already holds files mer did not write ({_describe(entries)}); refusing to write {what} "
            "there. Choose a new or empty folder.")
    foreign = [e for e in entries if allowed is not None and e not in set(allowed)]
    if foreign:
        raise error(
            f"Refusing to replace '{path}': besides {what} it holds other files ({_describe(foreign)}). "
            "Move them away or choose another folder.")


@contextlib.contextmanager
def exclusive_lock(path: str | os.PathLike, *, wait: bool = False, busy: Callable[[], BaseException] | None = None,
                   remove: bool = False) -> Iterator[None]:
    """Hold an exclusive advisory lock on the file ``path`` (created if missing): mer's one ``flock``.

    The system drops the lock when the process dies, kill -9 included, so a crash never leaves a name locked.

    Parameters
    ----------
    path : path-like
        The lock file; its folder must exist.
    wait : bool
        Wait for another holder to release it; otherwise raise ``busy()`` at once.
    busy : callable returning an exception, optional
        The error raised when another process holds the lock (default :class:`BlockingIOError`).
    remove : bool
        Remove the file on release (while still held, so that a process waiting for it locks a fresh file; the
        holder checks that the file it locked is still the one at ``path``). Every user of a name must agree.

    Raises
    ------
    OSError
        The file cannot be created or opened.
    """
    path = Path(path).absolute()
    while True:
        fd = os.open(path, os.O_CREAT | os.O_RDWR, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX if wait else fcntl.LOCK_EX | fcntl.LOCK_NB)
            if _same_file(path, fd):  # its last holder may have removed it between our open and our lock
                break
        except BlockingIOError:
            os.close(fd)
            raise (busy() if busy else BlockingIOError(f"'{path}' is locked by another process.")) from None
        except BaseException:
            os.close(fd)
            raise
        os.close(fd)
    try:
        yield
    finally:
        if remove:
            path.unlink(missing_ok=True)
        os.close(fd)


def _same_file(path: Path, fd: int) -> bool:
    try:
        return os.stat(path).st_ino == os.fstat(fd).st_ino
    except FileNotFoundError:
        return False


def hold_lock(path: str | os.PathLike, *, busy: Callable[[], Exception]) -> contextlib.AbstractContextManager[None]:
    """:func:`exclusive_lock` on ``path``, not waited for and never removed (a job's ``lock``): ``busy()`` is
    raised when another holder has it, another process or another thread of this one."""
    return exclusive_lock(path, busy=busy)


_HELD: set[Path] = set()


@contextlib.contextmanager
def name_lock(folder: Path, name: str, *, what: str, error: type[MerError] = OutputFolderError,
              wait: bool = False) -> Iterator[None]:
    """Hold ``folder/.lock-<name>`` while a run writes ``name`` (an :func:`exclusive_lock`, its file removed on
    release, so nothing is left behind).

    Re-entrant within a process. Raises :class:`OutputFolderError` (or ``error``) when another process holds it,
    unless ``wait``: then it waits for that process to release it.
    """
    lock = (folder / f".lock-{name}").absolute()
    if lock in _HELD:
        yield
        return
    folder.mkdir(parents=True, exist_ok=True)
    busy = lambda: error(f"Another run is writing {what} '{name}' in {folder}. Wait for it to finish "  # noqa: E731
                         "or choose another name.")
    with exclusive_lock(lock, wait=wait, busy=busy, remove=True):
        _HELD.add(lock)
        try:
            yield
        finally:
            _HELD.discard(lock)


def _journal(dest: Path) -> Path:
    return dest.parent / f".replace-{dest.name}.json"


#: Test hook: called with the step's name before each step of :func:`replace_dir` (a test kills the process there).
_on_step: Callable[[str], None] = lambda step: None  # noqa: E731


def replace_dir(new: Path, dest: Path) -> None:
    """Put the complete folder ``new`` at ``dest``, replacing what is there, so that a crash loses neither.

    The swap is written in a journal first; if the process dies between the two renames, :func:`repair`
    (run before anything reads ``dest``) completes it. Both folders must be in the same parent.
    """
    if not dest.exists():
        _on_step("rename-new")
        os.rename(new, dest)
        return
    old = dest.parent / f".old-{dest.name}-{new.name.rsplit('-', 1)[-1]}"
    journal = _journal(dest)
    _on_step("journal")
    write_json_atomic(journal, {"new": new.name, "old": old.name})
    _on_step("rename-old")
    os.rename(dest, old)
    _on_step("rename-new")
    os.rename(new, dest)
    _on_step("remove-old")
    shutil.rmtree(old, ignore_errors=True)
    journal.unlink(missing_ok=True)


def repair(folder: Path) -> list[str]:
    """Finish or undo every replacement in ``folder`` that a crash interrupted; returns the names repaired.

    A replacement whose writer is still alive (it holds the name's lock) is left alone.
    """
    repaired = []
    for journal in sorted(folder.glob(".replace-*.json")) if folder.is_dir() else ():
        name = journal.name[len(".replace-"):-len(".json")]
        try:
            entry = read_json(journal)
            new, old = folder / Path(entry["new"]).name, folder / Path(entry["old"]).name
            with name_lock(folder, name, what="the folder"):
                dest = folder / name
                if not dest.exists():
                    src = new if new.is_dir() else old
                    if src.is_dir():
                        os.rename(src, dest)
                        repaired.append(name)
                shutil.rmtree(old, ignore_errors=True)
                if new.is_dir() and new != dest:
                    shutil.rmtree(new, ignore_errors=True)
                journal.unlink(missing_ok=True)
        except (OSError, ValueError, KeyError, TypeError, MerError):
            continue  # busy or unreadable: the next start tries again
    return repaired


def is_under(path: str | os.PathLike, roots: Iterable[str | os.PathLike]) -> bool:
    """Whether ``path``, symlinks resolved, lies inside one of ``roots`` (also resolved)."""
    try:
        real = Path(path).resolve(strict=True)
    except (OSError, RuntimeError):
        return False
    for root in roots:
        try:
            if real.is_relative_to(Path(root).resolve()):
                return True
        except (OSError, RuntimeError):
            continue
    return False


_KINDS = ((stat.S_ISREG, "a regular file"), (stat.S_ISDIR, "a folder"), (stat.S_ISFIFO, "a named pipe"),
          (stat.S_ISLNK, "a link"), (stat.S_ISSOCK, "a socket"), (stat.S_ISCHR, "a character device"),
          (stat.S_ISBLK, "a block device"))


def file_kind(mode: int) -> str:
    """What a file of ``st_mode`` ``mode`` is, in words: ``"a regular file"``, ``"a named pipe"``, ``"a folder"``..."""
    return next((words for test, words in _KINDS if test(mode)), "not a file of any known kind")


def file_digest(path: str | os.PathLike) -> str:
    """The first 16 hex digits of a file's SHA-256: a fingerprint that survives a clone (``file_stamp`` does not)."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()[:16]
