"""Cached access to mer for the pages (imported by them; not a page itself)."""

from __future__ import annotations

import os
from pathlib import Path

import streamlit as st

from mer.analyze import Analysis, analyze
from mer.demo import default_demo_root, ensure_demo_corpus
from mer.errors import MerError
from mer.registry import LoadedModel, active_name, load_active, models_dir

DEMO_NOTE = ("The demo corpus is **synthetic**: music synthesised by mer from emotion archetypes (tempo, mode, "
             "register, loudness, brightness, density, dissonance) and simulated listeners, in Emotify's exact format. "
             "It is for demonstrating and testing the product, not a model of human emotion.")


def _active_key() -> str:
    pointer = models_dir() / "active.json"
    stamp = pointer.stat().st_mtime_ns if pointer.exists() else 0
    return f"{active_name()}:{stamp}"


@st.cache_resource(show_spinner="Loading the model…")
def _model(key: str) -> LoadedModel:
    return load_active()


def get_model() -> LoadedModel:
    """The active model (reloaded when the active pointer changes)."""
    return _model(_active_key())


@st.cache_data(show_spinner=False, max_entries=32)
def analyze_bytes(data: bytes, name: str, key: str) -> Analysis:
    return analyze(data, name=name, model=_model(key))


def analysis_of(data: bytes, name: str) -> Analysis:
    return analyze_bytes(data, name, _active_key())


def corpora() -> dict[str, Path]:
    """Corpora the app may use: the demo corpus, plus an Emotify folder set by the server's settings.

    Users never type a path: an Emotify folder is configured with the
    ``MER_EMOTIFY_DIR`` environment variable when the app is started.
    """
    out = {"Demo corpus (synthetic)": default_demo_root()}
    emotify = os.environ.get("MER_EMOTIFY_DIR")
    if emotify and (Path(emotify) / "data.csv").is_file():
        out[f"Emotify ({emotify})"] = Path(emotify)
    return out


def ensure_corpus(root: Path) -> Path:
    """The demo corpus is generated on first use, with a progress bar."""
    if root == default_demo_root() and not (root / "data.csv").is_file():
        bar = st.progress(0.0, text="Generating the demo corpus (first run only, about a minute)…")
        ensure_demo_corpus(root, on_progress=lambda d, t, m: bar.progress(d / t, text=f"{m}: {d}/{t}"))
        bar.empty()
    return root


def show_error(e: MerError) -> None:
    st.error(str(e), icon=":material/error:")
