"""Navigation by emotion over a :class:`~mer.batch.query.Catalogue`: tracks like this one, and journeys from one
mood to another (the iso principle of music therapy: start where the listener is, change a little at each step),
between two emotions or between two points of the learned valence–arousal plane, written as an M3U playlist any
player opens.
"""

from __future__ import annotations

import math
import os
import urllib.parse
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np

from .. import settings
from ..choices import SimilarBy
from ..emotions import EMOTIONS
from ..errors import BatchError
from ..files import is_under, open_atomic
from ..tags import TAGS
from .catalogue import Catalogue
from .query import Track, check_emotion

__all__ = ["Neighbour", "JourneyStep", "Journey", "similar", "journey", "journey_start", "plane_journey", "check_point", "shared_emotions", "shared_tags", "m3u_text",
           "playlist_roots", "m3u_target", "write_m3u", "SHAPE_WEIGHT", "SIMILAR_BY", "MAX_TRACKS", "LINE_BREAKS"]

#: Weight of the timeline's shape (spread and trend per emotion) against the nine probabilities in a distance.
SHAPE_WEIGHT = 0.5
#: Weight of the learned valence and arousal (and of their shape, times :data:`SHAPE_WEIGHT`) in a distance by
#: emotion profile: a half, so that each counts as the probability it comes from (``2 P - 1`` halved is ``P - 1/2``).
VA_WEIGHT = 0.5
_SHARED_TOP = 3
_SHARED_TAGS = 5
#: What "similar" may measure: the emotion profile, or what MusiCNN hears (where the batch stores it).
SIMILAR_BY: tuple[str, ...] = tuple(SimilarBy)
#: The most tracks one answer holds (similar's ``top``, a journey's ``steps``): a list to read or play, not an
#: export of the library (``library query --json`` is that).
MAX_TRACKS = 1_000
#: Every character :meth:`str.splitlines` ends a line at: a playlist path holding one is written as a URI.
LINE_BREAKS = frozenset("\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029")


@dataclass(frozen=True)
class Neighbour:
    """A track near another: its distance (by emotion profile, or by sound), the emotions both have among their
    top three, and, by sound, the MusiCNN tags both have among their top five."""

    track: Track
    distance: float
    shared: tuple[str, ...]
    shared_tags: tuple[str, ...] = ()

    def to_dict(self) -> dict:
        return {**self.track.to_dict(), "distance": round(self.distance, 4), "shared_emotions": list(self.shared),
                **({"shared_tags": list(self.shared_tags)} if self.shared_tags else {})}


@dataclass(frozen=True)
class JourneyStep:
    """One track of a journey: the waypoint it stands for, how far from it, and the change from the step before
    (in the nine probabilities, or on the valence–arousal plane for a journey across it)."""

    track: Track
    waypoint: tuple[float, ...]
    distance: float
    change: float

    def to_dict(self) -> dict:
        return {**self.track.to_dict(), "waypoint": [round(x, 4) for x in self.waypoint],
                "distance_to_waypoint": round(self.distance, 4), "change": round(self.change, 4)}


@dataclass(frozen=True)
class Journey:
    """A playlist moving from one mood to another, one small change at a time.

    Attributes
    ----------
    start, target : str
        Between emotions: the first track's top emotion and the target emotion. Across the plane: the two
        points as ``"valence +0.50, arousal -0.30"``.
    steps : tuple of JourneyStep
    space : {"emotions", "valence_arousal"}
        What the waypoints, distances and changes are measured in.
    points : tuple of two (valence, arousal), or None
        Across the plane, where it starts and ends.
    """

    start: str
    target: str
    steps: tuple[JourneyStep, ...]
    space: str = "emotions"
    points: tuple[tuple[float, float], tuple[float, float]] | None = None

    @property
    def file_stem(self) -> str:
        """A file name for its playlist: ``sadness-to-calmness``, or ``v+0.50a-0.30-to-v-0.80a+0.20``."""
        if self.points is None:
            return f"{self.start}-to-{self.target}"
        return "-to-".join(f"v{v:+.2f}a{a:+.2f}" for v, a in self.points)

    def to_dict(self) -> dict:
        plane = {} if self.points is None else {"from_point": list(self.points[0]), "to_point": list(self.points[1])}
        return {"from": self.start, "to": self.target, "space": self.space, **plane,
                "steps": [s.to_dict() for s in self.steps]}


def shared_emotions(a: np.ndarray, b: np.ndarray, top: int = _SHARED_TOP) -> tuple[str, ...]:
    """Emotions among the ``top`` most probable of both ``a`` and ``b`` (each ``(9,)``), in ``a``'s order."""
    ta, tb = np.argsort(-a, kind="stable")[:top], set(np.argsort(-b, kind="stable")[:top].tolist())
    return tuple(EMOTIONS[i] for i in ta if i in tb)


def _check_count(name: str, value: int, low: int) -> None:
    if not low <= value <= MAX_TRACKS:
        raise BatchError(f"{name} must lie between {low} and {MAX_TRACKS:,}, got {value:,}. For more of the "
                         "library, use `python -m mer library query BATCH --json`.")


def similar(cat: Catalogue, path: str, top: int = 10, by: SimilarBy | str = SimilarBy.EMOTION) -> list[Neighbour]:
    """The ``top`` analysed tracks nearest to the track at ``path`` (itself excluded), nearest first.

    ``by="emotion"``: Euclidean distance over the emotion profile, the nine track probabilities and the shape of
    the 20-segment timeline (each emotion's spread and trend, weighted :data:`SHAPE_WEIGHT`), with the learned
    valence and arousal and the shape of their path, weighted :data:`VA_WEIGHT`, where the batch has them (a track
    without them counts as undecided: 0). ``by="sound"``:
    cosine distance between what MusiCNN hears in the two tracks (their 50 tags' probabilities averaged over the
    segments), where the batch stores it.

    Tracks whose probabilities are not all finite numbers (a damaged table) are left out (``cat.notes`` counts
    them).

    Raises
    ------
    BatchError
        ``top`` below 1 or above :data:`MAX_TRACKS`; ``by`` neither; ``path`` not in the batch, a track that failed
        to analyse or one whose numbers are not finite; ``by="sound"`` on a batch that stores no sounds; a damaged
        ``profiles.parquet`` or ``sound`` column.
    """
    _check_count("--top", top, 1)
    if by not in SIMILAR_BY:
        raise BatchError(f"Similar by '{by}'? Choose one of: {', '.join(SIMILAR_BY)}.")
    by = SimilarBy(by)
    row = _analysed(cat, path)
    with np.errstate(invalid="ignore", over="ignore"):  # rows not finite are ruled out just below
        d = _sound_distances(cat, row) if by == SimilarBy.SOUND else _profile_distances(cat, row)
    d[~cat.usable] = np.inf
    d[row] = np.inf
    k = min(top, int(np.isfinite(d).sum()))
    near = np.argpartition(d, k - 1)[:k] if k else np.zeros(0, np.int64)
    near = near[np.lexsort((near, d[near]))]
    sounds = cat.sounds() if by == SimilarBy.SOUND else None
    return [Neighbour(track=cat.track(int(i)), distance=float(d[i]),
                      shared=shared_emotions(cat.probabilities[row], cat.probabilities[i]),
                      shared_tags=() if sounds is None else shared_tags(sounds[row], sounds[i])) for i in near]


def _profile_distances(cat: Catalogue, row: int) -> np.ndarray:
    """Euclidean distance over the emotion profile: the nine probabilities, then the timeline's spread and trend
    weighted by :data:`SHAPE_WEIGHT` (a shape that is not a finite number, none stored or a damaged one, counts
    as flat: 0), then the learned valence and arousal and their shape weighted by :data:`VA_WEIGHT` (none stored,
    or not finite: 0, undecided); inf where it is not a finite number. Summed part by part: no ``(n, 33)`` copy
    of the library."""
    clean = lambda x: np.nan_to_num(x, nan=0.0, posinf=0.0, neginf=0.0)  # noqa: E731
    shape = clean(cat.shapes())
    dp, ds = cat.probabilities - cat.probabilities[row], shape - shape[row]
    sq = np.einsum("ij,ij->i", dp, dp) + SHAPE_WEIGHT ** 2 * np.einsum("ij,ij->i", ds, ds)
    if cat.has_va:
        for values in (cat.valence, cat.arousal):
            v = clean(values)
            sq += VA_WEIGHT ** 2 * (v - v[row]) ** 2
        va_shape = clean(cat.va_shapes())
        dv = va_shape - va_shape[row]
        sq += (VA_WEIGHT * SHAPE_WEIGHT) ** 2 * np.einsum("ij,ij->i", dv, dv)
    d = np.sqrt(sq)
    return np.where(np.isfinite(d), d, np.inf)


def _sound_distances(cat: Catalogue, row: int) -> np.ndarray:
    """1 − cosine similarity of every track's sound to ``row``'s (inf where a track has none)."""
    sounds = cat.sounds()
    if sounds is None:
        raise BatchError(f"The batch '{cat.path}' stores no sounds (a log-mel model's batch, or one written before "
                         "mer stored them): ask for similar by emotion, or analyse the library again into a new "
                         "folder with a MusiCNN model.")
    if not np.isfinite(sounds[row]).all():
        raise BatchError(f"'{cat.track(row).path}' has no sound stored in this batch: ask for similar by emotion.")
    norms = np.linalg.norm(sounds, axis=1) * np.linalg.norm(sounds[row])
    d = 1.0 - (sounds @ sounds[row]) / np.where(norms > 0, norms, np.nan)
    return np.where(np.isfinite(d), d, np.inf)


def shared_tags(a: np.ndarray, b: np.ndarray, top: int = _SHARED_TAGS) -> tuple[str, ...]:
    """MusiCNN tags among the ``top`` most probable of both sounds ``a`` and ``b`` (each ``(50,)``), in ``a``'s order."""
    ta, tb = np.argsort(-a, kind="stable")[:top], set(np.argsort(-b, kind="stable")[:top].tolist())
    return tuple(TAGS[i] for i in ta if i in tb)


def _analysed(cat: Catalogue, path: str) -> int:
    row = cat.find(path)
    if not cat.ok[row]:
        raise BatchError(f"'{path}' failed to analyse in this batch, so it has no emotions to compare. Choose an "
                         "analysed track.")
    if not cat.finite[row]:
        raise BatchError(f"'{path}' holds probabilities that are not finite numbers in this batch (the table is "
                         "damaged), so it cannot be compared with other tracks. Choose another track, or analyse "
                         "the library again into a new folder.")
    return row


def _typical(cat: Catalogue, emotion: str, exclude: int = -1) -> int:
    """The analysed track whose top emotion is ``emotion`` with the highest probability of it."""
    j = EMOTIONS.index(emotion)
    p = np.where(cat.usable & (cat.top == j), cat.probabilities[:, j], -np.inf)
    if exclude >= 0:
        p[exclude] = -np.inf
    best = int(np.argmax(p)) if len(p) else -1
    if best < 0 or not np.isfinite(p[best]):
        raise BatchError(f"No analysed track of this batch has '{emotion}' as its top emotion (besides the start), "
                         "so no journey can end (or start) there. Choose another emotion.")
    return best


def _is_emotion(name: str) -> bool:
    try:
        check_emotion(name)
    except BatchError:
        return False
    return True


def journey_start(cat: Catalogue, name: str) -> dict[str, str]:
    """The start :func:`journey` takes for ``name`` (``--from EMOTION|PATH``): ``{"from_emotion": name}`` if it
    is one of the nine emotions, else ``{"from_track": name}`` if the batch holds a track at that path.

    Raises
    ------
    BatchError
        Neither an emotion nor a track of the batch.
    """
    if _is_emotion(name):
        return {"from_emotion": name}
    try:
        cat.find(name)
    except BatchError:
        raise BatchError(f"--from '{name}' is neither one of the nine emotions ({', '.join(EMOTIONS)}) nor a track "
                         f"of the batch in '{cat.path}'. Give an emotion or a path as the batch stored it.") from None
    return {"from_track": name}


def _start_row(cat: Catalogue, from_track: str | None, from_emotion: str | None) -> int:
    """The first track of a journey: the track at a path, or the most typical track of an emotion."""
    if (from_track is None) == (from_emotion is None):
        raise BatchError("A journey starts at a track or at an emotion: give exactly one of from_track and "
                         "from_emotion.")
    return _analysed(cat, from_track) if from_track is not None else _typical(cat, check_emotion(from_emotion))


def journey(cat: Catalogue, target: str, *, from_track: str | None = None, from_emotion: str | None = None,
            steps: int = 8) -> Journey:
    """``steps`` distinct analysed tracks from a start (``from_track``, a track's path, or ``from_emotion``:
    exactly one) to ``target`` (an emotion).

    The first track is ``from_track`` itself, or the track whose top emotion is ``from_emotion`` with the highest
    probability of it; the last is the track most typical of ``target`` the same way. Between them, the
    straight line in probability space is cut into equal steps, and each waypoint takes the nearest track not
    used yet: every step a small change. :func:`journey_start` reads a start that may be either.

    Tracks whose probabilities are not all finite numbers (a damaged table) are left out (``cat.notes`` counts
    them).

    Raises
    ------
    BatchError
        Both starts or neither; an unknown emotion; a path not in the batch, or a track there that failed to
        analyse; ``steps`` below 2, above :data:`MAX_TRACKS` or above the analysed tracks; no track with
        ``target`` (or ``from_emotion``) as its top emotion.
    """
    target = check_emotion(target)
    _check_count("--steps", steps, 2)
    available = int(cat.usable.sum())
    if steps > available:
        raise BatchError(f"--steps must lie between 2 and the {available:,} analysed tracks of the batch, got {steps}.")
    first = _start_row(cat, from_track, from_emotion)
    last = _typical(cat, target, exclude=first)
    rows = np.flatnonzero(cat.usable)
    probs = cat.probabilities[rows].astype(np.float32)
    free = np.ones(len(rows), dtype=bool)
    free[np.searchsorted(rows, [first, last])] = False
    a, b = cat.probabilities[first].astype(np.float64), cat.probabilities[last].astype(np.float64)
    path, marks = [first], [a]
    for k in range(1, steps - 1):
        w = a + (b - a) * k / (steps - 1)
        d = np.where(free, ((probs - w.astype(np.float32)) ** 2).sum(axis=1), np.inf)
        i = int(np.argmin(d))
        free[i] = False
        path.append(int(rows[i]))
        marks.append(w)
    path.append(last)
    marks.append(b)
    out, before = [], cat.probabilities[first]
    for r, w in zip(path, marks):
        p = cat.probabilities[r]
        out.append(JourneyStep(track=cat.track(r), waypoint=tuple(float(x) for x in w),
                               distance=float(np.linalg.norm(p - w)), change=float(np.linalg.norm(p - before))))
        before = p
    return Journey(start=EMOTIONS[int(cat.top[first])], target=target, steps=tuple(out))


def check_point(point: Sequence[float], name: str = "a point") -> tuple[float, float]:
    """``point`` as ``(valence, arousal)`` if it is two finite numbers in [-1, 1].

    Raises
    ------
    BatchError
        Anything else; the message names ``name`` (``--to-point``) and gives an example.
    """
    try:
        v, a = (float(x) for x in point)
    except (TypeError, ValueError):
        raise BatchError(f"{name} takes two numbers, valence then arousal, each from -1 to 1 (e.g. 0.5 -0.3); got "
                         f"{point!r}.") from None
    if not (math.isfinite(v) and math.isfinite(a) and -1.0 <= v <= 1.0 and -1.0 <= a <= 1.0):
        raise BatchError(f"{name} must be a valence and an arousal from -1 to 1 (e.g. 0.5 -0.3); got {v:g} {a:g}.")
    return v, a


def _point_words(point: tuple[float, float]) -> str:
    return f"valence {point[0]:+.2f}, arousal {point[1]:+.2f}"


def plane_journey(cat: Catalogue, start: str | Sequence[float], target: Sequence[float], steps: int = 8) -> Journey:
    """``steps`` distinct analysed tracks across the learned valence–arousal plane, from ``start`` (a point
    ``(valence, arousal)``, or a track's path: its own point) to the point ``target``.

    The straight line between the two points is cut into equal steps; the first waypoint is the start (the track
    itself where ``start`` is a path), the last is ``target``, and each takes the track nearest to it on the plane
    (Euclidean, by the tracks' learned valence and arousal) not used yet: the last is chosen before the ones
    between, so the journey always ends where it was asked to. Ties go to the track first in the table.

    Tracks without valence and arousal, or whose numbers are not finite, are left out (``cat.notes`` counts
    them).

    Raises
    ------
    BatchError
        The batch has no valence and arousal (the message says why); a point outside [-1, 1] or not a number; a
        path not in the batch, failed, or without valence and arousal; ``steps`` below 2, above
        :data:`MAX_TRACKS` or above the tracks on the plane.
    """
    cat.require_va("make a journey across the valence–arousal plane")
    b = np.array(check_point(target, "--to-point"))
    _check_count("--steps", steps, 2)
    rows = np.flatnonzero(cat.va_usable)
    if steps > len(rows):
        raise BatchError(f"--steps must lie between 2 and the {len(rows):,} analysed tracks of the batch with valence "
                         f"and arousal, got {steps}.")
    points = np.column_stack([cat.valence[rows], cat.arousal[rows]]).astype(np.float64)
    free = np.ones(len(rows), dtype=bool)

    def nearest(w: np.ndarray) -> int:
        d = np.where(free, ((points - w) ** 2).sum(axis=1), np.inf)
        i = int(np.argmin(d))
        free[i] = False
        return i

    if isinstance(start, str):
        if _is_emotion(start):
            raise BatchError(f"A journey across the valence–arousal plane starts at a point (--from-point V A) or at a "
                             f"track's path, not at an emotion ('{start}'). For a journey between emotions, end it at "
                             "one with --to EMOTION.")
        row = _analysed(cat, start)
        if not cat.va_finite[row]:
            raise BatchError(f"'{start}' has no valence or arousal in this batch, so a journey across the plane cannot "
                             "start there. Start at a point (--from-point), or choose another track.")
        first = int(np.searchsorted(rows, row))
        free[first] = False
        a = points[first]
    else:
        a = np.array(check_point(start, "--from-point"))
        first = nearest(a)
    last = nearest(b)
    chosen, marks = [first], [a]
    for k in range(1, steps - 1):
        w = a + (b - a) * k / (steps - 1)
        chosen.append(nearest(w))
        marks.append(w)
    chosen.append(last)
    marks.append(b)
    out, before = [], points[first]
    for i, w in zip(chosen, marks):
        p = points[i]
        out.append(JourneyStep(track=cat.track(int(rows[i])), waypoint=(float(w[0]), float(w[1])),
                               distance=float(np.linalg.norm(p - w)), change=float(np.linalg.norm(p - before))))
        before = p
    ends = ((float(a[0]), float(a[1])), (float(b[0]), float(b[1])))
    return Journey(start=_point_words(ends[0]), target=_point_words(ends[1]), steps=tuple(out),
                   space="valence_arousal", points=ends)


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
