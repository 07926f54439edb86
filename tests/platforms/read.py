"""Platform test, Python: an unpacked wheel used by a foreign interpreter.

    python read.py EXPECTED.json WHEEL_DIR

scripts/test-platforms.sh runs it under qemu-aarch64 (Debian's arm64 CPython)
and under a musl-linked CPython, with WHEEL_DIR (the wheel, unzipped) on
PYTHONPATH. EXPECTED.json maps each reference to its seeded value. Stdlib only.
Prints one line per check: references, ok / FAIL and lengths, never a value.
"""

import asyncio
import json
import os
import sys

EM = {62: "x86_64", 183: "aarch64"}  # ELF e_machine
failures = 0


def check(name: str, ok: bool, detail: str = "") -> None:
    global failures
    failures += not ok
    print(f"  {'ok  ' if ok else 'FAIL'} {name}{': ' + detail if detail else ''}", flush=True)


def mapped(*needles: str) -> list[str]:
    """Files mapped into this process whose name contains a needle (qemu-user emulates /proc/self/maps)."""
    seen: list[str] = []
    with open("/proc/self/maps", encoding="utf-8", errors="replace") as maps:
        for line in maps:
            path = line.split(maxsplit=5)[5].strip() if len(line.split()) >= 6 else ""
            if path and any(n in os.path.basename(path) for n in needles) and path not in seen:
                seen.append(path)
    return seen


expected_file, wheel_dir = sys.argv[1], os.path.realpath(sys.argv[2])
with open(expected_file, encoding="utf-8") as f:
    expected: dict[str, str] = json.load(f)

machine = os.uname().machine
print(f"  interpreter: CPython {sys.version.split()[0]} on {machine}, libc {', '.join(mapped('libc.so', 'ld-musl', 'libc.musl')) or '?'}")

import secretkit  # noqa: E402
from secretkit import _native  # noqa: E402

check("secretkit imported from the unpacked wheel", os.path.realpath(secretkit.__file__).startswith(wheel_dir + os.sep),
      os.path.relpath(secretkit.__file__, wheel_dir))
with open(_native.__file__, "rb") as f:
    header = f.read(20)
native_machine = EM.get(int.from_bytes(header[18:20], "little"), "other")
check("native module is this machine's architecture and is loaded",
      native_machine == machine and any(p.endswith(os.path.basename(_native.__file__)) for p in mapped("_native")),
      f"{os.path.basename(_native.__file__)} ({native_machine})")

with secretkit.Client.from_env() as client:
    for reference, want in expected.items():
        try:
            secret = client.get(reference)
            value = secret.reveal()
            redacted = want not in repr(secret) and want not in str(secret)
            check(f"get {reference}", value == want and redacted,
                  f"{'value matches' if value == want else 'MISMATCH'}, {'redacted' if redacted else 'NOT REDACTED'}, {len(value)} chars")
        except secretkit.SecretkitError as err:
            check(f"get {reference}", False, f"error {err.kind}")

    first = next(iter(expected))
    try:
        client.get(first)
        hits = client.stats()["hits"]
        check("a repeated get is a cache hit", hits >= 1, f"hits={hits}")
    except secretkit.SecretkitError as err:
        check("a repeated get is a cache hit", False, f"error {err.kind}")

    vault_ref = next((r for r in expected if r.startswith("vault:")), first)

    async def read_async() -> str:
        return (await client.get_async(vault_ref)).reveal()

    try:
        check(f"get_async {vault_ref} (asyncio)", asyncio.run(read_async()) == expected[vault_ref])
    except secretkit.SecretkitError as err:
        check(f"get_async {vault_ref} (asyncio)", False, f"error {err.kind}")

    missing = "ssm:/prod/myapp/no-such-parameter"
    try:
        client.get(missing)
        check("a missing parameter raises NotFoundError", False, "no error")
    except secretkit.NotFoundError as err:
        check("a missing parameter raises NotFoundError", err.reference == missing and err.kind == "not_found",
              f"kind={err.kind}")
    except secretkit.SecretkitError as err:
        check("a missing parameter raises NotFoundError", False, f"{type(err).__name__} kind={err.kind}")

sys.exit(1 if failures else 0)
