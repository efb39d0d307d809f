//! [`SqlPoolCheck`]: a pulled check of any `sqlx` pool (feature `sqlx`).

use std::borrow::Cow;
use std::fmt;
use std::time::Duration;

use sqlx::{Connection, Database, Executor, Pool};

use crate::health::{CheckOutcome, HealthCheck};

/// The default of [`SqlPoolCheck::acquire_timeout`].
const DEFAULT_ACQUIRE_TIMEOUT: Duration = Duration::from_secs(1);

/// What failed in one run of a [`SqlPoolCheck`].
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SqlPoolError {
    /// The pool was closed ([`Pool::close`]): it gives no connection any
    /// more.
    #[error("the pool is closed")]
    Closed,
    /// No connection came free (or could be opened) within the timeout:
    /// every connection is in use, or the database does not answer.
    #[error("no connection within {timeout:?}")]
    AcquireTimedOut {
        /// [`SqlPoolCheck::acquire_timeout`].
        timeout: Duration,
    },
    /// The pool could not give a connection: opening one failed.
    #[error("cannot get a connection from the pool")]
    Acquire(#[source] sqlx::Error),
    /// A fresh connection ([`SqlPoolCheck::fresh_connection`]) could not
    /// be opened with the pool's options.
    #[error("cannot open a fresh connection")]
    Connect(#[source] sqlx::Error),
    /// The ping, or the check's query, failed on a connection.
    #[error("{what} failed")]
    Query {
        /// `ping`, or the query.
        what: Cow<'static, str>,
        /// What the database said.
        #[source]
        source: sqlx::Error,
    },
}

impl SqlPoolError {
    /// Whether it is [`SqlPoolError::AcquireTimedOut`].
    pub fn is_timeout(&self) -> bool {
        matches!(self, SqlPoolError::AcquireTimedOut { .. })
    }
}

/// A pulled health check of a [`sqlx::Pool`] of any database (SQLite,
/// Postgres, MySQL): borrows a connection within
/// [`acquire_timeout`](Self::acquire_timeout) and pings it, or runs
/// [`query`](Self::query) on it. Down, with a [`SqlPoolError`] saying what
/// failed (pool closed, acquire timed out, connect or query error), when
/// either step fails; the registry's own timeout
/// ([`CheckOptions::timeout`](crate::health::CheckOptions::timeout)) bounds
/// the whole run.
///
/// A pool's idle connections can outlive what they point at: an SQLite
/// connection keeps the file it opened even after the file is deleted or
/// replaced. [`fresh_connection`](Self::fresh_connection) makes each run
/// open a new connection with the pool's own options instead, which
/// notices.
///
/// ```
/// use alerting_core::health::checks::SqlPoolCheck;
/// use alerting_core::health::{CheckOptions, HealthRegistry, Status};
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let pool = sqlx::SqlitePool::connect("sqlite::memory:").await?;
/// let health = HealthRegistry::new();
/// health.add_check("store", CheckOptions::new(), SqlPoolCheck::new(pool.clone()))?;
/// assert_eq!(health.check_now("store").await?.status, Status::Up);
///
/// pool.close().await;
/// let report = health.check_now("store").await?;
/// assert_eq!(report.status, Status::Down);
/// assert_eq!(report.reason.as_deref(), Some("the pool is closed"));
/// # Ok(()) }
/// ```
pub struct SqlPoolCheck<DB: Database> {
    pool: Pool<DB>,
    acquire_timeout: Duration,
    fresh: bool,
    query: Option<Cow<'static, str>>,
}

impl<DB: Database> Clone for SqlPoolCheck<DB> {
    fn clone(&self) -> Self {
        Self {
            pool: self.pool.clone(),
            acquire_timeout: self.acquire_timeout,
            fresh: self.fresh,
            query: self.query.clone(),
        }
    }
}

impl<DB: Database> fmt::Debug for SqlPoolCheck<DB> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SqlPoolCheck")
            .field("database", &DB::NAME)
            .field("acquire_timeout", &self.acquire_timeout)
            .field("fresh_connection", &self.fresh)
            .field("query", &self.query)
            .finish_non_exhaustive()
    }
}

impl<DB> SqlPoolCheck<DB>
where
    DB: Database,
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
{
    /// A check of `pool` (a clone: it shares the pool's connections). Pings
    /// a borrowed connection, waiting at most 1 s for one.
    pub fn new(pool: Pool<DB>) -> Self {
        Self {
            pool,
            acquire_timeout: DEFAULT_ACQUIRE_TIMEOUT,
            fresh: false,
            query: None,
        }
    }

    /// How long to wait for a connection (default 1 s): past it, the run
    /// is down with [`SqlPoolError::AcquireTimedOut`].
    #[must_use]
    pub fn acquire_timeout(mut self, timeout: Duration) -> Self {
        self.acquire_timeout = timeout;
        self
    }

    /// Opens a new connection with the pool's options at each run (closed
    /// after it) instead of borrowing one of the pool's. Off by default.
    /// Give the pool options that do not create a missing database (with
    /// SQLite: `create_if_missing(false)`, the default), or the check
    /// creates an empty one.
    #[must_use]
    pub fn fresh_connection(mut self, fresh: bool) -> Self {
        self.fresh = fresh;
        self
    }

    /// Runs `sql` instead of a ping (its rows are read and dropped), say
    /// `SELECT 1 FROM my_table LIMIT 1` to check that the schema is there.
    #[must_use]
    pub fn query(mut self, sql: impl Into<Cow<'static, str>>) -> Self {
        self.query = Some(sql.into());
        self
    }

    /// One run: what [`HealthCheck::check`] reports, as a `Result`.
    ///
    /// # Errors
    ///
    /// [`SqlPoolError`], naming the step that failed.
    pub async fn probe(&self) -> Result<(), SqlPoolError> {
        if self.pool.is_closed() {
            return Err(SqlPoolError::Closed);
        }
        let timed_out = SqlPoolError::AcquireTimedOut {
            timeout: self.acquire_timeout,
        };
        if self.fresh {
            let options = self.pool.connect_options();
            let connect = <DB::Connection as Connection>::connect_with(&*options);
            let mut conn = tokio::time::timeout(self.acquire_timeout, connect)
                .await
                .map_err(|_| timed_out)?
                .map_err(SqlPoolError::Connect)?;
            let result = self.run(&mut conn).await;
            let _ = conn.close().await;
            return result;
        }
        let mut conn = tokio::time::timeout(self.acquire_timeout, self.pool.acquire())
            .await
            .map_err(|_| SqlPoolError::AcquireTimedOut {
                timeout: self.acquire_timeout,
            })?
            .map_err(|e| match e {
                sqlx::Error::PoolClosed => SqlPoolError::Closed,
                sqlx::Error::PoolTimedOut => SqlPoolError::AcquireTimedOut {
                    timeout: self.acquire_timeout,
                },
                e => SqlPoolError::Acquire(e),
            })?;
        self.run(&mut conn).await
    }

    async fn run(&self, conn: &mut DB::Connection) -> Result<(), SqlPoolError> {
        match &self.query {
            None => conn.ping().await.map_err(|source| SqlPoolError::Query {
                what: Cow::Borrowed("ping"),
                source,
            }),
            Some(sql) => conn
                .fetch_all(sqlx::raw_sql(sql))
                .await
                .map(drop)
                .map_err(|source| SqlPoolError::Query {
                    what: Cow::Owned(format!("query `{sql}`")),
                    source,
                }),
        }
    }
}

impl<DB> HealthCheck for SqlPoolCheck<DB>
where
    DB: Database,
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
{
    async fn check(&self) -> CheckOutcome {
        match self.probe().await {
            Ok(()) => CheckOutcome::up(),
            Err(e) => {
                // The step is safe to show; the database's own words are
                // logged, not served.
                let reason = e.to_string();
                match std::error::Error::source(&e) {
                    Some(source) => CheckOutcome::down(reason).with_error(source),
                    None => CheckOutcome::down(reason),
                }
            }
        }
    }
}
