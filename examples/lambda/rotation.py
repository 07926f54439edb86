"""The rotation function of this example: Secrets Manager calls it once per
step of a rotation of the database secret (ROTATION.md). The handler is the
one secretkit ships, written once in Rust; deploy it with the secretkit
package in the function's bundle:

    handler = "rotation.handler"                 # single user (this file)
    # or secretkit.rotation.postgresql.alternating_users directly, with a
    # "masterarn" in the secret naming the secret of a user that may manage both

The function needs a network path to the database (the same VPC) and to
Secrets Manager (a VPC endpoint or NAT); rotation.tf wires it up.
"""

from __future__ import annotations

from typing import Any

from secretkit.rotation import postgresql


def handler(event: dict[str, Any], context: object) -> None:
    postgresql.single_user(event, context)
