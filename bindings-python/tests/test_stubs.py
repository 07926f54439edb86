"""_native.pyi must describe the native module as built (no drift)."""

from __future__ import annotations

import ast
import inspect
from pathlib import Path

from secretkit import _native

STUB = Path(__file__).resolve().parents[1] / "python" / "secretkit" / "_native.pyi"
# TypedDicts for type checkers
STUB_ONLY = {
    "AwsConfig",
    "VaultConfig",
    "AppRoleAuth",
    "KubernetesAuth",
    "JwtAuth",
    "TokenFileAuth",
    "Lease",
    "Options",
    "AuditRecord",
    "LatencyHistogram",
    "Metrics",
    "Stats",
    "BackendCalls",
}


def stub_tree() -> ast.Module:
    return ast.parse(STUB.read_text())


def public(names: set[str]) -> set[str]:
    return {n for n in names if not n.startswith("_")}


def test_module_level_names_match() -> None:
    stub_names = set()
    for node in stub_tree().body:
        if isinstance(node, (ast.ClassDef, ast.FunctionDef)):
            stub_names.add(node.name)
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            stub_names.add(node.target.id)
    assert public(stub_names) - STUB_ONLY == public(set(dir(_native)))


def test_class_members_match() -> None:
    for node in stub_tree().body:
        if not isinstance(node, ast.ClassDef) or node.name in STUB_ONLY:
            continue
        runtime = getattr(_native, node.name)
        declared = {n.name for n in node.body if isinstance(n, ast.FunctionDef)}
        own = {n for n, v in vars(runtime).items() if callable(v) or inspect.isdatadescriptor(v)}
        expected = public(own) | {n for n in own if n in declared}
        # pyo3 constructs in __new__; the stub says so too where it declares one.
        assert declared - {"__new__"} == expected - {"__new__", "__init__"}, node.name
