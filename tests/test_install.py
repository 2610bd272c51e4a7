"""The suite tests the installed package, with the twin it claims to use."""

from __future__ import annotations

import importlib.resources
import os
import subprocess
import sys
from pathlib import Path

import pytest
from twins import EXPECT_PURE

import sse_fast

WORK_TREE = Path(__file__).resolve().parent.parent


def test_package_is_imported_from_the_installation_not_the_work_tree() -> None:
    assert not Path(sse_fast.__file__).resolve().is_relative_to(WORK_TREE / "sse_fast")


def test_adapters_are_installed_inside_the_package() -> None:
    import sse_fast.adapters

    assert (
        Path(sse_fast.adapters.__file__).resolve().parent.parent
        == Path(sse_fast.__file__).resolve().parent
    )
    with pytest.raises(ModuleNotFoundError):
        importlib.import_module("adapters")


@pytest.mark.skipif(
    EXPECT_PURE or os.environ.get("SSE_FAST_NO_EXTENSIONS", "") not in ("", "0"),
    reason="the pure twin was asked for",
)
def test_compiled_twin_is_in_use() -> None:
    from sse_fast import _framing_c

    assert sse_fast.COMPILED is True
    assert sse_fast.encode is _framing_c.encode
    assert sse_fast.ServerSentEvent.__module__ == _framing_c.__name__


@pytest.mark.skipif(not EXPECT_PURE, reason="SSE_FAST_EXPECT_PURE is not set")
def test_pure_build_has_no_compiled_twin() -> None:
    with pytest.raises(ImportError):
        importlib.import_module("sse_fast._framing_c")
    assert sse_fast.COMPILED is False
    assert sse_fast.ServerSentEvent.__module__ == "sse_fast._framing_py"


@pytest.mark.parametrize(
    ("value", "compiled"), [("1", False), ("0", not EXPECT_PURE), ("", not EXPECT_PURE)]
)
def test_no_extensions_switch_selects_the_twin(value: str, compiled: bool) -> None:
    code = "import sse_fast; print(sse_fast.COMPILED, sse_fast.ServerSentEvent.__module__)"
    env = {**os.environ, "SSE_FAST_NO_EXTENSIONS": value}
    result = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True, cwd="/"
    )
    twin = "sse_fast._framing_c" if compiled else "sse_fast._framing_py"
    assert result.stdout.split() == [str(compiled), twin]


def test_typing_files_are_shipped() -> None:
    files = importlib.resources.files("sse_fast")
    assert files.joinpath("py.typed").is_file()
    assert files.joinpath("_framing_c.pyi").is_file()


def test_public_names() -> None:
    assert set(sse_fast.__all__) == {
        "COMPILED",
        "Decoder",
        "EventQueue",
        "EventTooLarge",
        "ServerSentEvent",
        "__version__",
        "encode",
        "encode_json",
        "encode_many",
        "json_event",
    }
    for name in sse_fast.__all__:
        assert getattr(sse_fast, name) is not None
