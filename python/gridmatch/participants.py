"""Participants of a market and what their roles allow."""

from __future__ import annotations

import enum
from dataclasses import dataclass

from gridmatch.errors import GridmatchError


class Role(enum.StrEnum):
    #: Buys only.
    CONSUMER = "consumer"
    #: Buys and sells (sells only GRID it holds).
    PROSUMER = "prosumer"
    #: Runs the epochs.
    OPERATOR = "operator"
    #: Submits meter readings.
    ORACLE = "oracle"


class NotPermitted(GridmatchError, PermissionError):
    """The participant may not do this: unknown, suspended, or the wrong role. `field` names
    the check (participant, role, status) and `value` the participant id."""


@dataclass(frozen=True)
class Participant:
    """`id` is the trader id orders and fills carry; `wallet` the base58 public key whose token
    accounts settle its trades (None for roles that do not trade)."""

    id: int
    role: Role
    name: str = ""
    wallet: str | None = None
    suspended: bool = False

    @property
    def trades(self) -> bool:
        return self.role in (Role.CONSUMER, Role.PROSUMER)

    def require(self, side: int) -> None:
        """Refuses an order of `side` (+1 buy, -1 sell) this participant may not place."""
        if self.suspended:
            raise NotPermitted(f"participant {self.id} is suspended", field="status", value=self.id)
        if not self.trades:
            raise NotPermitted(
                f"participant {self.id} is an {self.role.value}, not a trader", field="role", value=self.id
            )
        if side == -1 and self.role is not Role.PROSUMER:
            raise NotPermitted(f"participant {self.id} is a consumer: it may only buy", field="role", value=self.id)


__all__ = ["NotPermitted", "Participant", "Role"]
