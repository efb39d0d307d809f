//! `alerting-tests`: cross-crate tests of the workspace, and the harness
//! they share: a **real Prometheus server** started for one test.
//!
//! # The harness
//!
//! [`Prometheus`] runs the Prometheus binary of Debian's `prometheus`
//! package (`/usr/bin/prometheus`, installed by `.ci/run`; the
//! `PROMETHEUS` environment variable names another) as a child process:
//!
//! - on `127.0.0.1` only, on a free ephemeral port (chosen by binding
//!   `127.0.0.1:0` and releasing it; if Prometheus then fails to bind it,
//!   another port is tried, up to five times);
//! - with a temporary data directory and a generated configuration: a
//!   scrape interval and timeout of 1 s (configurable), one scrape job per
//!   [`Target`], and, if given, rule files evaluated every second;
//! - started by [`PrometheusBuilder::start`], which returns once
//!   `/-/ready` answers 200 (bounded: 30 s by default), or with an error
//!   that carries Prometheus' own log;
//! - killed, and its directory removed, when the [`Prometheus`] value is
//!   dropped (also when a test panics).
//!
//! Its HTTP API is wrapped in blocking calls that return the `data` field
//! of Prometheus' answer as [`serde_json::Value`]: [`Prometheus::query`],
//! [`Prometheus::targets`], [`Prometheus::alerts`], [`Prometheus::rules`],
//! [`Prometheus::metadata`], or any endpoint with [`Prometheus::api`]. An
//! answer with `"status":"error"` (a bad PromQL expression, say) is a
//! [`HarnessError::Api`] carrying Prometheus' message.
//!
//! Nothing in Prometheus happens at once: a target is up after its first
//! scrape, a rule fires after an evaluation (and its `for:`). Wait for it
//! with [`Prometheus::wait_until`] (or the free [`wait_until`]), which polls
//! a closure every 100 ms until it returns `Some`, up to a timeout. Never
//! sleep a fixed time and then assert.
//!
//! The calls block (they use a small synchronous client), so use the
//! harness from plain `#[test]` functions. A test that also runs async code
//! of its own can call the harness from `tokio::task::spawn_blocking`.
//!
//! # Example: an alert rule, end to end
//!
//! ```no_run
//! use std::time::Duration;
//! use alerting_tests::{Prometheus, Target};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! # let app_addr: std::net::SocketAddr = "127.0.0.1:9000".parse()?;
//! let rules = std::env::temp_dir().join("my-rules.yml");
//! std::fs::write(&rules, r#"
//! groups:
//!   - name: example
//!     rules:
//!       - alert: AlwaysFiring
//!         expr: vector(1)
//! "#)?;
//!
//! let prometheus = Prometheus::builder()
//!     .target(Target::new("app", app_addr))
//!     .rule_file(&rules)
//!     .start()?;
//!
//! // The target is scraped, up.
//! prometheus.wait_for_target_up("app", Duration::from_secs(30))?;
//! let up = prometheus.query_value(r#"up{job="app"}"#)?;
//! assert_eq!(up, Some(1.0));
//!
//! // The rule fires.
//! let alert = prometheus.wait_until(
//!     || {
//!         let alerts = prometheus.alerts().ok()?;
//!         alerts.as_array()?.iter()
//!             .find(|a| a["labels"]["alertname"] == "AlwaysFiring" && a["state"] == "firing")
//!             .cloned()
//!     },
//!     Duration::from_secs(30),
//! )?;
//! println!("{alert}");
//! # Ok(()) }
//! ```
//!
//! # The tests
//!
//! `tests/prometheus_scrape.rs` runs `alerting-axum`'s `hello` example and
//! checks that Prometheus scrapes its admin `/metrics`, in OpenMetrics,
//! and can query what it exposes. `tests/bsc_monitor_alerts.rs` and
//! `tests/sol_monitor_alerts.rs` run an example monitor ([`app::App`]),
//! stop its simulated node and watch the generated alerts fire and
//! resolve.
#![deny(missing_docs)]

pub mod app;
mod exposition;
pub mod tls;

pub use exposition::ExpositionServer;

use std::fmt;
use std::fs::{self, File};
use std::net::{Ipv4Addr, SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde_json::{Value, json};

/// How often [`wait_until`] calls its closure.
pub const POLL_INTERVAL: Duration = Duration::from_millis(100);

/// How many ports [`PrometheusBuilder::start`] tries.
const PORT_ATTEMPTS: usize = 5;

/// What went wrong with the Prometheus harness.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum HarnessError {
    /// The binary could not be started.
    #[error("cannot start `{binary}` (install Debian's `prometheus` package, as .ci/run does)")]
    Spawn {
        /// The binary.
        binary: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// Prometheus exited before it was ready (or while in use).
    #[error("prometheus exited ({status}); its log:\n{log}")]
    Exited {
        /// Its exit status.
        status: ExitStatus,
        /// The end of its log.
        log: String,
    },
    /// Prometheus did not become ready in time.
    #[error("prometheus was not ready after {waited:?}; its log:\n{log}")]
    NotReady {
        /// How long it was given.
        waited: Duration,
        /// The end of its log.
        log: String,
    },
    /// A condition given to [`wait_until`] did not hold in time.
    #[error("condition not met after {waited:?}{log}")]
    Timeout {
        /// How long it was given.
        waited: Duration,
        /// The end of Prometheus' log (from [`Prometheus::wait_until`]),
        /// or empty.
        log: String,
    },
    /// An HTTP request to Prometheus failed, or answered something that is
    /// not its API's JSON.
    #[error("GET {url}: {message}")]
    Http {
        /// The URL.
        url: String,
        /// What happened.
        message: String,
    },
    /// Prometheus answered with `"status":"error"`.
    #[error("GET {url}: prometheus says {error_type}: {error}")]
    Api {
        /// The URL.
        url: String,
        /// Its `errorType` (`bad_data`, `execution`, …).
        error_type: String,
        /// Its `error`.
        error: String,
    },
    /// An app started by [`app::App::start`] exited before it was ready.
    #[error("`{}` exited ({status}) before printing its metrics address; its stderr:\n{stderr}", binary.display())]
    AppExited {
        /// The binary.
        binary: PathBuf,
        /// Its exit status.
        status: String,
        /// The end of its stderr.
        stderr: String,
    },
    /// A file or directory of the harness could not be written.
    #[error("{what}")]
    Io {
        /// What was being done.
        what: String,
        /// Why it failed.
        #[source]
        source: std::io::Error,
    },
}

fn io_error(what: impl Into<String>) -> impl FnOnce(std::io::Error) -> HarnessError {
    let what = what.into();
    move |source| HarnessError::Io { what, source }
}

/// One scrape job of the generated configuration: `job_name` = `job`,
/// one static target.
#[derive(Clone, Debug)]
pub struct Target {
    job: String,
    address: String,
    metrics_path: String,
    bearer_token: Option<String>,
}

impl Target {
    /// Scrapes `http://<addr>/metrics` as job `job`.
    pub fn new(job: impl Into<String>, addr: SocketAddr) -> Self {
        Self {
            job: job.into(),
            address: addr.to_string(),
            metrics_path: "/metrics".to_owned(),
            bearer_token: None,
        }
    }

    /// Another metrics path (default `/metrics`).
    #[must_use]
    pub fn metrics_path(mut self, path: impl Into<String>) -> Self {
        self.metrics_path = path.into();
        self
    }

    /// Sends `Authorization: Bearer <token>` with each scrape.
    #[must_use]
    pub fn bearer_token(mut self, token: impl Into<String>) -> Self {
        self.bearer_token = Some(token.into());
        self
    }
}

/// Configures and starts a [`Prometheus`]; [`Prometheus::builder`].
#[derive(Clone, Debug)]
#[must_use]
pub struct PrometheusBuilder {
    binary: PathBuf,
    targets: Vec<Target>,
    rule_files: Vec<PathBuf>,
    rule_texts: Vec<String>,
    scrape_interval: Duration,
    evaluation_interval: Duration,
    ready_timeout: Duration,
    agent: bool,
    remote_write: Vec<String>,
    receiver: bool,
    external_labels: Vec<(String, String)>,
    features: Vec<String>,
}

impl Default for PrometheusBuilder {
    fn default() -> Self {
        Self {
            binary: std::env::var_os("PROMETHEUS")
                .map(PathBuf::from)
                .unwrap_or_else(|| PathBuf::from("/usr/bin/prometheus")),
            targets: Vec::new(),
            rule_files: Vec::new(),
            rule_texts: Vec::new(),
            scrape_interval: Duration::from_secs(1),
            evaluation_interval: Duration::from_secs(1),
            ready_timeout: Duration::from_secs(30),
            agent: false,
            remote_write: Vec::new(),
            receiver: false,
            external_labels: Vec::new(),
            features: Vec::new(),
        }
    }
}

impl PrometheusBuilder {
    /// Adds a scrape job.
    pub fn target(mut self, target: Target) -> Self {
        self.targets.push(target);
        self
    }

    /// Adds a rule file (alerting or recording rules), read from where it
    /// is; make the path absolute or relative to the test's working
    /// directory. Prometheus refuses to start on a file it cannot parse:
    /// [`start`](Self::start) then fails with its log.
    pub fn rule_file(mut self, path: impl AsRef<Path>) -> Self {
        let path = path.as_ref();
        self.rule_files
            .push(std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf()));
        self
    }

    /// The scrape interval, also used as the scrape timeout (default 1 s).
    pub fn scrape_interval(mut self, interval: Duration) -> Self {
        self.scrape_interval = interval;
        self
    }

    /// Adds rules given as YAML text (a generated `RuleFile::to_yaml()`,
    /// say): written into the server's temporary directory at
    /// [`start`](Self::start), removed with it.
    pub fn rules_yaml(mut self, text: impl Into<String>) -> Self {
        self.rule_texts.push(text.into());
        self
    }

    /// How often rules are evaluated (default 1 s).
    pub fn evaluation_interval(mut self, interval: Duration) -> Self {
        self.evaluation_interval = interval;
        self
    }

    /// How long [`start`](Self::start) waits for `/-/ready` (default 30 s).
    pub fn ready_timeout(mut self, timeout: Duration) -> Self {
        self.ready_timeout = timeout;
        self
    }

    /// The Prometheus binary (default `$PROMETHEUS`, else
    /// `/usr/bin/prometheus`).
    pub fn binary(mut self, binary: impl Into<PathBuf>) -> Self {
        self.binary = binary.into();
        self
    }

    /// The configuration file this builder writes, as YAML (JSON is
    /// YAML).
    /// Runs in agent mode (`--enable-feature=agent`): scrapes and
    /// remote-writes, with no local queries, rules or TSDB. The query
    /// methods of [`Prometheus`] then fail; [`Prometheus::targets`] works.
    pub fn agent(mut self) -> Self {
        self.agent = true;
        self
    }

    /// Sends every sample to `url` (a receiver's `/api/v1/write`), in
    /// batches at most 1 s old.
    pub fn remote_write(mut self, url: impl Into<String>) -> Self {
        self.remote_write.push(url.into());
        self
    }

    /// Accepts remote writes on `/api/v1/write`
    /// (`--web.enable-remote-write-receiver`).
    pub fn remote_write_receiver(mut self) -> Self {
        self.receiver = true;
        self
    }

    /// Turns on a feature flag (`--enable-feature=name`), e.g.
    /// `exemplar-storage`.
    pub fn feature(mut self, name: impl Into<String>) -> Self {
        self.features.push(name.into());
        self
    }

    /// A label added to every series this server sends or alerts on
    /// (`global.external_labels`).
    pub fn external_label(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.external_labels.push((name.into(), value.into()));
        self
    }

    /// The configuration file's text (JSON, which is YAML).
    pub fn config(&self) -> String {
        let interval = prometheus_duration(self.scrape_interval);
        let jobs: Vec<Value> = self
            .targets
            .iter()
            .map(|t| {
                let mut job = json!({
                    "job_name": t.job,
                    "metrics_path": t.metrics_path,
                    "static_configs": [{ "targets": [t.address] }],
                });
                if let Some(token) = &t.bearer_token {
                    job["authorization"] = json!({ "type": "Bearer", "credentials": token });
                }
                job
            })
            .collect();
        let mut config = json!({
            "global": {
                "scrape_interval": interval,
                "scrape_timeout": interval,
            },
            "scrape_configs": jobs,
        });
        if !self.agent {
            config["global"]["evaluation_interval"] =
                json!(prometheus_duration(self.evaluation_interval));
            config["rule_files"] = json!(self.rule_files);
        }
        if !self.external_labels.is_empty() {
            let labels: serde_json::Map<String, Value> = self
                .external_labels
                .iter()
                .map(|(k, v)| (k.clone(), json!(v)))
                .collect();
            config["global"]["external_labels"] = Value::Object(labels);
        }
        if !self.remote_write.is_empty() {
            config["remote_write"] = self
                .remote_write
                .iter()
                .map(|url| {
                    json!({
                        "url": url,
                        "queue_config": {
                            "batch_send_deadline": "1s",
                            "min_backoff": "100ms",
                            "max_backoff": "1s",
                        },
                    })
                })
                .collect();
        }
        serde_json::to_string_pretty(&config).unwrap_or_default()
    }

    /// Starts Prometheus and waits until it is ready.
    ///
    /// # Errors
    ///
    /// [`HarnessError::Spawn`] if the binary cannot run,
    /// [`HarnessError::Exited`] if it stops (a bad rule file, say),
    /// [`HarnessError::NotReady`] if it is not ready in time,
    /// [`HarnessError::Io`] if the temporary files cannot be written.
    pub fn start(mut self) -> Result<Prometheus, HarnessError> {
        let dir = TempDir::new()?;
        for (i, text) in std::mem::take(&mut self.rule_texts).into_iter().enumerate() {
            let path = dir.path().join(format!("rules-{i}.yml"));
            fs::write(&path, text).map_err(io_error(format!("write {}", path.display())))?;
            self.rule_files.push(path);
        }
        let config_path = dir.path().join("prometheus.yml");
        fs::write(&config_path, self.config())
            .map_err(io_error(format!("write {}", config_path.display())))?;
        let mut attempt = 0;
        loop {
            attempt += 1;
            match self.start_once(&dir, &config_path, attempt) {
                Err(StartError::PortTaken(_)) if attempt < PORT_ATTEMPTS => continue,
                Err(StartError::PortTaken(e) | StartError::Other(e)) => return Err(e),
                Ok((child, addr, log)) => {
                    return Ok(Prometheus {
                        child,
                        addr,
                        log,
                        config_path,
                        agent: agent(),
                        dir,
                    });
                }
            }
        }
    }

    fn start_once(
        &self,
        dir: &TempDir,
        config_path: &Path,
        attempt: usize,
    ) -> Result<(Child, SocketAddr, PathBuf), StartError> {
        let port = free_port().map_err(StartError::Other)?;
        let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
        let data = dir.path().join(format!("data-{attempt}"));
        let log_path = dir.path().join(format!("prometheus-{attempt}.log"));
        let log = File::create(&log_path)
            .map_err(io_error(format!("create {}", log_path.display())))
            .map_err(StartError::Other)?;
        let log_err = log
            .try_clone()
            .map_err(io_error("duplicate the log file handle"))
            .map_err(StartError::Other)?;
        let mut command = Command::new(&self.binary);
        command.arg(format!("--config.file={}", config_path.display()));
        if self.agent {
            command
                .arg("--enable-feature=agent")
                .arg(format!("--storage.agent.path={}", data.display()));
        } else {
            command.arg(format!("--storage.tsdb.path={}", data.display()));
        }
        if self.receiver {
            command.arg("--web.enable-remote-write-receiver");
        }
        for feature in &self.features {
            command.arg(format!("--enable-feature={feature}"));
        }
        let child = command
            .arg(format!("--web.listen-address={addr}"))
            .arg("--web.enable-lifecycle")
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(log_err)
            .spawn()
            .map_err(|source| {
                StartError::Other(HarnessError::Spawn {
                    binary: self.binary.clone(),
                    source,
                })
            })?;
        // From here on the child is killed if we return early.
        let mut guard = KillOnDrop(Some(child));
        let agent = agent();
        let ready_url = format!("http://{addr}/-/ready");
        let started = Instant::now();
        loop {
            if let Some(child) = guard.0.as_mut()
                && let Ok(Some(status)) = child.try_wait()
            {
                let log = tail(&log_path);
                let error = HarnessError::Exited {
                    status,
                    log: log.clone(),
                };
                return Err(if log.contains("address already in use") {
                    StartError::PortTaken(error)
                } else {
                    StartError::Other(error)
                });
            }
            if let Ok(response) = agent.get(&ready_url).call()
                && response.status() == 200
            {
                let child = guard.0.take().ok_or_else(|| {
                    StartError::Other(HarnessError::NotReady {
                        waited: started.elapsed(),
                        log: tail(&log_path),
                    })
                })?;
                return Ok((child, addr, log_path));
            }
            if started.elapsed() > self.ready_timeout {
                return Err(StartError::Other(HarnessError::NotReady {
                    waited: started.elapsed(),
                    log: tail(&log_path),
                }));
            }
            std::thread::sleep(POLL_INTERVAL);
        }
    }
}

enum StartError {
    /// Another process took the port between our probe and Prometheus'
    /// bind: try another.
    PortTaken(HarnessError),
    Other(HarnessError),
}

struct KillOnDrop(Option<Child>);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        if let Some(mut child) = self.0.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// A running Prometheus server; killed when dropped. See the [crate
/// documentation](crate).
pub struct Prometheus {
    child: Child,
    addr: SocketAddr,
    log: PathBuf,
    config_path: PathBuf,
    agent: ureq::Agent,
    // Last: removed after the child is killed.
    dir: TempDir,
}

impl fmt::Debug for Prometheus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Prometheus")
            .field("addr", &self.addr)
            .field("pid", &self.child.id())
            .field("dir", &self.dir.path())
            .finish()
    }
}

impl Prometheus {
    /// Starts configuring a server.
    pub fn builder() -> PrometheusBuilder {
        PrometheusBuilder::default()
    }

    /// A server scraping `targets`, with the defaults.
    ///
    /// # Errors
    ///
    /// As [`PrometheusBuilder::start`].
    pub fn start(targets: impl IntoIterator<Item = Target>) -> Result<Self, HarnessError> {
        targets
            .into_iter()
            .fold(Self::builder(), PrometheusBuilder::target)
            .start()
    }

    /// Where it listens (on 127.0.0.1).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The configuration file it was started with.
    pub fn config_path(&self) -> &Path {
        &self.config_path
    }

    /// The last lines of its own log (stdout and stderr), for failure
    /// messages.
    pub fn log(&self) -> String {
        tail(&self.log)
    }

    /// `GET /api/v1/<endpoint>?<params>` and its `data`.
    ///
    /// # Errors
    ///
    /// [`HarnessError::Http`] if the request fails or the answer is not
    /// the API's JSON, [`HarnessError::Api`] if Prometheus answers with an
    /// error.
    pub fn api(&self, endpoint: &str, params: &[(&str, &str)]) -> Result<Value, HarnessError> {
        let url = format!("{}/api/v1/{endpoint}", self.url());
        let http = |message: String| HarnessError::Http {
            url: url.clone(),
            message,
        };
        let mut request = self.agent.get(&url);
        for (k, v) in params {
            request = request.query(*k, *v);
        }
        let mut response = request.call().map_err(|e| http(e.to_string()))?;
        let status = response.status();
        let body = response
            .body_mut()
            .read_to_string()
            .map_err(|e| http(e.to_string()))?;
        let value: Value = serde_json::from_str(&body)
            .map_err(|e| http(format!("{status}: not JSON ({e}): {body}")))?;
        if value["status"] == "success" {
            return Ok(value.get("data").cloned().unwrap_or(Value::Null));
        }
        Err(HarnessError::Api {
            url: url.clone(),
            error_type: value["errorType"].as_str().unwrap_or("?").to_owned(),
            error: value["error"].as_str().unwrap_or(&body).to_owned(),
        })
    }

    /// An instant query: `{"resultType": …, "result": …}`.
    ///
    /// # Errors
    ///
    /// As [`Prometheus::api`]; a bad expression is [`HarnessError::Api`].
    pub fn query(&self, expr: &str) -> Result<Value, HarnessError> {
        self.api("query", &[("query", expr)])
    }

    /// An instant query's single number: the value of a scalar, or of the
    /// first sample of a vector; `None` for an empty vector.
    ///
    /// # Errors
    ///
    /// As [`Prometheus::query`].
    pub fn query_value(&self, expr: &str) -> Result<Option<f64>, HarnessError> {
        let data = self.query(expr)?;
        let value = match data["resultType"].as_str() {
            Some("scalar") => data["result"].get(1).cloned(),
            _ => data["result"]
                .get(0)
                .and_then(|sample| sample["value"].get(1))
                .cloned(),
        };
        Ok(value
            .and_then(|v| v.as_str().map(str::to_owned))
            .and_then(|s| s.parse().ok()))
    }

    /// The active targets (`data.activeTargets`): each with `labels`,
    /// `health` (`up`, `down`, `unknown`), `lastError`, `lastScrape`…
    ///
    /// # Errors
    ///
    /// As [`Prometheus::api`].
    pub fn targets(&self) -> Result<Value, HarnessError> {
        Ok(self.api("targets", &[])?["activeTargets"].take())
    }

    /// The alerts (`data.alerts`): each with `labels`, `annotations`,
    /// `state` (`pending`, `firing`), `activeAt`, `value`.
    ///
    /// # Errors
    ///
    /// As [`Prometheus::api`].
    pub fn alerts(&self) -> Result<Value, HarnessError> {
        Ok(self.api("alerts", &[])?["alerts"].take())
    }

    /// The alerts named `name` in state `firing` (none if the API fails).
    pub fn firing(&self, name: &str) -> Vec<Value> {
        self.alerts()
            .ok()
            .and_then(|a| a.as_array().cloned())
            .unwrap_or_default()
            .into_iter()
            .filter(|a| a["labels"]["alertname"] == name && a["state"] == "firing")
            .collect()
    }

    /// The rule groups (`data.groups`), with each rule's `health`,
    /// `lastError` and, for alerts, `state`.
    ///
    /// # Errors
    ///
    /// As [`Prometheus::api`].
    pub fn rules(&self) -> Result<Value, HarnessError> {
        Ok(self.api("rules", &[])?["groups"].take())
    }

    /// What the targets said about `metric` (`type`, `help`, `unit`),
    /// from `/api/v1/targets/metadata`. `unit` is only known from an
    /// OpenMetrics scrape.
    ///
    /// # Errors
    ///
    /// As [`Prometheus::api`].
    pub fn metadata(&self, metric: &str) -> Result<Value, HarnessError> {
        self.api("targets/metadata", &[("metric", metric)])
    }

    /// Waits until the target of `job` has been scraped successfully and
    /// returns it (from [`Prometheus::targets`]).
    ///
    /// # Errors
    ///
    /// [`HarnessError::Timeout`] with the target's last error and
    /// Prometheus' log.
    pub fn wait_for_target_up(&self, job: &str, timeout: Duration) -> Result<Value, HarnessError> {
        let mut last = Value::Null;
        self.wait_until(
            || {
                let targets = self.targets().ok()?;
                let target = targets
                    .as_array()?
                    .iter()
                    .find(|t| t["labels"]["job"] == job)?
                    .clone();
                last = target.clone();
                (target["health"] == "up").then_some(target)
            },
            timeout,
        )
        .map_err(|e| match e {
            HarnessError::Timeout { waited, log } => HarnessError::Timeout {
                waited,
                log: format!("; target of job {job}: {last}{log}"),
            },
            other => other,
        })
    }

    /// [`wait_until`], with Prometheus' log in the error.
    ///
    /// # Errors
    ///
    /// [`HarnessError::Timeout`].
    pub fn wait_until<T>(
        &self,
        condition: impl FnMut() -> Option<T>,
        timeout: Duration,
    ) -> Result<T, HarnessError> {
        wait_until(condition, timeout).map_err(|e| match e {
            HarnessError::Timeout { waited, .. } => HarnessError::Timeout {
                waited,
                log: format!("; prometheus log:\n{}", self.log()),
            },
            other => other,
        })
    }

    /// Makes Prometheus read its configuration and rule files again
    /// (`POST /-/reload`).
    ///
    /// # Errors
    ///
    /// [`HarnessError::Http`] if it refuses (a rule file that no longer
    /// parses).
    pub fn reload(&self) -> Result<(), HarnessError> {
        let url = format!("{}/-/reload", self.url());
        let mut response = self
            .agent
            .post(&url)
            .send_empty()
            .map_err(|e| HarnessError::Http {
                url: url.clone(),
                message: e.to_string(),
            })?;
        if response.status() == 200 {
            return Ok(());
        }
        Err(HarnessError::Http {
            message: format!(
                "{}: {}",
                response.status(),
                response.body_mut().read_to_string().unwrap_or_default()
            ),
            url,
        })
    }
}

impl Drop for Prometheus {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Calls `condition` every [`POLL_INTERVAL`] until it returns `Some`, and
/// returns that; gives up after `timeout`. The closure runs at least once.
///
/// For a yes/no condition, return `cond.then_some(())`.
///
/// # Errors
///
/// [`HarnessError::Timeout`].
pub fn wait_until<T>(
    mut condition: impl FnMut() -> Option<T>,
    timeout: Duration,
) -> Result<T, HarnessError> {
    let started = Instant::now();
    loop {
        if let Some(value) = condition() {
            return Ok(value);
        }
        if started.elapsed() >= timeout {
            return Err(HarnessError::Timeout {
                waited: started.elapsed(),
                log: String::new(),
            });
        }
        std::thread::sleep(POLL_INTERVAL);
    }
}

/// A TCP port on 127.0.0.1 that was free a moment ago: bound to port 0,
/// then released. Another process may take it before it is used; callers
/// retry (as [`PrometheusBuilder::start`] does).
///
/// # Errors
///
/// [`HarnessError::Io`] if no port can be bound.
pub fn free_port() -> Result<u16, HarnessError> {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .map_err(io_error("bind 127.0.0.1:0 to find a free port"))?;
    let port = listener
        .local_addr()
        .map_err(io_error("read the address of a bound listener"))?
        .port();
    Ok(port)
}

/// `1s`, `1500ms`: Prometheus' duration syntax.
fn prometheus_duration(d: Duration) -> String {
    let ms = d.as_millis().max(1);
    if ms.is_multiple_of(1000) {
        format!("{}s", ms / 1000)
    } else {
        format!("{ms}ms")
    }
}

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .timeout_global(Some(Duration::from_secs(10)))
        .http_status_as_error(false)
        .build()
        .new_agent()
}

/// The last 60 lines of a log file.
fn tail(path: &Path) -> String {
    let text = fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(60)..].join("\n")
}

/// A directory under the system's temporary directory, removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new() -> Result<Self, HarnessError> {
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        let path = std::env::temp_dir().join(format!(
            "alerting-prometheus-{}-{}-{nanos}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed),
        ));
        fs::create_dir_all(&path).map_err(io_error(format!("create {}", path.display())))?;
        Ok(Self(path))
    }

    fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_in_prometheus_syntax() {
        assert_eq!(prometheus_duration(Duration::from_secs(1)), "1s");
        assert_eq!(prometheus_duration(Duration::from_millis(1500)), "1500ms");
        assert_eq!(prometheus_duration(Duration::ZERO), "1ms");
    }

    #[test]
    fn the_config_has_each_target_and_rule_file() {
        let addr: SocketAddr = "127.0.0.1:9000".parse().unwrap();
        let builder = Prometheus::builder()
            .target(Target::new("app", addr).bearer_token("t\"ok"))
            .target(Target::new("other", addr).metrics_path("/m"))
            .rule_file("/abs/rules.yml");
        let config: Value = serde_json::from_str(&builder.config()).unwrap();
        assert_eq!(config["global"]["scrape_interval"], "1s");
        assert_eq!(config["global"]["evaluation_interval"], "1s");
        assert_eq!(config["rule_files"], json!(["/abs/rules.yml"]));
        assert_eq!(config["scrape_configs"][0]["job_name"], "app");
        assert_eq!(
            config["scrape_configs"][0]["authorization"]["credentials"],
            "t\"ok"
        );
        assert_eq!(config["scrape_configs"][1]["metrics_path"], "/m");
        assert_eq!(
            config["scrape_configs"][1]["static_configs"][0]["targets"][0],
            "127.0.0.1:9000"
        );
    }

    #[test]
    fn wait_until_is_bounded() {
        let mut calls = 0;
        let err = wait_until(
            || {
                calls += 1;
                None::<()>
            },
            Duration::from_millis(250),
        )
        .unwrap_err();
        assert!(matches!(err, HarnessError::Timeout { .. }));
        assert!(calls >= 2);
        assert_eq!(wait_until(|| Some(7), Duration::ZERO).unwrap(), 7);
    }
}
