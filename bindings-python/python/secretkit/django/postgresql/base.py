"""Django's PostgreSQL backend (psycopg 3 or psycopg2), logging in with a
login from secretkit, read when a connection is opened:

    "CREDENTIALS": "vault:database/creds/myapp"           # user + password, one lease
    "CREDENTIALS": "asm:prod/myapp/db-credentials"        # {"username", "password"}
    "USER": "app", "PASSWORD": secret("ssm:/prod/myapp/db-password")

- Works with `CONN_MAX_AGE`, `CONN_HEALTH_CHECKS` and `OPTIONS["pool"]`
  (psycopg 3's pool: each new pooled connection logs in with the login of
  that moment).
- A login PostgreSQL refuses is re-read from its backend once (one refresh
  for all the connections refused together) and the connection tried again.
- Connections whose login the cache no longer holds (a Vault lease replaced
  near max_ttl, a Secrets Manager value changed) are retired between
  requests: persistent connections at the request boundary, pooled ones
  when they come back to the pool (`pool.drain()`), never mid-query.
"""

from __future__ import annotations

import threading
import weakref
from typing import Any

from django.db import DEFAULT_DB_ALIAS
from django.db.backends.base.base import NO_DB_ALIAS
from django.db.backends.postgresql import base
from django.db.backends.postgresql.psycopg_any import is_psycopg3
from django.db.utils import ImproperlyConfigured

from .._credentials import CredentialSource, Login

# Pools already drained for a login, so that threads meeting superseded
# connections at once drain a pool once, not once each.
_drained: weakref.WeakKeyDictionary[Any, bytes] = weakref.WeakKeyDictionary()
_drain_lock = threading.Lock()


if is_psycopg3:
    import psycopg

    class SecretkitConnection(psycopg.Connection):  # type: ignore[type-arg]
        """A pooled connection that logs in with its pool's current login
        (the pool calls `connect` for every new connection)."""

        credential_source: CredentialSource
        secretkit_login: bytes | None = None

        @classmethod
        def connect(cls, conninfo: str = "", **params: Any) -> Any:  # type: ignore[override]
            def open_with(login: Login) -> Any:
                return super(SecretkitConnection, cls).connect(
                    conninfo, **{**params, **login.params()}
                )

            connection, login = cls.credential_source.connect(open_with)
            connection.secretkit_login = login.digest
            return connection


class DatabaseWrapper(base.DatabaseWrapper):
    def __init__(self, settings_dict: dict[str, Any], alias: str = DEFAULT_DB_ALIAS) -> None:
        super().__init__(settings_dict, alias)
        self.credential_source = CredentialSource.from_settings(settings_dict)
        # The digest of the login the open (non-pooled) connection used.
        self._login: bytes | None = None

    def get_connection_params(self) -> dict[str, Any]:
        params = super().get_connection_params()
        if self.credential_source is not None:
            # Added per connection (get_new_connection, the pool's
            # connection class): never kept in params the pool holds.
            params.pop("user", None)
            params.pop("password", None)
        return params

    def get_new_connection(self, conn_params: dict[str, Any]) -> Any:
        source = self.credential_source
        if source is None:
            return super().get_new_connection(conn_params)
        if self.pool is not None:
            return self._checkout(conn_params)

        def open_with(login: Login) -> Any:
            return base.DatabaseWrapper.get_new_connection(self, {**conn_params, **login.params()})

        connection, login = source.connect(open_with)
        self._login = login.digest
        return connection

    def _checkout(self, conn_params: dict[str, Any]) -> Any:
        source = self.credential_source
        assert source is not None and self.pool is not None
        pool = self.pool
        for _ in range(pool.max_size + 1):
            connection = super().get_new_connection(conn_params)
            login = getattr(connection, "secretkit_login", None)
            if source.is_current(login):
                return connection
            # Superseded: retire every connection of the old login, idle
            # ones now and checked-out ones as they come back, then take
            # another (a new one logs in with the current login).
            with _drain_lock:
                current = source.current().digest
                if _drained.get(pool) != current:
                    _drained[pool] = current
                    pool.drain()
            pool.putconn(connection)
        return connection

    def close_if_unusable_or_obsolete(self) -> None:
        super().close_if_unusable_or_obsolete()
        # Django calls this when a request starts and ends: the one moment a
        # persistent connection can be dropped without failing a query.
        source = self.credential_source
        if source is not None and self.connection is not None and self.pool is None:
            if not source.is_current(self._login):
                self.close()

    @property
    def pool(self) -> Any:
        source = self.credential_source
        if source is None:
            return super().pool
        pool_options = self.settings_dict["OPTIONS"].get("pool")
        if self.alias == NO_DB_ALIAS or not pool_options:
            return None
        if self.alias not in self._connection_pools:
            self._connection_pools.setdefault(self.alias, self._make_pool(source, pool_options))
        return self._connection_pools[self.alias]

    def _make_pool(self, source: CredentialSource, pool_options: Any) -> Any:
        # Django's own pool (django/db/backends/postgresql/base.py), with a
        # connection class that logs in with the current login.
        if not is_psycopg3:
            raise ImproperlyConfigured("Database pooling requires psycopg >= 3")
        if self.settings_dict.get("CONN_MAX_AGE", 0) != 0:
            raise ImproperlyConfigured("Pooling doesn't support persistent connections.")
        from psycopg_pool import ConnectionPool

        options = {} if pool_options is True else dict(pool_options)
        if "connection_class" in options:
            raise ImproperlyConfigured(
                "secretkit.django.postgresql sets the pool's connection_class itself"
            )
        kwargs = self.get_connection_params()
        kwargs["autocommit"] = True

        # A subclass per pool, holding this database's source.
        connection_class = type(
            "SecretkitConnection", (SecretkitConnection,), {"credential_source": source}
        )
        checks = self.settings_dict["CONN_HEALTH_CHECKS"]
        return ConnectionPool(
            kwargs=kwargs,
            open=False,
            configure=self._configure_connection,
            check=ConnectionPool.check_connection if checks else None,
            connection_class=connection_class,
            **options,
        )
