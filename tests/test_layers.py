"""The house plan, enforced: imports run one way down the layers, with no cycle, counting every import (those
inside functions and under TYPE_CHECKING included); mer never imports streamlit; pages never import the
numerical libraries (numpy and pandas included) or read model files themselves."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

#: Each module's layer (shared/DESIGN.md): a module may import its own layer and those below, never above.
LAYERS: dict[str, int] = {
    # foundation, and the subpackages' __init__ modules (a docstring each, no imports)
    **dict.fromkeys(["mer.version", "mer.errors", "mer.config", "mer.emotions", "mer.choices", "mer.settings",
                     "mer.serial", "mer.run_config", "mer.progress", "mer.threads", "mer.pool",
                     "mer.forkserver_guard", "mer.kernels", "mer.files", "mer.device", "mer.text", "mer.audio.bandconv",
                     "mer.tags", "mer.audio", "mer.data", "mer.training", "mer.plots"], 0),
    # inputs, and the pure records of a run
    **dict.fromkeys(["mer.audio.decode", "mer.audio.segments", "mer.audio.features", "mer.data.balance",
                     "mer.data.folds", "mer.data.emotify", "mer.data.dataset", "mer.data.compact", "mer.data.demo",
                     "mer.data.demo.synth", "mer.data.demo.corpus", "mer.data.examples", "mer.data.corpora",
                     "mer.results",
                     "mer.training.loop", "mer.circumplex", "mer.yardstick", "mer.record", "mer.valence"], 1),
    # networks: the pretrained tagger, mer's heads, the tagger's reading of audio
    **dict.fromkeys(["mer.audio.musicnn", "mer.model", "mer.audio.embeddings", "mer.frontend", "mer.data.fourq"], 2),
    # storage
    "mer.registry": 3,
    # procedures
    **dict.fromkeys(["mer.analyze", "mer.training.evaluate", "mer.training.train", "mer.training.study",
                     "mer.training.valence", "mer.training.comparison",
                     "mer.training.ladder", "mer.card", "mer.report", "mer.plots.common", "mer.plots.track",
                     "mer.plots.analyze", "mer.plots.dataset", "mer.plots.model", "mer.plots.library", "mer.svg",
                     "mer.compare", "mer.data.stats",
                     "mer.jobs", "mer.batch", "mer.batch.inputs", "mer.batch.worker", "mer.batch.store",
                     "mer.batch.cluster", "mer.batch.engines", "mer.batch.run", "mer.batch.library",
                     "mer.batch.query", "mer.batch.navigate", "mer.batch.view", "mer.batch.synthetic"], 4),
    # interfaces
    **dict.fromkeys(["mer", "mer.cli", "mer.__main__"], 5),
}


def _module_name(path: Path, root: Path = ROOT) -> str:
    parts = path.relative_to(root).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _modules() -> dict[str, Path]:
    return {_module_name(p): p for p in (ROOT / "mer").rglob("*.py")}


def _imports(name: str, path: Path, known: set[str]) -> set[str]:
    """Every mer module ``name`` imports, wherever the import statement sits."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module != "__future__":
            base = package.split(".")[:len(package.split(".")) - (node.level - 1)] if node.level else []
            target = ".".join(base + ([node.module] if node.module else []))
            found.update(f"{target}.{a.name}" if f"{target}.{a.name}" in known else target for a in node.names)
    return {m for m in found if m in known and m != name}


@pytest.fixture(scope="module")
def graph() -> dict[str, set[str]]:
    modules = _modules()
    return {name: _imports(name, path, set(modules)) for name, path in modules.items()}


def test_every_module_has_a_layer(graph):
    assert set(graph) == set(LAYERS), "place new modules in LAYERS (shared/DESIGN.md says where)"


def test_imports_never_point_up_a_layer(graph):
    upward = sorted(f"{a} ({LAYERS[a]}) imports {b} ({LAYERS[b]})" for a, targets in graph.items()
                    for b in targets if LAYERS[b] > LAYERS[a])
    assert not upward, "\n".join(upward)


def test_there_is_no_import_cycle(graph):
    state: dict[str, int] = {}  # 1 on the current path, 2 done

    def visit(node: str, path: list[str]) -> None:
        state[node] = 1
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                raise AssertionError("import cycle: " + " → ".join(path[path.index(nxt):] + [nxt]))
            if nxt not in state:
                visit(nxt, path + [nxt])
        state[node] = 2

    for start in sorted(graph):
        if start not in state:
            visit(start, [start])


def test_the_checker_sees_imports_inside_functions_and_subpackages(tmp_path):
    (tmp_path / "mer" / "sub").mkdir(parents=True)
    for init in ("mer/__init__.py", "mer/sub/__init__.py"):
        (tmp_path / init).write_text("")
    (tmp_path / "mer" / "a.py").write_text("from .b import x\n")
    (tmp_path / "mer" / "b.py").write_text("def f():\n    from . import a\n    from .sub import c\n    return a, c\n")
    (tmp_path / "mer" / "sub" / "c.py").write_text("if False:\n    from ..a import y\n")
    modules = {_module_name(p, tmp_path): p for p in (tmp_path / "mer").rglob("*.py")}
    found = {name: _imports(name, path, set(modules)) for name, path in modules.items()}
    assert found == {"mer": set(), "mer.sub": set(), "mer.a": {"mer.b"}, "mer.b": {"mer.a", "mer.sub.c"},
                     "mer.sub.c": {"mer.a"}}


def _top_imports(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(a.name.split(".")[0] for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names.add(node.module.split(".")[0])
    return names


def test_mer_never_imports_streamlit():
    offenders = [str(p.relative_to(ROOT)) for p in (ROOT / "mer").rglob("*.py") if "streamlit" in _top_imports(p)]
    assert not offenders


def test_pages_lay_out_and_never_compute():
    # arrays and tables are mer's: a page that wants a number asks mer for it (mer.batch.view, mer.plots ...)
    heavy = {"torch", "librosa", "soundfile", "imblearn", "sklearn", "pyarrow", "numpy", "pandas", "scipy"}
    pages = [ROOT / "app.py", ROOT / "ui.py", *sorted((ROOT / "pages").glob("*.py"))]
    offenders = {str(p.relative_to(ROOT)): sorted(_top_imports(p) & heavy) for p in pages if _top_imports(p) & heavy}
    assert not offenders


def test_the_app_uses_streamlits_public_api_only():
    # `import streamlit as st` and the documented testing API; nothing from streamlit's internals (runtime,
    # pages manager, script runner), and no private attribute of anything
    scripts = [ROOT / "app.py", ROOT / "ui.py", *sorted((ROOT / "pages").glob("*.py"))]
    found = {}
    for path in scripts:
        for node in ast.walk(ast.parse(path.read_text())):
            names = ([a.name for a in node.names] if isinstance(node, ast.Import) else
                     [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            private = [n for n in names if n.startswith("streamlit.")]
            if isinstance(node, ast.Attribute) and node.attr.startswith("_") and not node.attr.startswith("__"):
                private.append(node.attr)
            if private:
                found.setdefault(str(path.relative_to(ROOT)), []).extend(private)
    assert not found


def test_the_wheel_lists_every_package():
    # pyproject.toml names the packages (the bundled models are mapped in): a new subpackage must be added there
    import tomllib

    listed = set(tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"])
    on_disk = {_module_name(p.parent / "__init__.py") for p in (ROOT / "mer").rglob("__init__.py")}
    assert on_disk | {"mer.bundled_models"} == listed
