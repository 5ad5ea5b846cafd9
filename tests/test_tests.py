"""The tests themselves: every module of mer has a test file of its name, so a reader finds a module's tests at
once and a new module comes with its own."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

#: Modules with nothing of their own to test, each with the reason. Keep it short: a module with logic gets a file.
EXEMPT: dict[str, str] = {
    "mer": "the package: its version and a lazy analyze_many from mer.batch, tested there",
    "mer.__main__": "three lines that call mer.cli.main (test_cli.py)",
    "mer.version": "one constant",
    "mer.tags": "the names of MusiCNN's 50 tags: data, read by test_musicnn.py",
    "mer.errors": "exception classes only, each raised and matched in the tests of the module that raises it",
    "mer.forkserver_guard": "runs only inside a pool's fork server on import; test_pool.py and test_jobs.py check that "
                            "pools never outlive their owner",
}


def _modules(root: Path = ROOT, packages: bool = False) -> dict[str, Path]:
    """Every module of mer by dotted name; a subpackage only where its ``__init__`` defines something (or, with
    ``packages``, every subpackage)."""
    out = {}
    for path in sorted((root / "mer").rglob("*.py")):
        parts = path.relative_to(root).with_suffix("").parts
        if parts[-1] == "__init__":
            if not packages and len(parts) > 2 and \
                    not any(line.startswith(("def ", "class ")) for line in path.read_text().splitlines()):
                continue  # a subpackage's docstring and re-exports: its modules have the tests
            parts = parts[:-1]
        out[".".join(parts)] = path
    return out


def test_file_names(name: str, modules: set[str]) -> set[str]:
    """The names a test file of module ``name`` may have: ``test_<package>_<module>.py``, or ``test_<module>.py``
    where no other module or package of ``modules`` has that last name."""
    parts = name.split(".")[1:]
    last = [m for m in modules if m.split(".")[-1] == parts[-1]] if parts else []
    return {f"test_{'_'.join(parts)}.py"} | ({f"test_{parts[-1]}.py"} if len(last) == 1 else set())


test_file_names.__test__ = False  # a helper, not a test


def test_every_module_has_a_test_file_of_its_name():
    modules, names = _modules(), set(_modules(packages=True))
    files = {p.name for p in (ROOT / "tests").glob("test_*.py")}
    missing = sorted(m for m in modules if m not in EXEMPT and not test_file_names(m, names) & files)
    assert not missing, "add tests/test_<package>_<module>.py (or test_<module>.py) for: " + ", ".join(missing)


def test_the_exemptions_are_modules_without_a_test_file():
    modules, names = _modules(), set(_modules(packages=True))
    files = {p.name for p in (ROOT / "tests").glob("test_*.py")}
    stale = sorted(m for m in EXEMPT if m not in modules or test_file_names(m, names) & files)
    assert not stale, f"remove from EXEMPT: {stale}"


def test_names_follow_the_package_where_a_module_name_is_shared():
    modules = {"mer.valence", "mer.training.valence", "mer.batch.run", "mer.cli", "mer.batch", "mer.cli.batch"}
    assert test_file_names("mer.training.valence", modules) == {"test_training_valence.py"}
    assert test_file_names("mer.cli.batch", modules) == {"test_cli_batch.py"}  # test_batch.py is mer.batch's
    assert test_file_names("mer.batch.run", modules) == {"test_batch_run.py", "test_run.py"}
    assert test_file_names("mer.cli", modules) == {"test_cli.py"}


def test_a_subpackage_counts_only_where_its_init_defines_something(tmp_path):
    (tmp_path / "mer" / "sub").mkdir(parents=True)
    (tmp_path / "mer" / "__init__.py").write_text('"""mer"""\n')
    (tmp_path / "mer" / "sub" / "__init__.py").write_text('"""sub"""\nfrom .a import f\n')
    (tmp_path / "mer" / "sub" / "a.py").write_text("def f():\n    return 1\n")
    (tmp_path / "mer" / "logic").mkdir()
    (tmp_path / "mer" / "logic" / "__init__.py").write_text("def g():\n    return 2\n")
    assert set(_modules(tmp_path)) == {"mer", "mer.sub.a", "mer.logic"}
