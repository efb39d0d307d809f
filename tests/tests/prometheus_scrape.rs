//! A real Prometheus scrapes the `hello` example of `alerting-axum`.
//!
//! The example runs as its own process with its API and admin endpoints on
//! free 127.0.0.1 ports and a bearer token on `/metrics`; Prometheus
//! (Debian's package, installed by `.ci/run`) scrapes the admin port every
//! second with that token. Before any traffic the test reads `/metrics`
//! itself: the never-called `#[instrumented] slow` already has its zero
//! series, in an exposition `promtool check metrics` accepts. It waits
//! (bounded) until the target is up
//! through Prometheus' HTTP API, queries metrics the example exposes, checks
//! that Prometheus negotiated OpenMetrics, and finally stops the example
//! with `SIGTERM` to see it shut down cleanly.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use alerting_tests::{Prometheus, Target, free_port, wait_until};

const TOKEN: &str = "scrape-token-123";
const WAIT: Duration = Duration::from_secs(30);

/// The `hello` example, built by cargo first (a no-op when up to date), so
/// a filtered run never uses a stale binary.
fn hello_binary() -> PathBuf {
    let exe = std::env::current_exe().expect("test binary path");
    // target/<profile>/deps/<test> → target/<profile>
    let profile_dir = exe
        .parent()
        .and_then(|p| p.parent())
        .expect("target dir")
        .to_path_buf();
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut build = Command::new(cargo);
    build.args(["build", "-q", "-p", "alerting-axum", "--example", "hello"]);
    if profile_dir.file_name().is_some_and(|n| n == "release") {
        build.arg("--release");
    }
    let status = build.status().expect("run cargo build");
    assert!(status.success(), "building the hello example failed");
    profile_dir.join("examples").join("hello")
}

/// The running example; stopped (SIGKILL) if the test fails before it
/// stops it itself.
struct Hello {
    child: Option<Child>,
    api: SocketAddr,
    admin: SocketAddr,
}

impl Hello {
    /// Starts the example on free ports, retrying if a port was taken in
    /// the meantime; returns once both ports accept connections.
    fn start() -> Hello {
        let binary = hello_binary();
        for _ in 0..5 {
            let api = SocketAddr::from(([127, 0, 0, 1], free_port().unwrap()));
            let admin = SocketAddr::from(([127, 0, 0, 1], free_port().unwrap()));
            let child = Command::new(&binary)
                .env("HELLO_API__LISTEN_ADDR", api.to_string())
                .env("HELLO_METRICS__LISTEN_ADDR", admin.to_string())
                .env("HELLO_METRICS__BEARER_TOKEN", TOKEN)
                .env("HELLO_SHUTDOWN__DEADLINE_SECS", "5")
                .stdin(Stdio::null())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .expect("start the hello example");
            let mut hello = Hello {
                child: Some(child),
                api,
                admin,
            };
            let up = wait_until(
                || {
                    if let Some(Ok(Some(_))) = hello.child.as_mut().map(Child::try_wait) {
                        return Some(false); // exited: a port was taken
                    }
                    let connects = |a| std::net::TcpStream::connect(a).is_ok();
                    (connects(api) && connects(admin)).then_some(true)
                },
                WAIT,
            )
            .expect("the hello example did not start listening");
            if up {
                return hello;
            }
        }
        panic!("could not start the hello example on free ports");
    }

    /// Sends SIGTERM and returns (success, stdout) once it exits (bounded).
    fn terminate(&mut self) -> (bool, String) {
        let mut child = self.child.take().expect("running");
        let killed = Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status()
            .expect("run kill");
        assert!(killed.success());
        let started = Instant::now();
        while child.try_wait().expect("wait for hello").is_none() {
            if started.elapsed() > WAIT {
                let _ = child.kill();
                panic!("hello did not exit after SIGTERM");
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let out = child.wait_with_output().expect("hello output");
        (
            out.status.success(),
            format!(
                "{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            ),
        )
    }
}

impl Drop for Hello {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// `promtool check metrics` on `text`: (passed, report).
fn promtool_check_metrics(text: &str) -> (bool, String) {
    use std::io::Write;
    let mut child = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("promtool not found: install Debian's `prometheus` package (.ci/run does)");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(text.as_bytes())
        .expect("write to promtool");
    let out = child.wait_with_output().expect("promtool output");
    let mut report = String::from_utf8_lossy(&out.stdout).into_owned();
    report.push_str(&String::from_utf8_lossy(&out.stderr));
    (out.status.success(), report)
}

/// The sample of `metric` for `function="slow"` (and `extra` labels) in
/// `text`, if there is one.
fn slow_sample(text: &str, metric: &str, extra: &str) -> Option<String> {
    text.lines()
        .find(|l| {
            l.starts_with(&format!("{metric}{{"))
                && l.contains(r#"function="slow""#)
                && l.contains(extra)
        })
        .and_then(|l| l.rsplit(' ').next())
        .map(str::to_owned)
}

#[test]
fn prometheus_scrapes_the_hello_example() {
    let mut hello = Hello::start();

    // Before any call, `#[instrumented] slow` already has its series at 0
    // (the bootstrap's global registry registered every linked call
    // site), in an exposition promtool accepts.
    let agent = ureq::agent();
    let before = agent
        .get(format!("http://{}/metrics", hello.admin))
        .header("Authorization", &format!("Bearer {TOKEN}"))
        .call()
        .expect("GET /metrics")
        .body_mut()
        .read_to_string()
        .expect("exposition");
    let (ok, report) = promtool_check_metrics(&before);
    assert!(ok, "promtool check metrics failed:\n{report}\n{before}");
    for (metric, extra) in [
        ("function_calls_total", r#"outcome="ok""#),
        ("function_calls_total", r#"outcome="error""#),
        ("function_call_duration_seconds_count", ""),
        ("function_calls_in_flight", ""),
    ] {
        assert_eq!(
            slow_sample(&before, metric, extra).as_deref(),
            Some("0"),
            "{metric} {extra} of slow in:\n{before}"
        );
    }

    // Some traffic to count.
    for _ in 0..3 {
        let mut reply = agent
            .get(format!("http://{}/hello/prometheus", hello.api))
            .call()
            .expect("GET /hello/prometheus");
        assert_eq!(
            reply.body_mut().read_to_string().unwrap(),
            "hello, prometheus\n"
        );
    }

    let prometheus = Prometheus::builder()
        .target(Target::new("hello", hello.admin).bearer_token(TOKEN))
        .start()
        .expect("start prometheus");

    let target = prometheus
        .wait_for_target_up("hello", WAIT)
        .expect("the hello target is up");
    assert_eq!(target["lastError"], "");

    // Metrics the example exposes, through PromQL.
    let requests = prometheus
        .wait_until(
            || {
                prometheus
                    .query_value(
                        r#"sum(http_requests_total{job="hello",route="/hello/{name}",method="GET",status="2xx"})"#,
                    )
                    .ok()
                    .flatten()
            },
            WAIT,
        )
        .expect("http_requests_total is queryable");
    assert_eq!(requests, 3.0);
    assert_eq!(
        prometheus
            .query_value(r#"hello_greetings_total{job="hello"}"#)
            .unwrap(),
        Some(3.0)
    );
    assert_eq!(
        prometheus
            .query_value(r#"health_check_status{job="hello",check="self"}"#)
            .unwrap(),
        Some(1.0)
    );
    // Prometheus sees the never-called function's zero series too.
    assert_eq!(
        prometheus
            .query_value(r#"sum(function_calls_total{job="hello",function="slow"})"#)
            .unwrap(),
        Some(0.0)
    );
    // The scrapes themselves are not counted as traffic.
    let scrapes = prometheus
        .query(r#"http_requests_total{job="hello",route="/metrics"}"#)
        .unwrap();
    assert_eq!(scrapes["result"], serde_json::json!([]));

    // Prometheus asked for OpenMetrics and got it: only an OpenMetrics
    // scrape carries `# UNIT`, which the metadata API then reports.
    let metadata = prometheus
        .metadata("http_request_duration_seconds")
        .unwrap();
    let entry = &metadata[0];
    assert_eq!(entry["type"], "histogram", "{metadata}");
    assert_eq!(entry["unit"], "seconds", "{metadata}");

    // A bad query is an error with Prometheus' message, not a panic.
    let err = prometheus.query("sum(").unwrap_err();
    assert!(err.to_string().contains("bad_data"), "{err}");

    drop(prometheus);
    let (ok, output) = hello.terminate();
    assert!(ok, "hello exited with an error:\n{output}");
    assert!(
        output.contains("shutdown (SIGTERM) finished"),
        "no shutdown report:\n{output}"
    );
}
