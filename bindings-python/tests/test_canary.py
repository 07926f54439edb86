"""Leak canary (RELIABILITY.md, "Leak canary").

tests/servers.py plants one random value, SK_CANARY, in every backend (SSM
SecureString, Secrets Manager plain and JSON, Vault KV v2, the environment, a
file). These tests read it through every scheme and every read call, then push
the secrets, errors, events, stats and the client through every way a value
could be printed: str/repr/format/f-strings/%, pprint, json, logging at DEBUG
(to a real log file) with tracebacks, pickling of errors. Nothing may contain
the canary, or any 12 characters of its random part; only reveal() gives it.

Everything rendered is also written to $SK_CANARY_OUT/python.log, which
scripts/test.sh scans with the whole run's output (scripts/leak_scan.py).
The last test prints the proof line the scan requires.
"""

from __future__ import annotations

import asyncio
import io
import json
import logging
import os
import pickle
import pprint
import re
import reprlib
import tempfile
import traceback
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import Recorder, wait_until

from secretkit import Client, SecretkitError

SCHEMES = ("ssm", "asm", "asm-json", "vault", "env", "file")
WINDOW = 12  # as scripts/leak_scan.py: any 12 characters of the random part count


class Outputs:
    """Every text the tests rendered, checked for the canary and logged."""

    def __init__(self, canary: str, log: Path) -> None:
        tail = canary.split("-", 1)[1]
        self.windows = {tail[i : i + WINDOW].lower() for i in range(len(tail) - WINDOW + 1)}
        self.log = log
        self.count = 0
        self.done: set[str] = set()
        self._file = log.open("a", encoding="utf-8")

    def leaks(self, text: str) -> bool:
        low = text.lower()
        return any(w in low for w in self.windows)

    def check(self, label: str, value: Any) -> None:
        text = value if isinstance(value, str) else repr(value)
        self.count += 1
        self._file.write(f"[{label}] {text}\n")
        self._file.flush()
        if self.leaks(text):
            pytest.fail(f"LEAK: {label} shows the canary: {self.masked(text)[:500]}")

    def masked(self, text: str) -> str:
        """`text` with every window (in any case) starred out."""
        hide = [False] * len(text)
        for w in self.windows:
            for m in re.finditer(w, text, flags=re.IGNORECASE):
                hide[m.start() : m.end()] = [True] * (m.end() - m.start())
        return "".join("*" if hide[i] else c for i, c in enumerate(text))

    def close(self) -> None:
        self._file.close()


@pytest.fixture(scope="module")
def refs(servers: dict[str, str]) -> dict[str, str]:
    names = {s: "SK_CANARY_" + s.upper().replace("-", "_") for s in SCHEMES}
    missing = [n for n in ["SK_CANARY", *names.values()] if not os.environ.get(n)]
    if missing:
        pytest.fail(f"{missing} unset: start the servers with tests/servers.py --fixtures")
    return {s: os.environ[n] for s, n in names.items()}


@pytest.fixture(scope="module")
def canary(refs: dict[str, str]) -> str:
    return os.environ["SK_CANARY"]


@pytest.fixture(scope="module")
def out(canary: str) -> Iterator[Outputs]:
    base = os.environ.get("SK_CANARY_OUT") or tempfile.mkdtemp(prefix="secretkit-canary-")
    Path(base).mkdir(parents=True, exist_ok=True)
    outputs = Outputs(canary, Path(base) / "python.log")
    yield outputs
    outputs.close()


def renderings(obj: Any) -> dict[str, Any]:
    """Every way application code commonly turns an object into text."""
    shown: dict[str, Any] = {
        "str": str(obj),
        "repr": repr(obj),
        "format": format(obj),
        "f-string": f"{obj}",
        "f-string !r": f"{obj!r}",
        "%s": "%s" % (obj,),  # noqa: UP031 - the old style is a path too
        "%r": "%r" % (obj,),  # noqa: UP031
        "str.format": "{} {!r}".format(obj, obj),  # noqa: UP032
        "list": str([obj]),
        "dict": str({"value": obj}),
        "pprint": pprint.pformat({"nested": [obj]}),
        "reprlib": reprlib.repr(obj),
        "json default=str": json.dumps({"value": obj}, default=str),
        "dir": dir(obj),
    }
    try:  # a format spec: Secret applies it to the redacted text, most types refuse it
        shown["f-string :>90"] = f"{obj:>90}"
    except TypeError as e:
        shown["f-string :>90"] = repr(e)
    for name in dir(obj):
        if name.startswith("__") or name in ("reveal", "reveal_bytes"):
            continue
        try:
            attr = getattr(obj, name)
        except Exception as e:
            attr = e
        if not callable(attr):
            shown[f".{name}"] = repr(attr)
    return shown


def check_all(out: Outputs, label: str, obj: Any) -> None:
    for how, text in renderings(obj).items():
        out.check(f"{label} {how}", text if isinstance(text, str) else repr(text))


def check_error(out: Outputs, label: str, e: BaseException) -> None:
    check_all(out, label, e)
    out.check(f"{label} args", e.args)
    out.check(f"{label} __dict__", e.__dict__)
    out.check(
        f"{label} traceback", "".join(traceback.format_exception(type(e), e, e.__traceback__))
    )
    out.check(f"{label} pickled", repr(pickle.dumps(e)))
    for link in ("__cause__", "__context__"):
        if getattr(e, link) is not None:
            check_error(out, f"{label} {link}", getattr(e, link))


def test_the_check_catches_copies_and_masks_them(tmp_path: Path) -> None:
    """A made-up canary in each form is caught; the failure does not repeat it."""
    canary = "canary-0123456789abcdef0123456789abcdef"
    check = Outputs(canary, tmp_path / "self.log")
    check.check("clean", "Secret(ssm:/test/canary, <redacted>)")
    for text in (f"Secret({canary})", canary.upper(), f"… {canary[12:26]} (truncated)"):
        with pytest.raises(pytest.fail.Exception) as info:
            check.check("planted", text)
        message = str(info.value)
        assert message.startswith("LEAK: planted"), message
        assert canary[7:][-6:] not in message.lower(), f"the failure repeats the value: {message}"
    check.close()


def test_reads_through_every_scheme_and_call(
    refs: dict[str, str], canary: str, out: Outputs
) -> None:
    client = Client.from_env()
    for scheme, ref in refs.items():
        secret = client.get(ref)
        assert secret.reveal() == canary, f"{scheme}: {ref} is not the planted canary"
        assert secret.reveal_bytes() == canary.encode()
        check_all(out, f"get({scheme})", secret)
        again = asyncio.run(client.get_async(ref))
        assert again.reveal() == canary
        refreshed = client.refresh(ref)
        assert refreshed.reveal() == canary
        check_all(out, f"refresh({scheme})", refreshed)
        for how in ("pickle", "copy"):
            with pytest.raises(TypeError) as info:
                pickle.dumps(secret) if how == "pickle" else __import__("copy").copy(secret)
            check_error(out, f"{how}({scheme}) refused", info.value)
    fresh = Client.from_env()
    many = fresh.get_many(list(refs.values()))
    assert [s.reveal() for s in many] == [canary] * len(refs)
    check_all(out, "get_many", many)
    out.check("prefetch count", fresh.prefetch("ssm:/test/"))
    out.done.add("reads")


# (reference suffix, scheme) pairs that must fail without showing the value.
def failing_refs(refs: dict[str, str]) -> dict[str, str]:
    asm_json = refs["asm-json"].split("#")[0]
    vault = refs["vault"].split("#")[0]
    return {
        "missing JSON field": asm_json + "#missing_field",
        "missing Vault field": vault + "#missing_field",
        "field of a non-JSON SSM value": refs["ssm"] + "#password",
        "field of a non-JSON ASM value": refs["asm"] + "#password",
        "field of a non-JSON env value": refs["env"] + "#password",
        "field of a non-JSON file": refs["file"] + "#password",
        "wrong Vault ?version=": vault + "?version=9#password",
        "wrong ASM ?version=": refs["asm"] + "?version=00000000-0000-4000-8000-000000000000",
        "missing ASM stage": refs["asm"] + "?stage=AWSPREVIOUS",
        "wrong SSM version": refs["ssm"] + ":99",
        "invalid reference": refs["ssm"] + "?ttl=forever",
    }


def test_errors_name_the_reference_never_the_value(refs: dict[str, str], out: Outputs) -> None:
    client = Client.from_env()
    for ref in refs.values():
        client.get(ref)  # cached: the failing selections below read the cached value
    kinds = set()
    for what, ref in failing_refs(refs).items():
        with pytest.raises(SecretkitError) as info:
            client.get(ref)
        kinds.add(info.value.kind)
        check_error(out, f"error {what}", info.value)
        with pytest.raises(SecretkitError) as info:
            asyncio.run(Client.from_env().get_async(ref))  # uncached: straight from the backend
        check_error(out, f"error async {what}", info.value)
    settled = Client.from_env().get_many(
        [*failing_refs(refs).values(), *refs.values()], return_exceptions=True
    )
    for i, item in enumerate(settled):
        if isinstance(item, BaseException):
            check_error(out, f"get_many item {i}", item)
        else:
            check_all(out, f"get_many item {i}", item)
    assert {"not_found", "invalid_response", "invalid_reference"} <= kinds, kinds
    out.done.add("errors")


def test_logging_at_debug_with_tracebacks(refs: dict[str, str], out: Outputs) -> None:
    stream = io.StringIO()
    handlers = [logging.FileHandler(out.log, encoding="utf-8"), logging.StreamHandler(stream)]
    fmt = logging.Formatter("%(levelname)s %(name)s %(message)s")
    root = logging.getLogger()
    old_level = root.level
    root.setLevel(logging.DEBUG)
    for h in handlers:
        h.setFormatter(fmt)
        h.setLevel(logging.DEBUG)
        root.addHandler(h)
    log = logging.getLogger("secretkit.canary")
    try:
        client = Client.from_env()
        for scheme, ref in refs.items():
            secret = client.get(ref)
            log.debug("read %s", secret)
            log.debug("read %r", secret)
            log.debug(secret)
            log.info("read %(s)s", {"s": secret})
            log.debug("read", extra={"secret": secret})
            log.debug("value object %s in a list %s", scheme, [secret])
        for what, ref in failing_refs(refs).items():
            try:
                client.get(ref)
            except SecretkitError as e:
                log.exception("reading %s failed (%s)", ref, what)
                log.debug("error %r", e, exc_info=True)
        log.debug("stats %s client %r", client.stats(), client)
    finally:
        for h in handlers:
            root.removeHandler(h)
            h.close()
        root.setLevel(old_level)
    text = stream.getvalue()
    assert "Traceback" in text and "Secret(" in text, text[:500]
    out.check("logging output", text)
    out.done.add("logging")


def test_events_of_every_kind(refs: dict[str, str], canary: str, out: Outputs) -> None:
    recorder = Recorder()
    client = Client.from_env()
    client.subscribe(recorder)
    watched: list[Any] = []
    for ref in refs.values():
        client.watch(ref, watched.append)
        client.get(ref)
        client.refresh(ref)
    for ref in failing_refs(refs).values():
        try:
            Client.from_env().get(ref)
            client.get(ref)
        except SecretkitError:
            pass
    # changed: a file whose value changes (to one that still holds the canary)
    with tempfile.TemporaryDirectory() as d:
        f = Path(d, "value")
        f.write_text(canary)
        client.get(f"file:{f}")
        f.write_text(canary + "-rotated")
        assert client.refresh(f"file:{f}").reveal() == canary + "-rotated"
        client.watch(f"file:{f}", watched.append)
        f.write_text(canary)
        client.refresh(f"file:{f}")
    # evicted: a one-entry cache
    small = Client.from_env(max_entries=1)
    small.subscribe(recorder)
    small.get(refs["ssm"])
    small.get(refs["vault"])
    # error: a backend that fails the read itself (not just the selection)
    broken = Client(vault={"address": "http://127.0.0.1:9", "token": "t"}, timeout=2)
    broken.subscribe(recorder)
    with pytest.raises(SecretkitError):
        broken.get(refs["vault"])

    async def stream_one() -> Any:
        async with Client.from_env().events() as events:
            pass
        client2 = Client.from_env()
        async with client2.events() as events:
            await client2.get_async(refs["asm-json"])
            return await asyncio.wait_for(events.__anext__(), 5)

    recorder(asyncio.run(stream_one()))
    wanted = {"created", "refreshed", "changed", "evicted", "error"}
    wait_until(lambda: wanted <= set(recorder.kinds()), what=f"events {sorted(wanted)}")
    wait_until(lambda: len(watched) >= 1, what="a watch callback")
    for i, event in enumerate([*recorder.events, *watched]):
        check_all(out, f"event {i} {event.kind}", event)
        if event.error is not None:
            check_error(out, f"event {i} error", event.error)
    out.done.add("events")


def test_stats_and_the_client(refs: dict[str, str], out: Outputs) -> None:
    client = Client.from_env()
    for ref in refs.values():
        client.get(ref)
        client.get(ref)
    stats = client.stats()
    assert stats["hits"] >= len(refs)
    check_all(out, "stats", stats)
    out.check("stats json", json.dumps(stats))
    check_all(out, "client", client)
    out.check("closed", client.close())
    with pytest.raises(SecretkitError) as info:
        client.get(refs["ssm"])
    check_error(out, "read after close", info.value)
    out.done.add("stats")


def test_proof_line(canary: str, out: Outputs, capsys: pytest.CaptureFixture[str]) -> None:
    """Last: only when every test above finished is the canary proven read."""
    missing = {"reads", "errors", "logging", "events", "stats"} - out.done
    assert not missing, f"canary checks that did not finish: {sorted(missing)}"
    log_text = out.log.read_text(encoding="utf-8")
    assert not out.leaks(log_text), "the canary log holds the canary"
    with capsys.disabled():  # to the run's output, for scripts/leak_scan.py
        print(
            f"\nleak canary: python read {' '.join(SCHEMES)}: ok ({len(canary)} bytes each), "
            f"{out.count} outputs checked, 0 occurrences; log {out.log}"
        )
