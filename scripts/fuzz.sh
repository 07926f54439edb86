#!/usr/bin/env bash
# Fuzz campaign for secretkit's core (targets in core/fuzz, see FUZZING.md).
#
#   scripts/fuzz.sh [--runs N | --time SECONDS] [--jobs J] [--stop-on-crash]
#                   [--no-update] [TARGET...]
#
# Default: every target, 10,000,000 executions each, one target at a time.
# At the speeds measured on this 2-core machine (FUZZING.md) that is about
# 25 hours in all (30 minutes for reference_parse, 12 hours for
# aws_response); `--jobs 2` runs two targets side by side.
#
# Each target runs under libFuzzer with AddressSanitizer, its corpus kept
# in core/fuzz/corpus/<target> (grown run after run, not in git) and
# seeded from core/fuzz/seeds/<target>; crashing inputs land in
# core/fuzz/artifacts/<target>. By default a run goes on past crashes: the
# script starts libFuzzer again (from the corpus grown so far) until the
# budget is spent, and counts the crashes; with --stop-on-crash it stops at
# the first one.
# At the end the results (executions, crashes, exec/s, corpus size) replace
# the target's row in FUZZING.md's results table (unless --no-update).
#
# Only a stable toolchain is needed: cargo-fuzz passes nightly `-Z` flags,
# which RUSTC_BOOTSTRAP=1 lets stable rustc accept; the sanitizer runtimes
# ship with the stable x86_64 Linux toolchain. Needs `cargo install cargo-fuzz`
# and a C++ compiler (libfuzzer-sys builds libFuzzer).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
FUZZ_DIR=$ROOT/core/fuzz
TARGET_DIR=${FUZZ_TARGET_DIR:-$ROOT/target/fuzz}
SANITIZER=${SANITIZER:-address}
ALL_TARGETS=(reference_parse field_select vault_response aws_response config)

runs=10000000
time_limit=""
jobs=1
keep_going=1
update=1
targets=()
while [ $# -gt 0 ]; do
    case "$1" in
        --runs) runs=$2; time_limit=""; shift 2 ;;
        --time) time_limit=$2; runs=""; shift 2 ;;
        --jobs) jobs=$2; shift 2 ;;
        --stop-on-crash) keep_going=0; shift ;;
        --no-update) update=0; shift ;;
        -h|--help) sed -n '2,25p' "$0"; exit 0 ;;
        -*) echo "unknown option $1" >&2; exit 2 ;;
        *) targets+=("$1"); shift ;;
    esac
done
[ ${#targets[@]} -gt 0 ] || targets=("${ALL_TARGETS[@]}")

command -v cargo-fuzz >/dev/null || {
    echo "cargo-fuzz is missing: cargo install cargo-fuzz --locked" >&2
    exit 1
}

export RUSTC_BOOTSTRAP=1
echo "== building ${targets[*]} (sanitizer: $SANITIZER) into $TARGET_DIR"
for t in "${targets[@]}"; do
    (cd "$ROOT/core" && cargo fuzz build --fuzz-dir "$FUZZ_DIR" --target-dir "$TARGET_DIR" \
        -s "$SANITIZER" "$t")
done
BIN_DIR=$TARGET_DIR/$(rustc -vV | sed -n 's/^host: //p')/release
LOG_DIR=$ROOT/target/fuzz-logs
mkdir -p "$LOG_DIR"
# The core commit fuzzed (FUZZ_COMMIT overrides, e.g. for a snapshot copy).
commit=${FUZZ_COMMIT:-$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)}
dirty=$(git -C "$ROOT" status --porcelain -- core/src 2>/dev/null | head -1 || true)
[ -z "$dirty" ] || commit="$commit+wip"

run_target() {
    local t=$1
    local corpus=$FUZZ_DIR/corpus/$t artifacts=$FUZZ_DIR/artifacts/$t seeds=$FUZZ_DIR/seeds/$t
    local log=$LOG_DIR/$t.log
    mkdir -p "$corpus" "$artifacts" "$seeds"
    : >"$log"
    local base=(-artifact_prefix="$artifacts/" -print_final_stats=1 -max_len=4096
        -rss_limit_mb=2048 -timeout=20)
    local start now execs=0 crashes=0 rounds=0 n rc
    local inputs=("$corpus" "$seeds")
    start=$(date +%s)
    echo "== $t: ${runs:+$runs runs}${time_limit:+$time_limit s} → $log"
    # One libFuzzer run stops at a crash; start it again (with the corpus
    # grown so far) until the budget is spent, counting crashes.
    while :; do
        now=$(date +%s)
        local budget=()
        if [ -n "$runs" ]; then
            [ "$execs" -lt "$runs" ] || break
            budget=(-runs=$((runs - execs)))
        else
            [ $((now - start)) -lt "$time_limit" ] || break
            budget=(-max_total_time=$((time_limit - (now - start))))
        fi
        rc=0
        (cd "$LOG_DIR" && "$BIN_DIR/$t" "${base[@]}" "${budget[@]}" "${inputs[@]}") \
            >"$log.round" 2>&1 || rc=$?
        cat "$log.round" >>"$log"
        n=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log.round" | tail -1)
        execs=$((execs + ${n:-0}))
        rounds=$((rounds + 1))
        if [ "$rc" -ne 0 ]; then
            crashes=$((crashes + 1))
            [ "$keep_going" = 1 ] || break
            # Seeds that crash would crash every round: go on from the corpus.
            inputs=("$corpus")
            [ "$rounds" -lt 10000 ] || break
        fi
    done
    rm -f "$log.round"
    summarize "$t" "$log" "$execs" "$crashes" $(($(date +%s) - start)) "$corpus"
}

# One tab-separated line per target in $LOG_DIR/results.tsv:
# target, executions, crashes, exec/s, corpus files, corpus KiB, seconds,
# distinct panic sites, date, commit.
summarize() {
    set +e +o pipefail # greps that find nothing are fine here
    local t=$1 log=$2 execs=$3 crashes=$4 secs=$5 corpus=$6
    local rate files kib sites
    rate=$(( secs > 0 ? execs / secs : execs ))
    files=$(find "$corpus" -type f | wc -l)
    kib=$(du -sk "$corpus" | cut -f1)
    sites=$(grep -oE "panicked at [^ ]+:[0-9]+:[0-9]+:" "$log" | sort -u | wc -l)
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$t" "$execs" "$crashes" "$rate" \
        "$files" "$kib" "$secs" "$sites" "$(date -u +%Y-%m-%d)" "$commit" >>"$LOG_DIR/results.tsv"
    echo "   $t: $execs executions, $crashes crashes ($sites distinct panic sites), $rate exec/s, corpus $files files / $kib KiB, ${secs}s"
    grep -oE "panicked at [^ ]+:[0-9]+:[0-9]+:" "$log" | sort | uniq -c | sort -rn | sed 's/^/      /'
    return 0
}

running=0
for t in "${targets[@]}"; do
    run_target "$t" &
    running=$((running + 1))
    if [ "$running" -ge "$jobs" ]; then
        wait -n || true
        running=$((running - 1))
    fi
done
wait

[ "$update" = 1 ] || exit 0
# Replace each target's row in FUZZING.md with its latest result.
python3 - "$ROOT/FUZZING.md" "$LOG_DIR/results.tsv" <<'EOF'
import sys
doc, tsv = sys.argv[1], sys.argv[2]
latest = {}
for line in open(tsv):
    f = line.rstrip("\n").split("\t")
    if len(f) == 10:
        latest[f[0]] = f
order = ["reference_parse", "field_select", "vault_response", "aws_response", "config"]
text = open(doc).read()
begin, end = "<!-- results:begin -->", "<!-- results:end -->"
head, rest = text.split(begin, 1)
old, tail = rest.split(end, 1)
rows = {}
for line in old.strip().splitlines()[2:]:
    cells = [c.strip() for c in line.strip().strip("|").split("|")]
    if cells and cells[0].strip("`") in order:
        rows[cells[0].strip("`")] = line.strip()
def fmt(n):
    return f"{int(n):,}"
for t, f in latest.items():
    _, execs, crashes, rate, files, kib, secs, sites, date, commit = f
    rows[t] = (f"| `{t}` | {fmt(execs)} | {crashes} ({sites} sites) | {fmt(rate)} | "
               f"{fmt(files)} files, {fmt(kib)} KiB | {fmt(secs)} | {date} `{commit}` |")
table = ["| target | executions | crashes | exec/s | corpus | seconds | run |",
         "|---|---:|---:|---:|---|---:|---|"]
table += [rows[t] for t in order if t in rows]
open(doc, "w").write(head + begin + "\n" + "\n".join(table) + "\n" + end + tail)
print("updated", doc)
EOF
