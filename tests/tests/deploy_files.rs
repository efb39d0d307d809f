//! examples/bsc-monitor/deploy: every probe, port and path in the
//! Dockerfile, the Kubernetes manifests and the ServiceMonitor is one the
//! app serves. The files are parsed (YAML; the Dockerfile's instructions),
//! then the real binary runs with the manifests' environment (the listen
//! address moved to 127.0.0.1) and each probe path is requested from it;
//! the Dockerfile's HEALTHCHECK command is run as written.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use alerting_core::shutdown::Shutdown;
use alerting_tests::app::{self, App};
use serde::Deserialize;
use serde_json::Value;

const TOKEN: &str = "deploy-test-token";
const LISTEN_KEY: &str = "BSC_MONITOR_METRICS__LISTEN_ADDR";
const TOKEN_KEY: &str = "BSC_MONITOR_METRICS__BEARER_TOKEN";

fn deploy_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/bsc-monitor/deploy")
}

fn read(name: &str) -> String {
    let path = deploy_dir().join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Every document of a YAML stream, as JSON values.
fn yaml_documents(name: &str) -> Vec<Value> {
    let text = read(name);
    yaml_serde::Deserializer::from_str(&text)
        .map(|doc| Value::deserialize(doc).unwrap_or_else(|e| panic!("{name}: {e}")))
        .collect()
}

fn of_kind<'a>(docs: &'a [Value], kind: &str) -> &'a Value {
    docs.iter()
        .find(|d| d["kind"] == kind)
        .unwrap_or_else(|| panic!("no {kind}"))
}

fn port_of(listen_addr: &str) -> u16 {
    listen_addr
        .parse::<SocketAddr>()
        .unwrap_or_else(|e| panic!("{listen_addr}: {e}"))
        .port()
}

/// `GET path` on `addr`, with a token if given: the status.
fn status(addr: SocketAddr, path: &str, token: Option<&str>) -> u16 {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_global(Some(Duration::from_secs(10)))
        .http_status_as_error(false)
        .build()
        .new_agent();
    let mut request = agent.get(format!("http://{addr}{path}"));
    if let Some(token) = token {
        request = request.header("Authorization", format!("Bearer {token}"));
    }
    request
        .call()
        .unwrap_or_else(|e| panic!("GET {path}: {e}"))
        .status()
        .as_u16()
}

/// The manifest's container environment: literal values as written, the
/// token (a Secret reference) as [`TOKEN`], the listen address on
/// 127.0.0.1 with a port the system picks.
fn runnable_env(env: &BTreeMap<String, Option<String>>) -> Vec<(String, String)> {
    env.iter()
        .map(|(k, v)| {
            let value = match k.as_str() {
                LISTEN_KEY => "127.0.0.1:0".to_owned(),
                TOKEN_KEY => TOKEN.to_owned(),
                _ => v
                    .clone()
                    .unwrap_or_else(|| panic!("{k} has no literal value")),
            };
            (k.clone(), value)
        })
        .collect()
}

#[test]
fn the_kubernetes_probes_ports_and_scrape_settings_are_what_bsc_monitor_serves() {
    let binary = app::build("bsc-monitor").expect("build bsc-monitor");
    let docs = yaml_documents("k8s.yaml");
    let deployment = of_kind(&docs, "Deployment");
    let pod = &deployment["spec"]["template"];
    let container = &pod["spec"]["containers"][0];

    let ports: BTreeMap<String, u16> = container["ports"]
        .as_array()
        .expect("container ports")
        .iter()
        .map(|p| {
            let number = p["containerPort"].as_u64().expect("containerPort");
            (
                p["name"].as_str().expect("named port").to_owned(),
                u16::try_from(number).expect("a port number"),
            )
        })
        .collect();
    let env: BTreeMap<String, Option<String>> = container["env"]
        .as_array()
        .expect("env")
        .iter()
        .map(|e| {
            (
                e["name"].as_str().unwrap().to_owned(),
                e["value"].as_str().map(str::to_owned),
            )
        })
        .collect();

    // The endpoints listen on the container port the probes name.
    let listen = env[LISTEN_KEY]
        .as_deref()
        .expect("a literal listen address");
    let admin = port_of(listen);
    let probe_port = |probe: &Value| -> u16 {
        match &probe["httpGet"]["port"] {
            Value::String(name) => *ports
                .get(name)
                .unwrap_or_else(|| panic!("probe port `{name}` is no container port")),
            Value::Number(n) => u16::try_from(n.as_u64().unwrap()).unwrap(),
            other => panic!("probe port {other}"),
        }
    };
    let probes: Vec<(&str, String)> = ["startupProbe", "livenessProbe", "readinessProbe"]
        .into_iter()
        .map(|kind| {
            let probe = &container[kind];
            assert_eq!(probe_port(probe), admin, "{kind}'s port");
            let path = probe["httpGet"]["path"].as_str().expect("probe path");
            (kind, path.to_owned())
        })
        .collect();
    // Liveness restarts the pod: it must not be the readiness endpoint.
    assert_eq!(probes[1].1, "/health");
    assert_eq!(probes[2].1, "/ready");

    // The token comes from the Secret the ServiceMonitor scrapes with.
    let token_ref = &container["env"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["name"] == TOKEN_KEY)
        .expect("the token variable")["valueFrom"]["secretKeyRef"];
    let monitor = &yaml_documents("servicemonitor.yaml")[0];
    let endpoint = &monitor["spec"]["endpoints"][0];
    assert_eq!(
        endpoint["authorization"]["credentials"], *token_ref,
        "the ServiceMonitor scrapes with the Secret the app reads"
    );

    // The Service exposes the named port; the ServiceMonitor and the
    // scrape annotations point at it and at the metrics path.
    let service = of_kind(&docs, "Service");
    let service_port = &service["spec"]["ports"][0];
    assert!(
        ports.contains_key(
            service_port["targetPort"]
                .as_str()
                .expect("named targetPort")
        ),
        "{service_port}"
    );
    assert_eq!(endpoint["port"], service_port["name"]);
    assert_eq!(
        service["spec"]["selector"],
        deployment["spec"]["selector"]["matchLabels"]
    );
    assert_eq!(
        monitor["spec"]["selector"]["matchLabels"],
        service["metadata"]["labels"]
    );
    let annotations = &pod["metadata"]["annotations"];
    assert_eq!(annotations["prometheus.io/port"], admin.to_string());

    // The configuration the pod runs with: the metrics path it serves, and
    // a grace period longer than the longest graceful shutdown.
    let config = bsc_monitor::config::load_with(None, None, runnable_env(&env))
        .expect("the manifest's environment is a valid configuration");
    let metrics_path = config.monitoring.metrics.path.clone();
    assert_eq!(annotations["prometheus.io/path"], metrics_path.as_str());
    assert_eq!(endpoint["path"], metrics_path.as_str());
    let grace = Duration::from_secs(
        pod["spec"]["terminationGracePeriodSeconds"]
            .as_u64()
            .expect("terminationGracePeriodSeconds"),
    );
    let longest = Shutdown::from_config(&config.monitoring.shutdown).max_duration();
    assert!(
        grace > longest,
        "grace period {grace:?} ≤ the shutdown's bound {longest:?}: SIGKILL would cut the drain"
    );

    // The app, with that environment: every probe answers 200, the metrics
    // path needs the token.
    let env = runnable_env(&env);
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let running = App::start(&binary, &env).expect("bsc-monitor starts");
    let addr = running.metrics_addr();
    for (kind, path) in &probes {
        // As the kubelet does: ask again until it answers 200 (readiness
        // waits for the first round of checks), at most 30 s.
        let answered = alerting_tests::wait_until(
            || (status(addr, path, None) == 200).then_some(()),
            Duration::from_secs(30),
        );
        assert!(answered.is_ok(), "{kind} {path}: never 200");
    }
    assert_eq!(status(addr, &metrics_path, None), 401);
    assert_eq!(status(addr, &metrics_path, Some(TOKEN)), 200);
}

/// The Dockerfile's instructions this test reads: `ENV` pairs, `EXPOSE`d
/// ports and the `HEALTHCHECK` command (exec form).
#[derive(Debug, Default)]
struct Dockerfile {
    env: BTreeMap<String, String>,
    expose: Vec<u16>,
    healthcheck: Vec<String>,
}

impl Dockerfile {
    fn parse(text: &str) -> Self {
        // Continuation lines joined, comments dropped.
        let mut joined = Vec::new();
        let mut current = String::new();
        for line in text.lines() {
            let trimmed = line.trim();
            if trimmed.starts_with('#') || (trimmed.is_empty() && current.is_empty()) {
                continue;
            }
            match trimmed.strip_suffix('\\') {
                Some(part) => {
                    current.push_str(part);
                    current.push(' ');
                }
                None => {
                    current.push_str(trimmed);
                    joined.push(std::mem::take(&mut current));
                }
            }
        }
        let mut file = Self::default();
        for line in joined {
            let (instruction, rest) = line.split_once(' ').unwrap_or((&line, ""));
            match instruction.to_ascii_uppercase().as_str() {
                "ENV" => {
                    for pair in rest.split_whitespace() {
                        let (k, v) = pair.split_once('=').expect("ENV key=value");
                        file.env.insert(k.to_owned(), v.to_owned());
                    }
                }
                "EXPOSE" => file.expose.extend(
                    rest.split_whitespace()
                        .map(|p| p.trim_end_matches("/tcp").parse::<u16>().expect("port")),
                ),
                "HEALTHCHECK" => {
                    let cmd = rest.split_once("CMD ").expect("HEALTHCHECK … CMD").1;
                    file.healthcheck = serde_json::from_str(cmd.trim())
                        .expect("HEALTHCHECK CMD in exec form (a JSON array)");
                }
                _ => {}
            }
        }
        file
    }
}

#[test]
fn the_dockerfile_healthcheck_probes_the_port_it_exposes() {
    let binary = app::build("bsc-monitor").expect("build bsc-monitor");
    let docker = Dockerfile::parse(&read("Dockerfile"));
    let listen = &docker.env[LISTEN_KEY];
    assert_eq!(
        docker.expose,
        [port_of(listen)],
        "EXPOSE is the listen port"
    );
    let (program, args) = docker.healthcheck.split_first().expect("a command");
    assert_eq!(program, "bsc-monitor", "the image's own binary");

    let running = App::start(&binary, &[(LISTEN_KEY, "127.0.0.1:0")]).expect("bsc-monitor starts");
    let port = running.metrics_addr().port();
    // The command as the image runs it, with the image's environment: the
    // listen address on every interface, which the probe asks on loopback
    // (only the port is the running app's).
    let healthcheck = |listen: String| {
        Command::new(&binary)
            .args(args)
            .envs(&docker.env)
            .env(LISTEN_KEY, listen)
            .output()
            .expect("run the healthcheck")
    };
    let ok = healthcheck(format!("0.0.0.0:{port}"));
    assert!(
        ok.status.success(),
        "healthcheck failed: {}",
        String::from_utf8_lossy(&ok.stderr)
    );

    // Nothing listening any more: unhealthy, and it says why.
    drop(running);
    let down = healthcheck(format!("0.0.0.0:{port}"));
    assert_eq!(down.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&down.stderr);
    assert!(
        stderr.contains(&format!("http://127.0.0.1:{port}/health")),
        "{stderr}"
    );
}

/// `45s`, `1m30s` → a duration (compose's format, the parts this file uses).
fn compose_duration(text: &str) -> Duration {
    let mut total = Duration::ZERO;
    let mut number = String::new();
    for c in text.chars() {
        if c.is_ascii_digit() {
            number.push(c);
        } else {
            let n: u64 = number
                .parse()
                .unwrap_or_else(|_| panic!("duration `{text}`"));
            number.clear();
            total += match c {
                's' => Duration::from_secs(n),
                'm' => Duration::from_secs(60 * n),
                'h' => Duration::from_secs(3600 * n),
                _ => panic!("duration `{text}`"),
            };
        }
    }
    assert!(number.is_empty(), "duration `{text}` without a unit");
    total
}

#[test]
fn the_compose_file_runs_instances_that_share_redis_and_prometheus_scrapes_them() {
    let compose = &yaml_documents("compose.yaml")[0];
    let services = compose["services"].as_object().expect("services");
    let docker = Dockerfile::parse(&read("Dockerfile"));
    let monitors: Vec<(&String, &Value)> = services
        .iter()
        .filter(|(_, s)| {
            s["build"]["dockerfile"]
                .as_str()
                .is_some_and(|d| d.ends_with("bsc-monitor/deploy/Dockerfile"))
        })
        .collect();
    assert_eq!(monitors.len(), 2, "two instances");
    // The build context is the repository's root, where the Dockerfile's
    // `COPY . .` expects it.
    let root = deploy_dir().join(monitors[0].1["build"]["context"].as_str().unwrap());
    assert!(root.join("Cargo.lock").exists() && root.join("examples/bsc-monitor").is_dir());

    let prometheus: Value = yaml_documents("prometheus.yml").remove(0);
    let job = &prometheus["scrape_configs"][0];
    assert_eq!(
        job["job_name"], "bsc-monitor",
        "ScrapeTargetDown selects this job"
    );
    let targets: Vec<&str> = job["static_configs"][0]["targets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t.as_str().unwrap())
        .collect();

    for (name, service) in &monitors {
        // The image's environment with the service's on top: a valid
        // configuration, sharing cool-downs through the compose Redis.
        let mut env: BTreeMap<String, String> = docker.env.clone();
        for (k, v) in service["environment"].as_object().expect("environment") {
            env.insert(k.clone(), v.as_str().expect("string values").to_owned());
        }
        let config = bsc_monitor::config::load_with(None, None, env.clone())
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        let redis = &config.app.cooldown.redis_url;
        let host = redis
            .strip_prefix("redis://")
            .and_then(|r| r.split([':', '/']).next())
            .unwrap_or_else(|| panic!("{name}: cooldown.redis_url `{redis}`"));
        assert!(services.contains_key(host), "{name}: no service `{host}`");
        let port = config.monitoring.metrics.listen_addr.port();
        assert!(
            targets.contains(&format!("{name}:{port}").as_str()),
            "{name}:{port} not in {targets:?}"
        );
        assert_eq!(job["metrics_path"], config.monitoring.metrics.path.as_str());
        // The same self-probe as the image's HEALTHCHECK.
        let test: Vec<&str> = service["healthcheck"]["test"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap())
            .collect();
        assert_eq!(test[0], "CMD");
        assert_eq!(
            test[1..],
            docker
                .healthcheck
                .iter()
                .map(String::as_str)
                .collect::<Vec<_>>()[..]
        );
        let grace = compose_duration(
            service["stop_grace_period"]
                .as_str()
                .expect("stop_grace_period"),
        );
        let longest = Shutdown::from_config(&config.monitoring.shutdown).max_duration();
        assert!(grace > longest, "{name}: {grace:?} ≤ {longest:?}");
    }
    assert_eq!(targets.len(), monitors.len());

    // Prometheus loads the generated rules from the repository.
    let rule_file = prometheus["rule_files"][0].as_str().unwrap();
    let volumes = services["prometheus"]["volumes"].as_array().unwrap();
    let mounted = |inside: &str| {
        volumes
            .iter()
            .filter_map(|v| v.as_str())
            .find_map(|v| {
                let mut parts = v.split(':');
                let (src, dst) = (parts.next()?, parts.next()?);
                (dst == inside).then(|| deploy_dir().join(src))
            })
            .unwrap_or_else(|| panic!("nothing mounted at {inside}"))
    };
    let rules = mounted(rule_file);
    assert!(
        rules.ends_with("docs/generated/bsc-monitor/rules.yml"),
        "{}",
        rules.display()
    );
    assert!(rules.exists(), "{}", rules.display());
    assert!(mounted("/etc/prometheus/prometheus.yml").exists());
}
