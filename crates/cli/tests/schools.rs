//! School statistics import (both backends: every kind of bad cell named, nothing written;
//! GBK CSV through the CLI), 数据校验 on submit, the outlier flag, and 查漏补缺 → 整改台账 with
//! re-evaluation, on the demo county whose 第三小学 is 篇五's.

mod common;

use common::*;
use serde_json::Value;
use taizhang_service::indicators::{self as ind, Entry};
use taizhang_service::ledger_excel::ImportError;
use taizhang_service::schools_import::{self as si, SCHOOL_COLUMNS};
use taizhang_service::units::CreateUnit;
use taizhang_service::{Actor, App};
use taizhang_store::Backend;

const HEAD: usize = 30;

/// A row: code, name, county, type, 城乡, then the 25 numbers as text.
fn row(code: &str, name: &str, county: &str, kind: &str, nums: &[&str]) -> Vec<String> {
    let mut r = vec![
        code.to_string(),
        name.to_string(),
        county.to_string(),
        kind.to_string(),
        "城区".to_string(),
    ];
    r.extend(nums.iter().map(|s| s.to_string()));
    r.resize(HEAD, String::new());
    r
}

/// A complete primary school row with `students` pupils.
fn primary(code: &str, name: &str, county: &str, students: &str, books: &str) -> Vec<String> {
    row(
        code,
        name,
        county,
        "小学",
        &[
            students, "", "", "20", "", "0", "0", "45", "", "50", "", "48", "", "6", "", "6", "",
            "25", "", "4000", "7000", "1800000", "80", "20", books,
        ],
    )
}

fn nine_year(code: &str, county: &str) -> Vec<String> {
    row(
        code,
        "九年一贯制学校",
        county,
        "九年一贯制",
        &[
            "166", "210", "", "6", "6", "0", "0", "40", "48", "12", "20", "12", "20", "2", "3",
            "2", "2", "6", "10", "2000", "4000", "900000", "40", "10", "23226",
        ],
    )
}

/// A county named `name` with the code `C1`.
async fn county(app: &App, name: &str) -> i64 {
    taizhang_service::units::create(
        app,
        &Actor::system("test"),
        CreateUnit {
            parent_id: None,
            code: "C1".into(),
            name: name.into(),
            kind: "bureau".into(),
            stage: None,
            rural: false,
            attrs: None,
            sort_order: 0,
        },
    )
    .await
    .expect("county")
    .id
}

async fn counts(app: &App) -> (i64, i64, i64) {
    let mut c = app.store.conn().await.expect("conn");
    let units = taizhang_store::units::count(
        &mut c,
        &taizhang_domain::scope::Scope::everything(),
        &taizhang_store::units::UnitFilter::default(),
    )
    .await
    .expect("units");
    let values = taizhang_store::indicators::values(
        &mut c,
        &taizhang_domain::scope::Scope::everything(),
        "/",
        "2024",
        true,
    )
    .await
    .expect("values")
    .len() as i64;
    let (seq, _) = taizhang_store::audit::head(&mut c).await.expect("head");
    (units, values, seq)
}

fn sheet(rows: Vec<Vec<String>>) -> taizhang_office::excel::Sheet {
    taizhang_office::excel::Sheet {
        rows: rows
            .into_iter()
            .enumerate()
            .map(|(k, r)| (k + 2, r))
            .collect(),
    }
}

async fn bad_input(backend: Backend) {
    let t = spawn_app(backend).await;
    let app = &t.app;
    let sys = Actor::system("test");
    county(app, "样本县").await;
    let before = counts(app).await;
    let mut lacks_stage = primary("P3", "有初中数的小学", "样本县", "300", "5000");
    lacks_stage[6] = "40".into(); // 初中在校生数 for a 小学
    let mut negative = primary("P4", "负数", "样本县", "300", "5000");
    negative[29] = "-5".into();
    let mut text = primary("P5", "非数字", "样本县", "三百", "5000");
    text[10] = "2".into();
    let mut blank = primary("P6", "缺数", "样本县", "300", "5000");
    blank[24] = String::new(); // 教学及辅助用房面积
    let mut fraction = primary("P7", "小数", "样本县", "300.5", "5000");
    fraction[25] = "1200.5".into(); // area may have decimals
    let rows = vec![
        primary("P1", "好学校", "样本县", "300", "5000"),
        row("P2", "类型不明", "样本县", "中学", &[]),
        lacks_stage,
        negative,
        text,
        blank,
        primary("P1", "重复", "样本县", "300", "5000"),
        primary("P8", "县不存在", "没有这个县", "300", "5000"),
        fraction,
    ];
    let Err(ImportError::Cells(errors)) = si::import(app, &sys, "2024", sheet(rows), false).await
    else {
        panic!("bad rows must fail the import");
    };
    let has = |row: usize, column: &str, words: &str| {
        assert!(
            errors
                .iter()
                .any(|e| e.row == row && e.column == column && e.reason.contains(words)),
            "row {row} {column} '{words}' not reported: {errors:#?}"
        );
    };
    has(3, "办学类型", "办学类型应为");
    has(4, "初中在校生数", "没有初中学段");
    has(5, "图书册数", "不能为负数");
    has(6, "小学在校生数", "应为数字");
    has(7, "教学及辅助用房面积", "必填");
    has(8, "学校标识码", "与第2行重复");
    has(9, "所属区县", "找不到该区县");
    has(10, "小学在校生数", "应为整数");
    assert!(
        !errors.iter().any(|e| e.row == 2),
        "the good row has no error"
    );
    assert!(
        !errors.iter().any(|e| e.column == "体育运动场馆面积"),
        "areas may have decimals"
    );
    assert_eq!(counts(app).await, before, "nothing was written");

    // A good file creates the schools, splits a nine-year school's rows into stages, and
    // leaves the returns submitted; importing over a submitted return is refused.
    let ok = vec![
        primary("P1", "好学校", "样本县", "1,313", "9811"),
        nine_year("J1", "C1"),
    ];
    let s = si::import(app, &sys, "2024", sheet(ok.clone()), false)
        .await
        .expect("import");
    assert_eq!((s.rows, s.created, s.state.as_str()), (2, 2, "submitted"));
    let Err(ImportError::Cells(errors)) = si::import(app, &sys, "2024", sheet(ok), false).await
    else {
        panic!("a submitted return is locked");
    };
    assert_eq!(errors.len(), 2);
    assert!(errors[0].reason.contains("已报送"), "{errors:?}");
}

#[tokio::test]
async fn bad_input_sqlite() {
    bad_input(Backend::Sqlite).await;
}

#[tokio::test]
async fn bad_input_postgres() {
    bad_input(Backend::Postgres).await;
}

/// The CLI reads a GBK CSV (as Chinese Excel saves it), approves, and the evaluation splits
/// the nine-year school's books 166 : 231 between its stage units (STANDARDS.md).
#[tokio::test]
async fn cli_imports_a_gbk_csv_and_the_evaluation_splits_stages() {
    let dir = tempfile::tempdir().expect("dir");
    let url = format!("sqlite:{}", dir.path().join("s.db").display());
    let app = App::new(taizhang_store::Store::connect(&url).await.expect("db"));
    county(&app, "样本县").await;
    app.store.close().await;
    let rows = vec![
        primary("P1", "第三小学", "样本县", "1313", "9811"),
        nine_year("J1", "样本县"),
    ];
    let utf8 = taizhang_office::table::write_csv(SCHOOL_COLUMNS, &rows);
    let text = std::str::from_utf8(&utf8[3..]).expect("utf8");
    let (gbk, _, lossy) = encoding_rs::GBK.encode(text);
    assert!(!lossy);
    let file = dir.path().join("schools.csv");
    std::fs::write(&file, &gbk).expect("write");
    let bin = env!("CARGO_BIN_EXE_taizhang");
    let out = std::process::Command::new(bin)
        .args(["import", "schools"])
        .arg(&file)
        .args(["--year", "2024", "--approve", "--db", &url])
        .output()
        .expect("run");
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = std::process::Command::new(bin)
        .args([
            "indicators",
            "evaluate",
            "--standard",
            "quality-2017",
            "--year",
            "2024",
        ])
        .args(["--county", "样本县", "--json", "--db", &url])
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(0));
    let v: Value = serde_json::from_slice(&out.stdout).expect("json");
    let schools = v["schools"].as_array().expect("schools");
    assert_eq!(schools.len(), 3, "a primary and two stage units");
    let l4 = |code: &str, stage: &str| {
        schools
            .iter()
            .find(|s| s["code"] == code && s["stage"] == stage)
            .expect("unit")["indicators"]["L4"]["value"]
            .as_f64()
            .expect("L4")
    };
    assert!((l4("P1", "primary") - 4000.0 / 1313.0).abs() < 1e-9);
    // 2000 ㎡ split 1 : 1.1 by 166 : 210 pupils → 166/397 and 231/397 of it.
    assert!((l4("J1", "primary") * 166.0 - 2000.0 * 166.0 / 397.0).abs() < 1e-6);
    assert!((l4("J1", "junior") * 210.0 - 2000.0 * 231.0 / 397.0).abs() < 1e-6);
    // The template command writes a workbook whose headers read back.
    let tpl = dir.path().join("t.xlsx");
    let out = std::process::Command::new(bin)
        .args(["template", "schools", "--out"])
        .arg(&tpl)
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(0));
    let s = si::read(&std::fs::read(&tpl).expect("read"), false).expect("template reads");
    assert_eq!(s.rows.len(), 1, "the example row");
}

/// 数据校验 blocks submission with the rule named; fixing the data lets it through.
#[tokio::test]
async fn validation_blocks_submit_until_fixed() {
    let t = spawn_app(Backend::Sqlite).await;
    let app = &t.app;
    let sys = Actor::system("test");
    let c = county(app, "样本县").await;
    let s = taizhang_service::units::create(
        app,
        &sys,
        CreateUnit {
            parent_id: Some(c),
            code: "V1".into(),
            name: "校验小学".into(),
            kind: "school".into(),
            stage: Some("primary".into()),
            rural: false,
            attrs: None,
            sort_order: 0,
        },
    )
    .await
    .expect("school");
    let e = |element: &str, value: f64| Entry {
        stage: "primary".into(),
        element: element.into(),
        value,
    };
    let mut entries = vec![
        e("students", 300.0),
        e("classes", 8.0),
        e("teachers", 20.0),
        e("teachers_above", 22.0),
    ];
    ind::save(app, &sys, s.id, "2024", &entries)
        .await
        .expect("a draft may hold errors");
    let view = ind::school_return(app, &sys, s.id, "2024")
        .await
        .expect("view");
    let errors: Vec<&str> = view
        .findings
        .iter()
        .filter(|f| f.importance == "error")
        .map(|f| f.rule.as_str())
        .collect();
    assert_eq!(errors, vec!["V01"]);
    let err = ind::transition(app, &sys, s.id, "2024", "submit", "")
        .await
        .expect_err("blocked");
    let msg = format!("{err:?}");
    assert!(
        msg.contains("validation_failed") && msg.contains("V01"),
        "{msg}"
    );
    entries[3] = e("teachers_above", 19.0);
    ind::save(app, &sys, s.id, "2024", &entries)
        .await
        .expect("save");
    ind::transition(app, &sys, s.id, "2024", "submit", "")
        .await
        .expect("submits once fixed");
}

/// On the demo county: 第三小学 is 篇五's, its 2025 draft's books are flagged against the
/// other schools' year-on-year changes, its gaps become rectification items once, and new
/// data that meet an indicator show its item as met.
#[tokio::test]
async fn demo_gaps_become_items_and_reevaluation_shows_them_met() {
    let dir = tempfile::tempdir().expect("dir");
    let url = demo_db(dir.path()).await;
    let app = App::new(taizhang_store::Store::connect(&url).await.expect("db"));
    let sys = Actor::system("test");
    let (county, school) = {
        let mut c = app.store.conn().await.expect("conn");
        (
            taizhang_store::units::id_by_code(&mut c, "350923")
                .await
                .expect("q")
                .expect("county"),
            taizhang_store::units::id_by_code(&mut c, "3509230003")
                .await
                .expect("q")
                .expect("school"),
        )
    };
    // 篇五's figures.
    let ev = ind::evaluate(&app, &sys, "quality-2017", "2024", county, false)
        .await
        .expect("evaluate");
    let third = ev
        .schools
        .iter()
        .find(|s| s.code.as_ref() == "3509230003")
        .expect("第三小学");
    assert_eq!(third.students, 1313.0);
    let value = |code: &str| {
        third
            .indicators
            .iter()
            .find(|i| i.code.as_ref() == code)
            .and_then(|i| i.value)
            .expect("value")
    };
    assert!((value("L4") - 4208.0 / 1313.0).abs() < 1e-12);
    assert!((value("L5") - 6880.0 / 1313.0).abs() < 1e-12);
    assert_eq!(third.pass, Some(false));
    // 双溪中心小学 waits for 审核, so it is left out of the official evaluation.
    assert!(
        ev.excluded
            .iter()
            .any(|(c, r)| c == "3509230007" && r.contains("审核"))
    );

    // The outlier: 98,110 books against 9,811 last year.
    let draft = ind::school_return(&app, &sys, school, "2025")
        .await
        .expect("draft");
    let keys: Vec<&str> = draft.outliers.iter().map(|o| o.key.as_str()).collect();
    assert_eq!(keys, vec![".books"], "{:?}", draft.outliers);

    // Gaps → items, once.
    let r = ind::raise_gaps(&app, &sys, "quality-2017", "2024", county, "2026-12-31")
        .await
        .expect("raise");
    assert!(r.created >= 6, "{}", r.created);
    let l4 = r
        .open
        .iter()
        .find(|g| g.number == "3509230003-小学-L4")
        .expect("L4 gap");
    assert_eq!(l4.lead_unit_id, school);
    assert!(l4.requirements.contains("达标值4.5"), "{}", l4.requirements);
    assert_eq!(l4.item_state.as_deref(), Some("assigned"));
    let again = ind::raise_gaps(&app, &sys, "quality-2017", "2024", county, "2026-12-31")
        .await
        .expect("raise again");
    assert_eq!(again.created, 0);
    assert_eq!(again.ledger_id, r.ledger_id);

    // New 2024 data: 第三小学 gets 6,000 ㎡ of teaching rooms (4.57 ㎡ per pupil ≥ 4.5).
    ind::transition(&app, &sys, school, "2024", "return", "补充校舍数据")
        .await
        .expect("return");
    let view = ind::school_return(&app, &sys, school, "2024")
        .await
        .expect("view");
    let entries: Vec<Entry> = view
        .values
        .into_iter()
        .map(|mut e| {
            if e.element == "area_teaching" {
                e.value = 6000.0;
            }
            e
        })
        .collect();
    ind::save(&app, &sys, school, "2024", &entries)
        .await
        .expect("save");
    ind::transition(&app, &sys, school, "2024", "submit", "")
        .await
        .expect("submit");
    ind::transition(&app, &sys, school, "2024", "approve", "")
        .await
        .expect("approve");
    let after = ind::gaps(&app, &sys, "quality-2017", "2024", county)
        .await
        .expect("gaps");
    assert!(
        after
            .now_met
            .iter()
            .any(|g| g.number == "3509230003-小学-L4"),
        "{:?}",
        after.now_met
    );
    assert!(!after.open.iter().any(|g| g.number == "3509230003-小学-L4"));
}

/// An administrator copies 优质均衡 for a province: the copy's thresholds and scope rule
/// change the evaluation; a broken body is refused with the reason and changes nothing; a
/// stale version is refused; the presets never change.
#[tokio::test]
async fn a_province_copy_of_a_standard_changes_the_evaluation() {
    let dir = tempfile::tempdir().expect("dir");
    let url = demo_db(dir.path()).await;
    let app = App::new(taizhang_store::Store::connect(&url).await.expect("db"));
    let sys = Actor::system("test");
    let county = {
        let mut c = app.store.conn().await.expect("conn");
        taizhang_store::units::id_by_code(&mut c, "350923")
            .await
            .expect("q")
            .expect("county")
    };
    let copy = ind::copy_standard(
        &app,
        &sys,
        "quality-2017",
        "fj-quality-2017",
        "福建省优质均衡",
    )
    .await
    .expect("copy");
    assert_eq!(copy.standard.name, "福建省优质均衡");
    let err = ind::copy_standard(&app, &sys, "quality-2017", "quality-2017", "")
        .await
        .expect_err("a preset's id");
    assert!(format!("{err:?}").contains("duplicate"));
    // The province counts every teaching point and sets 小学 L4 at 3.0 ㎡.
    let mut v: Value = serde_json::to_value(&copy.standard).expect("json");
    v["scope"]["exclude_teaching_points_under"] = Value::Null;
    v["indicators"][3]["thresholds"]["primary"] = serde_json::json!(3.0);
    let body = serde_json::to_string_pretty(&v).expect("body");
    // Broken bodies first: nothing changes.
    let mut bad = v.clone();
    bad["indicators"][0]["formula"] = serde_json::json!("teachers_abov / students * 100");
    let err = ind::update_standard(&app, &sys, "fj-quality-2017", 1, &bad.to_string())
        .await
        .expect_err("unknown element");
    assert!(format!("{err:?}").contains("teachers_abov"), "{err:?}");
    let err = ind::update_standard(&app, &sys, "fj-quality-2017", 1, "{\"id\": ")
        .await
        .expect_err("not JSON");
    assert!(format!("{err:?}").contains("第1行"), "{err:?}");
    let updated = ind::update_standard(&app, &sys, "fj-quality-2017", 1, &body)
        .await
        .expect("update");
    assert_eq!(updated.version, 2);
    let err = ind::update_standard(&app, &sys, "fj-quality-2017", 1, &body)
        .await
        .expect_err("stale");
    assert!(format!("{err:?}").contains("Stale"), "{err:?}");

    let official = ind::evaluate(&app, &sys, "quality-2017", "2024", county, false)
        .await
        .expect("preset");
    let province = ind::evaluate(&app, &sys, "fj-quality-2017", "2024", county, false)
        .await
        .expect("copy");
    let l4 = |e: &taizhang_domain::evaluate::Evaluation| {
        e.schools
            .iter()
            .find(|s| s.code.as_ref() == "3509230003")
            .and_then(|s| s.indicators.iter().find(|i| i.code.as_ref() == "L4"))
            .and_then(|i| i.met)
    };
    assert_eq!(l4(&official), Some(false), "3.20 ㎡ < 4.5");
    assert_eq!(l4(&province), Some(true), "3.20 ㎡ ≥ 3.0");
    let excluded = |e: &taizhang_domain::evaluate::Evaluation| {
        e.excluded.iter().any(|(c, _)| c == "3509230010")
    };
    assert!(
        excluded(&official),
        "前洋教学点 (36 pupils) is left out by the preset"
    );
    assert!(!excluded(&province), "and counted by the province");
    assert!(
        province
            .schools
            .iter()
            .any(|s| s.code.as_ref() == "3509230010"),
        "the teaching point is evaluated"
    );
    let all = ind::all_standards(&app).await.expect("list");
    assert_eq!(all.len(), 4);
    assert_eq!(
        ind::standard("quality-2017").expect("preset").indicators[3].thresholds["primary"],
        4.5
    );
}

/// A custom form: a monthly canteen-inspection count for 小学 with a custom element, filled,
/// submitted and approved like the 学年 form; periods, school types and elements are checked;
/// its values never mix with the 学年 statistics.
async fn custom_form(backend: Backend) {
    let t = spawn_app(backend).await;
    let app = &t.app;
    let sys = Actor::system("test");
    let c = county(app, "样本县").await;
    let mk = |code: &'static str, stage: &'static str| CreateUnit {
        parent_id: Some(c),
        code: code.into(),
        name: format!("学校{code}"),
        kind: "school".into(),
        stage: Some(stage.into()),
        rural: false,
        attrs: None,
        sort_order: 0,
    };
    let p = taizhang_service::units::create(app, &sys, mk("P1", "primary"))
        .await
        .expect("primary");
    let j = taizhang_service::units::create(app, &sys, mk("J1", "junior"))
        .await
        .expect("junior");
    use taizhang_domain::forms::{Form, PeriodType};
    use taizhang_domain::standards::Element;
    let el = |code: &str| Element {
        code: code.into(),
        name: "食堂检查次数".into(),
        unit: "次".into(),
        kind: "count".into(),
        per_stage: false,
        physical: false,
        aggregate: None,
        derived: false,
    };
    taizhang_service::forms::add_element(app, &sys, el("canteen_checks"))
        .await
        .expect("element");
    let dup = taizhang_service::forms::add_element(app, &sys, el("books"))
        .await
        .expect_err("a built-in code");
    assert!(format!("{dup:?}").contains("duplicate"));
    let form = |elements: Vec<&str>| Form {
        id: "canteen".into(),
        name: "食堂检查月报".into(),
        period_type: PeriodType::Month,
        school_kinds: vec!["primary".into()],
        elements: elements.into_iter().map(String::from).collect(),
    };
    let bad = taizhang_service::forms::create_form(app, &sys, form(vec!["canteen_check"]))
        .await
        .expect_err("unknown element");
    assert!(format!("{bad:?}").contains("canteen_check"));
    taizhang_service::forms::create_form(app, &sys, form(vec!["canteen_checks", "students"]))
        .await
        .expect("form");
    let entries = [
        Entry {
            stage: String::new(),
            element: "canteen_checks".into(),
            value: 4.0,
        },
        Entry {
            stage: "primary".into(),
            element: "students".into(),
            value: 300.0,
        },
    ];
    let err = ind::save_form(app, &sys, "canteen", p.id, "2024-5", &entries)
        .await
        .expect_err("month needs two digits");
    assert!(format!("{err:?}").contains("2024-05"), "{err:?}");
    let err = ind::save_form(app, &sys, "canteen", j.id, "2024-05", &entries)
        .await
        .expect_err("not for 初中");
    assert!(format!("{err:?}").contains("not_assigned"), "{err:?}");
    let err = ind::save_form(
        app,
        &sys,
        "canteen",
        p.id,
        "2024-05",
        &[Entry {
            stage: String::new(),
            element: "books".into(),
            value: 1.0,
        }],
    )
    .await
    .expect_err("not on this form");
    assert!(format!("{err:?}").contains("entries[0]"), "{err:?}");
    ind::save_form(app, &sys, "canteen", p.id, "2024-05", &entries)
        .await
        .expect("save");
    ind::transition_form(app, &sys, "canteen", p.id, "2024-05", "submit", "")
        .await
        .expect("submit");
    let r = ind::transition_form(app, &sys, "canteen", p.id, "2024-05", "approve", "")
        .await
        .expect("approve");
    assert_eq!(r.state, "approved");
    let v = ind::school_return_form(app, &sys, "canteen", p.id, "2024-05")
        .await
        .expect("view");
    assert_eq!(v.period_label, "2024年5月");
    assert_eq!(v.values.len(), 2);
    // The 学年 form of the same school has nothing: forms never share values.
    let basic = ind::school_return(app, &sys, p.id, "2024")
        .await
        .expect("basic");
    assert!(basic.values.is_empty() && basic.ret.is_none());
}

#[tokio::test]
async fn custom_form_sqlite() {
    custom_form(Backend::Sqlite).await;
}

#[tokio::test]
async fn custom_form_postgres() {
    custom_form(Backend::Postgres).await;
}
