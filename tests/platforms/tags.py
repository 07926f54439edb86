"""Platform test: would pip on this interpreter choose this wheel?

    python tags.py WHEEL_FILE

Uses `packaging` (pip's own tag logic: glibc version from the running libc,
musl version from the interpreter's ELF loader) with it on PYTHONPATH.
Prints the interpreter's most specific platform tag and the wheel tag that
matched; exits 1 if none did.

SK_LOADER_OUTPUT=FILE: what the interpreter's ELF loader printed when run
with no arguments. packaging runs the loader of a musl interpreter to learn
the musl version; under qemu-user without binfmt_misc a guest cannot start a
foreign binary, so scripts/test-platforms.sh runs that same loader under qemu
from outside and hands its output in. packaging still reads the loader's path
from the interpreter and parses the output itself.
"""

import os
import subprocess
import sys
import types

from packaging import _musllinux
from packaging.tags import sys_tags
from packaging.utils import parse_wheel_filename

loader_output = os.environ.get("SK_LOADER_OUTPUT")
if loader_output:
    with open(loader_output, encoding="utf-8") as f:
        text = f.read()

    def run_loader(args: list[str], **_: object) -> subprocess.CompletedProcess[str]:
        print(f"  (the loader {args[0]} was run under qemu from outside)")
        return subprocess.CompletedProcess(args, 1, stdout=None, stderr=text)

    _musllinux.subprocess = types.SimpleNamespace(run=run_loader, PIPE=subprocess.PIPE)  # type: ignore[attr-defined]

wheel_tags = parse_wheel_filename(os.path.basename(sys.argv[1]))[3]
supported = list(sys_tags())
matched = [t for t in supported if t in wheel_tags]
platforms = list(dict.fromkeys(t.platform for t in supported))
specific = [p for p in platforms if not p.startswith("linux_")] or platforms
print(f"  interpreter's newest platform tag: {specific[0]} ({len(platforms)} platform tags in all)")
if matched:
    print(f"  {'ok  '} pip would install this wheel here: tag {matched[0]} (priority {supported.index(matched[0]) + 1} of {len(supported)})")
else:
    print(f"  FAIL pip would not install this wheel here: none of {sorted(map(str, wheel_tags))} is supported")
sys.exit(0 if matched else 1)
