//! Reminders: automatic ones go out once per deadline, manual 催办 reaches the inbox, and both
//! are posted to chat robots in each robot's own message format (a local receiver stands in
//! for 企业微信 / 钉钉 / 飞书).

mod common;

use axum::Json;
use axum::routing::post;
use common::*;
use serde_json::{Value, json};
use std::sync::{Arc, Mutex};
use taizhang_domain::role::{Role, ScopeKind};
use taizhang_store::Backend;

/// A local HTTP receiver that records every JSON body posted to /{robot}.
async fn receiver() -> (String, Arc<Mutex<Vec<(String, Value)>>>) {
    let got: Arc<Mutex<Vec<(String, Value)>>> = Arc::new(Mutex::new(Vec::new()));
    let g = got.clone();
    let app = axum::Router::new().route(
        "/{robot}",
        post(
            move |axum::extract::Path(robot): axum::extract::Path<String>, Json(v): Json<Value>| {
                let g = g.clone();
                async move {
                    g.lock().expect("lock").push((robot, v));
                    Json(json!({"errcode": 0}))
                }
            },
        ),
    );
    let l = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let base = format!("http://{}", l.local_addr().expect("addr"));
    tokio::spawn(async move {
        let _ = axum::serve(l, app).await;
    });
    (base, got)
}

async fn reminders(backend: Backend) {
    let mut t = spawn_app(backend).await;
    let r = unit(&t.app, None, "R", "县").await;
    let a = unit(&t.app, Some(&r), "A", "第三小学").await;
    user(
        &t.app,
        "sup",
        &r,
        Role::Supervisor,
        ScopeKind::OwnUnitAndBelow,
    )
    .await;
    user(&t.app, "hand", &a, Role::Handler, ScopeKind::OwnUnit).await;
    let (hooks, got) = receiver().await;
    let sys = taizhang_service::Actor::system("test");
    for kind in ["wecom", "dingtalk", "feishu"] {
        taizhang_service::remind::add_webhook(&t.app, &sys, r.id, kind, &format!("{hooks}/{kind}"))
            .await
            .expect("hook");
    }
    assert!(
        taizhang_service::remind::add_webhook(&t.app, &sys, r.id, "telegram", "https://x")
            .await
            .is_err()
    );
    let l = taizhang_service::ledger::create_ledger(
        &t.app,
        &sys,
        taizhang_service::ledger::CreateLedger {
            name: "台账".into(),
            kind: "督办".into(),
            owner_unit_id: r.id,
            period: "2026".into(),
            yellow_days: Some(3),
        },
    )
    .await
    .expect("ledger");
    // Freeze the clock at Monday 2026-06-01 09:00 CST; the item is due Thursday 06-04.
    let monday = 1_780_275_600_000; // 2026-06-01T01:00:00Z
    t.app.clock = taizhang_service::Clock::fixed(monday);
    let it = taizhang_service::ledger::create_item(
        &t.app,
        &sys,
        l.id,
        taizhang_service::ledger::CreateItem {
            source: "督查检查".into(),
            title: "消防通道清理".into(),
            lead_unit_id: a.id,
            deadline: Some("2026-06-04".into()),
            assign: true,
            number: Some("X-1".into()),
            ..Default::default()
        },
    )
    .await
    .expect("item");
    // Three working days left: due soon, once.
    let first = taizhang_service::remind::run_auto(&t.app)
        .await
        .expect("run");
    assert_eq!(first.len(), 1, "{backend:?}");
    assert!(
        taizhang_service::remind::run_auto(&t.app)
            .await
            .expect("run")
            .is_empty(),
        "sent twice"
    );
    // Friday: overdue, once.
    t.app.clock.advance(4 * 86_400_000);
    assert_eq!(
        taizhang_service::remind::run_auto(&t.app)
            .await
            .expect("run")
            .len(),
        1
    );
    assert!(
        taizhang_service::remind::run_auto(&t.app)
            .await
            .expect("run")
            .is_empty()
    );
    {
        let g = got.lock().expect("lock");
        assert_eq!(g.len(), 6, "two reminders × three robots: {g:?}");
        let (robot, body) = &g[0];
        assert_eq!(robot, "wecom");
        assert!(
            body["text"]["content"]
                .as_str()
                .unwrap_or("")
                .contains("【临期】X-1 消防通道清理"),
            "{body}"
        );
        assert_eq!(body["msgtype"], "text");
        let feishu = g
            .iter()
            .find(|(r, _)| r == "feishu")
            .expect("feishu")
            .1
            .clone();
        assert_eq!(feishu["msg_type"], "text");
        assert!(
            feishu["content"]["text"]
                .as_str()
                .unwrap_or("")
                .contains("消防通道清理")
        );
        let ding = g
            .iter()
            .find(|(r, _)| r == "dingtalk")
            .expect("dingtalk")
            .1
            .clone();
        assert!(
            ding["text"]["content"]
                .as_str()
                .unwrap_or("")
                .contains("第三小学")
        );
        assert!(g.iter().any(|(_, b)| b.to_string().contains("【超期】")));
    }
    // The handler's inbox has both; marking one read.
    let hand = login(&t.base, "hand", PW).await;
    let (_, inbox) = hand.call("GET", "/api/v1/inbox", None).await;
    let msgs = inbox.as_array().expect("array");
    assert_eq!(msgs.len(), 2, "{inbox}");
    let id = msgs[0]["id"].as_i64().expect("id");
    let (st, _) = hand
        .call("POST", &format!("/api/v1/inbox/{id}/read"), None)
        .await;
    assert_eq!(st.as_u16(), 204);
    let (_, unread) = hand.call("GET", "/api/v1/inbox?unread=true", None).await;
    assert_eq!(unread.as_array().map(Vec::len), Some(1));
    // A manual 催办 by the supervisor lands in the inbox too, and goes to the robots.
    let sup = login(&t.base, "sup", PW).await;
    let (st, v) = sup
        .call("POST", &format!("/api/v1/items/{}/actions", it.item.id), Some(json!({"version": it.item.version, "action": "remind", "method": "电话", "note": "请今天内反馈"})))
        .await;
    assert_eq!(st.as_u16(), 200, "{v}");
    assert_eq!(v["reminders"], 1);
    let (_, inbox) = hand.call("GET", "/api/v1/inbox?unread=true", None).await;
    assert!(inbox.to_string().contains("请今天内反馈"), "{inbox}");
    for _ in 0..50 {
        if got.lock().expect("lock").len() >= 9 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(got.lock().expect("lock").len(), 9);
}

#[tokio::test]
async fn reminders_sqlite() {
    reminders(Backend::Sqlite).await;
}

#[tokio::test]
async fn reminders_postgres() {
    reminders(Backend::Postgres).await;
}

/// 反馈周期: an item reporting weekly falls due for its progress report seven days after it
/// was signed for; past that, one automatic 待反馈 reminder goes out; a report starts the next
/// week; "my tasks" shows the next report date.
async fn feedback_cycle(backend: Backend) {
    let mut t = spawn_app(backend).await;
    let r = unit(&t.app, None, "R", "县").await;
    let a = unit(&t.app, Some(&r), "A", "第三小学").await;
    let hand_id = user(&t.app, "hand", &a, Role::Handler, ScopeKind::OwnUnit).await;
    let sys = taizhang_service::Actor::system("test");
    let l = taizhang_service::ledger::create_ledger(
        &t.app,
        &sys,
        taizhang_service::ledger::CreateLedger {
            name: "周报台账".into(),
            kind: "督办".into(),
            owner_unit_id: r.id,
            period: "2026".into(),
            yellow_days: Some(3),
        },
    )
    .await
    .expect("ledger");
    let monday = 1_780_275_600_000; // 2026-06-01T01:00:00Z, 09:00 CST
    t.app.clock = taizhang_service::Clock::fixed(monday);
    let it = taizhang_service::ledger::create_item(
        &t.app,
        &sys,
        l.id,
        taizhang_service::ledger::CreateItem {
            source: "督查检查".into(),
            title: "食堂改造".into(),
            lead_unit_id: a.id,
            deadline: Some("2026-12-31".into()),
            assign: true,
            cycle: Some("weekly".into()),
            ..Default::default()
        },
    )
    .await
    .expect("item");
    // The server runs on the real clock: the handler acts through the service, on the test's.
    let hand = login(&t.base, "hand", PW).await;
    let handler = taizhang_service::Actor::load(&t.app, hand_id, None)
        .await
        .expect("load")
        .expect("actor");
    let v = taizhang_service::ledger::act(
        &t.app,
        &handler,
        it.item.id,
        it.item.version,
        taizhang_domain::ledger::Action::Accept,
    )
    .await
    .expect("accept");
    let feedback = |ids: &[i64]| {
        let store = t.app.store.clone();
        let ids = ids.to_vec();
        async move {
            let mut c = store.conn().await.expect("conn");
            let mut n = 0;
            for id in ids {
                let k: (String,) = sqlx_kind(&mut c, id).await;
                n += usize::from(k.0 == "feedback");
            }
            n
        }
    };
    // Day 7 (06-08): due today, not late.
    t.app.clock.advance(7 * 86_400_000);
    let sent = taizhang_service::remind::run_auto(&t.app)
        .await
        .expect("run");
    assert_eq!(feedback(&sent).await, 0, "not late on the due day");
    // Day 8: late, one reminder, once.
    t.app.clock.advance(86_400_000);
    let sent = taizhang_service::remind::run_auto(&t.app)
        .await
        .expect("run");
    assert_eq!(feedback(&sent).await, 1);
    let again = taizhang_service::remind::run_auto(&t.app)
        .await
        .expect("run");
    assert_eq!(feedback(&again).await, 0, "sent twice");
    let (_, inbox) = hand.call("GET", "/api/v1/inbox", None).await;
    assert!(inbox.to_string().contains("【待反馈】"), "{inbox}");
    // A report starts the next week: nothing is late now.
    taizhang_service::ledger::act(
        &t.app,
        &handler,
        it.item.id,
        v.item.version,
        taizhang_domain::ledger::Action::Report {
            text: "方案已定".into(),
        },
    )
    .await
    .expect("report");
    let sent = taizhang_service::remind::run_auto(&t.app)
        .await
        .expect("run");
    assert_eq!(feedback(&sent).await, 0);
    // "My tasks" shows the next report date: 06-09 + 7 days (late by the server's real clock).
    let c = reqwest::Client::builder()
        .cookie_store(true)
        .build()
        .expect("client");
    c.post(format!("{}/login", t.base))
        .form(&[("username", "hand"), ("password", PW), ("next", "/")])
        .send()
        .await
        .expect("login");
    let page = c
        .get(format!("{}/tasks", t.base))
        .send()
        .await
        .expect("tasks")
        .text()
        .await
        .expect("text");
    assert!(
        page.contains("2026-06-16"),
        "next report date on the tasks page"
    );
}

/// The kind of notification `id`.
async fn sqlx_kind(c: &mut taizhang_store::PooledConn, id: i64) -> (String,) {
    use taizhang_store::AsConn;
    match c.conn() {
        taizhang_store::Conn::Sqlite(x) => {
            sqlx::query_as("SELECT kind FROM notifications WHERE id = $1")
                .bind(id)
                .fetch_one(&mut *x)
                .await
                .expect("kind")
        }
        taizhang_store::Conn::Pg(x) => {
            sqlx::query_as("SELECT kind FROM notifications WHERE id = $1")
                .bind(id)
                .fetch_one(&mut *x)
                .await
                .expect("kind")
        }
    }
}

#[tokio::test]
async fn feedback_cycle_sqlite() {
    feedback_cycle(Backend::Sqlite).await;
}

#[tokio::test]
async fn feedback_cycle_postgres() {
    feedback_cycle(Backend::Postgres).await;
}
