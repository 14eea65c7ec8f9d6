"""The package's layout rule (cs231n/__init__.py states it): the course's paths alone at the top,
the project's machinery one folder per job, imports running one way, and no import circle.

Every import in the package is read from the source (including imports inside functions), so the
graph here is the real one, not the one Python happens to see at start-up.
"""

import ast
import json
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "cs231n"
COURSE_API = Path(__file__).parent / "data" / "course_api.json"

# Bottom to top: a module may import its own layer and the ones below it, never above.
LAYERS = {"core": 0, "data": 1, "pretrained": 2, "course": 3, "job": 4, "report": 5, "cli": 6}
JOBS = ("captioning", "vision", "style", "gan", "vit", "ssl", "diffusion")
# The course's own subpackages (their modules are course modules, like classifiers/).
COURSE_PACKAGES = ("classifiers", "simclr")
# Course paths at the top that the API list does not name (no public names to check there).
OTHER_COURSE_PATHS = {
    "cs231n",
    "cs231n.__main__",
    "cs231n.classifiers",
    "cs231n.classification_solver_vit",
    "cs231n.simclr",
}
# What may be imported inside a function: heavy or optional libraries, and modules that import
# them at their top (so that `cs231n --help` and the PyTorch commands never load TensorFlow).
HEAVY = {"torch", "tensorflow", "matplotlib", "pycocoevalcap", "threadpoolctl", "h5py", "PIL"}


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _modules() -> dict[str, Path]:
    return {_module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


MODULES = _modules()


def _resolve(module: str, path: Path, node: ast.ImportFrom) -> list[str]:
    """The package modules an ``from ... import ...`` names (a name may be a submodule)."""
    if node.level:
        package = module if path.name == "__init__.py" else module.rsplit(".", 1)[0]
        base = package.split(".")[: len(package.split(".")) - (node.level - 1)]
        target = ".".join(base + ([node.module] if node.module else []))
    else:
        target = node.module or ""
    found = []
    for alias in node.names:
        sub = f"{target}.{alias.name}"
        found.append(sub if sub in MODULES else target)
    return found


def _imports(module: str):
    """(imported module, line, inside a function) for every import in ``module``."""
    path = MODULES[module]
    tree = ast.parse(path.read_text())
    local = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            local.update(id(n) for n in ast.walk(node) if n is not node)
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            targets = _resolve(module, path, node)
        elif isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        else:
            continue
        for target in targets:
            yield target, node.lineno, id(node) in local


def _course_modules() -> set[str]:
    return set(json.loads(COURSE_API.read_text())) | OTHER_COURSE_PATHS


def layer(module: str) -> tuple[str, str | None]:
    """(layer name, job) of a package module."""
    if module == "cs231n.__main__":  # `python -m cs231n`: the command line's other entry point
        return "cli", None
    parts = module.split(".")
    folder = MODULES[module].name == "__init__.py" and len(parts) == 2
    if len(parts) == 1 or parts[1] in COURSE_PACKAGES or (len(parts) == 2 and not folder):
        return "course", None
    if parts[1] in JOBS:
        return "job", parts[1]
    return parts[1], None


GRAPH = {
    m: [(t, line, fn) for t, line, fn in _imports(m) if t.split(".")[0] == "cs231n"]
    for m in MODULES
}


def _loads_tensorflow_at_top(module: str) -> bool:
    """Whether the module calls ``import_tensorflow()`` at its top (``tf = import_tensorflow()``,
    the TensorFlow modules' way of importing it with a clear error when it is missing)."""
    tree = ast.parse(MODULES[module].read_text())
    return any(
        isinstance(node, ast.Call) and getattr(node.func, "id", None) == "import_tensorflow"
        for statement in tree.body
        if not isinstance(statement, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef)
        for node in ast.walk(statement)
    )


def _heavy_modules() -> set[str]:
    """Package modules that import a heavy library at their top, directly or through others."""
    heavy = {m for m in MODULES if _loads_tensorflow_at_top(m)}
    changed = True
    while changed:
        changed = False
        for m in MODULES:
            if m in heavy:
                continue
            tops = [t for t, _, fn in _imports(m) if not fn]
            if any(t.split(".")[0] in HEAVY or t in heavy for t in tops):
                heavy.add(m)
                changed = True
    return heavy


def test_every_module_has_a_known_place():
    folders = {p.name for p in PACKAGE.iterdir() if p.is_dir() and (p / "__init__.py").exists()}
    assert folders <= {*LAYERS, *JOBS, *COURSE_PACKAGES} - {"course", "job"}, folders
    for module in MODULES:
        assert layer(module)[0] in LAYERS, module


def test_every_folder_is_a_package_the_build_ships():
    """A folder without ``__init__.py`` imports in a checkout (a namespace package) but is left
    out of a built wheel by ``find_packages``."""
    from setuptools import find_packages

    folders = {
        ".".join(p.relative_to(PACKAGE.parent).parts)
        for p in PACKAGE.rglob("*")
        if p.is_dir() and any(p.glob("*.py"))
    }
    shipped = set(find_packages(str(PACKAGE.parent), include=["cs231n*"]))
    assert folders <= shipped, f"folders a wheel would leave out: {sorted(folders - shipped)}"


def test_flat_files_are_course_modules():
    course = _course_modules()
    flat = {m for m in MODULES if layer(m)[0] == "course"}
    extra = sorted(flat - course)
    assert not extra, (
        f"{extra}: only the course's own module paths live at the top of cs231n/ and in "
        "cs231n/classifiers/; the project's modules go in a folder (see cs231n/__init__.py)"
    )


def test_imports_run_one_way():
    wrong = []
    for module, edges in GRAPH.items():
        (src, job) = layer(module)
        for target, line, _ in edges:
            if target not in MODULES:
                wrong.append(f"{module}:{line} imports {target}, which does not exist")
                continue
            dst, other_job = layer(target)
            if LAYERS[dst] > LAYERS[src]:
                wrong.append(f"{module}:{line} ({src}) imports {target} ({dst}), a layer above")
            elif src == "job" and dst == "job" and job != other_job:
                wrong.append(f"{module}:{line}: job {job} imports job {other_job} ({target})")
    assert not wrong, "\n".join(wrong)


def test_nothing_imports_the_cli():
    wrong = [
        f"{m}:{line} imports {t}"
        for m, edges in GRAPH.items()
        for t, line, _ in edges
        if t.startswith("cs231n.cli") and not (m.startswith("cs231n.cli") or m == "cs231n.__main__")
    ]
    assert not wrong, "\n".join(wrong)


def test_no_import_circle():
    """Tarjan's strongly connected components over every import, function-local ones included."""
    edges = {m: sorted({t for t, _, _ in GRAPH[m] if t in MODULES and t != m}) for m in MODULES}
    index, low, stack, on_stack, circles = {}, {}, [], set(), []

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in edges[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            # A package importing its own submodules is not a circle of code.
            real = [c for c in component if not MODULES[c].name == "__init__.py"]
            if len(real) > 1:
                circles.append(sorted(component))

    for m in MODULES:
        if m not in index:
            visit(m)
    assert not circles, f"import circles: {circles}"


def test_sibling_imports_are_at_the_top():
    """A function-local import of a package module only when that module loads a heavy or
    optional library (PyTorch, TensorFlow, matplotlib...) at its top."""
    heavy = _heavy_modules()
    wrong = [
        f"{m}:{line} imports {t} inside a function"
        for m, edges in GRAPH.items()
        for t, line, fn in edges
        if fn and t in MODULES and t not in heavy
    ]
    assert not wrong, "\n".join(wrong)


@pytest.mark.parametrize(
    "module, expected",
    [
        ("cs231n.rnn_layers", ("course", None)),
        ("cs231n.classifiers.squeezenet", ("course", None)),
        ("cs231n.core.files", ("core", None)),
        ("cs231n.captioning.checkpoint", ("job", "captioning")),
        ("cs231n.cli.caption", ("cli", None)),
    ],
)
def test_layer_of_a_module(module, expected):
    assert layer(module) == expected
