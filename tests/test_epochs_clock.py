"""The engine's clock is the only clock: an order's time outside the open epoch is refused and
steps nothing; a clock that goes back never reopens an epoch and leaves no order in the epoch
it came back from; a jump forward clears the epochs in between, in order."""

from __future__ import annotations

import datetime as dt

import pytest
from epochs_harness import E0, E1, E2, E3, T0, manager, rows

from gridmatch.epochs import EpochClosed, EpochState

LATER = dt.datetime(2100, 6, 21, 12, 0, tzinfo=dt.UTC).timestamp()  # 84 years on
EL = 210006211200


@pytest.mark.parametrize(
    "at",
    [T0 - 2.001, T0 + 902, T0 + 5 * 900, T0 - 3 * 900, LATER],
    ids=["before-by-more-than-the-tolerance", "after-by-the-tolerance", "epochs-ahead", "epochs-behind", "2100"],
)
def test_an_order_time_outside_the_open_epoch_is_refused_and_changes_nothing(tmp_path, at):
    path = tmp_path / "journal.sqlite"
    m = manager(path)
    m.step(T0)
    m.submit(1, -1, 10, 900, at=T0 + 1)
    heard = []
    m.subscribe(heard.append)
    before = rows(path)
    with pytest.raises(EpochClosed) as refused:
        m.submit(2, 1, 10, 950, at=at)
    assert (refused.value.field, refused.value.value) == ("at", at)
    assert rows(path) == before and heard == []  # nothing journaled, no epoch closed, opened or cleared
    assert m.state(E0) == EpochState.OPEN


def test_the_tolerance_takes_times_just_outside_the_window():
    m = manager()
    m.step(T0)
    assert m.submit(1, -1, 10, 900, at=T0 - 2).epoch == E0
    assert m.submit(2, 1, 10, 950, at=T0 + 901.999).epoch == E0
    strict = manager(clock_tolerance=0)
    strict.step(T0)
    with pytest.raises(EpochClosed):
        strict.submit(1, -1, 10, 900, at=T0 - 0.001)
    with pytest.raises(EpochClosed):
        strict.submit(1, -1, 10, 900, at=T0 + 900)


def test_a_refused_submit_never_steps_the_market(tmp_path):
    path = tmp_path / "journal.sqlite"
    now = [T0]
    m = manager(path, clock=lambda: now[0])
    m.step()
    m.submit(1, -1, 10, 900)
    m.submit(2, 1, 10, 950)
    before = rows(path)
    now[0] = T0 + 3 * 900  # the clock moved on; nobody stepped yet
    with pytest.raises(EpochClosed) as refused:
        m.submit(2, 1, 10, 950)
    assert refused.value.field == "at"
    (outcome,) = m.submit_many([(2, 1, 10, 950)])
    assert isinstance(outcome, EpochClosed) and outcome.field == "at"
    assert rows(path) == before  # E0 still open, its two orders and nothing else
    m.step()  # the step ends E0, not an order
    assert m.state(E0) == EpochState.SETTLED and m.state(E3) == EpochState.OPEN
    assert m.journal.fills(E0) == [(2, 1, 2, 1, 10, 925)]


def test_a_clock_that_goes_back_never_reopens_an_epoch():
    m = manager()
    m.step(T0)
    m.step(T0 + 900)
    m.submit(1, -1, 10, 900, at=T0 + 901)
    m.submit(2, 1, 10, 950, at=T0 + 902)
    events = m.step(T0 + 100)  # back 800 s, into settled E0: E1 is ahead of the clock
    assert [(e.epoch, e.state) for e in events] == [(E1, "closed"), (E1, "cleared"), (E1, "settled")]
    assert m.journal.epoch(E1).detail["clock_went_back"] == T0 + 100
    assert [o.filled for o in m.journal.orders(E1)] == [10, 10]
    assert m.state(E0) == EpochState.SETTLED and m.status().open_epoch is None
    with pytest.raises(EpochClosed):
        m.submit(1, -1, 10, 900, at=T0 + 101)
    assert m.step(T0 + 950) == []  # the clock is back in E1's time: E1 stays settled
    assert m.status().open_epoch is None
    assert [(e.epoch, e.state) for e in m.step(T0 + 1800)] == [(E2, "open")]


def test_a_step_back_within_the_tolerance_leaves_the_open_epoch_open():
    m = manager()
    m.step(T0 + 900)
    assert m.step(T0 + 898.5) == []
    assert m.state(E1) == EpochState.OPEN
    assert m.submit(1, -1, 10, 900, at=T0 + 898.5).epoch == E1


def test_orders_in_a_far_epoch_are_cleared_when_the_clock_comes_back():
    m = manager()
    m.step(T0)
    m.step(LATER)  # the clock jumps 84 years: E0 closes, the epoch of 2100 opens
    sell = m.submit(1, -1, 1000, 900, rollover=True, at=LATER + 1)
    buy = m.submit(2, 1, 600, 950, at=LATER + 2)
    assert sell.epoch == buy.epoch == EL
    m.step(T0 + 1800)  # and comes back
    assert m.state(EL) == EpochState.SETTLED and m.journal.epoch(EL).detail["clock_went_back"] == T0 + 1800
    assert [o.filled for o in m.journal.orders(EL)] == [600, 600]
    # the sell's rest expires rather than wait 84 years in the epoch after EL
    assert [o.id for o in m.journal.all_orders()] == [sell.id, buy.id]
    assert [e.id for e in m.journal.epochs()] == [E0, E2, EL]
    assert m.status().open_epoch == E2


def test_a_jump_forward_clears_the_epochs_in_between_in_order():
    m = manager()
    m.step(T0)
    m.submit(1, -1, 1000, 900, rollover=True, at=T0 + 1)
    m.submit(2, 1, 600, 950, at=T0 + 1)
    events = m.step(T0 + 3 * 900 + 5)  # E0's rest rolls into E1, E1's into E2, E2's into open E3
    seen = [(e.epoch, e.state) for e in events]
    assert [epoch for epoch, state in seen if state == "cleared"] == [E0, E1, E2]
    assert seen.index((E3, "open")) < seen.index((E0, "cleared"))  # orders were taken first
    assert all(m.state(e) == EpochState.SETTLED for e in (E0, E1, E2))
    (rest,) = m.journal.orders(E3)
    assert (rest.trader, rest.qty, rest.parent) == (1, 400, m.journal.orders(E2)[0].id)
    m.submit(2, 1, 400, 950, at=T0 + 3 * 900 + 6)
    m.step(T0 + 4 * 900)
    assert m.journal.orders(E3)[0].filled == 400
