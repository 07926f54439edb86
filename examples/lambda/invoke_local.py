#!/usr/bin/env python3
"""Invoke handler.handler locally, the way the Lambda runtime would: import
the module once (the init phase), then call the handler twice (a cold and a
warm invocation) with a minimal event and context. Prints each response body
as JSON, one per line; the second is served from the client's cache, so its
fetched_at values equal the first's. Exit status 1 if any invocation failed.

    python invoke_local.py            # reads AWS_* / VAULT_* from the environment
"""

from __future__ import annotations

import json
import sys
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))


class Context:
    """The attributes of the Lambda context object a handler commonly uses."""

    function_name = "secretkit-example"
    function_version = "$LATEST"
    memory_limit_in_mb = 128

    def __init__(self, timeout_s: float = 30.0) -> None:
        self.aws_request_id = str(uuid.uuid4())
        self._deadline = time.monotonic() + timeout_s

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


def main() -> int:
    import handler  # the init phase: creates the client once

    event = {"rawPath": "/secrets", "requestContext": {"http": {"method": "GET"}}}
    status = 0
    for _ in range(2):
        response = handler.handler(event, Context())
        print(json.dumps(json.loads(response["body"])))
        if response["statusCode"] != 200:
            status = 1
    return status


if __name__ == "__main__":
    sys.exit(main())
