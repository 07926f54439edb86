"""Where a database's login comes from, and whether a connection's login is
still the current one.

A login is a (user, password) pair read through the client's cache. Each
connection remembers a keyed digest of the pair it logged in with (never the
pair); a connection is *superseded* once the cache holds a different pair (a
Vault lease replaced at max_ttl, a Secrets Manager value changed). The
backend retires superseded connections between requests, never mid-query.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from django.core.exceptions import ImproperlyConfigured

from secretkit import Secret, SecretkitError

from . import LazySecret

T = TypeVar("T")

# Per process: digests are useless outside it, so a leaked one cannot be
# checked against guessed passwords.
_DIGEST_KEY = os.urandom(32)

# PostgreSQL's refusals of a login (SQLSTATE 28P01 invalid_password, 28000
# invalid_authorization_specification). libpq gives no SQLSTATE for a failed
# connection, so the server's message it is (English, the server's default
# lc_messages): a wrong password, a role Vault has dropped or not yet
# created, a role past its VALID UNTIL or without LOGIN.
_REFUSED = re.compile(
    r"password authentication failed|role \".*\" does not exist|"
    r"is not permitted to log in|authentication failed for user"
)

# A pair refused again right after a refresh (the backend still serves it:
# mid single-user rotation, between setSecret and finishSecret, or a
# database that refuses it for good) is refreshed again after 1 s, 2 s,
# 4 s ... at most every 30 s: a rotation's window is left soon after it
# ends, and a lasting refusal costs one read (for Vault, a new lease) per
# 30 s at most.
REFRESH_QUIET_FIRST_SECS = 1.0
REFRESH_QUIET_MAX_SECS = 30.0


@dataclass(frozen=True)
class Login:
    user: str | None
    password: str = field(repr=False)
    digest: bytes = field(repr=False)

    def params(self) -> dict[str, str]:
        params = {"password": self.password}
        if self.user is not None:
            params["user"] = self.user
        return params


def login_refused(error: BaseException) -> bool:
    """Whether a connection error is PostgreSQL refusing the login."""
    sqlstate = getattr(error, "sqlstate", None) or getattr(error, "pgcode", None)
    return sqlstate in ("28P01", "28000") or bool(_REFUSED.search(str(error)))


def _digest(user: str | None, password: str) -> bytes:
    text = f"{user or ''}\0{password}".encode()
    return hashlib.blake2b(text, key=_DIGEST_KEY, digest_size=16).digest()


class CredentialSource:
    """One database's login: a `CREDENTIALS` reference whose value is a JSON
    object with `username` and `password` (Vault `database/creds/<role>`, a
    Secrets Manager secret), or `USER` and `PASSWORD` settings of which
    either may be a `secret()` value."""

    def __init__(
        self,
        *,
        credentials: LazySecret | None = None,
        user: str | LazySecret | None = None,
        password: LazySecret | str | None = None,
    ) -> None:
        self._credentials = credentials
        self._user = user
        self._password = password
        self._secrets = tuple(s for s in (credentials, user, password) if isinstance(s, LazySecret))
        self._lock = threading.Lock()
        # The last login derived, by the identity of the Secrets it came
        # from: a cache hit hands back the same Secret objects, so checking a
        # connection costs a few lookups, not a JSON parse and a hash.
        self._last: tuple[tuple[Secret, ...], Login] | None = None
        self._refused: tuple[bytes, float, float] | None = None  # digest, when, quiet secs

    @classmethod
    def from_settings(cls, settings: dict[str, Any]) -> CredentialSource | None:
        """The source a `DATABASES` entry names, or None when its login is
        plain settings."""
        credentials = settings.get("CREDENTIALS")
        user, password = settings.get("USER"), settings.get("PASSWORD")
        if isinstance(credentials, str):
            credentials = LazySecret(credentials)
        if credentials is not None:
            if not isinstance(credentials, LazySecret):
                raise ImproperlyConfigured(
                    "DATABASES CREDENTIALS must be a reference or a secretkit.django.secret()"
                )
            if user or password:
                raise ImproperlyConfigured(
                    f"DATABASES: CREDENTIALS ({credentials.reference}) gives the user and the "
                    "password; leave USER and PASSWORD empty"
                )
            return cls(credentials=credentials)
        if isinstance(user, LazySecret) or isinstance(password, LazySecret):
            if not password:
                raise ImproperlyConfigured("DATABASES: USER is a secret() but PASSWORD is empty")
            return cls(user=user or None, password=password)
        return None

    def describe(self) -> str:
        """The references (never values), for messages."""
        return ", ".join(s.reference for s in self._secrets)

    def current(self) -> Login:
        """The login the cache holds now."""
        secrets = tuple(s.get() for s in self._secrets)
        last = self._last
        if last is not None and len(last[0]) == len(secrets):
            if all(a is b for a, b in zip(last[0], secrets, strict=True)):
                return last[1]
        login = self._derive(secrets)
        self._last = (secrets, login)
        return login

    def is_current(self, digest: bytes | None) -> bool:
        """Whether a connection that logged in with `digest` may stay. A
        backend that cannot be read now does not retire working connections."""
        if digest is None:
            return True
        try:
            return self.current().digest == digest
        except SecretkitError:
            return True

    def connect(self, open_with: Callable[[Login], T]) -> tuple[T, Login]:
        """`open_with(login)` with the current login; if PostgreSQL refuses
        it, once more with the login re-read from the backend."""
        login = self.current()
        try:
            return open_with(login), login
        except Exception as error:
            if not login_refused(error):
                raise
            fresh = self._refresh_after_refusal(login)
            if fresh is None:
                raise
        return open_with(fresh), fresh

    def _refresh_after_refusal(self, refused: Login) -> Login | None:
        # One refresh for all the connections refused together: whoever
        # takes the lock second finds the cache already moved on.
        with self._lock:
            now = self.current()
            if now.digest != refused.digest:
                return now
            last = self._refused
            quiet = 0.0
            if last is not None and last[0] == refused.digest:
                if time.monotonic() - last[1] < last[2]:
                    return None
                quiet = last[2]
            for s in self._secrets:
                s.refresh()
            fresh = self.current()
            if fresh.digest == refused.digest:
                quiet = min(max(quiet * 2, REFRESH_QUIET_FIRST_SECS), REFRESH_QUIET_MAX_SECS)
                self._refused = (refused.digest, time.monotonic(), quiet)
                return None
            return fresh

    def _derive(self, secrets: tuple[Secret, ...]) -> Login:
        if self._credentials is not None:
            (secret,) = secrets
            return self._from_json(secret)
        revealed = iter(s.reveal() for s in secrets)

        def value(setting: str | LazySecret | None) -> str | None:
            # _secrets holds the LazySecret settings in this same order.
            return next(revealed) if isinstance(setting, LazySecret) else setting

        user, password = value(self._user), value(self._password)
        assert password is not None  # from_settings refuses an empty PASSWORD
        return Login(user, password, _digest(user, password))

    def _from_json(self, secret: Secret) -> Login:
        reference = secret.reference
        try:
            data = json.loads(secret.reveal())
        except ValueError:
            data = None
        if not isinstance(data, dict):
            raise ImproperlyConfigured(
                f"DATABASES CREDENTIALS {reference}: not a JSON object with "
                "'username' and 'password'"
            ) from None
        user, password = data.get("username"), data.get("password")
        if not isinstance(user, str) or not isinstance(password, str):
            raise ImproperlyConfigured(
                f"DATABASES CREDENTIALS {reference}: 'username' and 'password' must be strings"
            )
        return Login(user, password, _digest(user, password))
