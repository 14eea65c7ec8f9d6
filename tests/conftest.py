"""Test-session setup shared by every test file.

- One OpenBLAS thread, set before NumPy is first imported (a ``conftest.py`` is imported before
  the test modules): the NumPy code multiplies small matrices, where a second BLAS thread gains
  nothing and, on a busy two-core machine, makes the captioning runs up to 20 times slower.
  An ``OPENBLAS_NUM_THREADS`` already in the environment is kept.
- Under pytest-xdist with several workers, one torch thread per worker: the workers already keep
  the cores busy, and more threads than cores only adds contention.
- A private cache folder (``CS231N_CACHE``) for the whole session (one per xdist worker), so that
  no test reads a stale entry from, or writes into, the user's cache; a test that sets
  ``CS231N_CACHE`` itself (``monkeypatch.setenv``) overrides it.
"""

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import pytest  # noqa: E402


def pytest_configure(config):
    workers = os.environ.get("PYTEST_XDIST_WORKER_COUNT")
    if workers is not None and int(workers) > 1:
        import torch

        torch.set_num_threads(1)


@pytest.fixture(scope="session", autouse=True)
def _private_cache(tmp_path_factory):
    """``CS231N_CACHE`` in a fresh folder for the session: set before any fixture runs (module
    fixtures too), restored at the end."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("CS231N_CACHE", str(tmp_path_factory.mktemp("cs231n_cache")))
        yield
