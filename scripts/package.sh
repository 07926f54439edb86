#!/usr/bin/env bash
# Builds secretkit's release artifacts into dist/ and prints a table of them.
#
#   bash scripts/package.sh          every Linux platform: x86_64 and aarch64,
#                                    glibc and musl, cross-built with zig
#                                    (ziglang + cargo-zigbuild from PyPI), the
#                                    sdist, the crate (built from its .crate)
#                                    and the JSR dry run. ~35-45 min on 2 cores
#                                    from a warm target dir (BENCHMARKS.md).
#   bash scripts/package.sh --host   only this machine's platform, from what
#                                    scripts/build-bindings.sh built: what the
#                                    test command publishes to its private
#                                    registries (tests/install/run.sh). Seconds.
#
# dist/python/  abi3 wheels (cp310-abi3: one wheel per platform serves every
#               CPython >= 3.10) and the sdist
# dist/npm/     npm pack tarballs: secretkit (JS layer + loader), one
#               secretkit-<platform> package per addon (os/cpu/libc fields,
#               the napi-rs layout), secretkit-wasm
# dist/crate/   secretkit-<version>.crate
# dist/bin/     secretkit-<version>-<target>.tar.gz: the agent and CLI binary
#
# Each native artifact is checked by a tool, not by eye: maturin's auditwheel
# check (a wheel whose symbols need a newer glibc than its tag fails the
# build) and `auditwheel show` for the wheels, readelf for every .so/.node
# (architecture, the shared libraries it needs, the newest glibc symbol
# version), printed in the table.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
REPO="$PWD"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$REPO/target}"
export PATH="$HOME/.cargo/bin:$REPO/.venv/bin:$PATH"
DIST="${SK_DIST:-$REPO/dist}"
STAGE="$CARGO_TARGET_DIR/package-stage"
mode=all
[[ "${1:-}" == --host ]] && mode=host
started=$SECONDS

step() { echo "--- package: $*"; }
die() {
  echo "package.sh: $*" >&2
  exit 1
}

version=$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -1)
[[ -n "$version" ]] || die "no workspace version in Cargo.toml"
host=$(rustc -vV | sed -n 's/^host: //p')

# Rust target → napi-rs platform name (the per-platform package suffix and
# the name native.js requires) and the wheel's platform policy.
declare -A NAPI=(
  [x86_64-unknown-linux-gnu]=linux-x64-gnu
  [aarch64-unknown-linux-gnu]=linux-arm64-gnu
  [x86_64-unknown-linux-musl]=linux-x64-musl
  [aarch64-unknown-linux-musl]=linux-arm64-musl
)
# manylinux2014 = glibc 2.17 (every maintained distribution); musllinux_1_2
# = musl 1.2 (Alpine >= 3.13).
declare -A POLICY=(
  [x86_64-unknown-linux-gnu]=manylinux2014
  [aarch64-unknown-linux-gnu]=manylinux2014
  [x86_64-unknown-linux-musl]=musllinux_1_2
  [aarch64-unknown-linux-musl]=musllinux_1_2
)
if [[ $mode == all ]]; then
  targets=(x86_64-unknown-linux-gnu aarch64-unknown-linux-gnu x86_64-unknown-linux-musl
    aarch64-unknown-linux-musl)
else
  [[ -n "${NAPI[$host]:-}" ]] || die "host $host is not a platform this script packages"
  targets=("$host")
fi

rm -rf "$DIST" "$STAGE"
mkdir -p "$DIST/python" "$DIST/npm" "$STAGE"

# ---------------------------------------------------------------- tools
if [[ $mode == all ]]; then
  # cargo-zigbuild at the version maturin 1.16.0 carries inside: both then
  # write the same zig wrapper paths into CC_<target>, so the addon reuses
  # the wheel's build of every C-compiling dependency (ring) and all that
  # depends on it, instead of a second full release build per target.
  step "tools: ziglang, cargo-zigbuild, auditwheel (PyPI, into .venv); rust targets"
  .venv/bin/python -m pip install --quiet --disable-pip-version-check \
    'maturin==1.16.0' 'ziglang==0.15.*' 'cargo-zigbuild==0.24.0' 'auditwheel==6.*'
  rustup target add "${targets[@]}" >/dev/null
fi

# A cdylib on musl must link libc dynamically (Rust's musl targets link it
# statically by default, and a static libc cannot host a loaded module).
# The same flags for the wheel and the addon, so they share one build of the
# core's dependencies per target.
export CARGO_TARGET_X86_64_UNKNOWN_LINUX_MUSL_RUSTFLAGS="-C target-feature=-crt-static"
export CARGO_TARGET_AARCH64_UNKNOWN_LINUX_MUSL_RUSTFLAGS="-C target-feature=-crt-static"

# ---------------------------------------------------------------- python
if [[ $mode == host ]]; then
  step "python: the wheel scripts/build-bindings.sh built"
  shopt -s nullglob
  wheels=("$CARGO_TARGET_DIR"/wheels-host/secretkit-"$version"-*.whl)
  shopt -u nullglob
  ((${#wheels[@]} == 1)) || die "expected one wheel in target/wheels-host (run scripts/build-bindings.sh)"
  cp "${wheels[0]}" "$DIST/python/"
else
  for t in "${targets[@]}"; do
    step "python wheel: $t (${POLICY[$t]})"
    # --strip: symbols off the module only (not the profile, so the shared
    # dependency builds stay as they are; sizes in BENCHMARKS.md).
    maturin build --quiet --release --strip --zig --target "$t" --compatibility "${POLICY[$t]}" \
      -m bindings-python/Cargo.toml -o "$DIST/python"
  done
  step "python sdist"
  maturin sdist -m bindings-python/Cargo.toml -o "$DIST/python"
fi

# ---------------------------------------------------------------- node
# The napi-rs layout: the main package carries the JS layer and native.js,
# whose loader requires secretkit-<platform>; npm installs only the platform
# package whose os/cpu/libc match (optionalDependencies).
step "node: per-platform packages"
node_stage="$STAGE/node"
mkdir -p "$node_stage"
cp bindings-node/package.json "$node_stage/"
(cd "$node_stage" && "$REPO/bindings-node/node_modules/.bin/napi" create-npm-dirs --npm-dir npm >/dev/null 2>&1) ||
  die "napi create-npm-dirs failed"
for t in "${targets[@]}"; do
  plat=${NAPI[$t]}
  dir="$node_stage/npm/$plat"
  [[ -f "$dir/package.json" ]] || die "napi create-npm-dirs made no $plat (bindings-node/package.json napi.targets)"
  if [[ $mode == host ]]; then
    cp "bindings-node/secretkit.$plat.node" "$dir/"
  else
    # glibc targets carry the version floor (2.17) in the zig target name.
    zt=$t
    [[ $t == *-gnu ]] && zt="$t.2.17"
    step "node addon: $t"
    # `rustc -- -C strip=symbols`: strips the addon alone, as --strip does
    # for the wheel.
    cargo-zigbuild rustc --quiet --release -p secretkit-node --target "$zt" -- -C strip=symbols
    cp "$CARGO_TARGET_DIR/$t/release/libsecretkit_node.so" "$dir/secretkit.$plat.node"
  fi
  cp LICENSE "$dir/"
  node -e '
    const fs = require("fs"), f = process.argv[1] + "/package.json"
    const p = JSON.parse(fs.readFileSync(f, "utf8"))
    p.files.push("LICENSE")
    fs.writeFileSync(f, JSON.stringify(p, null, 2) + "\n")' "$dir"
  (cd "$dir" && npm pack --silent --pack-destination "$DIST/npm" >/dev/null)
done

if [[ $mode == all ]]; then
  # native.js (the loader) and native.d.ts (the addon's types) are made by a
  # napi build, not kept in git: make them from the source being packaged,
  # with a build for this machine, so a fresh clone packages and a stale
  # copy from an older build never ships. (--host packages what
  # build-bindings.sh built, which made them.)
  step "node: native.js and native.d.ts (napi build for this machine)"
  (cd bindings-node && npm run --silent build >/dev/null) || die "napi build failed"
fi

step "node: main package"
main="$node_stage/secretkit"
mkdir -p "$main"
# The files package.json's `files` lists (LICENSE is the repository's).
node -e 'for (const f of require("./bindings-node/package.json").files) console.log(f)' |
  while read -r f; do
    if [[ $f == LICENSE ]]; then cp LICENSE "$main/"; else cp "bindings-node/$f" "$main/"; fi
  done
cp bindings-node/package.json "$main/"
# Every platform package at this exact version, including the ones this run
# did not build (--host): npm skips an optional dependency it cannot get.
node -e '
  const fs = require("fs"), [f, version, ...plats] = process.argv.slice(1)
  const p = JSON.parse(fs.readFileSync(f, "utf8"))
  delete p.devDependencies
  delete p.scripts
  p.optionalDependencies = Object.fromEntries(plats.map((x) => [`secretkit-${x}`, version]))
  fs.writeFileSync(f, JSON.stringify(p, null, 2) + "\n")' \
  "$main/package.json" "$version" "${NAPI[@]}"
(cd "$main" && npm pack --silent --pack-destination "$DIST/npm" >/dev/null)

# ---------------------------------------------------------------- wasm
if [[ $mode == all ]]; then
  # pkg/ is generated too: build it from the source being packaged.
  step "wasm: build (bindings-wasm/build.sh)"
  bindings-wasm/build.sh >/dev/null || die "bindings-wasm/build.sh failed"
fi
step "wasm: secretkit-wasm"
[[ -f bindings-wasm/pkg/secretkit_wasm_bg.wasm ]] || die "no bindings-wasm/pkg (run scripts/build-bindings.sh)"
(cd bindings-wasm/pkg && npm pack --silent --pack-destination "$DIST/npm" >/dev/null)
if [[ $mode == all ]]; then
  step "wasm: JSR dry run (deno publish --dry-run)"
  # JSR takes jsr.json (Deno users; workerd users install from npm):
  # without package.json, which would make Deno want @types/node in a
  # node_modules, and without workerd.mjs, whose .wasm import Deno cannot
  # type-check. --allow-slow-types: index.d.ts augments SymbolConstructor
  # with asyncDispose for TypeScript libs older than esnext.disposable, and
  # JSR refuses any global augmentation.
  cp -r bindings-wasm/pkg "$STAGE/jsr"
  rm "$STAGE/jsr/package.json" "$STAGE/jsr/workerd.mjs"
  (cd "$STAGE/jsr" && "$REPO/bindings-wasm/node_modules/.bin/deno" publish --dry-run --allow-dirty \
    --allow-slow-types)
fi

# ---------------------------------------------------------------- crate
if [[ $mode == all ]]; then
  step "crate: cargo package -p secretkit (verifies by building the .crate)"
  cargo package --quiet -p secretkit --allow-dirty
  mkdir -p "$DIST/crate"
  cp "$CARGO_TARGET_DIR/package/secretkit-$version.crate" "$DIST/crate/"
fi

# ---------------------------------------------------------------- agent + CLI
# One tarball per platform: the `secretkit` binary (agent and operator CLI),
# stripped, with the LICENSE. Cross-built with zig like the addons; its glibc
# floor is the same 2.17.
step "agent: secretkit-$version-<target>.tar.gz"
mkdir -p "$DIST/bin"
for t in "${targets[@]}"; do
  bin_stage="$STAGE/bin/secretkit-$version-$t"
  rm -rf "$bin_stage" && mkdir -p "$bin_stage"
  if [[ $mode == host ]]; then
    [[ -x "$CARGO_TARGET_DIR/bin/secretkit" ]] || die "no target/bin/secretkit (run scripts/build-bindings.sh)"
    cp "$CARGO_TARGET_DIR/bin/secretkit" "$bin_stage/secretkit"
    strip "$bin_stage/secretkit"
  else
    zt=$t
    [[ $t == *-gnu ]] && zt="$t.2.17"
    RUSTFLAGS="-C strip=symbols" cargo-zigbuild build --quiet --release -p secretkit-cli --target "$zt"
    cp "$CARGO_TARGET_DIR/$t/release/secretkit" "$bin_stage/secretkit"
  fi
  cp LICENSE "$bin_stage/"
  tar -C "$STAGE/bin" -czf "$DIST/bin/secretkit-$version-$t.tar.gz" "secretkit-$version-$t"
done

# ---------------------------------------------------------------- checks
# readelf on one shared object: machine, DT_NEEDED, newest GLIBC_ version.
elf_summary() {
  local so=$1 machine needed glibc
  machine=$(readelf -h "$so" | sed -n 's/^ *Machine: *//p')
  needed=$(readelf -d "$so" | sed -n 's/.*Shared library: \[\(.*\)\]/\1/p' | paste -sd, -)
  glibc=$(readelf -V "$so" | grep -o 'GLIBC_[0-9.]*' | sort -uV | tail -1 || true)
  echo "${machine/Advanced Micro Devices /}; needs ${needed:-nothing}; newest ${glibc:-no glibc symbol}"
}

step "checks"
bad=0
check_so() { # artifact, extracted .so, expected machine pattern, libc
  local name=$1 so=$2 arch=$3 libc=$4 summary
  summary=$(elf_summary "$so")
  printf '  %-58s %s\n' "$name" "$summary"
  if ! grep -q "$arch" <<<"$summary"; then
    echo "    ^ wrong architecture (want $arch)"
    bad=1
  fi
  # zig links musl builds against `libc.so` (musl's loader takes that name
  # as itself, and the musllinux policy lists it), others `libc.musl-*`; a
  # glibc library name there means the build went wrong.
  if [[ $libc == musl ]] && grep -qE 'libc\.so\.6|ld-linux' <<<"$summary"; then
    echo "    ^ a musl artifact that needs glibc's libraries"
    bad=1
  fi
  if [[ $libc == musl ]] && ! grep -qE 'libc\.so(,|;|$)|libc\.musl-' <<<"$summary"; then
    echo "    ^ a musl artifact that does not load musl's libc"
    bad=1
  fi
  if [[ $libc == musl ]] && grep -q 'GLIBC_' <<<"$summary"; then
    echo "    ^ a musl artifact that needs glibc symbols"
    bad=1
  fi
}
machine_of() { [[ $1 == x86_64-* ]] && echo X86-64 || echo AArch64; }
libc_of() { [[ $1 == *-musl ]] && echo musl || echo gnu; }
unz="$STAGE/unzipped"
for whl in "$DIST"/python/*.whl; do
  rm -rf "$unz" && mkdir -p "$unz"
  .venv/bin/python -m zipfile -e "$whl" "$unz"
  case "$whl" in
  *x86_64*) t=x86_64 ;;
  *) t=aarch64 ;;
  esac
  libc=gnu
  [[ "$whl" == *musllinux* ]] && libc=musl
  check_so "$(basename "$whl")" "$(find "$unz" -name '_native*.so' | head -1)" \
    "$(machine_of "$t-")" "$libc"
  # auditwheel show for the manylinux wheels only: on a glibc host it reads
  # Debian's libc.so (a linker script) for a musl wheel and crashes; maturin's
  # own policy check passed each musllinux wheel at build time, and
  # scripts/test-platforms.sh imports it in a musl CPython.
  if [[ $mode == all && $libc == gnu ]]; then
    .venv/bin/auditwheel show "$whl" | grep -A1 'consistent with' | tail -1 | sed 's/^ */    auditwheel: consistent with /'
  fi
done
for t in "${targets[@]}"; do
  plat=${NAPI[$t]}
  check_so "secretkit-$plat/secretkit.$plat.node" "$node_stage/npm/$plat/secretkit.$plat.node" \
    "$(machine_of "$t")" "$(libc_of "$t")"
done
for t in "${targets[@]}"; do
  check_so "bin/secretkit-$version-$t.tar.gz: secretkit" "$STAGE/bin/secretkit-$version-$t/secretkit" \
    "$(machine_of "$t")" "$(libc_of "$t")"
done
((bad == 0)) || die "an artifact failed its checks (above)"

# ---------------------------------------------------------------- table
echo
printf '%-72s %10s\n' artifact bytes
find "$DIST" -type f -printf '%P %s\n' | sort | while read -r f s; do
  printf '%-72s %10s\n' "$f" "$s"
done
echo "package.sh ($mode): $(find "$DIST" -type f | wc -l) artifacts in $((SECONDS - started)) s"
