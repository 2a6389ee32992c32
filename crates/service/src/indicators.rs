//! School indicators (均衡发展指标): schools fill in their data for a 学年 (填报), the bureau
//! approves it (审核, which locks it), and evaluations against a standard are computed from the
//! approved data — recomputed every time, never stored.

use crate::{Actor, App, Result, ServiceError, record};
use serde::Serialize;
use std::collections::BTreeMap;
use taizhang_domain::FieldError;
use taizhang_domain::evaluate::{self, Evaluation, SchoolData};
use taizhang_domain::role::Permission;
use taizhang_domain::standards::{self, Standard};
use taizhang_store::indicators as store;

/// A 学年 as users name it: `2024` (the year it starts).
pub(crate) fn check_period(period: &str) -> Result<String> {
    let p = period.trim();
    match p.parse::<i32>() {
        Ok(y) if (2000..=2100).contains(&y) && p.len() == 4 => Ok(p.to_string()),
        _ => Err(FieldError::new(
            "invalid_format",
            "year",
            format!("学年“{period}”应为四位年份,如 2024(即2024—2025学年)"),
            format!("year '{period}' must be four digits, e.g. 2024 (school year 2024-25)"),
        )
        .into()),
    }
}

fn no_standard(id: &str) -> ServiceError {
    FieldError::new(
        "not_found",
        "standard",
        format!("评估标准“{id}”不存在,可选:basic-2012、quality-2017、class-size 或管理员复制的标准"),
        format!("no standard '{id}': use basic-2012, quality-2017, class-size or an administrator's copy"),
    )
    .into()
}

/// The built-in preset with this id.
pub fn standard(id: &str) -> Result<Standard> {
    standards::presets()
        .into_iter()
        .find(|s| s.id == id)
        .ok_or_else(|| no_standard(id))
}

/// The standard with this id: a built-in preset, or an administrator's copy.
pub async fn standard_for(app: &App, id: &str) -> Result<Standard> {
    if let Ok(s) = standard(id) {
        return Ok(s);
    }
    let mut c = app.store.conn().await?;
    let stored = store::get_standard(&mut c, id)
        .await?
        .ok_or_else(|| no_standard(id))?;
    Standard::from_json(&stored.body).map_err(Into::into)
}

/// A standard as listed: built in or an administrator's copy (with its version).
#[derive(Debug, Clone, Serialize)]
pub struct StandardEntry {
    #[serde(flatten)]
    pub standard: Standard,
    pub builtin: bool,
    pub based_on: Option<String>,
    pub version: i64,
}

/// Every standard an evaluation can use: the presets, then administrators' copies.
pub async fn all_standards(app: &App) -> Result<Vec<StandardEntry>> {
    let mut out: Vec<StandardEntry> = standards::presets()
        .into_iter()
        .map(|s| StandardEntry {
            standard: s,
            builtin: true,
            based_on: None,
            version: 0,
        })
        .collect();
    let mut c = app.store.conn().await?;
    for s in store::list_standards(&mut c).await? {
        if let Ok(std) = Standard::from_json(&s.body) {
            out.push(StandardEntry {
                standard: std,
                builtin: false,
                based_on: s.based_on,
                version: s.version,
            });
        }
    }
    Ok(out)
}

/// Checks an administrator's standard: valid JSON of the standard's shape, every formula over
/// known elements, thresholds for its stages, known rules; the id is new-style (lowercase
/// letters, digits, '-') and not a preset's.
fn check_standard(id: &str, body: &str) -> Result<Standard> {
    let std = Standard::from_json(body)?;
    std.check(&standards::elements())?;
    if std.id != id {
        return Err(FieldError::new(
            "invalid_standard",
            "id",
            format!("标准内容中的 id“{}”应与标准编号“{id}”一致", std.id),
            format!("the body's id '{}' must be '{id}'", std.id),
        )
        .into());
    }
    Ok(std)
}

/// Only an administrator over everything (全部) manages standards: they govern every county's
/// evaluation, like the working-day calendar.
fn may_manage_standards(actor: &Actor) -> Result<()> {
    if actor.scope(Permission::UnitWrite).all {
        Ok(())
    } else {
        Err(ServiceError::Forbidden)
    }
}

/// Copies a standard (a preset or another copy) under a new id, for a province's rules; the
/// body, if given, is the edited standard (JSON), else the original with the new id.
pub async fn copy_standard(
    app: &App,
    actor: &Actor,
    based_on: &str,
    id: &str,
    name: &str,
) -> Result<StandardEntry> {
    may_manage_standards(actor)?;
    let id = crate::check_copy_id(id, "标准", "fj-quality-2017")?;
    if standard(id).is_ok() {
        return Err(FieldError::new(
            "duplicate",
            "id",
            "不能使用内置标准的编号",
            "that id belongs to a built-in standard",
        )
        .into());
    }
    let mut std = standard_for(app, based_on).await?;
    std.id = id.to_string();
    if !name.trim().is_empty() {
        std.name = name.trim().to_string();
    }
    let body =
        serde_json::to_string_pretty(&std).map_err(|e| ServiceError::Internal(e.to_string()))?;
    let mut tx = app.store.begin().await?;
    if store::get_standard(&mut tx, id).await?.is_some() {
        return Err(FieldError::new(
            "duplicate",
            "id",
            format!("标准编号“{id}”已被使用"),
            format!("the id '{id}' is taken"),
        )
        .into());
    }
    store::put_standard(&mut tx, id, &body, Some(based_on), 0, app.now()).await?;
    record(
        app,
        &mut tx,
        actor,
        "standard.copy",
        "standard",
        0,
        None,
        None::<&()>,
        Some(&std),
    )
    .await?;
    tx.commit().await?;
    Ok(StandardEntry {
        standard: std,
        builtin: false,
        based_on: Some(based_on.to_string()),
        version: 1,
    })
}

/// Replaces an administrator's standard with an edited body (JSON), if `version` is current.
/// A body that does not parse or check names the line, the indicator or the field.
pub async fn update_standard(
    app: &App,
    actor: &Actor,
    id: &str,
    version: i64,
    body: &str,
) -> Result<StandardEntry> {
    may_manage_standards(actor)?;
    if standard(id).is_ok() {
        return Err(FieldError::new(
            "builtin",
            "id",
            "内置标准不能修改,请先复制",
            "a built-in standard cannot be changed: copy it first",
        )
        .into());
    }
    let mut tx = app.store.begin().await?;
    let before = store::get_standard(&mut tx, id)
        .await?
        .ok_or(ServiceError::NotFound)?;
    let std = check_standard(id, body)?;
    let body =
        serde_json::to_string_pretty(&std).map_err(|e| ServiceError::Internal(e.to_string()))?;
    store::put_standard(&mut tx, id, &body, None, version, app.now()).await?;
    record(
        app,
        &mut tx,
        actor,
        "standard.update",
        "standard",
        0,
        None,
        Some(&before.body),
        Some(&std),
    )
    .await?;
    tx.commit().await?;
    Ok(StandardEntry {
        standard: std,
        builtin: false,
        based_on: before.based_on,
        version: version + 1,
    })
}

/// One value a school reports: stage (`primary`, `junior`, `senior`, or empty for a
/// school-wide element), data element code, value.
#[derive(Debug, Clone, serde::Deserialize, Serialize)]
pub struct Entry {
    #[serde(default)]
    pub stage: String,
    pub element: String,
    pub value: f64,
}

/// 填报: replaces a school's data for a year. The school must be inside the caller's 填报
/// scope and its return not submitted or approved (an approved return is locked). Every value
/// is checked (known element, a stage of this school for per-stage elements, a finite number
/// ≥ 0); any bad value writes nothing and names the value.
pub async fn save(
    app: &App,
    actor: &Actor,
    unit_id: i64,
    period: &str,
    entries: &[Entry],
) -> Result<()> {
    save_form(app, actor, "", unit_id, period, entries).await
}

/// Checks the period for the form (the built-in form's 学年 as before) and gives the form,
/// the period and the key the values are stored under.
async fn form_period(
    app: &App,
    form_id: &str,
    period: &str,
) -> Result<(taizhang_domain::forms::Form, String, String)> {
    let form = crate::forms::form(app, form_id).await?;
    let period = if form.id == taizhang_domain::forms::BASIC {
        check_period(period)?
    } else {
        form.period_type.check(period)?
    };
    let key = form.key(&period);
    Ok((form, period, key))
}

fn not_assigned(form: &taizhang_domain::forms::Form, kind: &str) -> ServiceError {
    FieldError::new(
        "not_assigned",
        "form",
        format!(
            "填报表“{}”不适用于{}",
            form.name,
            taizhang_domain::unit::SchoolStage::parse("stage", kind).map_or(kind, |k| k.label_zh())
        ),
        format!("the form '{}' is not assigned to {kind} schools", form.id),
    )
    .into()
}

/// 填报 of any form: like [`save`], over the form's elements and period type.
pub async fn save_form(
    app: &App,
    actor: &Actor,
    form_id: &str,
    unit_id: i64,
    period: &str,
    entries: &[Entry],
) -> Result<()> {
    let (form, shown_period, period) = form_period(app, form_id, period).await?;
    let all_els = crate::forms::elements(app).await?;
    let mut tx = app.store.begin().await?;
    let school = taizhang_store::units::get(&mut tx, &actor.scope(Permission::DataRead), unit_id)
        .await?
        .filter(|u| u.kind == "school")
        .ok_or(ServiceError::NotFound)?;
    if !actor
        .scope(Permission::DataEnter)
        .contains(school.id, &school.path, None)
    {
        return Err(ServiceError::Forbidden);
    }
    let ret = store::get_return(&mut tx, unit_id, &period).await?;
    if let Some(r) = &ret
        && r.state != "draft"
    {
        return Err(FieldError::new(
            "locked",
            "state",
            if r.state == "approved" {
                "数据已审核通过并锁定,如需更正请联系教育局退回".to_string()
            } else {
                "数据已报送,待审核期间不能修改".to_string()
            },
            format!("the return is {}: it cannot be changed", r.state),
        )
        .into());
    }
    let kind = school.stage.clone().unwrap_or_default();
    if !form.applies_to(&kind) {
        return Err(not_assigned(&form, &kind));
    }
    let els = standards::Elements {
        elements: all_els
            .elements
            .into_iter()
            .filter(|e| form.elements.contains(&e.code))
            .collect(),
        ..all_els
    };
    let stages = evaluate::stages_of(&kind);
    let mut rows = Vec::with_capacity(entries.len());
    for (k, e) in entries.iter().enumerate() {
        let bad = |zh: String, en: String| -> ServiceError {
            FieldError::new("invalid_value", format!("entries[{k}]"), zh, en).into()
        };
        let Some(def) = els.elements.iter().find(|d| d.code == e.element) else {
            return Err(bad(
                format!("第{}项:未知的数据项“{}”", k + 1, e.element),
                format!("entry {}: unknown data element '{}'", k + 1, e.element),
            ));
        };
        if def.per_stage && !stages.contains(&e.stage.as_str()) {
            return Err(bad(
                format!(
                    "第{}项“{}”:学段应为本校学段之一({})",
                    k + 1,
                    def.name,
                    stages.join("、")
                ),
                format!(
                    "entry {} ({}): stage must be one of this school's: {}",
                    k + 1,
                    def.code,
                    stages.join(", ")
                ),
            ));
        }
        if !def.per_stage && !e.stage.is_empty() {
            return Err(bad(
                format!("第{}项“{}”是全校数据,不分学段", k + 1, def.name),
                format!(
                    "entry {} ({}) is school-wide: leave the stage empty",
                    k + 1,
                    def.code
                ),
            ));
        }
        if !e.value.is_finite() || e.value < 0.0 {
            return Err(bad(
                format!("第{}项“{}”的值{}应为不小于0的数", k + 1, def.name, e.value),
                format!(
                    "entry {} ({}): {} must be a number ≥ 0",
                    k + 1,
                    def.code,
                    e.value
                ),
            ));
        }
        rows.push((e.stage.clone(), e.element.clone(), e.value));
    }
    store::replace_values(&mut tx, unit_id, &period, &rows).await?;
    if ret.is_none() {
        store::set_return(&mut tx, unit_id, &period, 0, "draft", "", None, app.now()).await?;
    }
    record(
        app,
        &mut tx,
        actor,
        "indicators.save",
        "indicator_return",
        unit_id,
        Some(unit_id),
        None::<&()>,
        Some(&serde_json::json!({"form": form.id, "period": shown_period, "entries": entries})),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Moves a school's return: `submit` (填报员: draft → submitted), `approve` (审核: submitted →
/// approved, locking it) or `return` (审核: submitted or approved → draft, reason required).
pub async fn transition(
    app: &App,
    actor: &Actor,
    unit_id: i64,
    period: &str,
    action: &str,
    reason: &str,
) -> Result<store::Return> {
    transition_form(app, actor, "", unit_id, period, action, reason).await
}

/// [`transition`] for any form; 数据校验 applies to the built-in form's data.
pub async fn transition_form(
    app: &App,
    actor: &Actor,
    form_id: &str,
    unit_id: i64,
    period: &str,
    action: &str,
    reason: &str,
) -> Result<store::Return> {
    let (form, _, period) = form_period(app, form_id, period).await?;
    let mut tx = app.store.begin().await?;
    let school = taizhang_store::units::get(&mut tx, &actor.scope(Permission::DataRead), unit_id)
        .await?
        .filter(|u| u.kind == "school")
        .ok_or(ServiceError::NotFound)?;
    let ret = store::get_return(&mut tx, unit_id, &period)
        .await?
        .ok_or_else(|| {
            FieldError::new(
                "no_data",
                "period",
                "该学年尚未填报数据",
                "nothing has been reported for this year",
            )
        })?;
    let (needs, from, to) = match action {
        "submit" => (Permission::DataEnter, &["draft"][..], "submitted"),
        "approve" => (Permission::DataApprove, &["submitted"][..], "approved"),
        "return" => (
            Permission::DataApprove,
            &["submitted", "approved"][..],
            "draft",
        ),
        other => {
            return Err(FieldError::new(
                "invalid_value",
                "action",
                format!("未知操作“{other}”,应为 submit、approve 或 return"),
                format!("unknown action '{other}': use submit, approve or return"),
            )
            .into());
        }
    };
    if !actor.scope(needs).contains(school.id, &school.path, None) {
        return Err(ServiceError::Forbidden);
    }
    if !from.contains(&ret.state.as_str()) {
        return Err(FieldError::new(
            "illegal_transition",
            "action",
            format!("当前状态“{}”不能执行该操作", ret.state),
            format!("a return in state '{}' cannot be '{action}'", ret.state),
        )
        .into());
    }
    if action == "submit" && form.id == taizhang_domain::forms::BASIC {
        // 数据校验: a return with errors is not submitted; the errors are named.
        let vs = store::values(
            &mut tx,
            &taizhang_domain::scope::Scope::everything(),
            &school.path,
            &period,
            true,
        )
        .await?;
        let entries: Vec<Entry> = vs
            .into_iter()
            .filter(|v| v.unit_id == unit_id)
            .map(|v| Entry {
                stage: v.stage,
                element: v.element,
                value: v.value,
            })
            .collect();
        let (per_stage, whole) = split(&entries);
        let errors: Vec<_> = taizhang_domain::validate::check(
            &taizhang_domain::validate::builtin(),
            &standards::elements(),
            &per_stage,
            &whole,
        )
        .into_iter()
        .filter(|f| f.importance == "error")
        .collect();
        if !errors.is_empty() {
            let list = errors
                .iter()
                .map(|f| {
                    format!(
                        "{}{}{}",
                        f.rule,
                        if f.stage.is_empty() {
                            String::new()
                        } else {
                            format!("({})", stage_label(&f.stage))
                        },
                        f.message
                    )
                })
                .collect::<Vec<_>>()
                .join(";");
            return Err(FieldError::new(
                "validation_failed",
                "values",
                format!("数据校验未通过,不能报送:{list}"),
                format!(
                    "{} validation errors: fix them before submitting",
                    errors.len()
                ),
            )
            .into());
        }
    }
    if action == "return" && reason.trim().is_empty() {
        return Err(FieldError::new(
            "reason_required",
            "reason",
            "退回须说明原因",
            "a return needs a reason",
        )
        .into());
    }
    store::set_return(
        &mut tx,
        unit_id,
        &period,
        ret.version,
        to,
        reason.trim(),
        (actor.user_id > 0).then_some(actor.user_id),
        app.now(),
    )
    .await?;
    let after = store::get_return(&mut tx, unit_id, &period)
        .await?
        .ok_or(ServiceError::NotFound)?;
    record(
        app,
        &mut tx,
        actor,
        &format!("indicators.{action}"),
        "indicator_return",
        unit_id,
        Some(unit_id),
        Some(&ret),
        Some(&after),
    )
    .await?;
    tx.commit().await?;
    Ok(after)
}

/// An evaluation of the schools under `county` (a unit, by id) for a year.
pub async fn evaluate(
    app: &App,
    actor: &Actor,
    standard_id: &str,
    period: &str,
    county_id: i64,
    include_unapproved: bool,
) -> Result<Evaluation> {
    let std = standard_for(app, standard_id).await?;
    let period = check_period(period)?;
    let scope = actor.scope(Permission::DataRead);
    let mut c = app.store.conn().await?;
    let county = taizhang_store::units::get(&mut c, &scope, county_id)
        .await?
        .ok_or(ServiceError::NotFound)?;
    let schools = store::schools(&mut c, &scope, &county.path, &period).await?;
    let values = store::values(&mut c, &scope, &county.path, &period, include_unapproved).await?;
    drop(c);
    let mut by_school: BTreeMap<i64, SchoolData> = schools
        .iter()
        .map(|s| {
            (
                s.id,
                SchoolData {
                    code: s.code.as_str().into(),
                    name: s.name.as_str().into(),
                    // 所属区县 as imported, else the unit evaluated.
                    county: serde_json::from_str::<serde_json::Value>(&s.attrs)
                        .ok()
                        .and_then(|a| a.get("county")?.as_str().map(str::to_string))
                        .unwrap_or_else(|| county.name.clone())
                        .into(),
                    kind: s.stage.clone().unwrap_or_default(),
                    ..Default::default()
                },
            )
        })
        .collect();
    for v in values {
        let Some(s) = by_school.get_mut(&v.unit_id) else {
            continue;
        };
        if v.stage.is_empty() {
            s.school.insert(v.element, v.value);
        } else {
            s.per_stage
                .entry(v.stage)
                .or_default()
                .insert(v.element, v.value);
        }
    }
    // Schools without (approved) data are not evaluated; say so.
    let mut out = evaluate::evaluate(
        &std,
        &standards::elements(),
        &by_school
            .values()
            .filter(|s| !s.per_stage.is_empty() || !s.school.is_empty())
            .cloned()
            .collect::<Vec<_>>(),
    );
    for s in by_school
        .values()
        .filter(|s| s.per_stage.is_empty() && s.school.is_empty())
    {
        let kind = if s.kind == "complete" {
            "complete_secondary"
        } else {
            s.kind.as_str()
        };
        let in_scope = std.scope.kinds.iter().any(|k| k == kind) || kind == "teaching_point";
        out.excluded.push((
            s.code.to_string(),
            if !in_scope {
                format!(
                    "学校类型“{}”不在评估范围",
                    taizhang_domain::unit::SchoolStage::parse("stage", &s.kind)
                        .map_or(s.kind.as_str(), |k| k.label_zh())
                )
            } else if include_unapproved {
                "尚未填报".to_string()
            } else {
                "尚无审核通过的数据".to_string()
            },
        ));
    }
    Ok(out)
}

/// One gap of an evaluation as a rectification item (查漏补缺 → 整改台账): its number in the
/// ledger is `学校标识码-学段-指标` (or `县域-学段-指标`), so the same gap is raised once.
#[derive(Debug, Clone, Serialize)]
pub struct Gap {
    pub number: String,
    pub title: String,
    pub requirements: String,
    pub lead_unit_id: i64,
    /// The item raised for it, if any, and its state.
    pub item_id: Option<i64>,
    pub item_state: Option<String>,
}

/// Gap items of an evaluation and how they stand now.
#[derive(Debug, Clone, Serialize)]
pub struct GapReport {
    pub ledger_id: Option<i64>,
    pub ledger_name: String,
    /// Gaps of the evaluation now (each with its item, if raised).
    pub open: Vec<Gap>,
    /// Items raised earlier whose indicator is met now (re-evaluated after new data).
    pub now_met: Vec<Gap>,
    /// Items created by this call.
    pub created: usize,
}

fn stage_label(stage: &str) -> &'static str {
    match stage {
        "primary" => "小学",
        "junior" => "初中",
        "senior" => "高中",
        _ => "",
    }
}

fn fmt_num(v: f64) -> String {
    let s = format!("{v:.2}");
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

/// The gaps of an evaluation: failed school indicators and failed county indicators.
fn gaps_of(
    std: &Standard,
    period: &str,
    ev: &Evaluation,
    school_ids: &BTreeMap<String, i64>,
    county: &taizhang_store::units::Unit,
) -> Vec<Gap> {
    let name_of = |code: &str| {
        std.indicators
            .iter()
            .find(|i| i.code == code)
            .map(|i| (i.name.clone(), i.unit.clone(), i.clause.clone()))
            .unwrap_or_default()
    };
    let mut out = Vec::new();
    for s in &ev.schools {
        for r in &s.indicators {
            if r.met != Some(false) {
                continue;
            }
            let (name, unit, clause) = name_of(&r.code);
            let st = stage_label(s.stage);
            // 第三小学 is a 小学: no need to say 小学 twice; a 一贯制 school names the stage.
            let part = if s.name.ends_with(st) { "" } else { st };
            out.push(Gap {
                number: format!("{}-{}-{}", s.code, st, r.code),
                title: format!("{}{}“{}”未达标", s.name, part, name),
                requirements: format!(
                    "{period}学年实际值{}{unit},达标值{}{unit},差距{}{unit}{}。依据:{clause}。",
                    r.value.map(fmt_num).unwrap_or_default(),
                    r.threshold.map(fmt_num).unwrap_or_default(),
                    r.gap.map(fmt_num).unwrap_or_default(),
                    r.floor
                        .map(|f| format!(",基本值(85%){}{unit}", fmt_num(f)))
                        .unwrap_or_default(),
                ),
                lead_unit_id: school_ids.get(&*s.code).copied().unwrap_or(county.id),
                item_id: None,
                item_state: None,
            });
        }
    }
    for c in &ev.county {
        if c.pass != Some(false) {
            continue;
        }
        let (name, unit, _) = name_of(&c.indicator);
        let st = stage_label(&c.stage);
        let what = match c.cv {
            Some(cv) if std.county_rule.kind != "ratio_of_sums" => format!(
                "差异系数{},上限{}",
                fmt_num_3(cv),
                c.threshold.map(fmt_num_3).unwrap_or_default()
            ),
            _ => format!(
                "县域值{}{unit},标准{}{unit}",
                c.mean.map(fmt_num).unwrap_or_default(),
                c.threshold.map(fmt_num).unwrap_or_default()
            ),
        };
        out.push(Gap {
            number: format!("县域-{st}-{}", c.indicator),
            title: format!("{}{st}“{name}”县域未达标", c.county),
            requirements: format!("{period}学年{what}。依据:{}。", std.county_rule.clause),
            lead_unit_id: county.id,
            item_id: None,
            item_state: None,
        });
    }
    out
}

fn fmt_num_3(v: f64) -> String {
    format!("{v:.3}")
}

fn gap_ledger_name(std: &Standard, period: &str, county: &str) -> String {
    format!("{county}{period}学年{}查漏补缺整改台账", std.name)
}

/// The evaluation's gaps and, if the gap ledger exists, the items raised for them, including
/// items whose indicator is met now.
pub async fn gaps(
    app: &App,
    actor: &Actor,
    standard_id: &str,
    period: &str,
    county_id: i64,
) -> Result<GapReport> {
    let std = standard_for(app, standard_id).await?;
    let period = check_period(period)?;
    let ev = evaluate(app, actor, standard_id, &period, county_id, false).await?;
    let mut c = app.store.conn().await?;
    let scope = actor.scope(Permission::DataRead);
    let county = taizhang_store::units::get(&mut c, &scope, county_id)
        .await?
        .ok_or(ServiceError::NotFound)?;
    let school_ids: BTreeMap<String, i64> = store::schools(&mut c, &scope, &county.path, &period)
        .await?
        .into_iter()
        .map(|s| (s.code, s.id))
        .collect();
    drop(c);
    let mut open = gaps_of(&std, &period, &ev, &school_ids, &county);
    let ledger_name = gap_ledger_name(&std, &period, &county.name);
    let ledger = crate::ledger::list_ledgers(app, actor)
        .await?
        .into_iter()
        .find(|l| l.name == ledger_name && l.owner_unit_id == county.id);
    let mut now_met = Vec::new();
    if let Some(l) = &ledger {
        let (items, _) = crate::ledger::list_items(
            app,
            actor,
            &taizhang_store::ledger::ItemFilter {
                ledger_id: Some(l.id),
                limit: 10_000,
                ..Default::default()
            },
        )
        .await?;
        for it in items {
            let it = it.item;
            if let Some(g) = open.iter_mut().find(|g| g.number == it.number) {
                g.item_id = Some(it.id);
                g.item_state = Some(it.state.clone());
            } else {
                now_met.push(Gap {
                    number: it.number.clone(),
                    title: it.title.clone(),
                    requirements: it.requirements.clone(),
                    lead_unit_id: it.lead_unit_id,
                    item_id: Some(it.id),
                    item_state: Some(it.state.clone()),
                });
            }
        }
    }
    Ok(GapReport {
        ledger_id: ledger.map(|l| l.id),
        ledger_name,
        open,
        now_met,
        created: 0,
    })
}

/// 查漏补缺: raises one rectification item per gap not raised yet, in the evaluation's gap
/// ledger (created, owned by the evaluated unit, on first use), led by the school (or the
/// county for a county indicator), due `deadline` and assigned at once.
pub async fn raise_gaps(
    app: &App,
    actor: &Actor,
    standard_id: &str,
    period: &str,
    county_id: i64,
    deadline: &str,
) -> Result<GapReport> {
    let mut report = gaps(app, actor, standard_id, period, county_id).await?;
    let std = standard_for(app, standard_id).await?;
    // Only a supervisor over the county may raise items (the ledger checks it too).
    let county = {
        let mut c = app.store.conn().await?;
        taizhang_store::units::get(&mut c, &actor.scope(Permission::DataRead), county_id)
            .await?
            .ok_or(ServiceError::NotFound)?
    };
    if !actor
        .scope(Permission::ItemSupervise)
        .contains(county.id, &county.path, None)
    {
        return Err(ServiceError::Forbidden);
    }
    taizhang_domain::dates::parse("deadline", deadline)?;
    if report.open.iter().all(|g| g.item_id.is_some()) {
        return Ok(report);
    }
    let ledger_id = match report.ledger_id {
        Some(id) => id,
        None => {
            crate::ledger::create_ledger(
                app,
                actor,
                crate::ledger::CreateLedger {
                    name: report.ledger_name.clone(),
                    kind: "整改".into(),
                    owner_unit_id: county.id,
                    period: period.to_string(),
                    yellow_days: None,
                },
            )
            .await?
            .id
        }
    };
    report.ledger_id = Some(ledger_id);
    for g in report.open.iter_mut().filter(|g| g.item_id.is_none()) {
        let v = crate::ledger::create_item(
            app,
            actor,
            ledger_id,
            crate::ledger::CreateItem {
                number: Some(g.number.clone()),
                source: "督查检查".into(),
                category: "查漏补缺".into(),
                title: g.title.clone(),
                requirements: g.requirements.clone(),
                subject: std.name.clone(),
                lead_unit_id: g.lead_unit_id,
                deadline: Some(deadline.to_string()),
                assign: true,
                ..Default::default()
            },
        )
        .await?;
        g.item_id = Some(v.item.id);
        g.item_state = Some(v.item.state.clone());
        report.created += 1;
    }
    Ok(report)
}

/// A school's return for a year as the 填报 page shows it: values, state, the validation
/// findings (数据校验) and the values whose change since last year stands out (异常值提示).
#[derive(Debug, Clone, Serialize)]
pub struct SchoolReturn {
    /// The form (填报表) and its data elements, in order.
    pub form_id: String,
    pub form_name: String,
    pub elements: Vec<String>,
    /// The period as users read it (2024—2025学年, 2024年5月 …).
    pub period_label: String,
    pub unit_id: i64,
    pub code: String,
    pub name: String,
    /// The school type (`primary`, `nine_year` …) and its stages.
    pub kind: String,
    pub stages: Vec<String>,
    pub period: String,
    pub ret: Option<store::Return>,
    pub values: Vec<Entry>,
    pub last_year: Vec<Entry>,
    pub findings: Vec<taizhang_domain::validate::Finding>,
    pub outliers: Vec<taizhang_domain::validate::Outlier>,
}

fn split(
    values: &[Entry],
) -> (
    BTreeMap<String, BTreeMap<String, f64>>,
    BTreeMap<String, f64>,
) {
    let mut per_stage: BTreeMap<String, BTreeMap<String, f64>> = BTreeMap::new();
    let mut school = BTreeMap::new();
    for e in values {
        if e.stage.is_empty() {
            school.insert(e.element.clone(), e.value);
        } else {
            per_stage
                .entry(e.stage.clone())
                .or_default()
                .insert(e.element.clone(), e.value);
        }
    }
    (per_stage, school)
}

/// Each school's relative changes from `from` to `to`, by `stage.element`, among the schools
/// under `path` (any state: only the median and spread are used, no school's figure is shown).
async fn changes_under(
    c: &mut impl taizhang_store::AsConn,
    path: &str,
    from: &str,
    to: &str,
    except: i64,
) -> Result<BTreeMap<String, Vec<f64>>> {
    let all = taizhang_domain::scope::Scope::everything();
    let a = store::values(c, &all, path, from, true).await?;
    let b = store::values(c, &all, path, to, true).await?;
    let before: BTreeMap<(i64, String, String), f64> = a
        .into_iter()
        .map(|v| ((v.unit_id, v.stage, v.element), v.value))
        .collect();
    let mut out: BTreeMap<String, Vec<f64>> = BTreeMap::new();
    for v in b {
        if v.unit_id == except {
            continue;
        }
        if let Some(x) = before
            .get(&(v.unit_id, v.stage.clone(), v.element.clone()))
            .and_then(|b| taizhang_domain::validate::change(*b, v.value))
        {
            out.entry(format!("{}.{}", v.stage, v.element))
                .or_default()
                .push(x);
        }
    }
    Ok(out)
}

/// The 填报 view of a school's return.
pub async fn school_return(
    app: &App,
    actor: &Actor,
    unit_id: i64,
    period: &str,
) -> Result<SchoolReturn> {
    school_return_form(app, actor, "", unit_id, period).await
}

/// The 填报 view of a school's return of any form; 数据校验 applies to the built-in form.
pub async fn school_return_form(
    app: &App,
    actor: &Actor,
    form_id: &str,
    unit_id: i64,
    period: &str,
) -> Result<SchoolReturn> {
    let (form, shown, key) = form_period(app, form_id, period).await?;
    let basic = form.id == taizhang_domain::forms::BASIC;
    let last_shown = form.period_type.previous(&shown);
    let last = form.key(&last_shown);
    let before_last = form.key(&form.period_type.previous(&last_shown));
    let period = key;
    let scope = actor.scope(Permission::DataRead);
    let mut c = app.store.conn().await?;
    let school = taizhang_store::units::get(&mut c, &scope, unit_id)
        .await?
        .filter(|u| u.kind == "school")
        .ok_or(ServiceError::NotFound)?;
    let ret = store::get_return(&mut c, unit_id, &period).await?;
    let own = |vs: Vec<store::Value>| -> Vec<Entry> {
        vs.into_iter()
            .filter(|v| v.unit_id == unit_id)
            .map(|v| Entry {
                stage: v.stage,
                element: v.element,
                value: v.value,
            })
            .collect()
    };
    let values = own(store::values(&mut c, &scope, &school.path, &period, true).await?);
    let last_year = own(store::values(&mut c, &scope, &school.path, &last, true).await?);
    let (per_stage, whole) = split(&values);
    let findings = if basic {
        taizhang_domain::validate::check(
            &taizhang_domain::validate::builtin(),
            &standards::elements(),
            &per_stage,
            &whole,
        )
    } else {
        Vec::new()
    };
    // Reference: the other schools under the same parent, this year if five or more have
    // reported, else last year's changes.
    let parent_path = school
        .path
        .trim_end_matches('/')
        .rsplit_once('/')
        .map(|(p, _)| format!("{p}/"))
        .unwrap_or_else(|| "/".into());
    let mut reference = changes_under(&mut c, &parent_path, &last, &period, unit_id).await?;
    if reference.values().all(|v| v.len() < 5) {
        reference = changes_under(&mut c, &parent_path, &before_last, &last, unit_id).await?;
    }
    drop(c);
    let mut outliers = Vec::new();
    for e in &values {
        let key = format!("{}.{}", e.stage, e.element);
        let Some(before) = last_year
            .iter()
            .find(|l| l.stage == e.stage && l.element == e.element)
        else {
            continue;
        };
        if let Some(o) = reference.get(&key).and_then(|r| {
            taizhang_domain::validate::outlier_against(&key, before.value, e.value, r, 3.5)
        }) {
            outliers.push(o);
        }
    }
    let kind = school.stage.clone().unwrap_or_default();
    Ok(SchoolReturn {
        form_id: form.id.clone(),
        form_name: form.name.clone(),
        elements: form.elements.clone(),
        period_label: form.period_type.label(&shown),
        unit_id,
        code: school.code,
        name: school.name,
        stages: evaluate::stages_of(&kind)
            .iter()
            .map(|s| s.to_string())
            .collect(),
        kind,
        period: shown,
        ret,
        values,
        last_year,
        findings,
        outliers,
    })
}

/// The schools in the caller's scope (under `under`, if given) with their return's state for
/// a year: the 审核 list.
pub async fn returns(
    app: &App,
    actor: &Actor,
    period: &str,
    under: Option<i64>,
) -> Result<Vec<store::SchoolRow>> {
    let period = check_period(period)?;
    let scope = actor.scope(Permission::DataRead);
    let mut c = app.store.conn().await?;
    let path = match under {
        Some(id) => {
            taizhang_store::units::get(&mut c, &scope, id)
                .await?
                .ok_or(ServiceError::NotFound)?
                .path
        }
        None => "/".to_string(),
    };
    Ok(store::schools(&mut c, &scope, &path, &period).await?)
}
