//! `taizhang bench indicators`: a national-scale school data set (N schools over C counties,
//! mixed types) written as the school import CSV; then, each in a child process so that its
//! peak memory (VmHWM) is its own:
//! - `eval`: the `quality-2017` evaluation over all of it (every school, every county, both
//!   stages, CVs and verdicts) from data in memory: median time of R runs;
//! - `import`: `taizhang import schools` of the whole file into a fresh SQLite database that
//!   holds the counties.
//!
//! `scripts/bench-indicators.sh` runs this and the same evaluation as one DuckDB query on the
//! same CSV (`scripts/bench_duckdb.py`), and prints the ratio.

use crate::Fail;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::{Duration, Instant};
use taizhang_domain::evaluate::{SchoolData, evaluate};
use taizhang_domain::standards;
use taizhang_service::schools_import::{SCHOOL_COLUMNS, parse_row};

pub struct IndicatorArgs {
    pub schools: usize,
    pub counties: usize,
    pub runs: usize,
    /// Keep the generated CSV here (for the DuckDB comparison).
    pub out: Option<PathBuf>,
    pub phase: Option<String>,
    pub file: Option<PathBuf>,
    pub db: Option<String>,
    pub skip_import: bool,
}

/// A small deterministic generator (xorshift64*), so every run sees the same data.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.next() % (hi - lo + 1)
    }
}

/// One generated row in template order.
fn school_row(rng: &mut Rng, k: usize, counties: usize) -> Vec<String> {
    let county = format!("县{:04}", k % counties);
    let roll = rng.range(0, 99);
    let kind = match roll {
        0..=54 => "小学",
        55..=79 => "初中",
        80..=89 => "九年一贯制",
        90..=94 => "完全中学",
        95..=96 => "十二年一贯制",
        _ => "教学点",
    };
    let (p, j, s) = match kind {
        "小学" => (rng.range(60, 2400), 0, 0),
        "初中" => (0, rng.range(100, 2200), 0),
        "九年一贯制" => (rng.range(80, 1200), rng.range(60, 900), 0),
        "完全中学" => (0, rng.range(300, 1800), rng.range(300, 1800)),
        "十二年一贯制" => (
            rng.range(200, 1200),
            rng.range(150, 900),
            rng.range(150, 900),
        ),
        _ => (rng.range(8, 120), 0, 0),
    };
    let mut stage = |n: u64| -> [String; 9] {
        if n == 0 {
            return Default::default();
        }
        let classes = (n / 45).max(1) + rng.range(0, 2);
        let teachers = n / 17 + rng.range(1, 6);
        [
            n.to_string(),
            classes.to_string(),
            (40 + rng.range(0, 30)).to_string(),
            teachers.to_string(),
            (teachers * rng.range(70, 100) / 100).to_string(),
            (teachers * rng.range(5, 25) / 100).to_string(),
            (teachers * rng.range(5, 15) / 100).to_string(),
            (teachers * rng.range(30, 70) / 100).to_string(),
            String::new(),
        ]
    };
    let ps = stage(p);
    let js = stage(j);
    let all = p + j + s;
    let classes: u64 = [&ps, &js]
        .iter()
        .map(|x| x[1].parse::<u64>().unwrap_or(0))
        .sum();
    let big = |rng: &mut Rng, st: &[String; 9]| -> u64 {
        let m: u64 = st[2].parse().unwrap_or(0);
        if m >= 56 { rng.range(0, 2) } else { 0 }
    };
    let b56 = (big(rng, &ps) + big(rng, &js)).min(classes);
    let b66 = if b56 > 0 { rng.range(0, b56) } else { 0 };
    let max = |st: &[String; 9], b: u64| -> String {
        if st[0].is_empty() {
            String::new()
        } else if b > 0 {
            st[2].clone()
        } else {
            st[2].parse::<u64>().unwrap_or(40).min(55).to_string()
        }
    };
    let row: Vec<String> = vec![
        format!("{:010}", 3_000_000_000u64 + k as u64),
        format!("第{k}学校"),
        county,
        kind.to_string(),
        ["城区", "镇区", "乡村"][k % 3].to_string(),
        ps[0].clone(),
        js[0].clone(),
        if s > 0 { s.to_string() } else { String::new() },
        ps[1].clone(),
        js[1].clone(),
        b56.to_string(),
        b66.to_string(),
        max(&ps, b56),
        max(&js, b56),
        ps[3].clone(),
        js[3].clone(),
        ps[4].clone(),
        js[4].clone(),
        ps[5].clone(),
        js[5].clone(),
        ps[6].clone(),
        js[6].clone(),
        ps[7].clone(),
        js[7].clone(),
        (all * rng.range(30, 80) / 10).to_string(),
        (all * rng.range(50, 130) / 10).to_string(),
        (all * rng.range(1500, 3500)).to_string(),
        (all * rng.range(5, 20) / 100).to_string(),
        (all * rng.range(15, 35) / 1000 + 1).to_string(),
        (all * rng.range(15, 40)).to_string(),
    ];
    debug_assert_eq!(row.len(), SCHOOL_COLUMNS.len());
    row
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

/// The schools of the CSV as the evaluation takes them (read with the import's own rules).
fn load(file: &std::path::Path) -> Result<Vec<SchoolData>, Fail> {
    let bytes = std::fs::read(file).map_err(|e| Fail(e.to_string(), 2))?;
    let sheet =
        taizhang_service::schools_import::read(&bytes, true).map_err(|e| Fail(e.to_string(), 2))?;
    drop(bytes);
    let whole: Vec<String> = standards::elements()
        .elements
        .iter()
        .filter(|e| e.kind == "count")
        .map(|e| e.code.clone())
        .collect();
    let whole: Vec<&str> = whole.iter().map(String::as_str).collect();
    let mut out = Vec::with_capacity(sheet.rows.len());
    for (r, cells) in sheet.rows {
        let (row, _) = parse_row(r, &cells, &whole)
            .map_err(|e| Fail(format!("generated row {r} is bad: {e:?}"), 2))?;
        let mut s = SchoolData {
            code: row.code.into(),
            name: row.name.into(),
            county: row.county.into(),
            kind: row.kind.as_str().to_string(),
            per_stage: BTreeMap::new(),
            school: BTreeMap::new(),
        };
        for (stage, element, value) in row.values {
            if stage.is_empty() {
                s.school.insert(element.to_string(), value);
            } else {
                s.per_stage
                    .entry(stage.to_string())
                    .or_default()
                    .insert(element.to_string(), value);
            }
        }
        out.push(s);
    }
    Ok(out)
}

async fn child(phase: &str, a: &IndicatorArgs) -> Result<u8, Fail> {
    let file = a.file.clone().ok_or(Fail("--file is required".into(), 2))?;
    match phase {
        "eval" => {
            let t = Instant::now();
            let data = load(&file)?;
            let load_s = t.elapsed().as_secs_f64();
            let std = standards::presets()
                .into_iter()
                .find(|s| s.id == "quality-2017")
                .ok_or(Fail("no quality-2017".into(), 2))?;
            let els = standards::elements();
            let mut times = Vec::new();
            let mut summary = String::new();
            for _ in 0..a.runs.max(1) {
                let t = Instant::now();
                let ev = evaluate(&std, &els, &data);
                times.push(t.elapsed());
                let pass = ev.verdicts.iter().filter(|v| v.pass == Some(true)).count();
                let schools_pass = ev.schools.iter().filter(|s| s.pass == Some(true)).count();
                summary = format!(
                    "{} stage units, {} county×stage verdicts ({pass} pass), {} county indicator rows, {schools_pass} units pass the school rule, {} excluded",
                    ev.schools.len(),
                    ev.verdicts.len(),
                    ev.county.len(),
                    ev.excluded.len()
                );
                // A checksum over the CVs so the work cannot be skipped.
                let sum: f64 = ev.county.iter().filter_map(|c| c.cv).sum();
                summary.push_str(&format!(", ΣCV {sum:.6}"));
            }
            times.sort();
            let med = times[times.len() / 2].as_secs_f64();
            eprintln!("{summary}");
            println!(
                "RESULT {med} {} {load_s} {}",
                peak_mib(),
                times
                    .iter()
                    .map(|d| format!("{:.3}", d.as_secs_f64()))
                    .collect::<Vec<_>>()
                    .join(",")
            );
        }
        "import" => {
            let db = a.db.clone().ok_or(Fail("--db is required".into(), 2))?;
            let t = Instant::now();
            let code = crate::import_schools(&file, "2024", true, &db).await?;
            if code != 0 {
                return Ok(code);
            }
            println!("RESULT {} {}", t.elapsed().as_secs_f64(), peak_mib());
        }
        other => return Err(Fail(format!("unknown phase {other}"), 2)),
    }
    Ok(0)
}

fn run_child(args: &[&str]) -> Result<Vec<String>, Fail> {
    let exe = std::env::current_exe().map_err(|e| Fail(e.to_string(), 2))?;
    let out = std::process::Command::new(exe)
        .args(["bench", "indicators"])
        .args(args)
        .stderr(std::process::Stdio::inherit())
        .output()
        .map_err(|e| Fail(e.to_string(), 2))?;
    let text = String::from_utf8_lossy(&out.stdout);
    let line = text
        .lines()
        .find_map(|l| l.strip_prefix("RESULT "))
        .ok_or_else(|| Fail(format!("child {args:?} failed: {text}"), 2))?;
    Ok(line.split_whitespace().map(str::to_string).collect())
}

pub async fn run(a: IndicatorArgs) -> Result<u8, Fail> {
    if let Some(phase) = a.phase.clone() {
        return child(&phase, &a).await;
    }
    let dir = a.out.clone().unwrap_or_else(|| {
        std::env::temp_dir().join(format!("taizhang-bench-ind-{}", std::process::id()))
    });
    std::fs::create_dir_all(&dir).map_err(|e| Fail(e.to_string(), 2))?;
    let file = dir.join("schools.csv");
    let t = Instant::now();
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let rows: Vec<Vec<String>> = (0..a.schools)
        .map(|k| school_row(&mut rng, k, a.counties))
        .collect();
    let bytes = taizhang_office::table::write_csv(SCHOOL_COLUMNS, &rows);
    drop(rows);
    std::fs::write(&file, &bytes).map_err(|e| Fail(e.to_string(), 2))?;
    eprintln!(
        "wrote {} schools over {} counties ({:.1} MiB) to {} in {:.1} s",
        a.schools,
        a.counties,
        bytes.len() as f64 / 1048576.0,
        file.display(),
        t.elapsed().as_secs_f64()
    );
    let f = file.display().to_string();
    let runs = a.runs.max(1).to_string();
    let r = run_child(&["--phase", "eval", "--file", &f, "--runs", &runs])?;
    let p = |i: usize| {
        r.get(i)
            .and_then(|x| x.parse::<f64>().ok())
            .unwrap_or(f64::NAN)
    };
    println!(
        "quality-2017 evaluation of {} schools / {} counties: median {:.3} s over {} runs [{}]; peak {:.0} MiB (with the data in memory; loading the CSV took {:.1} s)",
        a.schools,
        a.counties,
        p(0),
        runs,
        r.get(3).cloned().unwrap_or_default(),
        p(1),
        p(2)
    );
    if !a.skip_import {
        let db = dir.join("import.db");
        let _ = std::fs::remove_file(&db);
        let url = format!("sqlite:{}", db.display());
        {
            let store = taizhang_store::Store::connect(&url).await?;
            let app = taizhang_service::App::new(store);
            let sys = taizhang_service::Actor::system("bench");
            let mut created = Vec::new();
            for c in 0..a.counties {
                let u = taizhang_service::units::create(
                    &app,
                    &sys,
                    taizhang_service::units::CreateUnit {
                        parent_id: None,
                        code: format!("X{c:04}"),
                        name: format!("县{c:04}"),
                        kind: "bureau".into(),
                        stage: None,
                        rural: false,
                        attrs: None,
                        sort_order: 0,
                    },
                )
                .await?;
                created.push(u.id);
            }
            app.store.close().await;
        }
        let t0 = Instant::now();
        let r = run_child(&["--phase", "import", "--file", &f, "--db", &url])?;
        let _ = t0;
        let p = |i: usize| {
            r.get(i)
                .and_then(|x| x.parse::<f64>().ok())
                .unwrap_or(f64::NAN)
        };
        println!(
            "import of the {}-row CSV (new schools, approved): {:.1} s, peak {:.0} MiB",
            a.schools,
            p(0),
            p(1)
        );
    }
    if a.out.is_none() {
        let _ = std::fs::remove_dir_all(&dir);
    }
    let _ = Duration::ZERO;
    Ok(0)
}
