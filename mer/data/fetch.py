"""The official Emotify download: ``data.csv`` and ``emotifymusic.zip``, fetched, unpacked safely and checked.

Files arrive under temporary names; the archive is unpacked only if its entries stay inside the target
folder and its sizes, entry count and compression ratios are Emotify's; the folder is checked as a corpus
(:func:`mer.data.emotify.load_corpus`) before it replaces anything, and marked once complete.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import urllib.error
import urllib.request
import zipfile
from pathlib import Path, PurePosixPath

from .. import settings
from ..emotions import GENRES
from ..errors import DataError, DownloadError
from ..files import check_output_dir
from ..progress import ProgressFn
from .emotify import Corpus, load_corpus

__all__ = [
    "fetch_emotify",
    "emotify_ready",
    "safe_extract",
    "emotify_reachable",
]

#: Bounds on what an Emotify archive may unpack to, from the official archive (363 MB of 128 kbps MP3s in
#: 400 files and 5 folders) with a wide margin: anything beyond is not Emotify (a zip bomb, a wrong file).
ARCHIVE_MAX_BYTES = 1_000_000_000
ARCHIVE_MAX_ENTRIES = 2_000
ARCHIVE_MAX_RATIO = 20  # unpacked ÷ packed per entry: MP3s barely compress (about 1.0); bombs reach 1000
#: Written into a downloaded Emotify folder once it is complete and checked: only such a folder is offered.
FETCHED_MARKER = ".mer-fetched.json"
#: Written first into a folder fetch_emotify downloads into: the folder is mer's, a later fetch may write there.
FETCHING_MARKER = ".mer-fetch.json"


def _download(url: str, dest: Path, on_progress: ProgressFn | None, timeout: float) -> None:
    """Stream ``url`` to ``dest`` via a temporary name; check the size against Content-Length."""
    tmp = dest.with_name(f".{dest.name}.part")
    try:
        with urllib.request.urlopen(url, timeout=timeout) as resp, open(tmp, "wb") as f:
            total = int(resp.headers.get("Content-Length") or 0)
            done = 0
            while chunk := resp.read(1 << 20):
                f.write(chunk)
                done += len(chunk)
                if on_progress:
                    on_progress(done, total or done, f"downloading {dest.name} ({done / 1e6:.1f} MB)")
        if total and done != total:
            raise DownloadError(
                f"Download of {dest.name} stopped at {done:,} of {total:,} bytes. Run the command again."
            )
        tmp.replace(dest)
    except (urllib.error.URLError, OSError, TimeoutError) as e:
        reason = getattr(e, "reason", e)
        raise DownloadError(
            f"Could not download {url} ({reason}). Check the internet connection, or download data.csv and "
            "emotifymusic.zip by hand into the target folder and unzip the archive there."
        ) from None
    finally:
        tmp.unlink(missing_ok=True)


def _check_entries(zf: zipfile.ZipFile, archive: Path, target: Path, max_bytes: int, max_entries: int) -> None:
    """Refuse an archive whose entries escape ``target`` or whose size, count or compression ratio is not Emotify's."""
    infos = zf.infolist()
    if len(infos) > max_entries:
        raise DownloadError(f"'{archive.name}' holds {len(infos):,} entries, more than the {max_entries:,} an Emotify "
                            "archive can have; refusing to unpack it. Download it again from the official address.")
    total = 0
    for info in infos:
        name = PurePosixPath(info.filename)
        is_link = (info.external_attr >> 16) & 0o170000 == 0o120000
        dest = (target / name).resolve()
        if name.is_absolute() or ".." in name.parts or is_link or not dest.is_relative_to(target):
            raise DownloadError(
                f"'{archive.name}' holds an entry that would be written outside the target folder "
                f"({info.filename!r}); refusing to unpack it."
            )
        total += info.file_size
        if info.file_size > ARCHIVE_MAX_RATIO * max(info.compress_size, 1) + 65_536:
            raise DownloadError(f"'{archive.name}' holds an entry that expands {info.file_size / max(info.compress_size, 1):.0f}× "
                                f"({info.filename!r}): not an audio file; refusing to unpack it.")
    if total > max_bytes:
        raise DownloadError(f"'{archive.name}' would unpack to {total / 1e9:.2f} GB, more than the {max_bytes / 1e9:.2f} GB "
                            "an Emotify archive can; refusing to unpack it.")


def _extract_bounded(zf: zipfile.ZipFile, info: zipfile.ZipInfo, target: Path) -> Path:
    """Extract one entry, never writing more bytes than its header announced."""
    dest = target / info.filename
    if info.is_dir():
        dest.mkdir(parents=True, exist_ok=True)
        return dest
    dest.parent.mkdir(parents=True, exist_ok=True)
    left = info.file_size
    with zf.open(info) as src, open(dest, "wb") as out:
        while chunk := src.read(min(1 << 20, left + 1)):
            left -= len(chunk)
            if left < 0:
                raise DownloadError(f"'{info.filename}' is larger than its archive header says; refusing it.")
            out.write(chunk)
    return dest


def safe_extract(archive: str | os.PathLike, target: str | os.PathLike, *, max_bytes: int = ARCHIVE_MAX_BYTES,
                 max_entries: int = ARCHIVE_MAX_ENTRIES) -> list[Path]:
    """Unzip ``archive`` into ``target``, refusing any entry that would land outside it, and any archive
    larger, longer or more compressed than Emotify's. On any failure, nothing it wrote is left.

    Raises
    ------
    DownloadError
        An absolute path, a ``..`` component or a symlink entry; more than ``max_bytes`` unpacked or
        ``max_entries`` entries, or an entry compressed like a zip bomb; or a bad zip file.
    """
    target = Path(target).resolve()
    try:
        zf = zipfile.ZipFile(archive)
    except zipfile.BadZipFile:
        raise DownloadError(f"'{Path(archive).name}' is not a valid zip archive. Download it again.") from None
    written: list[Path] = []
    with zf:
        _check_entries(zf, Path(archive), target, max_bytes, max_entries)
        try:
            for info in zf.infolist():
                written.append(_extract_bounded(zf, info, target))
        except (OSError, zipfile.BadZipFile, DownloadError) as e:
            for p in sorted(written, key=lambda p: len(p.parts), reverse=True):
                shutil.rmtree(p, ignore_errors=True) if p.is_dir() else p.unlink(missing_ok=True)
            if isinstance(e, DownloadError):
                raise
            raise DownloadError(f"Unpacking '{Path(archive).name}' failed ({e}); nothing was kept. Download it "
                                "again.") from None
    return written


def fetch_emotify(out: str | os.PathLike, *, base_url: str = settings.EMOTIFY_BASE_URL,
                  on_progress: ProgressFn | None = None, timeout: float = 30.0) -> Corpus:
    """Download the official ``data.csv`` and ``emotifymusic.zip`` into ``out`` and unpack them.

    Files arrive under temporary names and are renamed when complete; the
    archive is unpacked with :func:`safe_extract`, then the folder is checked with
    :func:`load_corpus`.

    Raises
    ------
    DownloadError
        Offline, a truncated download, or an unsafe or invalid archive.
    DataError
        The downloaded data does not form a complete corpus.
    """
    out = Path(out)
    # a folder of someone else's (a data.csv of their own, say) is never written into
    check_output_dir(out, markers=(FETCHING_MARKER,), what="the Emotify download", error=DownloadError)
    out.mkdir(parents=True, exist_ok=True)
    (out / FETCHING_MARKER).write_text(json.dumps({"source": base_url}))
    (out / FETCHED_MARKER).unlink(missing_ok=True)
    base = base_url if base_url.endswith("/") else base_url + "/"
    _download(base + "data.csv", out / "data.csv", on_progress, timeout)
    archive = out / "emotifymusic.zip"
    _download(base + "emotifymusic.zip", archive, on_progress, timeout)
    with tempfile.TemporaryDirectory(dir=out, prefix=".unpack-") as tmp:  # removed, whatever happens
        staging = Path(tmp) / "corpus"
        safe_extract(archive, staging / "unzipped")
        src = next((p for p in (staging / "unzipped").rglob("emotifymusic") if p.is_dir()), None)
        if src is None and all((staging / "unzipped" / g).is_dir() for g in GENRES):
            src = staging / "unzipped"  # an archive whose top level is the genre folders
        if src is None:
            raise DownloadError("emotifymusic.zip has no emotifymusic/ folder. Download it again.")
        src.rename(staging / "emotifymusic")
        shutil.copyfile(out / "data.csv", staging / "data.csv")
        try:  # checked before it replaces anything: a broken archive leaves nothing behind
            load_corpus(staging)
        except DataError as e:
            first = str(e).split(" under ")[0]
            raise DownloadError(f"The downloaded archive is not a complete Emotify ({first}); nothing was kept. "
                                "Download it again.") from None
        dest = out / "emotifymusic"
        if dest.exists():
            shutil.rmtree(dest)
        (staging / "emotifymusic").rename(dest)
    archive.unlink(missing_ok=True)  # unpacked and checked: 363 MB less on disk
    corpus = load_corpus(out)
    (out / FETCHED_MARKER).write_text(json.dumps({"tracks": len(corpus), "source": base}))
    return corpus


def emotify_ready(root: str | os.PathLike) -> bool:
    """Whether ``root`` holds an Emotify that :func:`fetch_emotify` completed and checked."""
    return (Path(root) / FETCHED_MARKER).is_file() and (Path(root) / "emotifymusic").is_dir()


def emotify_reachable(base_url: str | None = None, timeout: float = 3.0) -> str | None:
    """None when ``data.csv`` can be fetched from ``base_url``; otherwise why not, in words."""
    base = base_url or settings.emotify_url()
    url = (base if base.endswith("/") else base + "/") + "data.csv"
    try:
        with urllib.request.urlopen(urllib.request.Request(url, method="HEAD"), timeout=timeout):
            return None
    except urllib.error.HTTPError as e:
        return f"{url} answered HTTP {e.code}"
    except (urllib.error.URLError, OSError, TimeoutError) as e:
        return f"{url} cannot be reached ({getattr(e, 'reason', e)})"
