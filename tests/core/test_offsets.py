from __future__ import annotations

from roastbot.offsets import OffsetTracker


def test_commit_point_is_oldest_unfinished_offset() -> None:
    tracker = OffsetTracker()
    for offset in (10, 11, 12):
        tracker.started(0, offset)
    tracker.finished(0, 12)
    tracker.finished(0, 11)
    assert tracker.commit_points() == {0: 10}
    tracker.finished(0, 10)
    assert tracker.commit_points() == {0: 13}


def test_points_are_reported_once_until_they_move() -> None:
    tracker = OffsetTracker()
    tracker.started(1, 5)
    tracker.finished(1, 5)
    points = tracker.commit_points()
    tracker.mark_committed(points)
    assert tracker.commit_points() == {}
    tracker.started(1, 6)
    tracker.started(1, 7)
    assert tracker.commit_points() == {}  # 6 is unfinished and already the committed point
    tracker.finished(1, 6)
    assert tracker.commit_points() == {1: 7}


def test_forget_drops_revoked_partitions() -> None:
    tracker = OffsetTracker()
    tracker.started(0, 1)
    tracker.started(2, 7)
    tracker.forget({0})
    assert tracker.in_flight() == 1
    assert tracker.commit_points() == {2: 7}
    assert tracker.in_flight({2}) == 1


def test_a_late_answer_never_moves_the_committed_point_back() -> None:
    tracker = OffsetTracker()
    for offset in (1, 2):
        tracker.started(0, offset)
        tracker.finished(0, offset)
    tracker.mark_committed({0: 3})  # the newer commit answered first
    tracker.mark_committed({0: 2})  # then the older one
    assert tracker.commit_points() == {}  # 3 stays the committed point: nothing to send again
