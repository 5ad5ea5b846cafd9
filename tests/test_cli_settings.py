"""`python -m mer settings` (mer.cli.settings): every MER_* variable with its value; a bad one ends in one error line."""

from __future__ import annotations


def test_the_command_line_lists_the_settings_and_ends_with_an_error_line_on_a_bad_one(monkeypatch, capsys, tmp_path):
    import json

    from mer.cli import main

    monkeypatch.setenv("MER_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("MER_THREADS", raising=False)
    assert main(["settings", "--json"]) == 0
    listed = {s["name"]: s for s in json.loads(capsys.readouterr().out)["settings"]}
    assert listed["MER_DATA_DIR"]["value"] == str(tmp_path) and listed["MER_THREADS"]["raw"] is None
    monkeypatch.setenv("MER_MAX_ANALYSES", "0")
    assert main(["settings"]) == 2
    out, err = capsys.readouterr()
    assert "MER_MAX_ANALYSES   invalid" in out and err.startswith("error: MER_MAX_ANALYSES must be")
