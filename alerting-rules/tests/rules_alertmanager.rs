//! The example Alertmanager configuration (`docs/alertmanager/
//! alertmanager.yml`) passes `amtool check-config`, routes each severity to
//! its receiver, and, in a real Alertmanager on 127.0.0.1, mutes a
//! service's warnings while a critical alert for the same service fires.
//!
//! amtool and Alertmanager come from Debian's `prometheus-alertmanager`
//! package (`.ci/run` installs it). Without them these tests fail.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

fn config() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../docs/alertmanager/alertmanager.yml")
}

fn amtool(args: &[&str]) -> (bool, String) {
    let out = Command::new("amtool").args(args).output().unwrap_or_else(|e| {
        panic!(
            "cannot run amtool ({e}): install Debian's `prometheus-alertmanager` package (.ci/run does)"
        )
    });
    let report = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), report)
}

#[test]
fn amtool_accepts_the_example_configuration() {
    let path = config();
    let (ok, report) = amtool(&["check-config", path.to_str().expect("path")]);
    assert!(ok, "{report}");
    assert!(report.contains("SUCCESS"), "{report}");
    assert!(report.contains("2 inhibit rules"), "{report}");
}

#[test]
fn each_severity_goes_to_its_receiver() {
    let path = config();
    let file = format!("--config.file={}", path.display());
    for (labels, receiver) in [
        (&["severity=critical", "service=bsc-monitor"][..], "pager"),
        (&["severity=warning", "service=bsc-monitor"][..], "ops-chat"),
        (&["severity=info", "service=sol-monitor"][..], "ops-log"),
        (&["alertname=Unlabelled"][..], "ops-chat"),
    ] {
        let mut args = vec!["config", "routes", "test", file.as_str()];
        args.extend_from_slice(labels);
        let (ok, report) = amtool(&args);
        assert!(ok, "{report}");
        let got = report
            .lines()
            .find(|l| !l.starts_with("Warning"))
            .unwrap_or("")
            .trim();
        assert_eq!(got, receiver, "{labels:?}: {report}");
    }
}

/// Alertmanager on a free port of 127.0.0.1, killed on drop.
struct Alertmanager {
    child: Child,
    port: u16,
    dir: PathBuf,
}

impl Drop for Alertmanager {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn start_alertmanager() -> Alertmanager {
    let port = TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port();
    let dir = std::env::temp_dir().join(format!("alerting-am-{}-{port}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("storage dir");
    let child = Command::new("prometheus-alertmanager")
        .arg(format!("--config.file={}", config().display()))
        .arg(format!("--storage.path={}", dir.display()))
        .arg(format!("--web.listen-address=127.0.0.1:{port}"))
        // No clustering: nothing listens or gossips beyond this port.
        .arg("--cluster.listen-address=")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| {
            panic!(
                "cannot start prometheus-alertmanager ({e}): install Debian's `prometheus-alertmanager` package (.ci/run does)"
            )
        });
    let am = Alertmanager { child, port, dir };
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Ok((200, _)) = http(port, "GET", "/-/ready", "") {
            return am;
        }
        assert!(
            Instant::now() < deadline,
            "Alertmanager not ready within 30 s"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// A minimal HTTP/1.1 exchange (Connection: close).
fn http(port: u16, method: &str, path: &str, body: &str) -> std::io::Result<(u16, String)> {
    let mut stream = TcpStream::connect(("127.0.0.1", port))?;
    stream.set_read_timeout(Some(Duration::from_secs(10)))?;
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )?;
    let mut response = String::new();
    stream.read_to_string(&mut response)?;
    let status = response
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let body = response
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_owned())
        .unwrap_or_default();
    Ok((status, body))
}

/// Decodes a chunked body if needed.
fn unchunk(body: &str) -> String {
    if body.trim_start().starts_with('[') || body.trim_start().starts_with('{') {
        return body.to_owned();
    }
    let mut out = String::new();
    let mut rest = body;
    while let Some((size, tail)) = rest.split_once("\r\n") {
        let n = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
        if n == 0 || tail.len() < n {
            break;
        }
        out.push_str(&tail[..n]);
        rest = tail[n..].trim_start_matches("\r\n");
    }
    out
}

#[test]
fn a_critical_alert_mutes_the_same_services_warnings() {
    let am = start_alertmanager();
    let alert = |name: &str, severity: &str, service: &str| {
        serde_json::json!({
            "labels": { "alertname": name, "severity": severity, "service": service },
            "annotations": { "summary": "test" },
        })
    };
    // Only alerts whose receivers are local, or that are muted, are sent:
    // the test makes no traffic beyond 127.0.0.1.
    let alerts = serde_json::json!([
        alert("SwapProcessingErrorBudgetBurn", "critical", "bsc-monitor"),
        alert("HighLatency", "warning", "bsc-monitor"),
        alert("TooManyConnections", "info", "bsc-monitor"),
        alert("TooManyConnections", "info", "sol-monitor"),
    ]);
    let (status, body) =
        http(am.port, "POST", "/api/v2/alerts", &alerts.to_string()).expect("post alerts");
    assert_eq!(status, 200, "{body}");

    let deadline = Instant::now() + Duration::from_secs(20);
    let states = loop {
        let (status, body) = http(am.port, "GET", "/api/v2/alerts", "").expect("get alerts");
        assert_eq!(status, 200, "{body}");
        let list: serde_json::Value = serde_json::from_str(&unchunk(&body))
            .unwrap_or_else(|e| panic!("alerts JSON ({e}): {body}"));
        let states: Vec<(String, String, String, usize)> = list
            .as_array()
            .expect("array")
            .iter()
            .map(|a| {
                (
                    a["labels"]["alertname"].as_str().unwrap_or("").to_owned(),
                    a["labels"]["service"].as_str().unwrap_or("").to_owned(),
                    a["status"]["state"].as_str().unwrap_or("").to_owned(),
                    a["status"]["inhibitedBy"].as_array().map_or(0, Vec::len),
                )
            })
            .collect();
        if states.len() == 4 && states.iter().any(|s| s.2 == "suppressed") {
            break states;
        }
        assert!(
            Instant::now() < deadline,
            "alerts never settled: {states:?}"
        );
        std::thread::sleep(Duration::from_millis(200));
    };
    let state = |name: &str, service: &str| {
        states
            .iter()
            .find(|s| s.0 == name && s.1 == service)
            .map(|s| (s.2.as_str(), s.3))
            .unwrap_or_else(|| panic!("{name} {service} missing: {states:?}"))
    };
    assert_eq!(
        state("SwapProcessingErrorBudgetBurn", "bsc-monitor"),
        ("active", 0)
    );
    assert_eq!(state("HighLatency", "bsc-monitor"), ("suppressed", 1));
    assert_eq!(
        state("TooManyConnections", "bsc-monitor"),
        ("suppressed", 1)
    );
    // Another service's alerts are not muted.
    assert_eq!(state("TooManyConnections", "sol-monitor"), ("active", 0));
}
