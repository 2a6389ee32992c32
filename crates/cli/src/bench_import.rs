//! `taizhang bench import`: imports a generated N-row .xlsx (the ledger import template, every
//! row valid and sent out at once) into a fresh SQLite ledger, in a child process, and compares
//! its time with calamine alone reading the same file (the floor); reports each child's peak
//! memory (VmHWM).

use crate::Fail;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};
use taizhang_store::Store;

pub struct ImportArgs {
    pub rows: usize,
    pub units: usize,
    pub runs: usize,
    /// Set in the child processes: `calamine` or `import`.
    pub phase: Option<String>,
    pub file: Option<PathBuf>,
    pub db: Option<String>,
}

pub async fn run(a: ImportArgs) -> Result<u8, Fail> {
    match a.phase.as_deref() {
        Some(phase) => child(phase, a.file, a.db).await,
        None => parent(a).await,
    }
}

/// Peak resident memory of this process, in MiB (Linux `VmHWM`).
fn peak_mib() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse::<f64>().ok())
        })
        .map_or(f64::NAN, |kb| kb / 1024.0)
}

async fn child(phase: &str, file: Option<PathBuf>, db: Option<String>) -> Result<u8, Fail> {
    let file = file.ok_or(Fail("--file is required".into(), 2))?;
    let t = Instant::now();
    match phase {
        "calamine" => {
            let bytes = std::fs::read(&file).map_err(|e| Fail(e.to_string(), 2))?;
            let cells = taizhang_office::excel::calamine_only(&bytes)
                .map_err(|e| Fail(e.to_string(), 2))?;
            eprintln!("{cells} cells");
        }
        "read" => {
            let bytes = std::fs::read(&file).map_err(|e| Fail(e.to_string(), 2))?;
            let sheet =
                taizhang_service::ledger_excel::read(&bytes).map_err(|e| Fail(e.to_string(), 2))?;
            eprintln!("{} rows", sheet.rows.len());
        }
        "import" => {
            let db = db.ok_or(Fail("--db is required".into(), 2))?;
            let code = crate::import_ledger(&file, "1", &db).await?;
            if code != 0 {
                return Ok(code);
            }
        }
        other => return Err(Fail(format!("unknown phase {other}"), 2)),
    }
    println!("RESULT {} {}", t.elapsed().as_secs_f64(), peak_mib());
    Ok(0)
}

fn run_child(args: &[&str]) -> Result<(f64, f64), Fail> {
    let exe = std::env::current_exe().map_err(|e| Fail(e.to_string(), 2))?;
    let out = std::process::Command::new(exe)
        .args(["bench", "import"])
        .args(args)
        .stderr(std::process::Stdio::inherit())
        .output()
        .map_err(|e| Fail(e.to_string(), 2))?;
    let text = String::from_utf8_lossy(&out.stdout);
    let line = text
        .lines()
        .find_map(|l| l.strip_prefix("RESULT "))
        .ok_or_else(|| Fail(format!("child {args:?} failed: {text}"), 2))?;
    let mut f = line
        .split_whitespace()
        .map(|x| x.parse::<f64>().unwrap_or(f64::NAN));
    Ok((f.next().unwrap_or(f64::NAN), f.next().unwrap_or(f64::NAN)))
}

async fn fresh_ledger(path: &Path, n_units: usize) -> Result<(), Fail> {
    let _ = std::fs::remove_file(path);
    let store = Store::connect(&format!("sqlite:{}", path.display())).await?;
    crate::bench::generate_tree(&store, n_units).await?;
    store
        .execute_raw(
            "INSERT INTO ledgers (id, name, kind, owner_unit_id, period, yellow_days, active, version, created_at, updated_at) \
             VALUES (1, '导入测试台账', '督办', 1, '2026', 3, TRUE, 1, 0, 0)",
        )
        .await?;
    store.close().await;
    Ok(())
}

async fn parent(a: ImportArgs) -> Result<u8, Fail> {
    let dir = std::env::temp_dir().join(format!("taizhang-bench-import-{}", std::process::id()));
    std::fs::create_dir_all(&dir).map_err(|e| Fail(e.to_string(), 2))?;
    let file = dir.join("items.xlsx");
    let t = Instant::now();
    let rows: Vec<Vec<String>> = (0..a.rows)
        .map(|k| {
            let unit = 2 + k % (a.units.max(2) - 1);
            vec![
                String::new(),
                "督查检查".into(),
                "企业类".into(),
                "一般".into(),
                format!("导入事项{k}:校舍安全隐患整改"),
                "按要求完成整改并报送佐证材料".into(),
                String::new(),
                "张三".into(),
                "李四".into(),
                format!("企业{k}"),
                format!("B{unit}"),
                "本级办理".into(),
                "每月".into(),
                "制定整改方案".into(),
                "2027.6.30".into(),
                "是".into(),
            ]
        })
        .collect();
    let bytes = taizhang_office::excel::write(
        "督办事项",
        taizhang_service::ledger_excel::IMPORT_COLUMNS,
        &rows,
        true,
    )
    .map_err(|e| Fail(e.to_string(), 2))?;
    drop(rows);
    std::fs::write(&file, &bytes).map_err(|e| Fail(e.to_string(), 2))?;
    eprintln!(
        "wrote {} rows ({:.1} MiB) in {:.1} s",
        a.rows,
        bytes.len() as f64 / 1048576.0,
        t.elapsed().as_secs_f64()
    );
    let f = file.display().to_string();
    let (mut floor, mut import, mut read) = (Vec::new(), Vec::new(), Vec::new());
    let (mut floor_mem, mut import_mem, mut read_mem) = (0f64, 0f64, 0f64);
    for _ in 0..a.runs.max(1) {
        let (s, m) = run_child(&["--phase", "calamine", "--file", &f])?;
        floor.push(Duration::from_secs_f64(s));
        floor_mem = floor_mem.max(m);
        let (s, m) = run_child(&["--phase", "read", "--file", &f])?;
        read.push(Duration::from_secs_f64(s));
        read_mem = read_mem.max(m);
        let db = dir.join("import.db");
        fresh_ledger(&db, a.units).await?;
        let url = format!("sqlite:{}", db.display());
        let (s, m) = run_child(&["--phase", "import", "--file", &f, "--db", &url])?;
        import.push(Duration::from_secs_f64(s));
        import_mem = import_mem.max(m);
    }
    let med = |v: &mut Vec<Duration>| {
        v.sort();
        v[v.len() / 2].as_secs_f64()
    };
    let (fl, im, rd) = (med(&mut floor), med(&mut import), med(&mut read));
    println!(
        "{} rows: reading and checking the template alone (zip limits + calamine + cells to text) median {rd:.2} s (peak {read_mem:.0} MiB)",
        a.rows
    );
    println!(
        "{} rows: calamine alone median {fl:.2} s (peak {floor_mem:.0} MiB); taizhang import ledger median {im:.2} s (peak {import_mem:.0} MiB); ratio {:.2}× over {} runs",
        a.rows,
        im / fl,
        a.runs.max(1)
    );
    let _ = std::fs::remove_dir_all(&dir);
    Ok(0)
}
