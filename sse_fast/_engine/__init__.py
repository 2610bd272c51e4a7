"""The streaming engine, one job per module (see ARCHITECTURE.md).

options: the validated options. batch: items to frames, with coalescing bounds.
queue: EventQueue, the push source; queue_consumer: its puts into a stream. pump:
pulling a source into the batch. writer: the batch to the transport, and the end of
the body. stopping: what ends a stream early, and stopping its parts. clock: the
deadline arithmetic. threads: sync sources in worker threads. shutdown: draining.
runners (asyncio) and anyio_runner (trio): the per-backend tasks and timer. stream:
EventStream, which ties them together. started: StartedStream, a started EventQueue
stream that runs itself to its end.
"""
