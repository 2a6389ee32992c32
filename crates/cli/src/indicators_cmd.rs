//! `taizhang indicators evaluate`: a county's schools against a standard, as tables or JSON.

use crate::{DbArg, Fail, open};
use clap::Subcommand;
use serde_json::{Value, json};
use taizhang_domain::scope::Scope;
use taizhang_service::{Actor, App};
use taizhang_store::units::UnitFilter;

#[derive(Subcommand)]
pub enum IndicatorsCmd {
    /// Evaluate the schools of a county (or of every top-level unit) against a standard.
    Evaluate {
        #[command(flatten)]
        db: DbArg,
        /// basic-2012 | quality-2017 | class-size
        #[arg(long)]
        standard: String,
        /// School year by its first year: 2024 = 2024–25 学年
        #[arg(long)]
        year: String,
        /// The county (a unit) by exact name or code; every top-level unit when omitted
        #[arg(long)]
        county: Option<String>,
        /// Count data not yet approved (审核) too
        #[arg(long)]
        include_unapproved: bool,
        #[arg(long)]
        json: bool,
    },
}

fn num(v: Option<f64>, digits: usize) -> String {
    v.map_or("—".into(), |x| format!("{x:.digits$}"))
}

fn yes(v: Option<bool>) -> &'static str {
    match v {
        Some(true) => "是",
        Some(false) => "否",
        None => "—",
    }
}

pub async fn run(cmd: IndicatorsCmd) -> Result<u8, Fail> {
    let IndicatorsCmd::Evaluate {
        db,
        standard,
        year,
        county,
        include_unapproved,
        json: as_json,
    } = cmd;
    let app = App::new(open(&db.db).await?);
    let sys = Actor::system("cli");
    let units = {
        let mut c = app.store.conn().await?;
        let filter = match &county {
            Some(name) => UnitFilter {
                q: Some(name.clone()),
                limit: 1000,
                ..Default::default()
            },
            None => UnitFilter {
                roots: true,
                limit: 1000,
                ..Default::default()
            },
        };
        let all = taizhang_store::units::list(&mut c, &Scope::everything(), &filter).await?;
        match &county {
            Some(name) => all
                .into_iter()
                .filter(|u| &u.name == name || &u.code == name)
                .collect::<Vec<_>>(),
            None => all,
        }
    };
    if units.is_empty() {
        return Err(Fail(
            format!(
                "no county named {:?} / 找不到该县(区)",
                county.unwrap_or_default()
            ),
            2,
        ));
    }
    let (mut county_rows, mut verdicts, mut schools, mut excluded) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for u in &units {
        let e = taizhang_service::indicators::evaluate(
            &app,
            &sys,
            &standard,
            &year,
            u.id,
            include_unapproved,
        )
        .await?;
        for c in &e.county {
            county_rows.push(json!({"county": c.county, "stage": c.stage, "indicator": c.indicator, "mean": c.mean, "sd": c.sd,
                    "n": c.n, "cv": c.cv, "threshold": c.threshold, "pass": c.pass}));
        }
        for v in &e.verdicts {
            verdicts.push(json!({"county": v.county, "stage": v.stage, "composite_cv": v.composite_cv, "pass": v.pass}));
        }
        for s in &e.schools {
            let per: serde_json::Map<String, Value> = s
                .indicators
                .iter()
                .map(|i| (i.code.to_string(), json!({"value": i.value, "threshold": i.threshold, "pass": i.met, "gap": i.gap})))
                .collect();
            schools.push(json!({"code": s.code, "name": s.name, "county": s.county, "stage": s.stage, "students": s.students,
                    "indicators": per, "met": s.met_count, "pass": s.pass}));
        }
        for (code, why) in &e.excluded {
            excluded.push(json!({"code": code, "reason": why}));
        }
    }
    let out = json!({"standard": standard, "year": year, "county": county_rows, "verdicts": verdicts,
        "schools": schools, "excluded": excluded});
    if as_json {
        println!("{}", serde_json::to_string_pretty(&out).unwrap_or_default());
        return Ok(0);
    }
    let stage = |s: &str| {
        match s {
            "primary" => "小学",
            "junior" => "初中",
            "senior" => "高中",
            other => other,
        }
        .to_string()
    };
    println!(
        "评估标准 {standard} · {year}学年{}",
        if include_unapproved {
            "(含未审核数据)"
        } else {
            ""
        }
    );
    println!("县域:学段 / 指标 / 平均值 / 差异系数 / 阈值 / 是否达标");
    for c in out["county"].as_array().into_iter().flatten() {
        println!(
            "  {} {} {:>4}  {:>12}  {:>7}  {:>7}  {}",
            c["county"].as_str().unwrap_or(""),
            stage(c["stage"].as_str().unwrap_or("")),
            c["indicator"].as_str().unwrap_or(""),
            num(c["mean"].as_f64(), 3),
            num(c["cv"].as_f64(), 3),
            num(c["threshold"].as_f64(), 2),
            yes(c["pass"].as_bool())
        );
    }
    for v in out["verdicts"].as_array().into_iter().flatten() {
        println!(
            "  {} {} 结论:{}{}",
            v["county"].as_str().unwrap_or(""),
            stage(v["stage"].as_str().unwrap_or("")),
            match v["pass"].as_bool() {
                Some(true) => "达标",
                Some(false) => "未达标",
                None => "数据不足,无法判定",
            },
            v["composite_cv"]
                .as_f64()
                .map(|c| format!("(综合差异系数 {c:.3})"))
                .unwrap_or_default()
        );
    }
    println!("学校:学段 / 达标项数 / 是否达标");
    for s in out["schools"].as_array().into_iter().flatten() {
        println!(
            "  {} {} {} 达标{}项 {}",
            s["code"].as_str().unwrap_or(""),
            s["name"].as_str().unwrap_or(""),
            stage(s["stage"].as_str().unwrap_or("")),
            s["met"].as_u64().unwrap_or(0),
            yes(s["pass"].as_bool())
        );
    }
    for x in out["excluded"].as_array().into_iter().flatten() {
        println!(
            "  未纳入:{} {}",
            x["code"].as_str().unwrap_or(""),
            x["reason"].as_str().unwrap_or("")
        );
    }
    Ok(0)
}
