"""What the pages share: the titled navigation, cached access to mer, corpora, error display. Not a page.

Every page starts with :func:`start_page`, which draws the app's navigation itself. Streamlit runs an app that has
a ``pages/`` folder as a file-based multipage app until ``app.py`` has once called ``st.navigation``: on a
fresh server, a first visitor who opens a shared link to ``/dataset`` gets that page run on its own. With
Streamlit's own sidebar navigation switched off (``client.showSidebarNavigation = false`` in
``.streamlit/config.toml``), both ways show the same titled links, drawn here with ``st.page_link``.
"""

from __future__ import annotations

import hashlib
import urllib.parse
from pathlib import Path

import streamlit as st

from mer.analyze import Analysis, analysis_slots_free, analyze
from mer.data.corpora import CorpusChoice, corpus_choices
from mer.data.demo import ensure_demo_corpus
from mer.data.fetch import emotify_reachable, emotify_ready, fetch_emotify
from mer.errors import MerError
from mer.model_files import LoadedModel, load_model
from mer.registry import active_name, list_models, load_active, model_stamp, models_dir
from mer.settings import emotify_download_dir, emotify_url
from mer.text import escape_markdown, md_code

#: The app's pages in the sidebar's order: script (relative to app.py), title, icon. The first is the default.
PAGES: tuple[tuple[str, str, str], ...] = (
    ("pages/analyze.py", "Analyze", ":material/graphic_eq:"),
    ("pages/dataset.py", "Dataset", ":material/bar_chart:"),
    ("pages/train.py", "Train", ":material/model_training:"),
    ("pages/model.py", "Model", ":material/description:"),
    ("pages/library.py", "Library", ":material/library_music:"),
)


def start_page(title: str) -> None:
    """Start a page: the browser tab's title, the wide layout, and the app's titled navigation in the sidebar."""
    st.set_page_config(page_title=f"{title} · mer", page_icon="🎵", layout="wide")
    with st.sidebar:
        st.markdown("**mer** · music emotion recognition")
        for script, label, icon in PAGES:
            st.page_link(script, label=label, icon=icon)


DEMO_NOTE = ("The demo corpus is **synthetic**: music synthesised by mer from emotion archetypes (tempo, mode, "
             "register, loudness, brightness, density, dissonance) and simulated listeners, in Emotify's exact format. "
             "It is for demonstrating and testing the product, not a model of human emotion.")


@st.cache_resource(show_spinner="Loading the model…")
def _model(key: str) -> LoadedModel:
    name = key.split("\0")[1]
    return load_model(models_dir() / name) if name else load_active()


def get_model(name: str | None = None) -> LoadedModel:
    """The active model (reloaded when the active pointer changes), or the model ``name`` of the models folder."""
    return _model(model_stamp(name))


def model_names() -> list[str]:
    """Complete models in the models folder, the active one first."""
    active = active_name()
    names = [m.name for m in list_models() if not m.broken]
    return sorted(names, key=lambda n: n != active)


@st.cache_data(show_spinner=False, max_entries=32)
def _analysis(digest: str, name: str, model_key: str, _data: bytes) -> Analysis:
    # keyed by the upload's digest (the bytes themselves are not hashed again: the leading underscore), and
    # cached without the decoded samples, so 32 twenty-minute uploads do not hold gigabytes. The bar is made
    # here, inside the cached function, so that a cached result replays it (made and emptied) rather than
    # referring to an element of an earlier run.
    bar = st.progress(0.0, text="Analysing…")
    try:
        return analyze(_data, name=name, model=_model(model_key),
                       on_progress=lambda done, total, message: bar.progress(
                           done / max(total, 1), text=f"{escape_markdown(message)} ({done}/{total} stages done)")
                       ).without_samples()
    finally:
        bar.empty()


def analysis_of(data: bytes, name: str, token: str, model: str | None = None) -> Analysis:
    """The analysis of uploaded or example bytes with the active model, or the model named ``model`` (cached;
    the samples are not kept).

    ``token`` names these bytes for this session (an upload's ``file_id``), so each upload is hashed once,
    not on every rerun.
    """
    digests = st.session_state.setdefault("_digests", {})
    if token not in digests:
        digests[token] = hashlib.sha256(data).hexdigest()
    waiting = st.empty()
    if not analysis_slots_free():  # mer runs a few analyses at once; this one queues (a cached one returns at once)
        waiting.info("The server is busy with other analyses; yours starts as soon as one of them finishes.")
    try:
        return _analysis(digests[token], name, model_stamp(model), data)
    finally:
        waiting.empty()


#: The Train page's first corpus: the bundled MusiCNN embeddings of the 320 Emotify tracks (no audio needed).
BUNDLED_EMOTIFY = "Emotify, 320 tracks (bundled MusiCNN embeddings)"


def corpora(bundled: str | None = None) -> dict[str, CorpusChoice]:
    """Corpora the app may use, by label (:func:`mer.data.corpora.corpus_choices`): the bundled Emotify first,
    labelled ``bundled`` (:data:`BUNDLED_EMOTIFY` on the Train page), an Emotify with audio if the server has one,
    and the synthetic demo corpus."""
    return corpus_choices(bundled)


@st.cache_data(ttl=300, show_spinner=False)
def _reachability(url: str) -> str | None:
    return emotify_reachable(url)


def emotify_download() -> None:
    """Offer to download the official Emotify (data.csv + 363 MB of audio) when this server can reach it."""
    dest = emotify_download_dir()
    if emotify_ready(dest):
        return
    st.subheader("Train on the real Emotify")
    problem = _reachability(emotify_url())
    if problem:
        st.info(f"This server cannot download Emotify: {escape_markdown(problem)}. To train on it, download `data.csv` and "
                f"`emotifymusic.zip` from {md_code(emotify_url())} on a machine with internet, unzip the archive beside "
                "data.csv, and start the app with `MER_EMOTIFY_DIR=<that folder>`; or run "
                "`python -m mer data fetch-emotify --out data/emotify` where there is internet.")
        return
    st.write(f"Download the official Emotify (400 one-minute excerpts, 363 MB) from {md_code(emotify_url())} into "
             f"{md_code(dest)}. It is checked, unpacked safely and then offered as a corpus above.")
    if st.button("Download Emotify", key="download_emotify"):
        bar = st.progress(0.0, text="Starting the download…")
        try:
            fetch_emotify(dest, base_url=emotify_url(),
                          on_progress=lambda d, t, m: bar.progress(min(1.0, d / max(t, 1)), text=m))
        except MerError as e:
            bar.empty()
            show_error(e)
            return
        bar.empty()
        st.success(f"Emotify is ready in {md_code(dest)}.")
        st.rerun()


def ensure_corpus(choice: CorpusChoice) -> Path | None:
    """The corpus's folder (None: the bundled one); the demo corpus is generated on first use, with a progress
    bar."""
    if choice.to_generate:
        bar = st.progress(0.0, text="Generating the demo corpus (first run only, about a minute)…")
        ensure_demo_corpus(choice.root, on_progress=lambda d, t, m: bar.progress(d / t, text=f"{m}: {d}/{t}"))
        bar.empty()
    return choice.root


#: The Analyze page's source for a file the Library sent it.
FROM_LIBRARY = "From the Library"


def send_to_analyze(path: Path, batch: Path) -> None:
    """Open the Analyze page on a Library track of ``batch``. ``path`` is one the Library may play (an allowed
    root's file, resolved): the browser never names the file the server reads."""
    st.session_state["library_file"] = (str(path), str(batch))
    st.session_state["library_file_new"] = True
    st.switch_page(PAGES[0][0])


def library_file() -> tuple[Path, Path] | None:
    """The Library track the Analyze page was sent, and its batch, if any; the first run after sending selects it."""
    if st.session_state.pop("library_file_new", False):
        st.session_state["source"] = FROM_LIBRARY
    sent = st.session_state.get("library_file")
    return (Path(sent[0]), Path(sent[1])) if isinstance(sent, tuple) and len(sent) == 2 else None


def library_bytes(path: Path, batch: Path) -> tuple[bytes, str]:
    """The bytes of a Library track of ``batch``, checked again at this read (:func:`mer.batch.folders.read_track_file`:
    an audio file under the batch's allowed folders, a regular file, opened without blocking, at most the app's
    upload limit, ``server.maxUploadSize``), and a token naming this version of the file (path, size, mtime).

    Raises
    ------
    AudioError
        Any check fails; the message says which, and the way on.
    """
    from mer.batch.folders import read_track_file

    read = read_track_file(batch, path, st.get_option("server.maxUploadSize") * 1024 * 1024)
    return read.data, read.token


def visitor_on_this_machine() -> bool:
    """Whether the browser runs on the server's own machine: its connection comes from a loopback address
    (Streamlit's ``ip_address``, None for those) and the address it opened is ``localhost`` (so that a page of
    another site, resolved to this machine, cannot pass for it). Behind a reverse proxy on the same machine every
    visitor looks local: such a server sets ``MER_LIBRARY_ROOTS``, which the Library page obeys instead."""
    url = st.context.url
    if not url or st.context.ip_address is not None:
        return False
    return urllib.parse.urlsplit(url).hostname in ("localhost", "127.0.0.1", "::1")


def developer_details(lines: list[str]) -> None:
    """What a presenter need not read (file paths, commands, the arithmetic MusiCNN ran in), in one closed
    expander at the foot of a page, one bullet each (Markdown: escape what comes from files)."""
    with st.expander("Details for developers"):
        st.markdown("\n".join(f"- {line}" for line in lines))


def show_error(e: MerError) -> None:
    """The error's message, shown literally: it may quote a name or path (``[x](…)`` is never made a link)."""
    st.error(escape_markdown(str(e)), icon=":material/error:")
