//! Reminders (催办) and warnings into the in-app inbox, and out to chat robots (企业微信,
//! 钉钉, 飞书). Automatic reminders go out N working days before a deadline (N = the ledger's
//! yellow-light threshold) and on the first day an item is overdue; each once per deadline.

use crate::ledger::today;
use crate::{Actor, App, Result, ServiceError};
use serde_json::{Value, json};
use taizhang_domain::role::Permission;
use taizhang_store::AsConn;
use taizhang_store::ledger::{Item, ItemFilter};
use taizhang_store::notify::{self as store, Notification};

/// Records a notification for the item's lead unit; `None` if the same one exists already.
pub(crate) async fn notify_item(
    app: &App,
    c: &mut impl AsConn,
    item: &Item,
    kind: &str,
    dedupe: &str,
    title: &str,
    body: &str,
) -> Result<Option<i64>> {
    Ok(store::insert(
        c,
        item.lead_unit_id,
        Some(item.id),
        kind,
        dedupe,
        title,
        body,
        app.now(),
    )
    .await?)
}

/// Scans every open item and sends the reminders that are due today. Returns their ids
/// (already delivered to the webhooks when this returns).
pub async fn run_auto(app: &App) -> Result<Vec<i64>> {
    let t = today(app);
    let cal = app.calendar();
    let mut c = app.store.conn().await?;
    let ledgers =
        taizhang_store::ledger::list_ledgers(&mut c, &taizhang_domain::scope::Scope::everything())
            .await?;
    drop(c);
    let mut new = Vec::new();
    for l in ledgers {
        let mut offset = 0;
        loop {
            let f = ItemFilter {
                ledger_id: Some(l.id),
                states: vec![
                    "assigned".into(),
                    "in_progress".into(),
                    "submitted".into(),
                    "escalated".into(),
                ],
                limit: 5000,
                offset,
                ..Default::default()
            };
            let mut c = app.store.conn().await?;
            let items = taizhang_store::ledger::list_items(
                &mut c,
                &taizhang_domain::scope::Scope::everything(),
                &f,
            )
            .await?;
            drop(c);
            let n = items.len();
            let mut tx = app.store.begin().await?;
            for it in &items {
                let Some(deadline) = it
                    .deadline
                    .as_deref()
                    .and_then(|d| chrono::NaiveDate::parse_from_str(d, "%Y-%m-%d").ok())
                else {
                    continue;
                };
                let (left, _) = cal.working_days_between(t, deadline);
                let (kind, title) = if t > deadline {
                    ("overdue", format!("【超期】{} {}", it.number, it.title))
                } else if left <= l.yellow_days {
                    ("due_soon", format!("【临期】{} {}", it.number, it.title))
                } else {
                    continue;
                };
                let body = if kind == "overdue" {
                    format!(
                        "{}:办结时限{deadline}已过,请尽快办理并反馈。",
                        it.lead_unit_name
                    )
                } else {
                    format!(
                        "{}:距办结时限{deadline}还有{left}个工作日。",
                        it.lead_unit_name
                    )
                };
                let dedupe = format!("auto:{kind}:{}:{deadline}", it.id);
                if let Some(id) =
                    notify_item(app, &mut tx, it, kind, &dedupe, &title, &body).await?
                {
                    new.push(id);
                }
            }
            // 反馈周期: an item reporting weekly or monthly whose report is overdue.
            let open: Vec<&Item> = items
                .iter()
                .filter(|i| matches!(i.state.as_str(), "in_progress" | "escalated"))
                .collect();
            for (id, due) in crate::ledger::feedback_due(app, &open).await? {
                if t <= due {
                    continue;
                }
                let Some(it) = open.iter().find(|i| i.id == id) else {
                    continue;
                };
                let title = format!("【待反馈】{} {}", it.number, it.title);
                let body = format!(
                    "{}:按反馈周期应于{due}前报送进展,请及时反馈。",
                    it.lead_unit_name
                );
                let dedupe = format!("auto:feedback:{id}:{due}");
                if let Some(nid) =
                    notify_item(app, &mut tx, it, "feedback", &dedupe, &title, &body).await?
                {
                    new.push(nid);
                }
            }
            tx.commit().await?;
            if n < 5000 {
                break;
            }
            offset += 5000;
        }
    }
    deliver(app, &new).await?;
    Ok(new)
}

/// The message body each robot expects.
pub fn payload(kind: &str, title: &str, body: &str) -> Value {
    let text = format!("{title}\n{body}");
    match kind {
        // 飞书 custom bot.
        "feishu" => json!({"msg_type": "text", "content": {"text": text}}),
        // 企业微信 group robot and 钉钉 custom robot share the shape.
        _ => json!({"msgtype": "text", "text": {"content": text}}),
    }
}

pub const WEBHOOK_KINDS: &[(&str, &str)] = &[
    ("wecom", "企业微信"),
    ("dingtalk", "钉钉"),
    ("feishu", "飞书"),
];

/// Installs the TLS crypto provider (ring) for HTTPS webhooks; idempotent.
pub fn install_tls() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

fn client() -> &'static reqwest::Client {
    static C: std::sync::OnceLock<reqwest::Client> = std::sync::OnceLock::new();
    C.get_or_init(|| {
        install_tls();
        reqwest::Client::builder()
            .timeout(std::time::Duration::from_secs(5))
            .build()
            .unwrap_or_else(|_| reqwest::Client::new())
    })
}

/// Delivers the notification recorded under `dedupe`, if any.
pub async fn deliver_dedupe(app: &App, dedupe: &str) -> Result<usize> {
    let mut c = app.store.conn().await?;
    let id = store::id_by_dedupe(&mut c, dedupe).await?;
    drop(c);
    match id {
        Some(id) => deliver(app, &[id]).await,
        None => Ok(0),
    }
}

/// Posts notifications to every webhook above their unit, recording each delivery's outcome.
pub async fn deliver(app: &App, ids: &[i64]) -> Result<usize> {
    let mut sent = 0;
    for id in ids {
        let mut c = app.store.conn().await?;
        let Some(n) =
            store::get(&mut c, &taizhang_domain::scope::Scope::everything(), 0, *id).await?
        else {
            continue;
        };
        let unit = taizhang_store::units::get_unscoped(&mut c, n.unit_id)
            .await?
            .ok_or(ServiceError::NotFound)?;
        let hooks = store::webhooks_for(&mut c, &unit.path).await?;
        drop(c);
        for h in hooks {
            let res = client()
                .post(&h.url)
                .json(&payload(&h.kind, &n.title, &n.body))
                .send()
                .await;
            let (status, error) = match res {
                Ok(r) => (i64::from(r.status().as_u16()), String::new()),
                Err(e) => (0, e.to_string()),
            };
            if (200..300).contains(&status) {
                sent += 1;
            }
            let mut tx = app.store.begin().await?;
            store::log_delivery(&mut tx, h.id, n.id, app.now(), status, &error).await?;
            tx.commit().await?;
        }
    }
    Ok(sent)
}

/// The actor's inbox: notifications of the units they handle or supervise.
pub async fn inbox(app: &App, actor: &Actor, unread_only: bool) -> Result<Vec<Notification>> {
    let mut scope = actor.scope(Permission::ItemHandle);
    let sup = actor.scope(Permission::ItemSupervise);
    scope.all |= sup.all;
    scope.subtrees.extend(sup.subtrees);
    scope.units.extend(sup.units);
    let mut c = app.store.conn().await?;
    Ok(store::inbox(&mut c, &scope.normalise(), actor.user_id, unread_only, 200).await?)
}

pub async fn mark_read(app: &App, actor: &Actor, id: i64) -> Result<()> {
    let mut scope = actor.scope(Permission::ItemHandle);
    let sup = actor.scope(Permission::ItemSupervise);
    scope.all |= sup.all;
    scope.subtrees.extend(sup.subtrees);
    scope.units.extend(sup.units);
    let mut tx = app.store.begin().await?;
    store::get(&mut tx, &scope.normalise(), actor.user_id, id)
        .await?
        .ok_or(ServiceError::NotFound)?;
    if actor.user_id > 0 {
        store::mark_read(&mut tx, id, actor.user_id, app.now()).await?;
    }
    tx.commit().await?;
    Ok(())
}

/// Registers a robot webhook for a unit's subtree (administrators).
pub async fn add_webhook(
    app: &App,
    actor: &Actor,
    unit_id: i64,
    kind: &str,
    url: &str,
) -> Result<i64> {
    if !WEBHOOK_KINDS.iter().any(|k| k.0 == kind) {
        return Err(taizhang_domain::FieldError::new(
            "invalid_value",
            "kind",
            "机器人类型应为 wecom(企业微信)、dingtalk(钉钉)或 feishu(飞书)",
            "kind must be wecom, dingtalk or feishu",
        )
        .into());
    }
    if !(url.starts_with("https://") || url.starts_with("http://")) || url.len() > 500 {
        return Err(taizhang_domain::FieldError::new(
            "invalid_format",
            "url",
            "地址应以 https:// 开头",
            "url must start with https://",
        )
        .into());
    }
    let mut tx = app.store.begin().await?;
    if taizhang_store::units::get(&mut tx, &actor.scope(Permission::UnitWrite), unit_id)
        .await?
        .is_none()
    {
        // Visible but not theirs to manage: 403; outside the scope: 404.
        return match taizhang_store::units::get(
            &mut tx,
            &actor.scope(Permission::UnitRead),
            unit_id,
        )
        .await?
        {
            Some(_) => Err(ServiceError::Forbidden),
            None => Err(ServiceError::NotFound),
        };
    }
    let id = store::add_webhook(&mut tx, unit_id, kind, url, app.now()).await?;
    crate::record(
        app,
        &mut tx,
        actor,
        "webhook.create",
        "webhook",
        id,
        Some(unit_id),
        None::<&()>,
        Some(&json!({"kind": kind, "url": url})),
    )
    .await?;
    tx.commit().await?;
    Ok(id)
}

/// The webhooks the actor manages (their robot URLs carry keys: only for the units they may
/// change).
pub async fn list_webhooks(
    app: &App,
    actor: &Actor,
) -> Result<Vec<taizhang_store::notify::Webhook>> {
    let mut c = app.store.conn().await?;
    Ok(store::webhooks_in(&mut c, &actor.scope(Permission::UnitWrite), None).await?)
}

/// Stops a webhook: 404 outside the actor's scope, 403 when visible but not theirs to manage.
pub async fn remove_webhook(app: &App, actor: &Actor, id: i64) -> Result<()> {
    let mut tx = app.store.begin().await?;
    let Some(w) = store::webhooks_in(&mut tx, &actor.scope(Permission::UnitWrite), Some(id))
        .await?
        .pop()
    else {
        let seen =
            store::webhooks_in(&mut tx, &actor.scope(Permission::UnitRead), Some(id)).await?;
        return Err(if seen.is_empty() {
            ServiceError::NotFound
        } else {
            ServiceError::Forbidden
        });
    };
    store::deactivate_webhook(&mut tx, id).await?;
    crate::record(
        app,
        &mut tx,
        actor,
        "webhook.remove",
        "webhook",
        id,
        Some(w.unit_id),
        Some(&json!({"kind": w.kind, "active": w.active})),
        Some(&json!({"kind": w.kind, "active": false})),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

pub async fn webhooks(app: &App) -> Result<Vec<taizhang_store::notify::Webhook>> {
    let mut c = app.store.conn().await?;
    Ok(store::webhooks(&mut c).await?)
}
