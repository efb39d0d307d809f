//! `SqlPoolCheck` and `SqlPoolCollector` against a real (bundled) SQLite
//! pool; `HealthRegistry::remove` with the metrics on.

mod common;

use std::time::Duration;

use alerting_core::health::checks::{SqlPoolCheck, SqlPoolError};
use alerting_core::health::{CheckOptions, Detail, HealthRegistry, Status};
use alerting_core::metrics::sql_pool::SqlPoolCollector;
use alerting_core::metrics::{Format, Registry};
use common::{TempDir, promtool_check_metrics};
use sqlx::sqlite::{SqliteConnectOptions, SqlitePoolOptions};

async fn file_pool(dir: &TempDir, max: u32) -> sqlx::SqlitePool {
    let options = SqliteConnectOptions::new()
        .filename(dir.join("store.db"))
        .create_if_missing(true);
    let pool = SqlitePoolOptions::new()
        .max_connections(max)
        .connect_with(options)
        .await
        .unwrap();
    sqlx::raw_sql("CREATE TABLE IF NOT EXISTS t (x INTEGER)")
        .execute(&pool)
        .await
        .unwrap();
    pool
}

#[tokio::test]
async fn a_working_pool_is_up_and_a_closed_one_is_down() {
    let dir = TempDir::new("sql-up");
    let pool = file_pool(&dir, 2).await;
    let check = SqlPoolCheck::new(pool.clone());
    check.probe().await.unwrap();
    let with_query = SqlPoolCheck::new(pool.clone()).query("SELECT count(*) FROM t");
    with_query.probe().await.unwrap();
    let bad_query = SqlPoolCheck::new(pool.clone()).query("SELECT * FROM missing_table");
    match bad_query.probe().await.unwrap_err() {
        SqlPoolError::Query { what, .. } => assert!(what.contains("missing_table"), "{what}"),
        other => panic!("expected a query error, got {other:?}"),
    }

    let health = HealthRegistry::new();
    health
        .add_check("store", CheckOptions::new(), check.clone())
        .unwrap();
    assert_eq!(health.check_now("store").await.unwrap().status, Status::Up);
    pool.close().await;
    assert!(matches!(check.probe().await, Err(SqlPoolError::Closed)));
    let report = health.check_now("store").await.unwrap();
    assert_eq!(report.status, Status::Down);
    assert_eq!(report.reason.as_deref(), Some("the pool is closed"));
    assert!(!health.is_ready());
}

#[tokio::test]
async fn an_exhausted_pool_times_out_on_acquire() {
    let dir = TempDir::new("sql-busy");
    let pool = file_pool(&dir, 1).await;
    let held = pool.acquire().await.unwrap();
    let check = SqlPoolCheck::new(pool.clone()).acquire_timeout(Duration::from_millis(50));
    let err = check.probe().await.unwrap_err();
    assert!(err.is_timeout(), "{err:?}");
    assert_eq!(err.to_string(), "no connection within 50ms");
    drop(held);
    check.probe().await.unwrap();
}

/// A pooled SQLite connection keeps the file it opened: removing the file
/// is only noticed by a fresh connection, which the pool's options do not
/// let create an empty database.
#[tokio::test]
async fn a_fresh_connection_notices_a_removed_database_file() {
    let dir = TempDir::new("sql-gone");
    let path = dir.join("store.db");
    drop(file_pool(&dir, 1).await);
    let pool = SqlitePoolOptions::new()
        .max_connections(1)
        .connect_with(SqliteConnectOptions::new().filename(&path))
        .await
        .unwrap();
    let borrowed = SqlPoolCheck::new(pool.clone()).query("SELECT count(*) FROM t");
    let fresh = borrowed.clone().fresh_connection(true);
    fresh.probe().await.unwrap();
    borrowed.probe().await.unwrap();

    let moved = dir.join("moved.db");
    std::fs::rename(&path, &moved).unwrap();
    borrowed.probe().await.unwrap(); // the open connection still has the file
    assert!(matches!(fresh.probe().await, Err(SqlPoolError::Connect(_))));
    assert!(
        !path.exists(),
        "the check must not create an empty database"
    );

    std::fs::write(
        &path,
        b"not a database, just some bytes that are long enough",
    )
    .unwrap();
    let err = fresh.probe().await.unwrap_err();
    assert!(
        matches!(err, SqlPoolError::Connect(_) | SqlPoolError::Query { .. }),
        "{err:?}"
    );

    std::fs::rename(&moved, &path).unwrap();
    fresh.probe().await.unwrap();
}

#[tokio::test]
async fn the_collector_exports_each_pool_and_passes_promtool() {
    let dir = TempDir::new("sql-metrics");
    let pool = file_pool(&dir, 3).await;
    let other = SqlitePoolOptions::new()
        .max_connections(2)
        .connect("sqlite::memory:")
        .await
        .unwrap();
    let registry = Registry::new();
    let pools = SqlPoolCollector::register(&registry).unwrap();
    // A second collector in the same registry would write every family
    // twice: it is refused, naming what holds the names.
    let again = SqlPoolCollector::register(&registry).unwrap_err();
    assert!(
        again.to_string().contains("sql_pool_connections"),
        "{again}"
    );
    pools.add("store", &pool);
    pools.add("cache", &other);
    let held = pool.acquire().await.unwrap();
    let text = registry.encode_to_string(Format::Prometheus).unwrap();
    let size = pool.size();
    let idle = pool.num_idle();
    assert!(
        text.contains(&format!(
            "sql_pool_connections{{pool=\"store\",state=\"in_use\"}} {}",
            size as usize - idle
        )),
        "{text}"
    );
    assert!(
        text.contains(r#"sql_pool_connections_max{pool="store"} 3"#),
        "{text}"
    );
    assert!(
        text.contains(r#"sql_pool_connections_max{pool="cache"} 2"#),
        "{text}"
    );
    let (ok, out) = promtool_check_metrics(&text);
    assert!(ok, "{out}\n{text}");
    let refs = SqlPoolCollector::metric_refs();
    assert_eq!(refs.connections.name(), "sql_pool_connections");
    assert!(text.contains(&format!("# TYPE {} gauge", refs.connections_max.name())));
    drop(held);

    assert!(pools.remove("cache"));
    assert!(!pools.remove("cache"));
    let text = registry.encode_to_string(Format::Prometheus).unwrap();
    assert!(!text.contains(r#"pool="cache""#), "{text}");
    let (ok, out) = promtool_check_metrics(&text);
    assert!(ok, "{out}\n{text}");
}

#[tokio::test]
async fn a_removed_check_stops_and_leaves_no_series() {
    let dir = TempDir::new("sql-remove");
    let pool = file_pool(&dir, 1).await;
    let registry = Registry::new();
    let health = HealthRegistry::builder()
        .interval(Duration::from_millis(10))
        .metrics(&registry)
        .build()
        .unwrap();
    health
        .add_check(
            "store",
            CheckOptions::new(),
            SqlPoolCheck::new(pool.clone()),
        )
        .unwrap();
    let batch = health
        .add_component("sol_ws_batch_3", CheckOptions::new())
        .unwrap();
    batch.down("closed");
    let runs = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counted = std::sync::Arc::clone(&runs);
    health
        .add_check(
            "counted",
            CheckOptions::new(),
            alerting_core::health::check_fn(move || {
                counted.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                async { Ok::<(), String>(()) }
            }),
        )
        .unwrap();
    health.start().unwrap();
    health.refresh().await;
    let text = registry.encode_to_string(Format::Prometheus).unwrap();
    assert!(
        text.contains(r#"health_check_status{check="sol_ws_batch_3"} 0"#),
        "{text}"
    );
    assert!(!health.is_ready());

    assert!(health.remove("sol_ws_batch_3"));
    assert!(health.remove("store"));
    assert!(!health.remove("store"));
    assert!(health.remove("counted"));
    // A run may have been under way; after it, none starts.
    tokio::time::sleep(Duration::from_millis(20)).await;
    let after = runs.load(std::sync::atomic::Ordering::SeqCst);
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(
        runs.load(std::sync::atomic::Ordering::SeqCst),
        after,
        "a removed check ran"
    );
    assert!(health.is_ready(), "{:?}", health.report(Detail::Full));
    batch.up(); // reports to nothing, and brings nothing back
    let text = registry.encode_to_string(Format::Prometheus).unwrap();
    assert!(!text.contains("sol_ws_batch_3"), "{text}");
    assert!(!text.contains(r#"check="store""#), "{text}");
    let (ok, out) = promtool_check_metrics(&text);
    assert!(ok, "{out}\n{text}");

    // The name is free again, with fresh series.
    health
        .add_component("sol_ws_batch_3", CheckOptions::new())
        .unwrap()
        .up();
    let text = registry.encode_to_string(Format::Prometheus).unwrap();
    assert!(
        text.contains(r#"health_check_status{check="sol_ws_batch_3"} 1"#),
        "{text}"
    );
}
