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
fn check_period(period: &str) -> Result<String> {
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

/// The built-in standard with this id (administrators' copies come later).
pub fn standard(id: &str) -> Result<Standard> {
    standards::presets()
        .into_iter()
        .find(|s| s.id == id)
        .ok_or_else(|| {
            FieldError::new(
                "not_found",
                "standard",
                format!("评估标准“{id}”不存在,可选:basic-2012、quality-2017、class-size"),
                format!("no standard '{id}': use basic-2012, quality-2017 or class-size"),
            )
            .into()
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
    let period = check_period(period)?;
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
    let els = standards::elements();
    let stages = evaluate::stages_of(school.stage.as_deref().unwrap_or(""));
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
        Some(&serde_json::json!({"period": period, "entries": entries})),
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
    let period = check_period(period)?;
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
    let std = standard(standard_id)?;
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
                    code: s.code.clone(),
                    name: s.name.clone(),
                    county: county.name.clone(),
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
        out.excluded.push((
            s.code.clone(),
            if include_unapproved {
                "尚未填报".to_string()
            } else {
                "尚无审核通过的数据".to_string()
            },
        ));
    }
    Ok(out)
}
