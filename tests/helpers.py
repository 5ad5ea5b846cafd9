"""What the tests share that is not a fixture: audio they write themselves, settings, small data sets.

Import from here (``from .helpers import tone``); fixtures stay in ``conftest.py``.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import soundfile as sf

if TYPE_CHECKING:  # the batch helpers' types, imported where they are used (most tests need none of them)
    from mer.analyze import Reading
    from mer.batch.inputs import FileRef
    from mer.batch.worker import TrackResult

APP = str(Path(__file__).resolve().parent.parent / "app.py")


def open_page(page: str | None = None, timeout: float = 120):
    """The app as a visitor reaches it, through ``app.py``, on ``page`` (``"pages/library.py"``) or the first
    page, run once; an ``AppTest``."""
    from streamlit.testing.v1 import AppTest  # only the app's tests pay for the import

    at = AppTest.from_file(APP, default_timeout=timeout)
    return (at.switch_page(page) if page else at).run()


def processes_of(run: str) -> dict[int, tuple[int, str]]:
    """The running processes (not zombies) whose environment holds ``MER_TEST_RUN=run``: pid → (parent pid,
    command line with spaces between its words). A test starts a command with that variable set; every process
    the command starts inherits it, whoever its parent is (a pool's workers are its fork server's children)."""
    found = {}
    for proc in Path("/proc").iterdir():
        try:
            if not proc.name.isdigit() or f"MER_TEST_RUN={run}".encode() not in (proc / "environ").read_bytes():
                continue
            stat = (proc / "stat").read_text().rsplit(")", 1)[1].split()
            if stat[0] != "Z":
                found[int(proc.name)] = (int(stat[1]), (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode())
        except OSError:  # gone meanwhile, or not ours to read
            continue
    return found


def tone(seconds: float, sr: int = 22_050, freq: float = 440.0, amp: float = 0.5, channels: int = 1) -> np.ndarray:
    """A sine (with a little noise so it is not pathological), shape (n,) or (n, channels)."""
    rng = np.random.default_rng(0)
    t = np.arange(int(round(seconds * sr))) / sr
    y = amp * (np.sin(2 * np.pi * freq * t) + 0.002 * rng.standard_normal(len(t)))
    y = y.astype(np.float32)
    if channels == 1:
        return y
    return np.stack([y * (1 - 0.1 * c) for c in range(channels)], axis=1)


def encode(y: np.ndarray, sr: int, fmt: str, subtype: str | None = None) -> bytes:
    buf = io.BytesIO()
    sf.write(buf, y, sr, format=fmt, subtype=subtype)
    return buf.getvalue()


def _nan_wav() -> bytes:
    y = tone(12.0)
    y[100:200] = np.nan
    return encode(y, 22_050, "WAV", "FLOAT")


#: Bad inputs with the words their error message must contain (library, CLI and app tests share them).
BAD_FILES = {
    "empty.wav": (b"", "empty"),
    "text.mp3": (b"definitely not audio\n" * 50, "not an audio file"),
    "truncated.flac": (encode(tone(12.0), 22_050, "FLAC")[:30_000], "damaged"),
    "clip.wav": (encode(tone(0.5), 22_050, "WAV"), "too short"),
    "silence.wav": (encode(np.zeros(22_050 * 30, dtype=np.float32), 22_050, "WAV"), "silent"),
    "nan.wav": (_nan_wav(), "invalid samples"),
    "hollow.wav": (encode(np.zeros(0, dtype=np.float32), 22_050, "WAV"), "no audio samples"),
}



#: A valid value other than the default for every setting, the cheap side of it where there is one (the Train
#: page test's job trains five networks with them); a new field must be added here to pass.
TRAIN = dict(epochs=1, lr=0.002, batch_size=32, weight_decay=0.002, target="dominant", segment_weight=0.5,
             segment_target="dominant", genre_weight=0.2, sampler="random", k_neighbors=3, class_weighted=True,
             mixup=0.2, fine_tune_lr=0.0005, track_weights="responses", augment=False,
             val_fraction=0.2, patience=3, lr_patience=1, lr_factor=0.3, seed=7, cv_folds=2, ladder=True, ship="all")
MODEL = dict(front_end="logmel", time_pool=8, conv_channels=(32, 32), embedding=32, lstm_hidden=16, lstm_layers=2, bidirectional=False,
             dropout=0.2, track_statistics=False)
#: Settings MODEL leaves at their defaults because they need the front-end it changes away from (fine-tuning
#: needs MusiCNN); tests/test_app.py checks their inputs on their own.
DEPENDENT = {"fine_tune"}


TINY_TRAIN = dict(epochs=2, batch_size=8, seed=0, patience=5, cv_folds=2)
#: The bundled architecture at a third of its width: the same layers, quick to train and to run in every test.
TINY_MODEL = dict(front_end="logmel", conv_channels=(32, 32), embedding=32, lstm_hidden=16)


def separable(n: int = 40, seed: int = 0, frames: int = 32):
    """:class:`~mer.data.dataset.TrackData` of tracks of two emotions that differ in which mel bands are loud, plus noise: learnable by any sane model.

    Windows of 32 frames instead of the 126 a real segment has: the network takes any length, and the tests
    that train on these run four times faster.
    """
    rng = np.random.default_rng(seed)
    labels = np.array([4, 6] * (n // 2))  # calmness, joyful activation
    X = rng.normal(-50, 6, size=(n, 20, 64, frames)).astype(np.float16)
    X[labels == 4, :, :20] += 15  # calm tracks: loud low bands
    X[labels == 6, :, 40:] += 15  # joyful tracks: loud high bands
    shares = np.full((n, 9), 0.1)
    shares[np.arange(n), labels] = 0.6
    from mer.data.dataset import TrackData

    return TrackData(X=X, labels=labels, shares=shares, genre=np.arange(n) % 4, track_id=np.arange(1, n + 1))


def synthetic_library_page(tmp_path: Path, monkeypatch, name: str, n_tracks: int, seed: int):
    """The Library page opened on a synthetic batch of ``n_tracks`` under a fresh data folder (no allowed roots
    set, names holding markup); returns the AppTest, the batch's folder and its tracks table."""
    import pandas as pd

    from mer.batch.synthetic import write_synthetic_batch

    data = tmp_path / "data"
    monkeypatch.setenv("MER_DATA_DIR", str(data))
    monkeypatch.delenv("MER_LIBRARY_ROOTS", raising=False)
    out = write_synthetic_batch(data / "batches" / name, n_tracks, seed=seed, root="/music/<b>&co")
    return open_page("pages/library.py", timeout=60), out, pd.read_parquet(out / "tracks.parquet")


def at_one_instant(start, refused: type[Exception]) -> list:
    """``start(0)`` and ``start(1)`` in two threads released at the same instant: each one's result, or the
    ``refused`` error it raised (two users pressing Start together: the app serves each from a thread)."""
    import threading

    barrier, results = threading.Barrier(2), [None, None]

    def run(i: int) -> None:
        barrier.wait()
        try:
            results[i] = start(i)
        except refused as e:
            results[i] = e

    threads = [threading.Thread(target=run, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


def legend_in_bottom_margin(fig, rows: int) -> None:
    """The legend hangs in the bottom margin below the x axis's title, with room for ``rows`` rows of entries."""
    from mer.plots.common import LEGEND_ROW_PX, XAXIS_ROOM_PX

    layout = fig.layout
    legend, bottom = layout.legend, layout.margin.b
    assert legend.orientation == "h" and legend.yref == "container" and legend.yanchor == "top"
    assert legend.y * layout.height <= bottom - XAXIS_ROOM_PX + 1  # its top lies under the axis title's room
    assert bottom >= XAXIS_ROOM_PX + rows * LEGEND_ROW_PX  # and every row fits above the figure's foot
    assert layout.height - layout.margin.t - bottom >= 200  # the plot itself keeps its height


def small_row_groups_batch(out: Path, n_tracks: int, seed: int, *, bucket_rows: int | None = None) -> Path:
    """A synthetic batch of ``n_tracks`` (2 % failed) whose segments lie in row groups of 16 tracks (and, with
    ``bucket_rows``, sorted in ranges of that many rows): a catalogue's paths through many groups, kept small."""
    import pytest

    from mer.batch import layout
    from mer.batch.synthetic import write_synthetic_batch

    mp = pytest.MonkeyPatch()
    mp.setattr(layout, "SEGMENT_GROUP_TRACKS", 16)
    if bucket_rows is not None:
        mp.setattr(layout, "_BUCKET_ROWS", bucket_rows)
    try:
        return write_synthetic_batch(out, n_tracks, seed=seed, chunk=70, error_rate=0.02)
    finally:
        mp.undo()


def small_catalogue(folder: Path):
    """A :class:`~mer.batch.query.Catalogue` over 80 made-up tracks (a tenth failed): navigation's small batch."""
    from mer.batch.catalogue import Catalogue
    from mer.batch.synthetic import write_synthetic_batch

    write_synthetic_batch(folder, 80, seed=4, error_rate=0.1)
    return Catalogue(folder)


def analysed_track(cat, k: int = 0):
    """The ``k``-th analysed track of ``cat`` (table order)."""
    return cat.track(int(np.flatnonzero(cat.usable)[k]))


#: The model identity a hand-made batch's rows carry.
BATCH_MODEL = ("m", "v1")


def batch_ref(path: str) -> FileRef:
    """A batch input of ``path``: its id, size 123 bytes, modified at 456 ns."""
    from mer.batch.inputs import FileRef, path_id

    return FileRef(path=path, track_id=path_id(path), size_bytes=123, mtime_ns=456)


def ok_result(path: str, top: int) -> TrackResult:
    """An analysed track of three 3-second segments whose every segment has emotion ``top`` at 0.6."""
    import numpy as np

    from mer.analyze import Reading
    from mer.audio.segments import Segments
    from mer.batch.inputs import path_id
    from mer.batch.worker import TrackResult
    from mer.choices import TrackStatus

    probs = np.full((3, 9), 0.05, dtype=np.float32)
    probs[:, top] = 0.6
    return TrackResult(path=path, track_id=path_id(path), size_bytes=1, mtime_ns=2, status=TrackStatus.OK,
                       duration_s=9.0, reading=Reading(Segments(np.arange(3) * 3, np.arange(1, 4) * 3, 1), probs,
                                                       probs.mean(axis=0)))


def random_reading(seed: int, *, tags: bool = True, va: bool = True) -> Reading:
    """A network's reading of 20 segments, made up from ``seed``: probabilities, and MusiCNN's tags and the
    valence–arousal path unless asked not to."""
    import numpy as np

    from mer.analyze import Reading
    from mer.audio.segments import Segments
    from mer.valence import VAPath

    rng = np.random.default_rng(seed)
    probs = rng.dirichlet(np.ones(9), size=20).astype(np.float32)
    path = VAPath(valence=rng.uniform(-1, 1, 20), arousal=rng.uniform(-1, 1, 20), track_valence=0.25,
                  track_arousal=-0.5) if va else None
    return Reading(Segments(np.arange(20) * 3000, np.arange(1, 21) * 3000, 1000), probs, probs.mean(axis=0),
                   tags=rng.random((20, 50)).astype(np.float32) if tags else None, precision="int8" if tags else None,
                   va=path)


HEADER = ("track id, genre, amazement, solemnity, tenderness, nostalgia, calmness, power, joyful_activation, "
          "tension, sadness, mood, liked, disliked, age, gender, mother tongue")


def official_csv(rows: list[tuple]) -> str:
    """data.csv text with the real header (a space after each comma)."""
    lines = [HEADER]
    for tid, genre, ticks in rows:
        lines.append(f"{tid}, {genre}, " + ", ".join(map(str, ticks)) + ", 3, 1, 0, 30, 1, English")
    return "\n".join(lines) + "\n"


def emotify_root(tmp_path: Path, rows: list[tuple], audio: bool = True) -> Path:
    """An Emotify-layout folder: ``data.csv`` of ``rows`` (track id, genre, votes) and, with ``audio``, a short
    tone per track, numbered by its rank within the genre as the official audio is."""
    root = tmp_path / "emotify"
    root.mkdir()
    (root / "data.csv").write_text(official_csv(rows))
    if audio:
        by_genre: dict[str, list[int]] = {}
        for tid, genre, _ in rows:
            by_genre.setdefault(genre, [])
            if tid not in by_genre[genre]:
                by_genre[genre].append(tid)
        for genre, ids in by_genre.items():
            (root / "emotifymusic" / genre).mkdir(parents=True)
            for rank, _ in enumerate(sorted(ids), 1):
                sf.write(root / "emotifymusic" / genre / f"{rank}.mp3", tone(10.5, freq=300 + rank), 22_050)
    return root


def votes(*ticked: str) -> list[int]:
    """One listener's ticks in Emotify's column order."""
    from mer.emotions import EMOTIONS

    return [int(e in ticked) for e in EMOTIONS]


#: Three tracks' votes: a solemn one, a tie that Emotify's order resolves, a powerful one.
ROWS = [
    (1, "classical", votes("solemnity", "sadness")),
    (1, "classical", votes("solemnity")),
    (1, "classical", votes("calmness")),
    (2, "classical", votes("tenderness", "calmness")),
    (2, "classical", votes("calmness", "tenderness")),  # tie: tenderness comes first in Emotify order
    (101, "rock", votes("power", "tension", "amazement")),
    (101, "rock", votes("power")),
]
