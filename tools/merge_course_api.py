"""Merge entries into tests/data/course_api.json, in the layout tools/extract_course_api.py
writes: ``python tools/merge_course_api.py NEW.json [...]``. A module in NEW replaces that
module's names one by one (a name's editions are the union of both)."""

import json
import sys
from pathlib import Path

OUT = Path(__file__).resolve().parents[1] / "tests" / "data" / "course_api.json"


def write(api: dict) -> None:
    lines = []
    for module in sorted(api):
        names = ",\n".join(
            f"   {json.dumps(name)}: {json.dumps(entry, sort_keys=True)}"
            for name, entry in sorted(api[module]["names"].items())
        )
        lines.append(
            f' {json.dumps(module)}: {{\n  "requires": {json.dumps(api[module]["requires"])},\n'
            f'  "names": {{\n{names}\n  }}\n }}'
        )
    OUT.write_text("{\n" + ",\n".join(lines) + "\n}\n")


def main(paths):
    api = json.loads(OUT.read_text())
    for path in paths:
        for module, spec in json.loads(Path(path).read_text()).items():
            if not module.startswith("cs231n"):
                continue  # notes and the like
            target = api.setdefault(module, {"requires": spec.get("requires"), "names": {}})
            for name, entry in spec["names"].items():
                old = target["names"].get(name, {})
                editions = sorted({*old.get("editions", []), *entry["editions"]})
                target["names"][name] = {**entry, "editions": editions}
    write(api)
    print(f"wrote {OUT}: {sum(len(m['names']) for m in api.values())} names in {len(api)} modules")


if __name__ == "__main__":
    main(sys.argv[1:])
