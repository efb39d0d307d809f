//! Exemplars on histograms and counters: written in the OpenMetrics
//! exposition only, on the bucket (or `_total`) line they belong to,
//! sampled once per bucket between scrapes, accepted by Python's strict
//! OpenMetrics parser; the Prometheus text output is the same as without
//! them.
//!
//! Python's parser is `prometheus_client.openmetrics.parser` (Debian's
//! `python3-prometheus-client`, which `.ci/run` installs). Without it the
//! test fails rather than skips.

mod common;

use std::io::Write;
use std::process::{Command, Stdio};

use alerting_core::instrumented;
use alerting_core::metrics::{
    Buckets, DynamicFamily, ExemplarCounter, ExemplarError, Family, Format, Histogram, LabelSet,
    LabelValue, MAX_EXEMPLAR_CHARS, MetricGroup, MetricKind, MetricOptions, Named, Registry,
    StripedCounter, StripedHistogram,
};

use common::assert_promtool_accepts;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, LabelValue)]
enum Stage {
    Intake,
    Alert,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, LabelSet)]
struct StageLabels {
    stage: Stage,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash, LabelSet)]
struct Token {
    token: String,
}

const TRACE: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
const TX: &str = "0x5c504ed432cb51138bcf09aa5e8a410dd4a1e204ef84bfed1be16dfba1b22060";

fn buckets() -> MetricOptions {
    MetricOptions::new().buckets(Buckets::new([0.1, 1.0]).unwrap())
}

/// The sample lines of `text` that start with `prefix`.
fn lines<'a>(text: &'a str, prefix: &str) -> Vec<&'a str> {
    text.lines().filter(|l| l.starts_with(prefix)).collect()
}

/// Splits an exemplar line into the sample and the exemplar's labels and
/// value (the timestamp varies).
fn exemplar_of(line: &str) -> Option<(&str, &str)> {
    let (sample, exemplar) = line.split_once(" # ")?;
    let (labels_value, _timestamp) = exemplar.rsplit_once(' ')?;
    Some((sample, labels_value))
}

/// A registry with one of each metric that takes exemplars, each given
/// some: a bare histogram, a striped histogram in a fixed family, a
/// histogram in a dynamic family, a striped counter, a compact counter on
/// its own and in a dynamic family (with a second series that has none).
fn registry_with_exemplars(with: bool) -> Registry {
    let registry = Registry::new();
    let plain: Histogram = registry
        .register_with("plain_seconds", "A plain histogram", buckets())
        .unwrap();
    let striped: Family<StageLabels, StripedHistogram> = registry
        .register_with("stage_seconds", "A striped histogram family", buckets())
        .unwrap();
    let dynamic: DynamicFamily<Token, Histogram> = registry
        .register_with("token_seconds", "A dynamic histogram family", buckets())
        .unwrap();
    let counter: StripedCounter = registry
        .register("alerts_sent_total", "A striped counter")
        .unwrap();
    let compact: ExemplarCounter = registry
        .register("swaps_seen_total", "A compact counter")
        .unwrap();
    let compact_family: DynamicFamily<Token, ExemplarCounter> = registry
        .register("token_swaps_total", "A dynamic compact counter family")
        .unwrap();
    let token = Token {
        token: "0xaa".into(),
    };
    let quiet = Token {
        token: "0xbb".into(),
    };
    compact_family.get_or_create(&quiet).inc_by(7);
    if with {
        plain
            .observe_with_exemplar(0.5, &[("trace_id", TRACE)])
            .unwrap();
        striped
            .get(StageLabels {
                stage: Stage::Alert,
            })
            .observe_with_exemplar(2.0, &[("tx_hash", TX)])
            .unwrap();
        dynamic
            .get_or_create(&token)
            .observe_with_exemplar(0.05, &[("trace_id", TRACE), ("note", r#"say "hi"\"#)])
            .unwrap();
        counter.inc_by_with_exemplar(3, &[("tx_hash", TX)]).unwrap();
        compact.inc_with_exemplar(&[("trace_id", TRACE)]).unwrap();
        compact_family
            .get_or_create(&token)
            .inc_by_with_exemplar(2, &[("tx_hash", TX)])
            .unwrap();
    } else {
        plain.observe(0.5);
        striped
            .get(StageLabels {
                stage: Stage::Alert,
            })
            .observe(2.0);
        dynamic.get_or_create(&token).observe(0.05);
        counter.inc_by(3);
        compact.inc();
        compact_family.get_or_create(&token).inc_by(2);
    }
    // Unlabelled observations around them, which carry no exemplar.
    plain.observe(0.01);
    striped
        .get(StageLabels {
            stage: Stage::Intake,
        })
        .observe(0.5);
    registry
}

#[test]
fn exemplars_are_on_their_bucket_lines_in_openmetrics() {
    let registry = registry_with_exemplars(true);
    let text = registry.encode_to_string(Format::OpenMetrics).unwrap();
    assert!(!text.contains("__alerting"), "{text}");
    let with: Vec<(&str, &str)> = text.lines().filter_map(exemplar_of).collect();
    assert_eq!(
        with,
        [
            (
                r#"plain_seconds_bucket{le="1.0"} 2"#,
                &*format!(r#"{{trace_id="{TRACE}"}} 0.5"#)
            ),
            (
                r#"stage_seconds_bucket{le="+Inf",stage="alert"} 1"#,
                &*format!(r#"{{tx_hash="{TX}"}} 2.0"#)
            ),
            (
                r#"token_seconds_bucket{le="0.1",token="0xaa"} 1"#,
                &*format!(r#"{{trace_id="{TRACE}",note="say \"hi\"\\"}} 0.05"#)
            ),
            (
                "alerts_sent_total 3",
                &*format!(r#"{{tx_hash="{TX}"}} 3.0"#)
            ),
            (
                "swaps_seen_total 1",
                &*format!(r#"{{trace_id="{TRACE}"}} 1.0"#)
            ),
            (
                r#"token_swaps_total{token="0xaa"} 2"#,
                &*format!(r#"{{tx_hash="{TX}"}} 2.0"#)
            ),
        ],
        "{text}"
    );
    // Everything else is as it would be without exemplars.
    let without = registry_with_exemplars(false)
        .encode_to_string(Format::OpenMetrics)
        .unwrap();
    let stripped: String = text
        .lines()
        .map(|l| l.split(" # {").next().unwrap())
        .collect::<Vec<_>>()
        .join("\n");
    assert_eq!(stripped + "\n", without);
    // The timestamp is the wall clock's, in seconds.
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs_f64();
    for line in lines(&text, "alerts_sent_total") {
        let ts: f64 = line.rsplit(' ').next().unwrap().parse().unwrap();
        assert!((now - 3600.0..=now + 1.0).contains(&ts), "{line}");
    }
}

#[test]
fn the_prometheus_text_format_is_unchanged_by_exemplars() {
    let with = registry_with_exemplars(true)
        .encode_to_string(Format::Prometheus)
        .unwrap();
    let without = registry_with_exemplars(false)
        .encode_to_string(Format::Prometheus)
        .unwrap();
    assert_eq!(with, without);
    assert_promtool_accepts(&with);
}

#[test]
fn a_bucket_keeps_one_exemplar_until_a_scrape_reads_it() {
    let registry = Registry::new();
    let h: Histogram = registry
        .register_with("sampled_seconds", "Sampled", buckets())
        .unwrap();
    let exemplar = |registry: &Registry| {
        let text = registry.encode_to_string(Format::OpenMetrics).unwrap();
        lines(&text, r#"sampled_seconds_bucket{le="1.0"}"#)
            .iter()
            .find_map(|l| exemplar_of(l).map(|(_, e)| e.to_owned()))
    };
    assert_eq!(exemplar(&registry), None);
    h.observe_with_exemplar(0.5, &[("id", "first")]).unwrap();
    h.observe_with_exemplar(0.6, &[("id", "second")]).unwrap();
    // The first offer took the bucket; the second was dropped.
    assert_eq!(exemplar(&registry).as_deref(), Some(r#"{id="first"} 0.5"#));
    // Read by a scrape, it is shown again until the next offer replaces it.
    assert_eq!(exemplar(&registry).as_deref(), Some(r#"{id="first"} 0.5"#));
    h.observe_with_exemplar(0.7, &[("id", "third")]).unwrap();
    h.observe_with_exemplar(0.8, &[("id", "fourth")]).unwrap();
    assert_eq!(exemplar(&registry).as_deref(), Some(r#"{id="third"} 0.7"#));
    // Other buckets are sampled on their own.
    h.observe_with_exemplar(0.05, &[("id", "fast")]).unwrap();
    let text = registry.encode_to_string(Format::OpenMetrics).unwrap();
    assert!(
        text.contains(r#"sampled_seconds_bucket{le="0.1"} 1 # {id="fast"} 0.05 "#),
        "{text}"
    );
    assert_eq!(h.count(), 5);
}

/// `±Inf` is counted (in the first or the `+Inf` bucket) and NaN is not;
/// neither takes a bucket's exemplar slot, so a finite value after them
/// still gets it.
#[test]
fn non_finite_values_count_without_taking_the_exemplar_slot() {
    let registry = Registry::new();
    let plain: Histogram = registry
        .register_with("edge_seconds", "Edge values", buckets())
        .unwrap();
    let striped: Family<StageLabels, StripedHistogram> = registry
        .register_with("edge_stage_seconds", "Edge values, striped", buckets())
        .unwrap();
    let stage = striped.get(StageLabels {
        stage: Stage::Intake,
    });
    for value in [f64::INFINITY, f64::NEG_INFINITY, f64::NAN] {
        plain
            .observe_with_exemplar(value, &[("id", "edge")])
            .unwrap();
        stage
            .observe_with_exemplar(value, &[("id", "edge")])
            .unwrap();
    }
    let text = registry.encode_to_string(Format::OpenMetrics).unwrap();
    assert!(!text.contains(r#"id="edge""#), "{text}");
    for name in ["edge_seconds", "edge_stage_seconds"] {
        let buckets = lines(&text, &format!("{name}_bucket"));
        // -Inf in the first bucket; it and +Inf in the last.
        assert!(buckets[0].contains(r#"le="0.1""#), "{text}");
        assert!(buckets[0].ends_with("} 1"), "{text}");
        assert!(buckets[2].contains(r#"le="+Inf""#), "{text}");
        assert!(buckets[2].ends_with("} 2"), "{text}");
    }
    plain
        .observe_with_exemplar(5.0, &[("id", "finite")])
        .unwrap();
    stage
        .observe_with_exemplar(5.0, &[("id", "finite")])
        .unwrap();
    let text = registry.encode_to_string(Format::OpenMetrics).unwrap();
    for name in ["edge_seconds", "edge_stage_seconds"] {
        let inf = lines(&text, &format!("{name}_bucket"))[2];
        assert_eq!(
            exemplar_of(inf).map(|(_, e)| e),
            Some(r#"{id="finite"} 5.0"#),
            "{text}"
        );
    }
}

#[test]
fn bad_exemplars_are_refused_and_the_value_still_counts() {
    let registry = Registry::new();
    let h: Histogram = registry
        .register_with("refused_seconds", "Refused", buckets())
        .unwrap();
    let c: StripedCounter = registry.register("refused_total", "Refused").unwrap();
    assert_eq!(
        h.observe_with_exemplar(0.5, &[("trace id", TRACE)]),
        Err(ExemplarError::InvalidLabelName {
            label: "trace id".into()
        })
    );
    let long = "é".repeat(MAX_EXEMPLAR_CHARS - "tx_hash".len() + 1);
    assert_eq!(
        c.inc_with_exemplar(&[("tx_hash", &long)]),
        Err(ExemplarError::TooLong {
            labels: "tx_hash".into(),
            chars: MAX_EXEMPLAR_CHARS + 1
        })
    );
    // Exactly at the limit is fine.
    let fits = "é".repeat(MAX_EXEMPLAR_CHARS - "tx_hash".len());
    h.observe_with_exemplar(0.05, &[("tx_hash", &fits)])
        .unwrap();
    assert_eq!(h.count(), 2);
    assert_eq!(c.get(), 1);
    let text = registry.encode_to_string(Format::OpenMetrics).unwrap();
    assert!(
        !text.contains("trace id") && !text.contains(&long),
        "{text}"
    );
    assert!(text.contains(&fits), "{text}");
}

#[test]
fn a_compact_counter_keeps_one_exemplar_until_a_scrape_reads_it() {
    let registry = Registry::new();
    let c: ExemplarCounter = registry.register("sampled_total", "Sampled").unwrap();
    let exemplar = |registry: &Registry| {
        let text = registry.encode_to_string(Format::OpenMetrics).unwrap();
        lines(&text, "sampled_total ")
            .iter()
            .find_map(|l| exemplar_of(l).map(|(_, e)| e.to_owned()))
    };
    c.inc();
    assert_eq!(exemplar(&registry), None);
    c.inc_with_exemplar(&[("id", "first")]).unwrap();
    c.inc_by_with_exemplar(5, &[("id", "second")]).unwrap();
    assert_eq!(exemplar(&registry).as_deref(), Some(r#"{id="first"} 1.0"#));
    c.inc_by_with_exemplar(5, &[("id", "third")]).unwrap();
    assert_eq!(exemplar(&registry).as_deref(), Some(r#"{id="third"} 5.0"#));
    // A refused exemplar still counts, and keeps nothing.
    assert_eq!(
        c.inc_with_exemplar(&[("1d", "x")]),
        Err(ExemplarError::InvalidLabelName { label: "1d".into() })
    );
    assert_eq!(c.get(), 13);
    // Clones share the series, and its exemplar.
    let clone = c.clone();
    assert_eq!(clone.inc(), 13);
    assert_eq!(c.get(), 14);
}

/// A group with a compact counter as a field, a dynamic family of them
/// wrapped in [`Named`] for rules, and a fixed family of them.
#[derive(Clone, Debug, MetricGroup)]
struct SwapMetrics {
    /// Swaps decoded.
    swaps_decoded_total: ExemplarCounter,
    /// Alerts sent, by token.
    alerts_by_token_total: Named<DynamicFamily<Token, ExemplarCounter>>,
    /// Items through each stage.
    stage_items_total: Family<StageLabels, ExemplarCounter>,
}

#[test]
fn a_compact_counter_works_in_a_metric_group_and_named() {
    let registry = Registry::new();
    let metrics: SwapMetrics = registry.register_group().unwrap();
    metrics
        .swaps_decoded_total
        .inc_with_exemplar(&[("tx_hash", TX)])
        .unwrap();
    metrics
        .alerts_by_token_total
        .get_or_create(&Token {
            token: "0xaa".into(),
        })
        .inc_with_exemplar(&[("trace_id", TRACE)])
        .unwrap();
    metrics
        .stage_items_total
        .get(StageLabels {
            stage: Stage::Alert,
        })
        .inc_by_with_exemplar(4, &[("tx_hash", TX)])
        .unwrap();
    let reference = metrics.alerts_by_token_total.metric_ref();
    assert_eq!(reference.name(), "alerts_by_token_total");
    assert_eq!(reference.kind(), MetricKind::Counter);
    assert_eq!(reference.label_names(), ["token"]);
    let text = registry.encode_to_string(Format::OpenMetrics).unwrap();
    let with: Vec<(&str, &str)> = text.lines().filter_map(exemplar_of).collect();
    assert_eq!(
        with,
        [
            (
                "swaps_decoded_total 1",
                &*format!(r#"{{tx_hash="{TX}"}} 1.0"#)
            ),
            (
                r#"alerts_by_token_total{token="0xaa"} 1"#,
                &*format!(r#"{{trace_id="{TRACE}"}} 1.0"#)
            ),
            (
                r#"stage_items_total{stage="alert"} 4"#,
                &*format!(r#"{{tx_hash="{TX}"}} 4.0"#)
            ),
        ],
        "{text}"
    );
    assert!(text.contains("# TYPE swaps_decoded counter\n"), "{text}");
    let prometheus = registry.encode_to_string(Format::Prometheus).unwrap();
    assert!(!prometheus.contains("tx_hash"), "{prometheus}");
    assert_promtool_accepts(&prometheus);
    python_openmetrics(&text).unwrap_or_else(|e| panic!("{e}\non:\n{text}"));
}

#[instrumented(exemplar = tx_hash, buckets = [1.0])]
fn handle_tx(tx_hash: &str) -> usize {
    tx_hash.len()
}

#[derive(Debug)]
struct Swap {
    tx: String,
}

#[instrumented(exemplar(tx_hash = swap.tx), buckets = [1.0])]
async fn handle_swap(swap: &Swap) -> Result<(), std::fmt::Error> {
    let _ = &swap.tx;
    Ok(())
}

#[test]
fn instrumented_attaches_the_named_argument() {
    let registry = Registry::new();
    registry.in_scope(|| {
        handle_tx(TX);
        handle_tx("0xdropped");
        let swap = Swap {
            tx: "0xbeef".into(),
        };
        let waker = std::task::Waker::noop();
        let mut cx = std::task::Context::from_waker(waker);
        let mut future = std::pin::pin!(handle_swap(&swap));
        assert!(future.as_mut().poll(&mut cx).is_ready());
    });
    let text = registry.encode_to_string(Format::OpenMetrics).unwrap();
    let exemplars: Vec<(&str, &str)> = text.lines().filter_map(exemplar_of).collect();
    assert_eq!(exemplars.len(), 2, "{text}");
    let (sample, labels_value) = exemplars[0];
    assert!(
        sample.starts_with(
            r#"function_call_duration_seconds_bucket{le="1.0",function="handle_tx",module="exemplars"} 2"#
        ),
        "{text}"
    );
    let (labels, value) = labels_value.rsplit_once(' ').unwrap();
    assert_eq!(labels, format!(r#"{{tx_hash="{TX}"}}"#));
    // The value is the call's duration, in seconds.
    assert!(
        (0.0..1.0).contains(&value.parse::<f64>().unwrap()),
        "{value}"
    );
    let (sample, labels_value) = exemplars[1];
    assert!(sample.contains(r#"function="handle_swap""#), "{text}");
    assert!(labels_value.starts_with(r#"{tx_hash="0xbeef"} "#), "{text}");
}

/// `text` parsed by Python's strict OpenMetrics parser: one line per
/// sample with an exemplar (`name labels -> exemplar labels value`), or the
/// parser's error.
fn python_openmetrics(text: &str) -> Result<String, String> {
    const SCRIPT: &str = r#"
import sys
from prometheus_client.openmetrics.parser import text_string_to_metric_families
for family in text_string_to_metric_families(sys.stdin.read()):
    for s in family.samples:
        if s.exemplar is not None:
            labels = ",".join(f"{k}={v}" for k, v in sorted(s.labels.items()))
            ex = ",".join(f"{k}={v}" for k, v in sorted(s.exemplar.labels.items()))
            print(f"{s.name} {labels} -> {ex} {s.exemplar.value} {s.exemplar.timestamp is not None}")
"#;
    // The first interpreter that has the parser: `python3` on the path, or
    // the system's (a pyenv shim may hide Debian's packages).
    let python = ["python3", "/usr/bin/python3"]
        .into_iter()
        .find(|p| {
            Command::new(p)
                .args(["-c", "import prometheus_client.openmetrics.parser"])
                .output()
                .is_ok_and(|o| o.status.success())
        })
        .expect("no python3 with prometheus_client: install Debian's python3-prometheus-client (.ci/run does)");
    let mut child = Command::new(python)
        .args(["-c", SCRIPT])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    if out.status.success() {
        Ok(String::from_utf8(out.stdout).unwrap())
    } else {
        Err(String::from_utf8_lossy(&out.stderr).into_owned())
    }
}

#[test]
fn pythons_strict_openmetrics_parser_reads_the_exemplars() {
    let registry = registry_with_exemplars(true);
    let text = registry.encode_to_string(Format::OpenMetrics).unwrap();
    let parsed = python_openmetrics(&text).unwrap_or_else(|e| panic!("{e}\non:\n{text}"));
    assert_eq!(
        parsed.lines().collect::<Vec<_>>(),
        [
            format!("plain_seconds_bucket le=1.0 -> trace_id={TRACE} 0.5 True"),
            format!("stage_seconds_bucket le=+Inf,stage=alert -> tx_hash={TX} 2.0 True"),
            format!(
                r#"token_seconds_bucket le=0.1,token=0xaa -> note=say "hi"\,trace_id={TRACE} 0.05 True"#
            ),
            format!("alerts_sent_total  -> tx_hash={TX} 3.0 True"),
            format!("swaps_seen_total  -> trace_id={TRACE} 1.0 True"),
            format!("token_swaps_total token=0xaa -> tx_hash={TX} 2.0 True"),
        ],
        "{text}"
    );
    // It is strict: a broken exemplar is refused, so the check means something.
    let broken = text.replacen(" # {trace_id=", " # {trace id=", 1);
    assert!(python_openmetrics(&broken).is_err());
}
