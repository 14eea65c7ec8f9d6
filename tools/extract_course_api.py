"""Write the course's public names per module (tests/data/course_api.json).

Usage: python tools/extract_course_api.py EDITION=ZIP[@MODULE,...] [EDITION=ZIP[@...] ...]

Each ZIP is one edition's assignment-3 starter archive, as published on
cs231n.github.io (assignments/2018/spring1718_assignment3_v2.zip,
assignments/2019/spring1819_assignment3.zip, assignments/2020/assignment3_jupyter.zip).
Only names and parameter lists are read (with ``ast``; nothing is imported or run). ``@MODULE,...``
keeps only those modules of an edition (the later editions' new modules, one capability at a
time). Files that do not parse (a student's half-written TODO) are reported and skipped.

The list in the repository was written with:
    python tools/extract_course_api.py 2018=...2018/spring1718_assignment3_v2.zip \
        2019=...2019/spring1819_assignment3.zip 2020=...2020/assignment3_jupyter.zip \
        2021=...2021/assignment3_colab.zip@MODULES 2022=...@MODULES 2023=...@MODULES 2024=...@MODULES
    with MODULES = cs231n.transformer_layers,cs231n.classifiers.transformer,
    cs231n.captioning_solver_transformer (issue 13).
"""

import ast
import json
import sys
import zipfile
from pathlib import Path

OUT = Path(__file__).resolve().parent.parent / "tests" / "data" / "course_api.json"
SKIP = {"__init__", "setup"}
# Modules whose course versions are TensorFlow (the package's TensorFlow half, issue 12).
TENSORFLOW = {
    "cs231n.classifiers.squeezenet",
    "cs231n.gan_tf",
    "cs231n.net_visualization_tensorflow",
    "cs231n.style_transfer_tensorflow",
}


def _parameters(node: ast.FunctionDef) -> list[str]:
    a = node.args
    names = [p.arg for p in a.posonlyargs + a.args]
    if a.vararg:
        names.append("*" + a.vararg.arg)
    names += [p.arg for p in a.kwonlyargs]
    if a.kwarg:
        names.append("**" + a.kwarg.arg)
    return names


def _literal_defaults(node: ast.FunctionDef) -> dict:
    """Defaults that are plain literals (numbers, strings, None, booleans, tuples of them)."""
    a = node.args
    positional = a.posonlyargs + a.args
    pairs = list(zip(positional[len(positional) - len(a.defaults) :], a.defaults, strict=True))
    pairs += [(p, d) for p, d in zip(a.kwonlyargs, a.kw_defaults, strict=True) if d is not None]
    defaults = {}
    for param, default in pairs:
        try:
            defaults[param.arg] = ast.literal_eval(default)
        except ValueError:
            continue  # an expression (np.float32, NOISE_DIM): only the name is checked
    return defaults


def _public(tree: ast.Module):
    for node in tree.body:
        if isinstance(node, ast.FunctionDef) and not node.name.startswith("_"):
            yield (
                node.name,
                {
                    "kind": "function",
                    "params": _parameters(node),
                    "defaults": _literal_defaults(node),
                },
            )
        elif isinstance(node, ast.ClassDef) and not node.name.startswith("_"):
            init = next(
                (n for n in node.body if isinstance(n, ast.FunctionDef) and n.name == "__init__"),
                None,
            )
            params = _parameters(init)[1:] if init else []
            defaults = _literal_defaults(init) if init else {}
            yield node.name, {"kind": "class", "params": params, "defaults": defaults}
        elif isinstance(node, ast.Assign):
            for target in node.targets:
                if isinstance(target, ast.Name) and not target.id.startswith("_"):
                    yield target.id, {"kind": "value"}


def main(argv: list[str]) -> None:
    api: dict = {}
    for arg in argv:
        edition, archive = arg.split("=", 1)
        archive, _, only = archive.partition("@")
        keep = set(only.split(",")) if only else None
        with zipfile.ZipFile(archive) as zf:
            for member in sorted(zf.namelist()):
                parts = Path(member).parts
                if "__MACOSX" in parts or not member.endswith(".py") or "cs231n" not in parts:
                    continue
                rel = parts[parts.index("cs231n") :]
                if Path(rel[-1]).stem in SKIP:
                    continue
                module = ".".join(rel[:-1] + (Path(rel[-1]).stem,))
                if keep is not None and module not in keep:
                    continue
                try:
                    tree = ast.parse(zf.read(member).decode("utf-8", "replace"))
                except SyntaxError as e:
                    print(f"skipped {edition} {member}: does not parse ({e.msg})")
                    continue
                entries = api.setdefault(module, {})
                for name, spec in _public(tree):
                    entry = entries.setdefault(name, {**spec, "editions": []})
                    # A later edition may change the parameters: the package follows the latest.
                    entry.update({k: v for k, v in spec.items() if k != "kind"})
                    entry["editions"].append(edition)
    lines = []
    for module in sorted(api):
        requires = json.dumps("tensorflow" if module in TENSORFLOW else None)
        names = ",\n".join(
            f"   {json.dumps(name)}: {json.dumps(api[module][name], sort_keys=True)}"
            for name in sorted(api[module])
        )
        lines.append(
            f' {json.dumps(module)}: {{\n  "requires": {requires},\n  "names": {{\n{names}\n  }}\n }}'
        )
    OUT.write_text("{\n" + ",\n".join(lines) + "\n}\n")
    print(f"wrote {OUT}: {sum(len(v) for v in api.values())} names in {len(api)} modules")


if __name__ == "__main__":
    main(sys.argv[1:])
