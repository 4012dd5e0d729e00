"""Ray executor fix of 2026-12-06 (stop 42): the user's init_kwargs win over nasforge's ray.init defaults."""

from __future__ import annotations

import logging

import pytest

from nasforge.exceptions import UsageError


def test_ray_init_kwargs_override_the_defaults_and_address_is_its_own_option(monkeypatch):
    """Would fail: init_kwargs={'log_to_driver': True} was a raw TypeError (given twice to ray.init)."""
    ray = pytest.importorskip("ray")
    from nasforge.experiment.executors.ray import RayExecutor

    seen = {}
    monkeypatch.setattr(ray, "init", lambda **kwargs: seen.update(kwargs))
    RayExecutor(1, address="auto", init_kwargs={"log_to_driver": True})._init_ray()
    assert seen == {"address": "auto", "include_dashboard": False, "log_to_driver": True,
                    "logging_level": logging.ERROR}  # Ray's own log lines quiet by default
    seen.clear()
    RayExecutor(1, address="auto", init_kwargs={"include_dashboard": True})._init_ray()
    assert seen["include_dashboard"] is True and seen["log_to_driver"] is False
    with pytest.raises(UsageError, match=r"must not hold 'address': give it as the executor option address "
                                         r"\(executor_options=\{'address': 'auto'\}\)"):
        RayExecutor(1, init_kwargs={"address": "auto"})
