"""Install test, Python: read the three example secrets with the installed wheel.

    python read.py EXPECTED.json

EXPECTED.json maps each reference to its seeded value. Prints only the
reference, ok / MISMATCH and the length: never a value.
"""

import json
import sys

import secretkit

expected = json.load(open(sys.argv[1], encoding="utf-8"))
failures = 0
if not secretkit.__file__.startswith(sys.prefix + "/"):
    print(f"  secretkit imported from {secretkit.__file__}, outside {sys.prefix}")
    failures += 1
with secretkit.Client.from_env() as client:
    for reference, want in expected.items():
        try:
            secret = client.get(reference)
            value = secret.reveal()
            redacted = want not in repr(secret) and want not in str(secret)
            ok = value == want and redacted
            print(f"  {reference}: {'ok' if ok else 'MISMATCH'} ({len(value)} chars)")
        except secretkit.SecretkitError as err:
            ok = False
            print(f"  {reference}: error {err.kind}")
        failures += not ok
sys.exit(1 if failures else 0)
