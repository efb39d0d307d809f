//! bsc-monitor's rules, rule tests and dashboard, from
//! [`bsc_monitor::metrics`].

use std::error::Error;
use std::sync::OnceLock;
use std::time::Duration;

use alerting_core::instrumented;
use alerting_core::metrics::Registry;
use alerting_rules::dashboards::{Panel, Row, Unit};
use alerting_rules::prelude::*;
use alerting_rules::testing::{AlertTest, TestCase};
use alerting_rules::{
    AlertRule, Expr, Matcher, RuleFile, RuleGroup, Selector, Severity, Sli, Slo, builtin,
    histogram_quantile, increase, packs, rate,
};
pub use bsc_monitor::metrics::{BscMetrics, IN_FLIGHT_FUNCTIONS, INSTRUMENTED_FUNCTIONS};

use crate::{
    Generated, HEADER, HostAlerts, MINUTE, RUNBOOKS, Timing, common_rows, dashboard, expect,
    latency_slo_case, minutes, pair, register_once, registry_for, rule_tests, slo_burn_cases, tag,
};

/// The service name (a constant label on every series).
pub const SERVICE: &str = "bsc-monitor";
const BSC: &str = SERVICE;

/// The module of `process_swap_event` in the app, as `#[instrumented]`
/// labels it.
const MODULE: &str = "bsc_monitor::pipeline";
/// The module of `fetch_token_info`.
const PRICE_MODULE: &str = "bsc_monitor::price";

/// `HighMessageProcessingLatency`'s threshold: the seed's p95 goal. It
/// must be below the largest finite bucket of
/// `bsc_ws_messages_processing_seconds` (10 s), or the alert could never
/// fire.
pub const MESSAGE_P95: Duration = Duration::from_secs(1);

/// How long `NoDataReceived` waits for a message: the simulator and a
/// real BSC node both send swaps continuously, so a few minutes of silence
/// is an outage, not a quiet market.
pub const NO_DATA_WINDOW: Duration = Duration::from_secs(5 * 60);

impl Timing {
    /// The committed files' values for bsc-monitor.
    pub fn bsc() -> Self {
        Self {
            interval: Duration::from_secs(30),
            pending: minutes(1),
            no_data_window: NO_DATA_WINDOW,
        }
    }
}

/// bsc-monitor's registry (the app's `service` label).
pub fn registry() -> &'static Registry {
    static R: OnceLock<Registry> = OnceLock::new();
    R.get_or_init(|| registry_for(BSC))
}

/// bsc-monitor's metrics, registered once in [`registry`].
///
/// # Errors
///
/// When the group does not register (a naming rule).
pub fn metrics() -> Result<&'static BscMetrics, String> {
    static M: OnceLock<Result<BscMetrics, String>> = OnceLock::new();
    register_once(&M, registry())
}

/// Stand-ins of the app's instrumented functions, with the same names and
/// options, recording into [`registry`]: they register the families
/// `#[instrumented]` creates on a first call. The app's tests check that
/// it exports [`INSTRUMENTED_FUNCTIONS`].
mod stand_ins {
    use super::{instrumented, registry};

    #[instrumented(registry = registry, in_flight)]
    pub(super) async fn process_swap_event(valid: bool) -> Result<(), String> {
        if valid { Ok(()) } else { Err("bad log".into()) }
    }

    #[instrumented(registry = registry)]
    pub(super) fn fetch_token_info(token: &str) -> Result<u64, String> {
        token.len().try_into().map_err(|_| "too long".to_owned())
    }

    #[instrumented(registry = registry)]
    pub(super) fn send_alert(ok: bool) -> Result<(), String> {
        if ok {
            Ok(())
        } else {
            Err("webhook down".into())
        }
    }
}

/// Calls each stand-in once.
pub(crate) fn exercise() -> Result<(), Box<dyn Error>> {
    metrics()?;
    let runtime = tokio::runtime::Builder::new_current_thread().build()?;
    runtime.block_on(async {
        let _ = stand_ins::process_swap_event(true).await;
    });
    let _ = stand_ins::fetch_token_info("0xabc");
    let _ = stand_ins::send_alert(true);
    Ok(())
}

/// bsc-monitor's rules, tests and dashboard.
///
/// # Errors
///
/// When a rule or panel names a label its metric does not have, or
/// cannot be rendered.
pub fn generate() -> Result<Generated, Box<dyn Error>> {
    with(&Timing::bsc())
}

/// bsc-monitor's `WebSocketDisconnected` and `NoDataReceived` alerts.
///
/// # Errors
///
/// When a rule cannot be built.
pub fn stream_alerts(m: &BscMetrics, timing: &Timing) -> Result<[AlertRule; 2], Box<dyn Error>> {
    let svc = |s: Selector| s.eq("service", BSC);
    let disconnected = tag(
        BSC,
        packs::websocket_disconnected(svc(m.bsc_ws_connections_active.select()), &[])
            .for_duration(timing.pending)
            .description(format!(
                "bsc-monitor has had no log subscription open to the node for {}: swap events \
                 are not being received (see the bsc_ws health check for the reason).",
                alerting_rules::fmt_duration(timing.pending).ok_or("bad duration")?
            )),
    );
    // Per instance: one stuck instance among ten fires on its own (an
    // instance that is not scraped at all is `ScrapeTargetDown`'s).
    let window = alerting_rules::fmt_duration(timing.no_data_window).ok_or("bad duration")?;
    let on_instance = " on {{ $labels.instance }}";
    let no_data = tag(
        BSC,
        packs::no_data_received(
            svc(m.bsc_ws_messages_received_total.select()),
            &["instance"],
            timing.no_data_window,
        )
        .for_duration(timing.pending)
        .summary(format!("No swap received for {window}{on_instance}"))
        .description(format!(
            "bsc-monitor{on_instance} has received no swap log over the last {window}: the \
             subscription may be stuck or the node down."
        )),
    );
    Ok([disconnected, no_data])
}

/// bsc-monitor's rules, tests and dashboard at `timing`.
///
/// # Errors
///
/// As [`generate`].
pub fn with(timing: &Timing) -> Result<Generated, Box<dyn Error>> {
    let m = metrics()?;
    let registry = registry();
    let fns = builtin::Instrumented::new(registry).with_in_flight(IN_FLIGHT_FUNCTIONS);
    let svc = |s: Selector| s.eq("service", BSC);
    let host = [("instance", "bsc-1:9100"), ("job", BSC), ("service", BSC)];
    let on_host = |s: Selector| {
        s.eq("instance", "bsc-1:9100")
            .eq("job", BSC)
            .eq("service", BSC)
    };

    let high_error_rate = tag(
        BSC,
        packs::high_error_rate_of(svc(fns.errors()), svc(fns.finished()), 0.05),
    );
    let high_latency = tag(
        BSC,
        packs::high_p95_latency(
            svc(fns.duration().select()),
            &["function"],
            Duration::from_secs(1),
        ),
    );
    // `error` and `timeout` are failures; `rate_limited` (retried) and
    // `incomplete` (degraded data) are not.
    let api_errors = tag(
        BSC,
        packs::api_error_rate(
            svc(m.api_requests_total.select()),
            Matcher::re("status", "error|timeout"),
            &["api", "endpoint"],
            0.1,
        ),
    );
    let message_latency = tag(
        BSC,
        packs::message_processing_latency(
            svc(m.bsc_ws_messages_processing_seconds.select()),
            &["event_type"],
            MESSAGE_P95,
        ),
    );
    let [disconnected, no_data] = stream_alerts(m, timing)?;
    let host_alerts = HostAlerts::new(BSC, registry, 1e9);
    let rpc_errors = tag(
        BSC,
        AlertRule::new(
            "RpcErrors",
            alerting_rules::error_ratio(
                svc(m.rpc_calls_total.select()).eq("result", "error"),
                svc(m.rpc_calls_total.select()),
                minutes(5),
                &["method"],
            ),
        )
        .condition(|e| e.gt(0.2))
        .for_duration(minutes(5))
        .severity(Severity::Warning)
        .summary("RPC calls failing ({{ $labels.method }})")
        .description(
            "{{ $value | humanizePercentage }} of {{ $labels.method }} calls to the BSC node \
             failed over the last 5 minutes (threshold 20%); events may be missed.",
        ),
    );

    let availability = Slo::new(
        "swap_processing",
        Sli::instrumented(&fns, "process_swap_event").matching(Matcher::eq("service", BSC)),
        0.999,
    )
    .service(BSC)
    .runbook_url(format!("{RUNBOOKS}#slo-burn-rate-alerts"));
    let latency = Slo::new(
        "swap_processing_latency",
        Sli::instrumented_latency(&fns, "process_swap_event", Duration::from_secs(1))
            .matching(Matcher::eq("service", BSC)),
        0.99,
    )
    .service(BSC)
    .runbook_url(format!("{RUNBOOKS}#slo-burn-rate-alerts"));

    let rules = RuleFile::new()
        .header(HEADER)
        .for_registry(registry)
        .group(
            RuleGroup::new(BSC)
                .interval(timing.interval)
                .rules([
                    high_error_rate.clone(),
                    high_latency.clone(),
                    api_errors.clone(),
                    message_latency.clone(),
                    disconnected.clone(),
                    no_data.clone(),
                    rpc_errors.clone(),
                ])
                .rules(host_alerts.rules()),
        )
        .groups(availability.rule_groups()?)
        .groups(latency.rule_groups()?);

    // -- tests --------------------------------------------------------
    let call = |function: &str, outcome: &str| {
        fns.calls()
            .select()
            .eq("function", function)
            .eq("module", PRICE_MODULE)
            .eq("outcome", outcome)
            .eq("service", BSC)
    };
    let mut cases = Vec::new();
    cases.extend(pair(
        &high_error_rate,
        minutes(15),
        vec![
            (call("fetch_token_info", "ok"), "0+90x20"),
            (call("fetch_token_info", "error"), "0+10x20"),
        ],
        vec![
            (call("fetch_token_info", "ok"), "0+99x20"),
            (call("fetch_token_info", "error"), "0+1x20"),
        ],
        expect(
            &high_error_rate,
            &[("function", "fetch_token_info"), ("module", PRICE_MODULE)],
            "High error rate in fetch_token_info",
            "10% of the calls of bsc_monitor::price::fetch_token_info failed over the last 5 minutes (threshold 5%).",
        ),
    ));
    let bucket = |le: &str| {
        fns.duration()
            .select()
            .bucket()
            .eq("function", "fetch_token_info")
            .eq("module", PRICE_MODULE)
            .eq("service", BSC)
            .eq("le", le)
    };
    cases.extend(pair(
        &high_latency,
        minutes(15),
        vec![
            (bucket("0.5"), "0x20"),
            (bucket("1"), "0x20"),
            (bucket("2.5"), "0+10x20"),
            (bucket("+Inf"), "0+10x20"),
        ],
        vec![
            (bucket("0.5"), "0+10x20"),
            (bucket("1"), "0+10x20"),
            (bucket("2.5"), "0+10x20"),
            (bucket("+Inf"), "0+10x20"),
        ],
        expect(
            &high_latency,
            &[("function", "fetch_token_info")],
            "p95 latency above 1s",
            "The p95 latency over the last 5 minutes is 2.425s for function=fetch_token_info (threshold 1s).",
        ),
    ));
    let api = |status: &str| {
        m.api_requests_total
            .select()
            .eq("api", "dbotx")
            .eq("endpoint", "token_info")
            .eq("status", status)
            .eq("service", BSC)
    };
    cases.extend(pair(
        &api_errors,
        minutes(15),
        vec![
            (api("success"), "0+80x20"),
            (api("error"), "0+10x20"),
            (api("timeout"), "0+10x20"),
        ],
        // Rate limiting (retried) and incomplete answers are not errors.
        vec![
            (api("success"), "0+60x20"),
            (api("rate_limited"), "0+20x20"),
            (api("incomplete"), "0+20x20"),
            (api("error"), "0+1x20"),
        ],
        expect(
            &api_errors,
            &[("api", "dbotx"), ("endpoint", "token_info")],
            "API requests error rate above 10%",
            "20% of API requests failed over the last 5 minutes for api=dbotx, endpoint=token_info (threshold 10%).",
        ),
    ));
    let processing = |le: &str| {
        m.bsc_ws_messages_processing_seconds
            .select()
            .bucket()
            .eq("event_type", "swap")
            .eq("service", BSC)
            .eq("le", le)
    };
    cases.extend(pair(
        &message_latency,
        minutes(15),
        vec![
            (processing("0.5"), "0x20"),
            (processing("1"), "0x20"),
            (processing("2.5"), "0+10x20"),
            (processing("+Inf"), "0+10x20"),
        ],
        vec![
            (processing("0.5"), "0+10x20"),
            (processing("1"), "0+10x20"),
            (processing("2.5"), "0+10x20"),
            (processing("+Inf"), "0+10x20"),
        ],
        expect(
            &message_latency,
            &[("event_type", "swap")],
            "Message processing p95 above 1s",
            "95% of messages took up to 2.425s to process over the last 5 minutes for event_type=swap (threshold 1s).",
        ),
    ));
    let connections = on_host(m.bsc_ws_connections_active.select());
    cases.extend(pair(
        &disconnected,
        minutes(5),
        vec![(connections.clone(), "1 1 0x10")],
        // A reconnect within the pending period does not fire.
        vec![(connections, "1 1 0 1x10")],
        expect(
            &disconnected,
            &host,
            "WebSocket disconnected",
            "bsc-monitor has had no log subscription open to the node for 1m: swap events are not being received (see the bsc_ws health check for the reason).",
        ),
    ));
    let received = on_host(m.bsc_ws_messages_received_total.select());
    cases.extend(pair(
        &no_data,
        minutes(30),
        vec![(received.clone(), "0+10x10 100x30")],
        vec![(received, "0+10x40")],
        expect(
            &no_data,
            &[("instance", "bsc-1:9100")],
            "No swap received for 5m on bsc-1:9100",
            "bsc-monitor on bsc-1:9100 has received no swap log over the last 5m: the subscription may be stuck or the node down.",
        ),
    ));
    let received_on = |instance: &str| {
        m.bsc_ws_messages_received_total
            .select()
            .eq("instance", instance)
            .eq("job", BSC)
            .eq("service", BSC)
    };
    cases.push(
        TestCase::new("NoDataReceived fires for one stuck instance among two")
            .series(received_on("bsc-1:9100"), "0+10x40")
            .series(received_on("bsc-2:9100"), "0+10x10 100x30")
            .expect(AlertTest::new(&no_data, minutes(30)).fires(expect(
                &no_data,
                &[("instance", "bsc-2:9100")],
                "No swap received for 5m on bsc-2:9100",
                "bsc-monitor on bsc-2:9100 has received no swap log over the last 5m: the subscription may be stuck or the node down.",
            ))),
    );
    cases.extend(host_alerts.cases(
        BSC,
        registry,
        "bsc-1:9100",
        (1_500_000_000, "1.397GiB", "1 GB"),
        "bsc_ws",
    ));
    let rpc = |result: &str| {
        m.rpc_calls_total
            .select()
            .eq("chain", "bsc")
            .eq("method", "eth_call")
            .eq("result", result)
            .eq("service", BSC)
    };
    cases.extend(pair(
        &rpc_errors,
        minutes(15),
        vec![(rpc("ok"), "0+50x20"), (rpc("error"), "0+50x20")],
        vec![(rpc("ok"), "0+95x20"), (rpc("error"), "0+5x20")],
        expect(
            &rpc_errors,
            &[("method", "eth_call")],
            "RPC calls failing (eth_call)",
            "50% of eth_call calls to the BSC node failed over the last 5 minutes (threshold 20%); events may be missed.",
        ),
    ));
    cases.extend(slo_burn_cases(
        &availability,
        &fns,
        (MODULE, "process_swap_event"),
        BSC,
    )?);
    cases.push(latency_slo_case(
        &latency,
        &fns,
        (MODULE, "process_swap_event"),
        BSC,
    )?);

    let tests = rule_tests(registry, cases);

    // -- dashboard ----------------------------------------------------
    let d = dashboard(BSC, "BSC swap-event monitor", registry);
    let five = minutes(5);
    let websocket = Row::new("WebSocket")
        .panel(
            Panel::timeseries("Subscription open", Unit::Short)
                .min(0.0)
                .query(
                    Expr::from(d.filtered(&m.bsc_ws_connections_active)),
                    "{{instance}}",
                ),
        )
        .panel(
            Panel::timeseries("Messages per second", Unit::OpsPerSecond)
                .min(0.0)
                .query(
                    rate(d.filtered(&m.bsc_ws_messages_received_total), five).sum(),
                    "received",
                )
                .query(
                    rate(d.filtered(&m.bsc_ws_messages_total), five)
                        .sum_by(&["event_type", "result"]),
                    "{{event_type}} {{result}}",
                ),
        )
        .panel(
            Panel::timeseries("Messages in flight", Unit::Short)
                .min(0.0)
                .query(
                    Expr::from(d.filtered(&m.bsc_ws_messages_in_flight)),
                    "{{instance}}",
                ),
        )
        .panel(
            Panel::timeseries("Processing time p95", Unit::Seconds)
                .min(0.0)
                .query(
                    histogram_quantile(
                        0.95,
                        d.filtered(&m.bsc_ws_messages_processing_seconds),
                        five,
                        &["event_type"],
                    ),
                    "{{event_type}}",
                ),
        );
    let filters = Row::new("Filters")
        .panel(
            Panel::timeseries("Passed per second", Unit::OpsPerSecond)
                .width(12)
                .min(0.0)
                .query(
                    rate(d.filtered(&m.bsc_filter_passed_total), five)
                        .sum_by(&["layer", "market_type"]),
                    "{{layer}} {{market_type}}",
                ),
        )
        .panel(
            Panel::timeseries("Rejected per second", Unit::OpsPerSecond)
                .width(12)
                .min(0.0)
                .query(
                    rate(d.filtered(&m.bsc_filter_rejected_total), five)
                        .sum_by(&["layer", "reason"]),
                    "{{layer}} {{reason}}",
                ),
        );
    let upstream = Row::new("APIs and RPC")
        .panel(
            Panel::timeseries("API requests per second", Unit::RequestsPerSecond)
                .min(0.0)
                .query(
                    rate(d.filtered(&m.api_requests_total), five).sum_by(&["api", "status"]),
                    "{{api}} {{status}}",
                ),
        )
        .panel(
            Panel::timeseries("API latency p95", Unit::Seconds)
                .min(0.0)
                .query(
                    histogram_quantile(
                        0.95,
                        d.filtered(&m.api_request_duration_seconds),
                        five,
                        &["api", "endpoint"],
                    ),
                    "{{api}} {{endpoint}}",
                ),
        )
        .panel(
            Panel::timeseries("RPC calls per second", Unit::OpsPerSecond)
                .min(0.0)
                .query(
                    rate(d.filtered(&m.rpc_calls_total), five).sum_by(&["method", "result"]),
                    "{{method}} {{result}}",
                ),
        );
    let delivery = Row::new("Alerts sent")
        .panel(
            Panel::timeseries("Alerts sent per minute", Unit::Short)
                .width(12)
                .min(0.0)
                .query(
                    increase(d.filtered(&m.alerts_sent_total), MINUTE)
                        .sum_by(&["channel", "result"]),
                    "{{channel}} {{result}}",
                ),
        )
        .panel(
            Panel::timeseries("Cool-down hits per minute", Unit::Short)
                .width(12)
                .min(0.0)
                .query(
                    increase(d.filtered(&m.cooldown_hits_total), MINUTE).sum(),
                    "cool-down hits",
                ),
        );
    let d = d
        .instrumented_overview(&fns)
        .slo(&availability)
        .slo(&latency)
        .row(websocket)
        .row(filters)
        .row(upstream)
        .row(delivery);
    let dashboard = common_rows(d, &fns, INSTRUMENTED_FUNCTIONS, registry);

    Ok(Generated {
        service: BSC,
        registry,
        rules,
        tests,
        dashboard,
    })
}
