//! School indicators: 填报 with every bad value refused (nothing written), the data scope,
//! submit → approve (locking) → return, and `taizhang indicators evaluate` on STANDARDS.md's
//! worked example (CV 0.515 of 生均图书册数), counting only approved data by default.

mod common;

use common::*;
use serde_json::Value;
use taizhang_domain::role::{Role, ScopeKind};
use taizhang_service::indicators::{self as ind, Entry};
use taizhang_service::units::CreateUnit;
use taizhang_service::{Actor, App};
use taizhang_store::Backend;

fn e(stage: &str, element: &str, value: f64) -> Entry {
    Entry {
        stage: stage.into(),
        element: element.into(),
        value,
    }
}

/// A county with the worked example's five primary schools; returns the county and school ids.
async fn county(app: &App) -> (i64, Vec<i64>) {
    let sys = Actor::system("test");
    let c = taizhang_service::units::create(
        app,
        &sys,
        CreateUnit {
            parent_id: None,
            code: "XQ".into(),
            name: "样本县".into(),
            kind: "bureau".into(),
            stage: None,
            rural: false,
            attrs: None,
            sort_order: 0,
        },
    )
    .await
    .expect("county");
    let mut ids = Vec::new();
    for (k, (p, books)) in [
        (45.0, 279.0),
        (37.0, 137.0),
        (89.0, 935.0),
        (76.0, 160.0),
        (55.0, 402.0),
    ]
    .into_iter()
    .enumerate()
    {
        let s = taizhang_service::units::create(
            app,
            &sys,
            CreateUnit {
                parent_id: Some(c.id),
                code: format!("XQ{k}"),
                name: format!("样本小学{k}"),
                kind: "school".into(),
                stage: Some("primary".into()),
                rural: false,
                attrs: None,
                sort_order: 0,
            },
        )
        .await
        .expect("school");
        ind::save(
            app,
            &sys,
            s.id,
            "2024",
            &[e("primary", "students", p), e("", "books", books)],
        )
        .await
        .expect("save");
        ids.push(s.id);
    }
    (c.id, ids)
}

async fn rules(backend: Backend) {
    let t = spawn_app(backend).await;
    let sys = Actor::system("test");
    let (cid, ids) = county(&t.app).await;
    let audit_before = {
        let mut c = t.app.store.conn().await.expect("c");
        taizhang_store::audit::head(&mut c).await.expect("head").0
    };
    // Every bad value is refused with its entry named, and nothing changes.
    for (entries, field, code) in [
        (
            vec![e("primary", "students", 40.0), e("", "pupils", 1.0)],
            "entries[1]",
            "invalid_value",
        ),
        (
            vec![e("junior", "students", 40.0)],
            "entries[0]",
            "invalid_value",
        ),
        (
            vec![e("primary", "books", 40.0)],
            "entries[0]",
            "invalid_value",
        ),
        (
            vec![e("primary", "students", -3.0)],
            "entries[0]",
            "invalid_value",
        ),
        (
            vec![e("primary", "students", f64::NAN)],
            "entries[0]",
            "invalid_value",
        ),
    ] {
        let err = ind::save(&t.app, &sys, ids[0], "2024", &entries)
            .await
            .expect_err("bad");
        assert_eq!(
            (err.code(), err.field().as_deref()),
            (code, Some(field)),
            "{backend:?}"
        );
    }
    let err = ind::save(&t.app, &sys, ids[0], "24年", &[])
        .await
        .expect_err("bad year");
    assert_eq!(err.field().as_deref(), Some("year"));
    {
        let mut c = t.app.store.conn().await.expect("c");
        assert_eq!(
            taizhang_store::audit::head(&mut c).await.expect("head").0,
            audit_before
        );
    }
    // Only approved data count unless asked; then the worked example's CV.
    let ev = ind::evaluate(&t.app, &sys, "basic-2012", "2024", cid, false)
        .await
        .expect("eval");
    assert!(ev.schools.is_empty());
    assert_eq!(ev.excluded.len(), 5);
    let ev = ind::evaluate(&t.app, &sys, "basic-2012", "2024", cid, true)
        .await
        .expect("eval");
    let a5 = ev.county.iter().find(|c| c.indicator == "A5").expect("A5");
    assert!((a5.cv.expect("cv") - 0.515).abs() < 5e-4, "{a5:?}");
    // A clerk of school 0 enters and submits; a clerk never approves; the bureau approves,
    // which locks the data; a return needs a reason and unlocks it.
    let school0 = taizhang_service::units::get(&t.app, &sys, ids[0])
        .await
        .expect("s0");
    let clerk_id = user(&t.app, "clerk0", &school0, Role::Clerk, ScopeKind::OwnUnit).await;
    let clerk = Actor::load(&t.app, clerk_id, None)
        .await
        .expect("l")
        .expect("clerk");
    // Another school is outside the clerk's scope: not found.
    let err = ind::save(&t.app, &clerk, ids[1], "2024", &[])
        .await
        .expect_err("foreign");
    assert_eq!(err.code(), "not_found");
    ind::save(
        &t.app,
        &clerk,
        ids[0],
        "2024",
        &[e("primary", "students", 45.0), e("", "books", 279.0)],
    )
    .await
    .expect("clerk saves");
    ind::transition(&t.app, &clerk, ids[0], "2024", "submit", "")
        .await
        .expect("submit");
    let err = ind::save(&t.app, &clerk, ids[0], "2024", &[])
        .await
        .expect_err("submitted");
    assert_eq!(err.code(), "locked");
    let err = ind::transition(&t.app, &clerk, ids[0], "2024", "approve", "")
        .await
        .expect_err("clerk");
    assert_eq!(err.code(), "forbidden");
    let r = ind::transition(&t.app, &sys, ids[0], "2024", "approve", "")
        .await
        .expect("approve");
    assert_eq!(r.state, "approved");
    let err = ind::save(&t.app, &clerk, ids[0], "2024", &[])
        .await
        .expect_err("approved");
    assert_eq!(err.code(), "locked");
    let err = ind::transition(&t.app, &sys, ids[0], "2024", "return", " ")
        .await
        .expect_err("reason");
    assert_eq!(err.code(), "reason_required");
    let r = ind::transition(&t.app, &sys, ids[0], "2024", "return", "图书数与台账不符")
        .await
        .expect("return");
    assert_eq!(
        (r.state.as_str(), r.note.as_str()),
        ("draft", "图书数与台账不符")
    );
    let err = ind::transition(&t.app, &sys, ids[0], "2024", "approve", "")
        .await
        .expect_err("draft");
    assert_eq!(err.code(), "illegal_transition");
    let err = ind::evaluate(&t.app, &sys, "quality-2030", "2024", cid, true)
        .await
        .expect_err("std");
    assert_eq!(err.field().as_deref(), Some("standard"));
}

#[tokio::test]
async fn rules_sqlite() {
    rules(Backend::Sqlite).await;
}

#[tokio::test]
async fn rules_postgres() {
    rules(Backend::Postgres).await;
}

#[tokio::test]
async fn cli_evaluate_prints_the_worked_example() {
    let dir = tempfile::tempdir().expect("dir");
    let url = format!("sqlite:{}", dir.path().join("ind.db").display());
    let app = App::new(taizhang_store::Store::connect(&url).await.expect("db"));
    let sys = Actor::system("test");
    let (_, ids) = county(&app).await;
    for id in &ids {
        ind::transition(&app, &sys, *id, "2024", "submit", "")
            .await
            .expect("submit");
        ind::transition(&app, &sys, *id, "2024", "approve", "")
            .await
            .expect("approve");
    }
    app.store.close().await;
    let run = |args: &[&str]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_taizhang"))
            .args(["indicators", "evaluate", "--db", &url])
            .args(args)
            .output()
            .expect("run")
    };
    let out = run(&[
        "--standard",
        "basic-2012",
        "--year",
        "2024",
        "--county",
        "样本县",
        "--json",
    ]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).expect("json");
    let a5 = v["county"]
        .as_array()
        .expect("county rows")
        .iter()
        .find(|r| r["indicator"] == "A5")
        .expect("A5");
    assert_eq!(
        (a5["county"].as_str(), a5["stage"].as_str()),
        (Some("样本县"), Some("primary"))
    );
    assert!((a5["mean"].as_f64().expect("mean") - 6.334).abs() < 5e-4);
    assert!((a5["cv"].as_f64().expect("cv") - 0.515).abs() < 5e-4);
    assert_eq!(a5["threshold"].as_f64(), Some(0.65));
    assert_eq!(v["schools"].as_array().map(Vec::len), Some(5));
    assert!(
        v["schools"][0]["indicators"]["A5"]["value"]
            .as_f64()
            .is_some()
    );
    let out = run(&[
        "--standard",
        "basic-2012",
        "--year",
        "2024",
        "--county",
        "样本县",
    ]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("A5") && text.contains("0.515"), "{text}");
    let out = run(&[
        "--standard",
        "basic-2012",
        "--year",
        "2024",
        "--county",
        "没有这个县",
    ]);
    assert_eq!(out.status.code(), Some(2));
    let out = run(&["--standard", "nope", "--year", "2024"]);
    assert_ne!(out.status.code(), Some(0));
}
