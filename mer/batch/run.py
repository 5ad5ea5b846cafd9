"""The batch job: stream the inputs, skip what is done, analyse the rest on an engine, store in chunks."""

from __future__ import annotations

import itertools
import os
import time
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, Sequence

from ..choices import Engine, TrackStatus
from ..errors import BatchCancelled, BatchError
from ..files import check_output_dir, write_json_atomic
from ..pool import default_workers
from ..progress import RATE_KEYS, Unit
from .engines import ENGINES, local_results, ray_results
from .export import write_csv
from .inputs import FileRef, HashSet, count_paths, input_key, input_roots, iter_file_refs
from .store import BATCH_MARKERS, clean_partial, done_keys, locked, merge_parts, write_part
from .worker import TrackResult, model_identity

__all__ = ["BatchSummary", "analyze_many", "run_batch"]

ProgressFn = Callable[[int, int, str], None]


@dataclass(frozen=True)
class BatchSummary:
    """What a run did, and what its output folder now holds.

    Attributes
    ----------
    out : Path
    total : int
        Audio files the inputs name.
    analysed, failed, skipped : int
        In this run: analysed successfully, written as ``status="error"``, already done before.
    tracks, ok_tracks : int
        Rows of ``tracks.parquet`` after the run, and how many of them are ``"ok"``.
    seconds : float
        Wall time of the run.
    """

    out: Path
    total: int
    analysed: int
    failed: int
    skipped: int
    tracks: int
    ok_tracks: int
    seconds: float
    engine: Engine
    workers: int
    model_name: str
    model_version: str

    @property
    def files_per_s(self) -> float:
        """Files analysed (ok or failed) per second of this run."""
        return (self.analysed + self.failed) / self.seconds if self.seconds > 0 else 0.0


def _resolve_model(model: Any) -> Any:
    from ..model_files import load_model
    from ..registry import load_active

    if model is None:
        return load_active()
    if isinstance(model, (str, os.PathLike)):
        return load_model(model)
    return model


def _check(engine: str, workers: int | None, chunk_size: int = 1) -> Engine:
    """``engine`` as an :class:`Engine`, once the settings are checked."""
    if engine not in ENGINES:
        raise BatchError(f"Unknown engine '{engine}'. Choose one of: {', '.join(ENGINES)}.")
    if workers is not None and workers < 1:
        raise BatchError(f"workers must be at least 1, got {workers}.")
    if chunk_size < 1:
        raise BatchError(f"chunk_size must be at least 1, got {chunk_size}.")
    return Engine(engine)


def _results(refs: Iterable[FileRef], model: Any, *, engine: Engine, workers: int | None, address: str | None,
             total: int) -> Iterator[TrackResult]:
    if engine == Engine.RAY:
        return ray_results(refs, Path(model.path), workers=workers, address=address)
    n = max(1, min(workers or default_workers(), total))  # no idle processes, each holding a model
    return local_results(refs, model, workers=n, adaptive=workers is None)


def analyze_many(paths: Iterable[str | os.PathLike] | str | os.PathLike, *, model: Any = None,
                 engine: Engine | str = Engine.LOCAL, workers: int | None = None, address: str | None = None,
                 on_progress: ProgressFn | None = None) -> Iterator[TrackResult]:
    """Analyse many files with the batch engine, yielding one :class:`TrackResult` per file as it completes.

    Nothing is written to disk; use :func:`run_batch` (``python -m mer batch``) for resumable Parquet output.

    Parameters
    ----------
    paths : path-like or iterable of path-like
        Audio files, folders (recursive), globs, or text files of paths.
    model : LoadedModel or path, optional
        Default: the active model.
    engine : Engine or {"local", "ray"}
        ``"local"``: one process per core; ``"ray"``: Ray actors (``address`` of a cluster, or a local Ray).
    workers : int, optional
        Processes or actors (default: every core / every CPU of the cluster).
    on_progress : callable(done, total, message), optional

    Yields
    ------
    TrackResult
        In completion order (not input order). A bad file gives ``status="error"`` and the CLI's message.
    """
    items = [paths] if isinstance(paths, (str, os.PathLike)) else list(paths)
    engine = _check(engine, workers)
    total = count_paths(items)
    model = _resolve_model(model)
    for done, result in enumerate(_results(iter_file_refs(items), model, engine=engine, workers=workers,
                                           address=address, total=total), 1):
        if on_progress:
            on_progress(done, total, "analysing")
        yield result


class _Counts:
    def __init__(self) -> None:
        self.ok = self.failed = self.skipped = 0

    @property
    def done(self) -> int:
        return self.ok + self.failed + self.skipped

    def message(self) -> str:
        return f"{self.ok} analysed, {self.failed} failed, {self.skipped} skipped"

    def progress(self, total: int) -> tuple[int, int]:
        """(done, total) of this run's work: files finished earlier and skipped now are in neither, so the
        rate and the ETA count only the files this run analyses (the message names the skipped ones)."""
        return self.ok + self.failed, total - self.skipped


def _todo(items: Sequence[Any], out: Path, model_id: str, retry_errors: bool, seen: HashSet, counts: _Counts,
          report: Callable[[], None], within: Sequence[str | os.PathLike] | None) -> Iterator[FileRef]:
    """File references not analysed yet by this model in this state; counts (and reports) the skipped ones."""
    done = done_keys(out, retry_errors=retry_errors)
    for ref in iter_file_refs(items, seen, within=within):
        if input_key(ref.path, ref.size_bytes, ref.mtime_ns, model_id) in done:
            counts.skipped += 1
            report()
            continue
        yield ref


def _count_inputs(items: list, out: Path, engine: Engine | str, workers: int | None, chunk_size: int) -> int:
    """The number of audio files ``items`` name, once the arguments and the output folder are checked."""
    _check(engine, workers, chunk_size)
    if not items:
        raise BatchError("No input given. Name a folder, an audio file, a glob or a text file of paths.")
    check_output_dir(out, markers=BATCH_MARKERS, what="batch results", ignore=(".lock",), error=BatchError)
    total = count_paths(items)
    if total == 0:
        raise BatchError(f"No audio files (.wav, .mp3, .flac, .ogg) found in {', '.join(map(str, items))}.")
    return total


def run_batch(inputs: Iterable[str | os.PathLike], out: str | os.PathLike, *, model: Any = None,
              engine: Engine | str = Engine.LOCAL, workers: int | None = None, address: str | None = None,
              chunk_size: int = 256, flush_s: float = 30.0, csv: bool = False, retry_errors: bool = False,
              within: Sequence[str | os.PathLike] | None = None, should_stop: Callable[[], bool] | None = None,
              on_progress: ProgressFn | None = None) -> BatchSummary:
    """Analyse a library into ``out/tracks.parquet`` and ``out/segments.parquet``, resumably.

    Results are written in chunks of ``chunk_size`` files (or every ``flush_s`` seconds), each atomically;
    a run that is killed and started again with the same inputs skips every file already analysed in its
    current state (path, size, mtime) by the same model, and finishes the rest. Bad files get a row with
    ``status="error"`` and never stop the run.

    ``within``: read only files whose real path (links resolved) lies under one of these folders; the others
    get an error row saying so (the Library page passes the folders the server allows). ``should_stop`` is
    asked after each file: when it says yes, the results so far are written and :class:`BatchCancelled` is
    raised (the same call again resumes). ``on_progress(done, total, message)`` counts this run's work: files
    skipped as already analysed leave ``total`` (the message counts them), so rates and ETAs are this run's.

    Raises
    ------
    BatchCancelled
        ``should_stop`` said yes; nothing is merged, every analysed file is kept for the next run.
    BatchError
        Bad arguments, no audio files in the inputs, an output folder that cannot be written or is in use.
    ModelError
        The model cannot be loaded.
    """
    items, out = list(inputs), Path(out)
    total = _count_inputs(items, out, engine, workers, chunk_size)
    engine = Engine(engine)
    model = _resolve_model(model)
    ident = model_identity(model)
    t0 = time.perf_counter()
    counts, seen = _Counts(), HashSet()
    report = (lambda: on_progress(*counts.progress(total), counts.message())) if on_progress else (lambda: None)
    with locked(out):
        clean_partial(out)
        if on_progress:
            on_progress(0, total, "starting the workers")
        todo = _todo(items, out, ":".join(ident), retry_errors, seen, counts, report, within)
        first = next(todo, None)  # a finished batch starts no workers and connects to no cluster
        if first is not None:
            _analyse_into_chunks(_results(itertools.chain([first], todo), model, engine=engine, workers=workers,
                                          address=address, total=total), out, ident, counts, chunk_size, flush_s,
                                 report, should_stop or (lambda: False))
        if on_progress:
            on_progress(*counts.progress(total), "merging the results")
        n_tracks = merge_parts(out, seen)
        ok_tracks = _count_ok(out)
        if csv:
            write_csv(out)
        summary = BatchSummary(out=out, total=total, analysed=counts.ok, failed=counts.failed,
                               skipped=counts.skipped, tracks=n_tracks, ok_tracks=ok_tracks,
                               seconds=time.perf_counter() - t0, engine=engine,
                               workers=workers or (default_workers() if engine == Engine.LOCAL else 0),
                               model_name=ident[0], model_version=ident[1])
        _write_summary(out, summary, items)
    return summary


def _analyse_into_chunks(results: Iterator[TrackResult], out: Path, ident: tuple[str, str], counts: _Counts,
                         chunk_size: int, flush_s: float, report: Callable[[], None],
                         should_stop: Callable[[], bool]) -> None:
    buffer: list[TrackResult] = []
    last_flush = time.monotonic()
    try:
        for r in results:
            buffer.append(r)
            if r.ok:
                counts.ok += 1
            else:
                counts.failed += 1
            report()
            if should_stop():
                raise BatchCancelled(f"Cancelled after {counts.message()}. The results are kept: run the same "
                                     "batch again to analyse the rest.")
            if len(buffer) >= chunk_size or time.monotonic() - last_flush >= flush_s:
                write_part(out, buffer, ident)
                buffer, last_flush = [], time.monotonic()
    finally:
        if buffer:
            write_part(out, buffer, ident)
        if hasattr(results, "close"):  # stop the engine's workers now, not when the generator is collected
            results.close()


def _count_ok(out: Path) -> int:
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    status = pq.read_table(out / "tracks.parquet", columns=["status"]).column("status")
    return int(pc.sum(pc.equal(status, TrackStatus.OK.value)).as_py() or 0)


def _write_summary(out: Path, summary: BatchSummary, items: Sequence[Any]) -> None:
    data = {**asdict(summary), "out": str(summary.out), RATE_KEYS[Unit.FILE]: round(summary.files_per_s, 3),
            "inputs": [os.fspath(i) for i in items],
            "roots": input_roots(items),  # where the library's audio lies: the only files the Library page plays
            "finished": datetime.now(timezone.utc).isoformat(timespec="seconds")}
    write_json_atomic(out / "batch.json", data)
