"""Ports for the private nodes some tests start (an OpenSearch or a Kafka broker of their own).

Each pytest-xdist worker gets a block of its own: a test that stops its node for a while (an outage)
leaves its ports free, and with one shared range another worker's next private node could take them,
so that the restarted node fails to bind, or the test's clients reach the other test's node (which may
be frozen on purpose). Within a worker tests run one after another and every private node is stopped
by the test that started it, so a block is never shared.
"""

from __future__ import annotations

import os

from spoolbridge.stack.processes import port_is_free

__all__ = ["free_ports"]

#: Ports per worker in each range; a range's blocks sit side by side from its start.
BLOCK = 20


def worker_number() -> int:
    """0 for ``gw0`` (and for a run without workers), 1 for ``gw1``, ..."""
    name = os.environ.get("PYTEST_XDIST_WORKER", "gw0")
    return int(name.removeprefix("gw")) if name.removeprefix("gw").isdigit() else 0


def free_ports(start: int, count: int, *, stride: int = 1) -> list[int]:
    """``count`` free ports of this worker's block of the range that starts at ``start``: ports
    ``first, first + stride, ...``, with ``first`` the lowest in the block for which all are free."""
    block = start + worker_number() * BLOCK
    for first in range(block, block + BLOCK - (count - 1 if stride == 1 else 0)):
        ports = [first + i * stride for i in range(count)]
        if all(port_is_free(p) for p in ports):
            return ports
    raise RuntimeError(f"no {count} free ports in {block}..{block + BLOCK - 1}")
