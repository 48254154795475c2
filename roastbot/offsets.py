"""Which offsets may be committed when work finishes out of order.

A partition's commit point is its oldest unfinished offset: everything before it is
done, so a crash redelivers only work that may not have finished (at-least-once).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field


@dataclass
class _PartitionProgress:
    in_flight: set[int] = field(default_factory=set)
    next_offset: int | None = None  # one past the highest offset handed out


class OffsetTracker:
    """Thread-safe: workers finish offsets, the poll loop starts them and commits."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._partitions: dict[int, _PartitionProgress] = {}
        self._committed: dict[int, int] = {}

    def started(self, partition: int, offset: int) -> None:
        with self._lock:
            progress = self._partitions.setdefault(partition, _PartitionProgress())
            progress.in_flight.add(offset)
            progress.next_offset = max(progress.next_offset or 0, offset + 1)

    def finished(self, partition: int, offset: int) -> None:
        with self._lock:
            progress = self._partitions.get(partition)
            if progress is not None:
                progress.in_flight.discard(offset)

    def in_flight(self, partitions: set[int] | None = None) -> int:
        with self._lock:
            return sum(
                len(p.in_flight) for n, p in self._partitions.items() if partitions is None or n in partitions
            )

    def commit_points(self, partitions: set[int] | None = None) -> dict[int, int]:
        """Offsets to commit that moved since the last call marked them committed."""
        with self._lock:
            points = {}
            for number, progress in self._partitions.items():
                if partitions is not None and number not in partitions:
                    continue
                if progress.next_offset is None:
                    continue
                point = min(progress.in_flight) if progress.in_flight else progress.next_offset
                if self._committed.get(number) != point:
                    points[number] = point
            return points

    def mark_committed(self, points: dict[int, int]) -> None:
        """Kafka confirmed these points. Answers may come late: one for a partition given up
        since is dropped, and an older point never replaces a newer one."""
        with self._lock:
            for number, point in points.items():
                if number in self._partitions:
                    self._committed[number] = max(point, self._committed.get(number, point))

    def forget(self, partitions: set[int]) -> None:
        """Drop revoked partitions; their unfinished work is redelivered elsewhere."""
        with self._lock:
            for number in partitions:
                self._partitions.pop(number, None)
                self._committed.pop(number, None)
