"""Library: analyse a folder of music on this server in the background, and present a batch's results — the
library's emotions, by folder or genre, a filterable table, and a track's 20-segment timeline."""

from pathlib import Path

import pandas as pd
import streamlit as st

from mer.batch.library import (TABLE_COLUMNS, emotion_counts, ensure_sample, file_path, filter_tracks, group_shares,
                               library_roots, list_batches, load_tracks, playable_path, track_segments, tracks_csv)
from mer.config import EMOTIONS, emotion_label
from mer.errors import MerError
from mer.jobs import batch_jobs, batch_status, cancel_batch, clear_batch, start_batch
from mer.plots import distribution_figure, group_figure, library_figure, timeline_figure
from mer.text import escape_markdown, md_code
from ui import get_model, show_error

st.title("Library")
st.caption("A whole music library, analysed in the background on this server (or by `python -m mer batch`): one "
           "row per track, 20 segments each.")
SAMPLE = "sample"


@st.cache_data(show_spinner="Reading the batch…", max_entries=4)
def tracks_of(path: str, stamp: int) -> pd.DataFrame:
    return load_tracks(Path(path))


@st.cache_data(show_spinner=False, max_entries=64)
def segments_of(path: str, stamp: int, track_id: int) -> pd.DataFrame:
    return track_segments(Path(path), track_id)


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "—"
    minutes, secs = divmod(int(round(seconds)), 60)
    return f"{minutes // 60}:{minutes % 60:02d}:{secs:02d}" if minutes >= 60 else f"{minutes}:{secs:02d}"


def start_form(expanded: bool) -> None:
    roots = library_roots()
    with st.expander("Analyse a folder on this server", expanded=expanded), st.form("start_batch"):
        folder = st.text_input("Folder", key="folder", placeholder=str(roots[0]) if roots else "",
                               help="A folder of WAV, MP3, FLAC or OGG files (searched recursively) under one of the "
                                    "folders this app may read: " + ", ".join(md_code(r) for r in roots) +
                                    ". Whoever runs the server adds folders with MER_LIBRARY_ROOTS.")
        name = st.text_input("Name of the results", key="batch_name", placeholder="the folder's name",
                             help="The results go to batches/NAME in the data folder. Starting a cancelled batch "
                                  "again resumes it.")
        if st.form_submit_button("Analyse", type="primary"):
            try:
                job = start_batch(folder, name.strip() or Path(folder.strip().rstrip("/")).name)
                st.session_state["show"] = job.name
                st.rerun()
            except MerError as e:
                show_error(e)


@st.fragment(run_every=1.0)
def running(name: str) -> None:
    job = batch_status(name)
    if job.state != "running":
        st.rerun()  # the whole page: the results are ready (or the reason it stopped)
    rate = f"{job.files_per_s:.2f} files/s" if job.files_per_s else "starting"
    st.progress(job.progress, text=f"**{escape_markdown(name)}**: {job.done:,} of {job.total:,} files · {rate} · "
                                   f"ETA {_duration(job.eta_s)} · {escape_markdown(job.message or 'starting the workers')}")
    st.caption(f"{escape_markdown(job.folder)}, started {escape_markdown(job.started)}")
    if st.button("Cancel", key=f"cancel-{name}"):
        cancel_batch(name)
        st.rerun()


def finished(job) -> None:
    name, message = escape_markdown(job.name), escape_markdown(job.message)
    if job.state == "done":
        st.success(f"**{name}** is analysed: {message}. Its results are shown below.")
    else:
        (st.warning if job.state == "cancelled" else st.error)(
            f"**{name}**: {message}" if job.state == "cancelled" else f"**{name}** failed: {message}")
    c1, c2 = st.columns([1, 5])
    if job.state != "done" and c1.button("Resume", key=f"resume-{job.name}", type="primary"):
        try:
            start_batch(job.folder, job.name)
            st.rerun()
        except MerError as e:
            show_error(e)
    if c2.button("Dismiss", key=f"dismiss-{job.name}"):
        clear_batch(job.name)
        st.rerun()


jobs = batch_jobs()
batches = {b.name: b for b in list_batches()}
start_form(expanded=not batches and not jobs)
for job in jobs:
    if job.state == "running":
        running(job.name)
    else:
        finished(job)
        if job.state == "done" and st.session_state.get("show") == job.name:
            st.session_state["batch"] = f"batches/{job.name}"  # the results of the batch just started
            st.session_state["show"] = None

names = sorted(batches, key=lambda n: batches[n].finished, reverse=True) + [SAMPLE]
if st.session_state.get("batch") not in names:
    st.session_state["batch"] = names[0]
choice = st.selectbox("Batch", names, key="batch", help="Batch result folders under the data folder.",
                      format_func=lambda n: "Sample: the example excerpts bundled with mer" if n == SAMPLE
                      else str(batches[n]))
if choice == SAMPLE:
    try:
        with st.spinner("Analysing the example excerpts with the active model (once)…"):
            batch = ensure_sample(get_model())
    except MerError as e:
        show_error(e)
        st.stop()
    st.caption("A sample: the five freely licensed excerpts of the Analyze page, analysed with the active model. "
               "Analyse a folder of your own above, or run `python -m mer batch MUSIC --out data/batches/NAME`.")
else:
    batch = batches[choice]
stamp = (batch.path / "tracks.parquet").stat().st_mtime_ns
tracks = tracks_of(str(batch.path), stamp)
ok = tracks[tracks["status"] == "ok"]

c1, c2, c3, c4 = st.columns(4)
c1.metric("Tracks", f"{len(tracks):,}")
c2.metric("Analysed", f"{len(ok):,}")
c3.metric("Failed", f"{len(tracks) - len(ok):,}")
c4.metric("Model", escape_markdown(", ".join(sorted(tracks["model_name"].unique()))) or "—")

left, right = st.columns(2)
left.plotly_chart(library_figure(emotion_counts(tracks)), width="stretch")
groups = ["folder"] + (["genre"] if ok["genre"].notna().any() else [])
by = right.radio("Group by", groups, horizontal=True, format_func=lambda g: "genre tag" if g == "genre" else g)
right.plotly_chart(group_figure(group_shares(tracks, by), by), width="stretch")

st.subheader("Tracks")
f1, f2, f3, f4 = st.columns([3, 2, 1, 2])
emotions = f1.multiselect("Top emotion", list(EMOTIONS), default=list(EMOTIONS), format_func=emotion_label)
min_p = f2.slider("Top probability at least", 0.0, 1.0, 0.0, 0.05)
status = f3.selectbox("Status", ["ok", "error", "all"])
sort_by = f4.selectbox("Sort by (highest first)", ["top_probability", *EMOTIONS],
                       format_func=lambda c: "top probability" if c == "top_probability" else emotion_label(c))
text = st.text_input("Path contains", placeholder="part of a file or folder name")
view = filter_tracks(tracks, emotions=emotions, min_probability=min_p, status=status, text=text, sort_by=sort_by)
st.caption(f"{len(view):,} of {len(tracks):,} tracks. Click a row to see its timeline; click a column to sort.")
event = st.dataframe(view[TABLE_COLUMNS], hide_index=True, width="stretch", on_select="rerun",
                     selection_mode="single-row", key="table",
                     column_config={"top_probability": st.column_config.ProgressColumn("top p", min_value=0, max_value=1),
                                    **{e: st.column_config.NumberColumn(emotion_label(e), format="%.2f")
                                       for e in EMOTIONS}})
d1, d2 = st.columns(2)
d1.download_button("Filtered table (CSV)", tracks_csv(view), f"{batch.path.name}-tracks.csv", "text/csv")
d2.download_button("Filtered table (Parquet)", view.to_parquet(index=False), f"{batch.path.name}-tracks.parquet",
                   "application/octet-stream")

rows = event.selection.rows if event and event.selection else []
if rows:  # a click on the table picks the track below
    st.session_state["track"] = view.iloc[rows[0]]["path"]
choices = view[view["status"] == "ok"]["path"].tolist()
if not choices:
    st.stop()
if st.session_state.get("track") not in choices:
    st.session_state["track"] = choices[0]

st.subheader("A track's 20 segments")
path = st.selectbox("Track", choices, key="track", format_func=lambda p: Path(p).name)
row = view[view["path"] == path].iloc[0]
seg = segments_of(str(batch.path), stamp, int(row["track_id"]))
st.caption(f"{escape_markdown(path)} · {row['duration_s']:.1f} s · top emotion **{emotion_label(row['top_emotion'])}** "
           f"({row['top_probability']:.2f})")
audio = playable_path(batch.path, file_path(row))
if audio is not None:
    st.audio(str(audio))
elif Path(file_path(row)).is_file():
    st.caption("This file lies outside the library folders this batch analysed, so it is not played here "
               "(add its folder to `MER_LIBRARY_ROOTS` when starting the app to allow it).")
else:
    st.caption("The audio file is no longer at this path; the results remain.")
t1, t2 = st.columns([3, 1])
t1.plotly_chart(timeline_figure(seg[list(EMOTIONS)].to_numpy(), seg["start_s"].to_numpy(), seg["end_s"].to_numpy()),
                width="stretch")
t2.plotly_chart(distribution_figure(row[list(EMOTIONS)].to_numpy(dtype=float)), width="stretch")
