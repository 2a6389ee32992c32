//! Browser sessions (会话), API tokens (接口令牌) and the login log (登录日志). Secrets are stored
//! only as SHA-256 hashes: a stolen database does not yield a working cookie or token.

use crate::sql::{Arg, Filter};
use crate::{AsConn, Result, bind_all, run};
use serde::Serialize;
use sqlx::AssertSqlSafe;
use taizhang_domain::scope::Scope;

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Session {
    pub token_hash: String,
    pub user_id: i64,
    pub csrf_token: String,
    pub created_at: i64,
    pub last_seen_at: i64,
    pub expires_at: i64,
}

pub async fn insert_session(
    c: &mut impl AsConn,
    s: &Session,
    ip: Option<&str>,
    user_agent: Option<&str>,
) -> Result<()> {
    run!(c, |x| {
        sqlx::query(
        "INSERT INTO sessions (token_hash, user_id, csrf_token, created_at, last_seen_at, expires_at, ip, user_agent) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"
    )
    .bind(&s.token_hash)
    .bind(s.user_id)
    .bind(&s.csrf_token)
    .bind(s.created_at)
    .bind(s.last_seen_at)
    .bind(s.expires_at)
    .bind(ip)
    .bind(user_agent)
    .execute(&mut *x)
    .await?
    .rows_affected()
    });
    Ok(())
}

pub async fn get_session(c: &mut impl AsConn, token_hash: &str) -> Result<Option<Session>> {
    Ok(run!(c, |x| {
        sqlx::query_as::<_, Session>(
        "SELECT token_hash, user_id, csrf_token, created_at, last_seen_at, expires_at FROM sessions WHERE token_hash = $1"
    )
    .bind(token_hash)
    .fetch_optional(&mut *x)
    .await?
    }))
}

pub async fn touch_session(c: &mut impl AsConn, token_hash: &str, now: i64) -> Result<()> {
    run!(c, |x| sqlx::query(
        "UPDATE sessions SET last_seen_at = $1 WHERE token_hash = $2"
    )
    .bind(now)
    .bind(token_hash)
    .execute(&mut *x)
    .await?
    .rows_affected());
    Ok(())
}

pub async fn delete_session(c: &mut impl AsConn, token_hash: &str) -> Result<()> {
    run!(c, |x| sqlx::query(
        "DELETE FROM sessions WHERE token_hash = $1"
    )
    .bind(token_hash)
    .execute(&mut *x)
    .await?
    .rows_affected());
    Ok(())
}

/// Ends every session of a user (after a password change or deactivation), optionally keeping one.
pub async fn delete_user_sessions(
    c: &mut impl AsConn,
    user_id: i64,
    keep: Option<&str>,
) -> Result<()> {
    run!(c, |x| sqlx::query(
        "DELETE FROM sessions WHERE user_id = $1 AND token_hash <> $2"
    )
    .bind(user_id)
    .bind(keep.unwrap_or(""))
    .execute(&mut *x)
    .await?
    .rows_affected());
    Ok(())
}

#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct ApiToken {
    pub id: i64,
    pub user_id: i64,
    pub name: String,
    #[serde(skip)]
    pub token_hash: String,
    pub created_at: i64,
    pub expires_at: Option<i64>,
    pub last_used_at: Option<i64>,
    pub revoked_at: Option<i64>,
}

const TOKEN_COLS: &str =
    "id, user_id, name, token_hash, created_at, expires_at, last_used_at, revoked_at";

pub async fn insert_token(
    c: &mut impl AsConn,
    user_id: i64,
    name: &str,
    token_hash: &str,
    now: i64,
    expires_at: Option<i64>,
) -> Result<ApiToken> {
    let sql = format!(
        "INSERT INTO api_tokens (user_id, name, token_hash, created_at, expires_at) VALUES ($1, $2, $3, $4, $5) \
         RETURNING {TOKEN_COLS}"
    );
    Ok(run!(c, |x| sqlx::query_as::<_, ApiToken>(AssertSqlSafe(
        sql
    ))
    .bind(user_id)
    .bind(name)
    .bind(token_hash)
    .bind(now)
    .bind(expires_at)
    .fetch_one(&mut *x)
    .await?))
}

pub async fn token_by_hash(c: &mut impl AsConn, token_hash: &str) -> Result<Option<ApiToken>> {
    let sql = format!("SELECT {TOKEN_COLS} FROM api_tokens WHERE token_hash = $1");
    Ok(run!(c, |x| sqlx::query_as::<_, ApiToken>(AssertSqlSafe(
        sql
    ))
    .bind(token_hash)
    .fetch_optional(&mut *x)
    .await?))
}

pub async fn tokens_of(c: &mut impl AsConn, user_id: i64) -> Result<Vec<ApiToken>> {
    let sql = format!("SELECT {TOKEN_COLS} FROM api_tokens WHERE user_id = $1 ORDER BY id");
    Ok(run!(c, |x| sqlx::query_as::<_, ApiToken>(AssertSqlSafe(
        sql
    ))
    .bind(user_id)
    .fetch_all(&mut *x)
    .await?))
}

/// Revokes a token of `user_id`; false if the user has no such token.
pub async fn revoke_token(c: &mut impl AsConn, user_id: i64, id: i64, now: i64) -> Result<bool> {
    let n = run!(c, |x| {
        sqlx::query(
        "UPDATE api_tokens SET revoked_at = $1 WHERE id = $2 AND user_id = $3 AND revoked_at IS NULL"
    )
    .bind(now)
    .bind(id)
    .bind(user_id)
    .execute(&mut *x)
    .await?
    .rows_affected()
    });
    Ok(n > 0)
}

pub async fn touch_token(c: &mut impl AsConn, id: i64, now: i64) -> Result<()> {
    run!(c, |x| sqlx::query(
        "UPDATE api_tokens SET last_used_at = $1 WHERE id = $2"
    )
    .bind(now)
    .bind(id)
    .execute(&mut *x)
    .await?
    .rows_affected());
    Ok(())
}

#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct LoginEntry {
    pub id: i64,
    pub at: i64,
    pub username: String,
    pub user_id: Option<i64>,
    pub success: bool,
    pub reason: String,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
}

#[allow(clippy::too_many_arguments)]
pub async fn log_login(
    c: &mut impl AsConn,
    at: i64,
    username: &str,
    user_id: Option<i64>,
    success: bool,
    reason: &str,
    ip: Option<&str>,
    user_agent: Option<&str>,
) -> Result<()> {
    run!(c, |x| {
        sqlx::query(
        "INSERT INTO login_log (at, username, user_id, success, reason, ip, user_agent) VALUES ($1, $2, $3, $4, $5, $6, $7)"
    )
    .bind(at)
    .bind(username)
    .bind(user_id)
    .bind(success)
    .bind(reason)
    .bind(ip)
    .bind(user_agent)
    .execute(&mut *x)
    .await?
    .rows_affected()
    });
    Ok(())
}

/// Login entries of users inside `scope`; attempts on unknown names only with the 全部 scope.
pub async fn login_log(
    c: &mut impl AsConn,
    scope: &Scope,
    limit: i64,
    offset: i64,
) -> Result<Vec<LoginEntry>> {
    let mut f = Filter::default();
    if !scope.all {
        f.push("s.id IS NOT NULL".into());
    }
    f.scope(scope, "u.path", "u.id", Some("s.id"));
    let lim = f.arg(Arg::I64(limit.clamp(1, 1000)));
    let off = f.arg(Arg::I64(offset.max(0)));
    let sql = format!(
        "SELECT l.id, l.at, l.username, l.user_id, l.success, l.reason, l.ip, l.user_agent FROM login_log l \
         LEFT JOIN users s ON s.id = l.user_id LEFT JOIN units u ON u.id = s.unit_id{} \
         ORDER BY l.id DESC LIMIT {lim} OFFSET {off}",
        f.where_sql()
    );
    Ok(run!(c, |x| bind_all!(
        sqlx::query_as::<_, LoginEntry>(AssertSqlSafe(sql)),
        &f.args
    )
    .fetch_all(&mut *x)
    .await?))
}
