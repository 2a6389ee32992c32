//! `taizhang bench http`: the JSON API on loopback under a bounded load of concurrent clients
//! (keep-alive connections, like oha or wrk with a request count): a filtered list of 50, and
//! create + transition (新建事项 then 交办). Throughput and latency percentiles per phase.

use crate::Fail;
use crate::bench::ledger_db;
use std::sync::Arc;
use std::time::{Duration, Instant};
use taizhang_domain::role::{Role, RoleAssignment, ScopeKind};
use taizhang_service::{Actor, App};

pub struct HttpArgs {
    pub db: Option<String>,
    pub items: usize,
    pub units: usize,
    pub clients: usize,
    pub requests: usize,
}

/// Latencies of one phase, and how many requests failed.
struct Phase {
    name: &'static str,
    wall: Duration,
    lat: Vec<Duration>,
    failed: usize,
}

impl Phase {
    fn print(&mut self) {
        self.lat.sort();
        let n = self.lat.len();
        let p = |q: f64| {
            self.lat
                .get(((n as f64 - 1.0) * q).round() as usize)
                .map_or(f64::NAN, |d| d.as_secs_f64() * 1e3)
        };
        println!(
            "{}: {} requests in {:.2} s = {:.0} req/s; latency p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms; failed {}",
            self.name,
            n,
            self.wall.as_secs_f64(),
            n as f64 / self.wall.as_secs_f64(),
            p(0.5),
            p(0.99),
            p(1.0),
            self.failed
        );
    }
}

pub async fn run(a: HttpArgs) -> Result<u8, Fail> {
    taizhang_service::remind::install_tls();
    let (store, url, nodes) = ledger_db(a.db, a.items, a.units).await?;
    let app = App::new(store.clone());
    // A supervisor over the whole tree, signing in with an API token (no CSRF round trip).
    let root = nodes
        .first()
        .map(|n| n.0)
        .ok_or(Fail("no units".into(), 2))?;
    let sys = Actor::system("bench");
    let name = format!("bench{}", std::process::id());
    let user = taizhang_service::users::create(
        &app,
        &sys,
        taizhang_service::users::CreateUser {
            username: name.clone(),
            display_name: name.clone(),
            unit_id: root,
            password: "Bench#2026pw".into(),
            roles: vec![RoleAssignment {
                role: Role::Supervisor,
                scope: ScopeKind::All,
                units: vec![],
            }],
        },
    )
    .await?;
    {
        let mut tx = store.begin().await?;
        let hash = taizhang_service::auth::hash_password("Bench#2026pw".into()).await?;
        taizhang_store::users::set_password(&mut tx, user.user.id, &hash, false, app.now()).await?;
        tx.commit().await?;
    }
    let actor = Actor::load(&app, user.user.id, None)
        .await?
        .ok_or(Fail("bench user vanished".into(), 2))?;
    let (token, _) = taizhang_service::auth::create_token(&app, &actor, "bench", Some(1)).await?;

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .map_err(|e| Fail(format!("bind: {e}"), 2))?;
    let base = format!(
        "http://{}",
        listener.local_addr().map_err(|e| Fail(e.to_string(), 2))?
    );
    let state = taizhang_web::AppState {
        app: app.clone(),
        cookie_secure: false,
    };
    tokio::spawn(async move {
        let _ = taizhang_web::serve(state, listener).await;
    });

    let counties: Arc<Vec<i64>> =
        Arc::new(nodes.iter().filter(|n| n.2 == 2).map(|n| n.0).collect());
    let leaves: Arc<Vec<i64>> = Arc::new(nodes.iter().skip(1).map(|n| n.0).collect());
    let token = Arc::new(format!("Bearer {token}"));
    let base = Arc::new(base);
    println!(
        "backend: {:?} ({url}), {} items in the ledger, {} clients, {} requests per phase",
        store.backend(),
        a.items,
        a.clients,
        a.requests
    );

    let mut list = phase(
        "filtered list of 50 (in progress, one county's subtree)",
        a.clients,
        a.requests,
        {
            let (base, token, counties) = (base.clone(), token.clone(), counties.clone());
            move |c: reqwest::Client, k: usize| {
                let (base, token, counties) = (base.clone(), token.clone(), counties.clone());
                async move {
                    let unit = counties[k % counties.len()];
                    let t = Instant::now();
                    let r = c
                        .get(format!(
                            "{base}/api/v1/ledgers/1/items?state=in_progress&unit={unit}&limit=50"
                        ))
                        .header("authorization", token.as_str())
                        .send()
                        .await?;
                    let ok = r.status().is_success();
                    r.bytes().await?;
                    Ok::<_, reqwest::Error>(vec![(ok, t.elapsed())])
                }
            }
        },
    )
    .await;
    list.print();

    let mut write = phase("create + transition (新建事项, then 交办), each request counted", a.clients, a.requests / 2, {
        let (base, token, leaves) = (base.clone(), token.clone(), leaves.clone());
        move |c: reqwest::Client, k: usize| {
            let (base, token, leaves) = (base.clone(), token.clone(), leaves.clone());
            async move {
                let lead = leaves[k * 7919 % leaves.len()];
                let t = Instant::now();
                let r = c
                    .post(format!("{base}/api/v1/ledgers/1/items"))
                    .header("authorization", token.as_str())
                    .json(&serde_json::json!({
                        "source": "督查检查", "category": "企业类", "title": format!("压测事项{k}"),
                        "lead_unit_id": lead
                    }))
                    .send()
                    .await?;
                let ok1 = r.status().is_success();
                let v: serde_json::Value = r.json().await.unwrap_or_default();
                if !ok1 {
                    report_failure(&v);
                }
                let id = v["id"].as_i64().unwrap_or(0);
                let version = v["version"].as_i64().unwrap_or(0);
                let t1 = t.elapsed();
                let t = Instant::now();
                let r = c
                    .post(format!("{base}/api/v1/items/{id}/actions"))
                    .header("authorization", token.as_str())
                    .json(&serde_json::json!({"action": "assign", "deadline": "2027-06-30", "version": version}))
                    .send()
                    .await?;
                let ok2 = r.status().is_success();
                let v: serde_json::Value = r.json().await.unwrap_or_default();
                if !ok2 {
                    report_failure(&v);
                }
                Ok(vec![(ok1, t1), (ok2, t.elapsed())])
            }
        }
    })
    .await;
    write.print();
    Ok(if list.failed + write.failed == 0 {
        0
    } else {
        1
    })
}

/// Prints the first failed response body, so that a failing phase can be understood.
fn report_failure(body: &serde_json::Value) {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| eprintln!("first failure: {body}"));
}

/// Runs `total` operations over `clients` concurrent clients, each with its own keep-alive
/// connection; one operation may make several requests, each timed on its own.
async fn phase<F, Fut>(name: &'static str, clients: usize, total: usize, op: F) -> Phase
where
    F: Fn(reqwest::Client, usize) -> Fut + Clone + Send + 'static,
    Fut: std::future::Future<Output = Result<Vec<(bool, Duration)>, reqwest::Error>> + Send,
{
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let t = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..clients.max(1) {
        let (op, next) = (op.clone(), next.clone());
        tasks.push(tokio::spawn(async move {
            let c = reqwest::Client::builder()
                .pool_max_idle_per_host(1)
                .build()
                .expect("http client");
            let (mut lat, mut failed) = (Vec::new(), 0usize);
            loop {
                let k = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                if k >= total {
                    break;
                }
                match op(c.clone(), k).await {
                    Ok(done) => {
                        for (ok, d) in done {
                            lat.push(d);
                            failed += usize::from(!ok);
                        }
                    }
                    Err(_) => failed += 1,
                }
            }
            (lat, failed)
        }));
    }
    let mut p = Phase {
        name,
        wall: Duration::ZERO,
        lat: Vec::new(),
        failed: 0,
    };
    for task in tasks {
        if let Ok((lat, failed)) = task.await {
            p.lat.extend(lat);
            p.failed += failed;
        }
    }
    p.wall = t.elapsed();
    p
}
