#!/usr/bin/env python3
"""Leak canary scan (RELIABILITY.md, "Leak canary").

    SK_CANARY=canary-<32 hex> scripts/leak_scan.py PATH...   # scan; exit 1 on a leak
    scripts/leak_scan.py --self-test                         # prove the scan can fail

tests/servers.py plants SK_CANARY in every backend; each binding's canary test
reads it through every scheme, pushes it through every path a value could
escape by (formatting, logging, errors, events, stats, the client object) and
prints a proof line `leak canary: <binding> read <schemes>: ok ...`.

This scan then searches PATHs (files; for a directory, every `*.log` under it)
for the canary, case-insensitively for any 12 consecutive characters of its
random part (a truncated copy counts), and for its base64, hex and byte-list
encodings (a value printed as bytes). It fails on any occurrence, printing
file:line with the value masked, and also fails when a binding's proof line
is missing: a scan of output in which the canary was never read proves
nothing. The value comes from the environment, never from the command line,
and is never printed.
"""

from __future__ import annotations

import argparse
import base64
import os
import re
import secrets
import sys
import tempfile
from pathlib import Path

FORMAT = re.compile(r"canary-[0-9a-f]{32}")
WINDOW = 12  # hex characters: 48 random bits, no false positive in practice
PROOF = re.compile(r"leak canary: (\S+) read ([a-z -]+?): ok\b")
BACKENDS = {"ssm", "asm", "asm-json", "vault"}
LOCAL = {"env", "file"}  # native bindings only: the edge has neither
REQUIRED = ("core", "python", "node", "wasm-node", "wasm-deno", "wasm-workerd", "ruby")
# What a hit is masked with when shown: long hex or base64-looking runs.
MASK = re.compile(r"[0-9A-Za-z+/=_-]{8,}")


def patterns(canary: str) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """(case-insensitive, case-sensitive) lists of (what, text) to look for."""
    raw = canary.encode()
    tail = canary.split("-", 1)[1]
    folded = [("text", tail[i : i + WINDOW]) for i in range(len(tail) - WINDOW + 1)]
    thirds = [tail[:WINDOW], tail[len(tail) // 2 - WINDOW // 2 :][:WINDOW], tail[-WINDOW:]]
    for part in thirds:
        b = part.encode()
        for sep in ("", " ", ":", "\\x", "-"):
            folded.append((f"hex({sep!r})", sep.join(f"{c:02x}" for c in b)))
        for sep in (", ", ","):
            folded.append(("byte list", sep.join(str(c) for c in b)))
    exact = []
    for shift in range(3):  # base64 of the canary at each alignment in a larger buffer
        for name, enc in (("base64", base64.b64encode), ("base64url", base64.urlsafe_b64encode)):
            text = enc(b"\0" * shift + raw).decode()
            exact.append((f"{name}+{shift}", text[4:-4]))
    return folded, exact


def masked(line: str, texts: list[str], haystack: str) -> str:
    """`line` with every occurrence of `texts` in `haystack` (line or its
    lower-case form: same length, hex and ASCII only) starred out."""
    hide = bytearray(len(line))
    for t in texts:
        start = haystack.find(t)
        while start >= 0:
            hide[start : start + len(t)] = b"\1" * len(t)
            start = haystack.find(t, start + 1)
    return "".join("*" if hide[i] else c for i, c in enumerate(line))


def files_of(paths: list[Path]) -> list[Path]:
    out = []
    for p in paths:
        if p.is_dir():
            out += sorted(f for f in p.rglob("*.log") if f.is_file())
        elif p.is_file():
            out.append(p)
        else:
            raise SystemExit(f"leak canary: {p} does not exist")
    return out


def scan(
    canary: str, paths: list[Path], require: tuple[str, ...] = REQUIRED, out=sys.stdout
) -> bool:
    """True when no file holds the canary and every required proof line is there."""
    if not FORMAT.fullmatch(canary):
        print("leak canary: SK_CANARY is not `canary-<32 hex>` (was it planted?)", file=out)
        return False
    folded, exact = patterns(canary)
    folded = [(what, text.lower()) for what, text in folded]
    files = files_of(paths)
    hits, size, proofs = [], 0, {}
    for f in files:
        data = f.read_bytes()
        size += len(data)
        for n, line in enumerate(data.decode("utf-8", "replace").splitlines(), 1):
            low = line.lower()
            found = [w for w, t in folded if t in low] + [w for w, t in exact if t in line]
            if found:
                shown = masked(line, [t for _, t in folded], low)
                shown = masked(shown, [t for _, t in exact], shown)
                kinds = ", ".join(sorted(set(found)))
                hits.append(f"{f}:{n}: [{kinds}] {MASK.sub('<masked>', shown)[:200]}")
            m = PROOF.search(line)
            if m:
                proofs.setdefault(m.group(1), set()).update(m.group(2).split())
    ok = True
    for hit in hits:
        print(f"LEAK {hit}", file=out)
    if hits:
        ok = False
    for name in require:
        want = BACKENDS | (set() if name.startswith("wasm") else LOCAL)
        if name not in proofs:
            print(
                f"leak canary: no proof line from {name}: its canary test did not read the canary",
                file=out,
            )
            ok = False
        elif not want <= proofs[name]:
            print(
                f"leak canary: {name} did not read via {' '.join(sorted(want - proofs[name]))}",
                file=out,
            )
            ok = False
    if not files or size == 0:
        print("leak canary: nothing to scan", file=out)
        ok = False
    print(
        f"leak canary: {len(hits)} occurrence(s) in {len(files)} files ({size / 1e6:.1f} MB); "
        f"read by {' '.join(sorted(proofs)) or 'nobody'}: {'PASS' if ok else 'FAIL'}",
        file=out,
    )
    return ok


def self_test() -> bool:
    """A made-up canary (never the run's) planted in each form must be found;
    clean output with every proof line must pass; a missing proof must fail."""
    canary = "canary-" + secrets.token_hex(16)
    tail = canary[7:]
    local = {n: "" if n.startswith("wasm") else " env file" for n in REQUIRED}
    proofs = "".join(
        f"# leak canary: {n} read ssm asm asm-json vault{local[n]}: ok\n" for n in REQUIRED
    )
    leaks = {
        "raw": f"value={canary}\n",
        "repr": f"Secret('{canary}')\n",
        "upper": canary.upper() + "\n",
        "truncated": f"error: ... {tail[5:19]}… (truncated)\n",
        "base64": base64.b64encode(b"x" + canary.encode()).decode() + "\n",
        "base64url": base64.urlsafe_b64encode(b"xy" + canary.encode()).decode() + "\n",
        "hex": "<Buffer " + " ".join(f"{c:02x}" for c in canary.encode()) + ">\n",
        "bytes": str(list(canary.encode())) + "\n",
    }
    sink = open(os.devnull, "w")  # closed below
    ok = True
    with tempfile.TemporaryDirectory() as d:
        clean = Path(d, "clean.log")
        clean.write_text("Secret(ssm:/test/canary, <redacted>)\ncanary-user\n" + proofs)
        if not scan(canary, [Path(d)], out=sink):
            print("leak canary self-test: clean output did not pass")
            ok = False
        if scan(canary, [clean], require=(*REQUIRED, "missing"), out=sink):
            print("leak canary self-test: a missing proof line passed")
            ok = False
        for what, text in leaks.items():
            leaked = Path(d, "sub", f"{what}.log")
            leaked.parent.mkdir(exist_ok=True)
            leaked.write_text("ok line\n" + text)
            if scan(canary, [Path(d)], out=sink):
                print(f"leak canary self-test: a {what} copy was not found")
                ok = False
            leaked.unlink()
    sink.close()
    print(
        f"leak canary self-test: {len(leaks)} planted forms found, clean output passed: "
        f"{'PASS' if ok else 'FAIL'}"
    )
    return ok


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("paths", nargs="*", type=Path)
    ap.add_argument("--self-test", action="store_true", help="prove the scan finds planted copies")
    ap.add_argument(
        "--require",
        default=",".join(REQUIRED),
        help="bindings whose proof line must be present (comma-separated; '' for none)",
    )
    args = ap.parse_args()
    if args.self_test:
        return 0 if self_test() else 1
    if not args.paths:
        ap.error("nothing to scan")
    require = tuple(n for n in args.require.split(",") if n)
    return 0 if scan(os.environ.get("SK_CANARY", ""), args.paths, require) else 1


if __name__ == "__main__":
    sys.exit(main())
