"""The bench reports how much of the machine's CPU the hypervisor took during a run."""

from __future__ import annotations

from collections import namedtuple

from bench.measure import stolen_share

Times = namedtuple("Times", "user system idle steal")
NoSteal = namedtuple("NoSteal", "user system idle")
WithGuests = namedtuple("WithGuests", "user nice system idle steal guest guest_nice")


def test_steal_is_the_share_of_all_cpu_time_that_went_to_other_guests() -> None:
    before = Times(100.0, 50.0, 800.0, 50.0)
    after = Times(160.0, 70.0, 820.0, 150.0)  # 200 s passed, 100 of them stolen
    assert stolen_share(before, after) == 50.0


def test_no_steal_figure_where_the_kernel_does_not_count_it() -> None:
    assert stolen_share(NoSteal(1.0, 1.0, 1.0), NoSteal(2.0, 2.0, 2.0)) is None


def test_no_figure_when_no_time_passed() -> None:
    same = Times(1.0, 1.0, 1.0, 1.0)
    assert stolen_share(same, same) is None


def test_time_this_machines_own_guests_ran_is_not_counted_twice() -> None:
    # 100 s passed: 60 user (40 of them a guest of ours, which Linux counts in user and in
    # guest alike), 20 idle, 20 stolen.
    before = WithGuests(0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0)
    after = WithGuests(60.0, 0.0, 0.0, 20.0, 20.0, 40.0, 0.0)
    assert stolen_share(before, after) == 20.0
