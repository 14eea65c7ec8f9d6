from pathlib import Path

from cs231n.core import config


def test_env_var_wins(monkeypatch, tmp_path):
    monkeypatch.setenv("CS231N_DATA", str(tmp_path))
    assert config.data_dir() == tmp_path
    assert config.data_path("styles", "x.jpg") == tmp_path / "styles" / "x.jpg"


def test_override_beats_env(monkeypatch, tmp_path):
    monkeypatch.setenv("CS231N_DATA", "/nonexistent")
    assert config.data_dir(tmp_path) == tmp_path


def test_default_data_dir_is_per_user_data_folder(monkeypatch, tmp_path):
    monkeypatch.delenv("CS231N_DATA", raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    assert config.data_dir() == tmp_path / "cs231n"
    monkeypatch.delenv("XDG_DATA_HOME")
    assert config.data_dir() == Path.home() / ".local" / "share" / "cs231n"


def test_cache_is_apart_from_the_data(monkeypatch, tmp_path):
    monkeypatch.delenv("CS231N_DATA", raising=False)
    monkeypatch.delenv("CS231N_CACHE", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "c"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "d"))
    assert config.cache_dir() == tmp_path / "c" / "cs231n"
    assert config.cache_dir() != config.data_dir()
    monkeypatch.setenv("CS231N_CACHE", str(tmp_path / "mine"))
    assert config.cache_path("x", "y") == tmp_path / "mine" / "x" / "y"


def test_cache_key_depends_on_every_determinant_and_not_on_order():
    a = config.cache_key(kind="shapes", num_train=4000, seed=0)
    assert a == config.cache_key(seed=0, num_train=4000, kind="shapes")
    assert a != config.cache_key(kind="shapes", num_train=4001, seed=0)
    assert a != config.cache_key(kind="shapes", num_train=4000, seed=1)
    assert len(a) == 16 and int(a, 16) >= 0
