"""The house plan (docs/architecture.md), enforced: imports run one way down the layers, with no cycle, counting
every import (those inside functions and under TYPE_CHECKING included); the subpackages import one another in one
direction only; mer never imports streamlit; pages never import the numerical libraries (numpy and pandas
included) or read model files themselves."""

from __future__ import annotations

import ast
from collections.abc import Iterable
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

#: Each module's layer (docs/architecture.md): a module may import its own layer and those below, never above.
LAYERS: dict[str, int] = {
    # foundation, and the subpackages' __init__ modules (a docstring each, no imports)
    **dict.fromkeys(["mer.version", "mer.errors", "mer.config", "mer.emotions", "mer.choices", "mer.settings",
                     "mer.serial", "mer.run_config", "mer.progress", "mer.threads", "mer.pool",
                     "mer.forkserver_guard", "mer.kernels", "mer.files", "mer.device", "mer.text", "mer.audio.bandconv",
                     "mer.tags", "mer.audio", "mer.data", "mer.training", "mer.jobs", "mer.plots"], 0),
    # inputs, and the pure records of a run
    **dict.fromkeys(["mer.audio.decode", "mer.audio.segments", "mer.audio.features", "mer.data.balance",
                     "mer.data.folds", "mer.data.emotify", "mer.data.fetch", "mer.data.dataset", "mer.data.compact",
                     "mer.data.demo",
                     "mer.data.demo.synth", "mer.data.demo.corpus", "mer.data.examples", "mer.data.corpora",
                     "mer.results",
                     "mer.training.loop", "mer.circumplex", "mer.yardstick", "mer.record", "mer.valence"], 1),
    # networks: the pretrained tagger, mer's heads, the tagger's reading of audio
    **dict.fromkeys(["mer.audio.musicnn", "mer.model", "mer.audio.embeddings", "mer.frontend", "mer.data.fourq",
                     "mer.data.embedded"], 2),
    # storage
    **dict.fromkeys(["mer.registry", "mer.model_files"], 3),
    # procedures
    **dict.fromkeys(["mer.analyze", "mer.training.evaluate", "mer.training.train", "mer.training.study",
                     "mer.training.valence", "mer.training.comparison",
                     "mer.training.ladder", "mer.card", "mer.report", "mer.plots.common", "mer.plots.track",
                     "mer.plots.analyze", "mer.plots.dataset", "mer.plots.model", "mer.plots.library", "mer.svg",
                     "mer.compare", "mer.data.stats", "mer.training.job", "mer.batch.job", "mer.batch",
                     "mer.batch.inputs", "mer.batch.worker", "mer.batch.store", "mer.batch.rows",
                     "mer.batch.layout", "mer.batch.upgrade", "mer.batch.export", "mer.batch.folders",
                     "mer.batch.sample", "mer.batch.frames",
                     "mer.batch.cluster", "mer.batch.engines", "mer.batch.run", "mer.batch.library",
                     "mer.batch.query", "mer.batch.tables", "mer.batch.profiles", "mer.batch.catalogue",
                     "mer.batch.navigate", "mer.batch.similar", "mer.batch.journey",
                     "mer.batch.playlist", "mer.batch.view", "mer.batch.synthetic"], 4),
    # interfaces
    **dict.fromkeys(["mer", "mer.cli", "mer.cli.common", "mer.cli.analyze", "mer.cli.data", "mer.cli.model",
                     "mer.cli.batch", "mer.cli.settings", "mer.__main__"], 5),
}

#: The subpackages, lowest first (docs/architecture.md): a subpackage's modules may import those of the subpackages
#: before it, never after, directly or through the top-level modules of ``mer`` (``mer.frontend``, ``mer.jobs``…).
PACKAGE_ORDER: tuple[str, ...] = ("mer.audio", "mer.data", "mer.training", "mer.batch", "mer.plots", "mer.cli")


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
    assert set(graph) == set(LAYERS), "place new modules in LAYERS (docs/architecture.md says where)"


def test_imports_never_point_up_a_layer(graph):
    upward = sorted(f"{a} ({LAYERS[a]}) imports {b} ({LAYERS[b]})" for a, targets in graph.items()
                    for b in targets if LAYERS[b] > LAYERS[a])
    assert not upward, "\n".join(upward)


def first_cycle(graph: dict[str, Iterable[str]]) -> list[str]:
    """The first cycle a depth-first walk meets, from its first node back to it ([] where there is none)."""
    state: dict[str, int] = {}  # 1 on the current path, 2 done

    def visit(node: str, path: list[str]) -> list[str]:
        state[node] = 1
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                return path[path.index(nxt):] + [nxt]
            if nxt not in state and (cycle := visit(nxt, path + [nxt])):
                return cycle
        state[node] = 2
        return []

    for start in sorted(graph):
        if start not in state and (cycle := visit(start, [start])):
            return cycle
    return []


def test_there_is_no_import_cycle(graph):
    assert not (cycle := first_cycle(graph)), "import cycle: " + " → ".join(cycle)


def documented_layers(text: str, root: Path = ROOT) -> dict[str, int | None]:
    """The modules the tree in ``text`` (docs/architecture.md) names, each with the layer written beside it or
    beside its subpackage (None where neither says)."""
    tree = text.split("```")[1]
    found: dict[str, int | None] = {}
    folders: list[tuple[str, int | None]] = []  # the subpackage at each depth, with its layer
    for line in tree.splitlines():
        at = max(line.find("├── "), line.find("└── "))
        if at < 0:
            continue
        depth, entry = at // 4, line[at + 4:].split("  ")[0]
        rest = line[at + 4 + len(entry):].split()
        layer = int(rest[0]) if rest and rest[0].isdigit() else None
        del folders[depth:]
        inherited = next((n for _, n in reversed(folders) if n is not None), None)
        above = [f for f, _ in folders]
        for name in entry.split(", "):
            parts = [*above, name.removesuffix("/").removesuffix(".py")]
            if name.endswith("/"):
                folders.append((parts[-1], layer))  # the lines below this one lie inside it
                if not (root / "mer" / Path(*parts) / "__init__.py").is_file():
                    continue  # a folder of data (resources/)
            found[".".join(["mer", *parts])] = layer if layer is not None else inherited
    return found


def test_the_architecture_doc_names_every_module_at_its_layer():
    documented = documented_layers((ROOT / "docs" / "architecture.md").read_text())
    assert set(documented) == set(_modules()) - {"mer"}, "docs/architecture.md's tree names each module once"
    wrong = {name: (layer, LAYERS[name]) for name, layer in documented.items()
             if layer is not None and layer != LAYERS[name]}
    assert not wrong, f"(doc, LAYERS): {wrong}"


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


def _package(module: str, packages: set[str]) -> str | None:
    """The subpackage of mer that ``module`` lies in (its first two name parts), or None for mer's own modules."""
    top = ".".join(module.split(".")[:2])
    return top if top in packages else None


def package_graph(graph: dict[str, set[str]], packages: set[str]) -> dict[str, dict[str, set[str]]]:
    """Which subpackages each subpackage imports: ``{a: {b: {"a.x imports b.y", ...}}}``.

    An import counts when a module of ``a`` imports a module of ``b``, directly or through a chain of mer's top-level
    modules (``mer.audio.x`` → ``mer.frontend`` → ``mer.data.y`` makes audio import data).
    """
    edges: dict[str, dict[str, set[str]]] = {p: {} for p in packages}
    for name, targets in graph.items():
        source = _package(name, packages)
        if source is None:
            continue
        seen, todo = set(), list(targets)
        while todo:
            target = todo.pop()
            if target in seen:
                continue
            seen.add(target)
            inside = _package(target, packages)
            if inside is None:
                todo.extend(graph[target])
            elif inside != source:
                edges[source].setdefault(inside, set()).add(f"{name} imports {target}")
    return edges


@pytest.fixture(scope="module")
def packages(graph) -> dict[str, dict[str, set[str]]]:
    names = {_module_name(p.parent / "__init__.py") for p in (ROOT / "mer").glob("*/__init__.py")}
    return package_graph(graph, names)


def test_every_subpackage_has_a_place_in_the_order(packages):
    assert set(packages) <= set(PACKAGE_ORDER), "place new subpackages in PACKAGE_ORDER (docs/architecture.md)"


def test_subpackages_import_only_those_before_them(packages):
    rank = {name: i for i, name in enumerate(PACKAGE_ORDER)}
    upward = sorted(f"{a} imports {b}, which comes after it: {', '.join(sorted(why)[:3])}"
                    for a, targets in packages.items() for b, why in targets.items() if rank[b] > rank[a])
    assert not upward, "\n".join(upward)


def test_there_is_no_cycle_between_subpackages(packages):
    # implied by the order, but said on its own: the first cycle found, with the imports that make it
    cycle = first_cycle(packages)
    why = [sorted(packages[a][b])[0] for a, b in zip(cycle, cycle[1:])]
    assert not cycle, "subpackage cycle: " + " → ".join(cycle) + " (" + "; ".join(why) + ")"


def test_the_cycle_finder_finds_the_cycle_and_only_a_cycle():
    assert first_cycle({"a": {"b"}, "b": {"c"}, "c": set(), "d": {"a", "c"}}) == []
    assert first_cycle({"a": {"b"}, "b": {"c"}, "c": {"b"}, "d": {"a"}}) == ["b", "c", "b"]


def test_the_package_checker_follows_imports_through_top_level_modules():
    graph = {"mer": set(), "mer.hub": {"mer.low.b"}, "mer.low": set(), "mer.low.a": {"mer.hub"}, "mer.low.b": set(),
             "mer.high": set(), "mer.high.c": {"mer.low.a", "mer.high"}}
    found = package_graph(graph, {"mer.low", "mer.high"})
    assert found == {"mer.low": {}, "mer.high": {"mer.low": {"mer.high.c imports mer.low.a"}}}
    graph["mer.hub"] = {"mer.low.b", "mer.high.c"}  # low.a reaches high through the top-level hub
    found = package_graph(graph, {"mer.low", "mer.high"})
    assert found["mer.low"] == {"mer.high": {"mer.low.a imports mer.high.c"}}


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
