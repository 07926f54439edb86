"""Type stubs for the private native module (checked by tests/test_stubs.py)."""

from __future__ import annotations

from collections.abc import Awaitable
from typing import Any, TypedDict, final

from typing_extensions import NotRequired

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

ERROR_KINDS: tuple[tuple[str, str], ...]

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
        *,
        default_ttl: float | None = None,
        max_entries: int | None = None,
        timeout: float | None = None,
    ) -> None: ...
    @staticmethod
    def from_env(
        *,
        default_ttl: float | None = None,
        max_entries: int | None = None,
        timeout: float | None = None,
    ) -> Client: ...
    def get(self, reference: str) -> Secret: ...
    def get_async(self, reference: str) -> Awaitable[Secret]: ...
    def invalidate(self, reference: str) -> None: ...
    def clear(self) -> None: ...

def parse_reference_json(reference: str) -> str: ...
