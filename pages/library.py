"""Library: analyse a folder of music on this server in the background, and present a batch's results — the
library's emotions, by folder or genre, a table paged, filtered and sorted on the server (by valence and arousal
too), a track's 20-segment timeline, tracks like it, a journey from one mood to another (between emotions, or
across the valence–arousal plane), and a map of the whole library."""

import os
from pathlib import Path

import streamlit as st

from mer.batch.catalogue import Catalogue
from mer.batch.folders import folder_outside, library_roots, playable_path, remember_folder, unplayable_reason
from mer.batch.job import batch_jobs, batch_status, cancel_batch, clear_batch, start_batch
from mer.batch.journey import journey, plane_journey
from mer.batch.library import list_batches
from mer.batch.playlist import m3u_text
from mer.batch.query import MAP_ANCHORS, LibraryMap, TrackQuery
from mer.batch.sample import ensure_sample
from mer.batch.similar import similar
from mer.batch.upgrade import needs_upgrade, upgrade_batch
from mer.batch.view import (
    common_folder,
    file_name,
    journey_rows,
    map_points,
    picked,
    select_tracks,
    similar_rows,
    step_range,
)
from mer.choices import SimilarBy
from mer.emotions import EMOTIONS, emotion_label
from mer.errors import MerError
from mer.jobs import JobState
from mer.plots.common import clock as hms
from mer.plots.library import group_figure, journey_figure, library_figure, map_figure, plane_map_figure
from mer.plots.track import distribution_figure, timeline_figure
from mer.progress import RateClock
from mer.settings import LIBRARY_ROOTS, shared_roots
from mer.text import escape_markdown, md_code
from mer.valence import describe
from ui import developer_details, get_model, send_to_analyze, show_error, start_page, visitor_on_this_machine

start_page("Library")
st.title("Library")
st.caption("A whole music library, analysed in the background: one row per track, 20 segments each.")
SAMPLE = "sample"


@st.cache_resource(show_spinner="Reading the batch…", max_entries=2)
def catalogue(path: str, stamp: int) -> Catalogue:
    """One copy per batch for every visitor: a few columns, queried on the server (an older batch is upgraded
    before, with a bar: see below)."""
    return Catalogue(Path(path), upgrade=False)


@st.cache_data(show_spinner=False, max_entries=4)
def library_map(path: str, stamp: int) -> LibraryMap:
    return catalogue(path, stamp).library_map()


def _label(column: str) -> str:
    return {"top_probability": "top probability", "duration_s": "duration", "valence": "valence (learned)",
            "arousal": "arousal (learned)"}.get(column, emotion_label(column))


def start_form(expanded: bool) -> None:
    roots = library_roots()
    may_ask = not shared_roots() and visitor_on_this_machine()  # the owner, at the machine itself
    where = ("Any folder on this computer: the first time, you are asked to allow it." if may_ask else
             "A folder under one of those this server allows: " + ", ".join(md_code(r) for r in roots) + ".")
    with st.expander("Analyse a folder of music", expanded=expanded or "confirm_folder" in st.session_state):
        with st.form("start_batch"):
            folder = st.text_input("Folder", key="folder", placeholder=str(roots[-1]) if roots else "",
                                   help=f"A folder of WAV, MP3, FLAC or OGG files (searched recursively). {where}")
            name = st.text_input("Name of the results", key="batch_name", placeholder="the folder's name",
                                 help="Starting a cancelled analysis again resumes it.")
            if st.form_submit_button("Analyse", type="primary"):
                st.session_state.pop("confirm_folder", None)
                named = name.strip() or Path(folder.strip().rstrip("/")).name
                try:
                    begin(folder, named)
                except MerError as e:
                    outside = folder_outside(folder) if may_ask else None
                    if outside is None:
                        show_error(e)
                    else:  # asked below, outside the form
                        st.session_state["confirm_folder"] = (str(outside), named)
        confirm_folder()


def begin(folder: str, name: str) -> None:
    job = start_batch(folder, name)
    st.session_state["show"] = job.name
    st.rerun()


def confirm_folder() -> None:
    """Ask the owner of the machine once before mer reads a folder of theirs; remembered (in the data folder)."""
    if "confirm_folder" not in st.session_state:
        return
    folder, name = st.session_state["confirm_folder"]
    st.warning(f"mer has not read {md_code(folder)} before. Allow it to read this folder and its subfolders, now "
               "and next time? It only reads: the results go to the app's own data folder.")
    c1, c2 = st.columns([1, 4])
    if c1.button("Allow and analyse", type="primary", key="allow_folder"):
        st.session_state.pop("confirm_folder")
        try:
            begin(str(remember_folder(Path(folder))), name)
        except MerError as e:
            show_error(e)
    if c2.button("Cancel", key="cancel_folder"):
        st.session_state.pop("confirm_folder")
        st.rerun()


@st.fragment(run_every=1.0)
def running(name: str) -> None:
    job = batch_status(name)
    if job.state != JobState.RUNNING:
        st.rerun()  # the whole page: the results are ready (or the reason it stopped)
    rate = f"{job.files_per_s:.2f} files/s" if job.files_per_s else "starting"
    eta = "—" if job.eta_s is None else hms(job.eta_s)  # the page names its RateClock "clock"
    st.progress(job.progress, text=f"**{escape_markdown(name)}**: {job.done:,} of {job.total:,} files · {rate} · "
                                   f"ETA {eta} · {escape_markdown(job.message or 'starting the workers')}")
    st.caption(f"{escape_markdown(job.folder)}, started {escape_markdown(job.started)}")
    if st.button("Cancel", key=f"cancel-{name}"):
        cancel_batch(name)
        st.rerun()


def finished(job) -> None:
    name, message = escape_markdown(job.name), escape_markdown(job.message)
    if job.state == JobState.DONE:
        st.success(f"**{name}** is analysed: {message}. Its results are shown below.")
    else:
        (st.warning if job.state == JobState.CANCELLED else st.error)(
            f"**{name}**: {message}" if job.state == JobState.CANCELLED else f"**{name}** failed: {message}")
    c1, c2 = st.columns([1, 5])
    if job.state != JobState.DONE and c1.button("Resume", key=f"resume-{job.name}", type="primary"):
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
    if job.state == JobState.RUNNING:
        running(job.name)
    else:
        finished(job)
        if job.state == JobState.DONE and st.session_state.get("show") == job.name:
            st.session_state["batch"] = f"batches/{job.name}"  # the results of the batch just started
            st.session_state["show"] = None

names = sorted(batches, key=lambda n: batches[n].finished, reverse=True) + [SAMPLE]
if st.session_state.get("batch") not in names:
    st.session_state["batch"] = names[0]
choice = st.selectbox("Batch", names, key="batch", help="Batch result folders under the data folder.",
                      format_func=lambda n: "Sample: the example excerpts bundled with mer" if n == SAMPLE
                      else str(batches[n]))
if choice == SAMPLE:
    bar, clock = st.empty(), RateClock("files")  # a bar only while the sample is analysed (once per model)

    def show(done: int, total: int, message: str) -> None:
        bar.progress(min(done / max(total, 1), 1.0), text="Analysing the example excerpts with the active model "
                     f"(once): {clock.line(done, total)}")

    try:
        batch = ensure_sample(get_model(), on_progress=show)
        bar.empty()
    except MerError as e:
        show_error(e)
        st.stop()
    st.caption("A sample: the five freely licensed excerpts of the Analyze page, analysed with the active model. "
               "Analyse a folder of your own above.")
else:
    batch = batches[choice]
if needs_upgrade(batch.path):  # a batch of an older mer: its segments sorted and its profiles written, once
    bar, clock = st.empty(), RateClock("rows")
    try:
        upgrade_batch(batch.path, on_progress=lambda done, total, what: bar.progress(
            min(done / max(total, 1), 1.0), text=f"Upgrading this batch to the current layout (once): {what}, "
                                                 f"{clock.line(done, total)}"))
    except MerError as e:
        st.info(f"This batch was written by an older mer and reads more slowly until it is upgraded (done when it "
                f"is next opened): {escape_markdown(str(e))}")
    bar.empty()
# the cached copy is read again when a table changes: a new run, or the upgrade (segments.parquet)
stamp = sum((batch.path / n).stat().st_mtime_ns for n in ("tracks.parquet", "segments.parquet"))
try:
    cat = catalogue(str(batch.path), stamp)
except MerError as e:
    show_error(e)
    st.stop()
for note in cat.notes:
    st.caption(escape_markdown(note))
summary = cat.summary()

c1, c2, c3, c4 = st.columns(4)
c1.metric("Tracks", f"{summary.tracks:,}")
c2.metric("Analysed", f"{summary.analysed:,}")
c3.metric("Failed", f"{summary.failed:,}")
c4.metric("Model", escape_markdown(", ".join(summary.models)) or "—")

left, right = st.columns(2)
left.plotly_chart(library_figure(summary.counts_series()), width="stretch")
groups = ["folder"] + (["genre"] if cat.has_groups("genre") else [])
by = right.radio("Group by", groups, horizontal=True, format_func=lambda g: "genre tag" if g == "genre" else g)
right.plotly_chart(group_figure(cat.group_shares(by).to_frame(), by), width="stretch")

st.subheader("Tracks")
f1, f2, f3, f4 = st.columns([3, 2, 1, 2])
emotions = f1.multiselect("Top emotion", list(EMOTIONS), default=list(EMOTIONS), format_func=emotion_label)
min_p = f2.slider("Top probability at least", 0.0, 1.0, 0.0, 0.05)
status = f3.selectbox("Status", ["ok", "error", "all"])
sort_by = f4.selectbox("Sort by", cat.sort_columns(), format_func=_label)
bounds = {}
if cat.has_va:  # the learned values: a range each, narrowed only when moved
    v1, v2 = st.columns(2)
    for col, name, words in ((v1, "valence", "unpleasant ← → pleasant"), (v2, "arousal", "calm ← → energetic")):
        lo, hi = col.slider(f"Valence ({words})" if name == "valence" else f"Arousal ({words})", -1.0, 1.0,
                            (-1.0, 1.0), 0.05, key=f"{name}_range")
        bounds |= {f"{name}_min": lo if lo > -1.0 else None, f"{name}_max": hi if hi < 1.0 else None}
else:
    st.caption(escape_markdown(cat.va_reason or ""))
g1, g2, g3 = st.columns([4, 1, 1])
text = g1.text_input("Path contains", placeholder="part of a file or folder name")
descending = g2.toggle("Highest first", value=sort_by not in ("path", "file", "folder"),
                       help="Numbers highest first, names Z to A.")
query = TrackQuery(emotions=tuple(emotions) if len(emotions) < len(EMOTIONS) else None, min_probability=min_p,
                   status=status, text=text, **bounds)
selection = select_tracks(cat, query, sort_by=sort_by, descending=descending)  # the count, the pages, the download
page_no = g3.number_input("Page", min_value=1, max_value=selection.pages, value=1, step=1, key="page_no")
page = selection.page(page_no)
st.caption(f"{selection.total:,} of {summary.tracks:,} tracks · page {page.number} of {selection.pages:,} "
           f"({selection.page_size} rows a page), sorted on the server by {_label(sort_by)}. Click a row to see its "
           "timeline.")
event = st.dataframe(page.table, hide_index=True, width="stretch", on_select="rerun",
                     selection_mode="single-row", key="table",
                     column_config={"top_emotion": st.column_config.TextColumn("top emotion"),
                                    "top_probability": st.column_config.ProgressColumn(
                                        "top probability", min_value=0, max_value=1, format="%.2f"),
                                    **{e: st.column_config.NumberColumn(emotion_label(e), format="%.2f")
                                       for e in EMOTIONS},
                                    **{n: st.column_config.NumberColumn(n, format="%+.2f")
                                       for n in ("valence", "arousal")},
                                    "duration_s": st.column_config.NumberColumn("duration (s)", format="%.1f")})
if selection.downloadable:  # written only when a button is clicked
    d1, d2 = st.columns(2)
    d1.download_button("Filtered table (CSV)", selection.csv, f"{batch.path.name}-tracks.csv",
                       "text/csv", on_click="ignore")  # a download changes nothing on the page: no rerun
    d2.download_button("Filtered table (Parquet)", selection.parquet, f"{batch.path.name}-tracks.parquet",
                       "application/octet-stream", on_click="ignore")
else:
    st.caption(f"More than {selection.download_rows:,} rows: narrow the filters to download them here (or see the "
               "details for developers at the foot of the page).")

rows = event.selection.rows if event and event.selection else []
if rows:  # a click on the table picks the track below
    st.session_state["track"] = page.ids[rows[0]]
if not page.analysed:
    st.stop()
if st.session_state.get("track") not in page.analysed:
    st.session_state["track"] = page.analysed[0]

st.subheader("A track's 20 segments")
track_id = st.selectbox("Track", page.analysed, key="track", format_func=page.name)
shown = picked(cat, track_id)
me, seg, path = shown.track, shown.timeline, shown.track.path
st.code(path, language=None, wrap_lines=True)
st.caption(f"{me.duration_s:.1f} s · top emotion **{emotion_label(me.top_emotion)}** "
           f"({me.top_probability:.2f})" + (f" · valence {me.valence:+.2f}, arousal {me.arousal:+.2f}: "
                                           f"{describe(me.valence, me.arousal)}" if me.point else ""))
audio = playable_path(batch.path, shown.file_path)
if audio is not None:
    st.audio(str(audio))
    if st.button("Open in Analyze", key="open_in_analyze", help="Analyse this file on the Analyze page: each "
                 "segment's spectra, the valence–arousal path, the downloads, a comparison with another track."):
        send_to_analyze(audio, batch.path)
else:  # named for what it is: gone, a named pipe, outside the allowed folders...
    why = unplayable_reason(batch.path, shown.file_path) or "changed while the page looked at it"
    st.caption(f"The file {why}, so it is not played here; the results remain.")  # words of mer's, no path
t1, t2 = st.columns([3, 1])
t1.plotly_chart(timeline_figure(seg.probabilities, seg.start_s, seg.end_s), width="stretch")
t2.plotly_chart(distribution_figure(me.probabilities), width="stretch")

st.subheader("More like this")
by = SimilarBy.EMOTION
try:
    sounds = cat.sounds()
except MerError as e:  # a damaged sound column: similar by emotion still works
    show_error(e)
    sounds = None
if sounds is not None:
    by = st.radio("Similar by", list(SimilarBy), horizontal=True, key="similar_by",
                  format_func=lambda b: "emotion profile" if b == SimilarBy.EMOTION else "sound (what MusiCNN hears)")
try:
    near = similar(cat, path, top=10, by=by)
except MerError as e:
    show_error(e)
    near = []
st.caption("The nearest tracks by emotion profile: the nine probabilities"
           + (", the learned valence and arousal" if cat.has_va else "") + " and the shape of the timeline (how much "
           "each varies, and whether it rises or falls through the track)." if by == SimilarBy.EMOTION else
           "The nearest tracks by sound: what MusiCNN hears in each (its 50 Last.fm tags' probabilities averaged "
           "over the track: genres, instruments, moods), compared by cosine distance.")
st.dataframe(similar_rows(near, by_sound=by == SimilarBy.SOUND), hide_index=True, width="stretch", key="similar")

st.subheader("A journey from one mood to another")
here = "this track"
plane = cat.has_va and st.radio(
    "Journey", ["emotions", "plane"], horizontal=True, key="journey_space",
    format_func=lambda k: "between emotions" if k == "emotions" else "across the valence–arousal plane") == "plane"
j1, j2, j3 = st.columns([2, 2, 1])
trip = None
if plane:  # from this track or a point, to a point; each step the nearest track by learned valence and arousal
    source = j1.radio("From", [here, "a point"], horizontal=True, key="plane_from")
    start = path if source == here else \
        (j1.slider("From valence", -1.0, 1.0, -0.6, 0.05), j1.slider("From arousal", -1.0, 1.0, -0.6, 0.05))
    end = (j2.slider("To valence", -1.0, 1.0, 0.6, 0.05), j2.slider("To arousal", -1.0, 1.0, 0.6, 0.05))
    steps = step_range(cat, plane=True)
    steps = j3.number_input("Steps", min_value=2, max_value=steps.most, value=steps.default, key="plane_steps")
    try:
        trip = plane_journey(cat, start, end, steps=int(steps))
    except MerError as e:
        st.info(str(e))
else:
    present = [e for e, n in zip(EMOTIONS, summary.counts) if n > 0]  # a journey ends at a track of its emotion
    start = j1.selectbox("From", [here, *present], format_func=lambda e: e if e == here else emotion_label(e),
                         help="Start at the track above, or at the track most typical of an emotion.")
    target = j2.selectbox("To", present, index=present.index("calmness") if "calmness" in present else 0,
                          format_func=emotion_label)
    steps = step_range(cat)
    steps = j3.number_input("Steps", min_value=2, max_value=steps.most, value=steps.default)
    try:
        trip = journey(cat, target, steps=int(steps),
                       **({"from_track": path} if start == here else {"from_emotion": start}))
    except MerError as e:  # e.g. the one track of the target's emotion is the start: guidance, not a failure
        st.info(str(e))
if trip is not None:
    if trip.points:
        st.caption("Each step is the track nearest (by its learned valence and arousal) to the next point of the "
                   "straight line between the two points, never the same track twice; the map below draws it.")
    tracks = [s.track for s in trip.steps]
    st.plotly_chart(journey_figure([t.probabilities for t in tracks], [file_name(t.path) for t in tracks]),
                    width="stretch")
    st.dataframe(journey_rows(trip, va=cat.has_va), hide_index=True, width="stretch", key="journey")
    m1, m2 = st.columns([2, 3])
    kind = m1.radio("Paths in the playlist", ["relative", "absolute"], horizontal=True, key="m3u_paths",
                    format_func={"relative": "relative to a folder", "absolute": "absolute (this computer)"}.get,
                    help="Relative paths play on any computer that has the same music under that folder, with the "
                         "playlist saved in it; absolute paths play only where the files are now.")
    base = None
    if kind == "relative":
        base = m2.text_input("Relative to the folder (save the playlist there)", common_folder(tracks),
                             key="m3u_base", help="The music folder, or the folder the playlist will be saved "
                                                  "in.").strip() or None
    try:
        playlist = m3u_text(tracks, relative_to=base)
    except MerError as e:  # a path that is not absolute in a hand-made table
        show_error(e)
        playlist = None
    if playlist is not None:
        st.download_button("Journey playlist (M3U)", playlist, f"{batch.path.name}-{trip.file_stem}.m3u",
                           "audio/x-mpegurl", on_click="ignore")

st.subheader("The library map")
lmap = library_map(str(batch.path), stamp)
drawn = map_points(lmap, [s.track for s in trip.steps] if trip is not None else [me])
left_out = f" {lmap.left_out:,} analysed tracks without a place on it are left out." if lmap.left_out else ""
if lmap.axes == "valence_arousal":
    st.caption("Each track sits at its valence and arousal, learned from listeners (0 means undecided; the dotted "
               "square is where neither leans clearly); the shade counts the tracks in each cell. The journey, or "
               "the track above, is drawn on top." + left_out)
    st.plotly_chart(plane_map_figure(lmap.counts, lmap.edges, drawn.points, drawn.labels), width="stretch")
else:
    st.caption(escape_markdown(cat.va_reason or "") + " So the map places each track between the nine emotions, "
               "pulled towards each by its probability (fixed corners, the same for every batch), not on the "
               "valence–arousal plane; the shade counts the tracks in each cell. The journey is drawn on top."
               + left_out)
    st.plotly_chart(map_figure(lmap.counts, lmap.edges, MAP_ANCHORS, drawn.points, drawn.labels), width="stretch")

developer_details([
    "Analyse a library from the command line: `python -m mer batch MUSIC --out data/batches/NAME` (the page offers "
    "every batch in the data folder); query one: `python -m mer library query|similar|journey BATCH ... --json`.",
    f"Which folders the page may read: the data folder and, on a shared server, those in `{LIBRARY_ROOTS}`, set "
    f"where the app starts: `{LIBRARY_ROOTS}=/srv/music{os.pathsep}/mnt/more streamlit run app.py`. While it is unset, "
    "the owner of the machine allows folders here (only a browser on the machine itself is asked), kept in "
    "`library-folders.json` in the data folder.",
])
