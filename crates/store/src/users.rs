//! Users (用户) and their role assignments (角色及数据范围).

use crate::sql::{Arg, Filter, like_contains};
use crate::{AsConn, Result, StoreError, bind_all, map_err, run};
use serde::Serialize;
use sqlx::AssertSqlSafe;
use taizhang_domain::role::{Role, RoleAssignment, ScopeKind};
use taizhang_domain::scope::Scope;

/// A user as others see it (never the password hash).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct User {
    pub id: i64,
    pub username: String,
    pub display_name: String,
    pub unit_id: i64,
    pub unit_name: String,
    #[serde(skip)]
    pub unit_path: String,
    pub active: bool,
    pub must_change_password: bool,
    pub failed_logins: i64,
    pub locked_until: Option<i64>,
    pub last_login_at: Option<i64>,
    pub password_changed_at: i64,
    pub version: i64,
    pub created_at: i64,
    pub updated_at: i64,
}

const COLS: &str = "s.id, s.username, s.display_name, s.unit_id, u.name AS unit_name, u.path AS unit_path, \
    s.active, s.must_change_password, s.failed_logins, s.locked_until, s.last_login_at, s.password_changed_at, \
    s.version, s.created_at, s.updated_at";

/// What login needs, found by user name before any scope exists.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Credentials {
    pub id: i64,
    pub username: String,
    pub password_hash: String,
    pub active: bool,
    pub must_change_password: bool,
    pub failed_logins: i64,
    pub locked_until: Option<i64>,
}

#[derive(Debug, Clone, Default)]
pub struct UserFilter {
    pub q: Option<String>,
    pub unit_id: Option<i64>,
    pub limit: i64,
    pub offset: i64,
}

pub async fn get(c: &mut impl AsConn, scope: &Scope, id: i64) -> Result<Option<User>> {
    let mut f = Filter::default();
    let a = f.arg(Arg::I64(id));
    f.push(format!("s.id = {a}"));
    f.scope(scope, "u.path", "u.id", Some("s.id"));
    let sql = format!(
        "SELECT {COLS} FROM users s JOIN units u ON u.id = s.unit_id{}",
        f.where_sql()
    );
    Ok(run!(c, |x| bind_all!(
        sqlx::query_as::<_, User>(AssertSqlSafe(sql)),
        &f.args
    )
    .fetch_optional(&mut *x)
    .await?))
}

pub async fn get_unscoped(c: &mut impl AsConn, id: i64) -> Result<Option<User>> {
    get(c, &Scope::everything(), id).await
}

fn list_filter(scope: &Scope, filter: &UserFilter) -> Filter {
    let mut f = Filter::default();
    f.scope(scope, "u.path", "u.id", Some("s.id"));
    if let Some(q) = filter.q.as_deref().filter(|q| !q.is_empty()) {
        let a = f.arg(Arg::Str(like_contains(q)));
        f.push(format!(
            "(s.username LIKE {a} ESCAPE '\\' OR s.display_name LIKE {a} ESCAPE '\\')"
        ));
    }
    if let Some(u) = filter.unit_id {
        let a = f.arg(Arg::I64(u));
        f.push(format!("s.unit_id = {a}"));
    }
    f
}

pub async fn list(c: &mut impl AsConn, scope: &Scope, filter: &UserFilter) -> Result<Vec<User>> {
    let mut f = list_filter(scope, filter);
    let lim = f.arg(Arg::I64(filter.limit.clamp(1, 10_000)));
    let off = f.arg(Arg::I64(filter.offset.max(0)));
    let sql = format!(
        "SELECT {COLS} FROM users s JOIN units u ON u.id = s.unit_id{} ORDER BY u.path, s.username LIMIT {lim} OFFSET {off}",
        f.where_sql()
    );
    Ok(run!(c, |x| bind_all!(
        sqlx::query_as::<_, User>(AssertSqlSafe(sql)),
        &f.args
    )
    .fetch_all(&mut *x)
    .await?))
}

pub async fn count(c: &mut impl AsConn, scope: &Scope, filter: &UserFilter) -> Result<i64> {
    let f = list_filter(scope, filter);
    let sql = format!(
        "SELECT count(*) FROM users s JOIN units u ON u.id = s.unit_id{}",
        f.where_sql()
    );
    let r: (i64,) = run!(c, |x| bind_all!(
        sqlx::query_as::<_, (i64,)>(AssertSqlSafe(sql)),
        &f.args
    )
    .fetch_one(&mut *x)
    .await?);
    Ok(r.0)
}

pub async fn credentials(c: &mut impl AsConn, username: &str) -> Result<Option<Credentials>> {
    Ok(run!(c, |x| {
        sqlx::query_as::<_, Credentials>(
        "SELECT id, username, password_hash, active, must_change_password, failed_logins, locked_until \
         FROM users WHERE username = $1"
    )
    .bind(username)
    .fetch_optional(&mut *x)
    .await?
    }))
}

pub async fn credentials_by_id(c: &mut impl AsConn, id: i64) -> Result<Option<Credentials>> {
    Ok(run!(c, |x| {
        sqlx::query_as::<_, Credentials>(
        "SELECT id, username, password_hash, active, must_change_password, failed_logins, locked_until \
         FROM users WHERE id = $1"
    )
    .bind(id)
    .fetch_optional(&mut *x)
    .await?
    }))
}

pub async fn count_all(c: &mut impl AsConn) -> Result<i64> {
    let r: (i64,) = run!(c, |x| sqlx::query_as("SELECT count(*) FROM users")
        .fetch_one(&mut *x)
        .await?);
    Ok(r.0)
}

#[derive(Debug, Clone)]
pub struct NewUser {
    pub username: String,
    pub display_name: String,
    pub unit_id: i64,
    pub password_hash: String,
    pub must_change_password: bool,
}

pub async fn insert(c: &mut impl AsConn, u: &NewUser, now: i64) -> Result<i64> {
    let r: (i64,) = run!(c, |x| {
        sqlx::query_as(
        "INSERT INTO users (username, display_name, unit_id, password_hash, must_change_password, \
         password_changed_at, failed_logins, active, version, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, 0, TRUE, 1, $6, $6) RETURNING id"
    )
    .bind(&u.username)
    .bind(&u.display_name)
    .bind(u.unit_id)
    .bind(&u.password_hash)
    .bind(u.must_change_password)
    .bind(now)
    .fetch_one(&mut *x)
    .await
    .map_err(map_err)?
    });
    Ok(r.0)
}

#[derive(Debug, Clone)]
pub struct UserChange {
    pub display_name: String,
    pub unit_id: i64,
    pub active: bool,
}

pub async fn update(
    c: &mut impl AsConn,
    id: i64,
    expected_version: i64,
    ch: &UserChange,
    now: i64,
) -> Result<()> {
    let n = run!(c, |x| {
        sqlx::query(
        "UPDATE users SET display_name = $1, unit_id = $2, active = $3, version = version + 1, updated_at = $4 \
         WHERE id = $5 AND version = $6"
    )
    .bind(&ch.display_name)
    .bind(ch.unit_id)
    .bind(ch.active)
    .bind(now)
    .bind(id)
    .bind(expected_version)
    .execute(&mut *x)
    .await
    .map_err(map_err)?
    .rows_affected()
    });
    if n == 0 {
        return Err(StoreError::StaleVersion {
            expected: expected_version,
        });
    }
    Ok(())
}

pub async fn set_password(
    c: &mut impl AsConn,
    id: i64,
    hash: &str,
    must_change: bool,
    now: i64,
) -> Result<()> {
    run!(c, |x| {
        sqlx::query(
        "UPDATE users SET password_hash = $1, must_change_password = $2, password_changed_at = $3, \
         failed_logins = 0, locked_until = NULL, version = version + 1, updated_at = $3 WHERE id = $4"
    )
    .bind(hash)
    .bind(must_change)
    .bind(now)
    .bind(id)
    .execute(&mut *x)
    .await?
    .rows_affected()
    });
    Ok(())
}

/// Records a failed login; returns the new failure count.
pub async fn record_failure(
    c: &mut impl AsConn,
    id: i64,
    lock_until_if_over: (i64, i64),
) -> Result<i64> {
    let (max, until) = lock_until_if_over;
    let r: (i64,) = run!(c, |x| sqlx::query_as(
        "UPDATE users SET failed_logins = failed_logins + 1, \
         locked_until = CASE WHEN failed_logins + 1 >= $1 THEN $2 ELSE locked_until END \
         WHERE id = $3 RETURNING failed_logins"
    )
    .bind(max)
    .bind(until)
    .bind(id)
    .fetch_one(&mut *x)
    .await?);
    Ok(r.0)
}

pub async fn record_success(c: &mut impl AsConn, id: i64, now: i64) -> Result<()> {
    run!(c, |x| sqlx::query(
        "UPDATE users SET failed_logins = 0, locked_until = NULL, last_login_at = $1 WHERE id = $2"
    )
    .bind(now)
    .bind(id)
    .execute(&mut *x)
    .await?
    .rows_affected());
    Ok(())
}

/// Clears an expired lock so that the next failures count from zero.
pub async fn clear_expired_lock(c: &mut impl AsConn, id: i64) -> Result<()> {
    run!(c, |x| sqlx::query(
        "UPDATE users SET failed_logins = 0, locked_until = NULL WHERE id = $1"
    )
    .bind(id)
    .execute(&mut *x)
    .await?
    .rows_affected());
    Ok(())
}

#[derive(sqlx::FromRow)]
struct RoleRow {
    role: String,
    scope: String,
    units: String,
}

pub async fn roles(c: &mut impl AsConn, user_id: i64) -> Result<Vec<RoleAssignment>> {
    let rows: Vec<RoleRow> = run!(c, |x| sqlx::query_as::<_, RoleRow>(
        "SELECT role, scope, units FROM role_assignments WHERE user_id = $1 ORDER BY id"
    )
    .bind(user_id)
    .fetch_all(&mut *x)
    .await?);
    // Rows were validated on write; an unknown value (e.g. from a newer version) is skipped,
    // which only ever narrows what the user sees.
    Ok(rows
        .into_iter()
        .filter_map(|r| {
            Some(RoleAssignment {
                role: Role::parse("role", &r.role).ok()?,
                scope: ScopeKind::parse("scope", &r.scope).ok()?,
                units: serde_json::from_str(&r.units).ok()?,
            })
        })
        .collect())
}

pub async fn set_roles(c: &mut impl AsConn, user_id: i64, roles: &[RoleAssignment]) -> Result<()> {
    run!(c, |x| sqlx::query(
        "DELETE FROM role_assignments WHERE user_id = $1"
    )
    .bind(user_id)
    .execute(&mut *x)
    .await?
    .rows_affected());
    for r in roles {
        let units = serde_json::to_string(&r.units).unwrap_or_else(|_| "[]".into());
        run!(c, |x| sqlx::query(
            "INSERT INTO role_assignments (user_id, role, scope, units) VALUES ($1, $2, $3, $4)"
        )
        .bind(user_id)
        .bind(r.role.as_str())
        .bind(r.scope.as_str())
        .bind(&units)
        .execute(&mut *x)
        .await
        .map_err(map_err)?
        .rows_affected());
    }
    Ok(())
}
