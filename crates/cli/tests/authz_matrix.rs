//! The authorisation matrix: every API route × {anonymous, same unit, parent unit, sibling
//! subtree, child subtree, read-only inspector} × {own id, foreign id} → the expected status.
//! A route missing here fails `every_route_is_in_the_matrix`: new routes must join.
//!
//! Tree: R → A → A1, R → B. "Own id" is a record in A; "foreign id" is a record in B.
//! Callers: admins with 本单位及以下 at R (parent), A (same), A1 (child), B (sibling), and an
//! inspector (纪检, read-only) with 全部 at R.

mod common;

use common::*;
use reqwest::StatusCode;
use serde_json::{Value, json};
use std::sync::atomic::{AtomicU64, Ordering};
use taizhang_domain::role::{Role, ScopeKind};
use taizhang_store::units::Unit;

#[derive(Debug, Clone, Copy, PartialEq)]
enum Caller {
    Anonymous,
    Same,
    Parent,
    Sibling,
    Child,
    Inspector,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Side {
    Own,
    Foreign,
}

const CALLERS: [Caller; 6] = [
    Caller::Anonymous,
    Caller::Same,
    Caller::Parent,
    Caller::Sibling,
    Caller::Child,
    Caller::Inspector,
];

fn sees(c: Caller, side: Side) -> bool {
    match (c, side) {
        (Caller::Parent | Caller::Inspector, _) => true,
        (Caller::Same, Side::Own) => true,
        (Caller::Sibling, Side::Foreign) => true,
        _ => false,
    }
}

fn writes(c: Caller, side: Side) -> bool {
    c != Caller::Inspector && sees(c, side)
}

/// Expected status of a scoped read / write of a record on `side`.
fn read(c: Caller, side: Side) -> u16 {
    if c == Caller::Anonymous {
        401
    } else if sees(c, side) {
        200
    } else {
        404
    }
}

fn write(c: Caller, side: Side, ok: u16) -> u16 {
    if c == Caller::Anonymous {
        401
    } else if writes(c, side) {
        ok
    } else if sees(c, side) {
        403
    } else {
        404
    }
}

struct World {
    t: TestApp,
    a: Unit,
    a1: Unit,
    b: Unit,
    sessions: Vec<(Caller, Session)>,
}

static N: AtomicU64 = AtomicU64::new(0);

fn next() -> u64 {
    N.fetch_add(1, Ordering::SeqCst)
}

impl World {
    fn side_unit(&self, side: Side) -> &Unit {
        match side {
            Side::Own => &self.a,
            Side::Foreign => &self.b,
        }
    }

    async fn fresh_unit(&self, side: Side) -> Unit {
        let n = next();
        unit(
            &self.t.app,
            Some(self.side_unit(side)),
            &format!("T{n}"),
            &format!("目标{n}"),
        )
        .await
    }

    async fn fresh_ledger(&self, side: Side) -> i64 {
        let n = next();
        taizhang_service::ledger::create_ledger(
            &self.t.app,
            &taizhang_service::Actor::system("test"),
            taizhang_service::ledger::CreateLedger {
                name: format!("台账{n}"),
                kind: "督办".into(),
                owner_unit_id: self.side_unit(side).id,
                period: "2026".into(),
                yellow_days: None,
            },
        )
        .await
        .expect("ledger")
        .id
    }

    async fn fresh_item(&self, side: Side) -> i64 {
        let ledger = self.fresh_ledger(side).await;
        taizhang_service::ledger::create_item(
            &self.t.app,
            &taizhang_service::Actor::system("test"),
            ledger,
            taizhang_service::ledger::CreateItem {
                source: "督查检查".into(),
                title: "整改事项".into(),
                lead_unit_id: self.side_unit(side).id,
                ..Default::default()
            },
        )
        .await
        .expect("item")
        .item
        .id
    }

    /// A primary school under the side's unit; with `submitted`, its 2024 data are saved and
    /// submitted (awaiting 审核).
    async fn fresh_school(&self, side: Side, submitted: bool) -> i64 {
        let n = next();
        let sys = taizhang_service::Actor::system("test");
        let s = taizhang_service::units::create(
            &self.t.app,
            &sys,
            taizhang_service::units::CreateUnit {
                parent_id: Some(self.side_unit(side).id),
                code: format!("S{n}"),
                name: format!("学校{n}"),
                kind: "school".into(),
                stage: Some("primary".into()),
                rural: false,
                attrs: None,
                sort_order: 0,
            },
        )
        .await
        .expect("school");
        if submitted {
            let e = |element: &str, value: f64| taizhang_service::indicators::Entry {
                stage: "primary".into(),
                element: element.into(),
                value,
            };
            taizhang_service::indicators::save(
                &self.t.app,
                &sys,
                s.id,
                "2024",
                &[e("students", 300.0), e("classes", 8.0)],
            )
            .await
            .expect("save");
            taizhang_service::indicators::transition(&self.t.app, &sys, s.id, "2024", "submit", "")
                .await
                .expect("submit");
        }
        s.id
    }

    async fn fresh_user(&self, side: Side) -> i64 {
        let n = next();
        user(
            &self.t.app,
            &format!("target{n}"),
            self.side_unit(side),
            Role::Viewer,
            ScopeKind::OwnUnit,
        )
        .await
    }
}

/// Builds the request for one cell and returns it with the expected status.
async fn cell(
    w: &World,
    method: &str,
    path: &str,
    c: Caller,
    side: Side,
) -> (String, Option<Value>, u16) {
    let p = path.to_string();
    match (method, path) {
        ("POST", "/api/v1/auth/login") => {
            // Public: wrong password is 401 for anyone.
            (
                p,
                Some(json!({"username": "nobody", "password": "Wrong#Pass1"})),
                401,
            )
        }
        ("POST", "/api/v1/auth/logout") => {
            (p, None, if c == Caller::Anonymous { 401 } else { 204 })
        }
        ("GET", "/api/v1/me") | ("GET", "/api/v1/me/tokens") => {
            (p, None, if c == Caller::Anonymous { 401 } else { 200 })
        }
        ("POST", "/api/v1/me/password") => (
            p,
            Some(json!({"current_password": "Wrong#Pass1", "new_password": "Another#Pass2"})),
            if c == Caller::Anonymous { 401 } else { 422 },
        ),
        ("POST", "/api/v1/me/tokens") => (
            p,
            Some(json!({"name": "脚本", "days": 30})),
            if c == Caller::Anonymous { 401 } else { 201 },
        ),
        ("DELETE", "/api/v1/me/tokens/{id}") => {
            // Own id: a token of the caller; foreign id: a token of another user.
            let owner = match (side, c) {
                (Side::Own, Caller::Anonymous) | (Side::Foreign, _) => None,
                (Side::Own, _) => w.sessions.iter().find(|(k, _)| *k == c).map(|(_, s)| s),
            };
            let id = match owner {
                Some(s) => {
                    let (_, v) = s
                        .call("POST", "/api/v1/me/tokens", Some(json!({"name": "t"})))
                        .await;
                    v["info"]["id"].as_i64().unwrap_or(0)
                }
                None => {
                    let s = &w
                        .sessions
                        .iter()
                        .find(|(k, _)| *k == Caller::Parent)
                        .expect("parent")
                        .1;
                    let (_, v) = s
                        .call("POST", "/api/v1/me/tokens", Some(json!({"name": "other"})))
                        .await;
                    v["info"]["id"].as_i64().unwrap_or(0)
                }
            };
            let expect = match (c, side) {
                (Caller::Anonymous, _) => 401,
                (Caller::Parent, Side::Foreign) => 204, // the "other" token is the parent's own
                (_, Side::Own) => 204,
                _ => 404,
            };
            (p.replace("{id}", &id.to_string()), None, expect)
        }
        ("GET", "/api/v1/units") => (
            format!("{p}?under={}", w.side_unit(side).id),
            None,
            read(c, side),
        ),
        ("POST", "/api/v1/units") => {
            let n = next();
            let body = json!({"parent_id": w.side_unit(side).id, "code": format!("N{n}"), "name": format!("新{n}"), "kind": "team"});
            (p, Some(body), write(c, side, 201))
        }
        ("GET", "/api/v1/units/{id}") => {
            let u = w.fresh_unit(side).await;
            (p.replace("{id}", &u.id.to_string()), None, read(c, side))
        }
        ("PATCH", "/api/v1/units/{id}") => {
            let u = w.fresh_unit(side).await;
            (
                p.replace("{id}", &u.id.to_string()),
                Some(json!({"version": u.version, "name": "改名"})),
                write(c, side, 200),
            )
        }
        ("POST", "/api/v1/units/{id}/move") => {
            let u = w.fresh_unit(side).await;
            let to = w.fresh_unit(side).await;
            (
                p.replace("{id}", &u.id.to_string()),
                Some(json!({"version": u.version, "parent_id": to.id})),
                write(c, side, 200),
            )
        }
        ("POST", "/api/v1/units/{id}/deactivate") => {
            let u = w.fresh_unit(side).await;
            (
                p.replace("{id}", &u.id.to_string()),
                Some(json!({"version": u.version})),
                write(c, side, 200),
            )
        }
        ("GET", "/api/v1/users") => (
            format!("{p}?unit_id={}", w.side_unit(side).id),
            None,
            if c == Caller::Anonymous { 401 } else { 200 },
        ),
        ("POST", "/api/v1/users") => {
            let n = next();
            let body = json!({"username": format!("new{n}"), "display_name": "新用户", "unit_id": w.side_unit(side).id,
                              "password": PW, "roles": [{"role": "viewer", "scope": "own_unit"}]});
            (p, Some(body), write(c, side, 201))
        }
        ("GET", "/api/v1/users/{id}") => {
            let id = w.fresh_user(side).await;
            (p.replace("{id}", &id.to_string()), None, read(c, side))
        }
        ("PATCH", "/api/v1/users/{id}") => {
            let id = w.fresh_user(side).await;
            (
                p.replace("{id}", &id.to_string()),
                Some(json!({"version": 2, "display_name": "改名"})),
                write(c, side, 200),
            )
        }
        ("POST", "/api/v1/users/{id}/password") => {
            let id = w.fresh_user(side).await;
            (
                p.replace("{id}", &id.to_string()),
                Some(json!({"password": "Reset#Pass2026"})),
                write(c, side, 204),
            )
        }
        ("GET", "/api/v1/audit") | ("GET", "/api/v1/audit/head") | ("GET", "/api/v1/login-log") => {
            (p, None, if c == Caller::Anonymous { 401 } else { 200 })
        }
        ("POST", "/api/v1/audit/verify") => {
            (p, None, if c == Caller::Anonymous { 401 } else { 200 })
        }
        ("GET", "/api/v1/ledgers") => (p, None, if c == Caller::Anonymous { 401 } else { 200 }),
        ("POST", "/api/v1/ledgers") => {
            let n = next();
            let body = json!({"name": format!("新台账{n}"), "kind": "督办", "owner_unit_id": w.side_unit(side).id, "period": "2026"});
            (p, Some(body), write(c, side, 201))
        }
        ("GET", "/api/v1/ledgers/{id}")
        | ("GET", "/api/v1/ledgers/{id}/items")
        | ("GET", "/api/v1/ledgers/{id}/figures") => {
            let id = w.fresh_ledger(side).await;
            (p.replace("{id}", &id.to_string()), None, read(c, side))
        }
        ("POST", "/api/v1/ledgers/{id}/items") => {
            let id = w.fresh_ledger(side).await;
            let body = json!({"source": "督查检查", "title": "新事项", "lead_unit_id": w.side_unit(side).id});
            (
                p.replace("{id}", &id.to_string()),
                Some(body),
                write(c, side, 201),
            )
        }
        ("GET", "/api/v1/ledgers/{id}/report") => {
            let id = w.fresh_ledger(side).await;
            (
                format!(
                    "{}?template=tongbao&format=md",
                    p.replace("{id}", &id.to_string())
                ),
                None,
                read(c, side),
            )
        }
        ("GET", "/api/v1/units/{id}/report") => (
            format!(
                "{}?standard=quality-2017&year=2024&format=md",
                p.replace("{id}", &w.side_unit(side).id.to_string())
            ),
            None,
            read(c, side),
        ),
        ("GET", "/api/v1/report-templates") => {
            (p, None, if c == Caller::Anonymous { 401 } else { 200 })
        }
        ("POST", "/api/v1/check") => (
            p,
            Some(json!({"text": "共有学生529名,其中少数民族学生402名,占学生总数的76%。"})),
            if c == Caller::Anonymous { 401 } else { 200 },
        ),
        ("POST", "/api/v1/report-templates") => (
            p,
            Some(json!({"based_on": "tongbao", "id": format!("t-{}", next()), "name": "县级通报"})),
            // Templates serve every unit: only an administrator over everything (全部).
            if c == Caller::Anonymous { 401 } else { 403 },
        ),
        ("PUT", "/api/v1/report-templates/{id}") => {
            let id = format!("t-{}", next());
            taizhang_service::reports::copy_template(
                &w.t.app,
                &taizhang_service::Actor::system("test"),
                "huibao",
                &id,
                "",
            )
            .await
            .expect("copy");
            (
                p.replace("{id}", &id),
                Some(json!({"version": 1, "body": "# 题\n"})),
                if c == Caller::Anonymous { 401 } else { 403 },
            )
        }
        ("POST", "/api/v1/report-templates/preview") => (
            p,
            Some(json!({"body": "# {{ ledger().name }}\n", "ledger": "1"})),
            if c == Caller::Anonymous { 401 } else { 403 },
        ),
        ("GET", "/api/v1/ledger-template.xlsx") => {
            (p, None, if c == Caller::Anonymous { 401 } else { 200 })
        }
        ("GET", "/api/v1/ledgers/{id}/export.xlsx") => {
            let id = w.fresh_ledger(side).await;
            (p.replace("{id}", &id.to_string()), None, read(c, side))
        }
        ("POST", "/api/v1/ledgers/{id}/import") => {
            // The body is an .xlsx upload: the runner sends `{"__xlsx_lead": unit code}` as a
            // one-row template naming that lead unit.
            let id = w.fresh_ledger(side).await;
            (
                p.replace("{id}", &id.to_string()),
                Some(json!({"__xlsx_lead": w.side_unit(side).code})),
                write(c, side, 200),
            )
        }
        ("GET", "/api/v1/calendar/{id}") => {
            let year = if side == Side::Own { "2026" } else { "2031" };
            (
                p.replace("{id}", year),
                None,
                if c == Caller::Anonymous { 401 } else { 200 },
            )
        }
        // The calendar governs every unit's deadlines: only an administrator with 全部 may edit
        // it, and no matrix caller has 全部.
        ("POST", "/api/v1/calendar/days") => (
            p,
            Some(json!({"date": "2031-01-01", "is_off": true, "name": "元旦"})),
            if c == Caller::Anonymous { 401 } else { 403 },
        ),
        ("GET", "/api/v1/items/{id}/attachments") => {
            let id = w.fresh_item(side).await;
            (p.replace("{id}", &id.to_string()), None, read(c, side))
        }
        ("POST", "/api/v1/items/{id}/attachments") => {
            let id = w.fresh_item(side).await;
            (
                format!("{}?filename=材料.pdf", p.replace("{id}", &id.to_string())),
                Some(json!({"__raw_pdf": true})),
                write(c, side, 201),
            )
        }
        ("GET", "/api/v1/attachments/{id}") => {
            let item = w.fresh_item(side).await;
            let a = taizhang_service::ledger::attach(
                &w.t.app,
                &taizhang_service::Actor::system("test"),
                item,
                "照片.png",
                b"\x89PNG\r\n\x1a\nrest",
            )
            .await
            .expect("attach");
            (p.replace("{id}", &a.id.to_string()), None, read(c, side))
        }
        ("POST", "/api/v1/items/{id}/cooperation") => {
            let n = next();
            let helper = unit(
                &w.t.app,
                Some(w.side_unit(side)),
                &format!("H{n}"),
                &format!("协办{n}"),
            )
            .await;
            let ledger = w.fresh_ledger(side).await;
            let item = taizhang_service::ledger::create_item(
                &w.t.app,
                &taizhang_service::Actor::system("test"),
                ledger,
                taizhang_service::ledger::CreateItem {
                    source: "督查检查".into(),
                    title: "协办事项".into(),
                    lead_unit_id: w.side_unit(side).id,
                    deadline: Some("2099-01-01".into()),
                    assign: true,
                    cooperating_unit_ids: vec![helper.id],
                    ..Default::default()
                },
            )
            .await
            .expect("item");
            (
                p.replace("{id}", &item.item.id.to_string()),
                Some(json!({"unit_id": helper.id, "progress": 50, "note": "已完成一半"})),
                write(c, side, 200),
            )
        }
        ("GET", "/api/v1/inbox") => (p, None, if c == Caller::Anonymous { 401 } else { 200 }),
        ("POST", "/api/v1/inbox/{id}/read") => {
            let item = w.fresh_item(side).await;
            let mut tx = w.t.app.store.begin().await.expect("tx");
            let id = taizhang_store::notify::insert(
                &mut tx,
                w.side_unit(side).id,
                Some(item),
                "manual",
                &format!("m{}", next()),
                "催办",
                "请办理",
                1,
            )
            .await
            .expect("notify")
            .expect("new");
            tx.commit().await.expect("commit");
            // Messages reach the units one handles or supervises: the inspector has neither.
            let expect = match c {
                Caller::Anonymous => 401,
                Caller::Inspector => 404,
                _ if sees(c, side) => 204,
                _ => 404,
            };
            (p.replace("{id}", &id.to_string()), None, expect)
        }
        ("GET", "/api/v1/items/{id}") => {
            let id = w.fresh_item(side).await;
            (p.replace("{id}", &id.to_string()), None, read(c, side))
        }
        ("POST", "/api/v1/items/{id}/actions") => {
            let id = w.fresh_item(side).await;
            let body = json!({"version": 1, "action": "assign", "deadline": "2099-12-31"});
            (
                p.replace("{id}", &id.to_string()),
                Some(body),
                write(c, side, 200),
            )
        }
        ("GET", "/api/v1/webhooks") => (p, None, if c == Caller::Anonymous { 401 } else { 200 }),
        ("POST", "/api/v1/webhooks") => (
            p,
            Some(
                json!({"unit_id": w.side_unit(side).id, "kind": "wecom", "url": "https://robot.example/hook"}),
            ),
            write(c, side, 201),
        ),
        ("DELETE", "/api/v1/webhooks/{id}") => {
            let id = taizhang_service::remind::add_webhook(
                &w.t.app,
                &taizhang_service::Actor::system("test"),
                w.side_unit(side).id,
                "feishu",
                "https://robot.example/feishu",
            )
            .await
            .expect("webhook");
            (
                p.replace("{id}", &id.to_string()),
                None,
                write(c, side, 204),
            )
        }
        ("PATCH", "/api/v1/items/{id}") => {
            let id = w.fresh_item(side).await;
            let body = json!({"version": 1, "title": "已修改的事项", "deadline": "2099.6.30"});
            (
                p.replace("{id}", &id.to_string()),
                Some(body),
                write(c, side, 200),
            )
        }
        ("POST", "/api/v1/ledgers/{id}/bulk-assign") => {
            let ledger = w.fresh_ledger(side).await;
            let item = taizhang_service::ledger::create_item(
                &w.t.app,
                &taizhang_service::Actor::system("test"),
                ledger,
                taizhang_service::ledger::CreateItem {
                    source: "督查检查".into(),
                    title: "待批量交办".into(),
                    lead_unit_id: w.side_unit(side).id,
                    ..Default::default()
                },
            )
            .await
            .expect("item");
            (
                p.replace("{id}", &ledger.to_string()),
                Some(json!({"ids": [item.item.id], "deadline": "2099-12-31"})),
                write(c, side, 200),
            )
        }
        ("GET", "/api/v1/standards") | ("GET", "/api/v1/schools-template.xlsx") => {
            (p, None, if c == Caller::Anonymous { 401 } else { 200 })
        }
        ("GET", "/api/v1/returns") => (
            format!("{p}?year=2024&under={}", w.side_unit(side).id),
            None,
            read(c, side),
        ),
        ("GET", "/api/v1/schools/{id}/data") => {
            let id = w.fresh_school(side, true).await;
            (
                format!("{}?year=2024", p.replace("{id}", &id.to_string())),
                None,
                read(c, side),
            )
        }
        ("PUT", "/api/v1/schools/{id}/data") => {
            // 填报 is the clerk's (DataEnter): administrators who see the school get 403.
            let id = w.fresh_school(side, false).await;
            let body = json!({"year": "2024", "entries": [{"stage": "primary", "element": "students", "value": 120}]});
            let expect = match c {
                Caller::Anonymous => 401,
                _ if sees(c, side) => 403,
                _ => 404,
            };
            (p.replace("{id}", &id.to_string()), Some(body), expect)
        }
        ("POST", "/api/v1/schools/{id}/data/actions") => {
            let id = w.fresh_school(side, true).await;
            (
                p.replace("{id}", &id.to_string()),
                Some(json!({"year": "2024", "action": "approve"})),
                write(c, side, 200),
            )
        }
        ("GET", "/api/v1/units/{id}/evaluation") => (
            format!(
                "{}?standard=quality-2017&year=2024",
                p.replace("{id}", &w.side_unit(side).id.to_string())
            ),
            None,
            read(c, side),
        ),
        ("GET", "/api/v1/units/{id}/gaps") => (
            format!(
                "{}?standard=class-size&year=2024",
                p.replace("{id}", &w.side_unit(side).id.to_string())
            ),
            None,
            read(c, side),
        ),
        ("POST", "/api/v1/units/{id}/gaps") => (
            p.replace("{id}", &w.side_unit(side).id.to_string()),
            Some(json!({"standard": "class-size", "year": "2024", "deadline": "2099-12-31"})),
            write(c, side, 201),
        ),
        ("GET", "/api/v1/forms") => (p, None, if c == Caller::Anonymous { 401 } else { 200 }),
        ("POST", "/api/v1/forms") => (
            p,
            Some(
                json!({"id": format!("f{}", next()), "name": "食堂检查", "period_type": "month", "elements": ["students"]}),
            ),
            // Forms govern every school: only an administrator over everything (全部).
            if c == Caller::Anonymous { 401 } else { 403 },
        ),
        ("POST", "/api/v1/elements") => (
            p,
            Some(
                json!({"code": format!("e{}", next()), "name": "食堂检查次数", "unit": "次", "type": "count", "per_stage": false}),
            ),
            if c == Caller::Anonymous { 401 } else { 403 },
        ),
        ("POST", "/api/v1/standards") => (
            p,
            Some(
                json!({"based_on": "quality-2017", "id": format!("copy-{}", next()), "name": "省细则"}),
            ),
            // Standards govern every county: only an administrator over everything (全部).
            if c == Caller::Anonymous { 401 } else { 403 },
        ),
        ("PUT", "/api/v1/standards/{id}") => {
            let id = format!("m-{}", next());
            taizhang_service::indicators::copy_standard(
                &w.t.app,
                &taizhang_service::Actor::system("test"),
                "class-size",
                &id,
                "",
            )
            .await
            .expect("copy");
            let body = serde_json::to_string(
                &taizhang_service::indicators::standard("class-size").expect("preset"),
            )
            .expect("json")
            .replace("\"class-size\"", &format!("\"{id}\""));
            (
                p.replace("{id}", &id),
                Some(json!({"version": 1, "body": body})),
                if c == Caller::Anonymous { 401 } else { 403 },
            )
        }
        ("POST", "/api/v1/schools/import") => (
            format!("{p}?year=2024"),
            Some(json!({"__schools_csv": w.side_unit(side).name})),
            // The import is 填报 (DataEnter); the matrix's administrators lack it.
            if c == Caller::Anonymous { 401 } else { 403 },
        ),
        _ => panic!("route {method} {path} has no entry in the authorisation matrix: add one"),
    }
}

/// A filled-in import template with one item led by the unit `code`.
fn xlsx_one_row(code: &str) -> Vec<u8> {
    let mut row = vec![String::new(); 16];
    row[1] = "督查检查".into();
    row[4] = "导入的事项".into();
    row[10] = code.into();
    taizhang_office::excel::write(
        "督办事项",
        taizhang_service::ledger_excel::IMPORT_COLUMNS,
        &[row],
        true,
    )
    .expect("xlsx")
}

async fn world(backend: taizhang_store::Backend) -> World {
    let t = spawn_app(backend).await;
    let r = unit(&t.app, None, "R", "县").await;
    let a = unit(&t.app, Some(&r), "A", "甲单位").await;
    let a1 = unit(&t.app, Some(&a), "A1", "甲下属").await;
    let b = unit(&t.app, Some(&r), "B", "乙单位").await;
    let below = ScopeKind::OwnUnitAndBelow;
    user(&t.app, "parent", &r, Role::Admin, below).await;
    user(&t.app, "same", &a, Role::Admin, below).await;
    user(&t.app, "child", &a1, Role::Admin, below).await;
    user(&t.app, "sibling", &b, Role::Admin, below).await;
    user(&t.app, "inspector", &r, Role::Inspector, ScopeKind::All).await;
    let mut sessions = Vec::new();
    for (c, name) in [
        (Caller::Parent, "parent"),
        (Caller::Same, "same"),
        (Caller::Child, "child"),
        (Caller::Sibling, "sibling"),
        (Caller::Inspector, "inspector"),
    ] {
        sessions.push((c, login(&t.base, name, PW).await));
    }
    World {
        t,
        a,
        a1,
        b,
        sessions,
    }
}

async fn run_matrix(backend: taizhang_store::Backend) {
    let w = world(backend).await;
    let mut failures = Vec::new();
    let mut cells = 0;
    for r in taizhang_web::api::ROUTES {
        for c in CALLERS {
            for side in [Side::Own, Side::Foreign] {
                let (path, body, expect) = cell(&w, r.method, r.path, c, side).await;
                // Uploads: a one-row .xlsx template, or a tiny PDF.
                let raw_pdf = body
                    .as_ref()
                    .and_then(|b| b.get("__raw_pdf"))
                    .map(|_| b"%PDF-1.4 evidence".to_vec());
                let schools_csv = body
                    .as_ref()
                    .and_then(|b| b.get("__schools_csv"))
                    .and_then(|v| v.as_str())
                    .map(|county| {
                        let mut row = vec![String::new(); 30];
                        row[0] = format!("M{}", next());
                        row[1] = "导入的学校".into();
                        row[2] = county.into();
                        row[3] = "小学".into();
                        taizhang_office::table::write_csv(
                            taizhang_service::schools_import::SCHOOL_COLUMNS,
                            &[row],
                        )
                    });
                let xlsx = body
                    .as_ref()
                    .and_then(|b| b.get("__xlsx_lead"))
                    .and_then(|v| v.as_str())
                    .map(xlsx_one_row)
                    .or(raw_pdf)
                    .or(schools_csv);
                let (status, resp) = if let Some(bytes) = xlsx {
                    match w.sessions.iter().find(|(k, _)| *k == c) {
                        Some((_, s)) => s.call_raw(r.method, &path, bytes).await,
                        None => {
                            let res = reqwest::Client::new()
                                .post(format!("{}{path}", w.t.base))
                                .body(bytes)
                                .send()
                                .await
                                .expect("send");
                            let st = res.status();
                            (
                                st,
                                serde_json::from_str(&res.text().await.unwrap_or_default())
                                    .unwrap_or(Value::Null),
                            )
                        }
                    }
                } else if c == Caller::Anonymous {
                    anon_call(&w.t.base, r.method, &path, body).await
                } else if r.path == "/api/v1/auth/logout" {
                    // Sign out a separate session so the caller's own stays valid.
                    let name = format!("{c:?}").to_lowercase();
                    login(&w.t.base, &name, PW)
                        .await
                        .call(r.method, &path, body)
                        .await
                } else {
                    let s = &w.sessions.iter().find(|(k, _)| *k == c).expect("session").1;
                    s.call(r.method, &path, body).await
                };
                cells += 1;
                if status != StatusCode::from_u16(expect).expect("status") {
                    failures.push(format!(
                        "{} {path} as {c:?} on {side:?}: expected {expect}, got {status} {resp}",
                        r.method
                    ));
                }
                // Every error body has the documented shape.
                if !status.is_success()
                    && (resp.get("error").is_none() || resp.get("message").is_none())
                {
                    failures.push(format!(
                        "{} {path} as {c:?}: error body lacks error/message: {resp}",
                        r.method
                    ));
                }
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{backend:?}: {} of {cells} cells failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert!(cells >= taizhang_web::api::ROUTES.len() * 12);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn matrix_sqlite() {
    run_matrix(taizhang_store::Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn matrix_postgres() {
    run_matrix(taizhang_store::Backend::Postgres).await;
}

#[tokio::test]
async fn every_route_is_in_the_matrix_and_in_openapi() {
    let doc = taizhang_web::api::openapi();
    for r in taizhang_web::api::ROUTES {
        assert!(
            doc["paths"][r.path][r.method.to_lowercase()].is_object(),
            "{} {} is missing from the OpenAPI document",
            r.method,
            r.path
        );
    }
    // `cell` panics on an unknown route; calling it for each route proves coverage without a server.
    let known = [
        "/api/v1/auth/login",
        "/api/v1/auth/logout",
        "/api/v1/me",
        "/api/v1/me/password",
        "/api/v1/me/tokens",
        "/api/v1/me/tokens/{id}",
        "/api/v1/units",
        "/api/v1/units/{id}",
        "/api/v1/units/{id}/move",
        "/api/v1/units/{id}/deactivate",
        "/api/v1/users",
        "/api/v1/users/{id}",
        "/api/v1/users/{id}/password",
        "/api/v1/audit",
        "/api/v1/audit/head",
        "/api/v1/audit/verify",
        "/api/v1/login-log",
        "/api/v1/ledgers",
        "/api/v1/ledgers/{id}",
        "/api/v1/ledgers/{id}/items",
        "/api/v1/ledgers/{id}/figures",
        "/api/v1/items/{id}",
        "/api/v1/items/{id}/actions",
        "/api/v1/ledger-template.xlsx",
        "/api/v1/ledgers/{id}/export.xlsx",
        "/api/v1/ledgers/{id}/import",
        "/api/v1/inbox",
        "/api/v1/inbox/{id}/read",
        "/api/v1/calendar/{id}",
        "/api/v1/calendar/days",
        "/api/v1/items/{id}/attachments",
        "/api/v1/attachments/{id}",
        "/api/v1/items/{id}/cooperation",
        "/api/v1/ledgers/{id}/bulk-assign",
        "/api/v1/webhooks",
        "/api/v1/webhooks/{id}",
        "/api/v1/standards",
        "/api/v1/returns",
        "/api/v1/schools/{id}/data",
        "/api/v1/schools/{id}/data/actions",
        "/api/v1/units/{id}/evaluation",
        "/api/v1/units/{id}/gaps",
        "/api/v1/schools-template.xlsx",
        "/api/v1/schools/import",
        "/api/v1/standards/{id}",
        "/api/v1/forms",
        "/api/v1/elements",
        "/api/v1/ledgers/{id}/report",
        "/api/v1/units/{id}/report",
        "/api/v1/report-templates",
        "/api/v1/report-templates/{id}",
        "/api/v1/report-templates/preview",
        "/api/v1/check",
    ];
    for r in taizhang_web::api::ROUTES {
        assert!(
            known.contains(&r.path),
            "new route {} {}: add it to the matrix",
            r.method,
            r.path
        );
    }
}

#[tokio::test]
async fn lists_never_leak_records_outside_the_scope() {
    let w = world(taizhang_store::Backend::Sqlite).await;
    let same = &w
        .sessions
        .iter()
        .find(|(k, _)| *k == Caller::Same)
        .expect("same")
        .1;
    let (s, v) = same.call("GET", "/api/v1/units?limit=1000", None).await;
    assert_eq!(s, StatusCode::OK);
    let names: Vec<&str> = v["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter_map(|u| u["name"].as_str())
        .collect();
    assert_eq!(names, vec!["甲单位", "甲下属"]);
    let (_, v) = same.call("GET", "/api/v1/users?limit=1000", None).await;
    let users: Vec<&str> = v["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter_map(|u| u["username"].as_str())
        .collect();
    assert_eq!(users, vec!["same", "child"]);
    let (_, v) = same.call("GET", "/api/v1/audit?limit=1000", None).await;
    for e in v.as_array().expect("events") {
        let unit = e["unit_id"].as_i64().expect("unit");
        assert!(
            unit == w.a.id || unit == w.a1.id,
            "event of unit {unit} leaked: {e}"
        );
    }
}
