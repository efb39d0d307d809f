#!/usr/bin/env python3
"""Prints the markdown tables of docs/benchmarks.md from criterion's results.

Reads target/criterion/**/new/{benchmark,estimates}.json, as left by

    cargo bench -p alerting-benches --bench metrics -- --noplot

and prints, for each benchmark group, the median time per operation with its
95% confidence interval and the ratio to the group's reference row, then the
targets of the issue with whether each is met. Python 3 standard library only.

Usage: python3 benches/summarize.py [--criterion-dir DIR] [--baseline NAME]
                                    [--machine] [--spread NAME,NAME,...]
  --baseline  read criterion's NAME/ result folders instead of new/ (the
              latest run); a run made with `-- --save-baseline NAME` has both
  --machine   also print the machine (nproc, CPU model) and the results' date
  --spread    also print the two-thread figures of each named baseline side
              by side, to show how much they move between runs
"""

import argparse
import datetime
import json
import os
import sys
from pathlib import Path

# Group prefix -> (reference row, row order, what a row measures).
GROUPS = {
    "counter_inc_2_enum_labels": (
        "prometheus_client_resolved",
        [
            ("ours_get", "ours: `Family::get(labels).inc()`"),
            ("ours_resolved", "ours: resolved handle `.inc()`"),
            ("ours_striped_get", "ours striped: `Family<_, StripedCounter>::get(labels).inc()`"),
            ("ours_striped_resolved", "ours striped: resolved `StripedCounter::inc()`"),
            ("prometheus_client_get_or_create", "prometheus-client: `Family::get_or_create(&labels).inc()`"),
            ("prometheus_client_resolved", "prometheus-client: resolved `Counter::inc()` (reference)"),
            ("metrics_counter_macro", "metrics: `counter!(name, labels…).increment(1)`"),
            ("measured_counter_vec", "measured: `CounterVec::inc(labels)`"),
            ("ours_resolved_adjacent_series", "*aside:* ours resolved, each thread its own adjacent series"),
            ("measured_counter_vec_adjacent_series", "*aside:* measured, each thread its own adjacent series"),
        ],
    ),
    "counter_plus_histogram": (
        "prometheus_client_resolved",
        [
            ("ours_get", "ours: `get(labels)` on both families"),
            ("ours_resolved", "ours: resolved handles"),
            ("ours_striped_get", "ours striped: `get(labels)` on both families"),
            ("ours_striped_resolved", "ours striped: resolved handles"),
            ("prometheus_client_get_or_create", "prometheus-client: `get_or_create` on both families"),
            ("prometheus_client_resolved", "prometheus-client: resolved handles (reference)"),
            ("metrics_macros", "metrics: `counter!` + `histogram!`"),
            ("measured_vecs", "measured: `CounterVec::inc` + `HistogramVec::observe`"),
        ],
    ),
    "dynamic_get_or_create": (
        "prometheus_client_get_or_create",
        [
            ("ours", "ours: `DynamicFamily::get_or_create(&labels).inc()`"),
            ("ours_idle_timeout", "ours, with an idle timeout"),
            ("ours_with", "ours: `DynamicFamily::with(&labels, |c| c.inc())`"),
            ("ours_with_idle_timeout", "ours `with`, with an idle timeout"),
            ("prometheus_client_get_or_create", "prometheus-client: `Family::get_or_create(&labels).inc()` (reference)"),
            ("ours_distinct_series", "*aside:* ours, each thread its own series"),
            ("ours_with_distinct_series", "*aside:* ours `with`, each thread its own series"),
        ],
    ),
    "encode_mixed": (
        "prometheus_client",
        [
            ("ours", "ours: `Registry::encode(Format::Prometheus, &mut buf)`"),
            ("prometheus_client", "prometheus-client: `prometheus_text::encode` (reference)"),
        ],
    ),
    "encode": (
        "prometheus_client",
        [
            ("ours", "ours: `Registry::encode(Format::Prometheus, &mut buf)`"),
            ("prometheus_client", "prometheus-client: `prometheus_text::encode` (reference)"),
            ("metrics_exporter_prometheus", "metrics-exporter-prometheus: `handle.render()`"),
            ("measured", "measured: `BufferedTextEncoder`"),
        ],
    ),
}

GROUPS.update({
    "call_sync": (
        "prometheus_client_resolved",
        [
            ("bare", "bare call"),
            ("prometheus_client_resolved", "hand-written, prometheus-client resolved handles, std clock (reference)"),
            ("ours_unstriped_resolved", "hand-written, our compact families resolved, our clock"),
            ("ours_striped_resolved", "hand-written, our striped families resolved, our clock"),
            ("instrumented", "`#[instrumented]`"),
            ("autometrics", "`#[autometrics]` (prometheus-client backend)"),
            ("metrics_macros", "`metrics` macros (`counter!` + `histogram!`)"),
        ],
    ),
    "call_async": (
        "bare",
        [
            ("bare", "bare `async fn` (reference)"),
            ("instrumented", "`#[instrumented]`"),
            ("autometrics", "`#[autometrics]` (prometheus-client backend)"),
        ],
    ),
    "floor": (
        "bare",
        [
            ("bare", "bare call (reference)"),
            ("two_std_clock_reads", "two `std::time::Instant` reads"),
            ("two_tsc_reads", "two TSC reads (quanta)"),
            ("two_tsc_reads_ours", "two TSC reads (`alerting_core::clock`)"),
            ("one_atomic_add", "one relaxed atomic add (shared)"),
            ("clock_counter_histogram_std", "call + 2 std reads + atomic counter + atomic histogram"),
            ("clock_counter_histogram_tsc", "call + 2 TSC reads (quanta) + atomic counter + atomic histogram"),
            ("clock_counter_histogram_tsc_ours", "call + 2 TSC reads (`alerting_core::clock`) + atomic counter + atomic histogram"),
        ],
    ),
    "encode_striped": (
        "unstriped",
        [
            ("unstriped", "10,000 compact series (reference)"),
            ("striped", "10,000 striped series"),
        ],
    ),
})

SUBGROUP_ORDER = ["1_thread", "2_threads", "10k", "100k"]


def load(criterion_dir, baseline="new"):
    """{group_id: {function_id: (median_ns, lo_ns, hi_ns, elements, mtime)}}"""
    results = {}
    for bench_json in sorted(Path(criterion_dir).glob(f"**/{baseline}/benchmark.json")):
        estimates_json = bench_json.with_name("estimates.json")
        if not estimates_json.exists():
            continue
        bench = json.loads(bench_json.read_text())
        est = json.loads(estimates_json.read_text())["median"]
        ci = est["confidence_interval"]
        elements = None
        throughput = bench.get("throughput") or {}
        if "Elements" in throughput:
            elements = throughput["Elements"]
        group = bench["group_id"]
        function = bench["function_id"] or bench.get("value_str") or ""
        results.setdefault(group, {})[function] = (
            est["point_estimate"],
            ci["lower_bound"],
            ci["upper_bound"],
            elements,
            estimates_json.stat().st_mtime,
        )
    return results


def fmt_time(ns):
    if ns < 1_000:
        return f"{ns:.2f} ns"
    if ns < 1_000_000:
        return f"{ns / 1_000:.2f} µs"
    if ns < 1_000_000_000:
        return f"{ns / 1_000_000:.2f} ms"
    return f"{ns / 1_000_000_000:.2f} s"


def fmt_ratio(r):
    return f"{r:.2f}×" if r < 100 else f"{r:.0f}×"


def group_key(group_id):
    prefix, _, sub = group_id.partition("/")
    order = SUBGROUP_ORDER.index(sub) if sub in SUBGROUP_ORDER else len(SUBGROUP_ORDER)
    prefixes = list(GROUPS)
    return (prefixes.index(prefix) if prefix in prefixes else len(prefixes), order, group_id)


def print_tables(results):
    for group_id in sorted(results, key=group_key):
        prefix = group_id.partition("/")[0]
        reference, rows, *_ = GROUPS.get(prefix, (None, []))
        rows_by_id = dict(rows)
        rows = [r for r in rows if r[0] in results[group_id]] + [
            (f, f) for f in sorted(results[group_id]) if f not in rows_by_id
        ]
        ref = results[group_id].get(reference)
        encode = prefix in ("encode", "encode_mixed")
        print(f"### `{group_id}`\n")
        if encode:
            print("| contender | median per encode | 95% CI of the median | per series | ratio to prometheus-client |")
            print("| --- | ---: | ---: | ---: | ---: |")
        else:
            ref_label = "prometheus-client resolved" if reference == "prometheus_client_resolved" else "the reference row"
            print(f"| contender | median per op | 95% CI of the median | ratio to {ref_label} |")
            print("| --- | ---: | ---: | ---: |")
        for function, label in rows:
            median, lo, hi, elements, _ = results[group_id][function]
            ratio = fmt_ratio(median / ref[0]) if ref else "n/a"
            ci = f"{fmt_time(lo)} – {fmt_time(hi)}"
            if encode:
                per = fmt_time(median / elements) if elements else "n/a"
                print(f"| {label} | {fmt_time(median)} | {ci} | {per} | {ratio} |")
            else:
                print(f"| {label} | {fmt_time(median)} | {ci} | {ratio} |")
        print()


def median(results, group, function):
    entry = results.get(group, {}).get(function)
    return entry[0] if entry else None


def print_targets(results):
    print("### Targets\n")
    print("| target | measured as | value | met? |")
    print("| --- | --- | ---: | :---: |")

    def row(target, how, value, ok, fmt=fmt_ratio):
        if value is None:
            print(f"| {target} | {how} | not run | – |")
        else:
            print(f"| {target} | {how} | {fmt(value)} | {'yes' if ok(value) else '**no**'} |")

    def ratio(group, a, b):
        x, y = median(results, group, a), median(results, group, b)
        return x / y if x is not None and y is not None else None

    # Each increment target for the compact family (ours_get) and, where it
    # was run, the striped one (ours_striped_get).
    ours_rows = [("ours_get", "")]
    if any("ours_striped_get" in results.get(f"counter_inc_2_enum_labels/{t}", {}) for t in ["1_thread", "2_threads"]):
        ours_rows.append(("ours_striped_get", ", striped"))
    for ours, tag in ours_rows:
        for threads in ["1_thread", "2_threads"]:
            g = f"counter_inc_2_enum_labels/{threads}"
            row(
                f"labelled increment ≤ 1.5× resolved prometheus-client `Counter::inc` ({threads.replace('_', ' ')}{tag})",
                f"{ours} / prometheus_client_resolved",
                ratio(g, ours, "prometheus_client_resolved"),
                lambda v: v <= 1.5,
            )
    for ours, tag in ours_rows:
        g = "counter_inc_2_enum_labels/2_threads"
        row(
            f"≥ 10× faster than `Family::get_or_create` on 2 threads{tag}",
            f"prometheus_client_get_or_create / {ours}",
            ratio(g, "prometheus_client_get_or_create", ours),
            lambda v: v >= 10,
        )
    for ours, tag in ours_rows:
        for threads in ["1_thread", "2_threads"]:
            g = f"counter_inc_2_enum_labels/{threads}"
            row(
                f"within 2× of measured ({threads.replace('_', ' ')}{tag})",
                f"{ours} / measured_counter_vec",
                ratio(g, ours, "measured_counter_vec"),
                lambda v: v <= 2,
            )
    for ours in ["ours", "ours_idle_timeout", "ours_with", "ours_with_idle_timeout"]:
        one = median(results, "dynamic_get_or_create/1_thread", ours)
        two = median(results, "dynamic_get_or_create/2_threads", ours)
        row(
            f"`DynamicFamily` look-up of an existing series on 2 threads ≤ 2× its 1-thread time ({ours})",
            "2-thread / 1-thread",
            two / one if one and two else None,
            lambda v: v <= 2,
        )
    row(
        "one scrape of 10,000 counters + 1,000 histograms ≤ 1.0× prometheus-client",
        "ours / prometheus_client in `encode_mixed/10k_counters_1k_histograms`",
        ratio("encode_mixed/10k_counters_1k_histograms", "ours", "prometheus_client"),
        lambda v: v <= 1.0,
        fmt=lambda v: f"{v:.3f}×",
    )
    row(
        "encoding 100,000 series no slower than prometheus-client",
        "ours / prometheus_client in `encode/100k`",
        ratio("encode/100k", "ours", "prometheus_client"),
        lambda v: v <= 1.0,
        fmt=lambda v: f"{v:.3f}×",
    )
    print()

    print("### Other ratios\n")
    print("| comparison | group | value |")
    print("| --- | --- | ---: |")
    for prefix, measured_row in [
        ("counter_inc_2_enum_labels", "measured_counter_vec"),
        ("counter_plus_histogram", "measured_vecs"),
    ]:
        for threads in ["1_thread", "2_threads"]:
            g = f"{prefix}/{threads}"
            for what, a, b in [
                ("prometheus-client get_or_create / ours get (speed-up of ours)", "prometheus_client_get_or_create", "ours_get"),
                ("ours get / measured", "ours_get", measured_row),
                ("ours resolved / measured", "ours_resolved", measured_row),
                ("prometheus-client get_or_create / ours striped get", "prometheus_client_get_or_create", "ours_striped_get"),
                ("ours striped get / measured", "ours_striped_get", measured_row),
                ("ours striped resolved / prometheus-client resolved", "ours_striped_resolved", "prometheus_client_resolved"),
            ]:
                v = ratio(g, a, b)
                if v is not None:
                    print(f"| {what} | `{g}` | {fmt_ratio(v)} |")
    for size in ["10k", "100k"]:
        v = ratio(f"encode/{size}", "ours", "prometheus_client")
        if v is not None:
            print(f"| ours / prometheus-client | `encode/{size}` | {v:.3f}× |")
    print()


def print_instrumented_targets(results):
    """Targets of the #[instrumented] and hot-path issues, when their groups ran."""
    if not any(g.startswith("call_sync/") for g in results):
        return
    print("### Targets: `#[instrumented]` and the hot path\n")
    print("Overhead = the row's time minus the bare call's time in the same group.\n")
    print("| target | measured as | value | met? |")
    print("| --- | --- | ---: | :---: |")

    def m(group, row):
        return median(results, group, row)

    def overhead(group, row, bare_group=None):
        x, b = m(group, row), m(bare_group or group, "bare")
        return None if x is None or b is None else max(x - b, 1e-3)

    def row(target, how, value, ok):
        if value is None:
            print(f"| {target} | {how} | not run | – |")
        else:
            print(f"| {target} | {how} | {fmt_ratio(value)} | {'yes' if ok(value) else '**no**'} |")

    for kind in ["call_sync", "call_async"]:
        for threads in ["1_thread", "2_threads"]:
            g = f"{kind}/{threads}"
            ours = overhead(g, "instrumented")
            if kind == "call_sync":
                hand = overhead(g, "prometheus_client_resolved")
                row(
                    f"`#[instrumented]` overhead ≤ 1.3× hand-written resolved prometheus-client ({threads})",
                    f"overhead ratio in `{g}`",
                    ours / hand if ours and hand else None,
                    lambda v: v <= 1.3,
                )
            auto = overhead(g, "autometrics")
            row(
                f"overhead ≥ 5× (issue 3) / ≥ 10× (issue 9) less than `#[autometrics]` ({kind}, {threads})",
                f"autometrics overhead / ours in `{g}`",
                auto / ours if auto and ours else None,
                lambda v: v >= 10,
            )
        one, two = m(f"{kind}/1_thread", "instrumented"), m(f"{kind}/2_threads", "instrumented")
        row(
            f"`#[instrumented]` on 2 threads ≤ 1.5× its 1-thread time ({kind})",
            "2-thread / 1-thread",
            two / one if one and two else None,
            lambda v: v <= 1.5,
        )
    ours = overhead("call_sync/1_thread", "instrumented")
    floor = overhead("floor/1_thread", "clock_counter_histogram_tsc")
    row(
        "`#[instrumented]` overhead ≤ 1.2× the floor (2 TSC reads + atomic counter + atomic histogram), 1 thread",
        "overhead ratio",
        ours / floor if ours and floor else None,
        lambda v: v <= 1.2,
    )
    floor_ours = overhead("floor/1_thread", "clock_counter_histogram_tsc_ours")
    row(
        "the same floor with `alerting_core::clock` ≤ 1.05× the floor with quanta (the clock swap), 1 thread",
        "floor overhead ratio, ours / quanta",
        floor_ours / floor if floor_ours and floor else None,
        lambda v: v <= 1.05,
    )
    a, b = m("encode_striped/10k", "striped"), m("encode_striped/10k", "unstriped")
    row(
        "encoding 10,000 striped series ≤ 1.5× unstriped",
        "striped / unstriped",
        a / b if a and b else None,
        lambda v: v <= 1.5,
    )
    print()


SPREAD_COLUMNS = [
    # (heading, group, numerator, denominator or None for a time)
    ("ours get", "counter_inc_2_enum_labels/2_threads", "ours_get", None),
    ("ours resolved", "counter_inc_2_enum_labels/2_threads", "ours_resolved", None),
    ("p-c resolved", "counter_inc_2_enum_labels/2_threads", "prometheus_client_resolved", None),
    ("p-c get_or_create", "counter_inc_2_enum_labels/2_threads", "prometheus_client_get_or_create", None),
    ("measured", "counter_inc_2_enum_labels/2_threads", "measured_counter_vec", None),
    ("ours get / p-c resolved", "counter_inc_2_enum_labels/2_threads", "ours_get", "prometheus_client_resolved"),
    ("p-c get_or_create / ours get", "counter_inc_2_enum_labels/2_threads", "prometheus_client_get_or_create", "ours_get"),
    ("ours get / measured", "counter_inc_2_enum_labels/2_threads", "ours_get", "measured_counter_vec"),
    ("striped get", "counter_inc_2_enum_labels/2_threads", "ours_striped_get", None),
    ("p-c get_or_create / striped get", "counter_inc_2_enum_labels/2_threads", "prometheus_client_get_or_create", "ours_striped_get"),
    ("counter+histogram: ours resolved / p-c resolved", "counter_plus_histogram/2_threads", "ours_resolved", "prometheus_client_resolved"),
    ("counter+histogram: striped resolved / p-c resolved", "counter_plus_histogram/2_threads", "ours_striped_resolved", "prometheus_client_resolved"),
]


def print_spread(criterion_dir, baselines):
    print("### Two threads, run by run\n")
    print("Each row is one run (a criterion baseline); times are medians per op per thread.\n")
    print("| run | " + " | ".join(c[0] for c in SPREAD_COLUMNS) + " |")
    print("| --- |" + " ---: |" * len(SPREAD_COLUMNS))
    for name in baselines:
        results = load(criterion_dir, name)
        cells = []
        for _, group, a, b in SPREAD_COLUMNS:
            x = median(results, group, a)
            y = median(results, group, b) if b else 1.0
            if x is None or y is None:
                cells.append("–")
            elif b:
                cells.append(fmt_ratio(x / y))
            else:
                cells.append(fmt_time(x))
        print(f"| `{name}` | " + " | ".join(cells) + " |")
    print()


def print_machine(results):
    model = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mtimes = [e[4] for g in results.values() for e in g.values()]
    when = (
        datetime.datetime.fromtimestamp(max(mtimes), datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
        if mtimes
        else "n/a"
    )
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    print(f"- CPUs (`nproc`): {cpus}")
    print(f"- CPU model (`/proc/cpuinfo`): {model}")
    print(f"- results written: {when}")
    print()


def main():
    here = Path(__file__).resolve().parent
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--criterion-dir", default=here.parent / "target" / "criterion", type=Path)
    parser.add_argument("--baseline", default="new", help="criterion result folder to read (default: new)")
    parser.add_argument("--machine", action="store_true", help="print the machine and date first")
    parser.add_argument("--spread", default="", help="comma-separated baselines to compare two-thread figures across")
    args = parser.parse_args()
    results = load(args.criterion_dir, args.baseline)
    if not results:
        sys.exit(f"no criterion results ({args.baseline}/) under {args.criterion_dir}; run cargo bench first")
    if args.machine:
        print_machine(results)
    print_tables(results)
    target_groups = ("counter_inc_2_enum_labels/", "dynamic_get_or_create/", "encode_mixed/", "encode/")
    if any(g.startswith(target_groups) for g in results):
        print_targets(results)
    print_instrumented_targets(results)
    if args.spread:
        print_spread(args.criterion_dir, [b for b in args.spread.split(",") if b])


if __name__ == "__main__":
    main()
