"""The pretrained SqueezeNet's 1000 ImageNet classes: their names, and the class a person means
by an index ("76") or a name ("tarantula")."""

from __future__ import annotations

from ..data_utils import load_imagenet_classes


def class_names(data_root=None):
    """The class names in index order; "class K" for each when ``imagenet_classes.txt`` is
    missing (the models still work without it)."""
    names = load_imagenet_classes(data_root)
    return names if names is not None else [f"class {i}" for i in range(1000)]


def resolve_class(text, names):
    """A class index from an index ("76") or a name ("tarantula", "stingray", "great white
    shark"): exact match on any of a class's comma-separated names, else a unique substring."""
    text = str(text).strip()
    if text.lstrip("-").isdigit():
        index = int(text)
        if not 0 <= index < len(names):
            raise ValueError(f"class index {index} outside [0, {len(names)})")
        return index
    wanted = text.lower()
    exact = [i for i, n in enumerate(names) if wanted in (s.strip().lower() for s in n.split(","))]
    if len(exact) == 1:
        return exact[0]
    partial = [i for i, n in enumerate(names) if wanted in n.lower()]
    if len(partial) == 1:
        return partial[0]
    found = exact or partial
    if not found:
        raise ValueError(f"no ImageNet class matches {text!r}")
    listing = "; ".join(f"{i}: {names[i]}" for i in found[:8])
    raise ValueError(f"{text!r} matches {len(found)} classes ({listing}); give the index")
