"""Dataset: the real Emotify by default (bundled annotations and compact features), or the synthetic demo corpus:
tracks per emotion, genres, ties, listener agreement, a track's vote shares, and class balance before/after SMOTE."""


import streamlit as st

from mer.choices import SAMPLERS
from mer.data.balance import SAMPLER_LABELS
from mer.data.emotify import BUNDLED_DATA_CSV, load_annotations
from mer.data.stats import BUNDLED_SAMPLES, dataset_stats
from mer.emotions import emotion_label
from mer.errors import MerError
from mer.plots.dataset import agreement_figure, balance_figure, genre_figure, pca_figure, tracks_figure
from mer.text import escape_markdown, md_code
from ui import DEMO_NOTE, corpora, developer_details, ensure_corpus, show_error, start_page

BUNDLED = "Emotify (bundled: annotations of all 400 tracks, features of 320)"
EMOTIFY_NOTE = ("The real Emotify (Aljanaki, Wiering & Veltkamp 2016, doi:10.1016/j.ipm.2015.03.004): 400 one-minute "
                "excerpts, 100 per genre, and the emotions listeners **felt**, ticked in a game. The annotations of all "
                "400 tracks ship with mer; oversampling and the PCA use the compact features (per segment, mean and "
                "standard deviation of 64 log-mel bands) or the MusiCNN embeddings of the 320 tracks whose audio the "
                "team holds.")

start_page("Dataset")
st.title("Dataset and class balance")

choices = corpora(bundled=BUNDLED)
label = st.selectbox("Corpus", list(choices), key="corpus", help="The demo corpus is synthetic; an Emotify with its audio "
                     "appears here once the Train page has downloaded it.")
corpus = choices[label]
root = corpus.root
st.info(DEMO_NOTE if corpus.synthetic else EMOTIFY_NOTE, icon=":material/info:")

samples = "logmel"
if root is None:
    samples = st.radio("Samples to oversample", list(BUNDLED_SAMPLES), format_func=lambda s: {
        "logmel": "log-mel summaries (128 numbers per segment)",
        "musicnn": "MusiCNN embeddings (753 per segment: what the default model reads)"}[s], horizontal=True,
        key="samples")
c1, c2, c3 = st.columns([2, 1, 1])
sampler = c1.selectbox("Oversampling of the training fold", SAMPLERS, format_func=SAMPLER_LABELS.get,
                       index=SAMPLERS.index("smote"), key="sampler")
k = c2.slider("k neighbours", 1, 10, 5, disabled=sampler in ("random", "none"), key="k")
seed = c3.number_input("Split seed", 0, 10_000, 0, key="seed")


@st.cache_data(show_spinner=False, max_entries=16)
def report(root: str | None, sampler: str, k: int, seed: int, stamp: float, samples: str):
    return dataset_stats(root, sampler=sampler, k_neighbors=k, seed=seed, with_pca=True, allow_missing=True,
                         samples=samples)


@st.cache_data(show_spinner=False, max_entries=4)
def annotations(root: str | None, stamp: float):
    return load_annotations(root)


csv = BUNDLED_DATA_CSV if root is None else root / "data.csv"
try:
    ensure_corpus(corpus)
    with st.spinner("Reading features and oversampling the training fold…"):
        r = report(None if root is None else str(root), sampler, k, int(seed), csv.stat().st_mtime, samples)
        votes = annotations(None if root is None else str(root), csv.stat().st_mtime)
except MerError as e:
    show_error(e)
    st.stop()

a, b = r.annotations, r.balance
if r.missing:
    st.warning(f"{len(r.missing)} track(s) of data.csv have no audio under {md_code(root)} "
               f"({escape_markdown(', '.join(m.expected for m in r.missing[:5]))}{' …' if len(r.missing) > 5 else ''}). Their votes are "
               f"counted below; the class balance uses the {b.n_tracks} tracks present. Tracks map to files by their "
               "rank within the genre: if this audio was not numbered for this data.csv, votes and audio do not match.",
               icon=":material/warning:")

m = st.columns(5)
m[0].metric("Tracks", a.n_tracks)
m[1].metric("Responses", f"{a.n_responses:,}", help=f"per track: {a.responses_per_track[0]} to "
            f"{a.responses_per_track[2]}, median {a.responses_per_track[1]:g}")
m[2].metric("Imbalance ratio (tracks)", f"{a.imbalance_ratio:.1f}", help="largest / smallest dominant-emotion count")
m[3].metric("Ties at the top", len(a.tied_track_ids), help="tracks whose largest vote share is shared by two "
            "emotions; the earlier emotion in Emotify's order is taken")
m[4].metric("Mean agreement", f"{a.mean_agreement:.2f}", help="share of a track's listeners who ticked its "
            f"dominant emotion; median gap to the runner-up {a.median_margin:.3f}")

left, right = st.columns(2)
left.plotly_chart(tracks_figure(a.tracks_per_emotion), width="stretch")
right.plotly_chart(genre_figure(a.genre_table), width="stretch")
g1, g2 = st.columns(2)
g1.plotly_chart(agreement_figure(a.agreement), width="stretch")
with g2:
    st.markdown("**One track's vote shares**")
    ids = votes.track_ids
    track_id = st.selectbox("Track", ids, index=0, key="track", help="Emotify track ids: 1-100 classical, 101-200 rock, "
                            "201-300 electronic, 301-400 pop")
    v = votes.votes_of(track_id)
    st.bar_chart({emotion_label(e): share for e, share in v.shares.items()}, horizontal=True, height=260)
    st.caption(f"Track {track_id} ({escape_markdown(v.genre)}): {v.n_responses} listeners; dominant "
               f"**{emotion_label(v.dominant)}** ({v.top_share:.0%})"
               + (" — a tie, resolved to the earlier emotion." if track_id in a.tied_track_ids else "."))

with st.expander(f"{len(a.tied_track_ids)} tracks tie at the top"):
    st.write("Their largest vote share is shared by two or more emotions; the label goes to the earlier emotion in "
             "Emotify's order, a convention rather than the listeners' choice. Track ids: "
             + (", ".join(str(t) for t in a.tied_track_ids) or "none"))

st.subheader("Class balance of the training fold")
st.caption(f"Samples: {escape_markdown(b.features)}; {b.n_tracks} tracks, {b.n_segments:,} segments. Oversampling is fitted on the "
           "training fold only: validation and test segments are never used to build synthetic samples.")
m = st.columns(3)
m[0].metric("Segments", b.n_segments)
m[1].metric("Imbalance ratio before", f"{b.imbalance_ratio_before:.2f}", help="majority / minority, training fold")
m[2].metric(f"After {b.sampler_label}", f"{b.imbalance_ratio_after:.2f}")
for note in b.notes:
    st.caption(f"Note: {escape_markdown(note)}")
st.plotly_chart(balance_figure(b.before, b.after, b.sampler_label,
                               f"Training fold: segments per emotion ({b.train_tracks} tracks, track split)"),
                width="stretch")
if b.pca is not None:
    made = b.pca_synthetic()
    shown = list(made)
    emotion = st.selectbox("Emotion in the PCA", shown, key="pca_emotion", format_func=lambda e: (
        f"{emotion_label(e)} ({made[e]:,} synthetic)"), index=shown.index(max(shown, key=made.get)),
        help="One emotion at a time over all the others: where its synthetic samples fall beside its real ones.")
    st.plotly_chart(pca_figure(b.pca, emotion), width="stretch")

with st.expander("Counts as a table"):
    st.dataframe({"tracks": a.tracks_per_emotion, "training segments before": b.before,
                  f"after {b.sampler_label}": b.after}, width="stretch")

developer_details([
    "The same numbers from the command line: `python -m mer data stats [--root DIR] [--sampler smote] "
    "[--samples logmel|musicnn] --json`.",
    "An Emotify folder with its audio is offered here when the app starts with `MER_EMOTIFY_DIR=<folder>`; the "
    "bundled annotations and features are in `mer/resources/emotify/`.",
])
