//! The store conformance suite: every test runs on SQLite and on PostgreSQL, and must behave
//! the same on both.

use taizhang_domain::audit::{AuditEvent, ChainVerifier, GENESIS};
use taizhang_domain::scope::Scope;
use taizhang_store::testing::{BACKENDS, fresh};
use taizhang_store::units::{self, NewUnit, Unit, UnitChange, UnitFilter};
use taizhang_store::{Backend, Store, StoreError, audit, auth, users};

async fn add(s: &Store, parent: Option<&Unit>, code: &str) -> Unit {
    let mut tx = s.begin().await.unwrap();
    let u = units::insert(
        &mut tx,
        &NewUnit {
            parent: parent.map(|p| (p.id, p.path.clone(), p.depth)),
            code: code.into(),
            name: format!("单位{code}"),
            kind: "department".into(),
            stage: None,
            rural: false,
            attrs: "{}".into(),
            sort_order: 0,
        },
        1000,
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    u
}

fn subtree(u: &Unit) -> Scope {
    Scope {
        subtrees: vec![u.path.clone()],
        ..Scope::none()
    }
}

async fn each_backend<F, Fut>(f: F)
where
    F: Fn(Store, Backend) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    for b in BACKENDS {
        let s = fresh(b)
            .await
            .unwrap_or_else(|e| panic!("cannot open a fresh {b:?} database: {e}"));
        f(s.clone(), b).await;
        s.close().await;
    }
}

#[tokio::test]
async fn migrations_are_idempotent_and_tables_exist() {
    // Opening the same database twice (a second server start) re-runs no migration.
    let file = taizhang_store::testing::dir()
        .join(format!("{}.db", taizhang_store::testing::unique("mig")));
    let schema = taizhang_store::testing::unique("tz_mig");
    let urls = [
        (format!("sqlite:{}", file.display()), None),
        (taizhang_store::testing::pg_url(), Some(schema.as_str())),
    ];
    for (url, schema) in urls {
        for _ in 0..2 {
            let s = Store::connect_in_schema(&url, schema).await.unwrap();
            let mut c = s.conn().await.unwrap();
            assert_eq!(users::count_all(&mut c).await.unwrap(), 0);
            assert_eq!(audit::head(&mut c).await.unwrap(), (0, GENESIS.to_string()));
            drop(c);
            s.close().await;
        }
    }
}

#[tokio::test]
async fn units_paths_scopes_and_moves() {
    each_backend(|s, b| async move {
        let root = add(&s, None, "R").await;
        let a = add(&s, Some(&root), "A").await;
        let a1 = add(&s, Some(&a), "A1").await;
        let b_ = add(&s, Some(&root), "B").await;
        // ids ≥ 10 make sure "/1/" does not match "/10/".
        let mut last = b_.clone();
        for i in 0..10 {
            last = add(&s, Some(&root), &format!("X{i}")).await;
        }
        assert_eq!(
            a1.path,
            format!("/{}/{}/{}/", root.id, a.id, a1.id),
            "{b:?}"
        );
        let mut c = s.conn().await.unwrap();
        // Scoped fetch: inside → found; outside → None (the caller sees 404).
        assert!(
            units::get(&mut c, &subtree(&a), a1.id)
                .await
                .unwrap()
                .is_some()
        );
        assert!(
            units::get(&mut c, &subtree(&a), b_.id)
                .await
                .unwrap()
                .is_none()
        );
        assert!(
            units::get(&mut c, &subtree(&a1), a.id)
                .await
                .unwrap()
                .is_none()
        );
        let own = Scope {
            units: vec![a.id],
            ..Scope::none()
        };
        assert!(units::get(&mut c, &own, a.id).await.unwrap().is_some());
        assert!(units::get(&mut c, &own, a1.id).await.unwrap().is_none());
        assert!(
            units::get(&mut c, &Scope::none(), a.id)
                .await
                .unwrap()
                .is_none()
        );
        // Subtree listing.
        let f = UnitFilter {
            under_path: Some(root.path.clone()),
            limit: 100,
            ..Default::default()
        };
        assert_eq!(
            units::count(&mut c, &Scope::everything(), &f)
                .await
                .unwrap(),
            14
        );
        let f = UnitFilter {
            limit: 100,
            ..Default::default()
        };
        let in_a: Vec<i64> = units::list(&mut c, &subtree(&a), &f)
            .await
            .unwrap()
            .iter()
            .map(|u| u.id)
            .collect();
        assert_eq!(in_a, vec![a.id, a1.id]);
        // Search escapes LIKE wildcards.
        let f = UnitFilter {
            q: Some("%".into()),
            limit: 100,
            ..Default::default()
        };
        assert_eq!(
            units::count(&mut c, &Scope::everything(), &f)
                .await
                .unwrap(),
            0
        );
        drop(c);
        // Move A (with A1) under the last X: paths and depths of the whole subtree follow.
        let mut tx = s.begin().await.unwrap();
        let moved = units::move_subtree(&mut tx, &a, &last, a.version, 2000)
            .await
            .unwrap();
        tx.commit().await.unwrap();
        assert_eq!(moved.path, format!("{}{}/", last.path, a.id));
        assert_eq!(moved.version, a.version + 1);
        let mut c = s.conn().await.unwrap();
        let a1m = units::get_unscoped(&mut c, a1.id).await.unwrap().unwrap();
        assert_eq!(a1m.path, format!("{}{}/{}/", last.path, a.id, a1.id));
        assert_eq!(a1m.depth, 3);
        assert!(
            units::get(&mut c, &subtree(&last), a1.id)
                .await
                .unwrap()
                .is_some()
        );
    })
    .await;
}

#[tokio::test]
async fn duplicate_codes_and_stale_versions_are_refused_and_change_nothing() {
    each_backend(|s, b| async move {
        let root = add(&s, None, "R").await;
        let mut tx = s.begin().await.unwrap();
        let err = units::insert(
            &mut tx,
            &NewUnit {
                parent: Some((root.id, root.path.clone(), 0)),
                code: "R".into(),
                name: "重复".into(),
                kind: "team".into(),
                stage: None,
                rural: false,
                attrs: "{}".into(),
                sort_order: 0,
            },
            1,
        )
        .await
        .unwrap_err();
        assert!(
            matches!(err, StoreError::Duplicate { ref field } if field == "code"),
            "{b:?}: {err:?}"
        );
        tx.rollback().await.unwrap();
        let change = UnitChange {
            code: "R".into(),
            name: "新名".into(),
            kind: "bureau".into(),
            stage: None,
            rural: false,
            active: true,
            attrs: "{}".into(),
            sort_order: 0,
        };
        let mut tx = s.begin().await.unwrap();
        let err = units::update(&mut tx, root.id, root.version + 5, &change, 2)
            .await
            .unwrap_err();
        assert!(
            matches!(err, StoreError::StaleVersion { .. }),
            "{b:?}: {err:?}"
        );
        tx.rollback().await.unwrap();
        let mut c = s.conn().await.unwrap();
        let now = units::get_unscoped(&mut c, root.id).await.unwrap().unwrap();
        assert_eq!(now, root);
        assert_eq!(
            units::count(
                &mut c,
                &Scope::everything(),
                &UnitFilter {
                    limit: 10,
                    ..Default::default()
                }
            )
            .await
            .unwrap(),
            1
        );
    })
    .await;
}

fn event(i: i64) -> AuditEvent {
    AuditEvent {
        seq: 0,
        at: 1_000 + i,
        actor_id: None,
        actor_name: "test".into(),
        unit_id: None,
        action: "unit.create".into(),
        entity: "unit".into(),
        entity_id: i.to_string(),
        before: None,
        after: Some(format!("{{\"i\":{i}}}")),
        ip: Some("127.0.0.1".into()),
        prev_hash: String::new(),
        hash: String::new(),
    }
}

#[tokio::test]
async fn audit_appends_chain_and_is_append_only() {
    each_backend(|s, b| async move {
        for i in 0..5 {
            let mut tx = s.begin().await.unwrap();
            audit::append(&mut tx, event(i)).await.unwrap();
            tx.commit().await.unwrap();
        }
        // A rolled-back change leaves no event behind.
        let mut tx = s.begin().await.unwrap();
        audit::append(&mut tx, event(99)).await.unwrap();
        tx.rollback().await.unwrap();
        let mut c = s.conn().await.unwrap();
        let all = audit::page(&mut c, 0, 100).await.unwrap();
        assert_eq!(all.len(), 5, "{b:?}");
        let mut v = ChainVerifier::default();
        for e in &all {
            v.push(e).unwrap();
        }
        assert_eq!(
            audit::head(&mut c).await.unwrap(),
            (5, v.head().to_string())
        );
        drop(c);
        // The database itself refuses edits and deletes of the trail.
        assert!(
            s.execute_raw("UPDATE audit_events SET actor_name = 'x' WHERE seq = 2")
                .await
                .is_err(),
            "{b:?}"
        );
        assert!(
            s.execute_raw("DELETE FROM audit_events WHERE seq = 2")
                .await
                .is_err(),
            "{b:?}"
        );
    })
    .await;
}

#[tokio::test]
async fn concurrent_appends_never_fork_the_chain() {
    each_backend(|s, b| async move {
        let mut tasks = Vec::new();
        for t in 0..4 {
            let s = s.clone();
            tasks.push(tokio::spawn(async move {
                for i in 0..15 {
                    let mut tx = s.begin().await.unwrap();
                    audit::append(&mut tx, event(t * 100 + i)).await.unwrap();
                    tx.commit().await.unwrap();
                }
            }));
        }
        for t in tasks {
            t.await.unwrap();
        }
        let mut c = s.conn().await.unwrap();
        let all = audit::page(&mut c, 0, 1000).await.unwrap();
        assert_eq!(all.len(), 60, "{b:?}");
        let mut v = ChainVerifier::default();
        for e in &all {
            v.push(e).unwrap_or_else(|e| panic!("{b:?}: {e:?}"));
        }
    })
    .await;
}

#[tokio::test]
async fn users_sessions_tokens_and_login_log() {
    each_backend(|s, b| async move {
        let root = add(&s, None, "R").await;
        let a = add(&s, Some(&root), "A").await;
        let bb = add(&s, Some(&root), "B").await;
        let mut tx = s.begin().await.unwrap();
        let new = |name: &str, unit: i64| users::NewUser {
            username: name.into(),
            display_name: name.into(),
            unit_id: unit,
            password_hash: "x".into(),
            must_change_password: true,
        };
        let ua = users::insert(&mut tx, &new("ua", a.id), 1).await.unwrap();
        let ub = users::insert(&mut tx, &new("ub", bb.id), 1).await.unwrap();
        let dup = users::insert(&mut tx, &new("ua", bb.id), 1)
            .await
            .unwrap_err();
        assert!(
            matches!(dup, StoreError::Duplicate { ref field } if field == "username"),
            "{b:?}: {dup:?}"
        );
        tx.rollback().await.unwrap();
        let mut tx = s.begin().await.unwrap();
        let ua = users::insert(&mut tx, &new("ua", a.id), 1)
            .await
            .unwrap_or(ua);
        let ub = users::insert(&mut tx, &new("ub", bb.id), 1)
            .await
            .unwrap_or(ub);
        let roles = vec![taizhang_domain::role::RoleAssignment {
            role: taizhang_domain::role::Role::Admin,
            scope: taizhang_domain::role::ScopeKind::Custom,
            units: vec![a.id, bb.id],
        }];
        users::set_roles(&mut tx, ua, &roles).await.unwrap();
        auth::log_login(
            &mut tx,
            5,
            "ua",
            Some(ua),
            true,
            "ok",
            Some("1.2.3.4"),
            None,
        )
        .await
        .unwrap();
        auth::log_login(
            &mut tx,
            6,
            "ub",
            Some(ub),
            false,
            "bad_password",
            None,
            None,
        )
        .await
        .unwrap();
        auth::log_login(&mut tx, 7, "ghost", None, false, "unknown_user", None, None)
            .await
            .unwrap();
        tx.commit().await.unwrap();
        let mut c = s.conn().await.unwrap();
        assert_eq!(users::roles(&mut c, ua).await.unwrap(), roles);
        assert!(
            users::get(&mut c, &subtree(&a), ua)
                .await
                .unwrap()
                .is_some()
        );
        assert!(
            users::get(&mut c, &subtree(&a), ub)
                .await
                .unwrap()
                .is_none()
        );
        let me = Scope {
            self_user: Some(ub),
            ..Scope::none()
        };
        assert!(users::get(&mut c, &me, ub).await.unwrap().is_some());
        assert!(users::get(&mut c, &me, ua).await.unwrap().is_none());
        // Login log: own subtree only; unknown names only with the 全部 scope.
        assert_eq!(
            auth::login_log(&mut c, &subtree(&a), 10, 0)
                .await
                .unwrap()
                .len(),
            1
        );
        assert_eq!(
            auth::login_log(&mut c, &Scope::everything(), 10, 0)
                .await
                .unwrap()
                .len(),
            3
        );
        drop(c);
        // Lockout counter.
        let mut tx = s.begin().await.unwrap();
        for i in 1..=5 {
            assert_eq!(
                users::record_failure(&mut tx, ua, (5, 9999)).await.unwrap(),
                i
            );
        }
        tx.commit().await.unwrap();
        let mut c = s.conn().await.unwrap();
        let cred = users::credentials(&mut c, "ua").await.unwrap().unwrap();
        assert_eq!(cred.locked_until, Some(9999), "{b:?}");
        drop(c);
        // Sessions and tokens are found by hash only.
        let mut tx = s.begin().await.unwrap();
        let sess = auth::Session {
            token_hash: "h1".into(),
            user_id: ua,
            csrf_token: "c".into(),
            created_at: 1,
            last_seen_at: 1,
            expires_at: 100,
        };
        auth::insert_session(&mut tx, &sess, None, None)
            .await
            .unwrap();
        let t = auth::insert_token(&mut tx, ua, "脚本", "th", 1, None)
            .await
            .unwrap();
        assert!(
            !auth::revoke_token(&mut tx, ub, t.id, 2).await.unwrap(),
            "someone else's token"
        );
        assert!(auth::revoke_token(&mut tx, ua, t.id, 2).await.unwrap());
        tx.commit().await.unwrap();
        let mut c = s.conn().await.unwrap();
        assert_eq!(
            auth::get_session(&mut c, "h1")
                .await
                .unwrap()
                .unwrap()
                .user_id,
            ua
        );
        assert!(auth::get_session(&mut c, "nope").await.unwrap().is_none());
        assert_eq!(
            auth::token_by_hash(&mut c, "th")
                .await
                .unwrap()
                .unwrap()
                .revoked_at,
            Some(2)
        );
    })
    .await;
}

#[tokio::test]
async fn unknown_url_scheme_is_refused() {
    let err = Store::connect("mysql://x@localhost/db").await.unwrap_err();
    assert!(matches!(err, StoreError::BadUrl(_)));
    assert!(err.to_string().contains("sqlite:PATH"));
}

#[tokio::test]
async fn indicator_values_returns_and_approval_filter() {
    use taizhang_store::indicators as ind;
    each_backend(|s, b| async move {
        let county = add(&s, None, "CTY").await;
        let mut tx = s.begin().await.unwrap();
        let school = units::insert(
            &mut tx,
            &NewUnit {
                parent: Some((county.id, county.path.clone(), county.depth)),
                code: "SCH".into(),
                name: "第三小学".into(),
                kind: "school".into(),
                stage: Some("nine_year".into()),
                rural: false,
                attrs: "{}".into(),
                sort_order: 0,
            },
            1000,
        )
        .await
        .unwrap();
        ind::replace_values(
            &mut tx,
            school.id,
            "2024",
            &[
                ("primary".into(), "students".into(), 166.0),
                ("junior".into(), "students".into(), 210.0),
                (String::new(), "books".into(), 23_226.5),
            ],
        )
        .await
        .unwrap();
        ind::set_return(&mut tx, school.id, "2024", 0, "draft", "", None, 1000)
            .await
            .unwrap();
        tx.commit().await.unwrap();
        let all = Scope::everything();
        let mut c = s.conn().await.unwrap();
        // Unapproved data count only when asked for.
        assert!(
            ind::values(&mut c, &all, &county.path, "2024", false)
                .await
                .unwrap()
                .is_empty(),
            "{b:?}"
        );
        let v = ind::values(&mut c, &all, &county.path, "2024", true)
            .await
            .unwrap();
        assert_eq!(v.len(), 3);
        assert_eq!(v[0].element, "books");
        assert_eq!(v[0].value, 23_226.5, "{b:?}: floats survive");
        // Submitted then approved; a stale version is refused.
        let r = ind::get_return(&mut c, school.id, "2024")
            .await
            .unwrap()
            .unwrap();
        assert_eq!((r.state.as_str(), r.version), ("draft", 1));
        ind::set_return(&mut c, school.id, "2024", 1, "submitted", "", Some(7), 2000)
            .await
            .unwrap();
        assert!(matches!(
            ind::set_return(&mut c, school.id, "2024", 1, "approved", "", Some(8), 3000).await,
            Err(StoreError::StaleVersion { .. })
        ));
        ind::set_return(&mut c, school.id, "2024", 2, "approved", "", Some(8), 3000)
            .await
            .unwrap();
        let r = ind::get_return(&mut c, school.id, "2024")
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            (
                r.state.as_str(),
                r.submitted_by,
                r.approved_by,
                r.approved_at
            ),
            ("approved", Some(7), Some(8), Some(3000))
        );
        assert_eq!(
            ind::values(&mut c, &all, &county.path, "2024", false)
                .await
                .unwrap()
                .len(),
            3
        );
        // Scope: outside the caller's subtree nothing is seen.
        let other = add(&s, None, "OTH").await;
        assert!(
            ind::values(&mut c, &subtree(&other), &county.path, "2024", true)
                .await
                .unwrap()
                .is_empty()
        );
        let schools = ind::schools(&mut c, &all, &county.path, "2024")
            .await
            .unwrap();
        assert_eq!(schools.len(), 1);
        assert_eq!(
            (schools[0].stage.as_deref(), schools[0].state.as_deref()),
            (Some("nine_year"), Some("approved"))
        );
        assert!(
            ind::schools(&mut c, &all, &county.path, "2025")
                .await
                .unwrap()[0]
                .state
                .is_none()
        );
    })
    .await;
}
