//! Embedded migrations, one list per backend, applied in order on open. Each migration runs in
//! its own transaction; on PostgreSQL an advisory lock keeps two starting servers apart.

use crate::{Pool, Result, Store, StoreError};

const SQLITE: &[(i64, &str)] = &[
    (1, include_str!("../migrations/sqlite/0001_init.sql")),
    (2, include_str!("../migrations/sqlite/0002_ledger.sql")),
    (
        3,
        include_str!("../migrations/sqlite/0003_ledger_speed.sql"),
    ),
    (4, include_str!("../migrations/sqlite/0004_indicators.sql")),
    (5, include_str!("../migrations/sqlite/0005_forms.sql")),
    (
        6,
        include_str!("../migrations/sqlite/0006_report_templates.sql"),
    ),
];
const POSTGRES: &[(i64, &str)] = &[
    (1, include_str!("../migrations/postgres/0001_init.sql")),
    (2, include_str!("../migrations/postgres/0002_ledger.sql")),
    (
        3,
        include_str!("../migrations/postgres/0003_ledger_speed.sql"),
    ),
    (
        4,
        include_str!("../migrations/postgres/0004_indicators.sql"),
    ),
    (5, include_str!("../migrations/postgres/0005_forms.sql")),
    (
        6,
        include_str!("../migrations/postgres/0006_report_templates.sql"),
    ),
];

const CREATE: &str = "CREATE TABLE IF NOT EXISTS schema_migrations (version BIGINT PRIMARY KEY, applied_at BIGINT NOT NULL)";

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

pub(crate) async fn run(store: &Store) -> Result<()> {
    match &store.pool {
        Pool::Sqlite(p) => {
            sqlx::query(CREATE).execute(p).await?;
            for (version, sql) in SQLITE {
                let mut tx = p.begin_with("BEGIN IMMEDIATE").await?;
                let done: Option<(i64,)> =
                    sqlx::query_as("SELECT version FROM schema_migrations WHERE version = $1")
                        .bind(version)
                        .fetch_optional(&mut *tx)
                        .await?;
                if done.is_some() {
                    continue;
                }
                sqlx::raw_sql(*sql)
                    .execute(&mut *tx)
                    .await
                    .map_err(|source| StoreError::Migration {
                        version: *version,
                        source,
                    })?;
                sqlx::query("INSERT INTO schema_migrations (version, applied_at) VALUES ($1, $2)")
                    .bind(version)
                    .bind(now_ms())
                    .execute(&mut *tx)
                    .await?;
                tx.commit().await?;
            }
        }
        Pool::Pg(p) => {
            let mut tx = p.begin().await?;
            sqlx::query("SELECT pg_advisory_xact_lock(7460)")
                .execute(&mut *tx)
                .await?;
            sqlx::query(CREATE).execute(&mut *tx).await?;
            for (version, sql) in POSTGRES {
                let done: Option<(i64,)> =
                    sqlx::query_as("SELECT version FROM schema_migrations WHERE version = $1")
                        .bind(version)
                        .fetch_optional(&mut *tx)
                        .await?;
                if done.is_some() {
                    continue;
                }
                sqlx::raw_sql(*sql)
                    .execute(&mut *tx)
                    .await
                    .map_err(|source| StoreError::Migration {
                        version: *version,
                        source,
                    })?;
                sqlx::query("INSERT INTO schema_migrations (version, applied_at) VALUES ($1, $2)")
                    .bind(version)
                    .bind(now_ms())
                    .execute(&mut *tx)
                    .await?;
            }
            tx.commit().await?;
        }
    }
    Ok(())
}
