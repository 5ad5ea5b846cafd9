"""The Emotify dataset: its layout, its ``data.csv``, and the tables read from them.

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
demo corpus is FLAC), and the loader takes whichever exists. The official download is
:mod:`mer.data.fetch`.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from ..audio.decode import SUPPORTED_EXTENSIONS as AUDIO_EXTENSIONS
from ..emotions import EMOTIONS, GENRES
from ..errors import DataError

__all__ = [
    "Annotations",
    "TrackVotes",
    "Corpus",
    "MissingAudio",
    "load_annotations",
    "load_corpus",
    "read_votes",
    "BUNDLED_DATA_CSV",
    "has_emotify_layout",
    "REQUIRED_COLUMNS",
    "file_stamp",
]

REQUIRED_COLUMNS: tuple[str, ...] = ("track id", "genre", *EMOTIONS)

#: The official ``data.csv`` of all 400 tracks, shipped with mer (annotations only, no audio).
#: Aljanaki, Wiering & Veltkamp 2016, doi:10.1016/j.ipm.2015.03.004 (cite it wherever it is used).
BUNDLED_DATA_CSV = Path(__file__).resolve().parent.parent / "resources" / "emotify" / "data.csv"


def file_stamp(path: str | os.PathLike) -> str:
    """``size|mtime_ns`` of a file: what cache keys and fingerprints hash to notice a changed file."""
    st = os.stat(path)
    return f"{st.st_size}|{st.st_mtime_ns}"


@dataclass(frozen=True)
class TrackVotes:
    """One track's listeners' votes, as the Dataset page shows them."""

    track_id: int
    genre: str
    n_responses: int
    dominant: str
    shares: dict[str, float]  # the nine emotions in Emotify order

    @property
    def top_share(self) -> float:
        return max(self.shares.values())


class _TrackTable:
    """Shared views of a per-track table with one vote-share column per emotion and ``dominant``."""

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
    def track_ids(self) -> list[int]:
        """The tracks' ids, in the table's order."""
        return [int(t) for t in self.tracks["track_id"]]

    def votes_of(self, track_id: int) -> TrackVotes:
        """One track's votes: its genre, listeners, dominant emotion and vote shares.

        Raises
        ------
        DataError
            No track with that id.
        """
        shares = self.shares_of(track_id)
        row = self.tracks.loc[self.tracks["track_id"] == track_id].iloc[0]
        return TrackVotes(int(track_id), str(row["genre"]), int(row["n_responses"]), str(row["dominant"]),
                          {e: float(shares[e]) for e in EMOTIONS})

    def shares_of(self, track_id: int) -> pd.Series:
        """One track's vote shares (index: the nine emotions, Emotify order).

        Raises
        ------
        DataError
            No track with that id.
        """
        rows = self.tracks.index[self.tracks["track_id"] == track_id]
        if len(rows) == 0:
            ids = self.tracks["track_id"]
            raise DataError(f"No track {track_id} in this corpus; its ids run from {ids.min()} to {ids.max()}.")
        return self.tracks.loc[rows[0], list(EMOTIONS)].astype(float).rename(track_id)


@dataclass(frozen=True)
class Annotations(_TrackTable):
    """The listeners' votes of a ``data.csv``, one row per track, with no audio attached.

    Attributes
    ----------
    source : Path
        The ``data.csv`` read.
    tracks : pd.DataFrame
        Columns ``track_id, genre, rank, n_responses, dominant`` and one vote-share
        column per emotion (in :data:`~mer.emotions.EMOTIONS` order), sorted by ``track_id``.
    """

    source: Path
    tracks: pd.DataFrame


@dataclass(frozen=True)
class MissingAudio:
    """A track of ``data.csv`` whose audio file is not in the corpus folder."""

    track_id: int
    genre: str
    rank: int

    @property
    def expected(self) -> str:
        """Where the file should be, relative to the corpus root (the official name, ``.mp3``)."""
        return f"emotifymusic/{self.genre}/{self.rank}.mp3"


@dataclass(frozen=True)
class Corpus(_TrackTable):
    """A dataset in Emotify's layout, one row per track with audio.

    Attributes
    ----------
    root : Path
    tracks : pd.DataFrame
        Columns ``track_id, genre, rank, path, n_responses, dominant`` and one
        vote-share column per emotion (in :data:`~mer.emotions.EMOTIONS` order),
        sorted by ``track_id``.
    missing : tuple of MissingAudio
        Tracks of ``data.csv`` left out because their audio is absent (only with
        ``load_corpus(..., allow_missing=True)``; empty otherwise).
    """

    root: Path
    tracks: pd.DataFrame
    missing: tuple[MissingAudio, ...] = field(default=())

    @property
    def paths(self) -> list[Path]:
        return [Path(p) for p in self.tracks["path"]]

    def fingerprint(self) -> str:
        """A short hash of the track list, labels, and audio sizes and times: changes when the data does."""
        h = hashlib.sha256()
        for row in self.tracks.itertuples():
            h.update(f"{row.track_id}|{row.genre}|{row.dominant}|{file_stamp(row.path)}\n".encode())
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


def _per_track(df: pd.DataFrame, source: Path) -> pd.DataFrame:
    """Responses → one row per track: vote shares, responses, genre, rank within genre, dominant emotion."""
    genres = df.groupby("track id")["genre"].nunique()
    if (genres > 1).any():
        tid = genres[genres > 1].index[0]
        raise DataError(f"Track {tid} is listed under more than one genre in '{source.name}'.")
    grouped = df.groupby("track id")
    tracks = grouped[list(EMOTIONS)].mean()
    tracks["n_responses"] = grouped.size()
    tracks["genre"] = grouped["genre"].first()
    ticks = grouped[list(EMOTIONS)].sum().sum(axis=1)
    if (ticks == 0).any():
        tid = ticks[ticks == 0].index[0]
        raise DataError(
            f"Track {tid} has {int(tracks.loc[tid, 'n_responses'])} response(s) but none ticks an emotion, "
            f"so it has no label. Remove it from '{source.name}' or add its responses."
        )
    tracks = tracks.reset_index().rename(columns={"track id": "track_id"}).sort_values("track_id")
    tracks["track_id"] = tracks["track_id"].astype(int)
    tracks["rank"] = tracks.groupby("genre")["track_id"].rank(method="first").astype(int)
    # argmax takes the first maximum: ties go to the earlier emotion in Emotify's order
    tracks["dominant"] = [EMOTIONS[i] for i in np.argmax(tracks[list(EMOTIONS)].to_numpy(), axis=1)]
    columns = ["track_id", "genre", "rank", "n_responses", "dominant", *EMOTIONS]
    return tracks[columns].reset_index(drop=True)


def load_annotations(source: str | os.PathLike | None = None) -> Annotations:
    """Per-track vote shares and dominant emotions from a ``data.csv`` alone; no audio needed.

    Parameters
    ----------
    source : path, optional
        A ``data.csv``, or a folder holding one. ``None``: the official annotations of all
        400 Emotify tracks bundled with mer (:data:`BUNDLED_DATA_CSV`).

    Raises
    ------
    DataError
        Bad CSV (see :func:`read_votes`), a track whose responses tick no emotion,
        or a track listed under two genres.
    """
    path = BUNDLED_DATA_CSV if source is None else Path(source)
    if path.is_dir():
        path = path / "data.csv"
    return Annotations(source=path, tracks=_per_track(read_votes(path), path))


def _find_audio(folder: Path, rank: int) -> Path | None:
    for ext in AUDIO_EXTENSIONS:
        p = folder / f"{rank}{ext}"
        if p.is_file():
            return p
    return None


def _audio_ranks(folder: Path) -> set[int]:
    """Numbers of the audio files ``<n>.<ext>`` in a genre folder (other files are ignored)."""
    if not folder.is_dir():
        return set()
    return {int(p.stem) for p in folder.iterdir()
            if p.suffix.lower() in AUDIO_EXTENSIONS and p.stem.isdigit() and p.is_file()}


def _check_no_extra_audio(root: Path, tracks: pd.DataFrame) -> None:
    """More audio files in a genre folder than tracks of that genre: the rank mapping cannot be trusted."""
    for genre, n_tracks in tracks["genre"].value_counts().sort_index().items():
        ranks = _audio_ranks(root / "emotifymusic" / genre)
        if len(ranks) > n_tracks:
            extra = sorted(r for r in ranks if r > n_tracks)
            raise DataError(
                f"emotifymusic/{genre}/ holds {len(ranks)} audio files but data.csv lists {n_tracks} {genre} "
                f"tracks. Tracks map to files by their rank within the genre, so votes would be paired with the "
                f"wrong audio. Use the data.csv that came with this audio"
                + (f", or remove the files beyond rank {n_tracks} ({', '.join(f'{r}' for r in extra[:5])}"
                   f"{' ...' if len(extra) > 5 else ''})." if extra else ".")
            )


def _missing_message(root: Path, tracks: pd.DataFrame, missing: list[MissingAudio]) -> str:
    shown = ", ".join(m.expected for m in missing[:5]) + (f" and {len(missing) - 5} more" if len(missing) > 5 else "")
    counts = []
    for genre in sorted({m.genre for m in missing}):
        n_tracks = int((tracks["genre"] == genre).sum())
        n_files = len(_audio_ranks(root / "emotifymusic" / genre))
        counts.append(f"{genre}: data.csv lists {n_tracks} tracks, emotifymusic/{genre}/ holds {n_files} audio files")
    return (
        f"{len(missing)} audio file(s) listed in data.csv are missing under '{root}': {shown}. "
        f"({'; '.join(counts)}.) Tracks map to files by their rank within the genre: if this audio was not "
        "numbered for this data.csv, votes would be paired with the wrong audio. Unpack emotifymusic.zip into "
        f"the same folder as data.csv, or continue on the {len(tracks) - len(missing)} tracks present "
        "(allow_missing=True; on the command line --allow-missing)."
    )


def load_corpus(root: str | os.PathLike, *, allow_missing: bool = False) -> Corpus:
    """Load an Emotify-layout folder: per-track vote shares, dominant emotion, audio paths.

    Parameters
    ----------
    root : path
        Folder holding ``data.csv`` and ``emotifymusic/``.
    allow_missing : bool
        Go on without the tracks whose audio is absent: they are left out of
        ``tracks`` and listed in ``Corpus.missing``. Ranks keep counting every
        track of ``data.csv``, so the files present keep their pairing.

    Raises
    ------
    DataError
        Bad CSV (see :func:`read_votes`), a track whose responses tick no emotion,
        a track listed under two genres, a genre folder holding more audio files than
        ``data.csv`` has tracks of that genre (counts named), or audio files missing
        (named, with counts per genre) unless ``allow_missing``.
    """
    root = Path(root)
    tracks = _per_track(read_votes(root / "data.csv"), root / "data.csv")
    _check_no_extra_audio(root, tracks)
    paths, missing = [], []
    for row in tracks.itertuples():
        p = _find_audio(root / "emotifymusic" / row.genre, row.rank)
        if p is None:
            missing.append(MissingAudio(int(row.track_id), row.genre, int(row.rank)))
        paths.append(str(p) if p else "")
    if missing and not allow_missing:
        raise DataError(_missing_message(root, tracks, missing))
    if len(missing) == len(tracks):
        raise DataError(f"None of the {len(tracks)} tracks of data.csv has audio under '{root}/emotifymusic/'. "
                        "Unpack emotifymusic.zip into the same folder as data.csv.")
    tracks.insert(3, "path", paths)
    tracks = tracks[tracks["path"] != ""].reset_index(drop=True)
    return Corpus(root=root, tracks=tracks, missing=tuple(missing))



def has_emotify_layout(root: str | os.PathLike) -> bool:
    """Whether ``root`` is laid out as Emotify: its ``data.csv`` beside the ``emotifymusic/`` folder of audio."""
    return (Path(root) / "data.csv").is_file() and (Path(root) / "emotifymusic").is_dir()
