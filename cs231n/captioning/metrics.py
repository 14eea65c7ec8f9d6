"""COCO caption metrics (BLEU-1..4, METEOR, ROUGE-L, CIDEr) with the standard evaluation code,
``pycocoevalcap``.

Its tokenizer (Stanford PTBTokenizer) and METEOR run on Java. Without Java, captions are
tokenised in Python the same way for plain lower-case text (punctuation removed) and METEOR is
left out, with a note saying so; BLEU, ROUGE-L and CIDEr are pure Python.
"""

from __future__ import annotations

import contextlib
import io
import os
import re
import shutil
import sys

PUNCTUATION = re.compile(r"[^\w\s']|_")


@contextlib.contextmanager
def _quiet_stderr_fd():
    """Silence the Java tokenizer's progress line, written straight to file descriptor 2."""
    try:
        fd = sys.stderr.fileno()
    except (AttributeError, OSError, ValueError):  # no real stderr (e.g. captured): nothing to do
        yield
        return
    sys.stderr.flush()
    saved = os.dup(fd)
    with open(os.devnull, "w") as devnull:
        os.dup2(devnull.fileno(), fd)
        try:
            yield
        finally:
            os.dup2(saved, fd)
            os.close(saved)


# Below this many images CIDEr's corpus statistics are too thin to compare (a note says so).
CIDER_MIN_IMAGES = 10


def java_available() -> bool:
    return shutil.which("java") is not None


def _simple_tokenize(captions):
    """PTBTokenizer's output for plain captions: lower case, punctuation dropped."""
    return {
        key: [" ".join(PUNCTUATION.sub(" ", c.lower()).split()) for c in values]
        for key, values in captions.items()
    }


# Tokens that are not words: never counted as matches (a caption of <UNK> scored BLEU-1 0.40).
SPECIAL_TOKENS = ("<NULL>", "<START>", "<END>", "<UNK>")


def _without_special(text: str) -> str:
    return " ".join(w for w in text.split() if w not in SPECIAL_TOKENS)


def coco_metrics(candidates, references, use_java=None):
    """Score candidate captions against reference captions.

    candidates: {image_id: caption}; references: {image_id: [caption, ...]} (same ids).
    Returns ``(scores, notes)``: scores maps Bleu_1..Bleu_4, METEOR, ROUGE_L, CIDEr to floats
    (METEOR only with Java); notes lists what was left out and why. The special tokens
    (:data:`SPECIAL_TOKENS`, ``<UNK>`` included) are dropped from both sides before scoring.
    """
    try:
        from pycocoevalcap.bleu.bleu import Bleu
        from pycocoevalcap.cider.cider import Cider
        from pycocoevalcap.rouge.rouge import Rouge
    except ImportError:
        raise ImportError(
            "the COCO caption metrics need pycocoevalcap: pip install pycocoevalcap "
            "(or install this project with its 'eval' extra)"
        ) from None
    for key, refs in references.items():
        if isinstance(refs, str) or not all(isinstance(r, str) for r in refs):
            raise TypeError(f"references[{key!r}] must be a list of caption strings, got {refs!r}")
    for key, text in candidates.items():
        if not isinstance(text, str):
            raise TypeError(f"candidates[{key!r}] must be a caption string, got {text!r}")
    if set(candidates) != set(references):
        raise ValueError("candidates and references must have the same image ids")
    if not candidates:
        raise ValueError("no captions to score")
    notes = []
    if use_java is None:
        use_java = java_available()
        if not use_java:
            notes.append("Java not found: Python tokenizer used and METEOR skipped")
    elif use_java and not java_available():
        raise RuntimeError("coco_metrics: use_java=True but no `java` is on PATH")
    elif not use_java:
        notes.append("use_java=False: Python tokenizer used and METEOR skipped")
    if len(candidates) < CIDER_MIN_IMAGES:
        notes.append(
            f"CIDEr from {len(candidates)} image(s): its IDF weights come from the references "
            "of the images scored, so it is 0 for one image and not comparable for fewer than "
            f"{CIDER_MIN_IMAGES}"
        )
    gts = {k: [_without_special(c) for c in v] for k, v in references.items()}
    res = {k: [_without_special(v)] for k, v in candidates.items()}
    texts = [*candidates.values(), *(c for v in references.values() for c in v)]
    dropped = sorted({w for text in texts for w in text.split()} & set(SPECIAL_TOKENS))
    if dropped:
        notes.append(
            f"{', '.join(dropped)} dropped from candidates and references before scoring (as "
            "the course's BLEU_score does): an unknown word is never a correct one"
        )
    if use_java:
        from pycocoevalcap.tokenizer.ptbtokenizer import PTBTokenizer

        tokenizer = PTBTokenizer()
        with contextlib.redirect_stdout(io.StringIO()), _quiet_stderr_fd():  # progress lines
            gts = tokenizer.tokenize({k: [{"caption": c} for c in v] for k, v in gts.items()})
            res = tokenizer.tokenize({k: [{"caption": c} for c in v] for k, v in res.items()})
    else:
        gts, res = _simple_tokenize(gts), _simple_tokenize(res)

    scores = {}
    with contextlib.redirect_stdout(io.StringIO()):  # the scorers print progress
        bleu, _ = Bleu(4).compute_score(gts, res)
        for n, value in enumerate(bleu, start=1):
            scores[f"Bleu_{n}"] = float(value)
        if use_java:
            from pycocoevalcap.meteor.meteor import Meteor

            meteor = Meteor()
            scores["METEOR"] = float(meteor.compute_score(gts, res)[0])
            with contextlib.suppress(Exception):
                meteor.close()
        scores["ROUGE_L"] = float(Rouge().compute_score(gts, res)[0])
        scores["CIDEr"] = float(Cider().compute_score(gts, res)[0])
    return scores, notes
