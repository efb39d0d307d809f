//! `Registry::register_runtime_metrics` writes the tokio runtime's stable
//! metrics, read at each scrape, and the exposition passes a real
//! `promtool check metrics`.

mod common;

use alerting_core::metrics::runtime::RuntimeCollector;
use alerting_core::metrics::{Format, MetricOrigin, MetricsError, Registry};
use common::assert_promtool_accepts;

/// The value of the sample line that starts with `series ` (exact labels).
fn value(text: &str, series: &str) -> f64 {
    text.lines()
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' '))
        .unwrap_or_else(|| panic!("no {series} in:\n{text}"))
        .parse()
        .unwrap()
}

/// Scrapes until `done` holds, at most 500 times 10 ms; the last scrape.
fn scrape_until(registry: &Registry, done: impl Fn(&str) -> bool) -> String {
    let mut text = String::new();
    for _ in 0..500 {
        text = registry.encode_to_string(Format::Prometheus).unwrap();
        if done(&text) {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    text
}

#[test]
fn runtime_metrics_follow_the_runtime_at_each_scrape() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let registry = Registry::builder()
        .namespace("svc")
        .const_label("service", "rt-test")
        .build()
        .unwrap();
    registry
        .register_runtime_metrics(runtime.handle().clone())
        .unwrap();

    // Ten tasks parked on a channel are alive until it is closed.
    let (tx, rx) = tokio::sync::watch::channel(false);
    let tasks: Vec<_> = (0..10)
        .map(|_| {
            let mut rx = rx.clone();
            runtime.spawn(async move {
                let _ = rx.wait_for(|done| *done).await;
            })
        })
        .collect();
    // Some CPU work on the workers, so that their busy time grows.
    runtime.block_on(async {
        let spins: Vec<_> = (0..4)
            .map(|_| {
                tokio::spawn(async {
                    let mut x = 0u64;
                    for i in 0..2_000_000u64 {
                        x = std::hint::black_box(x.wrapping_add(i));
                    }
                    x
                })
            })
            .collect();
        for s in spins {
            s.await.unwrap();
        }
    });

    // A worker hands its counts over when it parks, just after the work:
    // scrape until they show (bounded).
    let busy_of = |text: &str| -> f64 {
        (0..2)
            .map(|w| {
                value(
                    text,
                    &format!(
                        r#"tokio_runtime_worker_busy_seconds_total{{service="rt-test",worker="{w}"}}"#
                    ),
                )
            })
            .sum()
    };
    let text = scrape_until(&registry, |text| busy_of(text) > 0.0);
    assert!(busy_of(&text) > 0.0, "{text}");
    let labels = r#"{service="rt-test"}"#;
    assert_eq!(value(&text, &format!("tokio_runtime_workers{labels}")), 2.0);
    assert!(
        value(&text, &format!("tokio_runtime_alive_tasks{labels}")) >= 10.0,
        "{text}"
    );
    assert!(
        text.contains(&format!("tokio_runtime_global_queue_depth{labels} ")),
        "{text}"
    );
    for w in 0..2 {
        value(
            &text,
            &format!(r#"tokio_runtime_worker_parks_total{{service="rt-test",worker="{w}"}}"#),
        );
    }
    assert!(text.contains("# TYPE tokio_runtime_worker_busy_seconds_total counter"));
    assert!(!text.contains("svc_tokio"), "not namespaced:\n{text}");
    assert_promtool_accepts(&text);

    // The next scrape reads the runtime again: the tasks are gone.
    tx.send(true).unwrap();
    runtime.block_on(async {
        for t in tasks {
            t.await.unwrap();
        }
    });
    // A task is counted until its worker releases it, just after its
    // output is handed over: scrape until it shows (bounded).
    let alive = |text: &str| value(text, &format!("tokio_runtime_alive_tasks{labels}"));
    let text = scrape_until(&registry, |text| alive(text) == 0.0);
    assert_eq!(alive(&text), 0.0, "{text}");
}

#[test]
fn a_second_runtime_collector_is_a_duplicate_error() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let registry = Registry::new();
    registry
        .register_runtime_metrics(runtime.handle().clone())
        .unwrap();
    let err = registry
        .register_runtime_metrics(runtime.handle().clone())
        .unwrap_err();
    assert!(matches!(err, MetricsError::Duplicate { .. }), "{err}");
}

#[test]
fn metric_refs_name_what_the_collector_writes() {
    let refs = RuntimeCollector::metric_refs();
    assert_eq!(refs.workers.name(), "tokio_runtime_workers");
    assert_eq!(refs.worker_busy_seconds.label_names(), ["worker"]);
    assert_eq!(refs.worker_parks.origin(), MetricOrigin::Runtime);
    assert!(refs.alive_tasks.origin().is_exported());
}
