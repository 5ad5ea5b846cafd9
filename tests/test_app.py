"""The dashboard, page by page, with Streamlit's AppTest (no browser)."""

from __future__ import annotations

import base64
import dataclasses
import json
import shutil
import time
from pathlib import Path

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from mer.config import MAIN_SETTINGS, SETTING_TEXT, ModelConfig, TrainConfig
from mer.emotions import EMOTIONS, emotion_label
from mer.jobs import JobState
from mer.registry import active_name
from mer.results import CURVES_NOTE
from mer.serial import from_dict
from mer.text import escape_markdown
from mer.training.job import job_status

from .helpers import BAD_FILES, MODEL, TRAIN, encode, open_page, tone

LABELS = {emotion_label(e) for e in EMOTIONS}
LABEL_ORDER = [emotion_label(e) for e in EMOTIONS]


@pytest.fixture
def app_env(tmp_path, tiny_models, tiny_corpus, monkeypatch, _isolated_data_dir):
    """A writable models folder (copy of the tiny one) and the tiny corpus standing in for the demo corpus."""
    models = tmp_path / "models"
    shutil.copytree(tiny_models, models)
    monkeypatch.setenv("MER_MODELS_DIR", str(models))
    demo = _isolated_data_dir / "demo"
    if not demo.exists():
        shutil.copytree(tiny_corpus, demo)
    return models


def run_app(page: str | None = None) -> AppTest:
    return open_page(page, timeout=180)


def assert_titled_navigation(at: AppTest) -> None:
    """The sidebar lists the app's pages by title, in order (ui.start_page draws it on every page)."""
    links = [(e.proto.label, e.proto.icon) for e in at.sidebar.get("page_link")]
    assert links == [("Analyze", ":material/graphic_eq:"), ("Dataset", ":material/bar_chart:"),
                     ("Train", ":material/model_training:"), ("Model", ":material/description:"),
                     ("Library", ":material/library_music:")]


def figure(at: AppTest, title: str) -> dict:
    for chart in at.get("plotly_chart"):
        fig = json.loads(chart.proto.spec)
        if title in json.dumps(fig["layout"].get("title", "")):
            return fig
    raise AssertionError(f"no chart titled {title!r}")


def array(value) -> np.ndarray:
    """A plotly data array, plain or base64-encoded (plotly >= 6 sends numpy arrays as 'bdata')."""
    if isinstance(value, dict) and "bdata" in value:
        shape = tuple(int(n) for n in str(value.get("shape", "-1")).split(","))
        return np.frombuffer(base64.b64decode(value["bdata"]), dtype=value["dtype"]).reshape(shape)
    return np.asarray(value)


def test_analyze_draws_the_first_real_example_without_synthesising(app_env, monkeypatch):
    import mer.data.demo.synth

    def no_synthesis(*args, **kwargs):
        raise AssertionError("the Analyze page synthesised audio")

    monkeypatch.setattr(mer.data.demo.synth, "render_track", no_synthesis)
    at = run_app()
    assert not at.exception
    assert_titled_navigation(at)
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Overall emotion"] in LABELS and metrics["Model"] == "default"
    assert metrics["Duration"] == "30.0 s"
    timeline = figure(at, "Emotion timeline")
    heat = timeline["data"][0]
    z = array(heat["z"])
    assert z.shape == (9, 20)
    np.testing.assert_allclose(z.sum(axis=0), 1.0, atol=1e-4)  # each segment's probabilities
    assert list(heat["y"]) == [emotion_label(e) for e in EMOTIONS]
    np.testing.assert_allclose(array(heat["x"]), np.arange(20) * 1.5 + 0.75)  # each segment's middle, in seconds
    assert list(timeline["layout"]["xaxis"]["ticktext"]) == ["0:00", "0:10", "0:20", "0:30"]  # a few round times
    assert at.slider(key="segment").max == 20
    buttons = at.get("download_button")
    assert len(buttons) == 3
    # each with its file's bytes already sent, not a deferred file that a later rerun could lose
    assert all(b.proto.url and not b.proto.deferred_file_id for b in buttons)
    assert len({b.proto.url for b in buttons}) == 3
    # the tiny log-mel model has no valence–arousal head: the page says so and draws no plane
    assert "Valence" not in metrics and any("no valence–arousal head" in i.value for i in at.info)
    from mer.model_files import load_metrics
    from mer.yardstick import how_sure, reference

    bars = figure(at, "Whole track")["data"][0]
    tp = np.zeros(9)
    tp[[LABEL_ORDER.index(y) for y in bars["y"]]] = array(bars["x"])
    assert metrics["Track probability"] == f"{tp.max():.2f}"
    said = " ".join(m.value for m in at.markdown)
    yardstick = reference(load_metrics(app_env / "default").cv).sentence  # the model's accuracy beside baselines
    assert f"**How sure is this?** {escape_markdown(how_sure(tp).sentence)}" in said
    assert f"**How good is this model?** {escape_markdown(yardstick)}" in said and "for a guess" in yardstick
    assert not {"Chance", "CV accuracy"} & set(metrics)  # each number said once, in the sentence
    details = next(e for e in at.expander if e.label == "Details for developers")
    assert "mer/valence.py" in details.markdown[0].value  # file paths live here, not in the page's captions
    assert not any("mer/" in c.value for c in at.caption)
    at.radio(key="timeline_view").set_value("change from the track's mean").run()
    change = array(figure(at, "change from the track's mean")["data"][0]["z"])
    np.testing.assert_allclose(change, z - z.mean(axis=1, keepdims=True), atol=1e-6)  # each emotion about its mean
    np.testing.assert_allclose(change.sum(axis=1), 0.0, atol=1e-5)
    at.radio(key="timeline_view").set_value("probabilities").run()
    credit = " ".join(c.value for c in at.caption)
    assert "“Motion” by Shawn Parrotte" in credit and "CC-BY-SA-3.0" in credit and "hyperrogue-music" in credit
    at.selectbox[0].set_value(1).run()  # the second example
    assert not at.exception and "Max McCracken" in " ".join(c.value for c in at.caption)


def test_choosing_a_segment_updates_the_spectrum(app_env, monkeypatch):
    import ui
    from mer.analyze import analyze

    bar = []  # what the page's on_progress was told: the stages the bar shows

    def watched(*args, on_progress, **kwargs):
        return analyze(*args, on_progress=lambda *e: (bar.append(e), on_progress(*e)), **kwargs)

    monkeypatch.setattr(ui, "analyze", watched)
    at = run_app()
    assert not at.exception and [m for _, _, m in bar] == [
        "Decoding the audio", "Spectra and log-mel images of the 20 segments", "The network reads the 20 segments",
        "Done"]  # the tiny model reads log-mel images: no MusiCNN stage
    assert not [p for p in at.get("progress") if p.proto.value or p.proto.text]  # emptied once done
    at.slider(key="segment").set_value(7).run()
    spectrum = figure(at, "FFT spectrum")
    assert spectrum["data"][0]["name"].startswith("segment 7 (9.0–10.5 s)")  # 20 segments of a 30 s example
    assert len(spectrum["data"]) == 1 and at.selectbox(key="compare").value is None  # no second segment yet
    at.selectbox[1].set_value(2).run()  # compare with segment 3
    assert len(figure(at, "FFT spectrum")["data"]) == 2


def test_two_tracks_compare_on_one_scale_with_the_difference_in_a_sentence(app_env):
    at = run_app()
    assert at.selectbox(key="second").value == "none" and not [c for c in at.get("plotly_chart")
                                                               if "both tracks" in c.proto.spec]
    at.selectbox(key="second").set_value("example-1").run()
    assert not at.exception and not at.error
    first, second = (json.loads(c.proto.spec)["data"][0] for c in at.get("plotly_chart")
                     if ": emotion timeline" in json.dumps(json.loads(c.proto.spec)["layout"]["title"]))
    assert first["zmax"] == second["zmax"]  # one colour scale for both
    top = max(array(first["z"]).max(), array(second["z"]).max())
    assert first["zmax"] == pytest.approx(max(0.3, np.ceil(top * 10) / 10))
    bars = figure(at, "track by track")["data"]
    assert len(bars) == 2 and np.allclose([array(b["x"]).sum() for b in bars], 1.0, atol=1e-4)
    assert list(bars[0]["y"]) == LABEL_ORDER  # horizontal: the emotions read across at any width
    diff = array(bars[1]["x"]) - array(bars[0]["x"])
    gain = LABEL_ORDER[int(diff.argmax())]
    said = " ".join(m.value for m in at.markdown)
    assert f"has more {escape_markdown(gain)} above all \\({escape_markdown(f'{diff.max():+.2f}')}\\)" in said
    # the tiny log-mel model has no valence–arousal head: no plane for the pair either
    assert not [c for c in at.get("plotly_chart") if "both tracks" in c.proto.spec]
    at.selectbox(key="second").set_value("record").run()  # a recording as the second track
    at.audio_input(key="recording_b").set_value(("audio.wav", encode(tone(11.0, freq=220.0), 22_050, "WAV"),
                                                  "audio/wav")).run()
    assert not at.exception and not at.error
    names = [t["name"] for t in figure(at, "track by track")["data"]]
    assert names == ["motion.ogg", "second-recording.wav"]


def test_every_bad_upload_shows_a_readable_error_and_the_page_goes_on(app_env):
    good = ("ok.flac", encode(tone(20.0, freq=660.0), 22_050, "FLAC"), "audio/flac")
    at = run_app()
    at.radio[0].set_value("Upload a file").run()
    for name, (data, needle) in sorted(BAD_FILES.items()):
        at.file_uploader[0].set_value((name, data, "audio/mpeg")).run()
        assert not at.exception, name
        shown = at.error[0].value if at.error else ""  # Markdown: the file's name escaped (mer.text)
        assert len(at.error) == 1 and needle in shown and escape_markdown(name) in shown, name
        assert not at.metric, name  # no stale results of the file before
        # the page keeps working: a good file afterwards is analysed
        at.file_uploader[0].set_value(good).run()
        assert not at.error and {m.label: m.value for m in at.metric}["Duration"] == "20.0 s", name


def test_a_microphone_recording_is_analysed_like_an_upload_and_a_short_one_refused_alike(app_env):
    from mer.audio.decode import load_audio
    from mer.errors import AudioError

    at = run_app()
    at.radio(key="source").set_value("Record with the microphone").run()
    assert not at.exception and any("Record a clip" in i.value for i in at.info) and not at.metric
    short = encode(tone(4.0), 22_050, "WAV")  # what the browser sends: a WAV file
    at.audio_input(key="recording").set_value(("audio.wav", short, "audio/wav")).run()
    with pytest.raises(AudioError) as refused:  # the message a file of these bytes gets
        load_audio(short, name="recording.wav")
    assert not at.exception and [e.value for e in at.error] == [escape_markdown(str(refused.value))]
    assert "too short" in at.error[0].value and not at.metric
    at.audio_input(key="recording").set_value(("audio.wav", encode(tone(12.0, freq=523.0), 22_050, "WAV"),
                                                "audio/wav")).run()
    assert not at.exception and not at.error
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Duration"] == "12.0 s" and metrics["Overall emotion"] in LABELS
    assert array(figure(at, "Emotion timeline")["data"][0]["z"]).shape == (9, 20)


def test_dataset_page_opens_on_the_real_emotify(app_env):
    at = run_app("pages/dataset.py")
    assert not at.exception and not at.error
    assert at.selectbox[0].value.startswith("Emotify (bundled")
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Tracks"] == "400" and metrics["Responses"] == "8,407" and metrics["Ties at the top"] == "57"
    assert metrics["Imbalance ratio (tracks)"] == "32.7" and metrics["Segments"] == "6400"
    tracks = array(figure(at, "Tracks per dominant emotion")["data"][0]["y"]).tolist()
    assert tracks == [3, 29, 27, 53, 98, 34, 93, 44, 19]  # Emotify order: amazement ... sadness
    assert metrics["After SMOTE"] == "1.00" and float(metrics["Imbalance ratio before"]) > 10
    pca = figure(at, "PCA")["data"]  # one emotion over the others: the one SMOTE made most samples of
    assert at.selectbox(key="pca_emotion").value == "amazement" and len(pca) == 3
    assert pca[2]["name"].startswith("amazement (synthetic, ") and len(array(pca[2]["x"])) > len(array(pca[1]["x"]))
    track = next(s for s in at.selectbox if s.label == "Track")
    track.set_value(11).run()  # a track that ties at the top
    assert any("Track 11 (classical)" in c.value and "a tie" in c.value for c in at.caption)
    at.radio(key="samples").set_value("musicnn").run()  # SMOTE on what the default model reads
    assert not at.exception and not at.error
    assert {m.label: m.value for m in at.metric}["After SMOTE"] == "1.00"
    assert any("MusiCNN embeddings" in c.value for c in at.caption)


def test_dataset_page_shows_the_synthetic_corpus_one_choice_away(app_env):
    at = run_app("pages/dataset.py")
    at.selectbox[0].set_value("Demo corpus (synthetic)").run()
    assert not at.exception and not at.error
    assert any("synthetic" in i.value for i in at.info)
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Tracks"] == "36" and metrics["Segments"] == "720"
    assert float(metrics["Imbalance ratio before"]) > 1 and metrics["After SMOTE"] == "1.00"
    bars = figure(at, "Training fold")["data"]
    before, after = array(bars[0]["y"]).tolist(), array(bars[1]["y"]).tolist()
    assert len(set(a for a, b in zip(after, before) if b)) == 1 and max(after) == max(before)
    at.selectbox[1].set_value("random").run()
    assert {m.label: m.value for m in at.metric}["After Random oversampling"] == "1.00"


def _form_input(at: AppTest, name: str, prefix: str):
    """The Train form's input for a setting: by its own key among the main ones, else ``{prefix}_{name}``."""
    for key in (name, f"{prefix}_{name}"):
        for kind in ("number_input", "checkbox", "selectbox", "slider", "text_input"):
            try:
                return getattr(at, kind)(key=key)
            except KeyError:
                continue
    raise AssertionError(f"the Train page has no input for {prefix} setting {name!r}")


def test_fine_tuning_from_the_train_page_on_the_bundled_embeddings_says_it_needs_audio(app_env):
    at = run_app("pages/train.py")
    _form_input(at, "fine_tune", "model").check()
    at.button[0].click().run()  # "Start training" on the default corpus, the bundled embeddings
    assert not at.exception
    assert any("needs the audio" in e.value and escape_markdown("--root") in e.value for e in at.error)
    assert job_status().state != JobState.RUNNING


@pytest.mark.slow  # starts processes or trains: left out of the quick inner loop
def test_every_setting_on_the_train_page_reaches_the_saved_model_and_it_is_promoted(app_env):
    at = run_app("pages/train.py")
    assert not at.exception
    from mer.device import available_devices

    assert at.selectbox(key="device").options == available_devices() and at.selectbox(key="device").value == "cpu"
    assert at.selectbox(key="corpus").value.startswith("Emotify, 320 tracks (bundled")  # the default corpus
    at.selectbox(key="corpus").set_value("Demo corpus (synthetic)")  # MODEL's log-mel front-end reads audio
    for prefix, values in (("train", TRAIN), ("model", MODEL)):
        for name, value in values.items():
            _form_input(at, name, prefix).set_value(",".join(map(str, value)) if isinstance(value, tuple) else value)
    at.button[0].click().run()  # "Start training" (the form's submit button)
    assert not at.exception and not at.error
    deadline = time.monotonic() + 90  # about 20 s here; a hung job fails the test, not the suite
    while job_status().state == JobState.RUNNING and time.monotonic() < deadline:
        time.sleep(0.5)
    status = job_status()
    assert status.state == JobState.DONE, status.message
    saved = json.loads((Path(status.model_dir) / "config.json").read_text())
    assert from_dict(TrainConfig, saved["train"]) == TrainConfig(**TRAIN)  # every field, as set on the page
    assert from_dict(ModelConfig, saved["model"]) == ModelConfig(**MODEL)
    assert {e.stage for e in status.epochs} == {"fold 1/2", "fold 2/2", "ladder: segment protocol",
                                                   "ladder: study protocol", "final model"}
    at.run()
    assert any("Training finished" in s.value for s in at.success)
    table = at.dataframe[0].value
    assert "CV track accuracy" in table.columns and "data" not in table.columns  # short columns: the table fits
    assert len(table) == 3 and any("Compare models" in c.value and escape_markdown("new: ") in c.value for c in at.caption)
    from mer.model_files import load_metrics

    new, old = (load_metrics(p).cv.pooled.accuracy for p in (status.model_dir, app_env / "default"))
    assert list(table["CV track accuracy"]) == [f"{new:.1%}", f"{old:.1%}", f"{(new - old) * 100:+.1f} points"]
    stages = at.selectbox(key="finished_curves")  # the learning curves outlive the run
    assert set(stages.options) == {"fold 1/2", "fold 2/2", "ladder: segment protocol", "ladder: study protocol",
                                   "final model"}
    assert figure(at, "Learning curves, fold 1/2")
    at.button(key="promote").click().run()
    assert not at.exception
    assert active_name(app_env) == status.model_dir.rsplit("/", 1)[-1] != "default"
    assert job_status().state == "idle"  # the finished run is cleared once promoted


def test_every_advanced_setting_has_a_readable_label_and_help_and_smote_is_explained(app_env):
    from mer.data.balance import SAMPLER_NOTE

    at = run_app("pages/train.py")
    assert not at.exception
    advanced = [w for kind in ("number_input", "checkbox", "selectbox", "text_input") for w in at.get(kind)
                if str(w.key).startswith(("train_", "model_"))]
    names = {f.name for cls in (TrainConfig, ModelConfig) for f in dataclasses.fields(cls)} - MAIN_SETTINGS
    assert set(SETTING_TEXT) == names | MAIN_SETTINGS and MAIN_SETTINGS < set(SETTING_TEXT)  # each has its text
    assert sorted(w.key.split("_", 1)[1] for w in advanced) == sorted(names)  # one input per setting
    for w in advanced:
        raw = w.key.split("_", 1)[1]
        assert w.label != raw.replace("_", " ") and w.label[0].isupper() and w.help, w.key
    assert at.text_input(key="model_conv_channels").value == "96,96"
    assert SAMPLER_NOTE in [c.value for c in at.caption] and at.selectbox(key="sampler").help == SAMPLER_NOTE


@pytest.mark.slow  # starts processes or trains: left out of the quick inner loop
def test_a_second_training_is_refused_while_one_runs(app_env, tiny_corpus):
    from mer.config import TrainConfig
    from mer.errors import TrainingBusyError
    from mer.training.job import cancel_training, start_training

    start_training(tiny_corpus, TrainConfig(epochs=50, batch_size=16))
    try:
        with pytest.raises(TrainingBusyError, match="already in progress"):
            start_training(tiny_corpus, TrainConfig(epochs=1))
        at = run_app("pages/train.py")
        assert not at.exception and any(b.label == "Cancel training" for b in at.button)
        line = at.info[0].value
        assert line.startswith(escape_markdown(f"Training on the corpus in '{tiny_corpus.name}': 5 cross-validation folds;"))
        assert line.endswith(".") and "no oversampling" in line and "None" not in line
    finally:
        status = cancel_training()
    assert status.state in (JobState.CANCELLED, JobState.FAILED)
    assert sorted(p.name for p in app_env.iterdir() if not p.name.startswith(".")) == ["default"]


def test_model_page_shows_cv_numbers_the_ladder_and_rolls_back(app_env):
    from mer.model_files import load_metrics
    from mer.results import ModelMetrics, Rung

    older = app_env / "older"
    shutil.copytree(app_env / "default", older)
    metrics = load_metrics(app_env / "default")
    rungs = {"study": Rung("study", "segment", 0.93, 1300, "study"), "segment": Rung("segment", "segment", 0.61, 1280, "s"),
             "track": Rung("track", "track", metrics.cv.pooled.accuracy, 36, "t")}
    with_ladder = ModelMetrics(cv=metrics.cv, ladder=rungs, history=metrics.history)
    (app_env / "default" / "metrics.json").write_text(json.dumps(with_ladder.to_dict()))
    at = run_app("pages/model.py")
    assert not at.exception and not at.error
    assert_titled_navigation(at)
    assert any("Active model: default" in h.value for h in at.subheader)
    heatmap = figure(at, "Confusion matrix (tracks, out of fold)")["data"][0]
    assert array(heatmap["z"]).shape == (9, 9)
    assert array(heatmap["text"]).astype(int).sum() == 36  # every tiny-corpus track, predicted out of fold
    ladder = figure(at, "three protocols")["data"][0]
    assert list(ladder["y"]) == pytest.approx([0.93, 0.61, metrics.cv.pooled.accuracy])
    from mer.yardstick import reference

    said = " ".join(m.value for m in at.markdown)
    assert f"**How good is this model?** {escape_markdown(reference(metrics.cv).sentence)}" in said
    assert f"{metrics.cv.pooled.accuracy:.1%}" in said and "Track accuracy" not in [m.label for m in at.metric]
    assert not any("python -m mer" in c.value for c in at.caption)  # commands are in the developers' details
    n = len(metrics.cv.folds)  # each fold's learning curves, named by its fit
    curves = at.selectbox(key="curves_of")
    assert curves.options == [f"fold {i + 1}/{n}" for i in range(n)] + (["final model"] if metrics.history else [])
    curves.select_index(n - 1).run()
    assert figure(at, f"Learning curves, fold {n}/{n} (best epoch {metrics.cv.folds[-1].best_epoch})")
    assert CURVES_NOTE in [c.value for c in at.caption]  # why the training loss sits above the validation loss
    assert "make_active" not in [b.key for b in at.button]  # no disabled, blank-looking button for the active one
    assert any("'default' is already the active model" in c.value for c in at.caption)
    at.selectbox(key="pick_model").set_value("older").run()
    assert at.button(key="make_active").label == "Make 'older' active"
    at.button(key="make_active").click().run()
    assert not at.exception and active_name(app_env) == "older"

    from mer.registry import save_ladder

    from .test_ladder import two_family_report

    save_ladder(two_family_report())  # what `python -m mer ladder --save` writes: both families, one chart
    at.run()
    fig = figure(at, "Two networks, one dataset, three protocols")
    bars = {trace["name"]: list(trace["y"]) for trace in fig["data"] if trace["type"] == "bar"}
    assert bars == {"the study's recipe (28 librosa means per segment, Conv1D-LSTM)": [0.912, 0.803, 0.331],
                    "mer's default model (MusiCNN embeddings, BiLSTM)": [0.633, 0.446, 0.487]}
    assert fig["layout"]["shapes"][0]["y0"] == pytest.approx(0.947)  # the study's published figure
    said = " ".join(m.value for m in at.markdown)
    assert "the study's recipe **91.2%**, mer's default model **63.3%**" in said
    assert "How to read this" in [e.label for e in at.expander]


def test_train_page_downloads_emotify_from_a_local_server_and_offers_it(app_env, local_server, tmp_path, monkeypatch):
    from .test_fetch import publish_emotify

    site, url = local_server
    publish_emotify(site, tmp_path)
    monkeypatch.setenv("MER_EMOTIFY_URL", url)
    monkeypatch.setenv("MER_DATA_DIR", str(tmp_path / "data"))  # the download lands here, not in the shared folder
    at = run_app("pages/train.py")
    assert not at.exception
    at.button(key="download_emotify").click().run()
    assert not at.exception and not at.error
    corpus_box = at.selectbox(key="corpus")
    assert any(o.startswith("Emotify (") for o in corpus_box.options)  # offered as a corpus to train on
    assert (tmp_path / "data" / "emotify" / "emotifymusic" / "classical").is_dir()


def test_train_page_says_plainly_when_emotify_cannot_be_downloaded(app_env, monkeypatch):
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed when the block ends: nothing listens there
    monkeypatch.setenv("MER_EMOTIFY_URL", f"http://127.0.0.1:{port}/")
    at = run_app("pages/train.py")
    assert not at.exception
    text = " ".join(i.value for i in at.info)
    assert "cannot download Emotify" in text and "MER_EMOTIFY_DIR" in text and "fetch-emotify" in text
    assert not [b for b in at.button if b.key == "download_emotify"]


def test_a_deeply_nested_model_config_is_shown_broken_and_hides_nothing_on_the_pages(app_env):
    shutil.copytree(app_env / "default", app_env / "deep")
    (app_env / "deep" / "config.json").write_text("[" * 100_000 + "]" * 100_000)
    shutil.copytree(app_env / "default", app_env / "other")
    at = run_app("pages/model.py")
    assert not at.exception
    table = next(d.value for d in at.dataframe if "problem" in d.value.columns).set_index("name")
    assert set(table.index) == {"default", "deep", "other"}
    assert "nested too deeply" in table.loc["deep", "problem"] and table.loc["other", "problem"] == ""
    assert sorted(at.selectbox(key="pick_model").options) == ["default", "other"]  # a broken one cannot be picked
    at = run_app()  # the Analyze page, whose model list reads every model folder
    assert not at.exception and not at.error



def test_analyze_draws_the_learned_plane_with_emotions_where_the_head_puts_them(va_model, tmp_path, monkeypatch):
    """A model with a valence–arousal head: the plane's path is the head's values, the metrics beside it are the
    track's, the nine emotions are drawn at the anchors its metrics hold, and the words say how sure it is."""
    import json

    from mer.model_files import load_model
    from mer.results import ModelMetrics, VAMetrics, VAScores

    models = tmp_path / "models"
    shutil.copytree(va_model, models / "default")
    scores = VAScores(0.806, 0.865, 0.9, 0.958, 0.731)
    va = VAMetrics(data="4Q", protocol="5-fold cross-validation grouped by artist", n_clips=449, n_artists=339,
                   folds=5, head=scores, fold_quadrant=[0.7] * 5, segments=(0.75, 0.86), brier=(0.15, 0.08),
                   baselines={"gems_projection": VAScores(0.51, 0.7, 0.85, 0.93, 0.46)},
                   anchors={"calmness": (0.35, -0.5, 40), "tension": (-0.3, 0.55, 12)})
    (models / "default" / "metrics.json").write_text(json.dumps(ModelMetrics(cv=None, valence_arousal=va).to_dict()))
    monkeypatch.setenv("MER_MODELS_DIR", str(models))
    at = run_app()
    assert not at.exception
    plane = {t["name"]: t for t in figure(at, "Valence and arousal")["data"]}
    placed = plane["Emotify's emotions, placed by the head"]
    assert list(placed["text"]) == ["calmness", "tension"] and list(array(placed["x"])) == [0.35, -0.3]
    from mer.analyze import analyze
    from mer.data.examples import list_examples

    expected = analyze(list_examples()[0].path, model=load_model(models / "default")).va_path
    path = np.stack([array(plane["segments, in time order"]["x"]), array(plane["segments, in time order"]["y"])])
    np.testing.assert_allclose(path, np.stack([expected.valence, expected.arousal]), atol=1e-4)
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Valence"] == f"{expected.track_valence:+.2f}" and metrics["Arousal"] == f"{expected.track_arousal:+.2f}"
    said = " ".join(m.value for m in at.markdown)
    assert expected.track_words[1:] in said and "81% of them on the right side of pleasant" in said


def test_the_readme_the_card_and_the_model_page_give_the_bundled_model_one_yardstick(monkeypatch):
    """The figures a stakeholder compares come from mer.yardstick.reference, wherever they are read."""
    from mer.card import card_paragraph
    from mer.model_files import load_metrics, load_model
    from mer.yardstick import reference

    root = Path(__file__).resolve().parent.parent
    default = load_model(root / "models" / "default")
    metrics = load_metrics(default.path)
    sentence = reference(metrics.cv).sentence
    assert "23.4% for always answering the emotion most common among the training tracks (calmness)" in sentence
    assert " ".join(sentence.split()) in " ".join((root / "README.md").read_text().split())  # generated there
    card = (default.path / "card.md").read_text()
    assert card_paragraph("default", default.dataset, default.model_config, metrics, quote=escape_markdown) in card
    monkeypatch.setenv("MER_MODELS_DIR", str(root / "models"))  # the bundled models, only read
    at = run_app("pages/model.py")
    assert not at.exception and not at.error
    said = " ".join(m.value for m in at.markdown)
    assert f"**How good is this model?** {escape_markdown(sentence)}" in said
