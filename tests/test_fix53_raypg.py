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
    with pytest.raises(UsageError, match=rf"^cannot reach the Ray cluster at executor option address='auto' "
                                         rf"\(RAY_ADDRESS='127\.0\.0\.1:{port}'\) "):
        RayExecutor(1, address="auto")._init_ray()  # "auto" reads RAY_ADDRESS too (it hung)
    monkeypatch.delenv("RAY_ADDRESS")
    with pytest.raises(UsageError, match=rf"^cannot reach the Ray cluster at executor option "
                                         rf"address='127\.0\.0\.1:{port}' "):
        RayExecutor(1, address=f" 127.0.0.1:{port} ")._init_ray()  # spaces around: the check read it, ray.init hung


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


LOST = "worker died (Ray mailbox actor lost)"


class _Remote:
    """A fake actor method: ``.remote(...)`` calls it (the fake ``ray.get`` then returns the value as it is)."""

    def __init__(self, fn):
        self.remote = fn


class _FakeMailbox:
    """A mailbox handle whose ``drain`` gives ``incarnation`` (or raises ``error``); records its answers."""

    def __init__(self, incarnation: str = "a", error: Exception | None = None, reports=()):
        self.answers = []

        def drain():
            if error is not None:
                raise error
            return incarnation, [], list(reports)

        self.drain = _Remote(drain)
        self.answer = _Remote(lambda number, step, stop: self.answers.append((number, step, stop)))


def _running_executor(monkeypatch, mailbox: _FakeMailbox, reporting: bool):
    """A RayExecutor with trials 0 and 1 in flight (0 started at time 1.0) talking to ``mailbox``; its cancels."""
    ray = pytest.importorskip("ray")
    from nasforge.experiment.executors.base import Task
    from nasforge.experiment.executors.ray import RayExecutor

    cancelled = []
    monkeypatch.setattr(ray, "get", lambda value: value)
    monkeypatch.setattr(ray, "cancel", lambda ref, force: cancelled.append((ref, force)))
    executor = RayExecutor(2, trial_timeout=60)
    executor._mailbox, executor._incarnation, executor._reporting = mailbox, "a", reporting
    executor._running = {"ref0": Task(0, None), "ref1": Task(1, None)}
    executor._started = {0: 1.0}
    executor._decide = lambda number, step, value: value > 0.5
    return executor, cancelled


def test_the_ray_mailbox_is_restarted_by_ray_and_waits_for_no_cpu():
    """Would fail: a killed mailbox worker stayed dead, and a restart would wait for a CPU that running trials hold."""
    pytest.importorskip("ray")
    from nasforge.experiment.executors.ray import _remote_types

    options = _remote_types()[1]._default_options
    assert (options["max_restarts"], options["max_task_retries"], options["num_cpus"]) == (-1, -1, 0)


def test_a_restarted_mailbox_fails_the_reporting_trials_in_flight_and_the_run_goes_on(monkeypatch):
    """Would fail: the driver did not notice a restart (drain gave no incarnation), so tasks waiting for an answer
    the restart lost waited forever."""
    mailbox = _FakeMailbox("b", reports=[(0, 3, 0.9), (2, 0, 0.9)])  # trial 0's report, sent again after restart
    executor, cancelled = _running_executor(monkeypatch, mailbox, reporting=True)
    assert [(number, result.error) for number, result in executor._answer_reports()] == [(0, LOST), (1, LOST)]
    assert cancelled == [("ref0", True), ("ref1", True)] and executor._running == {} and executor._started == {}
    assert mailbox.answers == [(2, 0, True)]  # what the new mailbox holds is answered as usual
    assert executor._incarnation == "b" and executor._answer_reports() == []  # once


def test_a_restarted_mailbox_keeps_trials_that_do_not_report_and_times_them_from_the_restart(monkeypatch):
    executor, cancelled = _running_executor(monkeypatch, _FakeMailbox("b"), reporting=False)
    began = time.monotonic()
    assert executor._answer_reports() == [] and cancelled == []
    assert list(executor._running) == ["ref0", "ref1"]
    assert executor._started[0] == 1.0 and executor._started[1] >= began  # its start notice may have been lost


def test_a_mailbox_gone_for_good_is_replaced_and_fails_the_reporting_trials(monkeypatch):
    """Would fail: ray.get(mailbox.drain.remote()) raised ActorDiedError out of optimize (a raw Ray traceback)."""
    ray = pytest.importorskip("ray")
    executor, cancelled = _running_executor(
        monkeypatch, _FakeMailbox(error=ray.exceptions.ActorDiedError()), reporting=True)
    replacement = _FakeMailbox("c")
    executor._mailbox_type = _Remote(lambda: replacement)
    assert [(number, result.error) for number, result in executor._answer_reports()] == [(0, LOST), (1, LOST)]
    assert executor._mailbox is replacement and executor._incarnation == "c" and executor._running == {}


def test_a_blank_address_or_a_ray_address_with_spaces_is_one_line(monkeypatch):
    """Would fail: a blank address became Ray's own ValueError (a traceback), and RAY_ADDRESS with spaces around it
    passed the check (read stripped) while ray.init hung on it."""
    from nasforge.experiment.executors.ray import RayExecutor

    _no_ray_init(monkeypatch)
    with pytest.raises(UsageError, match=r"^executor option address is blank"):
        RayExecutor(1, address="   ")
    monkeypatch.setenv("RAY_ADDRESS", f" 127.0.0.1:{_closed_port()}")
    with pytest.raises(UsageError, match=r"RAY_ADDRESS has spaces around it"):
        RayExecutor(1)._init_ray()
