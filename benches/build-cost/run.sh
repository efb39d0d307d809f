#!/usr/bin/env bash
# Build cost (issue 13): crates compiled and CPU time of a clean release
# build of each project beside this script, as a Markdown table.
#
#   benches/build-cost/run.sh [PROJECT...]     # default: all four
#
# For each project: `cargo fetch --locked` (downloads are not timed; once
# fetched, everything runs offline), then `cargo build --release --locked
# --offline -j $JOBS` into a fresh temporary CARGO_TARGET_DIR (deleted
# afterwards) under `/usr/bin/time -f '%U %S %e'`. CPU = user + sys of
# cargo and every rustc/build script it ran.
#
# "crates" = distinct `name version` pairs on the build's "Compiling"
# lines: what cargo actually compiled (build scripts' crates,
# build-dependencies and proc-macros included, the project and the path
# crates too). `cargo tree -e normal,build --prefix none`, deduplicated, is
# printed beside it as a cross-check.
#
# Environment:
#   JOBS=2         parallel jobs (-j)
#   OUT=DIR        keep the build logs and crate lists there (default: a
#                  temporary directory, deleted)
#   PER_CRATE=1    also record the CPU time of every rustc invocation (a
#                  RUSTC_WRAPPER around /usr/bin/time; build scripts'
#                  runs are not counted) and print the 15 costliest crates
#                  of each build; the lists are kept in OUT as *.per-crate
#   BASELINE=c-plain-axum   the project the ratios are relative to
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
jobs=${JOBS:-2}
baseline=${BASELINE:-c-plain-axum}
if [[ $# -gt 0 ]]; then
    projects=("$@")
else
    projects=(a-core-macros b-alerting-axum c-plain-axum d-axum-prometheus-autometrics)
fi

# A compiler cache or extra flags would make a "clean" build something else.
unset RUSTC_WRAPPER CARGO_BUILD_RUSTC_WRAPPER RUSTFLAGS CARGO_ENCODED_RUSTFLAGS \
    CARGO_INCREMENTAL CARGO_BUILD_JOBS CARGO_TARGET_DIR
export CARGO_TERM_COLOR=never CARGO_TERM_PROGRESS_WHEN=never

if [[ -n ${OUT:-} ]]; then
    out=$OUT
    mkdir -p "$out"
    keep_out=1
else
    out=$(mktemp -d -t build-cost-out.XXXXXX)
    keep_out=0
fi
target=""
cleanup() {
    [[ -n $target && -d $target ]] && rm -rf "$target"
    [[ $keep_out == 0 ]] && rm -rf "$out"
    return 0
}
trap cleanup EXIT

loadavg() { cut -d' ' -f1-3 /proc/loadavg; }

# PER_CRATE=1: a rustc wrapper that appends "user sys package version"
# (cargo sets CARGO_PKG_* for every rustc it runs) to $per_crate_log.
if [[ ${PER_CRATE:-0} == 1 ]]; then
    cat >"$out/rustc-cpu-wrapper" <<'SH'
#!/usr/bin/env bash
exec /usr/bin/time -a -o "$BUILD_COST_CPU_LOG" \
    -f "cpu %U %S ${CARGO_PKG_NAME:-rustc} ${CARGO_PKG_VERSION:-probe}" "$@"
SH
    chmod +x "$out/rustc-cpu-wrapper"
fi

echo "build-cost: $(rustc --version), $(cargo --version), -j $jobs, $(nproc) CPUs"
echo "load average before: $(loadavg)"
echo

declare -A crates cpu wall tree_count
for p in "${projects[@]}"; do
    dir=$here/$p
    [[ -f $dir/Cargo.toml ]] || { echo "no project $p in $here" >&2; exit 2; }
    if ! (cd "$dir" && cargo fetch --locked --quiet); then
        echo "$p: its Cargo.lock no longer matches (a path crate's dependencies" \
            "changed?): run \`cargo generate-lockfile\` in $dir and commit it" >&2
        exit 1
    fi

    target=$(mktemp -d -t build-cost-target.XXXXXX)
    wrapper=()
    if [[ ${PER_CRATE:-0} == 1 ]]; then
        : >"$out/$p.rustc-cpu"
        wrapper=(env RUSTC_WRAPPER="$out/rustc-cpu-wrapper" BUILD_COST_CPU_LOG="$out/$p.rustc-cpu")
    fi
    echo "== $p (load average $(loadavg))"
    if ! (cd "$dir" && CARGO_TARGET_DIR=$target "${wrapper[@]}" \
        /usr/bin/time -f '%U %S %e' -o "$out/$p.time" \
        cargo build --release --locked --offline -j "$jobs" >"$out/$p.log" 2>&1); then
        tail -30 "$out/$p.log" >&2
        echo "build of $p failed" >&2
        exit 1
    fi
    if [[ ${PER_CRATE:-0} == 1 ]]; then
        # CPU s per package (all its rustc runs: lib, build script, bin).
        awk '$1 == "cpu" && $5 != "probe" { t[$4 " " $5] += $2 + $3 }
             END { for (k in t) printf "%7.1f %s\n", t[k], k }' "$out/$p.rustc-cpu" |
            sort -rn >"$out/$p.per-crate"
        echo "  costliest crates (rustc CPU s; all rustc: $(awk '{ s += $1 } END { printf "%.1f", s }' "$out/$p.per-crate") s):"
        head -15 "$out/$p.per-crate" | sed 's/^/    /'
    fi
    rm -rf "$target"
    target=""

    sed -nE 's/^ *Compiling ([^ ]+) v([^ ]+).*/\1 \2/p' "$out/$p.log" | sort -u >"$out/$p.crates"
    (cd "$dir" && cargo tree --locked --offline -e normal,build --prefix none) |
        sed -nE 's/^([^ ]+) v([^ ]+).*/\1 \2/p' | sort -u >"$out/$p.tree"
    crates[$p]=$(wc -l <"$out/$p.crates")
    tree_count[$p]=$(wc -l <"$out/$p.tree")
    read -r user sys elapsed <"$out/$p.time"
    cpu[$p]=$(awk -v u="$user" -v s="$sys" 'BEGIN { printf "%.1f", u + s }')
    wall[$p]=$(awk -v e="$elapsed" 'BEGIN { printf "%.1f", e }')
    echo "  ${crates[$p]} crates compiled (cargo tree: ${tree_count[$p]}), CPU ${cpu[$p]} s, wall ${wall[$p]} s"
    if ! cmp -s "$out/$p.crates" "$out/$p.tree"; then
        echo "  compiled but not in cargo tree: $(comm -23 "$out/$p.crates" "$out/$p.tree" | tr '\n' ',' | sed 's/,$//')"
        echo "  in cargo tree but not compiled: $(comm -13 "$out/$p.crates" "$out/$p.tree" | tr '\n' ',' | sed 's/,$//')"
    fi
done

echo
echo "load average after: $(loadavg)"
echo
echo "| project | crates compiled | CPU s (user+sys) | wall s | CPU × plain axum |"
echo "|---|---:|---:|---:|---:|"
for p in "${projects[@]}"; do
    ratio="–"
    if [[ -n ${cpu[$baseline]:-} ]]; then
        ratio=$(awk -v a="${cpu[$p]}" -v b="${cpu[$baseline]}" 'BEGIN { printf "%.2f", a / b }')
    fi
    echo "| $p | ${crates[$p]} | ${cpu[$p]} | ${wall[$p]} | $ratio |"
done
[[ $keep_out == 1 ]] && echo && echo "logs and crate lists: $out"
exit 0
