"""COCO caption metrics: exact cases, values by hand, the Java and pure-Python paths."""

from __future__ import annotations

import os
import shutil
import sys
from collections import Counter

import pytest

from cs231n.captioning import metrics as captioning_metrics
from cs231n.captioning.metrics import coco_metrics

pytest.importorskip("pycocoevalcap")

REFERENCES = {
    "img1": [
        "a red circle to the left of a blue square",
        "there is a big red disk to the left of a blue box",
        "a blue square to the right of a red circle",
    ],
    "img2": ["a small green triangle", "one little green triangle", "an image of a green triangle"],
    "img3": ["a yellow square above a purple circle", "a purple circle below a yellow box"],
    "img4": ["a dog runs on the grass", "a brown dog running across a field"],
}
# Plain lower-case text without punctuation: both tokenizers leave it as it is.
CANDIDATES = {
    "img1": "a red circle left of a square",
    "img2": "a green triangle",
    "img3": "a purple circle above a yellow square",
    "img4": "a dog on the grass",
}
WITHOUT_METEOR = {"Bleu_1", "Bleu_2", "Bleu_3", "Bleu_4", "ROUGE_L", "CIDEr"}


@pytest.fixture(scope="module")
def java_scores():
    """One Java run (PTBTokenizer + METEOR take seconds to start), shared by the tests."""
    if shutil.which("java") is None:
        pytest.skip("Java is not installed: the PTBTokenizer/METEOR path cannot run")
    stderr_before = os.fstat(2)
    scores, notes = coco_metrics(CANDIDATES, REFERENCES, use_java=True)
    after = os.fstat(2)
    # file descriptor 2 is restored after the tokenizer's output was silenced
    assert (after.st_dev, after.st_ino) == (stderr_before.st_dev, stderr_before.st_ino)
    return scores, notes


def python_metrics(candidates, references):
    return coco_metrics(candidates, references, use_java=False)


def test_identical_captions_score_perfectly():
    candidates = {k: v[0] for k, v in REFERENCES.items()}
    scores, _ = python_metrics(candidates, REFERENCES)
    for n in range(1, 5):
        assert scores[f"Bleu_{n}"] == pytest.approx(1.0, abs=1e-6)
    assert scores["ROUGE_L"] == pytest.approx(1.0)
    assert scores["CIDEr"] > 3.0
    partial, _ = python_metrics(CANDIDATES, REFERENCES)
    assert partial["CIDEr"] < scores["CIDEr"]
    assert partial["Bleu_4"] < scores["Bleu_4"]


def test_disjoint_words_score_zero():
    candidates = {
        "img1": "dogs chase cats",
        "img2": "seven purple elephants dance",
        "img3": "rain falls",
        "img4": "cars honk loudly downtown",
    }
    scores, _ = python_metrics(candidates, REFERENCES)
    assert scores["Bleu_1"] == pytest.approx(0.0, abs=1e-6)
    assert scores["CIDEr"] == pytest.approx(0.0, abs=1e-9)
    assert scores["ROUGE_L"] == pytest.approx(0.0, abs=1e-9)


def clipped_unigram_counts(candidate, references):
    cand = Counter(candidate.split())
    most = Counter()
    for ref in references:
        for word, count in Counter(ref.split()).items():
            most[word] = max(most[word], count)
    return sum(min(c, most[w]) for w, c in cand.items()), sum(cand.values())


def test_bleu1_matches_a_hand_computation():
    # Candidates are at least as long as their closest reference: no brevity penalty.
    candidates = {1: "a cat sits on the red mat", 2: "the the the the", 3: "a a a dog dog"}
    references = {1: ["the cat is on a mat"], 2: ["the cat"], 3: ["a dog", "a a cat sits here"]}
    # 1: a, cat, on, the, mat -> 5/7; 2: "the" clipped to 1 -> 1/4;
    # 3: "a" clipped to 2 (second reference), "dog" to 1 -> 3/5. Corpus BLEU-1: 9/16.
    counts = [clipped_unigram_counts(candidates[k], references[k]) for k in candidates]
    assert counts == [(5, 7), (1, 4), (3, 5)]
    scores, _ = python_metrics(candidates, references)
    assert scores["Bleu_1"] == pytest.approx(9 / 16, abs=1e-8)
    single, _ = python_metrics({1: candidates[1]}, {1: references[1]})
    assert single["Bleu_1"] == pytest.approx(5 / 7, abs=1e-8)


def test_python_path_leaves_out_meteor_with_a_note():
    scores, notes = python_metrics(CANDIDATES, REFERENCES)
    assert set(scores) == WITHOUT_METEOR
    assert all(0.0 <= v <= 1.0 + 1e-9 for k, v in scores.items() if k != "CIDEr")
    # asked for the Python path: the note says so (not "Java not found"); 4 images: a CIDEr note
    assert notes[0] == "use_java=False: Python tokenizer used and METEOR skipped"
    assert len(notes) == 2 and "CIDEr from 4 image(s)" in notes[1]


def test_cider_note_for_few_images_and_zero_for_one():
    one = {"img1": CANDIDATES["img1"]}
    scores, notes = python_metrics(one, {"img1": REFERENCES["img1"]})
    assert scores["CIDEr"] == 0.0  # every n-gram's IDF is log(1 / 1)
    assert any("CIDEr from 1 image(s)" in n and "0 for one image" in n for n in notes)
    many = {f"i{k}": "a red circle" for k in range(captioning_metrics.CIDER_MIN_IMAGES)}
    refs = {k: ["a red circle", "a blue square"] for k in many}
    _, notes = python_metrics(many, refs)
    assert not any("CIDEr" in n for n in notes)


def test_use_java_true_without_java_is_an_error(monkeypatch):
    monkeypatch.setattr(captioning_metrics.shutil, "which", lambda name: None)
    with pytest.raises(RuntimeError, match="use_java=True but no `java` is on PATH"):
        coco_metrics(CANDIDATES, REFERENCES, use_java=True)


def test_without_java_the_default_is_the_python_path(monkeypatch):
    monkeypatch.setattr(captioning_metrics.shutil, "which", lambda name: None)
    assert not captioning_metrics.java_available()
    scores, notes = coco_metrics(CANDIDATES, REFERENCES)
    assert "METEOR" not in scores and notes[0].startswith("Java not found")
    assert scores == python_metrics(CANDIDATES, REFERENCES)[0]


def test_scorers_print_nothing(capsys):
    python_metrics(CANDIDATES, REFERENCES)
    assert capsys.readouterr().out == ""


def test_java_path_has_meteor_in_unit_range(java_scores):
    scores, notes = java_scores
    assert len(notes) == 1 and notes[0].startswith("CIDEr from 4 image(s)")
    assert set(scores) == WITHOUT_METEOR | {"METEOR"}
    assert 0.0 < scores["METEOR"] < 1.0


def test_java_and_python_paths_agree_on_plain_captions(java_scores):
    java, _ = java_scores
    python, _ = python_metrics(CANDIDATES, REFERENCES)
    for key in sorted(WITHOUT_METEOR):
        assert python[key] == pytest.approx(java[key], rel=1e-9, abs=1e-12), key


def test_python_path_normalises_punctuation_and_case():
    scores, _ = python_metrics({1: "A cat."}, {1: ["a cat"]})
    assert scores["Bleu_1"] == pytest.approx(1.0, abs=1e-6)
    assert scores["Bleu_2"] == pytest.approx(1.0, abs=1e-6)
    assert scores["ROUGE_L"] == pytest.approx(1.0)

    noisy_candidates = {
        "img1": "A Red circle, left of a SQUARE!",
        "img2": "a green triangle.",
        "img3": "A purple circle (above) a yellow square",
        "img4": "a dog... on the grass?",
    }
    noisy_references = {k: [r.capitalize() + "." for r in refs] for k, refs in REFERENCES.items()}
    assert python_metrics(noisy_candidates, noisy_references)[0] == pytest.approx(
        python_metrics(CANDIDATES, REFERENCES)[0], abs=1e-12
    )


@pytest.mark.parametrize(
    "candidates, references",
    [
        ({1: "a cat"}, {2: ["a cat"]}),
        ({1: "a cat"}, {1: ["a cat"], 2: ["a dog"]}),
        ({1: "a cat", 2: "a dog"}, {1: ["a cat"]}),
    ],
)
def test_mismatched_ids_raise(candidates, references):
    with pytest.raises(ValueError, match="same image ids"):
        coco_metrics(candidates, references, use_java=False)


def test_empty_raises():
    with pytest.raises(ValueError, match="no captions"):
        coco_metrics({}, {}, use_java=False)


def test_missing_pycocoevalcap_explains_how_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "pycocoevalcap.bleu.bleu", None)
    with pytest.raises(ImportError, match="pip install pycocoevalcap"):
        coco_metrics(CANDIDATES, REFERENCES, use_java=False)


def test_references_must_be_lists_of_strings():
    # Regression: a bare string was split into characters and scored without complaint.
    with pytest.raises(TypeError, match=r"references\[1\] must be a list of caption strings"):
        coco_metrics({1: "a cat"}, {1: "a cat"}, use_java=False)
    with pytest.raises(TypeError, match=r"candidates\[1\] must be a caption string"):
        coco_metrics({1: ["a cat"]}, {1: ["a cat"]}, use_java=False)


def test_unknown_words_never_count_as_correct():
    """A caption of <UNK> only scored BLEU-1 0.40 against references with <UNK> in them; the
    course's BLEU_score drops it (issue #19 j). Both sides lose every special token."""
    refs = {1: ["a <UNK> sits on a mat", "<UNK> on a mat"], 2: ["a dog runs"]}
    unk, _ = coco_metrics({1: "<UNK> <UNK>", 2: "a dog runs"}, refs, use_java=False)
    empty, notes = coco_metrics({1: "", 2: "a dog runs"}, refs, use_java=False)
    assert unk == empty
    assert any("<UNK> dropped from candidates and references" in n for n in notes)
    plain, _ = coco_metrics(
        {1: "a sits on a mat", 2: "a dog runs"},
        {1: ["a sits on a mat", "on a mat"], 2: ["a dog runs"]},
        use_java=False,
    )
    tagged, _ = coco_metrics(
        {1: "<START> a <UNK> sits on a mat <END>", 2: "a dog runs <END> <NULL>"},
        refs,
        use_java=False,
    )
    assert tagged == plain


def test_no_note_when_nothing_was_dropped():
    _, notes = coco_metrics({1: "a dog"}, {1: ["a dog"]}, use_java=False)
    assert not any("dropped" in n for n in notes)
