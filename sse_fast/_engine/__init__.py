"""The streaming engine, one job per module (see ARCHITECTURE.md).

batch: items to frames, with coalescing bounds. queue: the push source. clock: the
deadline arithmetic. threads: sync sources in worker threads. shutdown: draining.
options: the validated options. stream: EventStream, which ties them together.
"""
