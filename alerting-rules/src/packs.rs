//! Ready-made alerts: the ones the seeds write by hand, as functions that
//! take the user's own families.
//!
//! Each returns an [`AlertRule`] with a name, an expression over the given
//! metrics, a `for`, a severity, a summary and a description that use the
//! series' labels. Change any of it with the rule's builder methods
//! (`.rename(…)`, `.severity(…)`, `.for_duration(…)`, `.runbook_url(…)`).
//! Selectors may be narrowed first (`metric.select().eq("service", "bsc")`)
//! so that a rule only watches one service.
//!
//! | function | alert | default |
//! |---|---|---|
//! | [`high_error_rate`] | `HighErrorRate` | critical, for 5m |
//! | [`api_error_rate`] | `HighApiErrorRate` | warning, for 5m |
//! | [`high_latency`], [`high_p95_latency`] | `HighLatency` | warning, for 5m |
//! | [`message_processing_latency`] | `HighMessageProcessingLatency` | warning, for 5m |
//! | [`websocket_disconnected`] | `WebSocketDisconnected` | critical, for 5m |
//! | [`no_data_received`] | `NoDataReceived` | critical, for 5m |
//! | [`db_pool_near_exhaustion`] | `DatabasePoolNearExhaustion` | critical, for 2m |
//! | [`redis_errors`] | `RedisErrors` | critical, for 2m |
//! | [`high_resident_memory`] | `HighMemoryUsage` | warning, for 5m |
//! | [`runtime_saturated`] | `RuntimeSaturated` | warning, for 10m |
//! | [`scrape_target_down`] | `ScrapeTargetDown` | critical, for 1m |
//! | [`health_check_down`] | `HealthCheckDown` | critical, for 1m |
//!
//! [`CommonAlerts`] gathers the last three for one service, with their
//! rule tests. A service's alerts share its `service` label and runbook
//! links: set them once on the rule file
//! ([`RuleFile::scope`](crate::RuleFile::scope),
//! [`RuleFile::runbooks`](crate::RuleFile::runbooks)); [`tag`] does both
//! for one alert.

use std::time::Duration;

use crate::builtin::Instrumented;
use crate::builtin::InstrumentedExt;
use crate::expr::{Expr, Matcher, Selector, error_ratio, histogram_quantile, rate};
use crate::metric::Select;
use crate::rule::{AlertRule, Severity};
use crate::slo::{fmt_seconds, percent};
use crate::testing::{ExpectedAlert, TestCase, fires_and_stays_silent, humanize1024};
use crate::{absent, builtin, fmt_duration};
use alerting_core::metrics::runtime::RuntimeCollector;
use alerting_core::metrics::{MetricRef, Registry};

const FIVE_MINUTES: Duration = Duration::from_secs(300);

/// `a={{ $labels.a }}, b={{ $labels.b }}` for the labels of a `by`.
fn where_labels(by: &[&str]) -> String {
    by.iter()
        .map(|l| format!("{l}={{{{ $labels.{l} }}}}"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn scoped(by: &[&str]) -> String {
    if by.is_empty() {
        String::new()
    } else {
        format!(" for {}", where_labels(by))
    }
}

/// `HighErrorRate`: more than `max_ratio` of the calls of an
/// `#[instrumented]` function failed (`error` or `panic`) over
/// 5 minutes, per function.
pub fn high_error_rate(functions: &Instrumented, max_ratio: f64) -> AlertRule {
    high_error_rate_of(functions.errors(), functions.finished(), max_ratio)
}

/// [`high_error_rate`] on narrowed selectors (the same functions'
/// `errors()` and `finished()` with more matchers).
pub fn high_error_rate_of(errors: Selector, finished: Selector, max_ratio: f64) -> AlertRule {
    let by = ["function", "module"];
    AlertRule::new(
        "HighErrorRate",
        error_ratio(errors, finished, FIVE_MINUTES, &by).gt(max_ratio),
    )
    .for_duration(FIVE_MINUTES)
    .severity(Severity::Critical)
    .summary("High error rate in {{ $labels.function }}")
    .description(format!(
        "{{{{ $value | humanizePercentage }}}} of the calls of {{{{ $labels.module }}}}::{{{{ $labels.function }}}} \
         failed over the last 5 minutes (threshold {}).",
        percent(max_ratio)
    ))
}

fn error_ratio_rule(
    name: &str,
    what: &str,
    counter: Selector,
    errors: Matcher,
    by: &[&str],
    max_ratio: f64,
) -> AlertRule {
    let failed = counter.clone().matching(errors);
    AlertRule::new(
        name,
        error_ratio(failed, counter, FIVE_MINUTES, by).gt(max_ratio),
    )
    .for_duration(FIVE_MINUTES)
    .summary(format!("{what} error rate above {}", percent(max_ratio)))
    .description(format!(
        "{{{{ $value | humanizePercentage }}}} of {} failed over the last 5 minutes{} \
         (threshold {}).",
        what,
        scoped(by),
        percent(max_ratio)
    ))
}

/// `HighApiErrorRate`: more than `max_ratio` of the requests counted by
/// `requests` match `errors` (`status="error"`, `status=~"5.."`) over
/// 5 minutes, per `by` (`api`, `endpoint`, `route`).
pub fn api_error_rate(
    requests: impl Into<Selector>,
    errors: Matcher,
    by: &[&str],
    max_ratio: f64,
) -> AlertRule {
    error_ratio_rule(
        "HighApiErrorRate",
        "API requests",
        requests.into(),
        errors,
        by,
        max_ratio,
    )
}

/// `RedisErrors`: more than `max_ratio` of Redis operations fail
/// (`result="error"`), per `by`.
pub fn redis_errors(
    operations: impl Into<Selector>,
    errors: Matcher,
    by: &[&str],
    max_ratio: f64,
) -> AlertRule {
    error_ratio_rule(
        "RedisErrors",
        "Redis operations",
        operations.into(),
        errors,
        by,
        max_ratio,
    )
    .for_duration(Duration::from_secs(120))
    .severity(Severity::Critical)
}

/// `HighLatency`: the `quantile` (0.95) of a histogram over 5 minutes is
/// above `max`, per `by`.
pub fn high_latency(
    histogram: impl Into<Selector>,
    quantile: f64,
    by: &[&str],
    max: Duration,
) -> AlertRule {
    let q = format!("p{}", super::fmt_number(quantile * 100.0));
    AlertRule::new(
        "HighLatency",
        histogram_quantile(quantile, histogram, FIVE_MINUTES, by).gt(max.as_secs_f64()),
    )
    .for_duration(FIVE_MINUTES)
    .summary(format!("{q} latency above {}", fmt_seconds(max)))
    .description(format!(
        "The {q} latency over the last 5 minutes is {{{{ $value | humanizeDuration }}}}{} \
         (threshold {}).",
        scoped(by),
        fmt_seconds(max)
    ))
}

/// [`high_latency`] at the 95th percentile.
pub fn high_p95_latency(histogram: impl Into<Selector>, by: &[&str], max: Duration) -> AlertRule {
    high_latency(histogram, 0.95, by, max)
}

/// `HighMessageProcessingLatency`: the p95 time to process a message over
/// 5 minutes is above `max`, per `by` (`event_type`).
pub fn message_processing_latency(
    histogram: impl Into<Selector>,
    by: &[&str],
    max: Duration,
) -> AlertRule {
    high_latency(histogram, 0.95, by, max)
        .rename("HighMessageProcessingLatency")
        .summary(format!("Message processing p95 above {}", fmt_seconds(max)))
        .description(format!(
            "95% of messages took up to {{{{ $value | humanizeDuration }}}} to process over the \
             last 5 minutes{} (threshold {}).",
            scoped(by),
            fmt_seconds(max)
        ))
}

/// `WebSocketDisconnected`: a gauge of open connections has been 0 for
/// 5 minutes, per `by` (`batch_id`), or per series when `by` is empty.
pub fn websocket_disconnected(connections: impl Into<Selector>, by: &[&str]) -> AlertRule {
    let current: Expr = Expr::from(connections.into());
    let expr = if by.is_empty() {
        current
    } else {
        current.sum_by(by)
    };
    AlertRule::new("WebSocketDisconnected", expr.lt(1.0))
        .for_duration(FIVE_MINUTES)
        .severity(Severity::Critical)
        .summary(format!("WebSocket disconnected{}", scoped(by)))
        .description(format!(
            "No WebSocket connection has been open for 5 minutes{}. Events are not being received.",
            scoped(by)
        ))
}

/// `NoDataReceived`: a counter of received messages has not moved over
/// `window`, per `by`; with an empty `by`, also when the counter has no
/// series at all (the service never registered it, or is not scraped).
///
/// With an empty `by` the rate is summed over every instance, so among
/// ten instances it fires only when all ten are silent; `&["instance"]`
/// fires for each stuck one (a target that is not scraped at all is then
/// `ScrapeTargetDown`'s).
pub fn no_data_received(messages: impl Into<Selector>, by: &[&str], window: Duration) -> AlertRule {
    let sel = messages.into();
    let moved = rate(sel.clone(), window);
    let expr = if by.is_empty() {
        moved.sum().equal(0.0).or(absent(sel))
    } else {
        moved.sum_by(by).equal(0.0)
    };
    let w = fmt_duration(window).unwrap_or_default();
    AlertRule::new("NoDataReceived", expr)
        .for_duration(FIVE_MINUTES)
        .severity(Severity::Critical)
        .summary(format!("No data received for {w}{}", scoped(by)))
        .description(format!(
            "Nothing was received over the last {w}{}: the stream may be stuck or the network down.",
            scoped(by)
        ))
}

/// `DatabasePoolNearExhaustion`: connections in use reach `max_ratio` of
/// the pool size (a number, or a gauge with the same labels).
///
/// `in_use` is a selector or an expression: for alerting-core's
/// `SqlPoolCollector`, whose in-use connections carry a `state` label that
/// the pool's size does not, drop it first:
///
/// ```
/// use alerting_core::metrics::MetricKind;
/// use alerting_rules::{packs, Expr, MetricRef, Select};
///
/// let connections = MetricRef::external("sql_pool_connections", MetricKind::Gauge, &["pool", "state"]);
/// let max = MetricRef::external("sql_pool_connections_max", MetricKind::Gauge, &["pool"]);
/// let in_use = Expr::from(connections.select().eq("state", "in_use")).sum_without(&["state"]);
/// let rule = packs::db_pool_near_exhaustion(in_use, &max, 0.9);
/// assert_eq!(
///     rule.expr().text(),
///     "sum without (state) (sql_pool_connections{state=\"in_use\"}) \
///      / sql_pool_connections_max >= 0.9",
/// );
/// ```
pub fn db_pool_near_exhaustion(
    in_use: impl Into<Expr>,
    pool_size: impl Into<Expr>,
    max_ratio: f64,
) -> AlertRule {
    let expr = (in_use.into() / pool_size).ge(max_ratio);
    AlertRule::new("DatabasePoolNearExhaustion", expr)
        .for_duration(Duration::from_secs(120))
        .severity(Severity::Critical)
        .summary("Database connection pool near exhaustion")
        .description(format!(
            "{{{{ $value | humanizePercentage }}}} of the database pool is in use on \
             {{{{ $labels.instance }}}} (threshold {}); queries will soon wait for a connection.",
            percent(max_ratio)
        ))
}

/// `HighMemoryUsage`: resident memory (`process_resident_memory_bytes`,
/// see [`builtin::process_resident_memory_bytes`])
/// above `max_bytes` for 5 minutes.
pub fn high_resident_memory(resident: impl Into<Selector>, max_bytes: f64) -> AlertRule {
    AlertRule::new("HighMemoryUsage", Expr::from(resident.into()).gt(max_bytes))
        .for_duration(FIVE_MINUTES)
        .summary("High memory usage on {{ $labels.instance }}")
        .description(format!(
            "Resident memory is {{{{ $value | humanize1024 }}}}B on {{{{ $labels.instance }}}} \
         (threshold {}).",
            bytes(max_bytes)
        ))
}

/// `RuntimeSaturated`: the tokio runtime's workers were busy (not
/// parked) more than `max_ratio` of the time over 5 minutes, for 10
/// minutes, per `by` (`&["instance"]`: one alert per process). Tasks then
/// wait for a worker, so every latency of the service grows, whatever it
/// waits on. Reads the runtime collector's
/// `tokio_runtime_worker_busy_seconds_total` and `tokio_runtime_workers`
/// ([`Registry::register_runtime_metrics`]); [`runtime_saturated_of`]
/// takes narrowed selectors.
///
/// ```
/// use alerting_rules::packs;
///
/// let rule = packs::runtime_saturated(&["instance"], 0.9);
/// assert_eq!(rule.name(), "RuntimeSaturated");
/// assert_eq!(
///     rule.expr().text(),
///     "sum by (instance) (rate(tokio_runtime_worker_busy_seconds_total[5m])) \
///      / sum by (instance) (tokio_runtime_workers) > 0.9",
/// );
/// ```
pub fn runtime_saturated(by: &[&str], max_ratio: f64) -> AlertRule {
    let refs = RuntimeCollector::metric_refs();
    runtime_saturated_of(
        refs.worker_busy_seconds.select(),
        refs.workers.select(),
        by,
        max_ratio,
    )
}

/// [`runtime_saturated`] on narrowed selectors (`busy`:
/// `tokio_runtime_worker_busy_seconds_total`, `workers`:
/// `tokio_runtime_workers`, with the same matchers).
pub fn runtime_saturated_of(
    busy: Selector,
    workers: Selector,
    by: &[&str],
    max_ratio: f64,
) -> AlertRule {
    let busy_ratio = rate(busy, FIVE_MINUTES).sum_by(by) / Expr::from(workers).sum_by(by);
    AlertRule::new("RuntimeSaturated", busy_ratio.gt(max_ratio))
        .for_duration(Duration::from_secs(600))
        .summary(format!("tokio runtime saturated{}", scoped(by)))
        .description(format!(
            "The tokio runtime's workers were busy {{{{ $value | humanizePercentage }}}} of the \
             time over the last 5 minutes{} (threshold {}): tasks wait for a free worker, so \
             every latency of the service grows. Look for blocking calls or CPU-heavy work on \
             the runtime, or give it more workers.",
            scoped(by),
            percent(max_ratio)
        ))
}

/// `ScrapeTargetDown`: Prometheus could not scrape the target for a
/// minute (`up == 0`, see [`builtin::up`]; narrow it
/// to the service's job).
pub fn scrape_target_down(up: impl Into<Selector>) -> AlertRule {
    AlertRule::new("ScrapeTargetDown", Expr::from(up.into()).equal(0.0))
        .for_duration(Duration::from_secs(60))
        .severity(Severity::Critical)
        .summary("{{ $labels.job }} target {{ $labels.instance }} is down")
        .description(
            "Prometheus has failed to scrape {{ $labels.instance }} (job {{ $labels.job }}) \
             for a minute: the service is down or unreachable, and its other alerts cannot fire.",
        )
}

/// `HealthCheckDown`: a health check reported down
/// (`health_check_status == 0`) for a minute.
pub fn health_check_down(status: &MetricRef) -> AlertRule {
    health_check_down_of(status.select())
}

/// [`health_check_down`] on a narrowed selector.
pub fn health_check_down_of(status: Selector) -> AlertRule {
    AlertRule::new("HealthCheckDown", Expr::from(status).equal(0.0))
        .for_duration(Duration::from_secs(60))
        .severity(Severity::Critical)
        .summary("Health check {{ $labels.check }} is down")
        .description(
            "The health check {{ $labels.check }} has reported down on {{ $labels.instance }} \
             for a minute.",
        )
}

/// Tags an alert of `service`: the `service` label (for routing and
/// inhibition in Alertmanager) and a `runbook_url` annotation,
/// `<runbooks>#<alert name in lower case>`, the anchor GitHub gives a
/// `### HighErrorRate` heading in a Markdown runbook.
///
/// ```
/// use alerting_core::metrics::Registry;
/// use alerting_rules::{builtin, packs};
///
/// let fns = builtin::Instrumented::new(&Registry::new()).within(module_path!());
/// let rule = packs::tag(
///     packs::high_error_rate(&fns, 0.05),
///     "checkout",
///     "https://runbooks.example.com/checkout.md",
/// );
/// assert_eq!(rule.labels()["service"], "checkout");
/// assert_eq!(
///     rule.annotations()["runbook_url"],
///     "https://runbooks.example.com/checkout.md#higherrorrate",
/// );
/// ```
pub fn tag(rule: AlertRule, service: &str, runbooks: &str) -> AlertRule {
    with_runbook(rule.label("service", service), runbooks)
}

fn with_runbook(rule: AlertRule, runbooks: &str) -> AlertRule {
    let anchor = rule.name().to_lowercase();
    rule.runbook_url(format!("{runbooks}#{anchor}"))
}

/// The alerts every service has on what runs it, labelled with its
/// `service`: [`high_resident_memory`] (`HighMemoryUsage`) on its process,
/// [`scrape_target_down`] (`ScrapeTargetDown`) on its scrape target, which
/// Prometheus scrapes as job `service`, and [`health_check_down_of`]
/// (`HealthCheckDown`) on its health checks; and their rule tests.
///
/// ```
/// use alerting_core::metrics::Registry;
/// use alerting_rules::testing::RuleTests;
/// use alerting_rules::{RuleFile, RuleGroup, packs};
///
/// let registry = Registry::builder().const_label("service", "checkout").build()?;
/// let common = packs::CommonAlerts::new("checkout", &registry, 1e9)
///     .runbooks("https://runbooks.example.com/checkout.md");
/// let rules = RuleFile::new()
///     .for_registry(&registry)
///     .group(RuleGroup::new("checkout").rules(common.rules()));
/// assert!(rules.to_yaml()?.contains(r#"up{job="checkout"} == 0"#));
///
/// // Resident memory at 1.5 GB fires, at 300 MB does not; the check `db`
/// // down fires, degraded does not.
/// let cases = common.test_cases("checkout-1:9100", "db", 1_500_000_000, 300_000_000);
/// let yaml = RuleTests::new(["rules.yml"]).for_registry(&registry).tests(cases).to_yaml()?;
/// assert!(yaml.contains("Resident memory is 1.397GiB on checkout-1:9100 (threshold 1 GB)."));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug)]
pub struct CommonAlerts {
    service: String,
    max_resident_bytes: f64,
    health_status: MetricRef,
    memory: AlertRule,
    target_down: AlertRule,
    health_down: AlertRule,
}

impl CommonAlerts {
    /// The alerts of `service`, whose metrics `registry` holds (for the
    /// health check family's name) and whose resident memory should stay
    /// under `max_resident_bytes`.
    pub fn new(service: &str, registry: &Registry, max_resident_bytes: f64) -> Self {
        let health_status = builtin::health_check_status(registry);
        let tagged = |rule: AlertRule| rule.label("service", service);
        Self {
            service: service.to_owned(),
            max_resident_bytes,
            memory: tagged(high_resident_memory(
                builtin::process_resident_memory_bytes()
                    .select()
                    .eq("service", service),
                max_resident_bytes,
            )),
            target_down: tagged(scrape_target_down(
                builtin::up().select().eq("job", service),
            )),
            health_down: tagged(health_check_down_of(
                health_status.select().eq("service", service),
            )),
            health_status,
        }
    }

    /// Adds a runbook link to each alert, as [`tag`] does.
    #[must_use]
    pub fn runbooks(self, runbooks: &str) -> Self {
        Self {
            memory: with_runbook(self.memory, runbooks),
            target_down: with_runbook(self.target_down, runbooks),
            health_down: with_runbook(self.health_down, runbooks),
            ..self
        }
    }

    /// The rules: `HighMemoryUsage`, `ScrapeTargetDown`, `HealthCheckDown`.
    pub fn rules(&self) -> [AlertRule; 3] {
        [
            self.memory.clone(),
            self.target_down.clone(),
            self.health_down.clone(),
        ]
    }

    /// A firing and a silent case of each alert
    /// ([`fires_and_stays_silent`]), on the target `instance`: resident
    /// memory held at `faulty_resident` bytes (above the threshold) and at
    /// `healthy_resident` (below it); the target down after two scrapes,
    /// and up; the health check `check` down, and degraded (which is not
    /// down).
    pub fn test_cases(
        &self,
        instance: &str,
        check: &str,
        faulty_resident: u64,
        healthy_resident: u64,
    ) -> Vec<TestCase> {
        let service = self.service.as_str();
        let target = [("instance", instance), ("job", service)];
        let on_target = |s: Selector| {
            s.eq("instance", instance)
                .eq("job", service)
                .eq("service", service)
        };
        let minutes = |n: u64| Duration::from_secs(60 * n);
        let mut cases = Vec::new();

        let resident = on_target(builtin::process_resident_memory_bytes().select());
        cases.extend(fires_and_stays_silent(
            &self.memory,
            minutes(10),
            &[(resident.clone(), &format!("{faulty_resident}x15"))],
            &[(resident, &format!("{healthy_resident}x15"))],
            ExpectedAlert::of(&self.memory)
                .labels(target)
                .label("service", service)
                .summary(format!("High memory usage on {instance}"))
                .description(format!(
                    "Resident memory is {}B on {instance} (threshold {}).",
                    humanize1024(faulty_resident as f64),
                    bytes(self.max_resident_bytes)
                )),
        ));

        let up = builtin::up()
            .select()
            .eq("instance", instance)
            .eq("job", service);
        cases.extend(fires_and_stays_silent(
            &self.target_down,
            minutes(5),
            &[(up.clone(), "1 1 0x10")],
            &[(up, "1x10")],
            ExpectedAlert::of(&self.target_down)
                .labels(target)
                .summary(format!("{service} target {instance} is down"))
                .description(format!(
                    "Prometheus has failed to scrape {instance} (job {service}) for a minute: the \
                     service is down or unreachable, and its other alerts cannot fire."
                )),
        ));

        let status = on_target(self.health_status.select()).eq("check", check);
        cases.extend(fires_and_stays_silent(
            &self.health_down,
            minutes(5),
            &[(status.clone(), "1 1 0x10")],
            // Degraded (0.5) is not down.
            &[(status, "1 1 0.5x10")],
            ExpectedAlert::of(&self.health_down)
                .labels(target)
                .labels([("check", check), ("service", service)])
                .summary(format!("Health check {check} is down"))
                .description(format!(
                    "The health check {check} has reported down on {instance} for a minute."
                )),
        ));
        cases
    }
}

/// `1e9` → `1 GB`, `1073741824` → `1 GiB`.
fn bytes(n: f64) -> String {
    const UNITS: [(&str, f64); 6] = [
        ("TiB", 1_099_511_627_776.0),
        ("GiB", 1_073_741_824.0),
        ("MiB", 1_048_576.0),
        ("TB", 1e12),
        ("GB", 1e9),
        ("MB", 1e6),
    ];
    for (unit, size) in UNITS {
        if n >= size && (n / size).fract() == 0.0 {
            return format!("{} {unit}", super::fmt_number(n / size));
        }
    }
    format!("{} bytes", super::fmt_number(n))
}
