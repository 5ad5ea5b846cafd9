"""The analysis commands (mer.cli.analyze): `python -m mer spectra`: the table, the JSON, and one error line for bad input."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

from mer.cli import main

from .helpers import tone


def run(*args: str) -> subprocess.CompletedProcess:
    """A real ``python -m mer`` process: for what only a process shows (exit status, nothing but the error line)."""
    return subprocess.run([sys.executable, "-m", "mer", *args], capture_output=True, text=True, timeout=120)


def cli(capsys, *args: str) -> tuple[int, str, str]:
    """The command line in this process (no interpreter start-up): exit status, stdout, stderr."""
    code = main(list(args))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_spectra_json_has_twenty_ordered_segments(write_audio, capsys):
    path = write_audio("tone.mp3", tone(30.0, sr=44_100, freq=440.0, channels=2), 44_100)
    code, stdout, stderr = cli(capsys, "spectra", str(path), "--json")
    assert code == 0, stderr
    out = json.loads(stdout)
    assert set(out) == {"file", "duration_s", "sample_rate", "segments"}
    assert out["sample_rate"] == 22_050 and out["duration_s"] == pytest.approx(30.0, abs=0.06)
    segs = out["segments"]
    assert [s["index"] for s in segs] == list(range(20))
    assert segs[0]["start_s"] == 0.0 and segs[-1]["end_s"] == out["duration_s"]
    for a, b in zip(segs, segs[1:]):
        assert a["end_s"] == b["start_s"]
    for s in segs:
        assert len(s["freqs_hz"]) == len(s["magnitude_db"]) == 1025
        assert abs(s["dominant_hz"] - 440) <= 22_050 / 2048
        assert s["freqs_hz"][int(np.argmax(s["magnitude_db"]))] == s["dominant_hz"]


def test_spectra_table_is_readable(write_audio, capsys):
    code, stdout, stderr = cli(capsys, "spectra", str(write_audio("t.wav", tone(20.0, freq=1000.0), 22_050)))
    assert code == 0, stderr
    lines = stdout.strip().splitlines()
    assert "20 segments" in lines[0]
    assert "dominant (Hz)" in lines[1] and "RMS (dBFS)" in lines[1]
    rows = lines[2:]
    assert len(rows) == 20
    assert rows[0].split()[:2] == ["1", "0.00–1.00"] and rows[-1].split()[1] == "19.00–20.00"
    assert all(abs(float(r.split()[2]) - 1000) <= 11 for r in rows)


@pytest.mark.parametrize(
    "name,content,needle",
    [
        ("empty.wav", b"", "empty"),
        ("notes.mp3", b"hello, not audio\n" * 20, "not an audio file"),
    ],
)
def test_bad_input_exits_2_with_one_error_line(tmp_path, name, content, needle):
    path = tmp_path / name
    path.write_bytes(content)
    res = run("spectra", str(path))
    assert res.returncode == 2
    assert res.stdout == ""
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:") and needle in lines[0]
    assert "Traceback" not in res.stderr


def test_silent_and_short_files_exit_2(write_audio, capsys):
    for path, needle in [
        (write_audio("zero.wav", np.zeros(22_050 * 30, dtype=np.float32), 22_050), "silent"),
        (write_audio("short.wav", tone(0.5), 22_050), "too short"),
    ]:
        code, _, stderr = cli(capsys, "spectra", str(path))
        assert code == 2 and stderr.startswith("error:") and needle in stderr
        assert len(stderr.strip().splitlines()) == 1


def test_missing_argument_is_usage_error(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["spectra"])
    assert exit_.value.code == 2 and "usage:" in capsys.readouterr().err
