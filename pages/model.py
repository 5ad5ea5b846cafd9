"""Model: the active model's card, test metrics under both protocols, and roll back to any earlier model."""

import streamlit as st

from mer.errors import MerError
from mer.plots import confusion_figure, history_figure, per_class_figure
from mer.registry import active_name, list_models, read_json, set_active
from pages.common import get_model, show_error

st.title("Model")
PROTOCOL_LABELS = {"track": "Track-grouped split (honest: no track on both sides)",
                   "segment": "Segment-shuffled split (the study's; inflated by leakage)"}

try:
    model = get_model()
    metrics = read_json(model.path / "metrics.json")
except MerError as e:
    show_error(e)
    st.stop()
if model.fallback_reason:
    st.warning(model.fallback_reason)

st.subheader(f"Active model: {model.name}")
st.caption(f"Trained on {model.trained_on} · {model.protocol} protocol · created {model.meta.get('created', '?')}")

tests = metrics.get("test", {})
rows = []
for proto, m in tests.items():
    rows.append({"protocol": PROTOCOL_LABELS.get(proto, proto), "segment accuracy": round(m["segment_accuracy"], 3),
                 "track accuracy": round(m["track_accuracy"], 3), "macro-F1": round(m["macro_f1"], 3),
                 "balanced accuracy": round(m["balanced_accuracy"], 3), "test tracks": m["n_tracks"],
                 "majority baseline": round(m["baselines"]["majority"]["accuracy"], 3),
                 "logistic regression": round(m["baselines"]["logreg"]["accuracy"], 3)})
st.dataframe(rows, width="stretch", hide_index=True)
st.caption("Chance for nine classes is 0.111. Baselines are segment accuracy on the same test fold.")

if tests:
    proto = st.radio("Details for", list(tests), format_func=PROTOCOL_LABELS.get, horizontal=True)
    m = tests[proto]
    c1, c2 = st.columns(2)
    c1.plotly_chart(confusion_figure(m["confusion"], "Confusion matrix (segments, test)"), width="stretch")
    c2.plotly_chart(confusion_figure(m["track_confusion"], "Confusion matrix (tracks, test)"), width="stretch")
    c3, c4 = st.columns(2)
    c3.plotly_chart(per_class_figure(m["per_class"]), width="stretch")
    c4.plotly_chart(history_figure(m["history"], f"Learning curves (best epoch {m['best_epoch']})"),
                    width="stretch")

with st.expander("Model card"):
    card = model.path / "card.md"
    st.markdown(card.read_text() if card.is_file() else "No card.")
with st.expander("Configuration (config.json)"):
    st.json(model.meta)

st.subheader("All models")
models = list_models()
active = active_name()
st.dataframe([{"name": mi.name, "active": "✓" if mi.name == active else "", "created": mi.created,
               "protocol": mi.protocol, "trained on": mi.trained_on,
               "track accuracy": round(mi.metrics.get("test", {}).get(mi.protocol, {}).get("track_accuracy", float("nan")), 3)}
              for mi in models], width="stretch", hide_index=True)
names = [mi.name for mi in models]
if names:
    c1, c2 = st.columns([3, 1])
    pick = c1.selectbox("Make active (roll back or forward)", names, index=names.index(active) if active in names else 0)
    if c2.button("Make active", disabled=pick == active, width="stretch"):
        try:
            set_active(pick)
            st.success(f"'{pick}' is now the active model.")
            st.rerun()
        except MerError as e:
            show_error(e)
