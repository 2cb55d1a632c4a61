"""Settlement planning: conserving, netted or not, packed deterministically."""

from __future__ import annotations

from collections import defaultdict

from hypothesis import given
from hypothesis import strategies as st

from gridmatch import settlement
from gridmatch.market import Market
from gridmatch.settlement import GRID, PAYMENT, TREASURY, Transfer

FILLS = st.lists(
    st.tuples(st.integers(1, 9), st.integers(1, 9), st.integers(1, 6), st.integers(1, 6),
              st.integers(1, 10**6), st.integers(-2000, 5000)),
    max_size=30,
)  # fmt: skip


def moved(transfers):
    net = defaultdict(int)
    for t in transfers:
        assert t.amount > 0 and t.source != t.dest
        net[t.mint, t.source] -= t.amount
        net[t.mint, t.dest] += t.amount
    return {k: v for k, v in net.items() if v}


@given(FILLS, st.sampled_from(["buyer", "seller", "split"]))
def test_every_plan_moves_exactly_the_fills_net_flows(fills, payer):
    market = Market(fee_payer=payer)
    expected = settlement.flows(fills, market)
    assert moved(settlement.transfers(fills, market)) == expected
    netted = settlement.transfers(fills, market, netting=True)
    assert moved(netted) == expected
    for mint in (GRID, PAYMENT):
        assert sum(v for (m, _), v in expected.items() if m == mint) == 0  # conservation
        parties = {who for (m, who) in expected if m == mint}
        assert len([t for t in netted if t.mint == mint]) <= max(0, len(parties) - 1)


def test_a_fill_pays_seller_and_treasury():
    market = Market(fee_bps=100, fee_payer="buyer", fee_rounding="up")
    got = settlement.transfers([(1, 2, 10, 20, 1000, 925)], market)
    assert got == [
        Transfer(GRID, 20, 10, 1000 * 10**6),
        Transfer(PAYMENT, 10, 20, 92_500_000),
        Transfer(PAYMENT, 10, TREASURY, 925_000),
    ]
    negative = settlement.transfers([(1, 2, 10, 20, 1000, -50)], market)
    assert Transfer(PAYMENT, 20, 10, 5_000_000) in negative  # a negative price pays the buyer


@given(FILLS, st.integers(1, 7))
def test_batches_are_deterministic_and_keep_every_transfer(fills, size):
    market = Market()
    planned = settlement.transfers(fills, market)
    first = settlement.batches(market, 201606211200, planned, lambda group: len(group) <= size)
    again = settlement.batches(market, 201606211200, list(planned), lambda group: len(group) <= size)
    assert first == again
    assert [t for b in first for t in b.transfers] == planned
    assert all(len(b.transfers) <= size for b in first)
    assert len({b.id for b in first}) == len(first)
    assert all(b.memo.endswith(b.id) for b in first)


@given(st.lists(st.integers(1, 50), max_size=200), st.integers(1, 300))
def test_batches_are_the_longest_runs_that_fit(amounts, cap):
    """Against a plain greedy under a monotone limit (the amounts a batch may carry), including
    transfers too large to fit anywhere, which go alone."""
    market = Market()
    planned = [Transfer(GRID, 1, 2, a) for a in amounts]

    def fits(group):
        return sum(t.amount for t in group) <= cap

    greedy: list[list[Transfer]] = []
    for t in planned:
        if greedy and fits([*greedy[-1], t]):
            greedy[-1].append(t)
        else:
            greedy.append([t])
    packed = settlement.batches(market, 201606211200, planned, fits)
    assert [list(b.transfers) for b in packed] == greedy
