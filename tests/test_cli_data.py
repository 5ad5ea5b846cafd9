"""The data commands (mer.cli.data): refusals before any work, one error line each."""

from __future__ import annotations

from mer.cli import main


def test_demo_with_three_tracks_or_a_silly_length_is_one_error_line(tmp_path, capsys):
    for argv in (["--tracks", "3"], ["--seconds", "1e-300"], ["--seconds", "1e12"], ["--seed", "-5"]):
        assert main(["data", "demo", "--out", str(tmp_path / "d"), *argv]) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and err[0].startswith("error: Invalid DemoConfig"), err
    assert not (tmp_path / "d").exists()
