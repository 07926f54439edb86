"""Turns the rows of python_compare.py and node_compare.mjs, and the output of
bench/cold_start.py, into one markdown table per runtime, each row with its
ratio to secretkit on the same backend in the same run. Run by compare.sh.

    python bench/compare/render.py --python py.json --node node.json --cold-start cold.txt
"""

from __future__ import annotations

import argparse
import json
import re

LABELS = {"growth_mib": "growth", "after_mib": "RSS after", "wall_ms": "wall", "rss_mib": "peak RSS"}
COLD_TITLE = "4. cold start: new process, import, client from env, read one asm secret"
COLD_LINE = re.compile(r"^(?P<name>\S.*?)\s+(?P<median>[\d.]+)\s+(?P<min>[\d.]+)\s+(?P<rss>[\d.]+)$")
# bench/cold_start.py's case names -> (runtime, library, secretkit?)
COLD_CASES = {
    "python: secretkit": ("python", "secretkit", True),
    "python: boto3": ("python", "boto3 (no cache)", False),
    "python -c pass (floor)": ("python", "`python -c pass` (floor)", False),
    "node: secretkit": ("node", "secretkit", True),
    "node: AWS SDK v3": ("node", "AWS SDK v3 (no cache)", False),
    "node -e 0 (floor)": ("node", "`node -e 0` (floor)", False),
}
COLD_NA = {
    "python": "aws-secretsmanager-caching, Powertools, hvac",
    "node": "Powertools, node-vault",
}


def cold_rows(path: str) -> dict[str, list[dict]]:
    """Rows per runtime from bench/cold_start.py's table."""
    rows: dict[str, list[dict]] = {"python": [], "node": []}
    for line in open(path):
        m = COLD_LINE.match(line.strip())
        if not m or m["name"] not in COLD_CASES:
            continue
        runtime, library, is_sk = COLD_CASES[m["name"]]
        wall, rss = float(m["median"]), float(m["rss"])
        rows[runtime].append(
            {
                "measure": COLD_TITLE,
                "key": "asm",
                "library": library,
                "text": f"{wall:.1f} ms median (min {float(m['min']):.1f}), peak RSS {rss:.1f} MiB",
                "metrics": {"wall_ms": wall, "rss_mib": rss},
                "ratio": ["wall_ms", "rss_mib"],
                "secretkit": is_sk,
            }
        )
    for runtime, peers in COLD_NA.items():
        if not rows[runtime]:
            raise SystemExit(f"no {runtime} rows in {path}: did bench/cold_start.py change its output?")
        rows[runtime].append(
            {
                "measure": COLD_TITLE,
                "key": "asm",
                "library": peers,
                "text": "n/a: bench/cold_start.py measures secretkit against the bare AWS SDK only",
                "metrics": {},
                "ratio": [],
                "secretkit": False,
            }
        )
    return rows


TIMES = "\u00d7"  # the multiplication sign


def times(r: float) -> str:
    return f"{r:,.0f}{TIMES}" if r >= 100 else f"{r:.1f}{TIMES}" if r >= 10 else f"{r:.2f}{TIMES}"


def ratio(row: dict, base: dict | None) -> str:
    if not row["ratio"]:
        return "n/a"
    if base is None:
        return "n/a: no secretkit row"
    parts = []
    for metric in row["ratio"]:
        ours, theirs = base["metrics"][metric], row["metrics"][metric]
        label = f"{LABELS[metric]} " if len(row["ratio"]) > 1 else ""
        if ours <= 0:
            parts.append(f"{label}n/a (secretkit {ours:.2f})")
        else:
            parts.append(f"{label}{times(theirs / ours)}")
    return ", ".join(parts)


def table(rows: list[dict]) -> str:
    out = ["| measurement | library (backend) | result | vs secretkit |", "| --- | --- | --- | --- |"]
    last = None
    for row in sorted(rows, key=lambda r: r["measure"][:2]):  # stable: keeps the scripts' order
        base = next(
            (r for r in rows if r["secretkit"] and r["measure"] == row["measure"] and r["key"] == row["key"]),
            None,
        )
        name = row["measure"] if row["measure"] != last else ""
        last = row["measure"]
        out.append(f"| {name} | {row['library']} | {row['text']} | {ratio(row, base)} |")
    return "\n".join(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--python", required=True)
    parser.add_argument("--node", required=True)
    parser.add_argument("--cold-start", required=True)
    args = parser.parse_args()
    cold = cold_rows(args.cold_start)
    for title, runtime, path in (("Python", "python", args.python), ("Node", "node", args.node)):
        rows = json.load(open(path)) + cold[runtime]
        print(f"### {title}\n\n{table(rows)}\n")


if __name__ == "__main__":
    main()
