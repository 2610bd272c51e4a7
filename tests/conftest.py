"""Fixtures shared by the suite: both framing twins, and a reference parser."""

from __future__ import annotations

import importlib
import os
from collections.abc import Callable
from types import ModuleType

import pytest
from hypothesis import settings
from reference import Parsed, reference_parse

settings.register_profile("default", max_examples=200, deadline=None)
settings.register_profile("thorough", max_examples=5000, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))

TWINS = ["c", "py"]


def load_twin(name: str) -> ModuleType:
    # No skip: a missing compiled module must fail the run, not hide it.
    return importlib.import_module(f"sse_fast._framing_{name}")


@pytest.fixture(scope="session", params=TWINS)
def framing(request: pytest.FixtureRequest) -> ModuleType:
    """The compiled twin, then the pure twin: every framing test runs on both."""
    return load_twin(request.param)


@pytest.fixture(scope="session")
def parse() -> Callable[[bytes], Parsed]:
    return reference_parse


DECODER_TWINS = {"c": "sse_fast._framing_c", "py": "sse_fast._decoder_py"}


@pytest.fixture(scope="session", params=list(DECODER_TWINS))
def decoding(request: pytest.FixtureRequest) -> ModuleType:
    """A module with ``Decoder`` and ``ServerSentEvent``: the compiled twin, then the pure."""
    return importlib.import_module(DECODER_TWINS[request.param])
