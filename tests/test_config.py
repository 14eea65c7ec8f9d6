from pathlib import Path

from cs231n import config


def test_env_var_wins(monkeypatch, tmp_path):
    monkeypatch.setenv("CS231N_DATA", str(tmp_path))
    assert config.data_dir() == tmp_path
    assert config.data_path("styles", "x.jpg") == tmp_path / "styles" / "x.jpg"


def test_override_beats_env(monkeypatch, tmp_path):
    monkeypatch.setenv("CS231N_DATA", "/nonexistent")
    assert config.data_dir(tmp_path) == tmp_path


def test_default_is_per_user_cache(monkeypatch, tmp_path):
    monkeypatch.delenv("CS231N_DATA", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert config.data_dir() == tmp_path / "cs231n"
    monkeypatch.delenv("XDG_CACHE_HOME")
    assert config.data_dir() == Path.home() / ".cache" / "cs231n"
