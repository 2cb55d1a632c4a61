"""The exception tree. Every error gridmatch raises on purpose is a `GridmatchError`, and each
class also subclasses the builtin a caller would catch without knowing gridmatch (`ValueError`,
plus `TypeError` or `OverflowError` where that is what went wrong)."""

from __future__ import annotations


class GridmatchError(Exception):
    """Base of the tree. `field` names the offending field or parameter, `order_id` the order
    (when one is to blame and its id is known), `value` the value that was refused."""

    def __init__(
        self,
        message: str,
        *,
        field: str | None = None,
        order_id: int | None = None,
        value: object = None,
    ) -> None:
        super().__init__(message)
        self.field = field
        self.order_id = order_id
        self.value = value


class InvalidOrder(GridmatchError, ValueError):
    """An order field holds a value the engine refuses (zero quantity, side not +1/-1, a
    negative, fractional or NaN value where an integer is expected, ...)."""


class DuplicateOrderId(InvalidOrder):
    """Two orders of one batch share an id."""


class OrderDtypeError(GridmatchError, TypeError, ValueError):
    """The orders are not in a shape gridmatch can read: a missing column, a column of the wrong
    kind (strings for prices, booleans, ...), mismatched lengths, a non-1-D array."""


class AmountOverflow(GridmatchError, OverflowError, ValueError):
    """A total of quantities or an amount of money does not fit its integer type."""


class InvalidParameter(GridmatchError, ValueError):
    """A clearing parameter is out of its domain (unknown rule or allocation, k outside [0, 1],
    min_price above max_price, a price that is not a 64-bit integer, ...)."""


class MissingReferencePrice(InvalidParameter):
    """The exchange rule needs a reference price to decide and none was given."""


class IndeterminatePrice(GridmatchError, ValueError):
    """The best prices extend without bound (only market orders on one side of the margin) and
    no min_price/max_price cap closes the interval."""


class ChainError(GridmatchError, RuntimeError):
    """The chain refused or could not carry out a request (a failed transaction, an unreachable
    endpoint). `field` names what was being done; `value` carries the chain's own message."""


class TransactionFailed(ChainError):
    """A transaction reached the chain and failed there; nothing it held took effect."""


class ChainTimeout(ChainError, TimeoutError):
    """No answer in time: the transaction may or may not land, so reconcile before retrying."""


__all__ = [
    "AmountOverflow",
    "ChainError",
    "ChainTimeout",
    "DuplicateOrderId",
    "GridmatchError",
    "IndeterminatePrice",
    "InvalidOrder",
    "InvalidParameter",
    "MissingReferencePrice",
    "OrderDtypeError",
    "TransactionFailed",
]
