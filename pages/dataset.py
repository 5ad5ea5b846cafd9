"""Dataset: class balance before and after oversampling, PCA of real vs synthetic samples, genres, agreement."""

import streamlit as st

from mer.balance import SAMPLER_LABELS
from mer.config import SAMPLERS
from mer.errors import MerError
from mer.plots import agreement_figure, balance_figure, genre_figure, pca_figure, tracks_figure
from mer.stats import balance_report
from pages.common import DEMO_NOTE, corpora, ensure_corpus, show_error

st.title("Dataset and class balance")

choices = corpora()
label = st.selectbox("Corpus", list(choices), help="An Emotify folder appears here when the app is started with "
                     "MER_EMOTIFY_DIR set to it.")
root = choices[label]
if label.startswith("Demo"):
    st.info(DEMO_NOTE, icon=":material/info:")

c1, c2, c3 = st.columns([2, 1, 1])
sampler = c1.selectbox("Oversampling of the training fold", SAMPLERS, format_func=SAMPLER_LABELS.get)
k = c2.slider("k neighbours", 1, 10, 5, disabled=sampler in ("random", "none"))
seed = c3.number_input("Split seed", 0, 10_000, 0)


@st.cache_data(show_spinner=False, max_entries=16)
def report(root: str, sampler: str, k: int, seed: int, stamp: float) -> dict:
    return balance_report(root, sampler=sampler, k_neighbors=k, seed=seed)


try:
    ensure_corpus(root)
    with st.spinner("Reading features and oversampling the training fold…"):
        r = report(str(root), sampler, k, int(seed), (root / "data.csv").stat().st_mtime)
except MerError as e:
    show_error(e)
    st.stop()

m = st.columns(4)
m[0].metric("Tracks", r["tracks"])
m[1].metric("Segments", r["segments"])
m[2].metric("Imbalance ratio before", f"{r['imbalance_ratio_before']:.2f}", help="majority / minority, training fold")
m[3].metric(f"After {r['sampler_label']}", f"{r['imbalance_ratio_after']:.2f}")
for note in r["notes"]:
    st.caption(f"Note: {note}")

left, right = st.columns(2)
left.plotly_chart(tracks_figure(r["tracks_per_class"]), width="stretch")
right.plotly_chart(balance_figure(r["segments_per_class_before"], r["segments_per_class_after"], r["sampler_label"],
                                  f"Training fold: segments per emotion ({r['train_tracks']} tracks, track split)"),
                   width="stretch")
st.caption("Oversampling is fitted on the training fold only: validation and test segments are never used to "
           "build synthetic samples.")

if sampler != "none":
    st.plotly_chart(pca_figure(r["pca"]), width="stretch")
g1, g2 = st.columns(2)
g1.plotly_chart(genre_figure(r["genre_table"]), width="stretch")
g2.plotly_chart(agreement_figure(r["agreement"]), width="stretch")

with st.expander("Counts as a table"):
    st.dataframe({"tracks": r["tracks_per_class"], "training segments before": r["segments_per_class_before"],
                  f"after {r['sampler_label']}": r["segments_per_class_after"]}, width="stretch")
