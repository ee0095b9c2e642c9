"""Slowing down password guessing without handing anyone a way to lock people out.

Three counters for every wrong password, all keyed by hashes of what was typed and where from:
- the account (its email's lookup hash, whether or not an account has it): after
  `lockout_attempts` wrong passwords, sign-in from *unknown devices* waits `lockout_minutes`;
  a device that signed in to the account before (a signed cookie: auth.web.known_accounts)
  goes on;
- the account from one IP: from the third wrong password on, each try waits twice as long as
  the one before (30 s, 1 min, 2 min … 15 min), known device or not;
- the IP over every account (credential stuffing): from the 20th, 1 min doubling up to 1 h.
A try that has to wait is answered without checking the password, the same for every address.
A known device waits only on its own (account, IP) counter.
"""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta

from sqlalchemy import and_, delete, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from config.settings import Settings
from webapp.auth.models import LoginThrottle
from webapp.pii import PiiCipher

PAIR_FREE, PAIR_FIRST, PAIR_LONGEST = 2, timedelta(seconds=30), timedelta(minutes=15)
IP_FREE, IP_FIRST, IP_LONGEST = 19, timedelta(minutes=1), timedelta(hours=1)
FORGET_AFTER = timedelta(hours=1)  # a counter with no failure for this long starts again
KEEP = timedelta(days=1)  # rows older than this are purged (hourly)


def subjects(cipher: PiiCipher, email_hash: str, ip: str) -> dict[str, str]:
    return {
        "account": email_hash,
        "pair": hashlib.sha256(f"{email_hash}|{ip}".encode()).hexdigest(),
        "ip": cipher.lookup_hash(f"ip:{ip}"),
    }


def waiting_until(
    session: Session, keys: dict[str, str], *, known_device: bool, now: datetime
) -> datetime | None:
    """When this try may go ahead (None: now)."""
    kinds = _kinds_for(known_device)
    rows = session.scalars(
        select(LoginThrottle).where(
            or_(*(and_(LoginThrottle.kind == k, LoginThrottle.subject == keys[k]) for k in kinds)),
            LoginThrottle.until > now,
        )
    ).all()
    return max((row.until for row in rows), default=None)


def _kinds_for(known_device: bool) -> tuple[str, ...]:
    """The counters a try waits on. A device that signed in to the account before waits only on
    its own pair: neither the account's lock nor its address's (a carrier's shared IP, where
    strangers guess at other accounts) shuts its owner out."""
    return ("pair",) if known_device else ("account", "pair", "ip")


def count_failure(
    session: Session, settings: Settings, keys: dict[str, str], *, known_device: bool, now: datetime
) -> datetime | None:
    """Count a wrong password on all three counters; when this try's next one may come (None:
    at once). An account lock says until when in any case, for the third try's message."""
    account = _bump(session, "account", keys["account"], now)
    if account.failures >= settings.lockout_attempts:
        account.failures, account.until = 0, now + timedelta(minutes=settings.lockout_minutes)
    pair = _bump(session, "pair", keys["pair"], now)
    pair.until = _growing(now, pair.failures - PAIR_FREE, PAIR_FIRST, PAIR_LONGEST)
    ip = _bump(session, "ip", keys["ip"], now)
    ip.until = _growing(now, ip.failures - IP_FREE, IP_FIRST, IP_LONGEST)
    untils = {"account": account.until, "pair": pair.until, "ip": ip.until}
    waits = [untils[kind] for kind in _kinds_for(known_device)]
    return max((until for until in waits if until and until > now), default=None)


def account_locks(session: Session, email_hashes: list[str], now: datetime) -> dict[str, datetime]:
    """{email hash: locked until} for those of these accounts locked now (one query)."""
    rows = session.execute(
        select(LoginThrottle.subject, LoginThrottle.until).where(
            LoginThrottle.kind == "account",
            LoginThrottle.subject.in_(email_hashes),
            LoginThrottle.until > now,
        )
    )
    return {subject: until for subject, until in rows}


def locked_accounts(now: datetime):
    """A subquery of the email hashes whose unknown devices are locked out now."""
    return select(LoginThrottle.subject).where(
        LoginThrottle.kind == "account", LoginThrottle.until > now
    )


def clear(session: Session, keys: dict[str, str], now: datetime) -> None:
    """A right password: this (account, IP) count starts again, and so does the account's,
    unless it is locked now (its owner signed in from a known device while a stranger guesses:
    the stranger's devices stay locked out)."""
    session.execute(
        delete(LoginThrottle).where(
            (LoginThrottle.kind == "pair") & (LoginThrottle.subject == keys["pair"])
            | (LoginThrottle.kind == "account")
            & (LoginThrottle.subject == keys["account"])
            & (LoginThrottle.until.is_(None) | (LoginThrottle.until <= now))
        )
    )


def unlock(session: Session, email_hash: str) -> None:
    """An admin lifts an account's lock (and its count) before it runs out."""
    session.execute(
        delete(LoginThrottle).where(
            LoginThrottle.kind == "account", LoginThrottle.subject == email_hash
        )
    )


def purge(session: Session, now: datetime) -> int:
    result = session.execute(
        delete(LoginThrottle).where(
            LoginThrottle.last_at < now - KEEP,
            (LoginThrottle.until.is_(None)) | (LoginThrottle.until < now),
        )
    )
    return result.rowcount or 0


def _growing(now: datetime, over: int, first: timedelta, longest: timedelta) -> datetime | None:
    if over <= 0:
        return None
    return now + min(longest, first * 2 ** min(over - 1, 20))


def _bump(session: Session, kind: str, subject: str, now: datetime) -> LoginThrottle:
    """The counter, one more failure on it (a stale one starts again), in this transaction."""
    fresh = LoginThrottle.last_at >= now - FORGET_AFTER
    where = (LoginThrottle.kind == kind) & (LoginThrottle.subject == subject)
    # One statement each way, so that two processes counting at once both count.
    done = session.execute(
        update(LoginThrottle)
        .where(where, fresh)
        .values(failures=LoginThrottle.failures + 1, last_at=now)
    ).rowcount
    if not done:
        done = session.execute(
            update(LoginThrottle).where(where).values(failures=1, last_at=now, until=None)
        ).rowcount
    if not done:
        try:
            with session.begin_nested():
                session.add(LoginThrottle(kind=kind, subject=subject, failures=1, last_at=now))
        except IntegrityError:  # another process inserted it a moment ago
            session.execute(
                update(LoginThrottle)
                .where(where)
                .values(failures=LoginThrottle.failures + 1, last_at=now)
            )
    return session.get_one(LoginThrottle, (kind, subject), populate_existing=True)
