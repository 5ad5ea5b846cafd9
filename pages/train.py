"""Train: start a background training run, watch it, cancel it, promote the result."""

import dataclasses
from pathlib import Path

import streamlit as st

from mer.choices import CHOICES, SAMPLERS, SHIP_LABELS, TARGETS
from mer.config import MAIN_SETTINGS, SETTING_TEXT, ModelConfig, TrainConfig
from mer.data.balance import SAMPLER_LABELS, SAMPLER_NOTE
from mer.device import available_devices
from mer.errors import MerError
from mer.jobs import JobState
from mer.plots.model import history_figure
from mer.registry import set_active
from mer.results import CURVES_NOTE
from mer.text import escape_markdown
from mer.training.comparison import compare_models
from mer.training.job import POLL_S, JobStatus, cancel_training, clear_finished, job_status, run_summary, start_training
from ui import (
    BUNDLED_EMOTIFY,
    DEMO_NOTE,
    corpora,
    developer_details,
    emotify_download,
    ensure_corpus,
    get_model,
    show_error,
    start_page,
)

start_page("Train")
st.title("Train a model")
st.caption("Training runs in a separate process: the app stays responsive, and everyone using it sees the same run. "
           "Only one run at a time. A failed or cancelled run leaves the active model untouched. A run "
           "cross-validates the recipe on the corpus (grouped by track), then trains the model on every track.")

T, M = TrainConfig(), ModelConfig()
_OPTION_LABELS = {"ship": SHIP_LABELS,
                  "segment_target": {"shares": "each segment: the track's target",
                                     "dominant": "each segment: the track's dominant emotion (a sharper timeline)",
                                     "pooled": "the segments' mean: the track's target (segments may differ)"}}


def _advanced_inputs(cls: type, defaults: object, prefix: str) -> dict:
    """One input per remaining config field, showing the dataclass default."""
    values = {}
    for f in dataclasses.fields(cls):
        if f.name in MAIN_SETTINGS:
            continue
        value, key = getattr(defaults, f.name), f"{prefix}_{f.name}"
        label, tip = SETTING_TEXT[f.name]
        if isinstance(value, bool):
            values[f.name] = st.checkbox(label, value, key=key, help=tip)
        elif isinstance(value, int):
            values[f.name] = int(st.number_input(label, 0, 100_000, value, key=key, help=tip))
        elif isinstance(value, float):
            small = 0 < value < 0.01  # a learning rate: 5e-5 must not show as 0.0001
            values[f.name] = float(st.number_input(label, 0.0, 10.0, value, format="%.1e" if small else "%.4f",
                                                   key=key, help=tip))
        elif isinstance(value, tuple):
            text = st.text_input(label, ",".join(map(str, value)), key=key, help=tip, placeholder="e.g. 96,96")
            values[f.name] = tuple(int(x) for x in text.split(",") if x.strip())
        elif isinstance(value, str):  # one of a fixed set
            options, names = CHOICES[f.name], _OPTION_LABELS.get(f.name, {})
            values[f.name] = st.selectbox(label, options, options.index(value), key=key, help=tip,
                                          format_func=lambda v, names=names: names.get(v, v))
        else:
            raise TypeError(f"the Train page has no input for {cls.__name__}.{f.name}")  # a new kind of setting
    return values


def _text(name: str) -> dict[str, str]:
    """A main setting's label and help: the field's own text, as ``train --help`` and the docs show it."""
    label, tip = SETTING_TEXT[name]
    return {"label": label, "help": tip}


def settings_form() -> None:
    choices = corpora(bundled=BUNDLED_EMOTIFY)
    with st.form("train"):
        label = st.selectbox("Corpus", list(choices), key="corpus",
                             help="The bundled Emotify needs no audio: it is the MusiCNN embeddings of the 320 "
                                  "tracks, for the MusiCNN front-end. Corpora with audio train either front-end.")
        c1, c2, c3 = st.columns(3)
        epochs = c1.number_input(**_text("epochs"), min_value=1, max_value=500, value=T.epochs, key="epochs")
        lr = c2.number_input(**_text("lr"), min_value=1e-5, max_value=1e-1, value=T.lr, format="%.5f", key="lr")
        batch = c3.number_input(**_text("batch_size"), min_value=2, max_value=256, value=T.batch_size,
                                key="batch_size")
        c4, c5, c6 = st.columns(3)
        dropout = c4.slider(**_text("dropout"), min_value=0.0, max_value=0.8, value=M.dropout, step=0.05,
                            key="dropout")
        target = c5.selectbox(**_text("target"), options=TARGETS, key="target", format_func={
            "shares": "listeners' vote shares", "dominant": "dominant emotion only"}.get)
        sampler = c6.selectbox(**{**_text("sampler"), "help": SAMPLER_NOTE}, options=SAMPLERS, key="sampler",
                               index=SAMPLERS.index(T.sampler), format_func=SAMPLER_LABELS.get)
        c7, c8, c9, c10 = st.columns(4)
        cv_folds = c7.number_input(**_text("cv_folds"), min_value=0, max_value=10, value=T.cv_folds, key="cv_folds")
        ladder = c8.checkbox(**_text("ladder"), value=T.ladder, key="ladder")
        weighted = c9.checkbox(**_text("class_weighted"), value=T.class_weighted, key="class_weighted")
        seed = c10.number_input(**_text("seed"), min_value=0, max_value=10_000, value=T.seed, key="seed")
        with st.expander("Advanced settings"):
            device = st.selectbox("Compute on", available_devices(), key="device",
                                  help="The devices this server's torch can use; the model is saved for the CPU.")
            train_extra = _advanced_inputs(TrainConfig, T, "train")
            model_extra = _advanced_inputs(ModelConfig, M, "model")
        st.caption(SAMPLER_NOTE)
        submitted = st.form_submit_button("Start training", type="primary")
    if choices[label].synthetic:
        st.caption(DEMO_NOTE)
    if submitted:
        try:
            config = TrainConfig(epochs=int(epochs), lr=float(lr), batch_size=int(batch), target=target,
                                 sampler=sampler, class_weighted=weighted, cv_folds=int(cv_folds), ladder=ladder,
                                 seed=int(seed), **train_extra)
            start_training(ensure_corpus(choices[label]), config, ModelConfig(dropout=float(dropout), **model_extra),
                           device=device)
            st.rerun()
        except (MerError, TypeError, ValueError) as e:
            show_error(e)


def comparison(new_dir: Path) -> None:
    """The new model beside the active one: CV numbers to three decimals and the difference, in a table that fits."""
    active = get_model()
    compared = compare_models(new_dir, active.path, active.name)
    if compared is None:
        return
    # short columns, the whole width: the corpora go in the caption, listener agreement is "agreement"
    st.dataframe(compared.rows(), hide_index=True, width="stretch")
    st.caption(escape_markdown(compared.data) + ". Compare models cross-validated on the same corpus; numbers on "
               "different data do not compare, and a difference smaller than the fold spread may be chance.")


def finished(status) -> None:
    if status.state == JobState.DONE:
        new_dir = Path(status.model_dir)
        st.success(f"Training finished: {escape_markdown(new_dir.name)}")
        comparison(new_dir)
        c1, c2 = st.columns(2)
        if c1.button("Promote to active model", type="primary", key="promote"):
            try:
                set_active(new_dir.name)
                clear_finished()
                st.success("Promoted. The Analyze page now uses the new model.")
                st.rerun()
            except MerError as e:
                show_error(e)
        if c2.button("Dismiss (keep the current active model)", key="dismiss"):
            clear_finished()
            st.rerun()
        run_curves(status)
    else:
        (st.warning if status.state == JobState.CANCELLED else st.error)(
            f"Training {status.state}: {escape_markdown(status.message)}. The active model is unchanged.")
        if st.button("Dismiss", key="dismiss"):
            clear_finished()
            st.rerun()
        run_curves(status)


def running(status: JobStatus) -> None:
    """The run's fixed description and Cancel button, drawn once; only the progress and the curves poll."""
    st.info(escape_markdown(run_summary(status)))
    progress()
    curves()
    if st.button("Cancel training", key="cancel"):
        cancel_training()
        st.rerun()


@st.fragment(run_every=POLL_S)
def progress() -> None:
    status = job_status()
    if status.state != JobState.RUNNING:
        st.rerun()  # the whole page switches to the result view
    st.progress(status.progress, text=escape_markdown(status.message or "preparing features…"))
    if status.epochs:
        last = status.epochs[-1]
        c = st.columns(3)
        c[0].metric("Stage", escape_markdown(last.stage or "training"))
        c[1].metric("Epoch", f"{last.epoch}/{last.epochs}")
        c[2].metric("Validation accuracy (tracks)", f"{last.val_accuracy:.3f}")


def run_curves(status: JobStatus) -> None:
    """The finished run's learning curves, any fit of it (the epochs stay in the run's progress file)."""
    stages = list(dict.fromkeys(e.stage or "training" for e in status.epochs))
    if not stages:
        return
    stage = st.selectbox("Learning curves of", stages, key="finished_curves")
    st.plotly_chart(history_figure([e for e in status.epochs if (e.stage or "training") == stage],
                                   f"Learning curves, {stage}"), width="stretch", key="finished_history")
    st.caption(CURVES_NOTE)


@st.fragment(run_every=5 * POLL_S)
def curves() -> None:
    status = job_status()
    if status.epochs:
        last = status.epochs[-1]
        stage = [e for e in status.epochs if e.stage == last.stage]
        st.plotly_chart(history_figure(stage, f"Learning curves, {last.stage or 'training'}"), width="stretch")
        st.caption(CURVES_NOTE)


status = job_status()
if status.state == JobState.RUNNING:
    running(status)
elif status.state == JobState.IDLE:
    settings_form()
    emotify_download()
else:
    finished(status)

developer_details([
    "Each run is `python -m mer train --config run-config.json --progress-json` in the background (its files in "
    "`models/.jobs/`); the same run from a terminal: `python -m mer train --config FILE` (`--help` lists every "
    "setting).",
    "Training runs on one torch thread: mer's networks are small, and torch's threads wait for each other at every "
    "step when another program uses a core (an epoch of 0.1 s took 16 s that way); `--threads N` changes it.",
])
