"""Type stubs for the private native module (checked by tests/test_stubs.py)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from typing import Any, Literal, TypedDict, final, overload

from typing_extensions import NotRequired, Unpack

from ._events import EventStream
from .errors import SecretkitError

class AwsConfig(TypedDict):
    region: str
    access_key_id: str
    secret_access_key: str
    session_token: NotRequired[str | None]
    endpoint: NotRequired[str | None]

class VaultConfig(TypedDict):
    address: str
    token: str
    namespace: NotRequired[str | None]

class Lease(TypedDict):
    id: str
    duration: int
    renewable: bool

class Options(TypedDict, total=False):
    """Keyword options of Client(...) and Client.from_env(...); seconds and
    fractions as numbers, None for the default."""

    default_ttl: float | None  # 300
    ttl_jitter: float | None  # 0.1: each TTL moves by up to ±10 %
    refresh_ahead: float | None  # 0.75 of the TTL; 1.0 turns it off
    max_stale: float | None  # 3600; 0 turns stale serving off
    negative_ttl: float | None  # 30: how long not-found is remembered
    retry_base: float | None  # 1: first retry after a failed refresh
    retry_max: float | None  # 60: longest retry delay
    max_entries: int | None  # 1024
    timeout: float | None  # 10: bound on each backend request

class BackendCalls(TypedDict):
    ssm: int
    asm: int
    vault: int
    env: int
    file: int

class Stats(TypedDict):
    hits: int
    misses: int
    refreshes: int
    stale_serves: int
    errors: int
    backend_calls: BackendCalls

ERROR_KINDS: tuple[tuple[str, str], ...]

@final
class Event:
    """One cache event; never carries a value."""

    @property
    def kind(self) -> Literal["created", "refreshed", "changed", "error", "evicted"]: ...
    @property
    def reference(self) -> str: ...
    @property
    def old_version(self) -> str | None: ...
    @property
    def new_version(self) -> str | None: ...
    @property
    def error(self) -> SecretkitError | None: ...
    @property
    def at(self) -> float: ...

@final
class Secret:
    def reveal(self) -> str: ...
    def reveal_bytes(self) -> bytes: ...
    @property
    def reference(self) -> str: ...
    @property
    def version(self) -> str | None: ...
    @property
    def fetched_at(self) -> float: ...
    @property
    def lease(self) -> Lease | None: ...
    def __format__(self, spec: str) -> str: ...
    def __reduce__(self) -> Any: ...
    def __reduce_ex__(self, protocol: Any) -> Any: ...
    def __copy__(self) -> Any: ...
    def __deepcopy__(self, memo: Any) -> Any: ...

@final
class Client:
    def __init__(
        self,
        aws: AwsConfig | None = None,
        vault: VaultConfig | None = None,
        **options: Unpack[Options],
    ) -> None: ...
    @staticmethod
    def from_env(**options: Unpack[Options]) -> Client: ...
    def get(self, reference: str) -> Secret: ...
    def get_async(self, reference: str) -> Awaitable[Secret]: ...
    def refresh(self, reference: str) -> Secret: ...
    def refresh_async(self, reference: str) -> Awaitable[Secret]: ...
    @overload
    def get_many(
        self, references: Iterable[str], *, return_exceptions: Literal[False] = False
    ) -> list[Secret]: ...
    @overload
    def get_many(
        self, references: Iterable[str], *, return_exceptions: bool
    ) -> list[Secret | SecretkitError]: ...
    @overload
    def get_many_async(
        self, references: Iterable[str], *, return_exceptions: Literal[False] = False
    ) -> Awaitable[list[Secret]]: ...
    @overload
    def get_many_async(
        self, references: Iterable[str], *, return_exceptions: bool
    ) -> Awaitable[list[Secret | SecretkitError]]: ...
    def prefetch(self, prefix: str) -> int: ...
    def prefetch_async(self, prefix: str) -> Awaitable[int]: ...
    def stats(self) -> Stats: ...
    def subscribe(self, callback: Callable[[Event], object]) -> int: ...
    def unsubscribe(self, id: int) -> None: ...
    def events(self) -> EventStream: ...
    def invalidate(self, reference: str) -> None: ...
    def clear(self) -> None: ...

def parse_reference_json(reference: str) -> str: ...
def _shutdown() -> None: ...
