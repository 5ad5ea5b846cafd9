"""Train: start a background training run, watch it, cancel it, promote the result."""

from pathlib import Path

import streamlit as st

from mer.balance import SAMPLER_LABELS
from mer.config import PROTOCOLS, SAMPLERS, TrainConfig
from mer.errors import MerError
from mer.jobs import cancel_training, clear_finished, job_status, start_training
from mer.plots import history_figure
from mer.registry import read_json, set_active
from pages.common import DEMO_NOTE, corpora, ensure_corpus, get_model, show_error

st.title("Train a model")
st.caption("Training runs in a separate process: the app stays responsive, and everyone using it sees the same run. "
           "Only one run at a time. A failed or cancelled run leaves the active model untouched.")

d = TrainConfig()


def settings_form() -> None:
    choices = corpora()
    with st.form("train"):
        label = st.selectbox("Corpus", list(choices))
        c1, c2, c3 = st.columns(3)
        epochs = c1.number_input("Epochs", 1, 200, 10)
        lr = c2.number_input("Learning rate", 1e-5, 1e-1, d.lr, format="%.5f")
        batch = c3.number_input("Batch size", 8, 512, d.batch_size, step=8)
        c4, c5, c6 = st.columns(3)
        dropout = c4.slider("Dropout", 0.0, 0.8, d.dropout, 0.05)
        sampler = c5.selectbox("Oversampling", SAMPLERS, format_func=SAMPLER_LABELS.get)
        protocol = c6.selectbox("Split protocol", PROTOCOLS,
                                format_func={"track": "track (honest)", "segment": "segment (the study's)"}.get)
        seed = st.number_input("Seed", 0, 10_000, d.seed)
        submitted = st.form_submit_button("Start training", type="primary")
    if label.startswith("Demo"):
        st.caption(DEMO_NOTE)
    if submitted:
        config = TrainConfig(epochs=int(epochs), lr=float(lr), batch_size=int(batch), dropout=float(dropout),
                             sampler=sampler, protocol=protocol, seed=int(seed))
        try:
            root = ensure_corpus(choices[label])
            start_training(root, config)
            st.rerun()
        except MerError as e:
            show_error(e)


def finished(status) -> None:
    if status.state == "done":
        st.success(f"Training finished: {Path(status.model_dir).name}")
        try:
            new = read_json(Path(status.model_dir) / "metrics.json")["test"]
            active = get_model()
            old = read_json(active.path / "metrics.json").get("test", {})
        except MerError as e:
            show_error(e)
            return
        proto = status.settings.get("protocol", "track")
        rows = []
        for label, tests in ((f"new: {Path(status.model_dir).name}", new), (f"active: {active.name}", old)):
            m = tests.get(proto)
            if m:
                rows.append({"model": label, "protocol": proto, "segment accuracy": round(m["segment_accuracy"], 3),
                             "track accuracy": round(m["track_accuracy"], 3), "macro-F1": round(m["macro_f1"], 3),
                             "test tracks": m["n_tracks"]})
        st.dataframe(rows, hide_index=True, width="stretch")
        c1, c2 = st.columns(2)
        if c1.button("Promote to active model", type="primary"):
            try:
                set_active(Path(status.model_dir).name)
                clear_finished()
                st.success("Promoted. The Analyze page now uses the new model.")
                st.rerun()
            except MerError as e:
                show_error(e)
        if c2.button("Dismiss (keep the current active model)"):
            clear_finished()
            st.rerun()
    else:
        (st.warning if status.state == "cancelled" else st.error)(
            f"Training {status.state}: {status.message}. The active model is unchanged.")
        if st.button("Dismiss"):
            clear_finished()
            st.rerun()


@st.fragment(run_every=1.0)
def running() -> None:
    status = job_status()
    if status.state != "running":
        st.rerun()  # the whole page switches to the result view
    s = status.settings
    st.info(f"Training on {Path(s.get('root', '?')).name}: {s.get('protocol')} protocol, "
            f"{SAMPLER_LABELS.get(s.get('sampler'), '?')}, started {status.started}.")
    st.progress(status.progress, text=status.message or "preparing features…")
    if status.epochs:
        last = status.epochs[-1]
        c = st.columns(4)
        c[0].metric("Epoch", f"{last['epoch']}/{last['epochs']}")
        c[1].metric("Validation accuracy", f"{last['val_accuracy']:.3f}")
        c[2].metric("Learning rate", f"{last['lr']:.2g}")
        c[3].metric("ETA", f"{last['eta_s']:.0f} s")
        st.plotly_chart(history_figure(status.epochs), width="stretch")
    if st.button("Cancel training"):
        cancel_training()
        st.rerun()


status = job_status()
if status.state == "running":
    running()
elif status.state == "idle":
    settings_form()
else:
    finished(status)
