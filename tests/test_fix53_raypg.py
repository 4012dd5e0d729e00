"""Ray executor and PostgreSQL storage fixes of 2026-12-07 (stop 53): a ``host:port`` Ray address with nothing
listening, a lost mailbox actor, and SQLAlchemy PostgreSQL drivers other than psycopg."""

from __future__ import annotations

import importlib.util
import socket
import time

import pytest

from nasforge.exceptions import UsageError


def _closed_port() -> int:
    """A local TCP port that nothing listens on (bound, then closed)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _no_ray_init(monkeypatch) -> None:
    ray = pytest.importorskip("ray")

    def init(**kwargs):
        raise AssertionError("ray.init was called")  # it would wait minutes for a host:port nothing answers at

    monkeypatch.setattr(ray, "init", init)


def test_a_host_port_ray_address_with_nothing_listening_is_one_line_at_once(monkeypatch):
    """Would fail: ray.init retried a down cluster's GCS address for minutes instead of the documented error."""
    from nasforge.experiment.executors.ray import RayExecutor

    _no_ray_init(monkeypatch)
    port = _closed_port()
    began = time.monotonic()
    with pytest.raises(UsageError, match=rf"^cannot reach the Ray cluster at executor option "
                                         rf"address='127\.0\.0\.1:{port}' \(no TCP connection to 127\.0\.0\.1:{port}: "
                                         rf".*refused\): start it, or run on this machine with executor='process' "
                                         rf"\(nasforge resume --executor process\)$"):
        RayExecutor(1, address=f"127.0.0.1:{port}")._init_ray()
    assert time.monotonic() - began < 3
    monkeypatch.setenv("RAY_ADDRESS", f"127.0.0.1:{port}")  # what ray.init reads where no address is given
    with pytest.raises(UsageError, match=rf"^cannot reach the Ray cluster at RAY_ADDRESS='127\.0\.0\.1:{port}' "):
        RayExecutor(1)._init_ray()


def test_a_ray_address_that_never_accepts_is_refused_after_the_connect_timeout(monkeypatch):
    from nasforge.experiment.executors import ray as ray_executor

    _no_ray_init(monkeypatch)
    asked = []

    def create_connection(address, timeout):
        asked.append((address, timeout))
        raise TimeoutError("timed out")

    monkeypatch.setattr(ray_executor.socket, "create_connection", create_connection)
    with pytest.raises(UsageError, match=r"^cannot reach the Ray cluster at executor option address='\[fd00::5\]:6379' "
                                         r"\(no TCP connection to \[fd00::5\]:6379 within 5 s\): start it"):
        ray_executor.RayExecutor(1, address="[fd00::5]:6379")._init_ray()
    assert asked == [(("fd00::5", 6379), ray_executor.GCS_CONNECT_TIMEOUT)]


@pytest.mark.parametrize("address", ["auto", "local", "ray://127.0.0.1:1", "bogus"])
def test_other_ray_addresses_are_left_to_ray_init(address):
    """'auto', 'local' and ray:// addresses answer (or fail) quickly in ray.init itself: no TCP check first."""
    from nasforge.experiment.executors import ray as ray_executor

    assert ray_executor._gcs_endpoint(address) is None
    assert ray_executor._gcs_endpoint("head-node:6379") == ("head-node", 6379)


@pytest.mark.parametrize("driver", ["asyncpg", "pg8000", "psycopg2", "nosuchdriver"])
def test_a_postgresql_url_of_another_driver_says_to_write_postgresql_psycopg(driver):
    """Would fail: +asyncpg and +pg8000 said only "No module named 'asyncpg'", which reads as a skipped install step
    (a +psycopg2 URL already named the scheme to write)."""
    from nasforge.exceptions import StorageError
    from nasforge.experiment.storage import open_storage

    pytest.importorskip("sqlalchemy")
    if driver != "nosuchdriver" and importlib.util.find_spec(driver) is not None:
        pytest.skip(f"{driver} is installed here")
    with pytest.raises(StorageError, match=rf"^cannot open storage 'postgresql\+{driver}://u:\*\*\*@127\.0\.0\.1:1/"
                                          r"db': .*; nasforge's postgres extra installs psycopg 3: write the URL as "
                                          r"postgresql\+psycopg://\.\.\.$"):
        open_storage(f"postgresql+{driver}://u:secret@127.0.0.1:1/db")
