"""The Emotify dataset: its layout, its ``data.csv``, and the official download.

Layout (Aljanaki, Wiering & Veltkamp 2016)::

    ROOT/data.csv
    ROOT/emotifymusic/{classical,rock,electronic,pop}/{1..100}.mp3

``data.csv`` has one row per listener response; the nine emotion columns are
0/1 ticks (up to three per response). A track's label is the share of its
responses that ticked each emotion (a soft label); its dominant emotion is the
largest share, ties going to the earlier emotion in Emotify's column order.

Track ids map to files through the genre column and the track's rank within its
genre (the smallest id of a genre is ``1.mp3``). The official audio is MP3; a
corpus may hold FLAC, WAV or OGG files under the same names instead (mer's
demo corpus is FLAC), and the loader takes whichever exists.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
import urllib.error
import urllib.request
import zipfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Callable

import numpy as np
import pandas as pd

from .config import EMOTIONS, GENRES
from .errors import DataError, DownloadError

__all__ = [
    "Corpus",
    "load_corpus",
    "read_votes",
    "EMOTIFY_BASE_URL",
    "fetch_emotify",
    "safe_extract",
    "REQUIRED_COLUMNS",
    "emotify_url",
    "emotify_reachable",
    "downloaded_emotify_dir",
]

ProgressFn = Callable[[int, int, str], None]

EMOTIFY_BASE_URL = "http://www2.projects.science.uu.nl/memotion/emotifydata/"
REQUIRED_COLUMNS: tuple[str, ...] = ("track id", "genre", *EMOTIONS)
AUDIO_EXTENSIONS: tuple[str, ...] = (".mp3", ".flac", ".wav", ".ogg")


@dataclass(frozen=True)
class Corpus:
    """A dataset in Emotify's layout, one row per track.

    Attributes
    ----------
    root : Path
    tracks : pd.DataFrame
        Columns ``track_id, genre, rank, path, n_responses, dominant`` and one
        vote-share column per emotion (in :data:`~mer.config.EMOTIONS` order),
        sorted by ``track_id``.
    """

    root: Path
    tracks: pd.DataFrame

    def __len__(self) -> int:
        return len(self.tracks)

    @property
    def shares(self) -> np.ndarray:
        """Vote shares, shape (n_tracks, 9); each row sums to the mean ticks per response."""
        return self.tracks[list(EMOTIONS)].to_numpy(dtype=np.float64)

    @property
    def labels(self) -> np.ndarray:
        """Dominant emotion index per track, shape (n_tracks,)."""
        return self.tracks["dominant"].map({e: i for i, e in enumerate(EMOTIONS)}).to_numpy()

    @property
    def paths(self) -> list[Path]:
        return [Path(p) for p in self.tracks["path"]]

    def fingerprint(self) -> str:
        """A short hash of the track list, labels, and audio sizes and times: changes when the data does."""
        h = hashlib.sha256()
        for row in self.tracks.itertuples():
            st = os.stat(row.path)
            h.update(f"{row.track_id}|{row.genre}|{row.dominant}|{st.st_size}|{st.st_mtime_ns}\n".encode())
        return h.hexdigest()[:16]


def read_votes(csv_path: str | os.PathLike) -> pd.DataFrame:
    """Read ``data.csv`` and check it: columns, 0/1 votes, at least one row.

    Header names are stripped of the spaces the real file puts after each comma.

    Raises
    ------
    DataError
        Missing file, empty CSV, missing columns (named), votes other than 0/1.
    """
    path = Path(csv_path)
    if not path.is_file():
        raise DataError(f"No data.csv at '{path}'. An Emotify folder holds data.csv beside emotifymusic/.")
    try:
        df = pd.read_csv(path, skipinitialspace=True)
    except pd.errors.EmptyDataError:
        raise DataError(f"'{path}' is empty. Use the data.csv that comes with Emotify.") from None
    except (pd.errors.ParserError, UnicodeDecodeError) as e:
        raise DataError(f"'{path}' is not a readable CSV ({e}).") from None
    df.columns = [str(c).strip() for c in df.columns]
    missing = [c for c in REQUIRED_COLUMNS if c not in df.columns]
    if missing:
        raise DataError(
            f"'{path.name}' lacks the column(s) {', '.join(repr(m) for m in missing)}. "
            f"Emotify's data.csv has: {', '.join(REQUIRED_COLUMNS)}, mood, liked, ..."
        )
    if df.empty:
        raise DataError(f"'{path.name}' has a header but no responses. Use the full Emotify data.csv.")
    votes = df[list(EMOTIONS)]
    bad = ~votes.isin([0, 1])
    if bad.to_numpy().any():
        row, col = np.argwhere(bad.to_numpy())[0]
        raise DataError(
            f"'{path.name}' has a vote that is not 0 or 1: column '{EMOTIONS[col]}', data row {row + 1} "
            f"holds {votes.iat[row, col]!r}. Emotion columns must hold 0 or 1 ticks."
        )
    if df["track id"].isna().any():
        raise DataError(f"'{path.name}' has responses without a track id.")
    df["genre"] = df["genre"].astype(str).str.strip().str.lower()
    unknown = sorted(set(df["genre"]) - set(GENRES))
    if unknown:
        raise DataError(f"'{path.name}' names unknown genre(s) {unknown}; Emotify's are {list(GENRES)}.")
    df[list(EMOTIONS)] = votes.astype(np.int8)
    return df


def _find_audio(folder: Path, rank: int) -> Path | None:
    for ext in AUDIO_EXTENSIONS:
        p = folder / f"{rank}{ext}"
        if p.is_file():
            return p
    return None


def load_corpus(root: str | os.PathLike) -> Corpus:
    """Load an Emotify-layout folder: per-track vote shares, dominant emotion, audio paths.

    Parameters
    ----------
    root : path
        Folder holding ``data.csv`` and ``emotifymusic/``.

    Raises
    ------
    DataError
        Bad CSV (see :func:`read_votes`), a track whose responses tick no emotion,
        a track listed under two genres, or audio files missing (named).
    """
    root = Path(root)
    df = read_votes(root / "data.csv")
    genres = df.groupby("track id")["genre"].nunique()
    if (genres > 1).any():
        tid = genres[genres > 1].index[0]
        raise DataError(f"Track {tid} is listed under more than one genre in data.csv.")
    grouped = df.groupby("track id")
    tracks = grouped[list(EMOTIONS)].mean()
    tracks["n_responses"] = grouped.size()
    tracks["genre"] = grouped["genre"].first()
    ticks = grouped[list(EMOTIONS)].sum().sum(axis=1)
    if (ticks == 0).any():
        tid = ticks[ticks == 0].index[0]
        raise DataError(
            f"Track {tid} has {int(tracks.loc[tid, 'n_responses'])} response(s) but none ticks an emotion, "
            "so it has no label. Remove it from data.csv or add its responses."
        )
    tracks = tracks.reset_index().rename(columns={"track id": "track_id"}).sort_values("track_id")
    tracks["rank"] = tracks.groupby("genre")["track_id"].rank(method="first").astype(int)
    # argmax takes the first maximum: ties go to the earlier emotion in Emotify's order
    tracks["dominant"] = [EMOTIONS[i] for i in np.argmax(tracks[list(EMOTIONS)].to_numpy(), axis=1)]

    paths, missing = [], []
    for row in tracks.itertuples():
        folder = root / "emotifymusic" / row.genre
        p = _find_audio(folder, row.rank)
        if p is None:
            missing.append(f"emotifymusic/{row.genre}/{row.rank}.mp3")
        paths.append(str(p) if p else "")
    if missing:
        shown = ", ".join(missing[:5]) + (f" and {len(missing) - 5} more" if len(missing) > 5 else "")
        raise DataError(
            f"{len(missing)} audio file(s) listed in data.csv are missing under '{root}': {shown}. "
            "Unpack emotifymusic.zip into the same folder as data.csv."
        )
    tracks["path"] = paths
    columns = ["track_id", "genre", "rank", "path", "n_responses", "dominant", *EMOTIONS]
    return Corpus(root=root, tracks=tracks[columns].reset_index(drop=True))


# --- download -------------------------------------------------------------------------


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


def safe_extract(archive: str | os.PathLike, target: str | os.PathLike) -> list[Path]:
    """Unzip ``archive`` into ``target``, refusing any entry that would land outside it.

    Raises
    ------
    DownloadError
        An absolute path, a ``..`` component or a symlink entry; or a bad zip file.
    """
    target = Path(target).resolve()
    try:
        zf = zipfile.ZipFile(archive)
    except zipfile.BadZipFile:
        raise DownloadError(f"'{Path(archive).name}' is not a valid zip archive. Download it again.") from None
    written = []
    with zf:
        for info in zf.infolist():
            name = PurePosixPath(info.filename)
            is_link = (info.external_attr >> 16) & 0o170000 == 0o120000
            dest = (target / name).resolve()
            if name.is_absolute() or ".." in name.parts or is_link or not dest.is_relative_to(target):
                raise DownloadError(
                    f"'{Path(archive).name}' holds an entry that would be written outside the target folder "
                    f"({info.filename!r}); refusing to unpack it."
                )
        for info in zf.infolist():
            written.append(Path(zf.extract(info, target)))
    return written


def fetch_emotify(out: str | os.PathLike, *, base_url: str = EMOTIFY_BASE_URL,
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
    out.mkdir(parents=True, exist_ok=True)
    base = base_url if base_url.endswith("/") else base_url + "/"
    _download(base + "data.csv", out / "data.csv", on_progress, timeout)
    archive = out / "emotifymusic.zip"
    _download(base + "emotifymusic.zip", archive, on_progress, timeout)
    with tempfile.TemporaryDirectory(dir=out) as tmp:
        safe_extract(archive, tmp)
        src = next((p for p in Path(tmp).rglob("emotifymusic") if p.is_dir()), None)
        if src is None and all((Path(tmp) / g).is_dir() for g in GENRES):
            src = Path(tmp)  # an archive whose top level is the genre folders
        if src is None:
            raise DownloadError("emotifymusic.zip has no emotifymusic/ folder. Download it again.")
        dest = out / "emotifymusic"
        if dest.exists():
            shutil.rmtree(dest)
        if src == Path(tmp):
            shutil.copytree(src, dest)
        else:
            src.rename(dest)
    return load_corpus(out)


def emotify_url() -> str:
    """Where Emotify is downloaded from: ``$MER_EMOTIFY_URL`` or the official Utrecht University address."""
    return os.environ.get("MER_EMOTIFY_URL", EMOTIFY_BASE_URL)


def downloaded_emotify_dir() -> Path:
    """Where the app keeps an Emotify it downloaded: ``<data dir>/emotify`` (git-ignored)."""
    from .config import data_dir

    return data_dir() / "emotify"


def emotify_reachable(base_url: str | None = None, timeout: float = 3.0) -> str | None:
    """None when ``data.csv`` can be fetched from ``base_url``; otherwise why not, in words."""
    base = base_url or emotify_url()
    url = (base if base.endswith("/") else base + "/") + "data.csv"
    try:
        with urllib.request.urlopen(urllib.request.Request(url, method="HEAD"), timeout=timeout):
            return None
    except urllib.error.HTTPError as e:
        return f"{url} answered HTTP {e.code}"
    except (urllib.error.URLError, OSError, TimeoutError) as e:
        return f"{url} cannot be reached ({getattr(e, 'reason', e)})"
