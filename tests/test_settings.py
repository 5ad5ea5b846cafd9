"""mer.settings: every MER_* variable parsed in one place, with its default, its check and its help; every folder
from it; no other module reads one."""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

import pytest

from mer import settings
from mer.errors import ConfigError

ROOT = Path(__file__).resolve().parent.parent
#: The one other reader: the fork server's guard imports nothing of mer's settings (it runs before anything else).
ALSO_READS = {"mer.forkserver_guard"}


def _environ_reads(tree: ast.AST) -> list[ast.expr]:
    """The keys a module reads from ``os.environ``: ``.get(k)``, ``[k]`` (loads only) and ``k in os.environ``."""
    is_environ = lambda n: isinstance(n, ast.Attribute) and n.attr == "environ"  # noqa: E731
    keys = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "get" \
                and is_environ(node.func.value) and node.args:
            keys.append(node.args[0])
        elif isinstance(node, ast.Subscript) and is_environ(node.value) and isinstance(node.ctx, ast.Load):
            keys.append(node.slice)
        elif isinstance(node, ast.Compare) and any(is_environ(c) for c in node.comparators):
            keys.append(node.left)
    return keys


def _value(module: object, key: ast.expr) -> object:
    if isinstance(key, ast.Constant):
        return key.value
    if isinstance(key, ast.Name):
        return getattr(module, key.id, None)
    if isinstance(key, ast.Attribute) and isinstance(key.value, ast.Name):
        return getattr(getattr(module, key.value.id, None), key.attr, None)
    return None


def test_no_module_but_settings_reads_a_mer_variable():
    readers = {}
    for path in sorted((ROOT / "mer").rglob("*.py")):
        name = ".".join(path.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")
        keys = _environ_reads(ast.parse(path.read_text()))
        if not keys or name == "mer.forkserver_guard":  # importing the guard would arm it
            continue
        module = importlib.import_module(name)
        read = {v for k in keys if isinstance(v := _value(module, k), str) and v.startswith("MER_")}
        if read:
            readers[name] = read
    assert set(readers) == {"mer.settings"}, readers
    assert readers["mer.settings"] == {"MER_DATA_DIR", "MER_MODELS_DIR", "MER_EMOTIFY_DIR", "MER_EMOTIFY_URL",
                                       "MER_LIBRARY_ROOTS"}  # the others through one helper each


def test_every_setting_is_listed_with_its_value_or_what_is_wrong(monkeypatch, tmp_path):
    monkeypatch.setenv("MER_THREADS", "3")
    monkeypatch.setenv("MER_PRECISION", "float16")
    monkeypatch.setenv("MER_LIBRARY_ROOTS", f"{tmp_path / 'a'}:{tmp_path / 'b'}")
    shown = {v.name: v for v in settings.describe()}
    assert set(shown) == {s.name for s in settings.SETTINGS} and len(shown) == 9
    assert shown["MER_THREADS"].value == "3" and shown["MER_THREADS"].raw == "3"
    assert shown["MER_PRECISION"].error and "float16" in shown["MER_PRECISION"].error
    assert shown["MER_LIBRARY_ROOTS"].value == f"{tmp_path / 'a'}:{tmp_path / 'b'}"
    assert all(s.doc and s.default for s in settings.SETTINGS)


@pytest.mark.parametrize("name, read, bad, good, expected", [
    ("MER_THREADS", settings.threads, "0", " 4 ", 4),
    ("MER_THREADS", settings.threads, "1025", "", None),
    ("MER_MAX_ANALYSES", settings.max_analyses, "65", "", settings.MAX_ANALYSES_DEFAULT),
    ("MER_MAX_ANALYSES", settings.max_analyses, "two", "64", 64),
    ("MER_PRECISION", settings.precision, "fp16", "INT8", "int8"),
    ("MER_KERNEL", settings.kernel, "fft", "", "auto"),
])
def test_each_variable_is_checked_where_it_is_parsed(monkeypatch, name, read, bad, good, expected):
    monkeypatch.setenv(name, bad)
    with pytest.raises(ConfigError, match=f"{name}.*unset it"):
        read()
    monkeypatch.setenv(name, good)
    assert read() == expected


def test_folders_follow_the_data_folder_unless_named(monkeypatch, tmp_path):
    monkeypatch.setenv("MER_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("MER_MODELS_DIR", raising=False)
    data = tmp_path / "data"
    assert (settings.batches_dir(), settings.cache_dir(), settings.demo_dir(), settings.emotify_download_dir(),
            settings.machine_dir(), settings.library_folders_file()) == (
        data / "batches", data / "cache", data / "demo", data / "emotify", data / "machine",
        data / "library-folders.json")  # where every earlier mer wrote them
    monkeypatch.setattr(settings, "from_checkout", lambda: False)
    assert settings.models_dir() == tmp_path / "data" / "models" and settings.installed_models_dir()
    monkeypatch.setenv("MER_MODELS_DIR", str(tmp_path / "elsewhere"))
    assert settings.models_dir() == tmp_path / "elsewhere" and not settings.installed_models_dir()
    monkeypatch.delenv("MER_DATA_DIR")
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    assert settings.data_dir() == tmp_path / "xdg" / "mer"
