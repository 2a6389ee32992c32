//! `spawn_app()`: the whole server on port 0 over a fresh database of either backend, plus a
//! small fixture tree and users, for API tests.

#![allow(dead_code)]

use reqwest::{Client, StatusCode};
use serde_json::{Value, json};
use taizhang_domain::role::{Role, RoleAssignment, ScopeKind};
use taizhang_service::units::CreateUnit;
use taizhang_service::users::CreateUser;
use taizhang_service::{Actor, App};
use taizhang_store::Backend;
use taizhang_store::units::Unit;

pub const PW: &str = "Test#Pass2026";

pub struct TestApp {
    pub base: String,
    pub app: App,
    pub backend: Backend,
}

pub async fn spawn_app(backend: Backend) -> TestApp {
    taizhang_service::remind::install_tls();
    let store = taizhang_store::testing::fresh(backend)
        .await
        .expect("fresh database");
    let app = App::new(store);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("addr"));
    let state = taizhang_web::AppState {
        app: app.clone(),
        cookie_secure: false,
    };
    tokio::spawn(async move {
        let _ = taizhang_web::serve(state, listener).await;
    });
    TestApp { base, app, backend }
}

pub async fn unit(app: &App, parent: Option<&Unit>, code: &str, name: &str) -> Unit {
    taizhang_service::units::create(
        app,
        &Actor::system("test"),
        CreateUnit {
            parent_id: parent.map(|p| p.id),
            code: code.into(),
            name: name.into(),
            kind: "department".into(),
            stage: None,
            rural: false,
            attrs: None,
            sort_order: 0,
        },
    )
    .await
    .expect("create unit")
}

/// Creates a user whose password is `PW` and needs no change.
pub async fn user(app: &App, name: &str, unit: &Unit, role: Role, scope: ScopeKind) -> i64 {
    let v = taizhang_service::users::create(
        app,
        &Actor::system("test"),
        CreateUser {
            username: name.into(),
            display_name: name.into(),
            unit_id: unit.id,
            password: PW.into(),
            roles: vec![RoleAssignment {
                role,
                scope,
                units: vec![],
            }],
        },
    )
    .await
    .expect("create user");
    let mut tx = app.store.begin().await.expect("tx");
    let hash = taizhang_service::auth::hash_password(PW.into())
        .await
        .expect("hash");
    taizhang_store::users::set_password(&mut tx, v.user.id, &hash, false, app.now())
        .await
        .expect("pw");
    tx.commit().await.expect("commit");
    v.user.id
}

/// A signed-in API client: the session cookie plus the CSRF header on every request.
pub struct Session {
    pub client: Client,
    pub csrf: String,
    pub base: String,
}

pub async fn login(base: &str, username: &str, password: &str) -> Session {
    let client = Client::builder()
        .cookie_store(true)
        .build()
        .expect("client");
    let r = client
        .post(format!("{base}/api/v1/auth/login"))
        .json(&json!({"username": username, "password": password}))
        .send()
        .await
        .expect("login request");
    assert_eq!(r.status(), StatusCode::OK, "login as {username}");
    let body: Value = r.json().await.expect("json");
    Session {
        client,
        csrf: body["csrf_token"].as_str().unwrap_or_default().to_string(),
        base: base.to_string(),
    }
}

impl Session {
    pub async fn call(&self, method: &str, path: &str, body: Option<Value>) -> (StatusCode, Value) {
        let m = reqwest::Method::from_bytes(method.as_bytes()).expect("method");
        let mut rq = self
            .client
            .request(m, format!("{}{path}", self.base))
            .header("x-csrf-token", &self.csrf);
        if let Some(b) = body {
            rq = rq.json(&b);
        }
        let r = rq.send().await.expect("request");
        let status = r.status();
        let text = r.text().await.unwrap_or_default();
        (
            status,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
        )
    }
}

impl Session {
    /// Sends raw bytes (e.g. an .xlsx upload).
    pub async fn call_raw(&self, method: &str, path: &str, body: Vec<u8>) -> (StatusCode, Value) {
        let m = reqwest::Method::from_bytes(method.as_bytes()).expect("method");
        let r = self
            .client
            .request(m, format!("{}{path}", self.base))
            .header("x-csrf-token", &self.csrf)
            .header(
                "content-type",
                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            )
            .body(body)
            .send()
            .await
            .expect("request");
        let status = r.status();
        let text = r.text().await.unwrap_or_default();
        (
            status,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
        )
    }
}

pub async fn anon_call(
    base: &str,
    method: &str,
    path: &str,
    body: Option<Value>,
) -> (StatusCode, Value) {
    let client = Client::new();
    let m = reqwest::Method::from_bytes(method.as_bytes()).expect("method");
    let mut rq = client.request(m, format!("{base}{path}"));
    if let Some(b) = body {
        rq = rq.json(&b);
    }
    let r = rq.send().await.expect("request");
    let status = r.status();
    let text = r.text().await.unwrap_or_default();
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

/// The value of the first `<input name="NAME" value="…">` on a page (CSRF token, version).
pub fn hidden_input(page: &str, name: &str) -> String {
    page.split(&format!("name=\"{name}\" value=\""))
        .nth(1)
        .and_then(|s| s.split('"').next())
        .unwrap_or_else(|| panic!("no input {name} on the page"))
        .to_string()
}

/// A fresh SQLite file in `dir` holding the demo county; returns its URL.
pub async fn demo_db(dir: &std::path::Path) -> String {
    let url = format!("sqlite:{}", dir.join("d.db").display());
    let app = App::new(taizhang_store::Store::connect(&url).await.expect("db"));
    taizhang_service::demo::load(&app).await.expect("demo");
    app.store.close().await;
    url
}
