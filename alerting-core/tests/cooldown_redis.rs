//! `RedisStore` against a real `redis-server` started by the test on
//! 127.0.0.1 (Debian's package; `REDIS_SERVER` names another binary): two
//! stores, as two instances, claim each key exactly once between them; a
//! release frees only its own claim; while Redis is down both keep working
//! on their own, say so in the metric and the health check, and go back to
//! sharing when it returns.

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use alerting_core::cooldown::{Claim, CooldownStore, RedisCheck, RedisStore};
use alerting_core::health::{CheckOptions, HealthRegistry, Status};
use alerting_core::metrics::{Format, Registry};

const WAIT: Duration = Duration::from_secs(10);

/// A `redis-server` on 127.0.0.1:`port`, killed when dropped.
struct RedisServer {
    child: Child,
    port: u16,
}

impl RedisServer {
    fn start(port: u16) -> Self {
        let binary = std::env::var_os("REDIS_SERVER")
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from("/usr/bin/redis-server"));
        let child = Command::new(&binary)
            .args(["--bind", "127.0.0.1", "--port", &port.to_string()])
            .args([
                "--save",
                "",
                "--appendonly",
                "no",
                "--protected-mode",
                "yes",
            ])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| {
                panic!(
                    "cannot run {} (apt-get install redis-server): {e}",
                    binary.display()
                )
            });
        let server = Self { child, port };
        let started = Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                started.elapsed() < WAIT,
                "redis-server did not listen on {port}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        server
    }

    fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/", self.port)
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn store(url: &str, registry: Option<&Registry>) -> RedisStore {
    let mut builder = RedisStore::builder(url)
        .prefix("test:cooldown:")
        .timeout(Duration::from_millis(300))
        .retry_after(Duration::from_millis(200));
    if let Some(registry) = registry {
        builder = builder.metrics(registry);
    }
    builder.build().unwrap()
}

fn sample(registry: &Registry, name: &str) -> String {
    let text = registry.encode_to_string(Format::Prometheus).unwrap();
    text.lines()
        .find(|l| l.starts_with(name) && !l.starts_with('#'))
        .unwrap_or_else(|| panic!("no {name} in\n{text}"))
        .to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_instances_claim_each_key_once() {
    let redis = RedisServer::start(free_port());
    let (a, b) = (store(&redis.url(), None), store(&redis.url(), None));
    let ttl = Duration::from_secs(60);

    // 200 keys, each claimed 4 times at once by each instance.
    let mut tasks = Vec::new();
    for key in 0..200 {
        for store in [&a, &b, &a, &b, &a, &b, &a, &b] {
            let store = store.clone();
            tasks.push(tokio::spawn(async move {
                (key, store.claim(&format!("token-{key}"), ttl).await)
            }));
        }
    }
    let mut claimed = vec![0; 200];
    for task in tasks {
        let (key, claim) = task.await.unwrap();
        if claim == Claim::Claimed {
            claimed[key] += 1;
        }
    }
    assert!(claimed.iter().all(|&n| n == 1), "{claimed:?}");
    assert!(a.is_shared() && b.is_shared());

    // A release frees only the releaser's own claim.
    assert!(a.claim("mine", ttl).await.is_claimed());
    b.release("mine").await;
    assert_eq!(
        b.claim("mine", ttl).await,
        Claim::Held,
        "b cannot free a's claim"
    );
    a.release("mine").await;
    assert!(b.claim("mine", ttl).await.is_claimed());

    // Keys expire with their ttl.
    assert!(
        a.claim("short", Duration::from_millis(200))
            .await
            .is_claimed()
    );
    assert_eq!(b.claim("short", ttl).await, Claim::Held);
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert!(b.claim("short", ttl).await.is_claimed());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_redis_each_instance_works_alone_and_shares_again_when_it_returns() {
    let port = free_port();
    let url = format!("redis://127.0.0.1:{port}/");
    let registry = Registry::new();
    let a = store(&url, Some(&registry));
    let health = HealthRegistry::builder()
        .timeout(Duration::from_secs(2))
        .build()
        .unwrap();
    health
        .add_check("redis", CheckOptions::new().critical(false), a.check())
        .unwrap();
    let ttl = Duration::from_secs(60);

    // Down from the start: the service starts and dedups locally.
    assert!(a.claim("x", ttl).await.is_claimed());
    assert_eq!(a.claim("x", ttl).await, Claim::Held);
    assert!(!a.is_shared());
    assert_eq!(
        sample(&registry, "cooldown_store_shared"),
        "cooldown_store_shared 0"
    );
    let report = health.refresh().await;
    assert_eq!(report.checks["redis"].status, Status::Down);
    assert_eq!(
        report.status,
        Status::Degraded,
        "not critical: degraded, not down"
    );

    // Redis comes up: claims go there again (after the retry pause).
    let redis = RedisServer::start(port);
    let started = Instant::now();
    while !a
        .claim("probe", Duration::from_millis(1))
        .await
        .is_claimed()
        || !a.is_shared()
    {
        assert!(started.elapsed() < WAIT, "never shared again");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let b = store(&url, None);
    assert!(a.claim("y", ttl).await.is_claimed());
    assert_eq!(b.claim("y", ttl).await, Claim::Held, "shared again");
    assert_eq!(
        sample(&registry, "cooldown_store_shared"),
        "cooldown_store_shared 1"
    );
    assert_eq!(health.refresh().await.checks["redis"].status, Status::Up);

    // Redis goes away while in use: both fall back, neither blocks long.
    drop(redis);
    let started = Instant::now();
    let (ca, cb) = (a.claim("z", ttl).await, b.claim("z", ttl).await);
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
    assert!(ca.is_claimed() && cb.is_claimed(), "each decides alone");
    assert!(!a.is_shared() && !b.is_shared());
    let fallbacks = sample(&registry, "cooldown_store_fallbacks_total");
    let n: f64 = fallbacks.rsplit(' ').next().unwrap().parse().unwrap();
    assert!(n >= 3.0, "{fallbacks}");
    assert_eq!(health.refresh().await.checks["redis"].status, Status::Down);
}

#[test]
fn a_check_from_a_url_and_a_bad_url() {
    assert!(RedisCheck::new("redis://127.0.0.1:6379/").is_ok());
    let err = RedisCheck::new("redis://user:hunter2@[::1/").unwrap_err();
    let printed = format!("{err} / {err:?}");
    assert!(printed.contains("invalid Redis URL"), "{printed}");
    assert!(!printed.contains("hunter2"), "{printed}");
}
