//! The audit chain detects every kind of tampering with history: an edited, deleted, inserted
//! or reordered event makes `taizhang audit verify` exit 1 naming the first broken event; a
//! truncated tail is caught by checking a printed checkpoint.

mod common;

use common::*;
use std::process::Command;
use taizhang_domain::role::{Role, ScopeKind};
use taizhang_service::{Actor, App};
use taizhang_store::{Backend, Store};

const DROP_TRIGGERS_SQLITE: &str =
    "DROP TRIGGER audit_events_no_update; DROP TRIGGER audit_events_no_delete;";
const DROP_TRIGGERS_PG: &str = "DROP TRIGGER audit_events_no_change ON audit_events;";

/// The tampering a person with raw database access could do, each as SQL.
fn tamperings() -> Vec<(&'static str, &'static str, i64)> {
    vec![
        (
            "edit",
            "UPDATE audit_events SET actor_name = 'mallory' WHERE seq = 5",
            5,
        ),
        (
            "edit-before-image",
            "UPDATE audit_events SET after_json = '{\"name\":\"假\"}' WHERE seq = 7",
            7,
        ),
        ("delete", "DELETE FROM audit_events WHERE seq = 5", 6),
        (
            "insert",
            "UPDATE audit_events SET seq = seq + 1000000 WHERE seq >= 5; \
             UPDATE audit_events SET seq = seq - 1000000 + 1 WHERE seq >= 1000000; \
             INSERT INTO audit_events (seq, at, actor_id, actor_name, unit_id, action, entity, entity_id, before_json, after_json, ip, prev_hash, hash) \
             SELECT 5, at, actor_id, actor_name, unit_id, action, entity, 'forged', before_json, after_json, ip, prev_hash, hash FROM audit_events WHERE seq = 4",
            5,
        ),
        (
            "reorder",
            "UPDATE audit_events SET seq = -3 WHERE seq = 3; UPDATE audit_events SET seq = 3 WHERE seq = 6; \
             UPDATE audit_events SET seq = 6 WHERE seq = -3",
            3,
        ),
    ]
}

async fn build(app: &App) {
    let r = unit(app, None, "R", "县").await;
    for i in 0..6 {
        unit(app, Some(&r), &format!("U{i}"), &format!("单位{i}")).await;
    }
    user(app, "boss", &r, Role::Admin, ScopeKind::All).await;
    let sys = Actor::system("test");
    taizhang_service::units::update(
        app,
        &sys,
        r.id,
        taizhang_service::units::UpdateUnit {
            version: r.version,
            name: Some("新县".into()),
            ..Default::default()
        },
    )
    .await
    .expect("update");
}

fn verify_cli(url: &str, checkpoint: Option<&str>) -> (i32, String) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_taizhang"));
    cmd.args(["audit", "verify", "--db", url]);
    if let Some(c) = checkpoint {
        cmd.args(["--checkpoint", c]);
    }
    let out = cmd.output().expect("run taizhang");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).to_string(),
    )
}

#[tokio::test]
async fn sqlite_tampering_is_detected_by_the_cli() {
    let dir = tempfile::tempdir().expect("tempdir");
    let original = dir.path().join("orig.db");
    let url = format!("sqlite:{}", original.display());
    let store = Store::connect(&url).await.expect("open");
    build(&App::new(store.clone())).await;
    store.close().await;

    let (code, out) = verify_cli(&url, None);
    assert_eq!(code, 0, "{out}");
    assert!(out.starts_with("audit chain intact:"), "{out}");
    let head = Command::new(env!("CARGO_BIN_EXE_taizhang"))
        .args(["audit", "head", "--db", &url])
        .output()
        .expect("head");
    let head = String::from_utf8_lossy(&head.stdout).trim().to_string();
    assert!(head.contains(':') && head.len() > 64, "{head}");

    for (name, sql, first_broken) in tamperings() {
        let copy = dir.path().join(format!("{name}.db"));
        std::fs::copy(&original, &copy).expect("copy");
        let curl = format!("sqlite:{}", copy.display());
        let s = Store::connect(&curl).await.expect("open copy");
        s.execute_raw(DROP_TRIGGERS_SQLITE)
            .await
            .expect("drop triggers");
        s.execute_raw(sql)
            .await
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        s.close().await;
        let (code, out) = verify_cli(&curl, None);
        assert_eq!(code, 1, "{name} was not detected: {out}");
        assert!(
            out.contains(&format!("BROKEN at event #{first_broken}")),
            "{name}: {out}"
        );
    }

    // Truncating the tail keeps a valid chain — but not the head printed earlier.
    let copy = dir.path().join("truncate.db");
    std::fs::copy(&original, &copy).expect("copy");
    let curl = format!("sqlite:{}", copy.display());
    let s = Store::connect(&curl).await.expect("open copy");
    s.execute_raw(DROP_TRIGGERS_SQLITE).await.expect("drop");
    s.execute_raw("DELETE FROM audit_events WHERE seq = (SELECT max(seq) FROM audit_events)")
        .await
        .expect("truncate");
    s.close().await;
    assert_eq!(verify_cli(&curl, None).0, 0);
    let (code, out) = verify_cli(&curl, Some(&head));
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("checkpoint"), "{out}");
    // The untouched database still has its checkpoint.
    assert_eq!(verify_cli(&url, Some(&head)).0, 0);
}

#[tokio::test]
async fn postgres_tampering_is_detected() {
    for (name, sql, first_broken) in tamperings() {
        let store = taizhang_store::testing::fresh(Backend::Postgres)
            .await
            .expect("pg");
        build(&App::new(store.clone())).await;
        assert!(
            taizhang_service::audit::verify(&store, None)
                .await
                .expect("verify")
                .intact
        );
        store
            .execute_raw(DROP_TRIGGERS_PG)
            .await
            .expect("drop trigger");
        store
            .execute_raw(sql)
            .await
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        let r = taizhang_service::audit::verify(&store, None)
            .await
            .expect("verify");
        assert!(!r.intact, "{name} was not detected");
        assert_eq!(r.broken_seq, Some(first_broken), "{name}: {r:?}");
        store.close().await;
    }
}
