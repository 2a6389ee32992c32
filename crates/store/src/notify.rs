//! The in-app inbox (消息) and chat-robot webhooks (企业微信 / 钉钉 / 飞书).

use crate::sql::{Arg, Filter};
use crate::{AsConn, Result, bind_all, run};
use serde::Serialize;
use sqlx::AssertSqlSafe;
use taizhang_domain::scope::Scope;

#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct Notification {
    pub id: i64,
    pub unit_id: i64,
    pub unit_name: String,
    pub item_id: Option<i64>,
    pub kind: String,
    pub title: String,
    pub body: String,
    pub created_at: i64,
    pub read: bool,
}

/// Inserts a notification unless one with the same `dedupe` key exists; returns its id when new.
pub async fn insert(
    c: &mut impl AsConn,
    unit_id: i64,
    item_id: Option<i64>,
    kind: &str,
    dedupe: &str,
    title: &str,
    body: &str,
    now: i64,
) -> Result<Option<i64>> {
    let row: Option<(i64,)> = run!(c, |x| sqlx::query_as(
        "INSERT INTO notifications (unit_id, item_id, kind, dedupe, title, body, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (dedupe) DO NOTHING RETURNING id"
    )
    .bind(unit_id)
    .bind(item_id)
    .bind(kind)
    .bind(dedupe)
    .bind(title)
    .bind(body)
    .bind(now)
    .fetch_optional(&mut *x)
    .await?);
    Ok(row.map(|r| r.0))
}

/// Notifications of units inside `scope`, newest first, with the user's read flag.
pub async fn inbox(
    c: &mut impl AsConn,
    scope: &Scope,
    user_id: i64,
    unread_only: bool,
    limit: i64,
) -> Result<Vec<Notification>> {
    let mut f = Filter::default();
    let u = f.arg(Arg::I64(user_id));
    f.scope(scope, "un.path", "un.id", None);
    if unread_only {
        f.push("r.user_id IS NULL".into());
    }
    let lim = f.arg(Arg::I64(limit.clamp(1, 500)));
    let sql = format!(
        "SELECT n.id, n.unit_id, un.name AS unit_name, n.item_id, n.kind, n.title, n.body, n.created_at, \
         (r.user_id IS NOT NULL) AS read FROM notifications n JOIN units un ON un.id = n.unit_id \
         LEFT JOIN notification_reads r ON r.notification_id = n.id AND r.user_id = {u}{} ORDER BY n.id DESC LIMIT {lim}",
        f.where_sql()
    );
    Ok(run!(c, |x| bind_all!(
        sqlx::query_as::<_, Notification>(AssertSqlSafe(sql)),
        &f.args
    )
    .fetch_all(&mut *x)
    .await?))
}

pub async fn get(
    c: &mut impl AsConn,
    scope: &Scope,
    user_id: i64,
    id: i64,
) -> Result<Option<Notification>> {
    let mut f = Filter::default();
    let u = f.arg(Arg::I64(user_id));
    let a = f.arg(Arg::I64(id));
    f.push(format!("n.id = {a}"));
    f.scope(scope, "un.path", "un.id", None);
    let sql = format!(
        "SELECT n.id, n.unit_id, un.name AS unit_name, n.item_id, n.kind, n.title, n.body, n.created_at, \
         (r.user_id IS NOT NULL) AS read FROM notifications n JOIN units un ON un.id = n.unit_id \
         LEFT JOIN notification_reads r ON r.notification_id = n.id AND r.user_id = {u}{}",
        f.where_sql()
    );
    Ok(run!(c, |x| bind_all!(
        sqlx::query_as::<_, Notification>(AssertSqlSafe(sql)),
        &f.args
    )
    .fetch_optional(&mut *x)
    .await?))
}

pub async fn mark_read(c: &mut impl AsConn, id: i64, user_id: i64, now: i64) -> Result<()> {
    run!(c, |x| sqlx::query(
        "INSERT INTO notification_reads (notification_id, user_id, read_at) VALUES ($1, $2, $3) \
         ON CONFLICT (notification_id, user_id) DO NOTHING"
    )
    .bind(id)
    .bind(user_id)
    .bind(now)
    .execute(&mut *x)
    .await?
    .rows_affected());
    Ok(())
}

#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct Webhook {
    pub id: i64,
    pub unit_id: i64,
    pub unit_name: String,
    pub kind: String,
    pub url: String,
    pub active: bool,
    pub created_at: i64,
}

pub async fn add_webhook(
    c: &mut impl AsConn,
    unit_id: i64,
    kind: &str,
    url: &str,
    now: i64,
) -> Result<i64> {
    let r: (i64,) = run!(c, |x| {
        sqlx::query_as(
        "INSERT INTO webhooks (unit_id, kind, url, active, created_at) VALUES ($1, $2, $3, TRUE, $4) RETURNING id"
    )
    .bind(unit_id)
    .bind(kind)
    .bind(url)
    .bind(now)
    .fetch_one(&mut *x)
    .await?
    });
    Ok(r.0)
}

pub async fn webhooks(c: &mut impl AsConn) -> Result<Vec<Webhook>> {
    Ok(run!(c, |x| sqlx::query_as::<_, Webhook>(
        "SELECT w.id, w.unit_id, u.name AS unit_name, w.kind, w.url, w.active, w.created_at \
         FROM webhooks w JOIN units u ON u.id = w.unit_id ORDER BY w.id"
    )
    .fetch_all(&mut *x)
    .await?))
}

/// Webhooks of units inside `scope` (a scoped list; `active_only` hides removed ones).
pub async fn webhooks_in(
    c: &mut impl AsConn,
    scope: &Scope,
    id: Option<i64>,
) -> Result<Vec<Webhook>> {
    let mut f = crate::sql::Filter::default();
    f.scope(scope, "u.path", "u.id", None);
    if let Some(id) = id {
        let a = f.arg(crate::sql::Arg::I64(id));
        f.push(format!("w.id = {a}"));
    }
    let sql = format!(
        "SELECT w.id, w.unit_id, u.name AS unit_name, w.kind, w.url, w.active, w.created_at \
         FROM webhooks w JOIN units u ON u.id = w.unit_id{} ORDER BY w.id",
        f.where_sql()
    );
    Ok(run!(c, |x| crate::bind_all!(
        sqlx::query_as::<_, Webhook>(sqlx::AssertSqlSafe(sql)),
        &f.args
    )
    .fetch_all(&mut *x)
    .await?))
}

/// Stops a webhook (kept for its delivery log).
pub async fn deactivate_webhook(c: &mut impl AsConn, id: i64) -> Result<()> {
    run!(c, |x| sqlx::query(
        "UPDATE webhooks SET active = FALSE WHERE id = $1"
    )
    .bind(id)
    .execute(&mut *x)
    .await?
    .rows_affected());
    Ok(())
}

/// Active webhooks whose unit is the notification's unit or above it.
pub async fn webhooks_for(c: &mut impl AsConn, unit_path: &str) -> Result<Vec<Webhook>> {
    Ok(run!(c, |x| sqlx::query_as::<_, Webhook>(
        "SELECT w.id, w.unit_id, u.name AS unit_name, w.kind, w.url, w.active, w.created_at \
         FROM webhooks w JOIN units u ON u.id = w.unit_id \
         WHERE w.active = TRUE AND substr($1, 1, length(u.path)) = u.path ORDER BY w.id"
    )
    .bind(unit_path)
    .fetch_all(&mut *x)
    .await?))
}

pub async fn log_delivery(
    c: &mut impl AsConn,
    webhook_id: i64,
    notification_id: i64,
    at: i64,
    status: i64,
    error: &str,
) -> Result<()> {
    run!(c, |x| {
        sqlx::query(
        "INSERT INTO webhook_deliveries (webhook_id, notification_id, at, status, error) VALUES ($1, $2, $3, $4, $5)"
    )
    .bind(webhook_id)
    .bind(notification_id)
    .bind(at)
    .bind(status)
    .bind(error)
    .execute(&mut *x)
    .await?
    .rows_affected()
    });
    Ok(())
}

pub async fn id_by_dedupe(c: &mut impl AsConn, dedupe: &str) -> Result<Option<i64>> {
    let r: Option<(i64,)> = run!(c, |x| sqlx::query_as(
        "SELECT id FROM notifications WHERE dedupe = $1"
    )
    .bind(dedupe)
    .fetch_optional(&mut *x)
    .await?);
    Ok(r.map(|r| r.0))
}

/// A working-day calendar entry added by an administrator.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct CalendarDay {
    pub date: String,
    pub is_off: bool,
    pub name: String,
    pub source: String,
    pub created_at: i64,
}

pub async fn calendar_days(c: &mut impl AsConn) -> Result<Vec<CalendarDay>> {
    Ok(run!(c, |x| sqlx::query_as::<_, CalendarDay>(
        "SELECT date, is_off, name, source, created_at FROM calendar_days ORDER BY date"
    )
    .fetch_all(&mut *x)
    .await?))
}

pub async fn upsert_calendar_day(c: &mut impl AsConn, d: &CalendarDay) -> Result<()> {
    run!(c, |x| {
        sqlx::query(
        "INSERT INTO calendar_days (date, is_off, name, source, created_at) VALUES ($1, $2, $3, $4, $5) \
         ON CONFLICT (date) DO UPDATE SET is_off = excluded.is_off, name = excluded.name, source = excluded.source, \
         created_at = excluded.created_at"
    )
    .bind(&d.date)
    .bind(d.is_off)
    .bind(&d.name)
    .bind(&d.source)
    .bind(d.created_at)
    .execute(&mut *x)
    .await?
    .rows_affected()
    });
    Ok(())
}
