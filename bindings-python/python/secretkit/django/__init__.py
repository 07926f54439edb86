"""secretkit for Django: settings values read from secret references when
they are used, and a PostgreSQL backend that logs in with them.

    from secretkit.django import secret

    SECRET_KEY = secret("ssm:/prod/myapp/django-secret-key")
    STRIPE_API_KEY = secret("vault:secret/myapp/config#stripe_key")
    DATABASES = {
        "default": {
            "ENGINE": "secretkit.django.postgresql",
            "NAME": "myapp",
            "HOST": "db.internal",
            "CREDENTIALS": "vault:database/creds/myapp",  # or USER + PASSWORD
        }
    }

A `secret()` value holds the reference, never the plain value: `repr()` (what
`diffsettings` and Django's error pages print) shows the reference, and the
value is read through the client's cache each time it is used as a string
(`str()`, formatting, comparison, `len()`, any `str` method), so a rotated
value is picked up without a restart. Django itself turns settings into
bytes with `str()` (signing, `force_bytes`), so `SECRET_KEY` works as is.

Which client: `secret(ref, client=c)` uses `c`; otherwise the process-wide
client from `default_client()`, made by `Client.from_env()` on first use
(no network at settings import; it survives `fork()` like any client).
"""

from __future__ import annotations

import hmac
import threading
from typing import Any, NoReturn

from secretkit import Client, Secret, parse_reference

__all__ = ["LazySecret", "default_client", "secret"]

_lock = threading.Lock()
_default: Client | None = None


def default_client() -> Client:
    """The client `secret()` values use when given none: `Client.from_env()`,
    made once per process on first use."""
    global _default
    if _default is None:
        with _lock:
            if _default is None:
                _default = Client.from_env()
    return _default


class LazySecret:
    """A settings value that is a secret reference until it is used as a
    string. See the module's documentation."""

    __slots__ = ("_client", "reference")

    def __init__(self, reference: str, client: Client | None = None) -> None:
        # A malformed reference fails here, when settings load, not at the
        # first request; parsing needs no network.
        parse_reference(reference)
        self.reference = reference
        self._client = client

    @property
    def client(self) -> Client:
        return self._client if self._client is not None else default_client()

    def get(self) -> Secret:
        """The current `Secret` (a cache hit after the first read)."""
        return self.client.get(self.reference)

    def refresh(self) -> Secret:
        """Read the reference from its backend now, past the cache."""
        return self.client.refresh(self.reference)

    def reveal(self) -> str:
        return self.get().reveal()

    # --- where it stands for its value
    def __str__(self) -> str:
        return self.reveal()

    def __format__(self, spec: str) -> str:
        return format(self.reveal(), spec)

    def __len__(self) -> int:
        return len(self.reveal())

    def __iter__(self) -> Any:
        return iter(self.reveal())

    def __contains__(self, part: object) -> bool:
        return isinstance(part, str) and part in self.reveal()

    def __add__(self, other: str) -> str:
        return self.reveal() + other

    def __radd__(self, other: str) -> str:
        return other + self.reveal()

    def __eq__(self, other: object) -> bool:
        if isinstance(other, LazySecret):
            return self.reference == other.reference and self._client is other._client
        if isinstance(other, str):
            # Constant time, as a secret comparison should be.
            return hmac.compare_digest(self.reveal().encode(), other.encode())
        return NotImplemented

    def __hash__(self) -> int:
        # Equal to the plain string's hash, as == with a str requires.
        return hash(self.reveal())

    def __getattr__(self, name: str) -> Any:
        # str methods (startswith, encode, ...) on the current value.
        if name.startswith("__"):
            raise AttributeError(name)
        return getattr(self.reveal(), name)

    # --- where it never shows its value
    def __bool__(self) -> bool:
        # Django asks `if not settings.SECRET_KEY` at startup: a reference is
        # set, and answering needs no backend read.
        return True

    def __repr__(self) -> str:
        return f"secret({self.reference!r})"

    def __copy__(self) -> LazySecret:
        return self

    def __deepcopy__(self, memo: dict[int, Any]) -> LazySecret:
        return self

    def __reduce__(self) -> NoReturn:
        raise TypeError(
            f"secret({self.reference!r}) is not pickled: it stands for a secret value; "
            "pickle the reference string instead"
        )


def secret(reference: str, *, client: Client | None = None) -> LazySecret:
    """A settings value read from `reference` when it is used (see the
    module's documentation). A malformed reference raises
    `InvalidReferenceError` now."""
    return LazySecret(reference, client)
