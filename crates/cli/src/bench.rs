//! `taizhang bench …`: the measurements named in the issues, as programs rather than timed
//! tests. Each prints what it measured; BENCHMARKS.md records the figures with the command.

use crate::Fail;
use clap::Subcommand;
use std::time::{Duration, Instant};
use taizhang_domain::audit::{AuditEvent, ChainVerifier, GENESIS};
use taizhang_domain::scope::Scope;
use taizhang_store::Store;
use taizhang_store::units::{self, UnitFilter};

#[derive(Subcommand)]
pub enum BenchCmd {
    /// Scope check (fetch one unit through a subtree scope) and listing 100 units in scope, on a
    /// generated tree of N units.
    Tree {
        /// Database URL; a new SQLite file in a temp dir when omitted
        #[arg(long)]
        db: Option<String>,
        #[arg(long, default_value_t = 100_000)]
        units: usize,
        #[arg(long, default_value_t = 2000)]
        iterations: usize,
    },
    /// Start-to-ready time of `taizhang serve` on an existing database, and idle resident memory.
    Startup {
        /// Existing database to serve (e.g. the one `bench tree` leaves behind)
        #[arg(long)]
        db: String,
        #[arg(long, default_value_t = 20)]
        runs: usize,
    },
    /// Supervision ledger at province scale: generates N items over M units (or reuses them in
    /// --db), then times the ledger figures, a filtered list page, and the same GROUP BYs in
    /// the sqlite3 shell (the floor).
    Ledger {
        #[arg(long)]
        db: Option<String>,
        #[arg(long, default_value_t = 1_000_000)]
        items: usize,
        #[arg(long, default_value_t = 10_000)]
        units: usize,
        #[arg(long, default_value_t = 5)]
        runs: usize,
    },
    /// The JSON API on loopback under C concurrent keep-alive clients: a filtered list of 50,
    /// then create + transition; throughput and p50/p99. Uses (or generates) the benchmark
    /// ledger in --db.
    Http {
        #[arg(long)]
        db: Option<String>,
        #[arg(long, default_value_t = 100_000)]
        items: usize,
        #[arg(long, default_value_t = 10_000)]
        units: usize,
        #[arg(long, default_value_t = 8)]
        clients: usize,
        #[arg(long, default_value_t = 20_000)]
        requests: usize,
    },
    /// Import of an N-row .xlsx into a fresh ledger (time and peak memory), against calamine
    /// alone reading the same file.
    Import {
        #[arg(long, default_value_t = 100_000)]
        rows: usize,
        #[arg(long, default_value_t = 1_000)]
        units: usize,
        #[arg(long, default_value_t = 3)]
        runs: usize,
        #[arg(long, hide = true)]
        phase: Option<String>,
        #[arg(long, hide = true)]
        file: Option<std::path::PathBuf>,
        #[arg(long, hide = true)]
        db: Option<String>,
    },
    /// The quality-2017 evaluation over a national-scale data set (N schools over C counties)
    /// and the import of that data set: time and peak memory. See scripts/bench-indicators.sh
    /// for the DuckDB comparison.
    Indicators {
        #[arg(long, default_value_t = 500_000)]
        schools: usize,
        #[arg(long, default_value_t = 2_800)]
        counties: usize,
        #[arg(long, default_value_t = 5)]
        runs: usize,
        /// Keep the generated CSV in this directory.
        #[arg(long)]
        out: Option<std::path::PathBuf>,
        #[arg(long)]
        skip_import: bool,
        #[arg(long, hide = true)]
        phase: Option<String>,
        #[arg(long, hide = true)]
        file: Option<std::path::PathBuf>,
        #[arg(long, hide = true)]
        db: Option<String>,
    },
    /// The report checker: throughput in characters per second on a file (the seed reports),
    /// and precision and recall on the labelled corpus.
    Checker {
        #[arg(long, default_value = "../shared/seeds/000_9f41f260c02e1daa.txt")]
        file: std::path::PathBuf,
        #[arg(long, default_value_t = 20)]
        runs: usize,
    },
    /// Generating the `tongbao` circular as .docx for a ledger of N items over M units (the
    /// ledger generated as `bench ledger` does, or reused in --db): median time of the whole
    /// request (data, template, layout, zip) and of each part, and the output size.
    Report {
        #[arg(long)]
        db: Option<String>,
        #[arg(long, default_value_t = 10_000)]
        items: usize,
        #[arg(long, default_value_t = 200)]
        units: usize,
        #[arg(long, default_value_t = 11)]
        runs: usize,
        /// Keep the last .docx here (to open it).
        #[arg(long)]
        out: Option<std::path::PathBuf>,
    },
    /// Audit verification throughput over N generated events.
    Audit {
        #[arg(long)]
        db: Option<String>,
        #[arg(long, default_value_t = 1_000_000)]
        events: usize,
    },
}

fn stats(mut v: Vec<Duration>) -> String {
    v.sort();
    let p = |q: f64| v[((v.len() as f64 - 1.0) * q).round() as usize];
    format!(
        "median {:.3} ms, p95 {:.3} ms, max {:.3} ms over {} runs",
        p(0.5).as_secs_f64() * 1e3,
        p(0.95).as_secs_f64() * 1e3,
        p(1.0).as_secs_f64() * 1e3,
        v.len()
    )
}

fn temp_sqlite(name: &str) -> String {
    let dir = std::env::temp_dir().join(format!("taizhang-bench-{}", std::process::id()));
    let _ = std::fs::create_dir_all(&dir);
    format!("sqlite:{}", dir.join(name).display())
}

async fn open_empty(db: Option<String>, name: &str) -> Result<(Store, String), Fail> {
    let url = db.unwrap_or_else(|| temp_sqlite(name));
    let store = Store::connect(&url).await?;
    let mut c = store.conn().await?;
    let n = units::count(
        &mut c,
        &Scope::everything(),
        &UnitFilter {
            include_inactive: true,
            limit: 1,
            ..Default::default()
        },
    )
    .await?;
    if n > 0 {
        return Err(Fail(
            format!("{url} is not empty: benchmarks generate their own data"),
            2,
        ));
    }
    Ok((store.clone(), url))
}

/// A deterministic pseudo-random sequence (no dependency needed for benchmark sampling).
struct Lcg(u64);
impl Lcg {
    fn next(&mut self, n: usize) -> usize {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((self.0 >> 33) as usize) % n.max(1)
    }
}

pub async fn run(cmd: BenchCmd) -> Result<u8, Fail> {
    match cmd {
        BenchCmd::Tree {
            db,
            units: n,
            iterations,
        } => bench_tree(db, n, iterations).await,
        BenchCmd::Startup { db, runs } => bench_startup(&db, runs).await,
        BenchCmd::Audit { db, events } => bench_audit(db, events).await,
        BenchCmd::Ledger {
            db,
            items,
            units,
            runs,
        } => bench_ledger(db, items, units, runs).await,
        BenchCmd::Report {
            db,
            items,
            units,
            runs,
            out,
        } => bench_report(db, items, units, runs, out).await,
        BenchCmd::Checker { file, runs } => {
            let bytes = std::fs::read(&file)
                .map_err(|e| Fail(format!("cannot read {}: {e}", file.display()), 2))?;
            let text =
                taizhang_office::text::report_text(&bytes).map_err(|e| Fail(e.to_string(), 2))?;
            let chars = text.chars().count();
            let mut times = Vec::new();
            let mut findings = 0;
            for _ in 0..runs.max(1) {
                let t = std::time::Instant::now();
                findings = taizhang_domain::checker::check(&text, false).len();
                times.push(t.elapsed());
            }
            times.sort();
            let med = times[times.len() / 2].as_secs_f64();
            println!(
                "checker on {} ({chars} characters, {findings} findings): median {:.2} ms over {} runs = {:.0} chars/s",
                file.display(),
                med * 1000.0,
                runs.max(1),
                chars as f64 / med
            );
            let (tp, reported, expected) = taizhang_domain::checker::corpus_score();
            println!(
                "labelled corpus ({} cases): precision {tp}/{reported} = {:.2}, recall {tp}/{expected} = {:.2}",
                taizhang_domain::checker::corpus().len(),
                if reported == 0 {
                    1.0
                } else {
                    tp as f64 / reported as f64
                },
                if expected == 0 {
                    1.0
                } else {
                    tp as f64 / expected as f64
                }
            );
            Ok(0)
        }
        BenchCmd::Indicators {
            schools,
            counties,
            runs,
            out,
            skip_import,
            phase,
            file,
            db,
        } => {
            crate::bench_indicators::run(crate::bench_indicators::IndicatorArgs {
                schools,
                counties,
                runs,
                out,
                phase,
                file,
                db,
                skip_import,
            })
            .await
        }
        BenchCmd::Import {
            rows,
            units,
            runs,
            phase,
            file,
            db,
        } => {
            crate::bench_import::run(crate::bench_import::ImportArgs {
                rows,
                units,
                runs,
                phase,
                file,
                db,
            })
            .await
        }
        BenchCmd::Http {
            db,
            items,
            units,
            clients,
            requests,
        } => {
            crate::bench_http::run(crate::bench_http::HttpArgs {
                db,
                items,
                units,
                clients,
                requests,
            })
            .await
        }
    }
}

/// Generates a province-like tree: 1 root, 20 cities, 10 counties each, then towns and
/// villages until `n` units; bulk-inserted with raw SQL in batches.
pub(crate) async fn generate_tree(
    store: &Store,
    n: usize,
) -> Result<Vec<(i64, String, i64)>, Fail> {
    let mut nodes: Vec<(i64, String, i64)> = Vec::with_capacity(n); // (id, path, depth)
    let mut id = 0i64;
    let mut push = |parent: Option<usize>, nodes: &mut Vec<(i64, String, i64)>| {
        id += 1;
        let (path, depth) = match parent {
            Some(p) => (format!("{}{id}/", nodes[p].1), nodes[p].2 + 1),
            None => (format!("/{id}/"), 0),
        };
        nodes.push((id, path, depth));
    };
    push(None, &mut nodes);
    let mut level: Vec<usize> = vec![0];
    for fanout in [20usize, 10, 10] {
        let mut next = Vec::new();
        for &p in &level {
            for _ in 0..fanout {
                if nodes.len() >= n {
                    break;
                }
                push(Some(p), &mut nodes);
                next.push(nodes.len() - 1);
            }
        }
        level = next;
    }
    let mut i = 0;
    while nodes.len() < n {
        let p = level[i % level.len()];
        push(Some(p), &mut nodes);
        i += 1;
    }
    let t = Instant::now();
    for chunk in nodes.chunks(2000) {
        let mut sql = String::from("BEGIN; ");
        for (id, path, depth) in chunk {
            let parent = path
                .trim_end_matches('/')
                .rsplit('/')
                .nth(1)
                .filter(|s| !s.is_empty())
                .unwrap_or("NULL");
            let kind = match depth {
                0 => "bureau",
                1 | 2 => "bureau",
                3 => "town",
                _ => "village",
            };
            sql.push_str(&format!(
                "INSERT INTO units (id, parent_id, path, depth, code, name, kind, rural, active, attrs, sort_order, version, created_at, updated_at) \
                 VALUES ({id}, {parent}, '{path}', {depth}, 'B{id}', '单位{id}', '{kind}', FALSE, TRUE, '{{}}', 0, 1, 0, 0);"
            ));
        }
        sql.push_str("COMMIT;");
        store.execute_raw(&sql).await?;
    }
    if store.backend() == taizhang_store::Backend::Postgres {
        store.execute_raw("SELECT setval(pg_get_serial_sequence('units', 'id'), (SELECT max(id) FROM units)); ANALYZE units;").await?;
    } else {
        store.execute_raw("ANALYZE;").await?;
    }
    eprintln!(
        "generated {} units in {:.1} s",
        nodes.len(),
        t.elapsed().as_secs_f64()
    );
    Ok(nodes)
}

async fn bench_tree(db: Option<String>, n: usize, iterations: usize) -> Result<u8, Fail> {
    let (store, url) = open_empty(db, "tree.db").await?;
    let nodes = generate_tree(&store, n).await?;
    // Scopes are "own unit and below" at county level (depth 2): each holds ~n/200 units.
    let counties: Vec<&(i64, String, i64)> = nodes.iter().filter(|x| x.2 == 2).collect();
    let mut rng = Lcg(42);
    let mut c = store.conn().await?;
    let (mut check, mut list, mut miss) = (Vec::new(), Vec::new(), Vec::new());
    let mut listed = 0usize;
    for _ in 0..iterations {
        let county = counties[rng.next(counties.len())];
        let scope = Scope {
            subtrees: vec![county.1.clone()],
            ..Scope::none()
        };
        // The scope's own root (inside), and a random unit (almost always outside).
        let target = nodes[rng.next(nodes.len())].0;
        let t = Instant::now();
        let found = units::get(&mut c, &scope, county.0).await?;
        check.push(t.elapsed());
        assert!(found.is_some());
        let t = Instant::now();
        let _ = units::get(&mut c, &scope, target).await?;
        miss.push(t.elapsed());
        let t = Instant::now();
        let rows = units::list(
            &mut c,
            &scope,
            &UnitFilter {
                limit: 100,
                ..Default::default()
            },
        )
        .await?;
        list.push(t.elapsed());
        listed += rows.len();
    }
    println!(
        "backend: {:?} ({url}), {} units",
        store.backend(),
        nodes.len()
    );
    println!("scope check, unit inside the scope:   {}", stats(check));
    println!("scope check, random unit (mostly 404): {}", stats(miss));
    println!(
        "list 100 units in a county scope:      {} ({} rows per list on average)",
        stats(list),
        listed / iterations.max(1)
    );
    Ok(0)
}

fn rss_kib(pid: u32) -> Option<u64> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    s.lines()
        .find(|l| l.starts_with("VmRSS:"))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

async fn bench_startup(db: &str, runs: usize) -> Result<u8, Fail> {
    let exe = std::env::current_exe()?;
    let mut times = Vec::new();
    let mut rss = Vec::new();
    for _ in 0..runs {
        let port = std::net::TcpListener::bind("127.0.0.1:0")?
            .local_addr()?
            .port();
        let addr = format!("127.0.0.1:{port}");
        let t = Instant::now();
        let mut child = std::process::Command::new(&exe)
            .args([
                "serve",
                "--db",
                db,
                "--listen",
                &addr,
                "--admin-user",
                "operator",
                "--admin-password",
                "Bench#Pass2026",
            ])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()?;
        let ready = loop {
            if let Ok(mut s) = std::net::TcpStream::connect(&addr) {
                use std::io::{Read, Write};
                let _ =
                    s.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
                let mut buf = String::new();
                let _ = s.read_to_string(&mut buf);
                if buf.starts_with("HTTP/1.1 200") {
                    break t.elapsed();
                }
            }
            if t.elapsed() > Duration::from_secs(30) {
                let _ = child.kill();
                return Err(Fail("server did not become ready in 30 s".into(), 2));
            }
            std::thread::sleep(Duration::from_millis(1));
        };
        times.push(ready);
        std::thread::sleep(Duration::from_millis(1000));
        if let Some(k) = rss_kib(child.id()) {
            rss.push(k);
        }
        let _ = child.kill();
        let _ = child.wait();
    }
    rss.sort();
    println!(
        "start to ready (GET /healthz answers 200) on {db}: {}",
        stats(times)
    );
    if !rss.is_empty() {
        println!(
            "idle resident memory 1 s after ready: median {:.1} MiB, max {:.1} MiB",
            rss[rss.len() / 2] as f64 / 1024.0,
            rss[rss.len() - 1] as f64 / 1024.0
        );
    }
    Ok(0)
}

async fn bench_audit(db: Option<String>, n: usize) -> Result<u8, Fail> {
    let (store, url) = open_empty(db, "audit.db").await?;
    // Build the chain in memory first: this also measures pure hashing throughput.
    let mut events = Vec::with_capacity(n);
    let (mut seq, mut head) = (0i64, GENESIS.to_string());
    for i in 0..n as i64 {
        let mut e = AuditEvent {
            seq: 0,
            at: 1_780_000_000_000 + i,
            actor_id: Some(1 + i % 50),
            actor_name: format!("user{}", i % 50),
            unit_id: Some(1 + i % 1000),
            action: "unit.update".into(),
            entity: "unit".into(),
            entity_id: (i % 1000).to_string(),
            before: Some(format!("{{\"name\":\"单位{i}\",\"version\":{i}}}")),
            after: Some(format!("{{\"name\":\"单位{i}改\",\"version\":{}}}", i + 1)),
            ip: Some("10.0.0.1".into()),
            prev_hash: String::new(),
            hash: String::new(),
        };
        e.seal(seq, &head);
        seq = e.seq;
        head = e.hash.clone();
        events.push(e);
    }
    let t = Instant::now();
    let mut v = ChainVerifier::default();
    for e in &events {
        v.push(e)
            .map_err(|b| Fail(format!("generated chain broken at {}", b.seq), 2))?;
    }
    let cpu = t.elapsed();
    println!(
        "in-memory chain check: {} events in {:.3} s = {:.0} events/s (one core)",
        n,
        cpu.as_secs_f64(),
        n as f64 / cpu.as_secs_f64()
    );
    let t = Instant::now();
    store
        .execute_raw("DROP TRIGGER IF EXISTS audit_events_no_update")
        .await
        .ok();
    for chunk in events.chunks(1000) {
        let mut sql = String::from(
            "BEGIN; INSERT INTO audit_events (seq, at, actor_id, actor_name, unit_id, action, entity, entity_id, before_json, after_json, ip, prev_hash, hash) VALUES ",
        );
        for (k, e) in chunk.iter().enumerate() {
            if k > 0 {
                sql.push(',');
            }
            sql.push_str(&format!(
                "({}, {}, {}, '{}', {}, '{}', '{}', '{}', '{}', '{}', '{}', '{}', '{}')",
                e.seq,
                e.at,
                e.actor_id.unwrap_or(0),
                e.actor_name,
                e.unit_id.unwrap_or(0),
                e.action,
                e.entity,
                e.entity_id,
                e.before.as_deref().unwrap_or(""),
                e.after.as_deref().unwrap_or(""),
                e.ip.as_deref().unwrap_or(""),
                e.prev_hash,
                e.hash
            ));
        }
        sql.push_str("; COMMIT;");
        store.execute_raw(&sql).await?;
    }
    drop(events);
    eprintln!("loaded {n} events in {:.1} s", t.elapsed().as_secs_f64());
    let t = Instant::now();
    let r = taizhang_service::audit::verify(&store, None).await?;
    let d = t.elapsed();
    println!("backend: {:?} ({url})", store.backend());
    println!("{}", r.summary());
    println!(
        "audit verify from the database: {} events in {:.3} s = {:.0} events/s",
        r.events,
        d.as_secs_f64(),
        r.events as f64 / d.as_secs_f64()
    );
    Ok(if r.intact { 0 } else { 1 })
}

/// The benchmark ledger: generated into an empty database, or reused when `db` already holds
/// it (so that each measurement need not wait for the generator).
pub(crate) async fn ledger_db(
    db: Option<String>,
    n_items: usize,
    n_units: usize,
) -> Result<(Store, String, Vec<(i64, String, i64)>), Fail> {
    if let Some(url) = &db {
        let store = Store::connect(url).await?;
        let mut c = store.conn().await?;
        let scope = Scope::everything();
        let have = taizhang_store::ledger::count_items(
            &mut c,
            &scope,
            &taizhang_store::ledger::ItemFilter {
                ledger_id: Some(1),
                ..Default::default()
            },
        )
        .await?;
        if have > 0 {
            // The HTTP benchmark adds items; fewer than asked means another ledger.
            if (have as usize) < n_items {
                return Err(Fail(
                    format!("{url} holds a benchmark ledger of {have} items, fewer than {n_items}"),
                    2,
                ));
            }
            let mut nodes = Vec::new();
            loop {
                let page = units::list(
                    &mut c,
                    &scope,
                    &UnitFilter {
                        include_inactive: true,
                        limit: 10_000,
                        offset: nodes.len() as i64,
                        ..Default::default()
                    },
                )
                .await?;
                let done = page.len() < 10_000;
                nodes.extend(page.into_iter().map(|u| (u.id, u.path, u.depth)));
                if done {
                    break;
                }
            }
            eprintln!("reusing the {have}-item benchmark ledger in {url}");
            return Ok((store, url.clone(), nodes));
        }
    }
    let (store, url) = open_empty(db, "ledger.db").await?;
    let nodes = generate_tree(&store, n_units).await?;
    store
        .execute_raw(
            "INSERT INTO ledgers (id, name, kind, owner_unit_id, period, yellow_days, active, version, created_at, updated_at) \
             VALUES (1, '省级督办台账', '督办', 1, '2026', 3, TRUE, 1, 0, 0)",
        )
        .await?;
    let t = Instant::now();
    let mut rng = Lcg(7);
    let base = chrono::NaiveDate::from_ymd_opt(2025, 1, 1).unwrap_or_default();
    let mut id = 0usize;
    while id < n_items {
        let mut sql = String::from(
            "BEGIN; INSERT INTO items (id, ledger_id, number, source, category, urgency, title, lead_unit_id, level, cycle, \
             state, assigned_on, deadline, closed_on, reminders, version, created_at, updated_at) VALUES ",
        );
        for k in 0..1000.min(n_items - id) {
            id += 1;
            let lead = nodes[1 + rng.next(nodes.len() - 1)].0;
            let assigned = base + chrono::Duration::days(rng.next(640) as i64);
            let deadline = assigned + chrono::Duration::days(30);
            let roll = rng.next(100);
            let (state, closed) = match roll {
                0..=44 => (
                    "closed",
                    Some(assigned + chrono::Duration::days(rng.next(45) as i64)),
                ),
                45..=84 => ("in_progress", None),
                85..=94 => ("assigned", None),
                _ => ("submitted", None),
            };
            if k > 0 {
                sql.push(',');
            }
            let src = ["督查检查", "精准帮扶", "群众意见", "巡察反馈", "上级交办"][rng.next(5)];
            let cat = ["企业类", "项目类", "农村基层类"][rng.next(3)];
            sql.push_str(&format!(
                "({id}, 1, 'P-{id}', '{src}', '{cat}', '一般', '事项{id}', {lead}, '{}', 'none', '{state}', '{assigned}', '{deadline}', {}, 0, 1, 0, 0)",
                if rng.next(10) == 0 { "escalate" } else { "local" },
                closed.map(|d| format!("'{d}'")).unwrap_or_else(|| "NULL".into())
            ));
        }
        sql.push_str("; COMMIT;");
        store.execute_raw(&sql).await?;
    }
    if store.backend() == taizhang_store::Backend::Sqlite {
        store.execute_raw("ANALYZE;").await?;
    } else {
        // The generator gives explicit ids: move the identity sequences past them.
        store
            .execute_raw(
                "SELECT setval(pg_get_serial_sequence('units', 'id'), (SELECT max(id) FROM units)); \
                 SELECT setval(pg_get_serial_sequence('ledgers', 'id'), (SELECT max(id) FROM ledgers)); \
                 SELECT setval(pg_get_serial_sequence('items', 'id'), (SELECT max(id) FROM items)); \
                 ANALYZE items;",
            )
            .await?;
    }
    eprintln!(
        "generated {n_items} items over {} units in {:.1} s",
        nodes.len(),
        t.elapsed().as_secs_f64()
    );
    // Reopen, so that every pooled connection plans with the statistics ANALYZE just wrote
    // (connections opened before it keep planning without them).
    store.close().await;
    let store = Store::connect(&url).await?;
    Ok((store, url, nodes))
}

async fn bench_ledger(
    db: Option<String>,
    n_items: usize,
    n_units: usize,
    runs: usize,
) -> Result<u8, Fail> {
    let (store, url, nodes) = ledger_db(db, n_items, n_units).await?;
    let app = taizhang_service::App::new(store.clone());
    let sys = taizhang_service::Actor::system("bench");
    let mut fig = Vec::new();
    for _ in 0..runs {
        let t = Instant::now();
        let f = taizhang_service::ledger::figures(
            &app,
            &sys,
            &taizhang_store::ledger::ItemFilter {
                ledger_id: Some(1),
                limit: 1,
                ..Default::default()
            },
        )
        .await?;
        fig.push(t.elapsed());
        assert!(f.overall.total as usize >= n_items);
    }
    let counties: Vec<&(i64, String, i64)> = nodes.iter().filter(|x| x.2 == 2).collect();
    let mut rng = Lcg(11);
    let mut list = Vec::new();
    for _ in 0..50 {
        let county = counties[rng.next(counties.len())];
        let f = taizhang_store::ledger::ItemFilter {
            ledger_id: Some(1),
            states: vec!["in_progress".into()],
            lead_under: Some(county.1.clone()),
            limit: 50,
            ..Default::default()
        };
        let t = Instant::now();
        let _ = taizhang_service::ledger::list_items(&app, &sys, &f).await?;
        list.push(t.elapsed());
    }
    // The floor: the GROUP BYs that give the same figures, run in the sqlite3 shell on the
    // same file (without the working days to close, which need the calendar).
    let shell = match store.sqlite_file() {
        Some(path) => shell_floor(path, runs),
        None => None,
    };
    println!(
        "backend: {:?} ({url}), {n_items} items, {} units",
        store.backend(),
        nodes.len()
    );
    println!(
        "ledger figures (overall + by unit/source/category/level/month): {}",
        stats(fig.clone())
    );
    println!(
        "filtered list page (in progress, county subtree, 50 rows + total): {}",
        stats(list)
    );
    match shell {
        Some((unit, all)) => {
            let fig_median = median(&fig);
            println!(
                "floor, sqlite3 shell: the unit-ranking GROUP BY {}; all seven GROUP BYs (unit, source, category, level, state, month assigned, month closed) {}",
                stats(unit.clone()),
                stats(all.clone())
            );
            println!(
                "figures ÷ floor: {:.2}× the unit-ranking GROUP BY, {:.2}× the seven GROUP BYs",
                fig_median / median(&unit),
                fig_median / median(&all)
            );
        }
        None => {
            println!("floor: not measured (needs an SQLite file and the sqlite3 shell on PATH)")
        }
    }
    Ok(0)
}

fn median(v: &[Duration]) -> f64 {
    let mut s: Vec<f64> = v.iter().map(Duration::as_secs_f64).collect();
    s.sort_by(f64::total_cmp);
    s.get(s.len() / 2).copied().unwrap_or(f64::NAN)
}

/// Runs the figures' GROUP BYs in the `sqlite3` shell with `.timer on`, `runs` times; gives the
/// unit-ranking statement's times and the whole set's, or None without the shell.
fn shell_floor(path: &std::path::Path, runs: usize) -> Option<(Vec<Duration>, Vec<Duration>)> {
    let today = chrono::Utc::now().format("%Y-%m-%d");
    let counted = "(i.state <> 'draft' AND (i.closed_on IS NOT NULL OR i.state NOT IN ('cancelled', 'archived')))";
    let measures = format!(
        "sum({counted}), sum({counted} AND i.closed_on IS NOT NULL), sum({counted} AND i.closed_on <= i.deadline), \
         sum({counted} AND i.closed_on IS NULL AND i.state IN ('assigned', 'in_progress', 'submitted', 'escalated') AND i.deadline < '{today}')"
    );
    let from = "items i JOIN units lu ON lu.id = i.lead_unit_id WHERE i.ledger_id = 1";
    let mut script = String::from(".output /dev/null\n.timer on\nPRAGMA mmap_size = 1073741824;\n");
    for _ in 0..runs {
        script.push_str(&format!(
            "SELECT i.lead_unit_id, lu.name, {measures} FROM {from} GROUP BY i.lead_unit_id;\n"
        ));
        for key in ["i.source", "i.category", "i.level"] {
            script.push_str(&format!(
                "SELECT {key}, {measures} FROM {from} GROUP BY {key};\n"
            ));
        }
        script.push_str(&format!(
            "SELECT i.state, count(*) FROM {from} GROUP BY i.state;\n"
        ));
        for col in ["i.assigned_on", "i.closed_on"] {
            script.push_str(&format!(
                "SELECT substr({col}, 1, 7), count(*) FROM {from} GROUP BY 1;\n"
            ));
        }
    }
    let out = std::process::Command::new("sqlite3")
        .arg(path)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .and_then(|mut child| {
            use std::io::Write;
            child
                .stdin
                .take()
                .map(|mut i| i.write_all(script.as_bytes()))
                .transpose()?;
            child.wait_with_output()
        })
        .ok()?;
    // `.timer on` prints "Run Time: real 0.123 user … sys …" after each statement.
    let times: Vec<Duration> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.strip_prefix("Run Time: real "))
        .filter_map(|l| l.split_whitespace().next()?.parse::<f64>().ok())
        .map(Duration::from_secs_f64)
        .collect();
    // The PRAGMA's own line comes first; then 7 statements per run.
    let times = times.get(times.len().checked_sub(7 * runs)?..)?;
    let unit = times.chunks(7).map(|c| c[0]).collect();
    let all = times.chunks(7).map(|c| c.iter().sum()).collect();
    Some((unit, all))
}

async fn bench_report(
    db: Option<String>,
    n_items: usize,
    n_units: usize,
    runs: usize,
    out: Option<std::path::PathBuf>,
) -> Result<u8, Fail> {
    use taizhang_service::reports::{self, Format, ReportRequest};
    let (store, url, _nodes) = ledger_db(db, n_items, n_units).await?;
    let app = taizhang_service::App::new(store.clone());
    let sys = taizhang_service::Actor::system("bench");
    let req = ReportRequest {
        template: "tongbao".into(),
        ledger: Some("1".into()),
        ..Default::default()
    };
    let (mut total, mut render, mut docx, mut md) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let mut last = Vec::new();
    let mut facts = (String::new(), 0usize, 0usize);
    for _ in 0..runs.max(1) {
        let t = Instant::now();
        let r = reports::render(&app, &sys, &req).await?;
        let rendered = t.elapsed();
        let t2 = Instant::now();
        let bytes = r.output(Format::Docx, false);
        let zipped = t2.elapsed();
        total.push(t.elapsed());
        render.push(rendered);
        docx.push(zipped);
        let t3 = Instant::now();
        let m = r.output(Format::Markdown, false);
        md.push(t3.elapsed());
        facts = (r.title.clone(), r.doc.figures.len(), m.len());
        last = bytes;
    }
    println!(
        "backend: {:?} ({url}), ledger of {n_items} items over {n_units} units",
        store.backend()
    );
    println!(
        "tongbao as .docx, whole (data + template + layout + zip): {}",
        stats(total)
    );
    println!("  data + template (render): {}", stats(render));
    println!("  .docx layout + zip:       {}", stats(docx));
    println!("  (Markdown instead:        {})", stats(md));
    println!(
        "output: {} bytes .docx ({} KiB), {} bytes Markdown, {} figures; title {}",
        last.len(),
        last.len() / 1024,
        facts.2,
        facts.1,
        facts.0
    );
    if let Some(p) = out {
        std::fs::write(&p, &last)?;
        println!("wrote {}", p.display());
    }
    Ok(0)
}
