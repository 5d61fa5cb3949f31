"""Which partition a key lands in: murmur2, as the Java client and aiokafka compute it.

The in-process pipeline uses it to give each simulated lead the partition (and so
the voice budget) a real producer would have sent it to.
"""

from __future__ import annotations

from aiokafka.partitioner import murmur2


def partition_for(key: str, partitions: int) -> int:
    return int(murmur2(key.encode()) & 0x7FFFFFFF) % partitions
