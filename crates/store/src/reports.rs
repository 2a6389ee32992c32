//! Administrators' report templates (报告模板): edited copies of the built-in templates.

use crate::{AsConn, Result, StoreError, run};
use serde::Serialize;

#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct StoredTemplate {
    pub id: String,
    pub name: String,
    pub based_on: String,
    pub body: String,
    pub version: i64,
    pub created_at: i64,
    pub updated_at: i64,
}

const COLS: &str = "id, name, based_on, body, version, created_at, updated_at";

pub async fn list_templates(c: &mut impl AsConn) -> Result<Vec<StoredTemplate>> {
    let sql = format!("SELECT {COLS} FROM report_templates ORDER BY id");
    Ok(run!(c, |x| sqlx::query_as::<_, StoredTemplate>(
        sqlx::AssertSqlSafe(sql.clone())
    )
    .fetch_all(&mut *x)
    .await?))
}

pub async fn get_template(c: &mut impl AsConn, id: &str) -> Result<Option<StoredTemplate>> {
    let sql = format!("SELECT {COLS} FROM report_templates WHERE id = $1");
    Ok(run!(c, |x| sqlx::query_as::<_, StoredTemplate>(
        sqlx::AssertSqlSafe(sql.clone())
    )
    .bind(id)
    .fetch_optional(&mut *x)
    .await?))
}

/// Inserts a new template (`version` 0), or replaces one whose version is still `version`.
pub async fn put_template(
    c: &mut impl AsConn,
    t: &StoredTemplate,
    version: i64,
    now: i64,
) -> Result<()> {
    let n = if version == 0 {
        run!(c, |x| {
            sqlx::query(
            "INSERT INTO report_templates (id, name, based_on, body, version, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, 1, $5, $5) ON CONFLICT (id) DO NOTHING"
        )
        .bind(&t.id)
        .bind(&t.name)
        .bind(&t.based_on)
        .bind(&t.body)
        .bind(now)
        .execute(&mut *x)
        .await?
        .rows_affected()
        })
    } else {
        run!(c, |x| {
            sqlx::query(
            "UPDATE report_templates SET name = $1, body = $2, version = version + 1, updated_at = $3 \
             WHERE id = $4 AND version = $5"
        )
        .bind(&t.name)
        .bind(&t.body)
        .bind(now)
        .bind(&t.id)
        .bind(version)
        .execute(&mut *x)
        .await?
        .rows_affected()
        })
    };
    if n == 0 {
        return Err(StoreError::StaleVersion { expected: version });
    }
    Ok(())
}
