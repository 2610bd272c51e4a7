"""The streaming engine, one job per module (see ARCHITECTURE.md).

options: the validated options. batch: items to frames, with coalescing bounds.
queue: EventQueue, the push source. pump: pulling a source (or serving a queue) into
the batch. writer: the batch to the transport. clock: the deadline arithmetic.
threads: sync sources in worker threads. shutdown: draining. runners (asyncio) and
anyio_runner (trio): the per-backend tasks and timer. stream: EventStream, which ties
them together.
"""
