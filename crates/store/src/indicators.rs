//! School data for the indicators (数据填报): values per school, period, stage and data element,
//! the return's state (draft → submitted → approved), and administrators' standards.

use crate::sql::{Arg, Filter};
use crate::{AsConn, Result, StoreError, bind_all, run};
use serde::Serialize;
use sqlx::AssertSqlSafe;
use taizhang_domain::scope::Scope;
use taizhang_domain::unit::subtree_upper;

/// One reported value.
#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct Value {
    pub unit_id: i64,
    pub stage: String,
    pub element: String,
    pub value: f64,
}

/// A school's return for a period.
#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct Return {
    pub unit_id: i64,
    pub period: String,
    /// `draft`, `submitted`, `approved`.
    pub state: String,
    pub note: String,
    pub submitted_by: Option<i64>,
    pub submitted_at: Option<i64>,
    pub approved_by: Option<i64>,
    pub approved_at: Option<i64>,
    pub version: i64,
    pub updated_at: i64,
}

/// A school in scope with its return state for a period (none: nothing reported yet).
#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct SchoolRow {
    pub id: i64,
    pub code: String,
    pub name: String,
    pub path: String,
    pub stage: Option<String>,
    pub state: Option<String>,
    /// The unit's attributes (JSON); an imported school carries its 所属区县 as `county`.
    pub attrs: String,
}

/// Replaces a school's values for a period (all of them, in the caller's transaction).
pub async fn replace_values(
    c: &mut impl AsConn,
    unit_id: i64,
    period: &str,
    values: &[(String, String, f64)],
) -> Result<()> {
    let rows: Vec<(i64, &str, &str, f64)> = values
        .iter()
        .map(|(s, e, v)| (unit_id, s.as_str(), e.as_str(), *v))
        .collect();
    if rows.is_empty() {
        // Nothing to write still clears the period.
        run!(c, |x| sqlx::query(
            "DELETE FROM indicator_values WHERE unit_id = $1 AND period = $2"
        )
        .bind(unit_id)
        .bind(period)
        .execute(&mut *x)
        .await?
        .rows_affected());
        return Ok(());
    }
    replace_values_many(c, period, &rows).await
}

/// The values of the schools inside `under` (a path) and the scope for a period; only
/// approved returns unless `include_unapproved`.
pub async fn values(
    c: &mut impl AsConn,
    scope: &Scope,
    under: &str,
    period: &str,
    include_unapproved: bool,
) -> Result<Vec<Value>> {
    let mut f = Filter::default();
    f.scope(scope, "u.path", "u.id", None);
    let p = f.arg(Arg::Str(period.to_string()));
    let a = f.arg(Arg::Str(under.to_string()));
    let b = f.arg(Arg::Str(subtree_upper(under)));
    f.push(format!("v.period = {p} AND u.path >= {a} AND u.path < {b}"));
    if !include_unapproved {
        f.push("r.state = 'approved'".to_string());
    }
    let sql = format!(
        "SELECT v.unit_id, v.stage, v.element, v.value FROM indicator_values v \
         JOIN units u ON u.id = v.unit_id \
         LEFT JOIN indicator_returns r ON r.unit_id = v.unit_id AND r.period = v.period{} \
         ORDER BY u.path, v.stage, v.element",
        f.where_sql()
    );
    Ok(run!(c, |x| bind_all!(
        sqlx::query_as::<_, Value>(AssertSqlSafe(sql)),
        &f.args
    )
    .fetch_all(&mut *x)
    .await?))
}

/// Schools (units of kind `school`) inside `under` and the scope, with their return state.
pub async fn schools(
    c: &mut impl AsConn,
    scope: &Scope,
    under: &str,
    period: &str,
) -> Result<Vec<SchoolRow>> {
    let mut f = Filter::default();
    f.scope(scope, "u.path", "u.id", None);
    let p = f.arg(Arg::Str(period.to_string()));
    let a = f.arg(Arg::Str(under.to_string()));
    let b = f.arg(Arg::Str(subtree_upper(under)));
    f.push(format!(
        "u.kind = 'school' AND u.active = TRUE AND u.path >= {a} AND u.path < {b}"
    ));
    let sql = format!(
        "SELECT u.id, u.code, u.name, u.path, u.stage, r.state, u.attrs FROM units u \
         LEFT JOIN indicator_returns r ON r.unit_id = u.id AND r.period = {p}{} ORDER BY u.path",
        f.where_sql()
    );
    Ok(run!(c, |x| bind_all!(
        sqlx::query_as::<_, SchoolRow>(AssertSqlSafe(sql)),
        &f.args
    )
    .fetch_all(&mut *x)
    .await?))
}

pub async fn get_return(c: &mut impl AsConn, unit_id: i64, period: &str) -> Result<Option<Return>> {
    Ok(run!(c, |x| {
        sqlx::query_as::<_, Return>(
        "SELECT unit_id, period, state, note, submitted_by, submitted_at, approved_by, approved_at, version, updated_at \
         FROM indicator_returns WHERE unit_id = $1 AND period = $2"
    )
    .bind(unit_id)
    .bind(period)
    .fetch_optional(&mut *x)
    .await?
    }))
}

/// Creates or moves a return to `state`, if its version is still `version` (0: new).
#[allow(clippy::too_many_arguments)]
pub async fn set_return(
    c: &mut impl AsConn,
    unit_id: i64,
    period: &str,
    version: i64,
    state: &str,
    note: &str,
    who: Option<i64>,
    now: i64,
) -> Result<()> {
    let n = if version == 0 {
        run!(c, |x| sqlx::query(
            "INSERT INTO indicator_returns (unit_id, period, state, note, version, updated_at) \
             VALUES ($1, $2, $3, $4, 1, $5) ON CONFLICT (unit_id, period) DO NOTHING"
        )
        .bind(unit_id)
        .bind(period)
        .bind(state)
        .bind(note)
        .bind(now)
        .execute(&mut *x)
        .await?
        .rows_affected())
    } else {
        run!(c, |x| {
            sqlx::query(
            "UPDATE indicator_returns SET state = $1, note = $2, \
             submitted_by = CASE WHEN $1 = 'submitted' THEN $3 ELSE submitted_by END, \
             submitted_at = CASE WHEN $1 = 'submitted' THEN $4 ELSE submitted_at END, \
             approved_by = CASE WHEN $1 = 'approved' THEN $3 ELSE NULL END, \
             approved_at = CASE WHEN $1 = 'approved' THEN $4 ELSE NULL END, \
             version = version + 1, updated_at = $4 WHERE unit_id = $5 AND period = $6 AND version = $7"
        )
        .bind(state)
        .bind(note)
        .bind(who)
        .bind(now)
        .bind(unit_id)
        .bind(period)
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

/// The returns of these schools for a period.
pub async fn returns_of(
    c: &mut impl AsConn,
    unit_ids: &[i64],
    period: &str,
) -> Result<Vec<Return>> {
    let mut out = Vec::new();
    for chunk in unit_ids.chunks(500) {
        let mut f = Filter::default();
        let p = f.arg(Arg::Str(period.to_string()));
        let ph: Vec<String> = chunk.iter().map(|id| f.arg(Arg::I64(*id))).collect();
        let sql = crate::sql::for_backend(
            c,
            format!(
                "SELECT unit_id, period, state, note, submitted_by, submitted_at, approved_by, approved_at, \
                 version, updated_at FROM indicator_returns WHERE period = {p} AND unit_id IN ({})",
                ph.join(", ")
            ),
        );
        out.extend(run!(c, |x| bind_all!(
            sqlx::query_as::<_, Return>(AssertSqlSafe(sql)),
            &f.args
        )
        .fetch_all(&mut *x)
        .await?));
    }
    Ok(out)
}

/// Replaces the values of many schools for a period, in the caller's transaction: each
/// school's old values go, the given ones are written.
pub async fn replace_values_many(
    c: &mut impl AsConn,
    period: &str,
    values: &[(i64, &str, &str, f64)],
) -> Result<()> {
    let mut ids: Vec<i64> = values.iter().map(|v| v.0).collect();
    ids.sort_unstable();
    ids.dedup();
    for chunk in ids.chunks(500) {
        let mut f = Filter::default();
        let p = f.arg(Arg::Str(period.to_string()));
        let ph: Vec<String> = chunk.iter().map(|id| f.arg(Arg::I64(*id))).collect();
        let sql = crate::sql::for_backend(
            c,
            format!(
                "DELETE FROM indicator_values WHERE period = {p} AND unit_id IN ({})",
                ph.join(", ")
            ),
        );
        run!(c, |x| bind_all!(sqlx::query(AssertSqlSafe(sql)), &f.args)
            .execute(&mut *x)
            .await?
            .rows_affected());
    }
    for chunk in values.chunks(1000) {
        let mut f = Filter::default();
        let rows = crate::sql::values_rows(
            &mut f,
            chunk.iter().map(|(unit_id, stage, element, value)| {
                vec![
                    Arg::I64(*unit_id),
                    Arg::Str(period.to_string()),
                    Arg::Str(stage.to_string()),
                    Arg::Str(element.to_string()),
                    Arg::F64(*value),
                ]
            }),
        );
        let sql = crate::sql::for_backend(
            c,
            format!(
                "INSERT INTO indicator_values (unit_id, period, stage, element, value) VALUES {rows}"
            ),
        );
        run!(c, |x| bind_all!(sqlx::query(AssertSqlSafe(sql)), &f.args)
            .execute(&mut *x)
            .await?
            .rows_affected());
    }
    Ok(())
}

/// Sets many schools' returns for a period to `state` (creating them), as an import does:
/// `submitted` or `approved`, by `who` at `now`.
pub async fn set_returns_many(
    c: &mut impl AsConn,
    period: &str,
    unit_ids: &[i64],
    state: &str,
    who: Option<i64>,
    now: i64,
) -> Result<()> {
    for chunk in unit_ids.chunks(500) {
        let mut f = Filter::default();
        let ph: Vec<String> = chunk.iter().map(|id| f.arg(Arg::I64(*id))).collect();
        let sql = crate::sql::for_backend(
            c,
            format!(
                "DELETE FROM indicator_returns WHERE unit_id IN ({}) AND period = ${}",
                ph.join(", "),
                chunk.len() + 1
            ),
        );
        f.args.push(Arg::Str(period.to_string()));
        run!(c, |x| bind_all!(sqlx::query(AssertSqlSafe(sql)), &f.args)
            .execute(&mut *x)
            .await?
            .rows_affected());
        let approved = state == "approved";
        let mut f = Filter::default();
        let rows = crate::sql::values_rows(
            &mut f,
            chunk.iter().map(|id| {
                vec![
                    Arg::I64(*id),
                    Arg::Str(period.to_string()),
                    Arg::Str(state.to_string()),
                    Arg::OptI64(who),
                    Arg::I64(now),
                    Arg::OptI64(if approved { who } else { None }),
                    Arg::OptI64(approved.then_some(now)),
                    Arg::I64(now),
                ]
            }),
        );
        let sql = crate::sql::for_backend(
            c,
            format!(
                "INSERT INTO indicator_returns (unit_id, period, state, submitted_by, submitted_at, \
                 approved_by, approved_at, updated_at) VALUES {rows}"
            ),
        );
        run!(c, |x| bind_all!(sqlx::query(AssertSqlSafe(sql)), &f.args)
            .execute(&mut *x)
            .await?
            .rows_affected());
    }
    Ok(())
}

/// An administrator's standard (a copy of a preset, adjusted), stored as JSON.
#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct StoredStandard {
    pub id: String,
    pub body: String,
    pub based_on: Option<String>,
    pub version: i64,
    pub created_at: i64,
    pub updated_at: i64,
}

pub async fn list_standards(c: &mut impl AsConn) -> Result<Vec<StoredStandard>> {
    Ok(run!(c, |x| sqlx::query_as::<_, StoredStandard>(
        "SELECT id, body, based_on, version, created_at, updated_at FROM standards ORDER BY id"
    )
    .fetch_all(&mut *x)
    .await?))
}

pub async fn get_standard(c: &mut impl AsConn, id: &str) -> Result<Option<StoredStandard>> {
    Ok(run!(c, |x| sqlx::query_as::<_, StoredStandard>(
        "SELECT id, body, based_on, version, created_at, updated_at FROM standards WHERE id = $1"
    )
    .bind(id)
    .fetch_optional(&mut *x)
    .await?))
}

/// Inserts a new standard, or replaces one whose version is still `version` (0: new).
pub async fn put_standard(
    c: &mut impl AsConn,
    id: &str,
    body: &str,
    based_on: Option<&str>,
    version: i64,
    now: i64,
) -> Result<()> {
    let n = if version == 0 {
        run!(c, |x| sqlx::query(
            "INSERT INTO standards (id, body, based_on, version, created_at, updated_at) \
             VALUES ($1, $2, $3, 1, $4, $4) ON CONFLICT (id) DO NOTHING"
        )
        .bind(id)
        .bind(body)
        .bind(based_on)
        .bind(now)
        .execute(&mut *x)
        .await?
        .rows_affected())
    } else {
        run!(c, |x| sqlx::query(
            "UPDATE standards SET body = $1, version = version + 1, updated_at = $2 \
             WHERE id = $3 AND version = $4"
        )
        .bind(body)
        .bind(now)
        .bind(id)
        .bind(version)
        .execute(&mut *x)
        .await?
        .rows_affected())
    };
    if n == 0 {
        return Err(StoreError::StaleVersion { expected: version });
    }
    Ok(())
}

/// A stored custom data element or form: its key and JSON body.
#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct Stored {
    pub key: String,
    pub body: String,
}

/// Custom data elements (`data_elements`) or forms (`forms`), in key order.
pub async fn list_defs(c: &mut impl AsConn, forms: bool) -> Result<Vec<Stored>> {
    let sql = if forms {
        "SELECT id AS key, body FROM forms ORDER BY id"
    } else {
        "SELECT code AS key, body FROM data_elements ORDER BY code"
    };
    Ok(run!(c, |x| sqlx::query_as::<_, Stored>(sql)
        .fetch_all(&mut *x)
        .await?))
}

/// Adds a custom data element or form; false if the key is taken.
pub async fn add_def(
    c: &mut impl AsConn,
    forms: bool,
    key: &str,
    body: &str,
    now: i64,
) -> Result<bool> {
    let sql = if forms {
        "INSERT INTO forms (id, body, created_at) VALUES ($1, $2, $3) ON CONFLICT (id) DO NOTHING"
    } else {
        "INSERT INTO data_elements (code, body, created_at) VALUES ($1, $2, $3) ON CONFLICT (code) DO NOTHING"
    };
    let n = run!(c, |x| sqlx::query(sql)
        .bind(key)
        .bind(body)
        .bind(now)
        .execute(&mut *x)
        .await?
        .rows_affected());
    Ok(n == 1)
}
