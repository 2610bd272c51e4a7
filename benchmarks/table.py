"""Render a pytest-benchmark JSON file (test_framing.py, test_decoding.py) as README tables.

    make bench BENCH_ARGS=--benchmark-json=bench.json
    .venv/bin/python benchmarks/table.py bench.json

Every ratio compares like with like: sse_fast against sse-starlette doing the same
thing (framing from fields, or encoding an event built beforehand), medians of one run.
"""

from __future__ import annotations

import json
import sys
from typing import Any

STARLETTE = "sse-starlette 3.7"
HTTPX_SSE = "httpx-sse 0.4.3"
KINDS = {
    "Framing from fields, one call": ("encode(data, ...)", "ServerSentEvent(data, ...).encode()"),
    "Encoding an event built beforehand": ("event.encode()", "event.encode()"),
}


def human(seconds: float) -> str:
    for unit, scale in (("ms", 1e-3), ("µs", 1e-6)):
        if seconds >= scale:
            return f"{seconds / scale:.3g} {unit}"
    return f"{seconds / 1e-9:.3g} ns"


def medians(benchmarks: list[dict[str, Any]]) -> dict[tuple[str, str], float]:
    """(group, implementation) -> median seconds."""
    out = {}
    for bench in benchmarks:
        params = bench.get("params") or {}
        impl = params.get("impl") or bench["name"].removeprefix("test_")
        out[bench["group"], str(impl)] = bench["stats"]["median"]
    return out


def render(benchmarks: list[dict[str, Any]]) -> str:
    found = medians(benchmarks)
    workloads = sorted({g for g, _ in found if g.startswith("W")})
    if not workloads:
        return render_decoding(found)
    lines = []
    for title, (ours, theirs) in KINDS.items():
        lines += [
            f"**{title}** (median per event)",
            "",
            f"| workload | sse_fast compiled | sse_fast pure | {STARLETTE} | compiled | pure |",
            "|---|---|---|---|---|---|",
        ]
        for w in workloads:
            c = found[w, f"sse_fast compiled {ours}"]
            p = found[w, f"sse_fast pure {ours}"]
            s = found[w, f"{STARLETTE} {theirs}"]
            lines.append(
                f"| {w} | {human(c)} | {human(p)} | {human(s)} | {s / c:.1f}x | {s / p:.1f}x |"
            )
        lines.append("")
    w4 = next(w for w in workloads if w.startswith("W4"))
    ceiling = found[w4, "encode_ceiling_str_replace"]
    compiled_w4 = found[w4, "sse_fast compiled encode(data, ...)"]
    lines += [
        f"W4 against one `str.replace('\\n', '\\ndata: ').encode()` over the same text: "
        f"{human(ceiling)}, so sse_fast compiled takes {compiled_w4 / ceiling:.2f}x that time.",
        "",
    ]
    batch = {impl: t for (g, impl), t in found.items() if g[:1] not in ("W", "D")}
    starlette = batch["batch_sse_starlette_encode_each"]
    lines += [
        "**1,000 W1 events** (median per batch)",
        "",
        "| implementation | median | per event | vs sse-starlette |",
        "|---|---|---|---|",
    ]
    for impl, t in sorted(batch.items(), key=lambda item: item[1]):
        name = impl.removeprefix("batch_").replace("_", " ").replace("sse fast", "sse_fast")
        lines.append(f"| {name} | {human(t)} | {human(t / 1000)} | {starlette / t:.1f}x |")
    if any(g.startswith("D") for g, _ in found):
        lines += ["", render_decoding(found)]
    return "\n".join(lines)


def render_decoding(found: dict[tuple[str, str], float]) -> str:
    """Decoding (test_decoding.py): medians per stream and the speed-up over httpx-sse."""
    lines = [
        f"| stream | sse_fast compiled | sse_fast pure | {HTTPX_SSE} | compiled | pure |",
        "|---|---|---|---|---|---|",
    ]
    for stream in sorted({g for g, _ in found if g.startswith("D")}):
        c = found[stream, "sse_fast compiled"]
        p = found[stream, "sse_fast pure"]
        h = found[stream, HTTPX_SSE]
        lines.append(
            f"| {stream} | {human(c)} | {human(p)} | {human(h)} | {h / c:.1f}x | {h / p:.1f}x |"
        )
    return "\n".join(lines)


def main() -> None:
    with open(sys.argv[1]) as f:
        print(render(json.load(f)["benchmarks"]))


if __name__ == "__main__":
    main()
