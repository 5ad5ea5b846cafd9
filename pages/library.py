"""Library: a batch's results for stakeholders — the library's emotions, by folder or genre, a filterable
table, and a track's 20-segment timeline."""

from pathlib import Path

import pandas as pd
import streamlit as st

from mer.batch.library import (TABLE_COLUMNS, emotion_counts, filter_tracks, group_shares, list_batches,
                               load_tracks, playable_path, track_segments)
from mer.config import EMOTIONS, emotion_label
from mer.plots import distribution_figure, group_figure, library_figure, timeline_figure
import ui  # noqa: F401  (routes a shared link to this page through app.py; see ui.py)

st.title("Library")
st.caption("The results of `python -m mer batch` on a whole music library: one row per track, 20 segments each.")


@st.cache_data(show_spinner="Reading the batch…", max_entries=4)
def tracks_of(path: str, stamp: int) -> pd.DataFrame:
    return load_tracks(Path(path))


@st.cache_data(show_spinner=False, max_entries=64)
def segments_of(path: str, stamp: int, track_id: int) -> pd.DataFrame:
    return track_segments(Path(path), track_id)


batches = list_batches()
if not batches:
    st.info("No batch results in the data folder yet. Analyse a library with "
            "`python -m mer batch MUSIC_FOLDER --out data/batches/NAME`, then come back.")
    st.stop()
batch = st.selectbox("Batch", batches, format_func=str, help="Batch result folders under the data folder.")
stamp = (batch.path / "tracks.parquet").stat().st_mtime_ns
tracks = tracks_of(str(batch.path), stamp)
ok = tracks[tracks["status"] == "ok"]

c1, c2, c3, c4 = st.columns(4)
c1.metric("Tracks", f"{len(tracks):,}")
c2.metric("Analysed", f"{len(ok):,}")
c3.metric("Failed", f"{len(tracks) - len(ok):,}")
c4.metric("Model", ", ".join(sorted(tracks["model_name"].unique())) or "—")

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
d1.download_button("Filtered table (CSV)", view.to_csv(index=False), f"{batch.path.name}-tracks.csv", "text/csv")
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
st.caption(f"{path} · {row['duration_s']:.1f} s · top emotion **{emotion_label(row['top_emotion'])}** "
           f"({row['top_probability']:.2f})")
audio = playable_path(batch.path, path)
if audio is not None:
    st.audio(str(audio))
elif Path(path).is_file():
    st.caption("This file lies outside the library folders this batch analysed, so it is not played here "
               "(add its folder to `MER_LIBRARY_ROOTS` when starting the app to allow it).")
else:
    st.caption("The audio file is no longer at this path; the results remain.")
t1, t2 = st.columns([3, 1])
t1.plotly_chart(timeline_figure(seg[list(EMOTIONS)].to_numpy(), seg["start_s"].to_numpy(), seg["end_s"].to_numpy()),
                width="stretch")
t2.plotly_chart(distribution_figure(row[list(EMOTIONS)].to_numpy(dtype=float)), width="stretch")
