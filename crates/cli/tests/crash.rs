//! Crash safety: kill -9 the server 20 times during a concurrent write load. Every write that
//! was acknowledged with 2xx is there afterwards, SQLite's integrity check passes, and the audit
//! chain verifies.

use serde_json::{Value, json};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const PW: &str = "Crash#Test2026";

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port()
}

fn start(url: &str, port: u16) -> Child {
    Command::new(env!("CARGO_BIN_EXE_taizhang"))
        .args([
            "serve",
            "--db",
            url,
            "--listen",
            &format!("127.0.0.1:{port}"),
            "--admin-user",
            "admin",
            "--admin-password",
            PW,
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn taizhang")
}

async fn wait_ready(base: &str) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        if let Ok(r) = reqwest::get(format!("{base}/healthz")).await
            && r.status().is_success()
        {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("server at {base} did not become ready");
}

async fn login(base: &str) -> (reqwest::Client, String) {
    let client = reqwest::Client::builder()
        .cookie_store(true)
        .timeout(Duration::from_secs(5))
        .build()
        .expect("client");
    let r = client
        .post(format!("{base}/api/v1/auth/login"))
        .json(&json!({"username": "admin", "password": PW}))
        .send()
        .await
        .expect("login");
    let v: Value = r.json().await.expect("json");
    (client, v["csrf_token"].as_str().expect("csrf").to_string())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn acknowledged_writes_survive_kill_9() {
    taizhang_service::remind::install_tls();
    let dir = tempfile::tempdir().expect("tempdir");
    let url = format!("sqlite:{}", dir.path().join("crash.db").display());
    let acked: Arc<Mutex<Vec<String>>> = Arc::new(Mutex::new(Vec::new()));
    let mut root_id = 0i64;
    for round in 0..20 {
        let port = free_port();
        let base = format!("http://127.0.0.1:{port}");
        let mut child = start(&url, port);
        wait_ready(&base).await;
        let (client, csrf) = login(&base).await;
        if root_id == 0 {
            let r = client
                .get(format!("{base}/api/v1/units?limit=1"))
                .send()
                .await
                .expect("units");
            let v: Value = r.json().await.expect("json");
            root_id = v["items"][0]["id"].as_i64().expect("root");
        }
        let mut writers = Vec::new();
        for w in 0..4 {
            let (client, csrf, base, acked) =
                (client.clone(), csrf.clone(), base.clone(), acked.clone());
            writers.push(tokio::spawn(async move {
                for i in 0..10_000 {
                    let code = format!("C{round}-{w}-{i}");
                    let body = json!({"parent_id": root_id, "code": code, "name": format!("压测{code}"), "kind": "team"});
                    match client.post(format!("{base}/api/v1/units")).header("x-csrf-token", &csrf).json(&body).send().await {
                        Ok(r) if r.status().as_u16() == 201 => acked.lock().expect("lock").push(code),
                        Ok(_) | Err(_) => return,
                    }
                }
            }));
        }
        // Let the load run a varying while, then kill -9 mid-flight.
        tokio::time::sleep(Duration::from_millis(150 + (round as u64 * 37) % 300)).await;
        child.kill().expect("kill -9");
        child.wait().expect("wait");
        for w in writers {
            let _ = w.await;
        }
    }
    let acked = acked.lock().expect("lock").clone();
    assert!(
        acked.len() > 100,
        "the load wrote too little to mean anything: {}",
        acked.len()
    );

    let store = taizhang_store::Store::connect(&url).await.expect("reopen");
    assert_eq!(store.integrity_check().await.expect("integrity"), "ok");
    let mut c = store.conn().await.expect("conn");
    for code in &acked {
        assert!(
            taizhang_store::units::code_exists(&mut c, code)
                .await
                .expect("query"),
            "acknowledged unit {code} is missing"
        );
    }
    drop(c);
    let r = taizhang_service::audit::verify(&store, None)
        .await
        .expect("verify");
    assert!(r.intact, "{}", r.summary());
    // Every acknowledged unit has its creation event (plus bootstrap events).
    assert!(
        r.events as usize >= acked.len() + 2,
        "{} events for {} writes",
        r.events,
        acked.len()
    );
    store.close().await;
    let out = Command::new(env!("CARGO_BIN_EXE_taizhang"))
        .args(["audit", "verify", "--db", &url])
        .output()
        .expect("cli");
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    eprintln!(
        "crash test: {} acknowledged writes over 20 kill -9 rounds all present",
        acked.len()
    );
}

#[test]
fn serve_on_an_empty_database_refuses_a_weak_first_password_and_writes_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("empty.db");
    let url = format!("sqlite:{}", file.display());
    let out = Command::new(env!("CARGO_BIN_EXE_taizhang"))
        .args([
            "serve",
            "--db",
            &url,
            "--listen",
            "127.0.0.1:0",
            "--admin-user",
            "admin",
            "--admin-password",
            "admin123",
        ])
        .stdin(Stdio::null())
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("password") && err.lines().count() == 1,
        "{err}"
    );
    // Without the flags and without a terminal, it says what to pass.
    let out = Command::new(env!("CARGO_BIN_EXE_taizhang"))
        .args(["serve", "--db", &url, "--listen", "127.0.0.1:0"])
        .env_remove("TAIZHANG_ADMIN_PASSWORD")
        .stdin(Stdio::null())
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--admin-user"));
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("rt");
    rt.block_on(async {
        let store = taizhang_store::Store::connect(&url).await.expect("open");
        let mut c = store.conn().await.expect("conn");
        let n = taizhang_store::units::count(
            &mut c,
            &taizhang_domain::scope::Scope::everything(),
            &taizhang_store::units::UnitFilter {
                include_inactive: true,
                limit: 1,
                ..Default::default()
            },
        )
        .await
        .expect("count");
        assert_eq!(n, 0, "a refused bootstrap left units behind");
    });
    // An unknown URL scheme is a one-line error.
    let out = Command::new(env!("CARGO_BIN_EXE_taizhang"))
        .args(["audit", "head", "--db", "mysql://x/y"])
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("sqlite:PATH"));
}
