//! Storage (存储): the one place that names SQL. A [`Store`] is either an embedded SQLite file
//! or a PostgreSQL database, chosen once from the database URL. Both backends run the same
//! statements (`$1` placeholders work on both) through the [`run!`] macro, which expands one body
//! for each backend; where SQL must differ, both arms sit side by side in one function.
//!
//! Every list and fetch of a scoped record takes the caller's [`Scope`] and filters in SQL, so a
//! record outside the scope is simply not found.

pub mod audit;
pub mod auth;
pub mod indicators;
pub mod ledger;
mod migrate;
pub mod notify;
pub mod reports;
pub mod sql;
pub mod units;
pub mod users;

use sqlx::pool::PoolConnection;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{
    ConnectOptions, Connection, PgConnection, PgPool, Postgres, Sqlite, SqliteConnection,
    SqlitePool,
};
use std::str::FromStr;
use std::time::Duration;

pub use taizhang_domain::scope::Scope;

/// Runs `$body` with `$x` bound to the backend's connection (`&mut SqliteConnection` or
/// `&mut PgConnection`). The body is written once and compiled for each backend.
#[macro_export]
macro_rules! run {
    ($c:expr, |$x:ident| $body:expr) => {
        match $crate::AsConn::conn($c) {
            $crate::Conn::Sqlite($x) => $body,
            $crate::Conn::Pg($x) => $body,
        }
    };
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("unsupported database URL '{0}': use sqlite:PATH or postgres://USER@HOST:PORT/DB")]
    BadUrl(String),
    #[error("a record with this {field} already exists")]
    Duplicate { field: String },
    #[error("a referenced record does not exist")]
    MissingReference,
    #[error("the record was changed by someone else (expected version {expected})")]
    StaleVersion { expected: i64 },
    #[error("database error: {0}")]
    Db(#[from] sqlx::Error),
    #[error("migration {version} failed: {source}")]
    Migration { version: i64, source: sqlx::Error },
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// Maps constraint violations to errors a person can act on; everything else stays a database error.
pub(crate) fn map_err(e: sqlx::Error) -> StoreError {
    if let Some(db) = e.as_database_error() {
        match db.kind() {
            sqlx::error::ErrorKind::UniqueViolation => {
                let msg = db.message().to_string();
                let c = db.constraint().unwrap_or_default().to_string();
                let field = if msg.contains("username") || c.contains("username") {
                    "username"
                } else if msg.contains("code") || c.contains("code") {
                    "code"
                } else {
                    "key"
                };
                return StoreError::Duplicate {
                    field: field.into(),
                };
            }
            sqlx::error::ErrorKind::ForeignKeyViolation => return StoreError::MissingReference,
            _ => {}
        }
    }
    StoreError::Db(e)
}

/// A borrowed connection of either backend.
pub enum Conn<'c> {
    Sqlite(&'c mut SqliteConnection),
    Pg(&'c mut PgConnection),
}

/// Anything that can lend a connection: a pooled connection or a transaction.
pub trait AsConn: Send {
    fn conn(&mut self) -> Conn<'_>;

    fn is_sqlite(&mut self) -> bool {
        matches!(self.conn(), Conn::Sqlite(_))
    }
}

pub enum PooledConn {
    Sqlite(PoolConnection<Sqlite>),
    Pg(PoolConnection<Postgres>),
}

impl AsConn for PooledConn {
    fn conn(&mut self) -> Conn<'_> {
        match self {
            PooledConn::Sqlite(c) => Conn::Sqlite(c),
            PooledConn::Pg(c) => Conn::Pg(c),
        }
    }
}

/// A write transaction. On SQLite it holds the write lock from its first statement
/// (`BEGIN IMMEDIATE`), so read-then-write sequences never fail on a stale snapshot.
pub enum Tx {
    /// An SQLite write transaction holds the process's writer turn (see [`Store::begin`]).
    Sqlite(
        sqlx::Transaction<'static, Sqlite>,
        tokio::sync::OwnedMutexGuard<()>,
    ),
    Pg(sqlx::Transaction<'static, Postgres>),
}

impl AsConn for Tx {
    fn conn(&mut self) -> Conn<'_> {
        match self {
            Tx::Sqlite(t, _) => Conn::Sqlite(t),
            Tx::Pg(t) => Conn::Pg(t),
        }
    }
}

impl Tx {
    pub async fn commit(self) -> Result<()> {
        match self {
            Tx::Sqlite(t, _turn) => t.commit().await?,
            Tx::Pg(t) => t.commit().await?,
        }
        Ok(())
    }

    pub async fn rollback(self) -> Result<()> {
        match self {
            Tx::Sqlite(t, _turn) => t.rollback().await?,
            Tx::Pg(t) => t.rollback().await?,
        }
        Ok(())
    }
}

#[derive(Clone, Debug)]
enum Pool {
    Sqlite(SqlitePool),
    Pg(PgPool),
}

/// The database: a pool of connections to one backend, migrated on open.
#[derive(Clone, Debug)]
pub struct Store {
    pool: Pool,
    /// The SQLite file, for the read-only bulk reader of the audit verifier.
    sqlite_path: Option<std::path::PathBuf>,
    /// The writer turn on SQLite: one write transaction at a time in this process.
    write_turn: std::sync::Arc<tokio::sync::Mutex<()>>,
}

impl Store {
    /// Opens the database named by `url` (`sqlite:PATH`, `sqlite::memory:` or `postgres://…`)
    /// and runs the embedded migrations.
    pub async fn connect(url: &str) -> Result<Store> {
        Self::connect_in_schema(url, None).await
    }

    /// Like [`Store::connect`]; on PostgreSQL, uses (and creates) the schema `schema`, so that
    /// tests and benchmarks can share one database without seeing each other.
    pub async fn connect_in_schema(url: &str, schema: Option<&str>) -> Result<Store> {
        let store = if let Some(rest) = url.strip_prefix("sqlite:") {
            let path = rest.trim_start_matches("//");
            if path.is_empty() {
                return Err(StoreError::BadUrl(url.to_string()));
            }
            let memory = path == ":memory:";
            if !memory
                && let Some(dir) = std::path::Path::new(path).parent()
                && !dir.as_os_str().is_empty()
            {
                std::fs::create_dir_all(dir).map_err(|e| StoreError::Db(sqlx::Error::Io(e)))?;
            }
            let opts = SqliteConnectOptions::from_str(&format!("sqlite:{path}"))?
                .create_if_missing(true)
                .journal_mode(if memory {
                    SqliteJournalMode::Memory
                } else {
                    SqliteJournalMode::Wal
                })
                .synchronous(SqliteSynchronous::Full)
                .foreign_keys(true)
                .busy_timeout(Duration::from_secs(30))
                // Reads of a large file go through the OS page cache without copies, and each
                // connection keeps a 16 MiB page cache (the default is 2 MiB).
                .pragma("mmap_size", "268435456")
                .pragma("cache_size", "-16384")
                .pragma("temp_store", "memory")
                .disable_statement_logging();
            // An in-memory database lives as long as its one connection.
            let max = if memory { 1 } else { 8 };
            let pool = SqlitePoolOptions::new()
                .max_connections(max)
                .min_connections(if memory { 1 } else { 0 })
                .idle_timeout(if memory {
                    None
                } else {
                    Some(Duration::from_secs(600))
                })
                .max_lifetime(if memory {
                    None
                } else {
                    Some(Duration::from_secs(3600))
                })
                .connect_with(opts)
                .await?;
            Store {
                pool: Pool::Sqlite(pool),
                sqlite_path: (!memory).then(|| std::path::PathBuf::from(path)),
                write_turn: Default::default(),
            }
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            let mut opts = PgConnectOptions::from_str(url)?.disable_statement_logging();
            if let Some(schema) = schema {
                let mut c = PgConnection::connect_with(&opts).await?;
                let ddl = format!(
                    "CREATE SCHEMA IF NOT EXISTS \"{}\"",
                    schema.replace('"', "")
                );
                sqlx::raw_sql(sqlx::AssertSqlSafe(ddl))
                    .execute(&mut c)
                    .await?;
                c.close().await?;
                opts = opts.options([("search_path", schema)]);
            }
            let pool = PgPoolOptions::new()
                .max_connections(10)
                .acquire_timeout(Duration::from_secs(30))
                .connect_with(opts)
                .await?;
            Store {
                pool: Pool::Pg(pool),
                sqlite_path: None,
                write_turn: Default::default(),
            }
        } else {
            return Err(StoreError::BadUrl(url.to_string()));
        };
        migrate::run(&store).await?;
        Ok(store)
    }

    /// The SQLite file, when the store is one.
    pub fn sqlite_file(&self) -> Option<&std::path::Path> {
        self.sqlite_path.as_deref()
    }

    pub fn backend(&self) -> Backend {
        match self.pool {
            Pool::Sqlite(_) => Backend::Sqlite,
            Pool::Pg(_) => Backend::Postgres,
        }
    }

    /// A connection for reads.
    pub async fn conn(&self) -> Result<PooledConn> {
        Ok(match &self.pool {
            Pool::Sqlite(p) => PooledConn::Sqlite(p.acquire().await?),
            Pool::Pg(p) => PooledConn::Pg(p.acquire().await?),
        })
    }

    /// A write transaction.
    pub async fn begin(&self) -> Result<Tx> {
        Ok(match &self.pool {
            Pool::Sqlite(p) => {
                // SQLite has one writer at a time. Writers of this process queue here, in
                // order, instead of colliding on BEGIN IMMEDIATE and backing off in SQLite's
                // busy handler (which sleeps up to 100 ms and made p99 latency jump).
                let turn = self.write_turn.clone().lock_owned().await;
                Tx::Sqlite(p.begin_with("BEGIN IMMEDIATE").await?, turn)
            }
            Pool::Pg(p) => Tx::Pg(p.begin().await?),
        })
    }

    pub async fn close(&self) {
        match &self.pool {
            Pool::Sqlite(p) => p.close().await,
            Pool::Pg(p) => p.close().await,
        }
    }

    /// `PRAGMA integrity_check` on SQLite (PostgreSQL checks its own pages): `ok` when sound.
    pub async fn integrity_check(&self) -> Result<String> {
        match &self.pool {
            Pool::Sqlite(p) => {
                let rows: Vec<(String,)> = sqlx::query_as("PRAGMA integrity_check")
                    .fetch_all(p)
                    .await?;
                Ok(rows.into_iter().map(|r| r.0).collect::<Vec<_>>().join("; "))
            }
            Pool::Pg(p) => {
                let _: (i64,) = sqlx::query_as("SELECT count(*) FROM audit_events")
                    .fetch_one(p)
                    .await?;
                Ok("ok".into())
            }
        }
    }

    /// Writes a consistent snapshot of an SQLite database to `out` (`VACUUM INTO`), safe while
    /// the server is writing.
    pub async fn backup_sqlite(&self, out: &std::path::Path) -> Result<()> {
        match &self.pool {
            Pool::Sqlite(p) => {
                let target = out.to_string_lossy().replace('\'', "''");
                sqlx::raw_sql(sqlx::AssertSqlSafe(format!("VACUUM INTO '{target}'")))
                    .execute(p)
                    .await?;
                Ok(())
            }
            Pool::Pg(_) => Err(StoreError::BadUrl(
                "backup works on SQLite; for PostgreSQL use pg_dump".to_string(),
            )),
        }
    }

    /// Runs raw SQL: for tests that play a tamperer with direct database access, and for
    /// benchmarks that load data in bulk. Never used by the application itself.
    #[doc(hidden)]
    pub async fn execute_raw(&self, sql: &str) -> Result<()> {
        match &self.pool {
            Pool::Sqlite(p) => sqlx::raw_sql(sqlx::AssertSqlSafe(sql.to_string()))
                .execute(p)
                .await?
                .rows_affected(),
            Pool::Pg(p) => sqlx::raw_sql(sqlx::AssertSqlSafe(sql.to_string()))
                .execute(p)
                .await?
                .rows_affected(),
        };
        Ok(())
    }
}

/// Fresh, isolated databases for tests and benchmarks: a new SQLite file, or a new schema in
/// the PostgreSQL database named by `TAIZHANG_TEST_PG` (default: the local `test` database).
#[doc(hidden)]
pub mod testing {
    use super::{Backend, Result, Store};
    use std::sync::atomic::{AtomicU64, Ordering};

    static N: AtomicU64 = AtomicU64::new(0);

    pub fn pg_url() -> String {
        std::env::var("TAIZHANG_TEST_PG")
            .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_string())
    }

    /// Where test databases go (`scripts/test` empties it before a run).
    pub fn dir() -> std::path::PathBuf {
        std::env::temp_dir().join("taizhang-tests")
    }

    /// A unique name for this process and call.
    pub fn unique(prefix: &str) -> String {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        format!(
            "{prefix}_{}_{}_{nanos}",
            std::process::id(),
            N.fetch_add(1, Ordering::SeqCst)
        )
    }

    /// Opens a fresh database of the given backend. SQLite files go to the system temp dir.
    pub async fn fresh(backend: Backend) -> Result<Store> {
        match backend {
            Backend::Sqlite => {
                let path = dir().join(format!("{}.db", unique("t")));
                Store::connect(&format!("sqlite:{}", path.display())).await
            }
            Backend::Postgres => {
                Store::connect_in_schema(&pg_url(), Some(&unique("tz_test"))).await
            }
        }
    }

    pub const BACKENDS: [Backend; 2] = [Backend::Sqlite, Backend::Postgres];
}
