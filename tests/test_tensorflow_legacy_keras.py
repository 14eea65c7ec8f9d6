"""The legacy-Keras mode (README, TensorFlow): tf-keras installed by `./setup.sh
--with-legacy-keras`, chosen by TF_USE_LEGACY_KERAS=1, checked by cs231n.core.tf_utils.

The notebooks run under it in tests/test_tensorflow_notebooks.py
(test_notebooks_run_as_written_under_legacy_keras); here: the pins and the errors, which need
neither tf-keras nor (but for the last tests) TensorFlow.
"""

import importlib.metadata
import importlib.util
import re
import subprocess
from pathlib import Path
from types import SimpleNamespace

import pytest

from cs231n.core import tf_utils

ROOT = Path(__file__).resolve().parents[1]


def test_setup_pins_tf_keras_to_the_pinned_tensorflow():
    """tf-keras 2.N goes with TensorFlow 2.N only (its wheel requires tensorflow<2.N+1)."""
    setup = (ROOT / "setup.sh").read_text()
    pyproject = (ROOT / "pyproject.toml").read_text()
    (tf_keras,) = re.findall(r"^TF_KERAS_VERSION=(\S+)$", setup, re.M)
    (tensorflow,) = re.findall(r'"tensorflow-cpu==([^"]+)"', pyproject)
    assert tf_keras.split(".")[:2] == tensorflow.split(".")[:2]
    assert '--no-deps "tf-keras==$TF_KERAS_VERSION"' in setup


def test_setup_names_the_option():
    help_text = subprocess.run(
        ["bash", str(ROOT / "setup.sh"), "--help"], capture_output=True, text=True, timeout=30
    )
    assert help_text.returncode == 0 and "--with-legacy-keras" in help_text.stdout
    bad = subprocess.run(
        ["bash", str(ROOT / "setup.sh"), "--with-legacy-kera"],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert bad.returncode == 2 and "--with-legacy-keras" in bad.stderr


@pytest.mark.parametrize(
    "value, requested",
    [("1", True), ("true", True), ("True", True), ("0", False), ("", False), ("yes", False)],
)
def test_the_request_follows_tensorflows_rule(monkeypatch, value, requested):
    monkeypatch.setenv("TF_USE_LEGACY_KERAS", value)
    assert tf_utils.legacy_keras_requested() is requested


def test_legacy_keras_is_told_by_the_module():
    def tf(name):
        return SimpleNamespace(keras=SimpleNamespace(__name__=name))

    assert tf_utils.keras_is_legacy(tf("tf_keras.api._v2.keras"))
    assert not tf_utils.keras_is_legacy(tf("keras._tf_keras.keras"))


@pytest.fixture
def fake_tf_keras(monkeypatch):
    """Pretend tf-keras is installed (``version``) or missing (None), whatever is installed."""

    def install(version):
        find_spec, metadata_version = importlib.util.find_spec, importlib.metadata.version

        def fake_find_spec(name, *args, **kwargs):
            if name == "tf_keras":
                return None if version is None else SimpleNamespace(name="tf_keras")
            return find_spec(name, *args, **kwargs)

        def fake_version(name):
            if name == "tf-keras":
                if version is None:
                    raise importlib.metadata.PackageNotFoundError(name)
                return version
            return metadata_version(name)

        monkeypatch.setattr(importlib.util, "find_spec", fake_find_spec)
        monkeypatch.setattr(importlib.metadata, "version", fake_version)

    return install


def test_without_tf_keras_the_error_says_how_to_install(monkeypatch, fake_tf_keras):
    pytest.importorskip("tensorflow")
    fake_tf_keras(None)
    monkeypatch.setenv("TF_USE_LEGACY_KERAS", "1")
    with pytest.raises(ImportError, match="tf-keras is not installed") as e:
        tf_utils.import_tensorflow()
    message = str(e.value)
    assert "./setup.sh --with-legacy-keras" in message and "--no-deps" in message
    assert "unset TF_USE_LEGACY_KERAS" in message
    monkeypatch.setenv("TF_USE_LEGACY_KERAS", "0")  # Keras 3: tf-keras is not needed
    assert tf_utils.import_tensorflow() is not None


def test_a_tf_keras_of_another_version_is_named(monkeypatch, fake_tf_keras):
    tf = pytest.importorskip("tensorflow")
    major_minor = ".".join(tf.__version__.split(".")[:2])
    fake_tf_keras("2.15.1")
    monkeypatch.setenv("TF_USE_LEGACY_KERAS", "true")
    with pytest.raises(ImportError, match="tf-keras 2.15.1 does not match TensorFlow") as e:
        tf_utils.import_tensorflow()
    assert f"'tf-keras=={major_minor}.*'" in str(e.value)
    fake_tf_keras(f"{major_minor}.0")
    assert tf_utils.import_tensorflow() is tf


def test_the_command_line_says_it_in_one_line(monkeypatch, fake_tf_keras):
    pytest.importorskip("tensorflow")
    from cs231n.cli.common import UserError, require_tensorflow

    fake_tf_keras(None)
    monkeypatch.setenv("TF_USE_LEGACY_KERAS", "1")
    with pytest.raises(UserError, match="--with-legacy-keras") as e:
        require_tensorflow("cs231n style --framework tensorflow")
    assert "\n" not in str(e.value)
