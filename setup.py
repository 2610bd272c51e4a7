"""Build the optional compiled twins (framing and decoder); all metadata lives in pyproject.toml.

Environment switches (read at build time):

* ``SSE_FAST_NO_EXTENSIONS=1`` builds a pure-Python package (no compiler needed).
* ``SSE_FAST_REQUIRE_EXTENSIONS=1`` turns a failed compile into a failed build, so that
  no wheel ships without its extension.
* ``SSE_FAST_STRIP=1`` strips symbols and debug information from the extensions
  (release wheels: a fifth of the size; cibuildwheel sets it).
* ``SSE_FAST_LINETRACE=1`` builds with Cython line tracing, for ``make coverage``
  (slow: never for a release).

Otherwise a compile failure (no compiler, ``CC=false``) only warns and the package
installs in pure Python.
"""

from __future__ import annotations

import os
import sys

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext


def _flag(name: str) -> bool:
    return os.environ.get(name, "") not in ("", "0")


REQUIRE_EXTENSIONS = _flag("SSE_FAST_REQUIRE_EXTENSIONS")
LINETRACE = _flag("SSE_FAST_LINETRACE")
STRIP = _flag("SSE_FAST_STRIP")
NO_EXTENSIONS = _flag("SSE_FAST_NO_EXTENSIONS") or sys.implementation.name != "cpython"

if NO_EXTENSIONS and REQUIRE_EXTENSIONS:
    raise SystemExit("SSE_FAST_REQUIRE_EXTENSIONS=1 contradicts SSE_FAST_NO_EXTENSIONS=1")


class OptionalBuildExt(build_ext):
    """Let a compile failure fall back to pure Python unless extensions are required."""

    def build_extensions(self) -> None:
        for ext in self.extensions:
            # cythonize() returns fresh Extension objects without optional=True.
            ext.optional = not REQUIRE_EXTENSIONS
        super().build_extensions()


def extensions() -> list[Extension]:
    if NO_EXTENSIONS:
        return []
    from Cython.Build import cythonize

    compile_args = ["-O2"] if os.name != "nt" else []
    macros = [("CYTHON_TRACE", "1"), ("CYTHON_TRACE_NOGIL", "1")] if LINETRACE else []
    link_args = []
    if STRIP and sys.platform.startswith("linux"):
        link_args = ["-Wl,--strip-all"]
    elif STRIP and sys.platform == "darwin":
        link_args = ["-Wl,-x", "-Wl,-S"]  # local symbols and debug information
    # (MSVC links no debug information into a release build unless asked to.)
    # The decoder cimports the event type from the framing module (_framing_c.pxd).
    twins = [
        Extension(
            f"sse_fast.{name}",
            [f"sse_fast/{name}.pyx"],
            extra_compile_args=compile_args,
            define_macros=macros,
            extra_link_args=link_args,
        )
        for name in ("_framing_c", "_decoder_c")
    ]
    return list(
        cythonize(
            twins,
            language_level=3,
            force=LINETRACE,  # a .c file left by a normal build has no tracing calls
            compiler_directives={
                "boundscheck": False,
                "wraparound": False,
                "initializedcheck": False,
                "cdivision": True,
                "embedsignature": True,
                "autotestdict": False,
                # Safe without a GIL: events are immutable once made, encode_many reads
                # a private copy of its list there (see _framing_c.pyx), and nothing
                # else in the module holds mutable state.
                "freethreading_compatible": True,
                "linetrace": LINETRACE,
            },
        )
    )


setup(ext_modules=extensions(), cmdclass={"build_ext": OptionalBuildExt})
