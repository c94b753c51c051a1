"""How long a console log-in waits: a back-off per (address, login) and per address, never a lock-out.

Locking an account after N wrong passwords lets anyone who knows a login lock
its owner out.  Here attempts are counted per *key* instead: the client
address together with the login typed, and the address alone.  Each key has a
number of free attempts; past them every attempt waits twice as long as the
one before, up to :attr:`Backoff.max_s`.  The owner at another address is never
held up, and the key does not depend on whether the login exists, so the wait
says nothing about which logins do.

This module is the rule (pure); :mod:`daemon.repositories.login_throttle` applies it
atomically in PostgreSQL, so parallel attempts and every node count.
"""

from __future__ import annotations

import hashlib
import ipaddress
from dataclasses import dataclass

MAX_DOUBLINGS = 30  # 2**30 times the base is past any cap (the database stops there too: no overflow)
IPV6_PREFIX = 64  # one subscriber's IPv6 network: its addresses are one client


@dataclass(frozen=True, slots=True)
class Backoff:
    free: int  # attempts without any wait
    base_s: float  # the wait after the first attempt past them
    max_s: float  # the longest wait
    forget_s: float  # a key quiet this long starts again from zero

    def wait_after(self, attempts: int) -> float:
        """Seconds before the next attempt, once ``attempts`` have been made."""
        if attempts < self.free:
            return 0.0
        return min(self.max_s, self.base_s * 2.0 ** min(attempts - self.free, MAX_DOUBLINGS))


# One login from one address: a person mistyping gets 5 tries, a guesser about 4 an hour after that.
BY_LOGIN = Backoff(free=5, base_s=30.0, max_s=900.0, forget_s=86_400.0)
# One address, every login (wrong passwords only: a right one gives its attempt back): spraying many logins.
BY_ADDRESS = Backoff(free=20, base_s=30.0, max_s=900.0, forget_s=86_400.0)

QUIET_S = max(BY_LOGIN.forget_s, BY_ADDRESS.forget_s)  # a key quiet this long is forgotten (housekeeping)


def client_key(remote: str | None) -> str:
    """The address a client is counted by: itself for IPv4 (mapped into IPv6 or not), its /64 for IPv6."""
    try:
        address = ipaddress.ip_address((remote or "").split("%", 1)[0])
    except ValueError:
        return (remote or "unknown")[:64]
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:  # an IPv4 client on a dual-stack socket: itself, not ::ffff:0:0/64
            return str(address.ipv4_mapped)
        return str(ipaddress.ip_network(f"{address}/{IPV6_PREFIX}", strict=False))
    return str(address)


def login_key(login: str) -> bytes:
    """The login typed, as stored: its SHA-256 (the table never holds what strangers typed)."""
    return hashlib.sha256(login.encode("utf-8", "replace")).digest()
