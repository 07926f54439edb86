"""Reads `secretkit get --reveal --json` output on stdin and checks it
against expected.json (reference -> value); prints only references."""

import json
import sys

expected = json.load(open(sys.argv[1]))
got = {a["reference"]: a.get("value") for a in json.load(sys.stdin)}
for ref in expected:
    print(f"  {ref}: {'ok' if got.get(ref) == expected[ref] else 'WRONG'}")
sys.exit(0 if got == expected else 1)
