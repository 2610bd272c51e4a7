"""The connection's deadlines, as pure arithmetic over a fake ``now``: no sleeping."""

from __future__ import annotations

import math

from sse_fast._engine.clock import Clock, Due


def test_an_idle_connection_without_pings_has_no_timer() -> None:
    clock = Clock(None, None)
    clock.start(100.0)
    assert math.isinf(clock.next_check())


def test_an_idle_connection_with_a_send_timeout_but_no_send_has_no_timer() -> None:
    clock = Clock(None, 5.0)
    clock.start(100.0)
    assert math.isinf(clock.next_check())  # no send_timeout/4 polling


def test_pings_fall_due_on_the_interval() -> None:
    clock = Clock(15.0, None)
    clock.start(100.0)
    assert clock.next_check() == 115.0
    assert clock.check(114.9, 115.0) is Due.NOTHING
    assert clock.check(115.0, 115.0) is Due.PING
    assert clock.next_check() == 130.0


def test_a_ping_after_a_long_block_is_sent_once_then_the_rhythm_resumes() -> None:
    clock = Clock(10.0, None)
    clock.start(0.0)
    assert clock.check(47.0, 10.0) is Due.PING  # the loop was blocked for 37 s
    assert clock.next_check() == 52.0  # not four pings in a row to catch up


def test_idle_only_pings_skip_an_interval_that_carried_events() -> None:
    clock = Clock(10.0, None, ping_idle_only=True)
    clock.start(0.0)
    clock.writes += 1  # an event was written during the first interval
    assert clock.check(10.0, 10.0) is Due.NOTHING
    assert clock.check(20.0, 20.0) is Due.PING  # a silent interval


def test_a_send_in_flight_times_out_after_send_timeout() -> None:
    clock = Clock(None, 5.0)
    clock.start(0.0)
    clock.send_started = 10.0
    assert clock.next_check() == 15.0
    assert clock.check(14.9, 14.9) is Due.NOTHING
    assert clock.check(15.0, 15.0) is Due.SEND_TIMEOUT


def test_the_earliest_deadline_is_the_next_check() -> None:
    clock = Clock(15.0, 5.0)
    clock.start(0.0)
    clock.send_started = 2.0
    assert clock.next_check() == 7.0
    clock.send_started = None
    assert clock.next_check() == 15.0


def test_a_timer_that_fires_late_means_a_blocked_loop_not_a_stalled_client() -> None:
    clock = Clock(None, 5.0)
    clock.start(0.0)
    clock.send_started = 10.0
    # Armed for 15.0, it fires at 30.0: a handler blocked the loop for 15 s.
    assert clock.check(30.0, 15.0) is Due.NOTHING
    assert clock.send_started == 30.0  # the send is timed again from now
    assert clock.next_check() == 35.0
    assert clock.check(35.0, 35.0) is Due.SEND_TIMEOUT  # still stalled: cut off


def test_a_timer_a_little_late_still_times_the_send_out() -> None:
    clock = Clock(None, 5.0)
    clock.start(0.0)
    clock.send_started = 10.0
    assert clock.check(15.04, 15.0) is Due.SEND_TIMEOUT  # a busy loop, not a blocked one


def test_the_grace_period_ends_at_its_deadline() -> None:
    clock = Clock(None, None)
    clock.start(0.0)
    clock.begin_grace(50.0, 2.0)
    clock.begin_grace(51.0, 2.0)  # once: a second trigger does not extend it
    assert clock.next_check() == 52.0
    assert clock.check(51.9, 52.0) is Due.NOTHING
    assert clock.check(52.0, 52.0) is Due.GRACE_OVER


def test_a_zero_grace_period_is_due_at_once() -> None:
    clock = Clock(15.0, None)
    clock.start(0.0)
    clock.begin_grace(3.0, 0.0)
    assert clock.next_check() == 3.0
    assert Due.GRACE_OVER in clock.check(3.0, 3.0)


def test_a_departure_during_the_end_of_the_body_cuts_it_off_after_end_grace() -> None:
    clock = Clock(None, None)
    clock.start(0.0)
    clock.left_during_end(10.0)
    clock.left_during_end(10.1)  # heard again: the first deadline holds
    at = clock.next_check()
    assert at == 10.0 + Clock.END_GRACE
    assert clock.check(at - 0.01, at) is Due.NOTHING
    assert clock.check(at, at) is Due.END_STALLED
    assert clock.next_check() == math.inf  # reported once, then no timer
