"""Playlists of a batch's tracks: the M3U text any player opens, and where mer may write it (checked before any
work, written atomically).
"""

from __future__ import annotations

import math
import os
import urllib.parse
from pathlib import Path
from typing import Sequence

from .. import settings
from ..errors import BatchError
from ..files import is_under, open_atomic
from .query import Track

__all__ = ["m3u_text", "playlist_roots", "m3u_target", "write_m3u", "LINE_BREAKS"]

#: Every character :meth:`str.splitlines` ends a line at: a playlist path holding one is written as a URI.
LINE_BREAKS = frozenset("\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029")


def m3u_text(tracks: Sequence[Track], relative_to: str | os.PathLike | None = None) -> str:
    """An extended M3U playlist of ``tracks``: a title line (file name, top emotion) and the path of each.

    A path holding any line break a reader may honour (:data:`LINE_BREAKS`: ``\\n``, ``\\r``, ``\\x0b``,
    ``\\x0c``, ``\\x1c``–``\\x1e``, ``\\x85``, ``\\u2028``, ``\\u2029``) is written as a ``file://`` URI
    (percent-encoded), so no path breaks the list; a duration that is not a finite number is written as
    unknown (-1). With ``relative_to`` (a folder: the music's, or where the playlist will be saved), the other
    paths are written relative to it (``./`` in front, or ``../`` where a track lies outside it, so that no entry
    reads as a URL or a directive): the playlist plays wherever that folder's music is.

    Raises
    ------
    BatchError
        A path that is not absolute (``http://…``, ``#EXTINF…``: a table written by hand or damaged), which a
        player would read as a URL or a directive.
    """
    lines = ["#EXTM3U"]
    for t in tracks:
        if not os.path.isabs(t.path):
            raise BatchError(f"The batch stores the path {ascii(t.path)[:200]}, which is not absolute, so it cannot "
                             "be a playlist entry (a player would read it as a URL or a directive): the table was "
                             "written by hand or is damaged. Leave that track out, or analyse the library again.")
        title = " ".join(f"{Path(t.path).stem} — {(t.top_emotion or 'not analysed').replace('_', ' ')}".split())
        d = t.duration_s
        seconds = int(round(d)) if d is not None and math.isfinite(d) else -1
        where = t.path if LINE_BREAKS.isdisjoint(t.path) else \
            "file://" + urllib.parse.quote(t.path, errors="surrogateescape")
        if relative_to is not None and where == t.path:
            where = os.path.relpath(t.path, relative_to)
            where = where if where.startswith(f"..{os.sep}") else f".{os.sep}{where}"
        lines += [f"#EXTINF:{seconds},{title}", where]
    return "\n".join(lines) + "\n"


def _too_wide(folder: Path) -> str | None:
    """Why ``folder`` (resolved) may not hold playlists, nor lend its subfolders to them, or None: the file
    system's root, or the home folder or a folder holding it (the rule of ``--out``)."""
    if folder == Path(folder.anchor):
        return "the file system's root"
    if Path.home().resolve().is_relative_to(folder):
        return "the home folder" if folder == Path.home().resolve() else "a folder holding the home folder"
    return None


def playlist_roots() -> list[Path]:
    """Folders ``--m3u`` may write into (resolved): the working folder, the data folder and
    ``$MER_LIBRARY_ROOTS``, less any that is ``/``, the home folder or a folder holding it (a service's working
    folder is often ``/``: it would open the whole disk)."""
    roots = []
    for root in (Path.cwd(), settings.data_dir(), *settings.shared_roots()):
        real = root.expanduser().resolve()
        if _too_wide(real) is None and real not in roots:
            roots.append(real)
    return roots


def m3u_target(dest: str | os.PathLike, batch: str | os.PathLike) -> Path:
    """The file a playlist may be written to at ``dest`` (its folder resolved), checked before any work.

    Raises
    ------
    BatchError
        ``dest`` does not end in ``.m3u``/``.m3u8``; its folder does not exist, is ``/`` or the home folder, lies
        outside :func:`playlist_roots` (links resolved) or inside the batch folder; ``dest`` is a folder.
    """
    dest = Path(dest)
    if dest.suffix.lower() not in (".m3u", ".m3u8"):
        raise BatchError(f"'{dest}' is not a playlist name: end it in .m3u or .m3u8.")
    roots = playlist_roots()
    try:
        folder = dest.parent.resolve(strict=True)
    except (OSError, RuntimeError):
        raise BatchError(f"The folder of '{dest}' does not exist. Create it, or write the playlist elsewhere.") from None
    why = _too_wide(folder)
    if why:
        raise BatchError(f"'{dest}' lies in {why}, which mer never writes into. Write the playlist into a folder "
                         "of its own (under the working folder, the data folder or MER_LIBRARY_ROOTS).")
    if is_under(folder, [batch]):
        raise BatchError(f"'{dest}' lies inside the batch folder, which these reads never write into. Write the "
                         "playlist elsewhere.")
    if not is_under(folder, roots):
        allowed = ", ".join(f"'{r}'" for r in roots) or "none here"
        raise BatchError(f"'{dest}' lies outside the folders mer may write playlists into ({allowed}; links "
                         "resolved). Write it under one of them, or add its folder to MER_LIBRARY_ROOTS.")
    target = folder / dest.name
    if target.is_dir():
        raise BatchError(f"'{dest}' is a folder. Name a playlist file.")
    return target


def write_m3u(tracks: Sequence[Track], dest: str | os.PathLike, batch: str | os.PathLike) -> Path:
    """Write :func:`m3u_text` of ``tracks`` to ``dest`` atomically (a temporary name, then renamed).

    Raises
    ------
    BatchError
        As :func:`m3u_target`.
    """
    target = m3u_target(dest, batch)
    with open_atomic(target) as f:
        f.write(m3u_text(tracks).encode("utf-8", "surrogateescape"))
    return target
