"""Every client's notable events on the standard `logging` logger
"secretkit": INFO for a new value (changed, rotated), WARNING for a failure
(error, expired). The routine ones (created, refreshed, evicted, renewed)
are most of the events and are not logged (src/client.rs, `Filter::Notable`);
`client.subscribe` gets them. Records carry `secretkit_event` and
`secretkit_reference` attributes for structured handlers. Never a value:
events name references, versions, lease ids and usernames only.

The logger gets a NullHandler, as libraries do: nothing is printed unless
the application configures logging. `logging` itself is imported at the
first event, not with secretkit (import time).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import logging

    from ._native import Event

INFO, WARNING = 20, 30
LEVELS = {"changed": INFO, "rotated": INFO, "error": WARNING, "expired": WARNING}

_logger: logging.Logger | None = None


def logger() -> logging.Logger:
    global _logger
    if _logger is None:
        import logging

        found = logging.getLogger("secretkit")
        found.addHandler(logging.NullHandler())
        _logger = found
    return _logger


def describe(event: Event) -> str:
    line = f"{event.kind} {event.reference}"
    if event.old_version is not None or event.new_version is not None:
        line += f" version {event.old_version or '-'} -> {event.new_version or '-'}"
    if event.lease_id is not None:
        line += f" lease {event.lease_id}"
    if event.ttl_secs is not None:
        line += f" ttl {event.ttl_secs}s"
    if event.username is not None:
        line += f" user {event.old_username or '-'} -> {event.username}"
    error: Any = event.error
    if error is not None:
        line += f": {error.code}: {error.message}"
    return line


_audit_logger: logging.Logger | None = None


def log_audit(records: list[dict[str, Any]]) -> None:
    """`audit_log=True`: each audit record at INFO on "secretkit.audit", the
    record itself in the `secretkit_audit` attribute (for JSON handlers)."""
    global _audit_logger
    if _audit_logger is None:
        import logging

        _audit_logger = logging.getLogger("secretkit.audit")
    log = _audit_logger
    if not log.isEnabledFor(INFO):
        return
    for r in records:
        who = r["identity"] or {}
        line = f"{r['outcome']} {r['reference']} x{r['count']}"
        if who:
            line += " by " + " ".join(f"{k}={v}" for k, v in sorted(who.items()))
        log.info("%s", line, extra={"secretkit_audit": r})


def audit_dropped(count: int) -> None:
    logger().warning("%d secretkit audit records were dropped: the events queue was full", count)


def log_event(event: Event) -> None:
    """The subscription every client makes (src/client.rs, `build`)."""
    level = LEVELS.get(event.kind, INFO)
    log = logger()
    if log.isEnabledFor(level):
        extra = {"secretkit_event": event.kind, "secretkit_reference": event.reference}
        log.log(level, "%s", describe(event), extra=extra)
