//! The store: an embedded SQLite file holding the batch pool
//! (`sol_ws_batch_pool`), the alert templates (`sol_ws_alert_template`)
//! and the alert log (`sol_ws_alert_log`), as in the SolAlert plan.
//!
//! On first start the file is created, migrated (`PRAGMA user_version`
//! counts the migrations applied; they are embedded below) and seeded with
//! the simulator's pairs and two templates, so the monitor alerts out of
//! the box. Every query is timed into `sol_store_query_duration_seconds{query}`
//! and, past `store.slow_query_secs`, counted in
//! `sol_store_slow_queries_total{query}`; the pool's connections are
//! `sql_pool_connections{pool="sol_store"}` (the library's collector); the
//! store is a pulled health check (the library's `SqlPoolCheck`, on a fresh
//! connection: a pooled SQLite connection keeps working on a file that was
//! removed or replaced, a new one does not). Rows that cannot be read are
//! logged with their table and id, counted in
//! `sol_store_rows_rejected_total{table}`, and skipped.

use std::collections::BTreeMap;
use std::future::Future;
use std::str::FromStr;
use std::time::{Duration, Instant};

use alerting_core::health::checks::SqlPoolCheck;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions};
use sqlx::{Connection, Row, Sqlite, SqliteConnection, SqlitePool};

use alerting_core::metrics::EnumLabel as _;

use crate::config::{StoreConfig, secs};
use crate::metrics::{QueryLabel, SolMetrics, StoreQuery, StoreTable, TableLabel};

/// The pool's name in `sql_pool_connections{pool}` and the store's health
/// check.
pub const POOL_NAME: &str = "sol_store";

/// `store.path` value for a store kept in memory (nothing written).
pub const IN_MEMORY: &str = ":memory:";

/// The schema, one migration per entry; `PRAGMA user_version` is the
/// number applied. Append, never edit: a file migrated once is not
/// migrated again.
const MIGRATIONS: &[&str] = &[r#"
CREATE TABLE sol_ws_batch_pool (
    id INTEGER PRIMARY KEY,
    batch_id INTEGER NOT NULL,
    pair_address TEXT NOT NULL,
    is_active INTEGER NOT NULL DEFAULT 1,
    time_interval INTEGER NOT NULL DEFAULT 60,
    UNIQUE (batch_id, pair_address)
);
CREATE INDEX idx_batch_active_interval ON sol_ws_batch_pool (batch_id, is_active, time_interval);
CREATE INDEX idx_pair_active ON sol_ws_batch_pool (pair_address, is_active);
CREATE TABLE sol_ws_alert_template (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    kind TEXT NOT NULL,
    threshold REAL NOT NULL,
    enabled INTEGER NOT NULL DEFAULT 1
);
CREATE TABLE sol_ws_alert_log (
    id INTEGER PRIMARY KEY,
    template_id INTEGER NOT NULL,
    batch_id INTEGER NOT NULL,
    ca TEXT NOT NULL,
    value REAL NOT NULL,
    alert_time INTEGER NOT NULL
);
CREATE INDEX idx_ca_alert_time ON sol_ws_alert_log (ca, alert_time DESC);
CREATE INDEX idx_template_time ON sol_ws_alert_log (template_id, alert_time DESC);
"#];

/// The seed's templates: id, name, kind, threshold.
const SEED_TEMPLATES: &[(i64, &str, &str, f64)] = &[
    (
        1,
        "price moved 5 % within the interval",
        "price_change",
        0.05,
    ),
    (
        2,
        "price moved 12 % within the interval",
        "price_change",
        0.12,
    ),
];

/// The seed's `time_interval`, seconds.
pub const SEED_TIME_INTERVAL: i64 = 60;

/// A store operation that failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The file could not be opened or created.
    #[error("cannot open the store `{path}`")]
    Open {
        /// `store.path`.
        path: String,
        /// What SQLite said.
        #[source]
        source: sqlx::Error,
    },
    /// The file's schema is newer than this build knows.
    #[error("the store `{path}` has schema version {found}; this build knows up to {known}")]
    NewerSchema {
        /// `store.path`.
        path: String,
        /// Its `user_version`.
        found: i64,
        /// The migrations embedded.
        known: usize,
    },
    /// A query failed.
    #[error("store query {query:?} failed")]
    Query {
        /// Which.
        query: StoreQuery,
        /// What SQLite said.
        #[source]
        source: sqlx::Error,
    },
}

/// One pair of a batch, as read from `sol_ws_batch_pool`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PairRow {
    /// The pair's account (base58).
    pub pair: String,
    /// The window its price change is measured over.
    pub time_interval: Duration,
}

/// What a template watches.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum TemplateKind {
    /// `price_change`: the price moved by at least `threshold` (a
    /// fraction, up or down) within the pair's `time_interval`.
    PriceChange,
}

/// An alert template, as read from `sol_ws_alert_template`.
#[derive(Clone, Debug, PartialEq)]
pub struct Template {
    /// Its id (the alert log's `template_id`).
    pub id: i64,
    /// Its name, shown in alerts.
    pub name: String,
    /// What it watches.
    pub kind: TemplateKind,
    /// Its threshold (a fraction for `price_change`).
    pub threshold: f64,
}

/// One alert-log row.
#[derive(Clone, Debug, PartialEq)]
pub struct AlertRow {
    /// The template that fired.
    pub template_id: i64,
    /// The pair's batch.
    pub batch_id: i64,
    /// The pair (the log's `ca`).
    pub ca: String,
    /// The value that crossed the threshold (the price change).
    pub value: f64,
    /// When it fired, Unix milliseconds.
    pub alert_time: i64,
}

/// The store: a pool on the SQLite file, instrumented.
#[derive(Clone, Debug)]
pub struct Store {
    pool: SqlitePool,
    path: String,
    metrics: SolMetrics,
    slow: Duration,
}

/// Whether `s` looks like a base58 public key.
pub fn is_pubkey(s: &str) -> bool {
    (32..=44).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() && !matches!(b, b'0' | b'O' | b'I' | b'l'))
}

impl Store {
    /// Opens (creating, migrating and, when it was just created, seeding
    /// with `seed_pairs` in batches of `batch_size`) the store of `config`.
    ///
    /// # Errors
    ///
    /// [`StoreError`]: the file cannot be opened, is not a database, has a
    /// newer schema, or a migration failed.
    pub async fn open(
        config: &StoreConfig,
        seed_pairs: &[String],
        batch_size: usize,
        metrics: &SolMetrics,
    ) -> Result<Self, StoreError> {
        let path = config.path.clone();
        let open_err = |source| StoreError::Open {
            path: path.clone(),
            source,
        };
        let memory = path == IN_MEMORY;
        let base = if memory {
            SqliteConnectOptions::from_str("sqlite::memory:").map_err(open_err)?
        } else {
            SqliteConnectOptions::new()
                .filename(&path)
                .journal_mode(SqliteJournalMode::Wal)
        }
        .busy_timeout(Duration::from_secs(5));
        let mut pool_options = SqlitePoolOptions::new()
            .max_connections(if memory { 1 } else { config.max_connections })
            .acquire_timeout(Duration::from_secs(5));
        if memory {
            // One connection, kept: it is the database.
            pool_options = pool_options
                .min_connections(1)
                .idle_timeout(None)
                .max_lifetime(None);
        } else {
            // Create the file (if missing) once, here; the pool's own
            // connections, and the health check's fresh ones, do not, so a
            // removed file is noticed instead of silently recreated empty.
            let conn = SqliteConnection::connect_with(&base.clone().create_if_missing(true))
                .await
                .map_err(open_err)?;
            conn.close().await.map_err(open_err)?;
        }
        let pool = pool_options.connect_with(base).await.map_err(open_err)?;
        let store = Self {
            pool,
            path,
            metrics: metrics.clone(),
            slow: secs(config.slow_query_secs),
        };
        if store.migrate().await? == 0 {
            store.seed(seed_pairs, batch_size).await?;
        }
        Ok(store)
    }

    /// The pool (for the connection collector).
    pub fn pool(&self) -> &SqlitePool {
        &self.pool
    }

    /// The store's health check: a fresh connection that reads the batch
    /// pool (an in-memory store: its one connection).
    pub fn check(&self) -> SqlPoolCheck<Sqlite> {
        SqlPoolCheck::new(self.pool.clone())
            .fresh_connection(self.path != IN_MEMORY)
            .query("SELECT 1 FROM sol_ws_batch_pool LIMIT 1")
    }

    /// Runs `f`, timing it as `query`.
    async fn timed<T>(
        &self,
        query: StoreQuery,
        f: impl Future<Output = Result<T, sqlx::Error>>,
    ) -> Result<T, StoreError> {
        let start = Instant::now();
        let result = f.await;
        let took = start.elapsed();
        let label = QueryLabel { query };
        self.metrics
            .sol_store_query_duration_seconds
            .get(label)
            .observe(took.as_secs_f64());
        if took >= self.slow {
            self.metrics.sol_store_slow_queries_total.get(label).inc();
            tracing::warn!(?query, took = ?took, "slow store query");
        }
        result.map_err(|source| StoreError::Query { query, source })
    }

    /// Applies the migrations not applied yet; returns the version found.
    async fn migrate(&self) -> Result<i64, StoreError> {
        let pool = &self.pool;
        let found = self
            .timed(StoreQuery::Migrate, async {
                let version: i64 = sqlx::query_scalar("PRAGMA user_version")
                    .fetch_one(pool)
                    .await?;
                Ok(version)
            })
            .await?;
        if found > MIGRATIONS.len() as i64 {
            return Err(StoreError::NewerSchema {
                path: self.path.clone(),
                found,
                known: MIGRATIONS.len(),
            });
        }
        for (i, sql) in MIGRATIONS.iter().enumerate().skip(found.max(0) as usize) {
            self.timed(StoreQuery::Migrate, async {
                let mut tx = pool.begin().await?;
                sqlx::raw_sql(sql).execute(&mut *tx).await?;
                // PRAGMA takes no bound parameter; `i` is ours.
                sqlx::raw_sql(&format!("PRAGMA user_version = {}", i + 1))
                    .execute(&mut *tx)
                    .await?;
                tx.commit().await
            })
            .await?;
            tracing::info!(path = %self.path, version = i + 1, "store migrated");
        }
        Ok(found)
    }

    /// Fills a new store: `pairs` in batches of `batch_size` (batch ids 0,
    /// 1, …), every one active, and the seed's templates.
    async fn seed(&self, pairs: &[String], batch_size: usize) -> Result<(), StoreError> {
        let pool = &self.pool;
        self.timed(StoreQuery::Seed, async {
            let mut tx = pool.begin().await?;
            for (i, pair) in pairs.iter().enumerate() {
                sqlx::query(
                    "INSERT OR IGNORE INTO sol_ws_batch_pool (batch_id, pair_address, is_active, time_interval) VALUES (?, ?, 1, ?)",
                )
                .bind((i / batch_size.max(1)) as i64)
                .bind(pair)
                .bind(SEED_TIME_INTERVAL)
                .execute(&mut *tx)
                .await?;
            }
            for (id, name, kind, threshold) in SEED_TEMPLATES {
                sqlx::query(
                    "INSERT INTO sol_ws_alert_template (id, name, kind, threshold, enabled) VALUES (?, ?, ?, ?, 1)",
                )
                .bind(id)
                .bind(name)
                .bind(kind)
                .bind(threshold)
                .execute(&mut *tx)
                .await?;
            }
            tx.commit().await
        })
        .await?;
        tracing::info!(path = %self.path, pairs = pairs.len(), "store seeded");
        Ok(())
    }

    fn reject(&self, table: StoreTable, id: i64, why: &str) {
        self.metrics
            .sol_store_rows_rejected_total
            .get(TableLabel { table })
            .inc();
        tracing::warn!(
            table = table.as_str(),
            row_id = id,
            why,
            "store row skipped"
        );
    }

    /// The active rows of the batch pool, by batch id; rows that cannot
    /// be read (a pair that is no base58 key, a non-positive or non-integer
    /// interval, a batch id that is no integer) are reported and skipped.
    ///
    /// # Errors
    ///
    /// [`StoreError::Query`].
    pub async fn load_batches(&self) -> Result<BTreeMap<i64, Vec<PairRow>>, StoreError> {
        let rows = self
            .timed(
                StoreQuery::LoadBatches,
                sqlx::query(
                    "SELECT id, batch_id, pair_address, time_interval FROM sol_ws_batch_pool \
                     WHERE is_active = 1 ORDER BY batch_id, id",
                )
                .fetch_all(&self.pool),
            )
            .await?;
        let mut batches: BTreeMap<i64, Vec<PairRow>> = BTreeMap::new();
        for row in rows {
            let id: i64 = row.try_get("id").unwrap_or(-1);
            let Ok(batch_id) = row.try_get::<i64, _>("batch_id") else {
                self.reject(StoreTable::BatchPool, id, "batch_id is not an integer");
                continue;
            };
            let pair = match row.try_get::<String, _>("pair_address") {
                Ok(p) if is_pubkey(&p) => p,
                _ => {
                    self.reject(
                        StoreTable::BatchPool,
                        id,
                        "pair_address is not a base58 public key",
                    );
                    continue;
                }
            };
            let interval = match row.try_get::<i64, _>("time_interval") {
                Ok(s) if (1..=86_400).contains(&s) => Duration::from_secs(s as u64),
                _ => {
                    self.reject(
                        StoreTable::BatchPool,
                        id,
                        "time_interval is not a whole number of seconds from 1 to 86400",
                    );
                    continue;
                }
            };
            batches.entry(batch_id).or_default().push(PairRow {
                pair,
                time_interval: interval,
            });
        }
        Ok(batches)
    }

    /// The enabled templates; rows of an unknown kind or with a threshold
    /// that is not a positive number are reported and skipped.
    ///
    /// # Errors
    ///
    /// [`StoreError::Query`].
    pub async fn load_templates(&self) -> Result<Vec<Template>, StoreError> {
        let rows = self
            .timed(
                StoreQuery::LoadTemplates,
                sqlx::query(
                    "SELECT id, name, kind, threshold FROM sol_ws_alert_template \
                     WHERE enabled = 1 ORDER BY id",
                )
                .fetch_all(&self.pool),
            )
            .await?;
        let mut templates = Vec::new();
        for row in rows {
            let id: i64 = row.try_get("id").unwrap_or(-1);
            let kind = match row.try_get::<String, _>("kind").as_deref() {
                Ok("price_change") => TemplateKind::PriceChange,
                _ => {
                    self.reject(StoreTable::AlertTemplate, id, "kind is not price_change");
                    continue;
                }
            };
            let threshold = match row.try_get::<f64, _>("threshold") {
                Ok(t) if t.is_finite() && t > 0.0 => t,
                _ => {
                    self.reject(
                        StoreTable::AlertTemplate,
                        id,
                        "threshold is not a positive number",
                    );
                    continue;
                }
            };
            let name = row.try_get::<String, _>("name").unwrap_or_default();
            templates.push(Template {
                id,
                name,
                kind,
                threshold,
            });
        }
        Ok(templates)
    }

    /// Writes `rows` in one transaction.
    ///
    /// # Errors
    ///
    /// [`StoreError::Query`]: nothing was written.
    pub async fn insert_alerts(&self, rows: &[AlertRow]) -> Result<(), StoreError> {
        let pool = &self.pool;
        self.timed(StoreQuery::InsertAlerts, async {
            let mut tx = pool.begin().await?;
            for r in rows {
                sqlx::query(
                    "INSERT INTO sol_ws_alert_log (template_id, batch_id, ca, value, alert_time) VALUES (?, ?, ?, ?, ?)",
                )
                .bind(r.template_id)
                .bind(r.batch_id)
                .bind(&r.ca)
                .bind(r.value)
                .bind(r.alert_time)
                .execute(&mut *tx)
                .await?;
            }
            tx.commit().await
        })
        .await
    }

    /// Every alert-log row, oldest first (for tests and tools).
    ///
    /// # Errors
    ///
    /// [`StoreError::Query`].
    pub async fn alert_log(&self) -> Result<Vec<AlertRow>, StoreError> {
        let rows = sqlx::query(
            "SELECT template_id, batch_id, ca, value, alert_time FROM sol_ws_alert_log ORDER BY id",
        )
        .fetch_all(&self.pool)
        .await
        .map_err(|source| StoreError::Query {
            query: StoreQuery::InsertAlerts,
            source,
        })?;
        Ok(rows
            .into_iter()
            .map(|r| AlertRow {
                template_id: r.get("template_id"),
                batch_id: r.get("batch_id"),
                ca: r.get("ca"),
                value: r.get("value"),
                alert_time: r.get("alert_time"),
            })
            .collect())
    }

    /// Runs `sql` as it is (tests and tools: add, deactivate or delete
    /// batches while the monitor runs).
    ///
    /// # Errors
    ///
    /// What SQLite said.
    pub async fn execute(&self, sql: &str) -> Result<u64, sqlx::Error> {
        Ok(sqlx::raw_sql(sql)
            .execute(&self.pool)
            .await?
            .rows_affected())
    }

    /// Closes the pool (at shutdown, after the alert log's last write).
    pub async fn close(&self) {
        self.pool.close().await;
    }
}
