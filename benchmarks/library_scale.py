"""The Library at catalogue scale: figures, not a test. ``python benchmarks/library_scale.py --tracks 1000000``
writes a synthetic batch in mer's own format (no audio: :func:`mer.batch.synthetic.write_synthetic_batch`, the
store's chunks and merge) and times, on this machine:

* ``python -m mer library query | similar | journey`` as whole processes (start-up included) and their peak RSS;
* the same inside a warm process, the queries the Library page makes (open, counts, groups, the map, a page of
  rows under a filter, a sort, a page deep in the result), a track's timeline, and this process's peak RSS;
* for reference, what the page did before: ``load_tracks`` (the whole table in pandas) and its RSS.

``--check`` compares every answer with pandas on the same batch (keep it small: 2,000 tracks) and exits 1 on a
difference; ``--json`` prints one JSON object; ``--out DIR`` keeps the batch there (a second run reuses it).

``--older`` instead writes the batch as mer did before the query layer (segments in the chunks' order, no
``profiles.parquet``) and times ``python -m mer library similar`` on it as whole processes: once reading it as
it is (the upgrade switched off, what every call cost before), then the first call (which upgrades the batch,
once) and the second and third (the upgraded batch), each with its peak RSS; then ``query`` and ``journey``.
The upgrade rewrites the batch, so each ``--older`` run writes it afresh.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from mer.batch.catalogue import Catalogue  # noqa: E402
from mer.batch.journey import journey, plane_journey  # noqa: E402
from mer.batch.query import TrackQuery  # noqa: E402
from mer.batch.similar import similar  # noqa: E402
from mer.emotions import EMOTIONS  # noqa: E402


def _rss_mb() -> float:
    """This process's resident memory now."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


#: ``python -m mer ARGS``, then its peak resident memory (VmHWM: of this program, not of the parent it was
#: forked from, which getrusage would count) as the last line on stderr.
_RUN_MER = ("import runpy, sys\nsys.argv = ['mer', *sys.argv[1:]]\ntry:\n    runpy.run_module('mer', run_name='__main__')\n"
            "finally:\n    hwm = [l for l in open('/proc/self/status') if l.startswith('VmHWM')][0].split()[1]\n"
            "    print(f'VmHWM {hwm}', file=sys.stderr)\n")


def _whole(args: list[str]) -> tuple[float, float, int]:
    """Seconds, peak RSS (MB) and exit status of ``python -m mer ARGS`` from start to exit."""
    t0 = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", _RUN_MER, *args], cwd=ROOT, stdout=subprocess.DEVNULL,
                          stderr=subprocess.PIPE, text=True)
    seconds = time.perf_counter() - t0
    peak = int(done.stderr.strip().splitlines()[-1].split()[1]) / 1024
    return seconds, peak, done.returncode


def _timed(fn, rounds: int = 3) -> tuple[float, object]:
    """Best of ``rounds`` seconds and the last result."""
    best, out = float("inf"), None
    for _ in range(rounds):
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    return best, out


def measure(out: Path) -> dict:
    """Every figure on the batch in ``out``."""
    fig: dict[str, float] = {}
    t0 = time.perf_counter()
    cat = Catalogue(out)
    fig["open_s"] = time.perf_counter() - t0
    fig["rss_after_open_mb"] = _rss_mb()
    ok = np.flatnonzero(cat.ok)
    me = cat.track(int(ok[len(ok) // 2])).path
    pages = {
        "summary": lambda: cat.summary(),
        "groups_folder": lambda: cat.group_shares("folder"),
        "groups_genre": lambda: cat.group_shares("genre"),
        "map": lambda: cat.library_map(),
        "page_default": lambda: cat.page(TrackQuery()),
        "page_filter": lambda: cat.page(TrackQuery(emotions=("sadness", "calmness"), min_probability=0.3)),
        "page_text": lambda: cat.page(TrackQuery(text="rock/artist-00012")),
        "page_sort_emotion": lambda: cat.page(TrackQuery(), sort_by="tension"),
        "page_sort_path": lambda: cat.page(TrackQuery(status="all"), sort_by="path", descending=False),
        "page_deep": lambda: cat.page(TrackQuery(), sort_by="sadness", offset=len(ok) // 2),
        "page_valence_arousal": lambda: cat.page(TrackQuery(valence_max=-0.2, arousal_min=0.0), sort_by="valence"),
        "similar_first": lambda: similar(cat, me, top=10),  # loads the timeline shapes once
        "similar": lambda: similar(cat, me, top=10),
        "similar_sound_first": lambda: similar(cat, me, top=10, by="sound"),  # reads the sounds once
        "similar_sound": lambda: similar(cat, me, top=10, by="sound"),
        "journey": lambda: journey(cat, "calmness", from_emotion="sadness", steps=8),
        "journey_plane": lambda: plane_journey(cat, (-0.6, -0.6), (0.6, 0.6), steps=8),
    }
    for name, fn in pages.items():
        fig[f"{name}_s"] = _timed(fn, rounds=1 if name.endswith("_first") else 3)[0]
    ids = cat.track_ids[np.random.default_rng(0).choice(ok, size=min(20, len(ok)), replace=False)]
    t0 = time.perf_counter()
    for tid in ids:
        cat.timeline(int(tid))
    fig["timeline_s"] = (time.perf_counter() - t0) / len(ids)
    fig["warm_peak_rss_mb"] = _peak_mb()
    fig["warm_rss_mb"] = _rss_mb()
    for name, args in {"query": ["library", "query", str(out), "--emotion", "sadness", "--limit", "20"],
                       "similar": ["library", "similar", str(out), me, "--top", "10"],
                       "similar_sound": ["library", "similar", str(out), me, "--top", "10", "--by", "sound"],
                       "journey": ["library", "journey", str(out), "--from", "sadness", "--to", "calmness"]}.items():
        seconds, peak, code = _whole(args)
        if code != 0:
            raise SystemExit(f"python -m mer {' '.join(args)} exited {code}")
        fig[f"cli_{name}_s"], fig[f"cli_{name}_rss_mb"] = seconds, peak
    return fig


#: ``similar`` on a batch read as it is, never upgraded (what every call cost before the upgrade): seconds and
#: peak RSS, as :data:`_RUN_MER` reports them.
_SIMILAR_AS_IT_IS = ("import sys\nfrom mer.batch.similar import similar\nfrom mer.batch.catalogue import Catalogue\n"
                     "cat = Catalogue(sys.argv[1], upgrade=False)\n"
                     "similar(cat, sys.argv[2], top=10)\n"
                     "hwm = [l for l in open('/proc/self/status') if l.startswith('VmHWM')][0].split()[1]\n"
                     "print(f'VmHWM {hwm}', file=sys.stderr)\n")


def older(out: Path, tracks: int) -> dict:
    """Write an older-layout batch of ``tracks`` to ``out`` and time ``library similar`` on it before, during
    and after its one-time upgrade (whole processes)."""
    import shutil

    import pyarrow.parquet as pq

    from mer.batch.upgrade import needs_upgrade

    shutil.rmtree(out, ignore_errors=True)
    fig: dict = {}
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-c", "import sys; sys.path.insert(0, sys.argv[1]); from mer.batch.synthetic "
                    "import write_synthetic_batch; write_synthetic_batch(sys.argv[2], int(sys.argv[3]), layout='older')",
                    str(ROOT), str(out), str(tracks)], check=True)
    fig["older_write_s"] = time.perf_counter() - t0
    if not needs_upgrade(out):
        raise SystemExit("the older batch was written in the current layout")
    t = pq.read_table(out / "tracks.parquet", columns=["path", "status"])
    ok = [p for p, s in zip(t.column("path").to_pylist(), t.column("status").to_pylist()) if s == "ok"]
    me = ok[len(ok) // 2]
    del t, ok
    t0 = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", _SIMILAR_AS_IT_IS, str(out), me], cwd=ROOT, stdout=subprocess.DEVNULL,
                          stderr=subprocess.PIPE, text=True)
    if done.returncode:
        raise SystemExit(done.stderr[-2000:])
    fig["older_as_it_is_similar_s"] = time.perf_counter() - t0
    fig["older_as_it_is_similar_rss_mb"] = int(done.stderr.strip().splitlines()[-1].split()[1]) / 1024
    similar_args = ["library", "similar", str(out), me, "--top", "10"]
    for name in ("first", "second", "third"):
        seconds, peak, code = _whole(similar_args)
        if code != 0:
            raise SystemExit(f"python -m mer {' '.join(similar_args)} exited {code}")
        fig[f"older_similar_{name}_s"], fig[f"older_similar_{name}_rss_mb"] = seconds, peak
        if name == "first" and needs_upgrade(out):
            raise SystemExit("the first call did not upgrade the batch")
    for name, args in {"query": ["library", "query", str(out), "--emotion", "sadness", "--limit", "20"],
                       "journey": ["library", "journey", str(out), "--from", "sadness", "--to", "calmness"]}.items():
        seconds, peak, code = _whole(args)
        if code != 0:
            raise SystemExit(f"python -m mer {' '.join(args)} exited {code}")
        fig[f"older_{name}_s"], fig[f"older_{name}_rss_mb"] = seconds, peak
    fig["mb"] = {n: (out / n).stat().st_size / 1e6 for n in ("tracks.parquet", "segments.parquet", "profiles.parquet")}
    return fig


def before(out: Path) -> dict:
    """What the page did before: the whole tracks table in pandas, and a track's segments by a filtered scan."""
    code = ("import time,sys;sys.path.insert(0,%r);from pathlib import Path;"
            "from mer.batch.frames import load_tracks,track_segments;t=time.perf_counter();"
            "d=load_tracks(Path(%r));a=time.perf_counter()-t;t=time.perf_counter();"
            "track_segments(Path(%r),int(d.track_id[d.status=='ok'].iloc[0]));b=time.perf_counter()-t;"
            "print(a,b,[int(l.split()[1])/1024 for l in open('/proc/self/status') if l.startswith('VmHWM')][0])") % (str(ROOT), str(out), str(out))
    a, b, rss = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    return {"load_tracks_s": float(a), "old_track_segments_s": float(b), "load_tracks_peak_rss_mb": float(rss)}


def page(out: Path) -> dict:
    """The Library page itself (Streamlit's AppTest, in this process): the first run after the batch is picked,
    a filter, a sort, page 2, and this process's memory with the page's one copy of the batch."""
    os.environ["MER_DATA_DIR"] = str(out.parent)  # the batch is the data folder's only one: the page shows it
    from streamlit.testing.v1 import AppTest

    from mer.batch.library import list_batches

    if [b.path for b in list_batches()] != [out]:
        raise SystemExit(f"--page needs the batch alone in its folder's parent ({out.parent}): move the others away")

    at = AppTest.from_file(str(ROOT / "pages" / "library.py"), default_timeout=300)
    fig, t0 = {}, time.perf_counter()
    at.run()
    fig["page_first_run_s"] = time.perf_counter() - t0
    fig["page_rss_one_visitor_mb"] = _rss_mb()
    steps = {"page_filter_run_s": lambda: at.multiselect[0].set_value(["sadness", "calmness"]),
             "page_sort_run_s": lambda: at.selectbox[2].set_value("tension"),
             "page_next_run_s": lambda: at.number_input(key="page_no").set_value(2)}
    for name, change in steps.items():
        t0 = time.perf_counter()
        change().run()
        fig[name] = time.perf_counter() - t0
    if at.exception:
        raise SystemExit(f"the page failed: {at.exception[0].message}")
    second = AppTest.from_file(str(ROOT / "pages" / "library.py"), default_timeout=300)
    second.run()
    fig["page_rss_two_visitors_mb"] = _rss_mb()
    fig["page_rows_sent"] = len(at.dataframe(key="table").value)
    return fig


def check(out: Path) -> list[str]:
    """Differences between the query layer's answers and pandas' on the batch in ``out`` (none: an empty list)."""
    import pandas as pd

    from mer.batch.frames import filter_tracks, group_shares, load_tracks, track_segments

    tracks, cat, bad = load_tracks(out), Catalogue(out), []
    for case in (dict(), dict(emotions=("sadness",)), dict(min_probability=0.4), dict(status="all", text="POP"),
                 dict(valence_max=-0.2, arousal_min=0.0)):
        for sort_by in ("top_probability", "calmness", "valence"):
            want = filter_tracks(tracks, **case, sort_by=sort_by)["path"].tolist()
            got = cat.rows(cat.order(cat.select(TrackQuery(**case)), sort_by))["path"].tolist()
            if got != want:
                bad.append(f"filter {case} sorted by {sort_by}")
    ok = tracks[tracks["status"] == "ok"]
    if cat.summary().counts.tolist() != ok["top_emotion"].value_counts().reindex(list(EMOTIONS), fill_value=0).tolist():
        bad.append("emotion counts")
    for by in ("folder", "genre"):
        got = cat.group_shares(by, top=None).to_frame().sort_index()
        try:
            pd.testing.assert_frame_equal(got, group_shares(tracks, by).sort_index(), check_names=False,
                                          check_dtype=False)
        except AssertionError:
            bad.append(f"groups by {by}")
    for tid in ok["track_id"].head(5):
        if not np.array_equal(cat.timeline(int(tid)).probabilities,
                              track_segments(out, int(tid))[list(EMOTIONS)].to_numpy()):
            bad.append(f"timeline of {tid}")
    return bad


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tracks", type=int, default=100_000)
    parser.add_argument("--out", type=Path, default=None, help="keep the batch here (reused when it has --tracks)")
    parser.add_argument("--check", action="store_true", help="compare the answers with pandas; exit 1 on a difference")
    parser.add_argument("--no-before", action="store_true", help="skip timing load_tracks (the page's old way)")
    parser.add_argument("--page", action="store_true", help="also time the Library page (AppTest) in a fresh process")
    parser.add_argument("--page-of", type=Path, default=None, help=argparse.SUPPRESS)
    parser.add_argument("--older", action="store_true",
                        help="time `library similar` on a batch in the layout written before the query layer, before, "
                             "during and after its one-time upgrade (writes the batch afresh)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    if args.page_of:
        print(json.dumps(page(args.page_of)))
        return 0
    with tempfile.TemporaryDirectory(prefix="mer-library-scale-") as tmp:
        out = args.out or Path(tmp) / "batch"
        report: dict = {"tracks": args.tracks, "cores": os.cpu_count(), "load": os.getloadavg()[0]}
        if args.older:
            report |= older(out, args.tracks)
            report["load_after"] = os.getloadavg()[0]
            print(json.dumps(report) if args.json else
                  "\n".join(f"{k:<32} {v:.3f}" if isinstance(v, float) else f"{k:<32} {v}" for k, v in report.items()))
            return 0
        summary = out / "batch.json"
        reuse = summary.is_file() and json.loads(summary.read_text()).get("tracks") == args.tracks
        t0 = time.perf_counter()
        if not reuse:  # in a process of its own: this one's memory is then the reads' alone
            subprocess.run([sys.executable, "-c", "import sys; sys.path.insert(0, sys.argv[1]); from mer.batch.synthetic "
                            "import write_synthetic_batch; write_synthetic_batch(sys.argv[2], int(sys.argv[3]))",
                            str(ROOT), str(out), str(args.tracks)], check=True)
        report["write_s"] = None if reuse else time.perf_counter() - t0
        report["mb"] = {n: (out / n).stat().st_size / 1e6 for n in ("tracks.parquet", "segments.parquet",
                                                                   "profiles.parquet")}
        report |= measure(out)
        if args.page:
            done = subprocess.run([sys.executable, __file__, "--page-of", str(out)], capture_output=True, text=True)
            if done.returncode:
                raise SystemExit(done.stderr[-2000:])
            report |= json.loads(done.stdout.strip().splitlines()[-1])
        if not args.no_before:
            report |= before(out)
        if args.check:
            report["differences"] = check(out)
    if args.json:
        print(json.dumps(report))
    else:
        for k, v in report.items():
            print(f"{k:<28} {v:.3f}" if isinstance(v, float) else f"{k:<28} {v}")
    return 1 if report.get("differences") else 0


if __name__ == "__main__":
    sys.exit(main())
