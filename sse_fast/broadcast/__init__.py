"""Fan-out across connections, workers and hosts, with Last-Event-ID replay."""

from ._backend import BrokerUnavailable

__all__ = ["BrokerUnavailable"]
