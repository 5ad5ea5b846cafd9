"""Analysing a file: the timeline, the HTML report, long tracks, the analyze command, devices."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from mer.analyze import analyze
from mer.cli import main
from mer.emotions import EMOTIONS
from mer.model_files import load_model

from .helpers import tone


def test_analysis_gives_twenty_probability_vectors_and_a_track_distribution(tiny_models, write_audio):
    model = load_model(tiny_models / "default")
    path = write_audio("a.wav", tone(30.0, freq=330.0), 22_050)
    result = analyze(path, model=model)
    assert result.probabilities.shape == (20, 9) and result.track_probabilities.shape == (9,)
    np.testing.assert_allclose(result.probabilities.sum(axis=1), 1.0, atol=1e-5)
    assert result.track_probabilities.sum() == pytest.approx(1.0, abs=1e-5)
    assert result.track_top == EMOTIONS[int(result.track_probabilities.argmax())]
    d = result.to_dict("a.wav")
    assert d["model"] == {"name": "default", "trained_on": model.trained_on}
    from mer.valence import NO_HEAD

    # a log-mel model has no valence–arousal head: the values are null and the JSON says why, never a projection
    assert result.va_path is None and {s["valence"] for s in d["segments"]} == {None}
    assert d["track"]["valence"] is None and d["valence_arousal"] == {"source": NO_HEAD}
    assert [s["index"] for s in d["segments"]] == list(range(20))


def test_a_model_with_a_head_gives_each_segment_its_own_learned_valence_and_arousal(va_model, write_audio, capsys):
    """The values everywhere they show (JSON, CSV, report, the text of `mer analyze`) are the head's, computed
    from each segment's own MusiCNN layer."""
    from mer.audio.decode import load_audio
    from mer.audio.embeddings import embed_audio
    from mer.report import analysis_csv, html_report
    from mer.valence import SOURCE

    model = load_model(va_model)
    path = write_audio("v.wav", np.concatenate([tone(15.0, freq=220.0), tone(15.0, freq=880.0, amp=0.2)]), 22_050)
    result = analyze(path, model=model)
    emb = embed_audio(load_audio(path, config=model.audio_config), extra_layers=model.va_head.layers)
    expected = model.va_head.path(emb.extra)
    np.testing.assert_allclose(result.va_path.valence, expected.valence, atol=1e-6)
    d = result.to_dict()
    assert [s["arousal"] for s in d["segments"]] == pytest.approx(expected.arousal.tolist(), abs=1e-5)
    assert d["track"]["valence"] == pytest.approx(expected.track_valence, abs=1e-5)
    assert d["valence_arousal"] == {"source": SOURCE, "words": expected.track_words}
    assert -1 <= min(expected.valence) and max(expected.arousal) <= 1
    rows = analysis_csv(result).splitlines()
    header = rows[0].split(",")
    col = header.index("valence")
    assert [float(r.split(",")[col]) for r in rows[1:-1]] == pytest.approx(expected.valence.tolist(), abs=1e-4)
    assert float(rows[-1].split(",")[col]) == pytest.approx(expected.track_valence, abs=1e-4)  # the whole track
    page = html_report(result)
    assert f"Valence {expected.track_valence:+.2f}, arousal {expected.track_arousal:+.2f}" in page and "4Q" in page
    assert page.count("<svg") == 5  # the plane drawn too (and MusiCNN's tags)
    assert main(["analyze", str(path), "--model", str(va_model)]) == 0
    out = capsys.readouterr().out
    assert f"valence {expected.track_valence:+.2f}, arousal {expected.track_arousal:+.2f}: {expected.track_words}" in out
    assert f"{expected.valence[0]:+.2f}" in out.splitlines()[2]


def test_long_tracks_average_over_several_windows(tiny_models, write_audio):
    model = load_model(tiny_models / "default")
    result = analyze(write_audio("long.flac", tone(150.0, sr=8_000, freq=200.0), 8_000), model=model)
    # 7.5 s segments: 1 + (165,375 − 2,048) // 512 = 319 frames → 3 windows of 126
    assert result.features.windows.shape[:2] == (20, 3)
    np.testing.assert_allclose(result.probabilities.sum(axis=1), 1.0, atol=1e-5)


def test_analyze_cli_json_and_table(tiny_models, write_audio, capsys):
    path = write_audio("b.ogg", tone(20.0, freq=500.0, channels=2), 22_050)
    assert main(["analyze", str(path), "--model", str(tiny_models / "default"), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert set(out) == {"file", "duration_s", "emotions", "segments", "track", "model", "valence_arousal"}
    assert out["emotions"] == list(EMOTIONS) and len(out["segments"]) == 20
    assert abs(sum(out["track"]["probabilities"]) - 1) < 1e-4
    assert main(["analyze", str(path), "--model", str(tiny_models / "default")]) == 0
    assert len(capsys.readouterr().out.strip().splitlines()) == 2 + 20 + 2  # header, segments, track, valence


def test_analyze_cli_bad_file_and_bad_model(tiny_models, tmp_path, write_audio, capsys):
    (tmp_path / "x.mp3").write_text("not audio")
    assert main(["analyze", str(tmp_path / "x.mp3"), "--model", str(tiny_models / "default")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error:") and "not an audio file" in err
    assert main(["analyze", str(write_audio("ok.wav", tone(11.0), 22_050)), "--model", str(tmp_path / "nothing")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: No model at") and "Traceback" not in err


def test_devices_resolve_or_say_what_to_use_instead(tiny_models, write_audio, capsys):
    from mer.device import resolve_device
    from mer.errors import DeviceError

    assert resolve_device("cpu") == torch.device("cpu")
    assert resolve_device("auto").type == ("cuda" if torch.cuda.is_available() else
                                           "mps" if torch.backends.mps.is_available() else "cpu")
    with pytest.raises(DeviceError, match="Unknown device 'tpu'"):
        resolve_device("tpu")
    if torch.cuda.is_available():
        pytest.skip("this machine has a GPU: the refusal below cannot be shown")
    path = write_audio("c.wav", tone(12.0), 22_050)
    assert main(["analyze", str(path), "--model", str(tiny_models / "default"), "--device", "cuda"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: The device 'cuda' is not available") and "--device cpu" in err


def test_analysis_reports_its_stages_in_order(tiny_models, write_audio):
    events = []
    path = write_audio("c.wav", tone(12.0, freq=440.0), 22_050)
    analyze(path, model=load_model(tiny_models / "default"), on_progress=lambda *e: events.append(e))
    # the tiny model reads log-mel images: no MusiCNN stage
    assert events == [(0, 3, "Decoding the audio"), (1, 3, "Spectra and log-mel images of the 20 segments"),
                      (2, 3, "The network reads the 20 segments"), (3, 3, "Done")]


def test_a_musicnn_model_reports_musicnn_on_its_patches(write_audio):
    from pathlib import Path

    events = []
    model = load_model(Path(__file__).resolve().parent.parent / "models" / "default")  # the bundled MusiCNN model
    analyze(write_audio("d.wav", tone(12.0), 22_050), model=model, on_progress=lambda *e: events.append(e))
    # 12 s: 20 segments of 0.6 s, each shorter than a 3 s patch, so one patch each
    assert [m for _, _, m in events] == ["Decoding the audio", "Spectra and log-mel images of the 20 segments",
                                         "MusiCNN on 20 patches of 3 s", "The network reads the 20 segments", "Done"]
    assert [(d, t) for d, t, _ in events] == [(0, 4), (1, 4), (2, 4), (3, 4), (4, 4)]


def test_analyze_prints_progress_on_a_terminal_and_keeps_stdout_json(tiny_models, write_audio, capsys, monkeypatch):
    import io
    import sys

    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    path = write_audio("e.wav", tone(12.0), 22_050)
    err = Terminal()
    monkeypatch.setattr(sys, "stderr", err)
    assert main(["analyze", str(path), "--model", str(tiny_models / "default"), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["file"] == str(path)  # stdout: the JSON alone
    lines = err.getvalue()
    assert "[0/3   0%] Decoding the audio\x1b[K\r" in lines and lines.endswith("[3/3 100%] Done\x1b[K\n")
    monkeypatch.setattr(sys, "stderr", io.StringIO())  # not a terminal: nothing
    assert main(["analyze", str(path), "--model", str(tiny_models / "default"), "--json"]) == 0
    assert sys.stderr.getvalue() == ""


@pytest.mark.parametrize("which", ["tiny", "bundled"])
def test_the_numbers_do_not_depend_on_the_threads_an_analysis_gets(which, tiny_models, write_audio, monkeypatch):
    # an analysis takes its share of the free cores, so the same file may run on one thread or several
    from pathlib import Path

    model = load_model(tiny_models / "default" if which == "tiny" else
                       Path(__file__).resolve().parent.parent / "models" / "default")  # log-mel / MusiCNN
    path = write_audio("t.wav", tone(12.0, freq=330.0), 22_050)
    results = []
    for n in ("1", "2", "3"):
        monkeypatch.setenv("MER_THREADS", n)
        results.append(analyze(path, model=model))
    for other in results[1:]:
        assert other.precision == results[0].precision
        np.testing.assert_allclose(other.probabilities, results[0].probabilities, atol=1e-6)
        np.testing.assert_allclose(other.track_probabilities, results[0].track_probabilities, atol=1e-6)


def test_analyses_beyond_the_limit_wait_for_a_slot(monkeypatch):
    import threading
    import time

    from mer.analyze import analysis_slot, analysis_slots_free
    from mer.errors import ConfigError
    from mer.settings import max_analyses

    monkeypatch.setenv("MER_MAX_ANALYSES", "1")
    assert max_analyses() == 1 and analysis_slots_free()
    entered = threading.Event()

    def second():
        with analysis_slot():
            entered.set()

    with analysis_slot():
        assert not analysis_slots_free()
        waiter = threading.Thread(target=second)
        waiter.start()
        time.sleep(0.3)
        assert not entered.is_set()  # waits while the first analysis runs
    waiter.join(5)
    assert entered.is_set() and analysis_slots_free()
    for bad in ("0", "-1", "two", "1e3", "65"):
        monkeypatch.setenv("MER_MAX_ANALYSES", bad)
        with pytest.raises(ConfigError, match="MER_MAX_ANALYSES must be a whole number from 1 to 64"):
            max_analyses()
