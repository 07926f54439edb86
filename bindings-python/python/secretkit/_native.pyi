"""Type stubs for the private native module (checked by tests/test_stubs.py and,
with mypy's stubtest, tests/test_types.py)."""

from __future__ import annotations

from collections.abc import Callable, Coroutine, Iterable
from os import PathLike
from types import TracebackType
from typing import Any, Literal, TypedDict, TypeVar, final, overload, type_check_only

from typing_extensions import NotRequired, Self, Unpack

from ._events import EventStream
from .errors import SecretkitError

# What the native module exports (pyo3 sets it); stubtest compares the two.
__all__ = [
    "ERROR_KINDS",
    "Client",
    "DbCredentials",
    "Event",
    "Identity",
    "Secret",
    "_after_fork_in_child",
    "_shutdown",
    "identity_var",
    "parse_reference_json",
    "rotate",
]

# The TypedDicts below describe dicts the module takes and returns; they exist
# for type checkers only (@type_check_only: stubtest does not look for them
# at run time).

@type_check_only
class AwsConfig(TypedDict):
    region: str
    access_key_id: str
    secret_access_key: str
    session_token: NotRequired[str | None]
    endpoint: NotRequired[str | None]

_T = TypeVar("_T")
# What every *_async method returns: a coroutine (asyncio.run, create_task,
# gather all take it). Made inside a running loop it starts at once.
_Async = Coroutine[Any, Any, _T]
_Path = str | PathLike[str]

@type_check_only
class AppRoleAuth(TypedDict):
    """role_id or role_id_file, and secret_id or secret_id_file (files are
    re-read at every login)."""

    method: Literal["approle"]
    role_id: NotRequired[str]
    role_id_file: NotRequired[_Path]
    secret_id: NotRequired[str]
    secret_id_file: NotRequired[_Path]
    mount: NotRequired[str]  # "approle"

@type_check_only
class KubernetesAuth(TypedDict):
    method: Literal["kubernetes"]
    role: str
    jwt_file: NotRequired[_Path]  # the pod's service-account token
    mount: NotRequired[str]  # "kubernetes"

@type_check_only
class JwtAuth(TypedDict):
    """jwt or jwt_file."""

    method: Literal["jwt"]
    role: str
    jwt: NotRequired[str]
    jwt_file: NotRequired[_Path]
    mount: NotRequired[str]  # "jwt"

@type_check_only
class TokenFileAuth(TypedDict):
    method: Literal["token_file"]
    path: _Path

VaultAuth = AppRoleAuth | KubernetesAuth | JwtAuth | TokenFileAuth

@type_check_only
class VaultConfig(TypedDict):
    """A token, or an auth method to log in with (not both)."""

    address: str
    token: NotRequired[str]
    namespace: NotRequired[str | None]
    auth: NotRequired[VaultAuth]
    ca_cert: NotRequired[str]  # a PEM file of CA certificates (VAULT_CACERT)
    ca_path: NotRequired[str]  # a directory of them (VAULT_CAPATH)
    ca_pem: NotRequired[str]  # PEM CA certificates inline
    client_cert: NotRequired[str]  # mutual TLS: certificate and key files
    client_key: NotRequired[str]
    tls_server_name: NotRequired[str]  # the DNS name TLS checks (VAULT_TLS_SERVER_NAME)

@type_check_only
class Lease(TypedDict):
    id: str
    duration: int
    renewable: bool

@type_check_only
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
    timeout: float | None  # 10: bound on each read, retries included
    revoke_on_close: bool | None  # True: close() revokes the client's Vault leases
    revoke_replaced_after: float | None  # None: a replaced lease runs out by itself
    allow_http: bool | None  # False: plain http only to loopback hosts
    allow_local: bool | None  # True: env: and file: references are read
    read_attempts: int | None  # 3: tries per read on transient failures, 1 to 10
    # The access audit trail (off unless one of file, log or on_audit is set).
    audit_file: _Path | None  # JSON lines appended here (created 0600)
    audit_interval: float | None  # 1: most seconds between an access and its record
    audit_fsync: bool | None  # True: fsync the file after each flush
    audit_log: bool | None  # False: records to the "secretkit.audit" logger (INFO)
    on_audit: Callable[[list[AuditRecord]], object] | None  # on the events thread

@type_check_only
class BackendCalls(TypedDict):
    ssm: int
    asm: int
    vault: int
    env: int
    file: int

@type_check_only
class Stats(TypedDict):
    hits: int
    misses: int
    refreshes: int
    stale_serves: int
    errors: int
    backend_calls: BackendCalls

_AuditOutcome = Literal[
    "hit", "miss", "stale", "error", "denied", "refresh", "renewed", "rotated", "expired"
]

@type_check_only
class AuditRecord(TypedDict):
    """One access (or, for hits, `count` accesses between `first` and
    `last`), never a value. Times are Unix seconds."""

    time: float
    reference: str
    backend: str
    outcome: _AuditOutcome
    count: int
    first: float
    last: float
    version: str | None
    lease_id: str | None
    error: str | None
    identity: dict[str, str] | None

@type_check_only
class LatencyHistogram(TypedDict):
    buckets: list[tuple[float, int]]  # (upper bound in seconds, cumulative count)
    sum: float
    count: int

@type_check_only
class Metrics(TypedDict):
    reads: list[tuple[str, _AuditOutcome, int]]  # (backend, outcome, count)
    backend_calls: dict[str, int]
    latency: dict[str, LatencyHistogram]
    cache_entries: int
    leases: dict[str, float]  # reference -> seconds left

@final
class Identity:
    """Who reads, for the audit trail (set with secretkit.audit_identity)."""

    def __new__(cls, **fields: object) -> Identity: ...
    def fields(self) -> dict[str, str]: ...

def identity_var() -> Any: ...

ERROR_KINDS: tuple[tuple[str, str], ...]

EventKind = Literal[
    "created", "refreshed", "changed", "error", "evicted", "renewed", "rotated", "expired"
]

@final
class Event:
    """One cache or lease event; never carries a value."""

    @property
    def kind(self) -> EventKind: ...
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
    @property
    def lease_id(self) -> str | None: ...
    @property
    def old_lease_id(self) -> str | None: ...
    @property
    def username(self) -> str | None: ...
    @property
    def old_username(self) -> str | None: ...
    @property
    def ttl_secs(self) -> int | None: ...

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
class DbCredentials:
    """One lease's database login; `unwatch()` stops `on_change`."""

    @property
    def username(self) -> str: ...
    @property
    def password(self) -> Secret: ...
    @property
    def lease(self) -> Lease | None: ...
    @property
    def reference(self) -> str: ...
    def unwatch(self) -> None: ...
    def __reduce__(self) -> Any: ...
    def __reduce_ex__(self, protocol: Any) -> Any: ...
    def __copy__(self) -> Any: ...
    def __deepcopy__(self, memo: Any) -> Any: ...

@final
class Client:
    def __new__(
        cls,
        aws: AwsConfig | None = None,
        vault: VaultConfig | None = None,
        **options: Unpack[Options],
    ) -> Client: ...
    @staticmethod
    def from_env(**options: Unpack[Options]) -> Client: ...
    def get(self, reference: str) -> Secret: ...
    def get_async(self, reference: str) -> _Async[Secret]: ...
    def refresh(self, reference: str) -> Secret: ...
    def refresh_async(self, reference: str) -> _Async[Secret]: ...
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
    ) -> _Async[list[Secret]]: ...
    @overload
    def get_many_async(
        self, references: Iterable[str], *, return_exceptions: bool
    ) -> _Async[list[Secret | SecretkitError]]: ...
    def prefetch(self, prefix: str) -> int: ...
    def prefetch_async(self, prefix: str) -> _Async[int]: ...
    def stats(self) -> Stats: ...
    def metrics(self) -> Metrics: ...
    def metrics_text(self) -> str: ...
    def flush_audit(self) -> int: ...
    def subscribe(self, callback: Callable[[Event], object]) -> int: ...
    def unsubscribe(self, id: int) -> None: ...
    def watch(self, reference: str, callback: Callable[[Event], object]) -> int: ...
    def events(self) -> EventStream: ...
    def database_credentials(
        self,
        role: str,
        *,
        mount: str = "database",
        on_change: Callable[[Event], object] | None = None,
    ) -> DbCredentials: ...
    def database_credentials_async(
        self,
        role: str,
        *,
        # "database", as database_credentials; written `...` because the
        # runtime signature says `mount=...` (pyo3 cannot print the owned
        # default `"database".to_owned()`), and stubtest compares the two.
        mount: str = ...,
        on_change: Callable[[Event], object] | None = None,
    ) -> _Async[DbCredentials]: ...
    def close(self) -> int: ...
    def aclose(self) -> _Async[int]: ...
    def __enter__(self) -> Self: ...
    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None: ...
    def __aenter__(self) -> _Async[Self]: ...
    def __aexit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> _Async[None]: ...
    def invalidate(self, reference: str) -> None: ...
    def clear(self) -> None: ...

def parse_reference_json(reference: str) -> str: ...
def rotate(event_json: str, strategy: str) -> None: ...
def _shutdown() -> None: ...
def _after_fork_in_child() -> None: ...
