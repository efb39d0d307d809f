//! sol-monitor's rules, rule tests and dashboard, from
//! [`sol_monitor::metrics`].

use std::error::Error;
use std::sync::OnceLock;
use std::time::Duration;

use alerting_core::instrumented;
use alerting_core::metrics::Registry;
use alerting_rules::dashboards::{Panel, Row, Unit};
use alerting_rules::prelude::*;
use alerting_rules::{
    AlertRule, Expr, Matcher, RuleFile, RuleGroup, Selector, Severity, Sli, Slo, builtin,
    fmt_duration, increase, packs, rate,
};
pub use sol_monitor::metrics::{IN_FLIGHT_FUNCTIONS, INSTRUMENTED_FUNCTIONS, SolMetrics};

use crate::{
    Generated, HEADER, HostAlerts, RUNBOOKS, Timing, common_rows, dashboard, expect, minutes, pair,
    register_once, registry_for, rule_tests, slo_burn_cases, tag,
};

/// The service name (a constant label on every series).
pub const SERVICE: &str = "sol-monitor";
const SOL: &str = SERVICE;

/// The module of the app's instrumented functions, as `#[instrumented]`
/// labels it.
const MODULE: &str = "sol_monitor::conn";

impl Timing {
    /// The committed files' values for sol-monitor.
    pub fn sol() -> Self {
        Self {
            interval: Duration::from_secs(30),
            pending: minutes(5),
            no_data_window: minutes(10),
        }
    }
}

/// sol-monitor's registry (the app's `service` label).
pub fn registry() -> &'static Registry {
    static R: OnceLock<Registry> = OnceLock::new();
    R.get_or_init(|| registry_for(SOL))
}

/// sol-monitor's metrics, registered once in [`registry`].
///
/// # Errors
///
/// When the group does not register (a naming rule).
pub fn metrics() -> Result<&'static SolMetrics, String> {
    static M: OnceLock<Result<SolMetrics, String>> = OnceLock::new();
    register_once(&M, registry())
}

/// Stand-ins of the app's instrumented functions, with the same names and
/// options, recording into [`registry`]: they register the families
/// `#[instrumented]` creates on a first call. The app's tests check that
/// it exports [`INSTRUMENTED_FUNCTIONS`].
mod stand_ins {
    use super::{instrumented, registry};

    #[instrumented(registry = registry)]
    pub(super) fn process_account_update(valid: bool) -> Result<(), String> {
        if valid { Ok(()) } else { Err("decode".into()) }
    }

    #[instrumented(registry = registry)]
    pub(super) fn resubscribe_batch(batch: &str) -> Result<(), String> {
        if batch.is_empty() {
            Err("no batch".into())
        } else {
            Ok(())
        }
    }
}

/// Calls each stand-in once.
pub(crate) fn exercise() -> Result<(), Box<dyn Error>> {
    metrics()?;
    let _ = stand_ins::process_account_update(false);
    let _ = stand_ins::resubscribe_batch("3");
    Ok(())
}

/// sol-monitor's `WebSocketDisconnected` and `NoDataReceived` alerts, by
/// batch.
///
/// # Errors
///
/// When a rule cannot be built.
pub fn stream_alerts(m: &SolMetrics, timing: &Timing) -> Result<[AlertRule; 2], Box<dyn Error>> {
    let svc = |s: Selector| s.eq("service", SOL);
    let pending = fmt_duration(timing.pending).ok_or("bad duration")?;
    let window = fmt_duration(timing.no_data_window).ok_or("bad duration")?;
    // Per instance and batch: batch ids restart at 0 on every instance.
    let by = ["instance", "batch_id"];
    let on_instance = " on {{ $labels.instance }}";
    let batch = " of batch {{ $labels.batch_id }}";
    let disconnected = tag(
        SOL,
        packs::websocket_disconnected(svc(m.sol_ws_connections_active.select()), &by)
            .for_duration(timing.pending)
            .summary(format!("WebSocket disconnected{batch}{on_instance}"))
            .description(format!(
                "Batch {{{{ $labels.batch_id }}}} of sol-monitor{on_instance} has had no \
                 WebSocket connection open for {pending}: its accounts are not being watched \
                 (see the sol_ws_batch_{{{{ $labels.batch_id }}}} health check for the reason)."
            )),
    );
    let no_data = tag(
        SOL,
        packs::no_data_received(
            svc(m.sol_ws_data_received_total.select()).eq("has_data", "true"),
            &by,
            timing.no_data_window,
        )
        .for_duration(timing.pending)
        .summary(format!("No data received for {window}{batch}{on_instance}"))
        .description(format!(
            "No notification with data{batch} of sol-monitor{on_instance} over the last \
             {window}: its subscriptions may be stuck or the node down."
        )),
    );
    Ok([disconnected, no_data])
}

/// sol-monitor's rules, tests and dashboard.
///
/// # Errors
///
/// When a rule or panel names a label its metric does not have, or
/// cannot be rendered.
pub fn generate() -> Result<Generated, Box<dyn Error>> {
    with(&Timing::sol())
}

/// sol-monitor's rules, tests and dashboard at `timing`.
///
/// # Errors
///
/// As [`generate`].
pub fn with(timing: &Timing) -> Result<Generated, Box<dyn Error>> {
    let m = metrics()?;
    let registry = registry();
    let fns = builtin::Instrumented::new(registry).with_in_flight(IN_FLIGHT_FUNCTIONS);
    let svc = |s: Selector| s.eq("service", SOL);
    let on_host = |s: Selector| {
        s.eq("instance", "sol-1:9100")
            .eq("job", SOL)
            .eq("service", SOL)
    };

    let [disconnected, no_data] = stream_alerts(m, timing)?;
    let reconnects = tag(
        SOL,
        AlertRule::new(
            "WebSocketReconnectStorm",
            increase(svc(m.sol_ws_reconnects_total.select()), minutes(10))
                .sum_by(&["instance", "batch_id"]),
        )
        .condition(|e| e.gt(5.0))
        .for_duration(minutes(5))
        .severity(Severity::Warning)
        .summary("Batch {{ $labels.batch_id }} on {{ $labels.instance }} keeps reconnecting")
        .description(
            "Batch {{ $labels.batch_id }} on {{ $labels.instance }} reconnected \
             {{ $value | humanize }} times in 10 minutes (threshold 5): the node may be \
             dropping its subscriptions.",
        ),
    );
    let high_error_rate = tag(
        SOL,
        packs::high_error_rate_of(svc(fns.errors()), svc(fns.finished()), 0.05),
    );
    let host_alerts = HostAlerts::new(SOL, registry, 2e9);
    let availability = Slo::new(
        "account_updates",
        Sli::instrumented(&fns, "process_account_update").matching(Matcher::eq("service", SOL)),
        0.995,
    )
    .service(SOL)
    .runbook_url(format!("{RUNBOOKS}#slo-burn-rate-alerts"));

    let rules = RuleFile::new()
        .header(HEADER)
        .for_registry(registry)
        .group(
            RuleGroup::new(SOL)
                .interval(timing.interval)
                .rules([
                    disconnected.clone(),
                    no_data.clone(),
                    reconnects.clone(),
                    high_error_rate.clone(),
                ])
                .rules(host_alerts.rules()),
        )
        .groups(availability.rule_groups()?);

    // -- tests --------------------------------------------------------
    let mut cases = Vec::new();
    let conns = on_host(m.sol_ws_connections_active.select()).eq("batch_id", "3");
    cases.extend(pair(
        &disconnected,
        minutes(10),
        vec![(conns.clone(), "2 2 0x10")],
        vec![(conns, "2x10")],
        expect(
            &disconnected,
            &[("batch_id", "3"), ("instance", "sol-1:9100")],
            "WebSocket disconnected of batch 3 on sol-1:9100",
            "Batch 3 of sol-monitor on sol-1:9100 has had no WebSocket connection open for 5m: its accounts are not being watched (see the sol_ws_batch_3 health check for the reason).",
        ),
    ));
    let received = on_host(m.sol_ws_data_received_total.select())
        .eq("batch_id", "3")
        .eq("has_data", "true");
    cases.extend(pair(
        &no_data,
        minutes(25),
        vec![(received.clone(), "0+5x5 25x30")],
        vec![(received, "0+5x30")],
        expect(
            &no_data,
            &[("batch_id", "3"), ("instance", "sol-1:9100")],
            "No data received for 10m of batch 3 on sol-1:9100",
            "No notification with data of batch 3 of sol-monitor on sol-1:9100 over the last 10m: its subscriptions may be stuck or the node down.",
        ),
    ));
    let reconnect = on_host(m.sol_ws_reconnects_total.select())
        .eq("batch_id", "3")
        .eq("reason", "timeout");
    cases.extend(pair(
        &reconnects,
        minutes(20),
        vec![(reconnect.clone(), "0+1x30")],
        vec![(reconnect, "0 1 1 1 2x30")],
        expect(
            &reconnects,
            &[("batch_id", "3"), ("instance", "sol-1:9100")],
            "Batch 3 on sol-1:9100 keeps reconnecting",
            "Batch 3 on sol-1:9100 reconnected 10 times in 10 minutes (threshold 5): the node may be dropping its subscriptions.",
        ),
    ));
    let call = |function: &str, outcome: &str| {
        fns.calls()
            .select()
            .eq("function", function)
            .eq("module", MODULE)
            .eq("outcome", outcome)
            .eq("service", SOL)
    };
    cases.extend(pair(
        &high_error_rate,
        minutes(15),
        vec![
            (call("resubscribe_batch", "ok"), "0+8x20"),
            (call("resubscribe_batch", "panic"), "0+2x20"),
        ],
        vec![
            (call("resubscribe_batch", "ok"), "0+10x20"),
            // Cancelled calls are not errors.
            (call("resubscribe_batch", "cancelled"), "0+5x20"),
        ],
        expect(
            &high_error_rate,
            &[("function", "resubscribe_batch"), ("module", MODULE)],
            "High error rate in resubscribe_batch",
            "20% of the calls of sol_monitor::conn::resubscribe_batch failed over the last 5 minutes (threshold 5%).",
        ),
    ));
    cases.extend(host_alerts.cases(
        SOL,
        registry,
        "sol-1:9100",
        (4_294_967_296, "4GiB", "2 GB"),
        "sol_ws_batch_3",
    ));
    cases.extend(slo_burn_cases(
        &availability,
        &fns,
        (MODULE, "process_account_update"),
        SOL,
    )?);

    let tests = rule_tests(registry, cases);

    // -- dashboard ----------------------------------------------------
    let d = dashboard(SOL, "Solana WebSocket pool monitor", registry);
    let five = minutes(5);
    let websocket = Row::new("WebSocket batches")
        .panel(
            Panel::timeseries("Open connections", Unit::Short)
                .min(0.0)
                .query(
                    Expr::from(d.filtered(&m.sol_ws_connections_active)).sum_by(&["batch_id"]),
                    "batch {{batch_id}}",
                ),
        )
        .panel(
            Panel::timeseries("Reconnects per 10 minutes", Unit::Short)
                .min(0.0)
                .query(
                    increase(d.filtered(&m.sol_ws_reconnects_total), minutes(10))
                        .sum_by(&["batch_id", "reason"]),
                    "batch {{batch_id}} {{reason}}",
                ),
        )
        .panel(
            Panel::timeseries("Notifications per second", Unit::OpsPerSecond)
                .min(0.0)
                .query(
                    rate(d.filtered(&m.sol_ws_data_received_total), five)
                        .sum_by(&["batch_id", "has_data"]),
                    "batch {{batch_id}} data={{has_data}}",
                ),
        );
    let d = d
        .instrumented_overview(&fns)
        .slo(&availability)
        .row(websocket);
    let dashboard = common_rows(d, &fns, INSTRUMENTED_FUNCTIONS, registry);

    Ok(Generated {
        service: SOL,
        registry,
        rules,
        tests,
        dashboard,
    })
}
