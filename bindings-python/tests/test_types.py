"""The stubs agree with the built module: mypy's stubtest compares
python/secretkit/_native.pyi (and the package's sources) with the installed
secretkit, its native module included. Known, explained differences are in
stubtest-allowlist.txt; an allowlist entry that no longer matches fails too."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

BINDING = Path(__file__).resolve().parents[1]


def test_stubtest_finds_no_difference() -> None:
    # MYPYPATH: the stubs of this checkout, not the copy the wheel installed,
    # so an edited .pyi is what gets checked; the run-time side is the
    # installed module (scripts/test.sh builds and installs it first).
    env = {**os.environ, "MYPYPATH": str(BINDING / "python")}
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "mypy.stubtest",
            "--allowlist",
            str(BINDING / "stubtest-allowlist.txt"),
            "--mypy-config-file",
            str(BINDING / "pyproject.toml"),
            "secretkit",
        ],
        cwd=BINDING,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    output = run.stdout + run.stderr
    print(output)
    assert run.returncode == 0, f"stubtest exited {run.returncode}:\n{output}"
