//! Process metrics: CPU time, memory, file descriptors, start time and
//! threads of the running process.
//!
//! [`ProcessCollector`] is a prometheus-client [`Collector`] that reads
//! `/proc/self` afresh on every scrape and exposes Prometheus' standard
//! process metrics under the names alert rules and dashboards expect:
//!
//! | name                            | type    | source                                       |
//! |---------------------------------|---------|----------------------------------------------|
//! | `process_cpu_seconds_total`     | counter | utime + stime in `/proc/self/stat`           |
//! | `process_resident_memory_bytes` | gauge   | `VmRSS` in `/proc/self/status`               |
//! | `process_virtual_memory_bytes`  | gauge   | `VmSize` in `/proc/self/status`              |
//! | `process_open_fds`              | gauge   | entries of `/proc/self/fd`                   |
//! | `process_max_fds`               | gauge   | soft "Max open files" in `/proc/self/limits` |
//! | `process_start_time_seconds`    | gauge   | `btime` in `/proc/stat` + stat starttime     |
//! | `process_threads`               | gauge   | num_threads in `/proc/self/stat`             |
//!
//! A metric whose source cannot be read or parsed is left out of that scrape
//! rather than reported with a made-up value; `process_max_fds` is left out
//! when the limit is "unlimited". On targets other than Linux the collector
//! encodes nothing at all.
//!
//! Register it on a registry without a prefix so the names stay standard:
//!
//! ```
//! use alerting_core::metrics::ProcessCollector;
//! use prometheus_client::encoding::prometheus_text::encode;
//! use prometheus_client::registry::Registry;
//!
//! let mut registry = Registry::default();
//! registry.register_collector(Box::new(ProcessCollector::new()));
//!
//! let mut text = String::new();
//! encode(&mut text, &registry)?;
//! assert_eq!(
//!     text.contains("process_resident_memory_bytes"),
//!     cfg!(target_os = "linux"),
//! );
//! # Ok::<(), std::fmt::Error>(())
//! ```

use std::fmt;

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric};
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::gauge::ConstGauge;

use super::{MetricKind, MetricOrigin, MetricRef};

/// Ticks per second of the CPU times and the start time in `/proc/<pid>/stat`.
///
/// These fields are in clock ticks of `USER_HZ`, the kernel's user-visible
/// tick rate (what `sysconf(_SC_CLK_TCK)` reports). Unlike the internal
/// `CONFIG_HZ`, `USER_HZ` is part of the ABI and fixed at 100 on Linux, so it
/// is a constant here rather than a call to `sysconf`, which would need
/// `unsafe`.
const USER_HZ: f64 = 100.0;

/// `process_cpu_seconds_total`.
pub(crate) const CPU_SECONDS: &str = "process_cpu_seconds_total";
/// `process_resident_memory_bytes`.
pub(crate) const RESIDENT_MEMORY: &str = "process_resident_memory_bytes";
/// `process_virtual_memory_bytes`.
pub(crate) const VIRTUAL_MEMORY: &str = "process_virtual_memory_bytes";
/// `process_open_fds`.
pub(crate) const OPEN_FDS: &str = "process_open_fds";
/// `process_max_fds`.
pub(crate) const MAX_FDS: &str = "process_max_fds";
/// `process_start_time_seconds`.
pub(crate) const START_TIME: &str = "process_start_time_seconds";
/// `process_threads`.
pub(crate) const THREADS: &str = "process_threads";

/// Every name the collector writes (never namespaced).
pub(crate) const NAMES: [&str; 7] = [
    CPU_SECONDS,
    RESIDENT_MEMORY,
    VIRTUAL_MEMORY,
    OPEN_FDS,
    MAX_FDS,
    START_TIME,
    THREADS,
];

/// References to the families [`ProcessCollector`] writes, for rules and
/// dashboards.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct ProcessMetricRefs {
    /// `process_cpu_seconds_total` (counter).
    pub cpu_seconds: MetricRef,
    /// `process_resident_memory_bytes` (gauge).
    pub resident_memory: MetricRef,
    /// `process_virtual_memory_bytes` (gauge).
    pub virtual_memory: MetricRef,
    /// `process_open_fds` (gauge).
    pub open_fds: MetricRef,
    /// `process_max_fds` (gauge).
    pub max_fds: MetricRef,
    /// `process_start_time_seconds` (gauge).
    pub start_time: MetricRef,
    /// `process_threads` (gauge).
    pub threads: MetricRef,
}

/// Collects Prometheus' standard `process_*` metrics for the current process.
///
/// Every scrape reads `/proc/self` anew and writes `process_cpu_seconds_total`
/// (counter), `process_resident_memory_bytes`, `process_virtual_memory_bytes`,
/// `process_open_fds`, `process_max_fds`, `process_start_time_seconds` and
/// `process_threads` (gauges). A metric whose source file cannot be read or
/// parsed is left out of that scrape, as is `process_max_fds` when the limit
/// is "unlimited"; on targets other than Linux nothing is written at all.
///
/// Register it with
/// [`Registry::register_collector`](prometheus_client::registry::Registry::register_collector)
/// on a registry without a prefix, so that the names stay standard.
#[derive(Debug, Clone, Default)]
pub struct ProcessCollector {
    _private: (),
}

impl ProcessCollector {
    /// References to the families the collector writes (never namespaced:
    /// the names are Prometheus' standard ones).
    ///
    /// ```
    /// use alerting_core::metrics::ProcessCollector;
    /// assert_eq!(ProcessCollector::metric_refs().open_fds.name(), "process_open_fds");
    /// ```
    pub fn metric_refs() -> ProcessMetricRefs {
        let make = |name: &str, kind| {
            MetricRef::new(
                name.to_owned(),
                kind,
                Vec::new(),
                MetricOrigin::Process,
                None,
            )
        };
        ProcessMetricRefs {
            cpu_seconds: make(CPU_SECONDS, MetricKind::Counter),
            resident_memory: make(RESIDENT_MEMORY, MetricKind::Gauge),
            virtual_memory: make(VIRTUAL_MEMORY, MetricKind::Gauge),
            open_fds: make(OPEN_FDS, MetricKind::Gauge),
            max_fds: make(MAX_FDS, MetricKind::Gauge),
            start_time: make(START_TIME, MetricKind::Gauge),
            threads: make(THREADS, MetricKind::Gauge),
        }
    }

    /// Creates a collector for the current process.
    pub fn new() -> Self {
        Self::default()
    }
}

impl Collector for ProcessCollector {
    fn encode(&self, encoder: DescriptorEncoder<'_>) -> Result<(), fmt::Error> {
        #[cfg(target_os = "linux")]
        {
            let mut encoder = encoder;
            encode_snapshot(&Snapshot::read(), &mut encoder)
        }
        #[cfg(not(target_os = "linux"))]
        {
            // Absent rather than wrong: there is no /proc to read.
            let _ = encoder;
            Ok(())
        }
    }
}

/// One scrape's worth of values; `None` means "leave the metric out".
#[cfg_attr(not(target_os = "linux"), allow(dead_code))]
#[derive(Debug, Clone, Default, PartialEq)]
struct Snapshot {
    cpu_seconds: Option<f64>,
    resident_memory_bytes: Option<u64>,
    virtual_memory_bytes: Option<u64>,
    open_fds: Option<u64>,
    max_fds: Option<u64>,
    start_time_seconds: Option<f64>,
    threads: Option<u64>,
}

#[cfg_attr(not(target_os = "linux"), allow(dead_code))]
impl Snapshot {
    /// Reads every source file once. A file that cannot be read or parsed
    /// only empties the fields that depend on it.
    fn read() -> Self {
        let stat = read_proc("/proc/self/stat")
            .map(|s| parse_stat(&s))
            .unwrap_or_default();
        let status = read_proc("/proc/self/status")
            .map(|s| parse_status(&s))
            .unwrap_or_default();
        let boot_time = read_proc("/proc/stat").and_then(|s| parse_boot_time(&s));
        let max_fds = read_proc("/proc/self/limits").and_then(|s| parse_max_open_files(&s));

        Snapshot {
            cpu_seconds: stat.cpu_seconds(),
            resident_memory_bytes: status.vm_rss_bytes,
            virtual_memory_bytes: status.vm_size_bytes,
            open_fds: count_open_fds(),
            max_fds,
            start_time_seconds: start_time_seconds(boot_time, stat.start_ticks),
            threads: stat.num_threads.or(status.threads),
        }
    }
}

/// Reads a whole `/proc` file. Bytes that are not UTF-8 (the command name is
/// arbitrary bytes) are replaced rather than failing the whole file.
#[cfg_attr(not(target_os = "linux"), allow(dead_code))]
fn read_proc(path: &str) -> Option<String> {
    std::fs::read(path)
        .ok()
        .map(|bytes| String::from_utf8_lossy(&bytes).into_owned())
}

/// Counts the entries of `/proc/self/fd`. Like client_golang, the count
/// includes the descriptor used to read the directory itself.
#[cfg_attr(not(target_os = "linux"), allow(dead_code))]
fn count_open_fds() -> Option<u64> {
    let mut count: u64 = 0;
    for entry in std::fs::read_dir("/proc/self/fd").ok()? {
        entry.ok()?;
        count = count.checked_add(1)?;
    }
    Some(count)
}

/// Writes every metric present in `snapshot`.
#[cfg_attr(not(target_os = "linux"), allow(dead_code))]
fn encode_snapshot(snapshot: &Snapshot, encoder: &mut DescriptorEncoder<'_>) -> fmt::Result {
    if let Some(v) = snapshot.cpu_seconds {
        // prometheus-client appends `_total` to counter names itself.
        encode_metric(
            encoder,
            CPU_SECONDS.trim_end_matches("_total"),
            "Total user and system CPU time spent in seconds.",
            ConstCounter::new(v),
        )?;
    }
    if let Some(v) = snapshot.resident_memory_bytes {
        encode_metric(
            encoder,
            RESIDENT_MEMORY,
            "Resident memory size in bytes.",
            ConstGauge::new(v),
        )?;
    }
    if let Some(v) = snapshot.virtual_memory_bytes {
        encode_metric(
            encoder,
            VIRTUAL_MEMORY,
            "Virtual memory size in bytes.",
            ConstGauge::new(v),
        )?;
    }
    if let Some(v) = snapshot.open_fds {
        encode_metric(
            encoder,
            OPEN_FDS,
            "Number of open file descriptors.",
            ConstGauge::new(v),
        )?;
    }
    if let Some(v) = snapshot.max_fds {
        encode_metric(
            encoder,
            MAX_FDS,
            "Maximum number of open file descriptors.",
            ConstGauge::new(v),
        )?;
    }
    if let Some(v) = snapshot.start_time_seconds {
        encode_metric(
            encoder,
            START_TIME,
            "Start time of the process since unix epoch in seconds.",
            ConstGauge::new(v),
        )?;
    }
    if let Some(v) = snapshot.threads {
        encode_metric(
            encoder,
            THREADS,
            "Number of OS threads in the process.",
            ConstGauge::new(v),
        )?;
    }
    Ok(())
}

/// Writes one metric family. The unit is `None` so that the exposed name is
/// exactly `name` (plus `_total` for counters).
#[cfg_attr(not(target_os = "linux"), allow(dead_code))]
fn encode_metric(
    encoder: &mut DescriptorEncoder<'_>,
    name: &str,
    help: &str,
    metric: impl EncodeMetric,
) -> fmt::Result {
    let metric_encoder = encoder.encode_descriptor(name, help, None, metric.metric_type())?;
    metric.encode(metric_encoder)
}

/// The fields used from `/proc/self/stat`, each `None` if missing or invalid.
#[cfg_attr(not(target_os = "linux"), allow(dead_code))]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct StatFields {
    /// Field 14: user-mode CPU time in ticks.
    utime_ticks: Option<u64>,
    /// Field 15: kernel-mode CPU time in ticks.
    stime_ticks: Option<u64>,
    /// Field 20: number of threads.
    num_threads: Option<u64>,
    /// Field 22: start time in ticks after boot.
    start_ticks: Option<u64>,
}

#[cfg_attr(not(target_os = "linux"), allow(dead_code))]
impl StatFields {
    fn cpu_seconds(&self) -> Option<f64> {
        let ticks = self.utime_ticks?.checked_add(self.stime_ticks?)?;
        Some(ticks_to_seconds(ticks))
    }
}

#[cfg_attr(not(target_os = "linux"), allow(dead_code))]
fn ticks_to_seconds(ticks: u64) -> f64 {
    ticks as f64 / USER_HZ
}

/// Unix start time of the process from the boot time and the start tick.
#[cfg_attr(not(target_os = "linux"), allow(dead_code))]
fn start_time_seconds(boot_time: Option<u64>, start_ticks: Option<u64>) -> Option<f64> {
    Some(boot_time? as f64 + ticks_to_seconds(start_ticks?))
}

/// Parses `/proc/<pid>/stat`: `pid (comm) state ppid ...`.
///
/// `comm` may contain spaces and `)`, so the fields are taken from after the
/// *last* `)`; the first of them is field 3 (`state`).
#[cfg_attr(not(target_os = "linux"), allow(dead_code))]
fn parse_stat(stat: &str) -> StatFields {
    let Some((head, rest)) = stat.rsplit_once(')') else {
        return StatFields::default();
    };
    if !head.contains('(') {
        return StatFields::default();
    }
    let fields: Vec<&str> = rest.split_ascii_whitespace().collect();
    // Field numbers as in proc(5), counting from 1 with `pid` as field 1.
    let field = |number: usize| -> Option<u64> { fields.get(number.checked_sub(3)?)?.parse().ok() };
    StatFields {
        utime_ticks: field(14),
        stime_ticks: field(15),
        num_threads: field(20),
        start_ticks: field(22),
    }
}

/// The fields used from `/proc/self/status`, each `None` if missing or invalid.
#[cfg_attr(not(target_os = "linux"), allow(dead_code))]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct StatusFields {
    vm_rss_bytes: Option<u64>,
    vm_size_bytes: Option<u64>,
    threads: Option<u64>,
}

/// Parses `/proc/<pid>/status`: `Key:\tvalue` lines, memory as `N kB`.
#[cfg_attr(not(target_os = "linux"), allow(dead_code))]
fn parse_status(status: &str) -> StatusFields {
    let mut fields = StatusFields::default();
    for line in status.lines() {
        let Some((key, value)) = line.split_once(':') else {
            continue;
        };
        match key {
            "VmRSS" => fields.vm_rss_bytes = parse_kib(value),
            "VmSize" => fields.vm_size_bytes = parse_kib(value),
            "Threads" => fields.threads = value.trim().parse().ok(),
            _ => {}
        }
    }
    fields
}

/// Parses a status memory value such as `  1234 kB` into bytes
/// (the kernel's "kB" is 1024 bytes).
#[cfg_attr(not(target_os = "linux"), allow(dead_code))]
fn parse_kib(value: &str) -> Option<u64> {
    let mut parts = value.split_ascii_whitespace();
    let amount: u64 = parts.next()?.parse().ok()?;
    match (parts.next(), parts.next()) {
        (Some("kB"), None) => amount.checked_mul(1024),
        _ => None,
    }
}

/// Parses the soft limit of "Max open files" from `/proc/<pid>/limits`;
/// `None` if it is missing, invalid or "unlimited".
#[cfg_attr(not(target_os = "linux"), allow(dead_code))]
fn parse_max_open_files(limits: &str) -> Option<u64> {
    let soft = limits
        .lines()
        .find_map(|line| line.strip_prefix("Max open files"))?
        .split_ascii_whitespace()
        .next()?;
    if soft == "unlimited" {
        return None;
    }
    soft.parse().ok()
}

/// Parses the boot time (`btime`, Unix seconds) from `/proc/stat`.
#[cfg_attr(not(target_os = "linux"), allow(dead_code))]
fn parse_boot_time(stat: &str) -> Option<u64> {
    stat.lines().find_map(|line| {
        let mut parts = line.split_ascii_whitespace();
        match (parts.next(), parts.next(), parts.next()) {
            (Some("btime"), Some(value), None) => value.parse().ok(),
            _ => None,
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    use prometheus_client::encoding::prometheus_text::encode;
    use prometheus_client::registry::Registry;

    /// A real stat line (from `cat`), fields 1..=52.
    const STAT: &str = "3565 (cat) R 3563 3563 3137 0 -1 4194304 103 0 1 0 7 3 0 0 20 0 1 0 21054 \
        3133440 412 18446744073709551615 94007244718080 94007244737961 140735246848336 0 0 0 0 \
        0 0 0 0 0 17 1 0 0 0 0 0 94007244753968 94007244755584 94008198193152 140735246850785 \
        140735246850805 140735246850805 140735246852075 0\n";

    #[test]
    fn stat_plain() {
        let fields = parse_stat(STAT);
        assert_eq!(
            fields,
            StatFields {
                utime_ticks: Some(7),
                stime_ticks: Some(3),
                num_threads: Some(1),
                start_ticks: Some(21054),
            }
        );
        assert_eq!(fields.cpu_seconds(), Some(0.1));
    }

    #[test]
    fn stat_comm_with_spaces_and_parentheses() {
        // A comm of "a) (b) 1 2 ) x" must not shift the fields.
        let line = STAT.replacen("(cat)", "(a) (b) 1 2 ) x)", 1);
        assert_eq!(parse_stat(&line), parse_stat(STAT));
        let line = STAT.replacen("(cat)", "(tokio-runtime-w ()", 1);
        assert_eq!(parse_stat(&line), parse_stat(STAT));
        let line = STAT.replacen("(cat)", "(with space)", 1);
        assert_eq!(parse_stat(&line), parse_stat(STAT));
    }

    #[test]
    fn stat_truncated_or_invalid() {
        // Cut after field 15 (stime): CPU time is still known, the rest not.
        let cut = "3565 (cat) R 3563 3563 3137 0 -1 4194304 103 0 1 0 7 3";
        let fields = parse_stat(cut);
        assert_eq!(fields.cpu_seconds(), Some(0.1));
        assert_eq!(fields.num_threads, None);
        assert_eq!(fields.start_ticks, None);

        // Cut before stime: no CPU time at all rather than a partial one.
        let fields = parse_stat("3565 (cat) R 3563 3563 3137 0 -1 4194304 103 0 1 0 7");
        assert_eq!(fields.cpu_seconds(), None);

        // Cut inside the command name: nothing.
        assert_eq!(parse_stat("3565 (ca"), StatFields::default());
        assert_eq!(parse_stat(""), StatFields::default());
        assert_eq!(parse_stat("no parentheses ) 1 2 3"), StatFields::default());

        // A non-numeric field is missing, not zero.
        let bad = STAT.replacen(" 7 3 ", " x 3 ", 1);
        assert_eq!(parse_stat(&bad).utime_ticks, None);
        assert_eq!(parse_stat(&bad).cpu_seconds(), None);
        assert_eq!(parse_stat(&bad).num_threads, Some(1));
    }

    const STATUS: &str = "Name:\tcat\nUmask:\t0022\nState:\tR (running)\nTgid:\t3565\n\
        VmPeak:\t    3776 kB\nVmSize:\t    3760 kB\nVmLck:\t       0 kB\nVmHWM:\t    2196 kB\n\
        VmRSS:\t    2196 kB\nVmData:\t     292 kB\nThreads:\t1\nSigQ:\t0/96365\n";

    #[test]
    fn status_full() {
        assert_eq!(
            parse_status(STATUS),
            StatusFields {
                vm_rss_bytes: Some(2196 * 1024),
                vm_size_bytes: Some(3760 * 1024),
                threads: Some(1),
            }
        );
    }

    #[test]
    fn status_without_vm_rss() {
        // Kernel threads and zombies have no Vm* lines.
        let status = "Name:\tkthreadd\nState:\tS (sleeping)\nThreads:\t1\n";
        assert_eq!(
            parse_status(status),
            StatusFields {
                vm_rss_bytes: None,
                vm_size_bytes: None,
                threads: Some(1),
            }
        );
        let without_rss = STATUS.replace("VmRSS:\t    2196 kB\n", "");
        let fields = parse_status(&without_rss);
        assert_eq!(fields.vm_rss_bytes, None);
        assert_eq!(fields.vm_size_bytes, Some(3760 * 1024));
    }

    #[test]
    fn status_invalid_values() {
        assert_eq!(parse_kib(" 12 kB"), Some(12 * 1024));
        assert_eq!(parse_kib(" 12"), None);
        assert_eq!(parse_kib(" 12 MB"), None);
        assert_eq!(parse_kib(" 12 kB extra"), None);
        assert_eq!(parse_kib(" -1 kB"), None);
        assert_eq!(parse_kib(" 18446744073709551615 kB"), None);
        assert_eq!(parse_status("VmRSS:\tgarbage\n").vm_rss_bytes, None);
        // A name that merely starts like a key is not that key.
        assert_eq!(parse_status("VmRSSx:\t1 kB\n").vm_rss_bytes, None);
    }

    const LIMITS: &str = "Limit                     Soft Limit           Hard Limit           Units     \n\
        Max cpu time              unlimited            unlimited            seconds   \n\
        Max stack size            8388608              unlimited            bytes     \n\
        Max processes             96365                96365                processes \n\
        Max open files            1024                 1048576              files     \n\
        Max locked memory         8388608              8388608              bytes     \n";

    #[test]
    fn limits_soft_open_files() {
        assert_eq!(parse_max_open_files(LIMITS), Some(1024));
    }

    #[test]
    fn limits_unlimited_or_missing() {
        let unlimited = LIMITS.replace(
            "Max open files            1024 ",
            "Max open files            unlimited ",
        );
        assert_eq!(parse_max_open_files(&unlimited), None);
        assert_eq!(parse_max_open_files("Limit Soft Hard Units\n"), None);
        assert_eq!(parse_max_open_files(""), None);
        assert_eq!(parse_max_open_files("Max open files            \n"), None);
    }

    #[test]
    fn boot_time() {
        let stat = "cpu  1 2 3 4\ncpu0 1 2 3 4\nintr 5 6\nctxt 123\nbtime 1700000000\n\
            processes 42\nprocs_running 1\n";
        assert_eq!(parse_boot_time(stat), Some(1_700_000_000));
        assert_eq!(parse_boot_time("cpu 1 2\nctxt 3\n"), None);
        assert_eq!(parse_boot_time("btime x\n"), None);
        assert_eq!(
            start_time_seconds(Some(1_700_000_000), Some(21054)),
            Some(1_700_000_210.54)
        );
        assert_eq!(start_time_seconds(None, Some(21054)), None);
        assert_eq!(start_time_seconds(Some(1_700_000_000), None), None);
    }

    /// Encodes `snapshot` through a registry the way a scrape does.
    fn encode_fixture(snapshot: Snapshot) -> String {
        #[derive(Debug)]
        struct Fixture(Snapshot);
        impl Collector for Fixture {
            fn encode(&self, mut encoder: DescriptorEncoder<'_>) -> Result<(), fmt::Error> {
                encode_snapshot(&self.0, &mut encoder)
            }
        }
        let mut registry = Registry::default();
        registry.register_collector(Box::new(Fixture(snapshot)));
        let mut text = String::new();
        encode(&mut text, &registry).expect("encoding into a String cannot fail");
        text
    }

    #[test]
    fn encodes_exact_names_types_and_values() {
        let text = encode_fixture(Snapshot {
            cpu_seconds: Some(1.5),
            resident_memory_bytes: Some(2_097_152),
            virtual_memory_bytes: Some(4_194_304),
            open_fds: Some(7),
            max_fds: Some(1024),
            start_time_seconds: Some(1_700_000_210.54),
            threads: Some(3),
        });
        let expected = "\
# HELP process_cpu_seconds_total Total user and system CPU time spent in seconds.
# TYPE process_cpu_seconds_total counter
process_cpu_seconds_total 1.5
# HELP process_resident_memory_bytes Resident memory size in bytes.
# TYPE process_resident_memory_bytes gauge
process_resident_memory_bytes 2097152
# HELP process_virtual_memory_bytes Virtual memory size in bytes.
# TYPE process_virtual_memory_bytes gauge
process_virtual_memory_bytes 4194304
# HELP process_open_fds Number of open file descriptors.
# TYPE process_open_fds gauge
process_open_fds 7
# HELP process_max_fds Maximum number of open file descriptors.
# TYPE process_max_fds gauge
process_max_fds 1024
# HELP process_start_time_seconds Start time of the process since unix epoch in seconds.
# TYPE process_start_time_seconds gauge
process_start_time_seconds 1700000210.54
# HELP process_threads Number of OS threads in the process.
# TYPE process_threads gauge
process_threads 3
";
        assert_eq!(text, expected);
    }

    #[test]
    fn missing_values_are_omitted_entirely() {
        let text = encode_fixture(Snapshot {
            cpu_seconds: Some(0.0),
            threads: Some(1),
            ..Snapshot::default()
        });
        assert_eq!(
            text,
            "# HELP process_cpu_seconds_total Total user and system CPU time spent in seconds.\n\
             # TYPE process_cpu_seconds_total counter\n\
             process_cpu_seconds_total 0.0\n\
             # HELP process_threads Number of OS threads in the process.\n\
             # TYPE process_threads gauge\n\
             process_threads 1\n"
        );
        assert_eq!(encode_fixture(Snapshot::default()), "");
    }

    /// Encodes the real collector through a registry.
    fn scrape() -> String {
        let mut registry = Registry::default();
        registry.register_collector(Box::new(ProcessCollector::new()));
        let mut text = String::new();
        encode(&mut text, &registry).expect("encoding into a String cannot fail");
        text
    }

    /// The value of the unlabelled sample `name`, if exactly one is present.
    #[cfg(target_os = "linux")]
    fn sample(text: &str, name: &str) -> Option<f64> {
        let mut values = text
            .lines()
            .filter(|line| !line.starts_with('#'))
            .filter_map(|line| line.split_once(' '))
            .filter(|(n, _)| *n == name)
            .map(|(_, v)| v.parse::<f64>().expect("sample value is a number"));
        let value = values.next()?;
        assert!(values.next().is_none(), "{name} appears twice:\n{text}");
        Some(value)
    }

    #[cfg(not(target_os = "linux"))]
    #[test]
    fn encodes_nothing_off_linux() {
        assert_eq!(scrape(), "");
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn live_values_are_plausible() {
        let text = scrape();
        let get = |name: &str| {
            sample(&text, name).unwrap_or_else(|| panic!("{name} missing from:\n{text}"))
        };
        for (name, kind) in [
            ("process_cpu_seconds_total", "counter"),
            ("process_resident_memory_bytes", "gauge"),
            ("process_virtual_memory_bytes", "gauge"),
            ("process_open_fds", "gauge"),
            ("process_start_time_seconds", "gauge"),
            ("process_threads", "gauge"),
        ] {
            assert!(
                text.contains(&format!("\n# TYPE {name} {kind}\n")),
                "no TYPE line for {name}:\n{text}"
            );
            assert!(text.contains(&format!("# HELP {name} ")), "{text}");
        }

        assert!(get("process_cpu_seconds_total") >= 0.0);
        let rss = get("process_resident_memory_bytes");
        let vsz = get("process_virtual_memory_bytes");
        assert!(rss > 0.0, "{text}");
        assert!(vsz >= rss, "{text}");
        assert!(get("process_open_fds") >= 3.0, "{text}");
        assert!(get("process_threads") >= 1.0, "{text}");

        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .expect("clock after 1970")
            .as_secs_f64();
        let start = get("process_start_time_seconds");
        // btime is whole seconds, so allow a little slack in the future.
        assert!(start <= now + 2.0, "start {start} after now {now}");
        assert!(start > now - 86_400.0, "start {start} over a day ago");

        // process_max_fds is only left out when the soft limit really is
        // "unlimited"; check against the file independently.
        let limits = std::fs::read_to_string("/proc/self/limits").expect("read limits");
        let unlimited = limits.lines().any(|l| {
            l.starts_with("Max open files") && l.split_whitespace().nth(3) == Some("unlimited")
        });
        match sample(&text, "process_max_fds") {
            Some(max) => {
                assert!(!unlimited);
                assert!(max >= get("process_open_fds"), "{text}");
                assert!(text.contains("\n# TYPE process_max_fds gauge\n"), "{text}");
            }
            None => assert!(unlimited, "process_max_fds missing:\n{text}"),
        }
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn every_scrape_reads_afresh() {
        let before = sample(&scrape(), "process_open_fds").expect("open fds");
        let files: Vec<std::fs::File> = (0..64)
            .map(|_| std::fs::File::open("/dev/null").expect("open /dev/null"))
            .collect();
        let during = sample(&scrape(), "process_open_fds").expect("open fds");
        drop(files);
        // Other tests run concurrently and may open or close a few
        // descriptors, hence the margin.
        assert!(during >= before + 32.0, "before {before}, during {during}");
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn promtool_accepts_output() {
        use std::io::Write as _;
        use std::process::{Command, Stdio};

        let text = scrape();
        let path = std::env::temp_dir().join(format!(
            "alerting-process-collector-{}.prom",
            std::process::id()
        ));
        std::fs::File::create(&path)
            .and_then(|mut file| file.write_all(text.as_bytes()))
            .expect("write temp file");
        let input = std::fs::File::open(&path).expect("reopen temp file");
        let output = Command::new("promtool")
            .args(["check", "metrics"])
            .stdin(Stdio::from(input))
            .output();
        let _ = std::fs::remove_file(&path);
        let output = match output {
            Ok(output) => output,
            Err(err) => panic!(
                "could not run `promtool check metrics` ({err}); promtool must be on PATH \
                 for this test (e.g. apt-get install prometheus)"
            ),
        };
        let stdout = String::from_utf8_lossy(&output.stdout);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(
            output.status.success() && stdout.is_empty() && stderr.is_empty(),
            "promtool check metrics: {}\nstdout: {stdout}\nstderr: {stderr}\ninput:\n{text}",
            output.status
        );
    }
}
