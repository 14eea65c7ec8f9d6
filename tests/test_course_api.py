"""Every public name of the course's assignment-3 modules (2018-2020 editions, and the 2021-2024
editions' Transformer modules) exists here.

The names, parameter lists and literal defaults come from tests/data/course_api.json, written by
tools/extract_course_api.py from the course's own starter archives. A notebook calls these
by position and by keyword, so the parameters must match in name and order; the package may
add parameters only after the course's.
"""

import importlib
import inspect
import json
from pathlib import Path

import pytest

API = json.loads((Path(__file__).parent / "data" / "course_api.json").read_text())
CASES = [
    (module, spec["requires"], name, entry)
    for module, spec in API.items()
    for name, entry in spec["names"].items()
]


def _parameter_names(obj) -> list[str]:
    prefix = {inspect.Parameter.VAR_POSITIONAL: "*", inspect.Parameter.VAR_KEYWORD: "**"}
    return [prefix.get(p.kind, "") + p.name for p in inspect.signature(obj).parameters.values()]


def test_the_list_covers_the_course_modules():
    assert len(API) >= 19
    assert "adam" in API["cs231n.optim"]["names"]
    assert "features_from_img" in API["cs231n.style_transfer_pytorch"]["names"]


@pytest.mark.parametrize(
    "module, requires, name, entry", CASES, ids=[f"{m}.{n}" for m, _, n, _ in CASES]
)
def test_course_name(module, requires, name, entry):
    if requires:
        pytest.importorskip(requires, reason=f"{module} needs the optional {requires} extra")
    mod = importlib.import_module(module)
    assert hasattr(mod, name), f"{module} has no {name} (course editions {entry['editions']})"
    obj = getattr(mod, name)
    if entry["kind"] == "value":
        return
    assert callable(obj), f"{module}.{name} is not callable"
    # A name whose signature changed between editions lists one form per signature; the
    # package's object says which class each edition builds (``course_forms``).
    for form in entry.get("forms", [entry]):
        target = getattr(obj, "course_forms", {}).get(int(form["editions"][0]), obj)
        _check_signature(f"{module}.{name} ({', '.join(form['editions'])})", target, form)


def _check_signature(where, obj, entry):
    want = entry["params"]
    got = _parameter_names(obj)
    if want and want[-1] == "**kwargs":
        # The course forwards options through **kwargs; named options in their place are fine.
        want = want[:-1]
        got = [p for p in got if p != "**kwargs"]
    assert got[: len(want)] == want, f"{where}: course {want}, package {got}"
    params = inspect.signature(obj).parameters
    for param, default in entry.get("defaults", {}).items():
        ours = params[param].default
        assert ours == (tuple(default) if isinstance(default, list) else default), (
            f"{where}: default {param}={ours!r}, the course's is {default!r}"
        )
    required_extra = [
        p
        for p in got[len(want) :]
        if not p.startswith("*") and params[p].default is inspect.Parameter.empty
    ]
    assert not required_extra, f"{where}: extra parameters without defaults {required_extra}"
