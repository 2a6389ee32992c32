//! API behaviour on bad input, sessions and passwords, on both backends: each bad request gets a
//! clear `{"error", "message", "field"}` answer and changes nothing.

mod common;

use common::*;
use reqwest::StatusCode;
use serde_json::json;
use taizhang_domain::role::{Role, ScopeKind};
use taizhang_store::Backend;

async fn audit_count(t: &TestApp) -> i64 {
    let mut c = t.app.store.conn().await.expect("conn");
    taizhang_store::audit::head(&mut c).await.expect("head").0
}

async fn bad_input_changes_nothing(backend: Backend) {
    let t = spawn_app(backend).await;
    let r = unit(&t.app, None, "R", "县").await;
    let a = unit(&t.app, Some(&r), "A", "甲").await;
    let a1 = unit(&t.app, Some(&a), "A1", "甲一").await;
    user(&t.app, "boss", &r, Role::Admin, ScopeKind::All).await;
    let s = login(&t.base, "boss", PW).await;
    let before = audit_count(&t).await;

    // Malformed JSON.
    let raw = s
        .client
        .post(format!("{}/api/v1/units", t.base))
        .header("x-csrf-token", &s.csrf)
        .header("content-type", "application/json")
        .body("{\"code\": ")
        .send()
        .await
        .expect("send");
    assert_eq!(raw.status(), StatusCode::BAD_REQUEST);
    let v: serde_json::Value = raw.json().await.expect("json");
    assert_eq!(v["error"], "invalid_json");

    let cases = [
        // Unknown field.
        (
            json!({"parent_id": r.id, "code": "X1", "name": "x", "kind": "team", "colour": "red"}),
            422,
            "invalid_field",
            Some("colour"),
        ),
        // Over-long name.
        (
            json!({"parent_id": r.id, "code": "X2", "name": "长".repeat(101), "kind": "team"}),
            422,
            "too_long",
            Some("name"),
        ),
        // Bad code characters.
        (
            json!({"parent_id": r.id, "code": "学校", "name": "x", "kind": "team"}),
            422,
            "invalid_format",
            Some("code"),
        ),
        // Unknown kind.
        (
            json!({"parent_id": r.id, "code": "X3", "name": "x", "kind": "planet"}),
            422,
            "invalid_value",
            Some("kind"),
        ),
        // A school without a stage.
        (
            json!({"parent_id": r.id, "code": "X4", "name": "x", "kind": "school"}),
            422,
            "required",
            Some("stage"),
        ),
        // Duplicate code.
        (
            json!({"parent_id": r.id, "code": "A", "name": "x", "kind": "team"}),
            409,
            "duplicate",
            Some("code"),
        ),
        // Unknown parent.
        (
            json!({"parent_id": 999_999, "code": "X5", "name": "x", "kind": "team"}),
            404,
            "not_found",
            Some("parent_id"),
        ),
        // Wrong type.
        (
            json!({"parent_id": "one", "code": "X6", "name": "x", "kind": "team"}),
            422,
            "invalid_field",
            None,
        ),
    ];
    for (body, status, code, field) in cases {
        let (st, v) = s.call("POST", "/api/v1/units", Some(body.clone())).await;
        assert_eq!(st.as_u16(), status, "{backend:?} {body}: {v}");
        assert_eq!(v["error"], code, "{body}: {v}");
        if let Some(f) = field {
            assert_eq!(v["field"], f, "{body}: {v}");
        }
        assert!(!v["message"].as_str().unwrap_or_default().is_empty());
    }
    // Moving a unit into its own subtree.
    let (st, v) = s
        .call(
            "POST",
            &format!("/api/v1/units/{}/move", a.id),
            Some(json!({"parent_id": a1.id, "version": a.version})),
        )
        .await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert_eq!(v["error"], "cycle");
    // Stale version.
    let (st, v) = s
        .call(
            "PATCH",
            &format!("/api/v1/units/{}", a.id),
            Some(json!({"version": a.version + 7, "name": "新"})),
        )
        .await;
    assert_eq!(st, StatusCode::CONFLICT, "{v}");
    assert_eq!(v["error"], "stale_version");
    // Deactivating a unit with active children.
    let (st, v) = s
        .call(
            "POST",
            &format!("/api/v1/units/{}/deactivate", a.id),
            Some(json!({"version": a.version})),
        )
        .await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert_eq!(v["error"], "has_active_children");
    // Weak password for a new user.
    let (st, v) = s
        .call("POST", "/api/v1/users", Some(json!({"username": "weak", "display_name": "弱", "unit_id": a.id, "password": "abcdefgh"})))
        .await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert_eq!(v["field"], "password");
    // A non-numeric id is simply not found.
    let (st, _) = s.call("GET", "/api/v1/units/abc", None).await;
    assert_eq!(st, StatusCode::NOT_FOUND);
    // Missing CSRF header on a cookie session.
    let r2 = s
        .client
        .post(format!("{}/api/v1/units", t.base))
        .json(&json!({"parent_id": r.id, "code": "C1", "name": "x", "kind": "team"}))
        .send()
        .await
        .expect("send");
    assert_eq!(r2.status(), StatusCode::FORBIDDEN);

    // None of it wrote anything: no unit, no user, no audit event.
    assert_eq!(
        audit_count(&t).await,
        before,
        "{backend:?}: a refused request left an audit event"
    );
    let (_, v) = s.call("GET", "/api/v1/units?limit=100", None).await;
    assert_eq!(v["total"], 3);
    let (_, v) = s.call("GET", "/api/v1/users", None).await;
    assert_eq!(v["total"], 1);

    // A good request does write, with its audit event.
    let (st, v) = s.call("POST", "/api/v1/units", Some(json!({"parent_id": r.id, "code": "OK1", "name": "第三小学", "kind": "school", "stage": "小学"}))).await;
    assert_eq!(st, StatusCode::CREATED, "{v}");
    assert_eq!(v["stage"], "primary");
    assert_eq!(audit_count(&t).await, before + 1);
}

#[tokio::test]
async fn bad_input_sqlite() {
    bad_input_changes_nothing(Backend::Sqlite).await;
}

#[tokio::test]
async fn bad_input_postgres() {
    bad_input_changes_nothing(Backend::Postgres).await;
}

async fn sessions_passwords_and_lockout(backend: Backend) {
    let t = spawn_app(backend).await;
    let r = unit(&t.app, None, "R", "县").await;
    user(&t.app, "boss", &r, Role::Admin, ScopeKind::All).await;
    // Wrong password: 401 with one message whether the name exists or not.
    let (st, v) = anon_call(
        &t.base,
        "POST",
        "/api/v1/auth/login",
        Some(json!({"username": "boss", "password": "Wrong#1234"})),
    )
    .await;
    assert_eq!(st, StatusCode::UNAUTHORIZED);
    let (st2, v2) = anon_call(
        &t.base,
        "POST",
        "/api/v1/auth/login",
        Some(json!({"username": "ghost", "password": "Wrong#1234"})),
    )
    .await;
    assert_eq!(st2, StatusCode::UNAUTHORIZED);
    assert_eq!(v["message"], v2["message"]);
    // Four more failures lock the account, and then even the right password is refused.
    for _ in 0..3 {
        anon_call(
            &t.base,
            "POST",
            "/api/v1/auth/login",
            Some(json!({"username": "boss", "password": "Wrong#1234"})),
        )
        .await;
    }
    let (st, v) = anon_call(
        &t.base,
        "POST",
        "/api/v1/auth/login",
        Some(json!({"username": "boss", "password": "Wrong#1234"})),
    )
    .await;
    assert_eq!(st, StatusCode::LOCKED, "{v}");
    let (st, v) = anon_call(
        &t.base,
        "POST",
        "/api/v1/auth/login",
        Some(json!({"username": "boss", "password": PW})),
    )
    .await;
    assert_eq!(st, StatusCode::LOCKED, "{v}");
    assert!(v["message"].as_str().unwrap_or_default().contains("锁定"));

    // A user created by an administrator must change the initial password first.
    user(&t.app, "admin2", &r, Role::Admin, ScopeKind::All).await;
    let admin = login(&t.base, "admin2", PW).await;
    let (st, v) = admin
        .call("POST", "/api/v1/users", Some(json!({"username": "newbie", "display_name": "新人", "unit_id": r.id, "password": "Init#Pass2026"})))
        .await;
    assert_eq!(st, StatusCode::CREATED, "{v}");
    let newbie = login(&t.base, "newbie", "Init#Pass2026").await;
    let (st, v) = newbie.call("GET", "/api/v1/units", None).await;
    assert_eq!(st, StatusCode::FORBIDDEN);
    assert_eq!(v["error"], "password_change_required");
    let (st, v) = newbie
        .call(
            "POST",
            "/api/v1/me/password",
            Some(json!({"current_password": "Init#Pass2026", "new_password": "short"})),
        )
        .await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(v["field"], "password");
    let (st, _) = newbie
        .call(
            "POST",
            "/api/v1/me/password",
            Some(json!({"current_password": "Init#Pass2026", "new_password": "Mine#Pass2026"})),
        )
        .await;
    assert_eq!(st, StatusCode::NO_CONTENT);
    let (st, _) = newbie.call("GET", "/api/v1/units", None).await;
    assert_eq!(st, StatusCode::OK);

    // Sign-out ends the session; an unknown or expired cookie is 401.
    let (st, _) = newbie.call("POST", "/api/v1/auth/logout", None).await;
    assert_eq!(st, StatusCode::NO_CONTENT);
    let (st, v) = newbie.call("GET", "/api/v1/me", None).await;
    assert_eq!(st, StatusCode::UNAUTHORIZED);
    assert_eq!(v["error"], "unauthenticated");

    // API tokens work without CSRF, and stop working once revoked.
    let (st, v) = admin
        .call(
            "POST",
            "/api/v1/me/tokens",
            Some(json!({"name": "脚本", "days": 7})),
        )
        .await;
    assert_eq!(st, StatusCode::CREATED);
    let token = v["token"].as_str().expect("token").to_string();
    let id = v["info"]["id"].as_i64().expect("id");
    let bearer = reqwest::Client::new();
    let r1 = bearer
        .post(format!("{}/api/v1/units", t.base))
        .bearer_auth(&token)
        .json(&json!({"parent_id": r.id, "code": "TOK1", "name": "令牌建", "kind": "team"}))
        .send()
        .await
        .expect("send");
    assert_eq!(r1.status(), StatusCode::CREATED);
    admin
        .call("DELETE", &format!("/api/v1/me/tokens/{id}"), None)
        .await;
    let r2 = bearer
        .get(format!("{}/api/v1/me", t.base))
        .bearer_auth(&token)
        .send()
        .await
        .expect("send");
    assert_eq!(r2.status(), StatusCode::UNAUTHORIZED);

    // The login log has every attempt.
    let (_, v) = admin.call("GET", "/api/v1/login-log?limit=100", None).await;
    let entries = v.as_array().expect("entries");
    assert!(
        entries
            .iter()
            .any(|e| e["username"] == "boss" && e["reason"] == "locked")
    );
    assert!(
        entries
            .iter()
            .any(|e| e["username"] == "ghost" && e["reason"] == "unknown_user")
    );
    assert!(
        entries
            .iter()
            .any(|e| e["username"] == "newbie" && e["success"] == true)
    );
}

#[tokio::test]
async fn sessions_sqlite() {
    sessions_passwords_and_lockout(Backend::Sqlite).await;
}

#[tokio::test]
async fn sessions_postgres() {
    sessions_passwords_and_lockout(Backend::Postgres).await;
}

#[tokio::test]
async fn lock_expires_after_ten_minutes() {
    let mut t = spawn_app(Backend::Sqlite).await;
    t.app.clock = taizhang_service::Clock::fixed(1_800_000_000_000);
    let r = unit(&t.app, None, "R", "县").await;
    user(&t.app, "boss", &r, Role::Admin, ScopeKind::All).await;
    for _ in 0..5 {
        let _ = taizhang_service::auth::login(&t.app, "boss", "Wrong#1234", None, None).await;
    }
    assert!(matches!(
        taizhang_service::auth::login(&t.app, "boss", PW, None, None).await,
        Err(taizhang_service::ServiceError::Locked(_))
    ));
    t.app.clock.advance(9 * 60_000);
    assert!(
        taizhang_service::auth::login(&t.app, "boss", PW, None, None)
            .await
            .is_err()
    );
    t.app.clock.advance(61_000);
    assert!(
        taizhang_service::auth::login(&t.app, "boss", PW, None, None)
            .await
            .is_ok()
    );
}

#[tokio::test]
async fn healthz_openapi_and_unknown_api_paths() {
    let t = spawn_app(Backend::Sqlite).await;
    let (st, v) = anon_call(&t.base, "GET", "/healthz", None).await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(v, "ok");
    let (st, v) = anon_call(&t.base, "GET", "/api/openapi.json", None).await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(v["openapi"], "3.0.3");
    assert!(v["paths"]["/api/v1/units/{id}"]["patch"].is_object());
    let (st, v) = anon_call(&t.base, "GET", "/api/v1/nothing-here", None).await;
    assert_eq!(st, StatusCode::NOT_FOUND);
    assert_eq!(v["error"], "not_found");
}

#[tokio::test]
async fn pages_speak_chinese_first_english_on_request_and_guard_forms() {
    let t = spawn_app(Backend::Sqlite).await;
    let r = unit(&t.app, None, "R", "屏南县").await;
    user(&t.app, "boss", &r, Role::Admin, ScopeKind::All).await;
    let client = reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");
    // Anonymous: sent to the login page, which is in Chinese by default and English on request.
    let res = client
        .get(format!("{}/units", t.base))
        .send()
        .await
        .expect("get");
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert!(
        res.headers()["location"]
            .to_str()
            .unwrap_or_default()
            .starts_with("/login?next=")
    );
    let zh = client
        .get(format!("{}/login", t.base))
        .send()
        .await
        .expect("get")
        .text()
        .await
        .expect("text");
    assert!(zh.contains("<html lang=\"zh-CN\">") && zh.contains("用户名"));
    let en = client
        .get(format!("{}/login", t.base))
        .header("cookie", "tz_lang=en")
        .send()
        .await
        .expect("get")
        .text()
        .await
        .expect("text");
    assert!(en.contains("<html lang=\"en\">") && en.contains("User name"));
    // A wrong password is shown on the page, with the name kept.
    let res = client
        .post(format!("{}/login", t.base))
        .form(&[("username", "boss"), ("password", "nope"), ("next", "/")])
        .send()
        .await
        .expect("post");
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    let html = res.text().await.expect("text");
    assert!(html.contains("用户名或密码错误") && html.contains("value=\"boss\""));
    // An open redirect through `next` is refused.
    let res = client
        .post(format!("{}/login", t.base))
        .form(&[
            ("username", "boss"),
            ("password", PW),
            ("next", "//evil.example/x"),
        ])
        .send()
        .await
        .expect("post");
    assert_eq!(res.headers()["location"], "/");
    // Signed in: the tree page shows the unit; a form without the CSRF token is refused.
    let html = client
        .get(format!("{}/units?open={}", t.base, r.id))
        .send()
        .await
        .expect("get")
        .text()
        .await
        .expect("text");
    assert!(html.contains("屏南县") && html.contains("name=\"csrf\""));
    let res = client
        .post(format!("{}/units", t.base))
        .form(&[
            ("csrf", "forged"),
            ("parent_id", &r.id.to_string()),
            ("name", "x"),
            ("code", "X1"),
            ("kind", "team"),
        ])
        .send()
        .await
        .expect("post");
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    let mut c = t.app.store.conn().await.expect("conn");
    assert!(
        !taizhang_store::units::code_exists(&mut c, "X1")
            .await
            .expect("q")
    );
    // A bad code comes back with the error and what was typed.
    let csrf = hidden_input(&html, "csrf");
    let res = client
        .post(format!("{}/units", t.base))
        .form(&[
            ("csrf", csrf.as_str()),
            ("parent_id", &r.id.to_string()),
            ("name", "第三小学"),
            ("code", "坏代码"),
            ("kind", "school"),
            ("stage", "primary"),
        ])
        .send()
        .await
        .expect("post");
    let to = res.headers()["location"].to_str().expect("loc").to_string();
    let html = client
        .get(format!("{}{to}", t.base))
        .send()
        .await
        .expect("get")
        .text()
        .await
        .expect("text");
    assert!(
        html.contains("单位代码“坏代码”只能包含字母、数字"),
        "{html}"
    );
    assert!(html.contains("value=\"第三小学\"") && html.contains("value=\"坏代码\""));
    assert!(html.contains("<option value=\"primary\" selected>"));
}

#[tokio::test]
async fn sessions_expire_when_idle_and_after_twelve_hours() {
    let mut t = spawn_app(Backend::Sqlite).await;
    t.app.clock = taizhang_service::Clock::fixed(1_800_000_000_000);
    let r = unit(&t.app, None, "R", "县").await;
    user(&t.app, "boss", &r, Role::Admin, ScopeKind::All).await;
    let s = taizhang_service::auth::login(&t.app, "boss", PW, None, None)
        .await
        .expect("login");
    assert!(
        taizhang_service::auth::session_actor(&t.app, &s.token, None)
            .await
            .expect("q")
            .is_some()
    );
    // Used every 90 minutes: still valid until the 12-hour limit.
    for _ in 0..7 {
        t.app.clock.advance(90 * 60_000);
        assert!(
            taizhang_service::auth::session_actor(&t.app, &s.token, None)
                .await
                .expect("q")
                .is_some()
        );
    }
    t.app.clock.advance(90 * 60_000);
    assert!(
        taizhang_service::auth::session_actor(&t.app, &s.token, None)
            .await
            .expect("q")
            .is_none(),
        "12 h limit"
    );
    // Idle for more than two hours: gone.
    let s = taizhang_service::auth::login(&t.app, "boss", PW, None, None)
        .await
        .expect("login");
    t.app.clock.advance(2 * 3600 * 1000 + 1);
    assert!(
        taizhang_service::auth::session_actor(&t.app, &s.token, None)
            .await
            .expect("q")
            .is_none(),
        "idle limit"
    );
}

#[tokio::test]
async fn the_user_page_gives_several_roles_and_custom_scopes() {
    let t = spawn_app(Backend::Sqlite).await;
    let r = unit(&t.app, None, "R", "县").await;
    let a = unit(&t.app, Some(&r), "SA", "甲").await;
    let b = unit(&t.app, Some(&r), "SB", "乙").await;
    user(&t.app, "boss", &r, Role::Admin, ScopeKind::All).await;
    let target = user(&t.app, "staff", &a, Role::Viewer, ScopeKind::OwnUnit).await;
    let client = reqwest::Client::builder()
        .cookie_store(true)
        .build()
        .expect("client");
    client
        .post(format!("{}/login", t.base))
        .form(&[("username", "boss"), ("password", PW), ("next", "/")])
        .send()
        .await
        .expect("login");
    let page = client
        .get(format!("{}/users/{target}", t.base))
        .send()
        .await
        .expect("get")
        .text()
        .await
        .expect("text");
    assert!(
        page.contains("name=\"role_2\"") && page.contains("value=\"custom\""),
        "three role rows, 自定义 offered"
    );
    let csrf = hidden_input(&page, "csrf");
    let version = hidden_input(&page, "version");
    let post = |units: &'static str| {
        let (client, url, csrf, version) = (
            client.clone(),
            format!("{}/users/{target}", t.base),
            csrf.clone(),
            version.clone(),
        );
        let unit_id = a.id.to_string();
        async move {
            client
                .post(url)
                .form(&[
                    ("csrf", csrf.as_str()),
                    ("version", version.as_str()),
                    ("display_name", "职员"),
                    ("unit_id", unit_id.as_str()),
                    ("active", "true"),
                    ("role_0", "handler"),
                    ("scope_0", "own_unit"),
                    ("units_0", ""),
                    ("role_1", "viewer"),
                    ("scope_1", "custom"),
                    ("units_1", units),
                    ("role_2", ""),
                    ("scope_2", "all"),
                    ("units_2", ""),
                ])
                .send()
                .await
                .expect("post")
                .text()
                .await
                .expect("text")
        }
    };
    let bad = post("NOPE").await;
    assert!(bad.contains("找不到代码为“NOPE”的单位"), "{bad}");
    let ok = post("SB").await;
    assert!(ok.contains("操作成功"), "{ok}");
    let v = taizhang_service::users::get(&t.app, &taizhang_service::Actor::system("t"), target)
        .await
        .expect("user");
    assert_eq!(v.roles.len(), 2);
    assert_eq!(v.roles[1].scope, ScopeKind::Custom);
    assert_eq!(v.roles[1].units, vec![b.id]);
}
