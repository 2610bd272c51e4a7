"""The README's Python snippets run as shown.

Each ```python block runs in a fresh namespace; an expression followed by a comment that
is a Python literal (``# b'data: a\\n\\n'``, on its line or the next) must evaluate to
that literal. An HTML comment on the line before a block may say
``<!-- snippet: skip REASON -->`` (it needs a server, a model...) or
``<!-- snippet: given CODE -->`` (CODE runs first, to supply names the block uses).
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from pathlib import Path

import pytest

README = Path(__file__).resolve().parent.parent / "README.md"
BLOCK = re.compile(
    r"(?:<!-- snippet: (?P<kind>skip|given) (?P<arg>.*?) -->\n)?```python\n(?P<code>.*?)```",
    re.DOTALL,
)


@dataclass(frozen=True)
class Snippet:
    line: int
    code: str
    skip: str | None
    given: str


def snippets() -> list[Snippet]:
    if not README.exists():  # an installed copy of the tests without the repository
        return []
    text = README.read_text(encoding="utf-8")
    return [
        Snippet(
            line=text.count("\n", 0, match.start("code")) + 1,
            code=match["code"],
            skip=match["arg"] if match["kind"] == "skip" else None,
            given=match["arg"] if match["kind"] == "given" else "",
        )
        for match in BLOCK.finditer(text)
    ]


def literal_after(lines: list[str], statement: ast.stmt) -> tuple[bool, object]:
    """The literal in the comment that ends ``statement``'s last line or follows it."""
    end = statement.end_lineno or statement.lineno
    candidates = [lines[end - 1].partition("  # ")[2]]
    if end < len(lines) and lines[end].startswith("# "):
        candidates.append(lines[end][2:])
    for comment in candidates:
        shown, value = literal(comment)
        if shown:
            return shown, value
    return False, None


def literal(text: str) -> tuple[bool, object]:
    try:
        return True, ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return False, None


SNIPPETS = snippets()


def test_readme_has_snippets_that_run() -> None:
    if not README.exists():
        pytest.skip("README.md is not beside the tests")
    assert [s for s in SNIPPETS if s.skip is None]


@pytest.mark.parametrize("snippet", SNIPPETS, ids=[f"line-{s.line}" for s in SNIPPETS])
def test_readme_snippet_runs_as_shown(snippet: Snippet) -> None:
    if snippet.skip is not None:
        pytest.skip(f"marked in the README: {snippet.skip}")
    namespace: dict[str, object] = {"__name__": "readme"}
    exec(compile(snippet.given, "<given>", "exec"), namespace)
    lines = snippet.code.splitlines()
    checked = 0
    for statement in ast.parse(snippet.code).body:
        module = ast.Module(body=[statement], type_ignores=[])
        if not isinstance(statement, ast.Expr):
            exec(compile(module, f"README.md:{snippet.line}", "exec"), namespace)
            continue
        value = eval(compile(ast.Expression(statement.value), "README.md", "eval"), namespace)
        shown, expected = literal_after(lines, statement)
        if shown:
            checked += 1
            assert value == expected, f"README.md line {snippet.line + statement.lineno - 1}"
    assert checked or not any("# b'" in line for line in lines)
