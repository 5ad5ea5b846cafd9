"""The docs' result and speed tables are what their sources say: regenerated, they come out the same."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.slow  # starts a process: left out of the quick inner loop (the next test runs the check in this one)
def test_generated_tables_match_metrics_ladder_and_benchmark_logs():
    out = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "docs_tables.py"), "--check"],
                         capture_output=True, text=True, cwd=ROOT)
    assert out.returncode == 0, out.stderr


def test_the_drift_check_notices_a_changed_figure(tmp_path, monkeypatch):
    sys.path.insert(0, str(ROOT / "benchmarks"))
    try:
        import docs_tables
    finally:
        sys.path.remove(str(ROOT / "benchmarks"))
    fake = tmp_path / "results.md"
    fake.write_text(docs_tables.results_md().replace("**0.500**", "**0.512**"))
    monkeypatch.setattr(docs_tables, "RESULTS", fake)
    monkeypatch.setattr(sys, "argv", ["docs_tables.py", "--check"])
    assert docs_tables.main() == 1 and "**0.500**" in docs_tables.results_md()


def test_the_readme_is_short_and_cites_nothing_outside_the_repository():
    readme = (ROOT / "README.md").read_text()
    assert len(readme.encode()) <= 12_000
    for doc in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]:
        assert "../shared" not in doc.read_text(), doc.name
