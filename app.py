"""mer: the Streamlit dashboard. This file only routes; each page lays out one view."""

import streamlit as st

st.set_page_config(page_title="mer · music emotion recognition", page_icon="🎵", layout="wide")

pages = [
    st.Page("pages/analyze.py", title="Analyze", icon=":material/graphic_eq:", default=True),
    st.Page("pages/dataset.py", title="Dataset", icon=":material/bar_chart:"),
    st.Page("pages/train.py", title="Train", icon=":material/model_training:"),
    st.Page("pages/model.py", title="Model", icon=":material/description:"),
    st.Page("pages/library.py", title="Library", icon=":material/library_music:"),
]
st.navigation(pages).run()
