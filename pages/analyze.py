"""Analyze: upload a track or pick an example (real, freely licensed music); see the 20-segment emotion timeline and FFT spectra."""

import hashlib

import streamlit as st

from mer.analyze import Analysis
from mer.card import precision_note
from mer.compare import compare as compare_tracks
from mer.data.examples import list_examples
from mer.emotions import emotion_label
from mer.errors import MerError
from mer.model_files import load_metrics
from mer.plots.analyze import (
    circumplex_figure,
    circumplex_pair_figure,
    logmel_figure,
    paired_bars_figure,
    spectrum_figure,
    taggram_figure,
    waveform_figure,
)
from mer.plots.track import distribution_figure, segment_from_selection, timeline_figure
from mer.report import analysis_csv, analysis_json, html_report
from mer.text import display_text, escape_html, escape_markdown, md_code
from mer.valence import NO_HEAD
from mer.valence import SOURCE as VA_SOURCE
from mer.yardstick import CLEAR_TIMES_CHANCE, UNSURE_MARGIN, UNSURE_TIMES_CHANCE, how_sure, reference, va_sureness
from ui import (
    FROM_LIBRARY,
    analysis_of,
    developer_details,
    get_model,
    library_bytes,
    library_file,
    model_names,
    show_error,
    start_page,
)

start_page("Analyze")
st.title("Analyze a track")
st.caption("Each track is cut into 20 equal segments. A CNN embeds each segment's spectrogram (MusiCNN, pretrained on "
           "a million songs, in the default model), an LSTM reads the 20 in order, and the model gives every segment, "
           "and the whole track, a probability for each of the nine GEMS emotions.")


@st.cache_data(show_spinner=False)
def examples():
    return list_examples()


@st.cache_data(show_spinner=False)
def example_bytes(index: int) -> bytes:
    return examples()[index].read_bytes()


def result_key(result: Analysis) -> str:
    """What tells one analysis from another: its name, its model and its numbers (a few kB to hash)."""
    digest = hashlib.sha256(result.probabilities.tobytes() + result.track_probabilities.tobytes())
    return f"{result.audio.name}\0{result.model_name}\0{result.model_trained_on}\0{digest.hexdigest()}"


@st.cache_data(show_spinner="Preparing the downloads…", max_entries=8)
def exports(key: str, _result: Analysis, _model, _metrics) -> tuple[bytes, bytes, bytes]:
    """The JSON, the CSV and the HTML report of an analysis (the report's charts are SVG: tens of kB)."""
    return (analysis_json(_result).encode(), analysis_csv(_result).encode(),
            html_report(_result, _model, _metrics).encode())


sent = library_file()
sources = ["Example", "Upload a file", "Record with the microphone", *([FROM_LIBRARY] if sent else [])]
source = st.radio("Source", sources, horizontal=True, label_visibility="collapsed", key="source")
data, name, credit, token = None, None, None, None
if source == "Example":
    try:
        choices = examples()
    except MerError as e:
        show_error(e)
        st.stop()
    index = st.selectbox("Example (real music, freely licensed; never used in training)", range(len(choices)),
                         format_func=lambda i: f"{choices[i].title} — {choices[i].author} ({choices[i].character})",
                         key="example")
    data, name, credit, token = example_bytes(index), choices[index].path.name, choices[index], f"example-{index}"
elif source == "Upload a file":
    upload = st.file_uploader("Audio file (WAV, MP3, FLAC or OGG, 10 s to 20 min)", type=["wav", "mp3", "flac", "ogg"],
                              key="upload")
    if upload is not None:
        data, name, token = upload.getvalue(), upload.name, upload.file_id
elif source == FROM_LIBRARY:
    file, batch = sent
    st.code(display_text(file), language=None, wrap_lines=True)
    try:
        data, token = library_bytes(file, batch)  # checked again at every rerun: the file may have been swapped
    except MerError as e:
        show_error(e)
        st.stop()
    name = display_text(file.name)
else:
    recording = st.audio_input("Record at least 10 seconds of music (the browser asks for the microphone)",
                               sample_rate=22_050, key="recording")
    if recording is not None:  # a WAV file, analysed like an upload (a clip under 10 s gets the same message)
        data, name, token = recording.getvalue(), "recording.wav", recording.file_id

if data is None:
    st.info("Record a clip to analyse." if source == "Record with the microphone" else
            "Choose an audio file to analyse.")
    st.stop()

names = model_names()
picked = st.selectbox("Model", names, key="model", help="The active model comes first; the Model page makes "
                      "another one active.") if len(names) > 1 else None
picked = None if picked is None or picked == names[0] else picked  # the active model, with its fallback
try:
    model = get_model(picked)
    result = analysis_of(data, name, token, picked)  # a bar shows each stage while it runs
except MerError as e:
    show_error(e)
    st.stop()

if model.fallback_reason:
    st.warning(escape_markdown(model.fallback_reason))
for note in result.audio.notes:
    st.warning(f"{escape_markdown(result.audio.name)}: {escape_markdown(note)}. The part that decoded was analysed.")

seg = result.features.segments
tp = result.track_probabilities
metrics = load_metrics(model.path)
sure, yardstick = how_sure(tp), reference(metrics.cv if metrics is not None else None)
c1, c2, c3, c4 = st.columns([2, 1, 1, 1])
c1.metric("Overall emotion", emotion_label(result.track_top))
c2.metric("Track probability", f"{tp.max():.2f}", help="From the track head, which reads all 20 segments. The "
          "nine probabilities share 1, so a clear answer can be well below 0.5.")
c3.metric("Duration", f"{result.duration_s:.1f} s")
c4.metric("Model", escape_markdown(result.model_name), help=f"Trained on {escape_markdown(result.model_trained_on)}.")

st.markdown(f"**How sure is this?** {escape_markdown(sure.sentence)}  \n"
            f"**How good is this model?** {escape_markdown(yardstick.sentence)}")
if source != "Record with the microphone":  # the recorder plays its own clip
    st.audio(data)
if credit is not None:
    st.caption(f"{credit.credit} Licence: [{credit.licence}]({credit.licence_url}).")
st.plotly_chart(waveform_figure(result.waveform, seg.start_s, result.segment_top), width="stretch", key="waveform")

left, right = st.columns([3, 1])
with left:
    view = st.radio("Timeline shows", ["probabilities", "change from the track's mean"], horizontal=True,
                    key="timeline_view", help="The change view subtracts each emotion's mean over the track: "
                                               "where the music moves towards an emotion (red) or away (blue).")
    event = st.plotly_chart(timeline_figure(result.probabilities, seg.start_s, seg.end_s,
                                            relative=view != "probabilities"),
                            width="stretch", on_select="rerun", selection_mode="points", key="timeline")
with right:
    st.plotly_chart(distribution_figure(tp), width="stretch", key="distribution")

# a click on the timeline picks the segment below; only a new click moves the slider (the selection stays
# on the chart while the slider is moved)
pick = segment_from_selection(event.selection.points if event and event.selection else [])
if pick is not None and pick != st.session_state.get("_timeline_pick"):
    st.session_state["segment"] = pick
st.session_state["_timeline_pick"] = pick

va = result.va_path
va_eval = metrics.valence_arousal if metrics is not None else None
if va is None:
    st.info(NO_HEAD)
else:
    plane, said = st.columns([3, 2])
    plane.plotly_chart(circumplex_figure(va, seg.start_s, segment=st.session_state.get("segment", 1) - 1,
                                         anchors=va_eval.anchors if va_eval else None),
                       width="stretch", key="circumplex")
    va_sure = va_sureness(va.track_valence, va.track_arousal,
                          *((va_eval.head.valence_accuracy, va_eval.head.arousal_accuracy) if va_eval else ()),
                          top=result.track_top, anchors=va_eval.anchors if va_eval else None)
    with said:
        st.metric("Valence", f"{va.track_valence:+.2f}", help="Unpleasant (−1) to pleasant (+1): 2 P(pleasant) − 1.")
        st.metric("Arousal", f"{va.track_arousal:+.2f}", help="Calm (−1) to energetic (+1): 2 P(energetic) − 1.")
        st.markdown(f"**{va_sure.words[0].upper()}{va_sure.words[1:]}.** {va_sure.sentence}")
        st.caption(f"The line joins the {len(seg)} segments in time order, from light to dark. {VA_SOURCE}")

if result.tags is not None:
    heard = result.tagger_dict()
    st.caption(f"**What the CNN hears** (MusiCNN's Last.fm tags for the whole track; the tagger's output, not "
               f"emotions): {escape_markdown(', '.join(heard['top']))}.")
    st.plotly_chart(taggram_figure(result.tags, heard["tags"], seg.start_s, seg.end_s), width="stretch",
                    key="taggram")

st.subheader("Per-segment FFT spectra")
s1, s2 = st.columns(2)
segment = s1.slider("Segment", 1, len(seg), key="segment",
                    help="Or click a column of the timeline.") - 1
compare = s2.selectbox("Compare with", range(len(seg)), index=None, placeholder="no second segment",
                       format_func=lambda i: f"segment {i + 1}", key="compare")
st.caption(f"Segment {segment + 1}: {seg.start_s[segment]:.2f}–{seg.end_s[segment]:.2f} s · top emotion "
           f"**{emotion_label(result.segment_top[segment])}** ({result.probabilities[segment].max():.2f}) · dominant "
           f"{result.features.spectra.dominant_hz[segment]:.0f} Hz · centroid "
           f"{result.features.spectra.centroid_hz[segment]:.0f} Hz · RMS {result.features.spectra.rms_dbfs[segment]:.1f} dBFS")
f1, f2 = st.columns(2)
f1.plotly_chart(spectrum_figure(result.features.spectra.freqs_hz, result.features.spectra.magnitude_db, segment, compare,
                                seg.start_s, seg.end_s), width="stretch", key="spectrum")
f2.plotly_chart(logmel_figure(result.features.logmel[segment], result.audio.sample_rate,
                              model.feature_config.hop_length, segment), width="stretch", key="logmel")

st.subheader("Download")
stem = name.rsplit(".", 1)[0]
d1, d2, d3 = st.columns(3)
# the files' bytes are given to the buttons (made once per analysis), and a download reruns nothing
# (on_click="ignore"): a rerun while the browser fetched one file replaced the files behind the other buttons.
json_bytes, csv_bytes, html_bytes = exports(result_key(result), result, model, metrics)
d1.download_button("Results (JSON)", json_bytes, f"{stem}-emotions.json", "application/json", key="get_json",
                   on_click="ignore")
d2.download_button("Results (CSV)", csv_bytes, f"{stem}-emotions.csv", "text/csv", key="get_csv", on_click="ignore")
d3.download_button("Report (HTML)", html_bytes, f"{stem}-report.html", "text/html", key="get_html",
                   on_click="ignore")

st.subheader("Compare with another track")
try:
    others = examples()
except MerError:
    others = []
options = ["none", *[f"example-{i}" for i in range(len(others))], "upload", "record"]
second = st.selectbox("Second track", options, key="second", format_func=lambda o: {
    "none": "no second track", "upload": "Upload a file", "record": "Record with the microphone"}.get(o) or
    f"Example: {others[int(o.split('-')[1])].title} — {others[int(o.split('-')[1])].author}")
data_b = name_b = token_b = None
if second == "upload":
    upload_b = st.file_uploader("Second audio file", type=["wav", "mp3", "flac", "ogg"], key="upload_b")
    if upload_b is not None:
        data_b, name_b, token_b = upload_b.getvalue(), upload_b.name, upload_b.file_id
elif second == "record":
    recording_b = st.audio_input("Record at least 10 seconds of music", sample_rate=22_050, key="recording_b")
    if recording_b is not None:
        data_b, name_b, token_b = recording_b.getvalue(), "second-recording.wav", recording_b.file_id
elif second != "none":
    i = int(second.split("-")[1])
    data_b, name_b, token_b = example_bytes(i), others[i].path.name, second
if data_b is not None:
    try:
        result_b = analysis_of(data_b, name_b, token_b, picked)
    except MerError as e:
        show_error(e)
        st.stop()
    diff = compare_tracks(result, result_b)
    st.markdown(escape_markdown(diff.sentence))
    for res, key in ((result, "timeline_a"), (result_b, "timeline_b")):  # one above the other: each full width
        s_ = res.features.segments
        st.plotly_chart(timeline_figure(res.probabilities, s_.start_s, s_.end_s, zmax=diff.zmax,
                                        title=f"{escape_html(res.audio.name)}: emotion timeline"),
                        width="stretch", key=key)
    p1, p2 = st.columns(2)
    if result.va_path is not None and result_b.va_path is not None:
        p1.plotly_chart(circumplex_pair_figure(diff.names, (result.va_path, result_b.va_path)), width="stretch",
                        key="pair_plane")
    p2.plotly_chart(paired_bars_figure(diff.names, (result.track_probabilities, result_b.track_probabilities)),
                    width="stretch", key="pair_bars")

developer_details([
    f"Model folder: {md_code(model.path)} (weights, `config.json`, `metrics.json` with the cross-validation, "
    "`card.md`).",
    *([escape_markdown(note)] if (note := precision_note(model.recorded_precision)) else []),
    "The same analysis from the command line: `python -m mer analyze FILE --json` (`--model DIR` for another "
    "model); the downloads hold the same numbers.",
    f"How sure: `mer/yardstick.py` (unsure below {UNSURE_TIMES_CHANCE:g} times chance or within {UNSURE_MARGIN:g} of "
    f"the runner-up, clear from {CLEAR_TIMES_CHANCE:g} times chance); the valence–arousal head: `mer/valence.py`; the "
    "examples' sources and licences: `mer/resources/examples/LICENSES.md`.",
])
