"""The SQLite journal: what it stores survives reopening; a transaction is all or nothing."""

from __future__ import annotations

import pytest

from gridmatch.journal import Attempt, JournalError, OrderRecord, open_journal
from gridmatch.market import Market
from gridmatch.participants import Participant, Role


def test_everything_survives_a_reopen(tmp_path):
    path = str(tmp_path / "j.sqlite")
    j = open_journal(path)
    j.bind(Market())
    j.put_participant(Participant(7, Role.PROSUMER, "roof 7", "Wallet7"))
    j.add_order(OrderRecord(1, 201606211200, 7, -1, 925, 1500, 0, True, None, None))
    j.set_epoch(201606211200, "cleared", price=925, volume=1500, detail={"fills": 1})
    j.add_fills(201606211200, [(2, 1, 8, 7, 1500, 925)])
    j.add_batch("b0", 201606211200, 0, [["grid", 7, 8, 1_500_000_000]])
    j.add_attempt("b0", Attempt("sig1", "hash1", None, b"\x01signed"))
    j.close()

    again = open_journal(f"sqlite:///{path}")
    again.bind(Market())
    assert again.participants() == [Participant(7, Role.PROSUMER, "roof 7", "Wallet7")]
    assert again.orders(201606211200)[0].rollover is True and again.next_order_id() == 2
    epoch = again.epoch(201606211200)
    assert (epoch.state, epoch.price, epoch.volume, epoch.detail) == ("cleared", 925, 1500, {"fills": 1})
    assert again.fills(201606211200) == [(2, 1, 8, 7, 1500, 925)]
    (batch,) = again.batches(201606211200)
    assert (batch.state, batch.attempts, batch.transfers) == (
        "sending",
        [(Attempt("sig1", "hash1", None, b"\x01signed"), "sent")],
        [["grid", 7, 8, 1_500_000_000]],
    )
    assert [k for _, k, _ in again.log_lines()] == ["state"]


def test_a_failed_transaction_leaves_nothing(tmp_path):
    j = open_journal(str(tmp_path / "j.sqlite"))
    with pytest.raises(RuntimeError), j.transaction():
        j.add_order(OrderRecord(1, 201606211200, 7, 1, 925, 10, 0, False, None, None))
        j.set_epoch(201606211200, "open")
        raise RuntimeError("crash before commit")
    assert j.all_orders() == [] and j.epochs() == []


def test_another_markets_journal_is_refused(tmp_path):
    j = open_journal(str(tmp_path / "j.sqlite"))
    j.bind(Market())
    with pytest.raises(JournalError):
        j.bind(Market(fee_bps=50))
    with pytest.raises(JournalError):
        open_journal("mysql://somewhere")
