//! School statistics import (学校基础数据导入): one row per school per 学年, from Excel or CSV
//! with the same headers. Schools are matched by 学校标识码 and created under their county
//! (所属区县) when new. All or nothing: any bad cell fails the file, every bad cell is named.
//!
//! The file carries one 56人以上班级数 and one 66人以上班级数 per school. For a school with a
//! single compulsory stage they belong to it; for an 一贯制 school they go to the stage whose
//! 最大班额 can hold such a class (if the 小学's largest class is under 56, every class of 56 or
//! more is in the 初中), and when both stages could hold them the import says so in a warning
//! and counts them in the stage with the larger 最大班额.

use crate::ledger_excel::{CellError, ImportError};
use crate::{Actor, App, ServiceError, audit_event};
use serde::Serialize;
use std::collections::HashMap;
use taizhang_domain::evaluate::stages_of;
use taizhang_domain::role::Permission;
use taizhang_domain::standards;
use taizhang_domain::unit::SchoolStage;
use taizhang_office::excel::{self, Column, ExcelError, Limits, Sheet};
use taizhang_store::indicators as store;
use taizhang_store::units::{NewUnit, Unit};

const fn col(header: &'static str, width: f64, required: bool) -> Column {
    Column {
        header,
        width,
        required,
        choices: &[],
        date: false,
    }
}

const KINDS: &[&str] = &[
    "小学",
    "初中",
    "九年一贯制",
    "完全中学",
    "十二年一贯制",
    "高中",
    "教学点",
];
const URBAN_RURAL: &[&str] = &["城区", "镇区", "乡村"];

/// The template's columns, exactly as the statistics offices name them.
pub const SCHOOL_COLUMNS: &[Column] = &[
    col("学校标识码", 14.0, true),
    col("学校名称", 24.0, true),
    col("所属区县", 12.0, true),
    Column {
        header: "办学类型",
        width: 12.0,
        required: true,
        choices: KINDS,
        date: false,
    },
    Column {
        header: "城乡分类",
        width: 10.0,
        required: false,
        choices: URBAN_RURAL,
        date: false,
    },
    col("小学在校生数", 10.0, false),
    col("初中在校生数", 10.0, false),
    col("高中在校生数", 10.0, false),
    col("小学教学班数", 10.0, false),
    col("初中教学班数", 10.0, false),
    col("56人以上班级数", 10.0, false),
    col("66人以上班级数", 10.0, false),
    col("小学最大班额", 10.0, false),
    col("初中最大班额", 10.0, false),
    col("小学专任教师数", 10.0, false),
    col("初中专任教师数", 10.0, false),
    col("小学高于规定学历教师数", 12.0, false),
    col("初中高于规定学历教师数", 12.0, false),
    col("小学骨干教师数", 10.0, false),
    col("初中骨干教师数", 10.0, false),
    col("小学体育艺术专任教师数", 12.0, false),
    col("初中体育艺术专任教师数", 12.0, false),
    col("小学中级及以上职称教师数", 12.0, false),
    col("初中中级及以上职称教师数", 12.0, false),
    col("教学及辅助用房面积", 12.0, false),
    col("体育运动场馆面积", 12.0, false),
    col("教学仪器设备值", 12.0, false),
    col("学生用计算机台数", 10.0, false),
    col("网络多媒体教室数", 10.0, false),
    col("图书册数", 10.0, false),
];

/// Where a numeric column goes: a stage's element, a school-wide element, or one of the two
/// class-size counts attributed after the row is read.
#[derive(Clone, Copy)]
enum Target {
    Stage(&'static str, &'static str),
    School(&'static str),
    Big(&'static str, f64),
}

/// Columns 5.. in order.
const TARGETS: [Target; 25] = [
    Target::Stage("primary", "students"),
    Target::Stage("junior", "students"),
    Target::Stage("senior", "students"),
    Target::Stage("primary", "classes"),
    Target::Stage("junior", "classes"),
    Target::Big("classes_56", 56.0),
    Target::Big("classes_66", 66.0),
    Target::Stage("primary", "max_class"),
    Target::Stage("junior", "max_class"),
    Target::Stage("primary", "teachers"),
    Target::Stage("junior", "teachers"),
    Target::Stage("primary", "teachers_above"),
    Target::Stage("junior", "teachers_above"),
    Target::Stage("primary", "teachers_backbone"),
    Target::Stage("junior", "teachers_backbone"),
    Target::Stage("primary", "teachers_pe_art"),
    Target::Stage("junior", "teachers_pe_art"),
    Target::Stage("primary", "teachers_senior"),
    Target::Stage("junior", "teachers_senior"),
    Target::School("area_teaching"),
    Target::School("area_sports"),
    Target::School("equipment_value"),
    Target::School("computers"),
    Target::School("multimedia_rooms"),
    Target::School("books"),
];

fn kind_of(label: &str) -> Option<SchoolStage> {
    Some(match label {
        "小学" => SchoolStage::Primary,
        "初中" => SchoolStage::Junior,
        "九年一贯制" => SchoolStage::NineYear,
        "完全中学" => SchoolStage::Complete,
        "十二年一贯制" => SchoolStage::TwelveYear,
        "高中" => SchoolStage::Senior,
        "教学点" => SchoolStage::TeachingPoint,
        _ => return None,
    })
}

fn stage_zh(stage: &str) -> &'static str {
    match stage {
        "primary" => "小学",
        "junior" => "初中",
        _ => "高中",
    }
}

/// One school row, read and checked.
#[derive(Debug, Clone)]
pub struct SchoolRow {
    pub row: usize,
    pub code: String,
    pub name: String,
    pub county: String,
    pub kind: SchoolStage,
    pub urban_rural: String,
    /// (stage, element, value); stage empty for school-wide elements.
    pub values: Vec<(&'static str, &'static str, f64)>,
}

/// Something the import did that the user should know (not an error).
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Warning {
    pub row: usize,
    pub message: String,
}

/// Reads a number as people type it: `1,313`, ` 4208 `, `9811.0`.
fn number(s: &str) -> Option<f64> {
    let t: String = s
        .chars()
        .filter(|c| !matches!(c, ',' | '\u{ff0c}' | ' ' | '\u{3000}'))
        .collect();
    t.parse::<f64>().ok().filter(|x| x.is_finite())
}

/// Checks one row. Errors name the row, the column, the value and what was expected.
pub fn parse_row(
    row: usize,
    cells: &[String],
    whole_numbers: &[&str],
) -> Result<(SchoolRow, Vec<Warning>), Vec<CellError>> {
    let mut errors = Vec::new();
    let cell = |i: usize| cells.get(i).map(String::as_str).unwrap_or("");
    let mut err = |i: usize, zh: String, en: String| {
        errors.push(CellError {
            row,
            column: SCHOOL_COLUMNS[i].header.to_string(),
            value: cell(i).to_string(),
            reason: zh,
            reason_en: en,
        });
    };
    let code = cell(0).to_string();
    if let Err(e) = taizhang_domain::unit::unit_code(&code) {
        err(0, e.message_zh, e.message_en);
    }
    let name = cell(1).to_string();
    if let Err(e) = taizhang_domain::unit::unit_name(&name) {
        err(1, e.message_zh, e.message_en);
    }
    let county = cell(2).to_string();
    if county.is_empty() {
        err(
            2,
            "必填:学校所属区县的名称或代码".into(),
            "required: the county's name or code".into(),
        );
    }
    let kind = kind_of(cell(3));
    if kind.is_none() {
        err(
            3,
            format!("办学类型应为:{}", KINDS.join("、")),
            "school type must be one of 小学, 初中, 九年一贯制, 完全中学, 十二年一贯制, 高中, 教学点"
                .into(),
        );
    }
    let urban_rural = cell(4).to_string();
    if !urban_rural.is_empty() && !URBAN_RURAL.contains(&urban_rural.as_str()) {
        err(
            4,
            format!("城乡分类应为:{},或留空", URBAN_RURAL.join("、")),
            "urban/rural must be 城区, 镇区 or 乡村, or blank".into(),
        );
    }
    let stages: &[&str] = kind.map_or(&[], |k| stages_of(k.as_str()));
    let mut values = Vec::new();
    let mut big: Vec<(&'static str, f64, f64)> = Vec::new();
    for (k, t) in TARGETS.iter().enumerate() {
        let i = k + 5;
        let raw = cell(i);
        let (stage, element) = match *t {
            Target::Stage(s, e) => (s, e),
            Target::School(e) => ("", e),
            Target::Big(e, _) => ("", e),
        };
        let needed = match *t {
            Target::Stage(s, _) => stages.contains(&s),
            Target::School(_) | Target::Big(..) => {
                stages.iter().any(|s| *s == "primary" || *s == "junior")
            }
        };
        if raw.is_empty() {
            if needed && kind.is_some() {
                err(
                    i,
                    if stage.is_empty() {
                        "必填:义务教育学校须填写此项,没有请填0".to_string()
                    } else {
                        format!("必填:本校有{}学段,没有请填0", stage_zh(stage))
                    },
                    "required for this school; type 0 if there are none".into(),
                );
            }
            continue;
        }
        let Some(v) = number(raw) else {
            err(i, "应为数字".into(), "must be a number".into());
            continue;
        };
        if v < 0.0 {
            err(i, "不能为负数".into(), "must not be negative".into());
            continue;
        }
        if whole_numbers.contains(&element) && v.fract() != 0.0 {
            err(i, "应为整数".into(), "must be a whole number".into());
            continue;
        }
        if !needed {
            if v != 0.0 && kind.is_some() {
                err(
                    i,
                    format!(
                        "办学类型“{}”没有{}学段,此列应为空或0",
                        cell(3),
                        stage_zh(stage)
                    ),
                    format!(
                        "a {} school has no {stage} stage: leave it blank or 0",
                        cell(3)
                    ),
                );
            }
            continue;
        }
        match *t {
            Target::Big(e, limit) => big.push((e, limit, v)),
            _ => values.push((stage, element, v)),
        }
    }
    let mut warnings = Vec::new();
    // 56/66: to the compulsory stage that can hold such classes.
    let compulsory: Vec<&str> = stages
        .iter()
        .copied()
        .filter(|s| *s == "primary" || *s == "junior")
        .collect();
    let max_of = |s: &str| {
        values
            .iter()
            .find(|(st, e, _)| *st == s && *e == "max_class")
            .map(|v| v.2)
    };
    let mut attributed = Vec::new();
    for (element, limit, v) in big {
        let stage = match compulsory.as_slice() {
            [one] => *one,
            [a, b] => {
                let (ma, mb) = (max_of(a).unwrap_or(0.0), max_of(b).unwrap_or(0.0));
                if v == 0.0 || (ma < limit) == (mb < limit) {
                    if v > 0.0 && ma >= limit && mb >= limit {
                        warnings.push(Warning {
                            row,
                            message: format!(
                                "{}的小学、初中最大班额都不小于{limit},{}人以上班级数{v}无法按学段拆分,已计入最大班额较大的学段",
                                name, limit
                            ),
                        });
                    }
                    if ma >= mb { *a } else { *b }
                } else if ma >= limit {
                    *a
                } else {
                    *b
                }
            }
            _ => continue,
        };
        attributed.push((stage, element, v));
    }
    values.extend(attributed);
    if !errors.is_empty() {
        return Err(errors);
    }
    Ok((
        SchoolRow {
            row,
            code,
            name,
            county,
            kind: kind.unwrap_or(SchoolStage::Primary),
            urban_rural,
            values,
        },
        warnings,
    ))
}

/// What an import did.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Summary {
    pub rows: usize,
    pub created: usize,
    pub updated: usize,
    /// The returns' state after the import: `submitted`, or `approved` when asked.
    pub state: String,
    pub warnings: Vec<Warning>,
}

/// Reads an uploaded .xlsx (or, when `csv`, a CSV file) with the import limits.
pub fn read(bytes: &[u8], csv: bool) -> Result<Sheet, ExcelError> {
    let limits = Limits {
        max_rows: 1_000_000,
        max_file_bytes: 200 << 20,
        max_unzipped_bytes: 2 << 30,
        ..Limits::default()
    };
    if csv {
        taizhang_office::table::read_csv(bytes, SCHOOL_COLUMNS, &limits)
    } else {
        excel::read(bytes, SCHOOL_COLUMNS, &limits)
    }
}

/// Tells a CSV upload from an .xlsx one by its first bytes (an .xlsx is a zip).
pub fn looks_like_csv(bytes: &[u8]) -> bool {
    !bytes.starts_with(b"PK")
}

/// The template, with 篇五's 第三小学 as the example row.
pub fn template() -> Result<Vec<u8>, ExcelError> {
    let example: Vec<String> = [
        "3509230003",
        "(示例,导入前请删除此行)屏南县第三小学",
        "屏南县",
        "小学",
        "城区",
        "1313",
        "",
        "",
        "28",
        "",
        "0",
        "0",
        "52",
        "",
        "68",
        "",
        "66",
        "",
        "8",
        "",
        "9",
        "",
        "40",
        "",
        "4208",
        "6880",
        "2100000",
        "50",
        "28",
        "9811",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    excel::write("学校基础数据", SCHOOL_COLUMNS, &[example], true)
}

fn cell_error(row: usize, column: usize, value: &str, zh: String, en: String) -> CellError {
    CellError {
        row,
        column: SCHOOL_COLUMNS[column].header.to_string(),
        value: value.to_string(),
        reason: zh,
        reason_en: en,
    }
}

/// Imports the rows of `sheet` for the 学年 `year`: every school's values are replaced and its
/// return set to `submitted` (or `approved` with `approve`, which needs 审核 rights). Schools
/// already submitted or approved for that year are refused (a locked return is changed only
/// after the bureau returns it).
pub async fn import(
    app: &App,
    actor: &Actor,
    year: &str,
    sheet: Sheet,
    approve: bool,
) -> Result<Summary, ImportError> {
    let period = crate::indicators::check_period(year)?;
    let enter = actor.scope(Permission::DataEnter);
    if enter.is_empty() {
        return Err(ServiceError::Forbidden.into());
    }
    if approve && actor.scope(Permission::DataApprove).is_empty() {
        return Err(ServiceError::Forbidden.into());
    }
    let els = standards::elements();
    let whole: Vec<&str> = els
        .elements
        .iter()
        .filter(|e| e.kind == "count")
        .map(|e| e.code.as_str())
        .collect();
    let mut errors = Vec::new();
    let mut warnings = Vec::new();
    let mut rows: Vec<SchoolRow> = Vec::with_capacity(sheet.rows.len());
    let mut seen: HashMap<String, usize> = HashMap::new();
    for (r, cells) in sheet.rows {
        match parse_row(r, &cells, &whole) {
            Ok((row, w)) => {
                if let Some(first) = seen.get(&row.code) {
                    errors.push(cell_error(
                        r,
                        0,
                        &row.code,
                        format!("学校标识码与第{first}行重复"),
                        format!("the same school code as row {first}"),
                    ));
                    continue;
                }
                seen.insert(row.code.clone(), r);
                warnings.extend(w);
                rows.push(row);
            }
            Err(e) => errors.extend(e),
        }
    }
    // Counties, existing schools and locked returns.
    let mut c = app.store.conn().await.map_err(ServiceError::from)?;
    let mut county_keys: Vec<String> = rows.iter().map(|r| r.county.clone()).collect();
    county_keys.sort();
    county_keys.dedup();
    let read = actor.scope(Permission::UnitRead);
    let mut counties: HashMap<String, Vec<Unit>> = HashMap::new();
    for u in taizhang_store::units::by_names_or_codes(&mut c, &county_keys).await? {
        if u.kind != "school" && read.contains(u.id, &u.path, None) {
            counties.entry(u.name.clone()).or_default().push(u.clone());
            if u.code != u.name {
                counties.entry(u.code.clone()).or_default().push(u);
            }
        }
    }
    let codes: Vec<String> = rows.iter().map(|r| r.code.clone()).collect();
    let existing: HashMap<String, Unit> = taizhang_store::units::by_codes(&mut c, &codes)
        .await?
        .into_iter()
        .map(|u| (u.code.clone(), u))
        .collect();
    let existing_ids: Vec<i64> = existing.values().map(|u| u.id).collect();
    let locked: HashMap<i64, String> = store::returns_of(&mut c, &existing_ids, &period)
        .await?
        .into_iter()
        .filter(|r| r.state != "draft")
        .map(|r| (r.unit_id, r.state))
        .collect();
    // Where new schools go: the county's 教育局 when it has exactly one, else the county.
    let mut homes: HashMap<i64, Unit> = HashMap::new();
    let write = actor.scope(Permission::UnitWrite);
    let approve_scope = actor.scope(Permission::DataApprove);
    let mut new_units: Vec<NewUnit> = Vec::new();
    let mut targets: Vec<(usize, Option<i64>)> = Vec::with_capacity(rows.len());
    for (k, r) in rows.iter().enumerate() {
        let county = match counties.get(&r.county).map(Vec::as_slice) {
            Some([one]) => one.clone(),
            Some(_) => {
                errors.push(cell_error(
                    r.row,
                    2,
                    &r.county,
                    "有多个同名单位,请改填单位代码".into(),
                    "several units have this name: use the unit code".into(),
                ));
                continue;
            }
            None => {
                errors.push(cell_error(
                    r.row,
                    2,
                    &r.county,
                    "找不到该区县(或不在您的数据范围内),请填写系统中的单位名称或代码".into(),
                    "no such county in your data scope: use a unit name or code from the system"
                        .into(),
                ));
                continue;
            }
        };
        if let Some(u) = existing.get(&r.code) {
            if u.kind != "school" || !enter.contains(u.id, &u.path, None) {
                errors.push(cell_error(
                    r.row,
                    0,
                    &r.code,
                    "该学校标识码已被您填报范围以外的单位使用".into(),
                    "this code belongs to a unit outside your data-entry scope".into(),
                ));
                continue;
            }
            if u.stage.as_deref() != Some(r.kind.as_str()) {
                errors.push(cell_error(
                    r.row,
                    3,
                    r.kind.label_zh(),
                    format!(
                        "与系统中登记的办学类型“{}”不一致,请先在单位管理中修改",
                        u.stage
                            .as_deref()
                            .and_then(|s| SchoolStage::parse("stage", s).ok())
                            .map_or("", |s| s.label_zh())
                    ),
                    "differs from the school type on record: change the unit first".into(),
                ));
                continue;
            }
            if let Some(state) = locked.get(&u.id) {
                errors.push(cell_error(
                    r.row,
                    0,
                    &r.code,
                    format!(
                        "该校{period}学年数据{},不能覆盖;如需更正请先退回",
                        if state == "approved" {
                            "已审核锁定"
                        } else {
                            "已报送待审核"
                        }
                    ),
                    format!("this school's {period} return is {state}: return it first"),
                ));
                continue;
            }
            if approve && !approve_scope.contains(u.id, &u.path, None) {
                errors.push(cell_error(
                    r.row,
                    0,
                    &r.code,
                    "您无权审核该校数据".into(),
                    "you may not approve this school's data".into(),
                ));
                continue;
            }
            targets.push((k, Some(u.id)));
            continue;
        }
        let home = match homes.get(&county.id) {
            Some(h) => h.clone(),
            None => {
                let kids = taizhang_store::units::list(
                    &mut c,
                    &taizhang_domain::scope::Scope::everything(),
                    &taizhang_store::units::UnitFilter {
                        parent_id: Some(county.id),
                        kind: Some("bureau".into()),
                        limit: 100,
                        ..Default::default()
                    },
                )
                .await?;
                let bureaus: Vec<&Unit> = kids
                    .iter()
                    .filter(|u| u.active && u.name.ends_with("教育局"))
                    .collect();
                let h = match bureaus.as_slice() {
                    [one] => (*one).clone(),
                    _ => county.clone(),
                };
                homes.insert(county.id, h.clone());
                h
            }
        };
        if !write.contains(home.id, &home.path, None) || !enter.contains(home.id, &home.path, None)
        {
            errors.push(cell_error(
                r.row,
                0,
                &r.code,
                format!("系统中没有该学校,且您无权在“{}”下新建学校", home.name),
                format!(
                    "no such school, and you may not create schools under {}",
                    home.name
                ),
            ));
            continue;
        }
        new_units.push(NewUnit {
            parent: Some((home.id, home.path.clone(), home.depth)),
            code: r.code.clone(),
            name: r.name.clone(),
            kind: "school".into(),
            stage: Some(r.kind.as_str().into()),
            rural: r.urban_rural == "乡村",
            attrs: serde_json::json!({"county": county.name, "urban_rural": r.urban_rural})
                .to_string(),
            sort_order: 0,
        });
        targets.push((k, None));
    }
    drop(c);
    if !errors.is_empty() {
        errors.sort_by_key(|e| e.row);
        return Err(ImportError::Cells(errors));
    }
    // Write: new schools, then values, returns and one audit event per school, in chunks
    // (one transaction: all or nothing; chunks only bound the memory held at once).
    let now = app.now();
    let state = if approve { "approved" } else { "submitted" };
    let who = (actor.user_id > 0).then_some(actor.user_id);
    let mut tx = app.store.begin().await.map_err(ServiceError::from)?;
    let mut created: HashMap<String, i64> = HashMap::with_capacity(new_units.len());
    for chunk in new_units.chunks(5_000) {
        let ids = taizhang_store::units::insert_many(&mut tx, chunk, now).await?;
        let audit = ids
            .iter()
            .zip(chunk)
            .map(|((_, id), u)| {
                audit_event(
                    app,
                    actor,
                    "unit.create",
                    "unit",
                    *id,
                    Some(*id),
                    None::<&()>,
                    Some(&serde_json::json!({"code": u.code, "name": u.name, "kind": "school", "stage": u.stage, "via": "import"})),
                )
            })
            .collect();
        taizhang_store::audit::append_many(&mut tx, audit).await?;
        created.extend(ids);
    }
    for chunk in targets.chunks(5_000) {
        let mut values = Vec::with_capacity(chunk.len() * 20);
        let mut ids = Vec::with_capacity(chunk.len());
        let mut audit = Vec::with_capacity(chunk.len());
        for (k, id) in chunk {
            let r = &rows[*k];
            let id = id
                .or_else(|| created.get(&r.code).copied())
                .unwrap_or_default();
            ids.push(id);
            let mut entries = serde_json::Map::new();
            for (s, e, v) in &r.values {
                values.push((id, *s, *e, *v));
                entries.insert(
                    if s.is_empty() {
                        e.to_string()
                    } else {
                        format!("{s}.{e}")
                    },
                    serde_json::json!(v),
                );
            }
            audit.push(audit_event(
                app,
                actor,
                "indicators.import",
                "indicator_return",
                id,
                Some(id),
                None::<&()>,
                Some(&serde_json::json!({"period": period, "row": r.row, "values": entries})),
            ));
        }
        store::replace_values_many(&mut tx, &period, &values).await?;
        store::set_returns_many(&mut tx, &period, &ids, state, who, now).await?;
        taizhang_store::audit::append_many(&mut tx, audit).await?;
    }
    tx.commit().await.map_err(ServiceError::from)?;
    Ok(Summary {
        rows: targets.len(),
        created: new_units.len(),
        updated: targets.len() - new_units.len(),
        state: state.to_string(),
        warnings,
    })
}
