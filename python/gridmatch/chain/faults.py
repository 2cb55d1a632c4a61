"""`FaultyChain`: failure injection for tests of whatever submits to a chain (gridmatch's own
settlement tests, and yours).

Wrap any chain and name the submissions that go wrong, counting every `send` and `submit` from
0 in call order:

- `fail_on`: the k-th submission raises `TransactionFailed` without sending anything (as if
  it landed and failed: nothing took effect).
- `timeout_on`: the k-th submission raises `SendTimeout` (a `ChainTimeout`): the outcome is
  unknown to the caller. With `land_on_timeout=False` it was never sent (a dropped packet: it
  cannot land unless the caller submits `exc.prepared` again). With `land_on_timeout=True` it
  was really sent and landed (the answer was lost): the case where retrying with a new `send`
  pays twice, and where reconciling first (`status`, `signature_with_memo`) or resubmitting
  `exc.prepared` does not.

Everything else is the wrapped chain's, uncounted: queries, and the set-up helpers
(`create_mint`, `token_account`, `mint_to`, `approve`, `create_lookup_table`), which submit
through the wrapped chain directly. `calls` counts submissions so far;
`injected` lists (k, "fail" | "timeout" | "timeout+landed", signature or None).

>>> from gridmatch.chain import FaultyChain, LiteSVMChain, TxStatus
>>> from gridmatch.errors import ChainTimeout
>>> chain = FaultyChain(LiteSVMChain(seed=7), timeout_on={0}, land_on_timeout=True)
>>> try:
...     chain.send([], memo="batch-1")
... except ChainTimeout as exc:
...     signature = exc.sent.signature
>>> chain.status(signature), chain.signature_with_memo("batch-1") == signature
(<TxStatus.CONFIRMED: 'confirmed'>, True)
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Sequence

from solders.instruction import Instruction
from solders.keypair import Keypair
from solders.pubkey import Pubkey

from gridmatch.chain.base import Chain, ChainRequestInvalid, Prepared, SendTimeout, Sent, TxStatus
from gridmatch.errors import TransactionFailed


def _indices(name: str, values: Iterable[int]) -> frozenset[int]:
    out = frozenset(values)
    if any(isinstance(k, bool) or not isinstance(k, int) or k < 0 for k in out):
        raise ChainRequestInvalid(
            f"{name} must hold submission indices >= 0, got {sorted(out, key=repr)}", field=name, value=out
        )
    return out


class FaultyChain:
    """A `Chain` whose chosen submissions fail or time out; see the module docstring."""

    def __init__(
        self,
        inner: Chain,
        *,
        fail_on: Iterable[int] = (),
        timeout_on: Iterable[int] = (),
        land_on_timeout: bool = False,
    ) -> None:
        self.inner = inner
        self.fail_on = _indices("fail_on", fail_on)
        self.timeout_on = _indices("timeout_on", timeout_on)
        self.land_on_timeout = land_on_timeout
        self.calls = 0
        self.injected: list[tuple[int, str, str | None]] = []
        self._counting = threading.Lock()  # submissions from several threads each get their own k

    @property
    def authority(self) -> Keypair:
        return self.inner.authority

    @authority.setter
    def authority(self, value: Keypair) -> None:
        self.inner.authority = value

    def _next(self) -> int:
        with self._counting:
            k = self.calls
            self.calls += 1
            return k

    def _fail(self, k: int) -> TransactionFailed:
        self.injected.append((k, "fail", None))
        return TransactionFailed(f"injected failure of submission {k}", field="send", value="injected")

    def _timeout(self, k: int, prepared: Prepared) -> SendTimeout:
        landed = ""
        if self.land_on_timeout:
            try:
                self.inner.submit(prepared)
            except TransactionFailed:
                pass  # it landed and failed; the caller hears nothing either way
            landed = "+landed"
        self.injected.append((k, "timeout" + landed, prepared.sent.signature))
        return SendTimeout(f"injected timeout of submission {k}", prepared=prepared, field="send", value="injected")

    def prepare(
        self,
        instructions: Sequence[Instruction],
        *,
        signers: Sequence[Keypair] = (),
        lookup_tables: Sequence[Pubkey] = (),
        memo: str | None = None,
        compute_units: int | None = None,
    ) -> Prepared:
        return self.inner.prepare(
            instructions, signers=signers, lookup_tables=lookup_tables, memo=memo, compute_units=compute_units
        )

    def submit(self, prepared: Prepared) -> Sent:
        k = self._next()
        if k in self.fail_on:
            raise self._fail(k)
        if k in self.timeout_on:
            raise self._timeout(k, prepared)
        return self.inner.submit(prepared)

    def send(
        self,
        instructions: Sequence[Instruction],
        *,
        signers: Sequence[Keypair] = (),
        lookup_tables: Sequence[Pubkey] = (),
        memo: str | None = None,
        compute_units: int | None = None,
    ) -> Sent:
        prepared = self.prepare(
            instructions, signers=signers, lookup_tables=lookup_tables, memo=memo, compute_units=compute_units
        )
        return self.submit(prepared)

    # -- delegated --------------------------------------------------------------------------

    def fund(self, owner: Pubkey, lamports: int) -> None:
        self.inner.fund(owner, lamports)

    def create_mint(self, decimals: int, *, mint_authority: Pubkey | None = None) -> Pubkey:
        return self.inner.create_mint(decimals, mint_authority=mint_authority)

    def token_account(self, owner: Pubkey, mint: Pubkey) -> Pubkey:
        return self.inner.token_account(owner, mint)

    def mint_to(self, mint: Pubkey, account: Pubkey, amount: int) -> None:
        self.inner.mint_to(mint, account, amount)

    def approve(self, owner: Keypair, account: Pubkey, amount: int) -> None:
        self.inner.approve(owner, account, amount)

    def token_balances(self, accounts: Sequence[Pubkey]) -> list[int]:
        return self.inner.token_balances(accounts)

    def delegated_amount(self, account: Pubkey) -> int:
        return self.inner.delegated_amount(account)

    def account_data(self, addresses: Sequence[Pubkey]) -> list[bytes | None]:
        return self.inner.account_data(addresses)

    def transaction_size(
        self,
        instructions: Sequence[Instruction],
        *,
        lookup_tables: Sequence[Pubkey] = (),
        memo: str | None = None,
        compute_units: int | None = None,
    ) -> int:
        return self.inner.transaction_size(
            instructions, lookup_tables=lookup_tables, memo=memo, compute_units=compute_units
        )

    def fits(
        self,
        instructions: Sequence[Instruction],
        *,
        lookup_tables: Sequence[Pubkey] = (),
        memo: str | None = None,
        compute_units: int | None = None,
    ) -> bool:
        return self.inner.fits(instructions, lookup_tables=lookup_tables, memo=memo, compute_units=compute_units)

    def status(self, signature: str) -> TxStatus:
        return self.inner.status(signature)

    def expired(self, sent: Sent) -> bool:
        return self.inner.expired(sent)

    def create_lookup_table(self, addresses: Sequence[Pubkey]) -> Pubkey:
        return self.inner.create_lookup_table(addresses)

    def memo_of(self, signature: str) -> str | None:
        return self.inner.memo_of(signature)

    def signature_with_memo(self, memo: str) -> str | None:
        return self.inner.signature_with_memo(memo)


__all__ = ["FaultyChain"]
