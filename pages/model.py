"""Model: the active model's honest numbers, the leakage ladder, its card, and roll back to any earlier model."""

import streamlit as st

from mer.card import VA_BASELINES
from mer.choices import PROTOCOLS, DatasetKind
from mer.errors import MerError
from mer.model_files import load_card, load_metrics
from mer.plots.model import confusion_figure, cv_figure, history_figure, ladder_figure, per_class_figure
from mer.registry import active_name, list_models, load_ladder, set_active
from mer.results import CURVES_NOTE, FAMILY_LABELS, PROTOCOL_LABELS, STUDY_PUBLISHED, rung_sentences
from mer.text import escape_markdown, md_code
from mer.yardstick import EMOTIFY_CEILING, reference
from ui import developer_details, get_model, show_error, start_page

start_page("Model")
st.title("Model")

try:
    model = get_model()
except MerError as e:
    show_error(e)
    st.stop()
if model.fallback_reason:
    st.warning(escape_markdown(model.fallback_reason))
metrics = load_metrics(model.path)
yardstick = reference(metrics.cv if metrics else None)

st.subheader(f"Active model: {escape_markdown(model.name)}")
st.caption(f"Trained on {escape_markdown(model.trained_on)} · created {escape_markdown(model.record.created or '?')}")

cv = metrics.cv if metrics else None
if cv is None:
    st.info(f"{escape_markdown(yardstick.sentence)} Retrain it with cross-validation folds on the Train page.")
else:
    mean, std = cv.fold_accuracy
    emotify = model.dataset.kind == DatasetKind.EMOTIFY
    st.markdown(f"**How good is this model?** {escape_markdown(yardstick.sentence)}")
    c = st.columns(4)
    c[0].metric("Fold spread", f"± {std:.1%}", help=f"Track accuracy of the {cv.n_folds} folds: {mean:.1%} ± "
                f"{std:.1%}. With about {cv.pooled.n // cv.n_folds} tracks a fold, one fold's figure moves by "
                "several points by chance alone.")
    c[1].metric("Agreement", f"{cv.pooled.agreement:.3f}",
                help="Listener agreement: the mean share of a track's listeners who ticked the predicted emotion "
                     "(oracle ≈ 0.56).")
    c[2].metric("Macro-F1", f"{cv.pooled.macro_f1:.3f}")
    c[3].metric("Top-3 accuracy", f"{cv.pooled.top3:.1%}")
    st.caption("Every track is predicted by the fold model that never saw it; the folds are stratified by dominant "
               "emotion" + (f"; Emotify's listeners' own noise caps track accuracy near {EMOTIFY_CEILING * 100:.0f} %."
                          if emotify else "."))
    names = ["this CNN-LSTM", *cv.baselines]
    scores = [cv.pooled, *cv.baselines.values()]
    st.plotly_chart(cv_figure(names, [m.accuracy for m in scores], [m.agreement or 0.0 for m in scores],
                              ceiling=EMOTIFY_CEILING if emotify else None), width="stretch", key="cv_chart")
    with st.expander("The same numbers as a table"):
        st.dataframe([{"model": n, "track accuracy": round(m.accuracy, 3), "macro-F1": round(m.macro_f1, 3),
                       "top-3": round(m.top3, 3) if m.top3 is not None else None,
                       "listener agreement": round(m.agreement, 3) if m.agreement is not None else None}
                      for n, m in zip(names, scores)], hide_index=True, width="stretch")

va = metrics.valence_arousal if metrics else None
st.subheader("Valence and arousal")
if va is None:
    st.info("This model has no valence–arousal head: retrain it on the Train page (the default recipe trains one).")
else:
    c = st.columns(3)
    projection = va.baselines.get("gems_projection")
    for col, label, value, base in ((c[0], "Valence accuracy", va.head.valence_accuracy, "valence_accuracy"),
                                    (c[1], "Arousal accuracy", va.head.arousal_accuracy, "arousal_accuracy"),
                                    (c[2], "Quadrant accuracy", va.head.quadrant_accuracy, "quadrant_accuracy")):
        col.metric(label, f"{value:.1%}", delta=f"{100 * (value - getattr(projection, base)):+.1f} points over the "
                   "old projection" if projection else None)
    st.caption(f"{escape_markdown(va.protocol[0].upper() + va.protocol[1:])}, on {escape_markdown(va.data)}: each "
               "clip is judged by a head that never heard its artist. Chance is 50 % on each side and 25 % for the "
               "quadrant.")
    st.dataframe([{"model": name, "valence": round(s.valence_accuracy, 3), "valence AUC": round(s.valence_auc, 3),
                   "arousal": round(s.arousal_accuracy, 3), "arousal AUC": round(s.arousal_auc, 3),
                   "quadrant": round(s.quadrant_accuracy, 3)}
                  for name, s in [("this head", va.head), *((VA_BASELINES.get(k, k), b) for k, b in va.baselines.items())]],
                 hide_index=True, width="stretch")

ladder_report = load_ladder()
if ladder_report is not None or (metrics and metrics.ladder):
    st.subheader("The leakage ladder: where the study's 94.7 % comes from")
    if ladder_report is not None:
        groups = {FAMILY_LABELS[f.family]: [f.rungs[p] for p in PROTOCOLS if p in f.rungs]
                  for f in ladder_report.families.values()}
    else:
        groups = {f"this model ({model.name})": [metrics.ladder[p] for p in PROTOCOLS if p in metrics.ladder]}
    majority = cv.baselines.get("majority").accuracy if cv and "majority" in cv.baselines else None
    st.plotly_chart(ladder_figure(groups, baseline=majority, published=STUDY_PUBLISHED), width="stretch",
                    key="ladder_chart")
    if ladder_report is not None:
        for sentence in rung_sentences(ladder_report):
            st.markdown(f"- {sentence}")
        st.caption(f"{escape_markdown(ladder_report.data)}; the same segment split, track folds and seed "
                   f"({ladder_report.seed}) for both families.")
    else:
        for r in groups[next(iter(groups))]:
            st.markdown(f"- **{r.accuracy:.1%}** of {escape_markdown(r.unit)}s ({r.n_test} tested) — "
                        f"{escape_markdown(r.description)}.")
    with st.expander("How to read this", expanded=ladder_report is not None):
        st.markdown(
            "- **What the study measured.** It cut each of Emotify's tracks into 20 segments, gave every segment "
            "its track's emotion, oversampled all segments with SMOTE and only then split them at random into "
            "training and test. Its 94.7 % is the share of *test segments* named right under that protocol.\n"
            "- **Why that is not what a listener gets.** A test segment's 19 siblings from the same track, and "
            "synthetic points made from the test segment itself, were in training. A network that memorises can "
            "recognise the track it has heard before and repeat its label; the leftmost bars show the study's own "
            "recipe doing exactly that, while mer's network, which is built not to memorise, gains much less.\n"
            "- **The honest number** is the right-hand group: whole tracks the model never heard, five-fold "
            "cross-validation grouped by track. Emotify's listeners disagree with each other often enough that "
            f"even a perfect model would match a fresh panel's dominant emotion only about {EMOTIFY_CEILING * 100:.0f} % "
            "of the time.")

if cv is not None:
    st.subheader("Where it errs")
    st.plotly_chart(confusion_figure(cv.pooled.confusion, "Confusion matrix (tracks, out of fold)"),
                    width="stretch", key="confusion")  # full width each: nine labels a side read at any width
    st.plotly_chart(per_class_figure(cv.pooled.per_class), width="stretch", key="per_class")
    which = st.selectbox("Learning curves of", metrics.fits(), key="curves_of", format_func=lambda f: f.label)
    history, best = metrics.curves(which)
    st.plotly_chart(history_figure(history, f"Learning curves, {which.label} (best epoch {best})"),
                    width="stretch", key="history")
    st.caption(CURVES_NOTE)

with st.expander("Protocols, in one sentence each"):
    for text in PROTOCOL_LABELS.values():
        st.markdown(f"- {text}.")
with st.expander("Model card"):
    st.markdown(load_card(model.path))
with st.expander("Configuration (config.json)"):
    st.json(model.record.to_dict())

st.subheader("All models")
models = list_models()
active = active_name()
# the short columns first, each given its width: the long "trained on" last, so that it never pushes the
# accuracy off the table's edge
st.dataframe([{"name": mi.name, "active": "✓" if mi.name == active else "",
               "CV track accuracy": "—" if mi.cv_accuracy is None else f"{mi.cv_accuracy:.1%}",
               "created": (mi.created or "")[:10], "trained on": mi.trained_on, "problem": mi.broken or ""}
              for mi in models], width="stretch", hide_index=True, column_config={
                  "name": st.column_config.TextColumn("name", width="medium"),
                  "active": st.column_config.TextColumn("active", width="small"),
                  "CV track accuracy": st.column_config.TextColumn("CV track accuracy", width="medium"),
                  "created": st.column_config.TextColumn("created", width="small"),
                  "trained on": st.column_config.TextColumn("trained on", width="large")})
names = [mi.name for mi in models if not mi.broken]
if names:
    c1, c2 = st.columns([3, 1])
    pick = c1.selectbox("Make active (roll back or forward)", names, key="pick_model",
                        index=names.index(active) if active in names else 0)
    if pick == active:  # nothing to do: say so rather than show a disabled, blank-looking button
        c2.caption(f"'{escape_markdown(pick)}' is already the active model.")
    elif c2.button(f"Make '{escape_markdown(pick)}' active", width="stretch", key="make_active"):
        try:
            set_active(pick)
            st.success(f"'{escape_markdown(pick)}' is now the active model.")
            st.rerun()
        except MerError as e:
            show_error(e)

developer_details([
    f"Model folder: {md_code(model.path)}; every model of the models folder: `python -m mer models`, and the card "
    "as text or JSON: `python -m mer card [--json]`.",
    "The leakage ladder above: `python -m mer ladder` reproduces it (add `--save` to update this page; "
    "`models/ladder.json`).",
    "The same numbers, with every baseline: `docs/results.md`, written from each model's `metrics.json` by "
    "`python benchmarks/docs_tables.py`.",
])
