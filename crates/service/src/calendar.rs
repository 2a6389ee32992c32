//! The working-day calendar (工作日历) as administrators keep it: the shipped 2007–2026
//! arrangements plus the days they enter for later years (or corrections).

use crate::{Actor, App, Result, ServiceError, record};
use serde::{Deserialize, Serialize};
use taizhang_domain::FieldError;
use taizhang_domain::error::required_text;
use taizhang_domain::role::Permission;
use taizhang_store::notify::{CalendarDay, upsert_calendar_day};

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SetDay {
    /// As users type dates.
    pub date: String,
    /// true: 放假; false: 调休上班.
    pub is_off: bool,
    /// e.g. 春节.
    pub name: String,
    /// The notice it comes from.
    #[serde(default)]
    pub source: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Day {
    pub date: String,
    pub is_off: bool,
    pub name: String,
    pub source: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Year {
    pub year: i32,
    /// Whether the calendar has this year's arrangements; when not, only weekends count as off.
    pub covered: bool,
    pub days: Vec<Day>,
}

pub fn year(app: &App, year: i32) -> Result<Year> {
    if !(1900..=2100).contains(&year) {
        return Err(FieldError::new(
            "out_of_range",
            "year",
            "年份应为1900–2100",
            "year must be 1900-2100",
        )
        .into());
    }
    let cal = app.calendar();
    Ok(Year {
        year,
        covered: cal.covers(year),
        days: cal
            .special_days(year)
            .map(|d| Day {
                date: d.date.format("%Y-%m-%d").to_string(),
                is_off: d.is_off,
                name: d.name.clone(),
                source: d.source.clone(),
            })
            .collect(),
    })
}

/// Adds or corrects one day. Only a system administrator with the 全部 scope may change the
/// calendar: it governs every deadline of every unit.
pub async fn set_day(app: &App, actor: &Actor, input: SetDay) -> Result<Day> {
    if !actor.scope(Permission::UnitWrite).all {
        return Err(ServiceError::Forbidden);
    }
    let date = taizhang_domain::dates::parse("date", &input.date)?;
    let name = required_text("name", "节日名称", &input.name, 20)?;
    let source = if input.source.trim().is_empty() {
        format!("{} 录入", actor.display_name)
    } else {
        required_text("source", "依据", &input.source, 200)?
    };
    let day = CalendarDay {
        date: date.format("%Y-%m-%d").to_string(),
        is_off: input.is_off,
        name,
        source,
        created_at: app.now(),
    };
    let mut tx = app.store.begin().await?;
    upsert_calendar_day(&mut tx, &day).await?;
    let key = date
        .format("%Y%m%d")
        .to_string()
        .parse::<i64>()
        .unwrap_or(0);
    record(
        app,
        &mut tx,
        actor,
        "calendar.set",
        "calendar_day",
        key,
        None,
        None::<&()>,
        Some(&day),
    )
    .await?;
    tx.commit().await?;
    app.reload_calendar().await?;
    Ok(Day {
        date: day.date,
        is_off: day.is_off,
        name: day.name,
        source: day.source,
    })
}
