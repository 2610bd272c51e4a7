"""Framework adapters, installed as ``sse_fast.adapters`` (never a top-level package)."""
