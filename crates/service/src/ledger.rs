//! Supervision ledger use cases (督办台账): ledgers, items, the workflow, and the figures users
//! report (问题总数, 已办结, 正在办理, 办结率, 按期办结率, 超期数).

use crate::{Actor, App, Result, ServiceError, record};
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use sha2::Digest;
use taizhang_domain::FieldError;
use taizhang_domain::calendar::Calendar;
use taizhang_domain::error::required_text;
use taizhang_domain::ledger::{self as rules, Action, ItemFacts, ItemState, Light};
use taizhang_domain::role::Permission;
use taizhang_store::ledger::{
    self as store, Item, ItemEvent, ItemFilter, Ledger, NewItem, NewLedger,
};

/// Today in China Standard Time.
pub fn today(app: &App) -> NaiveDate {
    chrono::DateTime::from_timestamp_millis(app.now() + 8 * 3600 * 1000)
        .map(|t| t.date_naive())
        .unwrap_or_default()
}

fn date(s: &Option<String>) -> Option<NaiveDate> {
    s.as_deref()
        .and_then(|d| NaiveDate::parse_from_str(d, "%Y-%m-%d").ok())
}

fn ymd(d: Option<NaiveDate>) -> Option<String> {
    d.map(|d| d.format("%Y-%m-%d").to_string())
}

/// 来源 users pick from (CONVENTIONS.md).
pub const SOURCES: &[&str] = &[
    "督查检查",
    "调研座谈",
    "精准帮扶",
    "群众意见",
    "巡察反馈",
    "上级交办",
    "会议议定",
    "领导批示",
    "建议提案",
];
pub const URGENCIES: &[&str] = &["一般", "紧急", "特急"];
pub const LEVELS: &[(&str, &str)] = &[("local", "本级办理"), ("escalate", "需上级协调")];
pub const CYCLES: &[(&str, &str)] = &[
    ("none", "不定期"),
    ("weekly", "每周"),
    ("monthly", "每月"),
    ("milestones", "按节点"),
];

fn one_of(field: &str, label: &str, v: &str, allowed: &[&str]) -> Result<String, FieldError> {
    if allowed.contains(&v) {
        Ok(v.to_string())
    } else {
        Err(FieldError::new(
            "invalid_value",
            field,
            format!("{label}“{v}”无效,应为:{}", allowed.join("、")),
            format!("{field} '{v}' is not one of: {}", allowed.join(", ")),
        ))
    }
}

fn code_of(
    field: &str,
    label: &str,
    v: &str,
    allowed: &[(&str, &str)],
) -> Result<String, FieldError> {
    allowed
        .iter()
        .find(|(c, l)| *c == v || *l == v)
        .map(|(c, _)| c.to_string())
        .ok_or_else(|| {
            FieldError::new(
                "invalid_value",
                field,
                format!(
                    "{label}“{v}”无效,应为:{}",
                    allowed.iter().map(|a| a.1).collect::<Vec<_>>().join("、")
                ),
                format!(
                    "{field} '{v}' is not one of: {}",
                    allowed.iter().map(|a| a.0).collect::<Vec<_>>().join(", ")
                ),
            )
        })
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateLedger {
    pub name: String,
    /// e.g. 督办, 帮扶, 整改, 巡察.
    pub kind: String,
    pub owner_unit_id: i64,
    /// e.g. 2024, 2024-06.
    pub period: String,
    pub yellow_days: Option<i64>,
}

pub async fn create_ledger(app: &App, actor: &Actor, input: CreateLedger) -> Result<Ledger> {
    let name = required_text("name", "台账名称", &input.name, 100)?;
    let kind = required_text("kind", "台账类型", &input.kind, 20)?;
    let period = required_text("period", "期间", &input.period, 20)?;
    let yellow = input.yellow_days.unwrap_or(3);
    if !(0..=30).contains(&yellow) {
        return Err(FieldError::new(
            "out_of_range",
            "yellow_days",
            "黄灯天数应为0–30",
            "yellow_days must be 0-30",
        )
        .into());
    }
    let mut tx = app.store.begin().await?;
    let sup = actor.scope(Permission::ItemSupervise);
    match taizhang_store::units::get(&mut tx, &sup, input.owner_unit_id).await? {
        Some(u) if u.active => {}
        Some(_) | None => {
            let visible = taizhang_store::units::get(
                &mut tx,
                &actor.scope(Permission::UnitRead),
                input.owner_unit_id,
            )
            .await?;
            return Err(match visible {
                Some(_) => ServiceError::Forbidden,
                None => FieldError::new(
                    "not_found",
                    "owner_unit_id",
                    format!("单位{}不存在或不在您的数据范围内", input.owner_unit_id),
                    format!(
                        "unit {} does not exist or is outside your data scope",
                        input.owner_unit_id
                    ),
                )
                .into(),
            });
        }
    }
    let id = store::insert_ledger(
        &mut tx,
        &NewLedger {
            name,
            kind,
            owner_unit_id: input.owner_unit_id,
            period,
            yellow_days: yellow,
        },
        app.now(),
    )
    .await?;
    let l = store::get_ledger(&mut tx, &taizhang_domain::scope::Scope::everything(), id)
        .await?
        .ok_or(ServiceError::NotFound)?;
    record(
        app,
        &mut tx,
        actor,
        "ledger.create",
        "ledger",
        id,
        Some(l.owner_unit_id),
        None::<&()>,
        Some(&l),
    )
    .await?;
    tx.commit().await?;
    Ok(l)
}

pub async fn list_ledgers(app: &App, actor: &Actor) -> Result<Vec<Ledger>> {
    let mut c = app.store.conn().await?;
    Ok(store::list_ledgers(&mut c, &actor.scope(Permission::ItemRead)).await?)
}

pub async fn get_ledger(app: &App, actor: &Actor, id: i64) -> Result<Ledger> {
    let mut c = app.store.conn().await?;
    store::get_ledger(&mut c, &actor.scope(Permission::ItemRead), id)
        .await?
        .ok_or(ServiceError::NotFound)
}

pub async fn find_ledger(app: &App, actor: &Actor, id_or_name: &str) -> Result<Ledger> {
    let mut c = app.store.conn().await?;
    store::find_ledger(&mut c, &actor.scope(Permission::ItemRead), id_or_name)
        .await?
        .ok_or(ServiceError::NotFound)
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateItem {
    /// 编号; numbered in the ledger when absent.
    pub number: Option<String>,
    pub source: String,
    #[serde(default)]
    pub category: String,
    pub urgency: Option<String>,
    pub title: String,
    #[serde(default)]
    pub requirements: String,
    #[serde(default)]
    pub instruction: String,
    #[serde(default)]
    pub leader: String,
    #[serde(default)]
    pub supervisor: String,
    /// 涉及单位/企业/项目.
    #[serde(default)]
    pub subject: String,
    pub lead_unit_id: i64,
    /// `local` (本级办理) or `escalate` (需上级协调).
    pub level: Option<String>,
    pub cycle: Option<String>,
    #[serde(default)]
    pub measures: String,
    /// 办结时限, as users type dates. With it, `assign` sends the item out at once.
    pub deadline: Option<String>,
    #[serde(default)]
    pub assign: bool,
    /// 协办单位: units that report their own part.
    #[serde(default)]
    pub cooperating_unit_ids: Vec<i64>,
}

/// An item with its computed light and days left.
#[derive(Debug, Clone, Serialize)]
pub struct ItemView {
    #[serde(flatten)]
    pub item: Item,
    pub state_label: &'static str,
    pub light: Light,
    /// Working days to the deadline; negative when overdue.
    pub days_left: Option<i64>,
    /// false when the deadline lies in a year the calendar does not cover.
    pub calendar_covered: bool,
}

/// The warning light of an item from its state, deadline and reminders: (light, working days
/// left, state label).
pub(crate) fn light_of(
    cal: &Calendar,
    state: &str,
    deadline: &Option<String>,
    reminders: i64,
    yellow_days: i64,
    today: NaiveDate,
) -> (Light, Option<i64>, &'static str) {
    let state = ItemState::parse("state", state).unwrap_or(ItemState::Draft);
    let (light, days_left, _) = rules::light(
        cal,
        state,
        date(deadline),
        reminders > 0,
        yellow_days,
        today,
    );
    (light, days_left, state.label_zh())
}

pub(crate) fn view(cal: &Calendar, item: Item, yellow_days: i64, today: NaiveDate) -> ItemView {
    let state = ItemState::parse("state", &item.state).unwrap_or(ItemState::Draft);
    let (light, days_left, covered) = rules::light(
        cal,
        state,
        date(&item.deadline),
        item.reminders > 0,
        yellow_days,
        today,
    );
    ItemView {
        state_label: state.label_zh(),
        light,
        days_left,
        calendar_covered: covered,
        item,
    }
}

/// Checks every field of an item independently, so that an import can name every bad cell.
/// `number` may stay empty (numbered on insert); the lead unit is resolved by the caller.
pub(crate) fn check_item(
    input: &CreateItem,
    lead_unit_id: i64,
) -> Result<(NewItem, Option<NaiveDate>), Vec<FieldError>> {
    let mut errs = Vec::new();
    let mut take = |r: Result<String, FieldError>| r.map_err(|e| errs.push(e)).unwrap_or_default();
    let text = |f: &str, l: &str, v: &str, max: usize| -> Result<String, FieldError> {
        if v.chars().count() > max {
            return Err(FieldError::new(
                "too_long",
                f,
                format!("{l}最多{max}字"),
                format!("{f} must be at most {max} characters"),
            ));
        }
        Ok(v.trim().to_string())
    };
    let number = match input
        .number
        .as_deref()
        .map(str::trim)
        .filter(|n| !n.is_empty())
    {
        Some(n) => take(required_text("number", "编号", n, 40)),
        None => String::new(),
    };
    let title = take(required_text("title", "事项名称", &input.title, 200));
    let source = take(one_of("source", "来源", input.source.trim(), SOURCES));
    let urgency = take(one_of(
        "urgency",
        "紧急程度",
        input.urgency.as_deref().unwrap_or("一般").trim(),
        URGENCIES,
    ));
    let level = take(code_of(
        "level",
        "办理层级",
        input.level.as_deref().unwrap_or("local").trim(),
        LEVELS,
    ));
    let cycle = take(code_of(
        "cycle",
        "反馈周期",
        input.cycle.as_deref().unwrap_or("none").trim(),
        CYCLES,
    ));
    let category = take(text("category", "类别", &input.category, 40));
    let requirements = take(text("requirements", "具体要求", &input.requirements, 4000));
    let instruction = take(text("instruction", "领导批示", &input.instruction, 4000));
    let leader = take(text("leader", "责任领导", &input.leader, 50));
    let supervisor = take(text("supervisor", "督办人", &input.supervisor, 50));
    let subject = take(text("subject", "涉及单位", &input.subject, 200));
    let measures = take(text("measures", "整改措施", &input.measures, 4000));
    let deadline = match input.deadline.as_deref().filter(|d| !d.trim().is_empty()) {
        Some(d) => taizhang_domain::dates::parse("deadline", d)
            .map_err(|e| errs.push(e))
            .ok(),
        None => None,
    };
    if input.assign && deadline.is_none() && !errs.iter().any(|e| e.field == "deadline") {
        errs.push(FieldError::new(
            "required",
            "deadline",
            "交办必须填写办结时限",
            "assigning needs a deadline",
        ));
    }
    if !errs.is_empty() {
        return Err(errs);
    }
    let new = NewItem {
        ledger_id: 0,
        number,
        source,
        category,
        urgency,
        title,
        requirements,
        instruction,
        leader,
        supervisor,
        subject,
        lead_unit_id,
        level,
        cycle,
        measures,
        state: ItemState::Draft.as_str().to_string(),
        assigned_on: None,
        deadline: ymd(deadline),
    };
    Ok((new, if input.assign { deadline } else { None }))
}

/// Inserts a checked item into `ledger` (numbering it if needed), with its audit event, and
/// assigns it when asked.
pub(crate) async fn insert_checked(
    app: &App,
    tx: &mut taizhang_store::Tx,
    actor: &Actor,
    ledger: &Ledger,
    mut new: NewItem,
    assign: Option<NaiveDate>,
) -> Result<Item> {
    new.ledger_id = ledger.id;
    if new.number.is_empty() {
        // Skip numbers already given by hand (e.g. an import's "2026-005").
        loop {
            let n = store::next_item_seq(tx, ledger.id).await?;
            new.number = format!("{}-{:03}", ledger.period, n);
            if !store::number_taken(tx, ledger.id, &new.number).await? {
                break;
            }
        }
    }
    let id = store::insert_item(tx, &new, app.now())
        .await
        .map_err(|e| match e {
            taizhang_store::StoreError::Duplicate { .. } => ServiceError::Invalid(FieldError::new(
                "duplicate",
                "number",
                format!("编号“{}”在本台账中已存在", new.number),
                format!("number '{}' already exists in this ledger", new.number),
            )),
            other => other.into(),
        })?;
    let item = store::get_item(tx, &taizhang_domain::scope::Scope::everything(), id)
        .await?
        .ok_or(ServiceError::NotFound)?;
    record(
        app,
        tx,
        actor,
        "item.create",
        "item",
        id,
        Some(item.lead_unit_id),
        None::<&()>,
        Some(&item),
    )
    .await?;
    match assign {
        Some(deadline) => {
            apply_in(
                app,
                tx,
                actor,
                item,
                Action::Assign { deadline },
                today(app),
            )
            .await
        }
        None => Ok(item),
    }
}

/// The ledger for a change by `actor`: visible (else 404) and supervised by them (else 403).
pub(crate) async fn ledger_for_write(
    tx: &mut taizhang_store::Tx,
    actor: &Actor,
    ledger_id: i64,
) -> Result<Ledger> {
    let ledger = store::get_ledger(tx, &actor.scope(Permission::ItemRead), ledger_id)
        .await?
        .ok_or(ServiceError::NotFound)?;
    if !actor.scope(Permission::ItemSupervise).contains(
        ledger.owner_unit_id,
        &ledger.owner_path,
        None,
    ) {
        return Err(ServiceError::Forbidden);
    }
    Ok(ledger)
}

pub async fn create_item(
    app: &App,
    actor: &Actor,
    ledger_id: i64,
    input: CreateItem,
) -> Result<ItemView> {
    let (new, assign) = check_item(&input, input.lead_unit_id).map_err(|e| {
        e.into_iter()
            .next()
            .map(ServiceError::Invalid)
            .unwrap_or(ServiceError::NotFound)
    })?;
    let mut tx = app.store.begin().await?;
    let ledger = ledger_for_write(&mut tx, actor, ledger_id).await?;
    let lead = taizhang_store::units::get(
        &mut tx,
        &actor.scope(Permission::UnitRead),
        input.lead_unit_id,
    )
    .await?;
    if !lead.is_some_and(|u| u.active) {
        return Err(FieldError::new(
            "not_found",
            "lead_unit_id",
            format!(
                "牵头单位{}不存在、已停用或不在您的数据范围内",
                input.lead_unit_id
            ),
            format!(
                "lead unit {} does not exist, is deactivated or is outside your data scope",
                input.lead_unit_id
            ),
        )
        .into());
    }
    let mut coop = input.cooperating_unit_ids.clone();
    coop.sort_unstable();
    coop.dedup();
    if coop.len() > 50 {
        return Err(FieldError::new(
            "too_many",
            "cooperating_unit_ids",
            "协办单位最多50个",
            "at most 50 cooperating units",
        )
        .into());
    }
    for u in &coop {
        let found =
            taizhang_store::units::get(&mut tx, &actor.scope(Permission::UnitRead), *u).await?;
        if !found.is_some_and(|x| x.active) || *u == input.lead_unit_id {
            return Err(FieldError::new(
                "not_found",
                "cooperating_unit_ids",
                format!("协办单位{u}不存在、已停用、不在您的数据范围内或与牵头单位相同"),
                format!("cooperating unit {u} does not exist, is deactivated, is outside your scope or is the lead unit"),
            )
            .into());
        }
    }
    let item = insert_checked(app, &mut tx, actor, &ledger, new, assign).await?;
    for u in &coop {
        store::set_cooperation(&mut tx, item.id, *u, 0, "").await?;
    }
    tx.commit().await?;
    Ok(view(&app.calendar(), item, ledger.yellow_days, today(app)))
}

/// How the actor stands to the item: handler of its lead unit, supervisor over it, or neither.
fn relation(actor: &Actor, item: &Item) -> rules::Actor {
    rules::Actor {
        user_id: actor.user_id,
        is_handler: actor.scope(Permission::ItemHandle).contains(
            item.lead_unit_id,
            &item.lead_path,
            None,
        ),
        is_supervisor: actor.scope(Permission::ItemSupervise).contains(
            item.lead_unit_id,
            &item.lead_path,
            None,
        ),
    }
}

async fn apply_in(
    app: &App,
    tx: &mut taizhang_store::Tx,
    actor: &Actor,
    item: Item,
    action: Action,
    on: NaiveDate,
) -> Result<Item> {
    let who = relation(actor, &item);
    if !who.is_handler && !who.is_supervisor {
        return Err(ServiceError::Forbidden);
    }
    let from = ItemState::parse("state", &item.state)?;
    let facts = ItemFacts {
        state: from,
        assigned_on: date(&item.assigned_on),
        deadline: date(&item.deadline),
        original_deadline: date(&item.original_deadline),
        extension_requested: date(&item.extension_requested),
        submitted_by: item.submitted_by,
    };
    let next = rules::apply(&facts, &action, who, on)?;
    let result = match &action {
        Action::Submit { result } => result.trim().to_string(),
        _ => item.result.clone(),
    };
    let closed_on = if next.state == ItemState::Closed && from != ItemState::Closed {
        Some(on)
    } else {
        date(&item.closed_on)
    };
    let reminders = item.reminders + i64::from(matches!(action, Action::Remind { .. }));
    let change = store::ItemStateChange {
        state: next.state.as_str().to_string(),
        assigned_on: ymd(next.assigned_on),
        deadline: ymd(next.deadline),
        original_deadline: ymd(next.original_deadline),
        extension_requested: ymd(next.extension_requested),
        submitted_by: next.submitted_by,
        closed_on: ymd(closed_on),
        result,
        last_action: action.name().to_string(),
        reminders,
    };
    store::update_item_state(tx, item.id, item.version, &change, app.now()).await?;
    let detail = serde_json::to_string(&action).unwrap_or_else(|_| "{}".into());
    store::insert_event(
        tx,
        item.id,
        app.now(),
        &on.format("%Y-%m-%d").to_string(),
        (actor.user_id > 0).then_some(actor.user_id),
        &actor.display_name,
        action.name(),
        from.as_str(),
        next.state.as_str(),
        &detail,
    )
    .await?;
    let after = store::get_item(tx, &taizhang_domain::scope::Scope::everything(), item.id)
        .await?
        .ok_or(ServiceError::NotFound)?;
    if let Action::Remind { method, note } = &action {
        let title = format!("【催办】{} {}", item.number, item.title);
        let body = format!(
            "{}({method}):{}",
            actor.display_name,
            if note.is_empty() {
                "请抓紧办理并反馈进展。"
            } else {
                note.as_str()
            }
        );
        let dedupe = format!("manual:{}:{}", item.id, after.version);
        crate::remind::notify_item(app, tx, &after, "manual", &dedupe, &title, &body).await?;
    }
    record(
        app,
        tx,
        actor,
        &format!("item.{}", action.name()),
        "item",
        item.id,
        Some(item.lead_unit_id),
        Some(&item),
        Some(&after),
    )
    .await?;
    Ok(after)
}

/// Applies a workflow action to an item the caller has read at `version`.
pub async fn act(
    app: &App,
    actor: &Actor,
    item_id: i64,
    version: i64,
    action: Action,
) -> Result<ItemView> {
    let mut tx = app.store.begin().await?;
    let item = store::get_item(&mut tx, &actor.scope(Permission::ItemRead), item_id)
        .await?
        .ok_or(ServiceError::NotFound)?;
    if item.version != version {
        return Err(ServiceError::StaleVersion);
    }
    let ledger = store::get_ledger(
        &mut tx,
        &taizhang_domain::scope::Scope::everything(),
        item.ledger_id,
    )
    .await?
    .ok_or(ServiceError::NotFound)?;
    let is_remind = matches!(action, Action::Remind { .. });
    let after = apply_in(app, &mut tx, actor, item, action, today(app)).await?;
    tx.commit().await?;
    if is_remind {
        // Robots are told after the commit, off the request path.
        let (app2, dedupe) = (
            app.clone(),
            format!("manual:{}:{}", after.id, after.version),
        );
        tokio::spawn(async move {
            let _ = crate::remind::deliver_dedupe(&app2, &dedupe).await;
        });
    }
    Ok(view(&app.calendar(), after, ledger.yellow_days, today(app)))
}

/// When each open item's next progress report (进展反馈) is due under its 反馈周期, for the
/// items that report on a cycle: (item id, due date).
pub async fn feedback_due(app: &App, items: &[&Item]) -> Result<Vec<(i64, NaiveDate)>> {
    let cyclic: Vec<i64> = items
        .iter()
        .filter(|i| rules::feedback_due(&i.cycle, NaiveDate::MIN).is_some())
        .map(|i| i.id)
        .collect();
    if cyclic.is_empty() {
        return Ok(Vec::new());
    }
    let mut c = app.store.conn().await?;
    let last = store::last_event_dates(&mut c, &cyclic, rules::FEEDBACK_ACTIONS).await?;
    let last: std::collections::HashMap<i64, NaiveDate> = last
        .into_iter()
        .filter_map(|(id, d)| Some((id, NaiveDate::parse_from_str(&d, "%Y-%m-%d").ok()?)))
        .collect();
    Ok(items
        .iter()
        .filter_map(|i| {
            let base = last.get(&i.id).copied().or_else(|| date(&i.assigned_on))?;
            Some((i.id, rules::feedback_due(&i.cycle, base)?))
        })
        .collect())
}

/// The light filter for `light` (`red`, `yellow`, `green`) with a ledger's yellow threshold,
/// on the working-day calendar as of today; None for anything else.
pub fn light_filter(app: &App, light: &str, yellow_days: i64) -> Option<store::LightFilter> {
    if !matches!(light, "red" | "yellow" | "green") {
        return None;
    }
    let cal = app.calendar();
    let t = today(app);
    // The first day more than `yellow_days` working days after today.
    let (mut d, mut n) = (t, 0);
    while n <= yellow_days.max(0) {
        d = d.succ_opt()?;
        if cal.day(d).working {
            n += 1;
        }
    }
    Some(store::LightFilter {
        light: light.to_string(),
        today: t.format("%Y-%m-%d").to_string(),
        yellow_before: d.format("%Y-%m-%d").to_string(),
    })
}

/// A change to an item's fields (修改事项): absent fields stay as they are.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UpdateItem {
    pub version: i64,
    pub number: Option<String>,
    pub source: Option<String>,
    pub category: Option<String>,
    pub urgency: Option<String>,
    pub title: Option<String>,
    pub requirements: Option<String>,
    pub instruction: Option<String>,
    pub leader: Option<String>,
    pub supervisor: Option<String>,
    pub subject: Option<String>,
    pub lead_unit_id: Option<i64>,
    pub level: Option<String>,
    pub cycle: Option<String>,
    pub measures: Option<String>,
    /// Only while the item is a draft; afterwards the extension workflow.
    pub deadline: Option<String>,
}

/// Edits an item's fields: a supervisor over its lead unit, never on a frozen item, the lead
/// unit and deadline only in a draft; version-checked (409), validated like a new item, with
/// an audit event (before and after) and an "edit" entry on the item's timeline naming the
/// changed fields.
pub async fn update_item(app: &App, actor: &Actor, id: i64, input: UpdateItem) -> Result<ItemView> {
    let mut tx = app.store.begin().await?;
    let item = store::get_item(&mut tx, &actor.scope(Permission::ItemRead), id)
        .await?
        .ok_or(ServiceError::NotFound)?;
    if item.version != input.version {
        return Err(ServiceError::StaleVersion);
    }
    let state = ItemState::parse("state", &item.state)?;
    let lead_id = input.lead_unit_id.unwrap_or(item.lead_unit_id);
    let new_deadline = match input.deadline.as_deref().map(str::trim) {
        Some("") => None,
        Some(d) => Some(taizhang_domain::dates::parse("deadline", d)?),
        None => date(&item.deadline),
    };
    let who = relation(actor, &item);
    if !who.is_supervisor {
        // Visible but not theirs to edit: 403, like any action outside one's role.
        return Err(ServiceError::Forbidden);
    }
    rules::may_edit(
        state,
        who,
        lead_id != item.lead_unit_id,
        new_deadline != date(&item.deadline),
    )?;
    if lead_id != item.lead_unit_id {
        let lead =
            taizhang_store::units::get(&mut tx, &actor.scope(Permission::ItemSupervise), lead_id)
                .await?;
        if !lead.is_some_and(|u| u.active) {
            return Err(FieldError::new(
                "not_found",
                "lead_unit_id",
                format!("牵头单位{lead_id}不存在、已停用或不在您的督办范围内"),
                format!("lead unit {lead_id} does not exist, is deactivated or is outside your supervision scope"),
            )
            .into());
        }
    }
    let pick = |v: &Option<String>, old: &str| v.clone().unwrap_or_else(|| old.to_string());
    let merged = CreateItem {
        number: Some(pick(&input.number, &item.number)),
        source: pick(&input.source, &item.source),
        category: pick(&input.category, &item.category),
        urgency: Some(pick(&input.urgency, &item.urgency)),
        title: pick(&input.title, &item.title),
        requirements: pick(&input.requirements, &item.requirements),
        instruction: pick(&input.instruction, &item.instruction),
        leader: pick(&input.leader, &item.leader),
        supervisor: pick(&input.supervisor, &item.supervisor),
        subject: pick(&input.subject, &item.subject),
        lead_unit_id: lead_id,
        level: Some(pick(&input.level, &item.level)),
        cycle: Some(pick(&input.cycle, &item.cycle)),
        measures: pick(&input.measures, &item.measures),
        deadline: ymd(new_deadline),
        assign: false,
        cooperating_unit_ids: Vec::new(),
    };
    let (new, _) =
        check_item(&merged, lead_id).map_err(|mut es| ServiceError::Invalid(es.swap_remove(0)))?;
    if new.number.is_empty() {
        return Err(FieldError::new(
            "required",
            "number",
            "编号不能为空",
            "the number is required",
        )
        .into());
    }
    let changed: Vec<&str> = [
        ("number", item.number == new.number),
        ("source", item.source == new.source),
        ("category", item.category == new.category),
        ("urgency", item.urgency == new.urgency),
        ("title", item.title == new.title),
        ("requirements", item.requirements == new.requirements),
        ("instruction", item.instruction == new.instruction),
        ("leader", item.leader == new.leader),
        ("supervisor", item.supervisor == new.supervisor),
        ("subject", item.subject == new.subject),
        ("lead_unit_id", item.lead_unit_id == new.lead_unit_id),
        ("level", item.level == new.level),
        ("cycle", item.cycle == new.cycle),
        ("measures", item.measures == new.measures),
        ("deadline", item.deadline == new.deadline),
    ]
    .into_iter()
    .filter(|(_, same)| !same)
    .map(|(f, _)| f)
    .collect();
    let ledger = store::get_ledger(
        &mut tx,
        &taizhang_domain::scope::Scope::everything(),
        item.ledger_id,
    )
    .await?
    .ok_or(ServiceError::NotFound)?;
    if changed.is_empty() {
        return Ok(view(&app.calendar(), item, ledger.yellow_days, today(app)));
    }
    store::update_item_fields(&mut tx, id, item.version, &new, app.now())
        .await
        .map_err(|e| match e {
            taizhang_store::StoreError::Duplicate { .. } => ServiceError::Invalid(FieldError::new(
                "duplicate",
                "number",
                format!("编号“{}”在本台账中已存在", new.number),
                format!("number '{}' already exists in this ledger", new.number),
            )),
            other => other.into(),
        })?;
    let t = today(app);
    store::insert_event(
        &mut tx,
        id,
        app.now(),
        &t.format("%Y-%m-%d").to_string(),
        (actor.user_id > 0).then_some(actor.user_id),
        &actor.display_name,
        "edit",
        &item.state,
        &item.state,
        &serde_json::json!({ "fields": changed }).to_string(),
    )
    .await?;
    let after = store::get_item(&mut tx, &taizhang_domain::scope::Scope::everything(), id)
        .await?
        .ok_or(ServiceError::NotFound)?;
    record(
        app,
        &mut tx,
        actor,
        "item.update",
        "item",
        id,
        Some(after.lead_unit_id),
        Some(&item),
        Some(&after),
    )
    .await?;
    tx.commit().await?;
    Ok(view(&app.calendar(), after, ledger.yellow_days, t))
}

/// What a bulk action did to each item: applied, or why not.
#[derive(Debug, Clone, Serialize)]
pub struct BulkOutcome {
    pub id: i64,
    pub ok: bool,
    pub code: Option<String>,
    pub message: Option<String>,
}

/// 批量交办: assigns each listed draft of the ledger with one deadline, each in its own
/// transaction through the same rules as a single 交办, and reports every item's outcome (an
/// id outside the caller's scope or the ledger is "not found", like a single request).
pub async fn bulk_assign(
    app: &App,
    actor: &Actor,
    ledger_id: i64,
    ids: &[i64],
    deadline: &str,
) -> Result<Vec<BulkOutcome>> {
    {
        let mut tx = app.store.begin().await?;
        ledger_for_write(&mut tx, actor, ledger_id).await?;
        tx.rollback().await?;
    }
    if ids.is_empty() || ids.len() > 500 {
        return Err(FieldError::new(
            "out_of_range",
            "ids",
            "一次可批量交办1–500个事项",
            "bulk assign takes 1 to 500 items",
        )
        .into());
    }
    let deadline = taizhang_domain::dates::parse("deadline", deadline)?;
    let mut out = Vec::with_capacity(ids.len());
    for &id in ids {
        let version = {
            let mut c = app.store.conn().await?;
            store::get_item(&mut c, &actor.scope(Permission::ItemRead), id)
                .await?
                .filter(|i| i.ledger_id == ledger_id)
                .map(|i| i.version)
        };
        let r = match version {
            Some(v) => act(app, actor, id, v, Action::Assign { deadline }).await,
            None => Err(ServiceError::NotFound),
        };
        out.push(match r {
            Ok(_) => BulkOutcome {
                id,
                ok: true,
                code: None,
                message: None,
            },
            Err(e) => BulkOutcome {
                id,
                ok: false,
                code: Some(e.code().to_string()),
                message: Some(e.message_zh()),
            },
        });
    }
    Ok(out)
}

#[derive(Debug, Clone, Serialize)]
pub struct ItemDetail {
    #[serde(flatten)]
    pub view: ItemView,
    pub events: Vec<ItemEvent>,
    /// 协办单位 and their progress.
    pub cooperations: Vec<store::Cooperation>,
}

pub async fn get_item(app: &App, actor: &Actor, id: i64) -> Result<ItemDetail> {
    let mut c = app.store.conn().await?;
    let item = store::get_item(&mut c, &actor.scope(Permission::ItemRead), id)
        .await?
        .ok_or(ServiceError::NotFound)?;
    let ledger = store::get_ledger(
        &mut c,
        &taizhang_domain::scope::Scope::everything(),
        item.ledger_id,
    )
    .await?
    .ok_or(ServiceError::NotFound)?;
    let events = store::events(&mut c, id).await?;
    let cooperations = store::cooperations(&mut c, id).await?;
    Ok(ItemDetail {
        view: view(&app.calendar(), item, ledger.yellow_days, today(app)),
        events,
        cooperations,
    })
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Cooperate {
    pub unit_id: i64,
    /// 0–100.
    pub progress: i64,
    #[serde(default)]
    pub note: String,
}

/// A cooperating unit reports its part (协办进展): by a handler of that unit or a supervisor
/// over the lead unit, while the item is open.
pub async fn cooperate(
    app: &App,
    actor: &Actor,
    item_id: i64,
    input: Cooperate,
) -> Result<Vec<store::Cooperation>> {
    let mut tx = app.store.begin().await?;
    let item = store::get_item(&mut tx, &actor.scope(Permission::ItemRead), item_id)
        .await?
        .ok_or(ServiceError::NotFound)?;
    let coops = store::cooperations(&mut tx, item_id).await?;
    let Some(co) = coops.iter().find(|c| c.unit_id == input.unit_id) else {
        return Err(FieldError::new(
            "not_found",
            "unit_id",
            format!("单位{}不是该事项的协办单位", input.unit_id),
            format!(
                "unit {} is not a cooperating unit of this item",
                input.unit_id
            ),
        )
        .into());
    };
    let handles = actor
        .scope(Permission::ItemHandle)
        .contains(co.unit_id, &co.unit_path, None);
    let supervises = relation(actor, &item).is_supervisor;
    if !handles && !supervises {
        return Err(ServiceError::Forbidden);
    }
    if !ItemState::parse("state", &item.state)?.is_open() {
        return Err(FieldError::new(
            "illegal_transition",
            "progress",
            "只有办理中的事项可以填报协办进展",
            "only an open item takes cooperation progress",
        )
        .into());
    }
    if !(0..=100).contains(&input.progress) {
        return Err(FieldError::new(
            "out_of_range",
            "progress",
            "进度应为0–100",
            "progress must be 0-100",
        )
        .into());
    }
    let note = required_text(
        "note",
        "协办说明",
        if input.note.trim().is_empty() {
            "—"
        } else {
            &input.note
        },
        2000,
    )?;
    store::set_cooperation(&mut tx, item_id, co.unit_id, input.progress, &note).await?;
    let detail = serde_json::json!({"unit": co.unit_name, "progress": input.progress, "text": format!("{}:{}%,{}", co.unit_name, input.progress, note)});
    store::insert_event(
        &mut tx,
        item_id,
        app.now(),
        &today(app).format("%Y-%m-%d").to_string(),
        (actor.user_id > 0).then_some(actor.user_id),
        &actor.display_name,
        "cooperate",
        &item.state,
        &item.state,
        &detail.to_string(),
    )
    .await?;
    record(
        app,
        &mut tx,
        actor,
        "item.cooperate",
        "item",
        item_id,
        Some(item.lead_unit_id),
        Some(co),
        Some(&detail),
    )
    .await?;
    let after = store::cooperations(&mut tx, item_id).await?;
    tx.commit().await?;
    Ok(after)
}

pub async fn list_items(
    app: &App,
    actor: &Actor,
    filter: &ItemFilter,
) -> Result<(Vec<ItemView>, i64)> {
    let mut c = app.store.conn().await?;
    let scope = actor.scope(Permission::ItemRead);
    let yellow = match filter.ledger_id {
        Some(id) => {
            store::get_ledger(&mut c, &scope, id)
                .await?
                .ok_or(ServiceError::NotFound)?
                .yellow_days
        }
        None => 3,
    };
    let items = store::list_items(&mut c, &scope, filter).await?;
    let total = store::count_items(&mut c, &scope, filter).await?;
    let t = today(app);
    Ok((
        {
            let cal = app.calendar();
            items
                .into_iter()
                .map(|i| view(&cal, i, yellow, t))
                .collect()
        },
        total,
    ))
}

/// The figures of a set of items, each share printed with its denominator.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Figures {
    /// 问题总数: every item sent out (drafts and cancelled items excluded).
    pub total: i64,
    /// 已办结 (已销号, archived included).
    pub closed: i64,
    /// 正在办理 = total − closed.
    pub in_progress: i64,
    /// 按期办结: closed on or before the deadline in force (approved extensions count).
    pub closed_on_time: i64,
    /// 超期: open and past the deadline today.
    pub overdue: i64,
    /// 办结率 = closed ÷ total, in percent.
    pub closed_rate: Option<f64>,
    /// 按期办结率 = closed_on_time ÷ closed, in percent.
    pub on_time_rate: Option<f64>,
    /// Average working days from 交办 to 销号.
    pub avg_days_to_close: Option<f64>,
}

#[derive(Debug, Clone, Serialize)]
pub struct FigureGroup {
    pub key: String,
    pub label: String,
    #[serde(flatten)]
    pub figures: Figures,
}

/// Items assigned and closed in one month (for the trend chart).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct MonthRow {
    /// `2026-05`.
    pub month: String,
    pub assigned: i64,
    pub closed: i64,
}

/// Items in each state (for the status split).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StateCount {
    pub state: String,
    pub label: String,
    pub count: i64,
}

#[derive(Debug, Clone, Serialize)]
pub struct LedgerFigures {
    pub as_of: String,
    pub overall: Figures,
    pub by_month: Vec<MonthRow>,
    pub by_state: Vec<StateCount>,
    pub by_unit: Vec<FigureGroup>,
    pub by_source: Vec<FigureGroup>,
    pub by_category: Vec<FigureGroup>,
    pub by_level: Vec<FigureGroup>,
}

fn pct(n: i64, d: i64) -> Option<f64> {
    (d > 0).then(|| (n as f64) * 100.0 / (d as f64))
}

/// A stored `YYYY-MM-DD` date, read without allocating (the figures read a million of them).
fn ymd_fast(s: &str) -> Option<NaiveDate> {
    let b = s.as_bytes();
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let num = |r: std::ops::Range<usize>| {
        b[r].iter().try_fold(0u32, |n, c| {
            c.is_ascii_digit().then(|| n * 10 + u32::from(c - b'0'))
        })
    };
    NaiveDate::from_ymd_opt(num(0..4)? as i32, num(5..7)?, num(8..10)?)
}

/// What one item adds to the figures, worked out once and added to every group it is in.
#[derive(Clone, Copy)]
struct Fact {
    counted: bool,
    closed: bool,
    on_time: bool,
    overdue: bool,
    days: Option<i64>,
}

impl Fact {
    fn of(r: &store::FigureRow<'_>, today: NaiveDate, cal: &Calendar) -> Fact {
        let state = ItemState::parse("state", r.state).unwrap_or(ItemState::Draft);
        let closed = r.closed_on.is_some();
        let counted = !(state == ItemState::Draft
            || (!closed && matches!(state, ItemState::Cancelled | ItemState::Archived)));
        let deadline = r.deadline.and_then(ymd_fast);
        let mut f = Fact {
            counted,
            closed: counted && closed,
            on_time: false,
            overdue: false,
            days: None,
        };
        if !counted {
            return f;
        }
        if closed {
            let on = r.closed_on.and_then(ymd_fast);
            f.on_time = matches!((on, deadline), (Some(on), Some(dl)) if on <= dl);
            if let (Some(a), Some(on)) = (r.assigned_on.and_then(ymd_fast), on) {
                f.days = Some(cal.working_days_between(a, on).0);
            }
        } else {
            f.overdue = state.is_open() && deadline.is_some_and(|d| d < today);
        }
        f
    }
}

#[derive(Default)]
struct Acc {
    f: Figures,
    days: i64,
    days_n: i64,
}

impl Acc {
    fn add(&mut self, x: Fact) {
        if !x.counted {
            return;
        }
        self.f.total += 1;
        self.f.closed += i64::from(x.closed);
        self.f.closed_on_time += i64::from(x.on_time);
        self.f.overdue += i64::from(x.overdue);
        if let Some(d) = x.days {
            self.days += d;
            self.days_n += 1;
        }
    }

    fn done(mut self) -> Figures {
        self.f.in_progress = self.f.total - self.f.closed;
        self.f.closed_rate = pct(self.f.closed, self.f.total);
        self.f.on_time_rate = pct(self.f.closed_on_time, self.f.closed);
        self.f.avg_days_to_close = (self.days_n > 0).then(|| self.days as f64 / self.days_n as f64);
        self.f
    }
}

/// Groups keyed by a text column with few distinct values (source, category, level, state,
/// month): a short list searched by `&str` — cheaper than hashing for a handful of keys —
/// with each key allocated once.
struct TextGroups<T>(Vec<(String, T)>);

impl<T> Default for TextGroups<T> {
    fn default() -> Self {
        TextGroups(Vec::new())
    }
}

impl<T: Default> TextGroups<T> {
    fn at(&mut self, k: &str) -> &mut T {
        let i = match self.0.iter().position(|(key, _)| key == k) {
            Some(i) => i,
            None => {
                self.0.push((k.to_string(), T::default()));
                self.0.len() - 1
            }
        };
        &mut self.0[i].1
    }
}

/// Groups keyed by lead unit. Rows arrive in lead-unit order, so the last group is checked
/// before the index.
#[derive(Default)]
struct UnitGroups {
    groups: Vec<(i64, String, Acc)>,
    index: std::collections::HashMap<i64, usize>,
}

impl UnitGroups {
    fn at(&mut self, id: i64, name: &str) -> &mut Acc {
        let i = match self.groups.last() {
            Some((last, _, _)) if *last == id => self.groups.len() - 1,
            _ => *self.index.entry(id).or_insert_with(|| {
                self.groups.push((id, name.to_string(), Acc::default()));
                self.groups.len() - 1
            }),
        };
        &mut self.groups[i].2
    }
}

/// Everything the figures need, folded in one pass over the items.
#[derive(Default)]
struct Fold {
    today: Option<NaiveDate>,
    cal: std::sync::Arc<Calendar>,
    all: Acc,
    units: UnitGroups,
    sources: TextGroups<Acc>,
    categories: TextGroups<Acc>,
    levels: TextGroups<Acc>,
    states: TextGroups<i64>,
    months: TextGroups<MonthRow>,
}

impl Fold {
    fn add(&mut self, r: &store::FigureRow<'_>) {
        let today = self.today.unwrap_or_default();
        let x = Fact::of(r, today, &self.cal);
        self.all.add(x);
        self.units.at(r.lead_unit_id, r.lead_unit_name).add(x);
        self.sources.at(r.source).add(x);
        self.categories.at(r.category).add(x);
        self.levels.at(r.level).add(x);
        *self.states.at(r.state) += 1;
        if let Some(m) = r.assigned_on.and_then(|a| a.get(..7)) {
            self.months.at(m).assigned += 1;
        }
        if let Some(m) = r.closed_on.and_then(|c| c.get(..7)) {
            self.months.at(m).closed += 1;
        }
    }
}

fn groups(g: TextGroups<Acc>, label: impl Fn(&str) -> String) -> Vec<FigureGroup> {
    let mut v: Vec<FigureGroup> =
        g.0.into_iter()
            .map(|(key, acc)| FigureGroup {
                label: label(&key),
                key,
                figures: acc.done(),
            })
            .collect();
    v.sort_by(|a, b| a.key.cmp(&b.key));
    v
}

/// The same [`Fold`] from PostgreSQL's own aggregation (one GROUPING SETS pass; working days
/// from the calendar's prefix index sent along), instead of streaming every item out.
async fn pg_fold(
    app: &App,
    scope: &taizhang_domain::scope::Scope,
    filter: &ItemFilter,
    mut fold: Fold,
) -> Result<Fold> {
    let t = fold.today.unwrap_or_default();
    let index: Vec<i32> = fold
        .cal
        .working_day_index()
        .iter()
        .map(|n| *n as i32)
        .collect();
    let mut c = app.store.conn().await?;
    let aggs = store::pg_figures(
        &mut c,
        scope,
        filter,
        &t.format("%Y-%m-%d").to_string(),
        &Calendar::INDEX_FROM.format("%Y-%m-%d").to_string(),
        &index,
    )
    .await?;
    for a in aggs {
        let acc = Acc {
            f: Figures {
                total: a.total,
                closed: a.closed,
                closed_on_time: a.on_time,
                overdue: a.overdue,
                ..Default::default()
            },
            days: a.days_sum.unwrap_or(0),
            days_n: a.days_n,
        };
        let key = a.key.unwrap_or_default();
        match a.set {
            0 => fold.all = acc,
            1 => fold.units.groups.push((
                key.parse().unwrap_or_default(),
                a.label.unwrap_or_default(),
                acc,
            )),
            2 => *fold.sources.at(&key) = acc,
            3 => *fold.categories.at(&key) = acc,
            4 => *fold.levels.at(&key) = acc,
            5 => *fold.states.at(&key) = a.rows,
            6 if !key.is_empty() => fold.months.at(&key).assigned = a.rows,
            7 if !key.is_empty() => fold.months.at(&key).closed = a.rows,
            _ => {}
        }
    }
    Ok(fold)
}

/// The figures of the items in scope matching `filter`, overall and by unit (ranked by on-time
/// close-out), source, category and level — folded in one pass over the items (on PostgreSQL,
/// aggregated in the database).
pub async fn figures(app: &App, actor: &Actor, filter: &ItemFilter) -> Result<LedgerFigures> {
    let scope = actor.scope(Permission::ItemRead);
    if let Some(id) = filter.ledger_id {
        let mut c = app.store.conn().await?;
        store::get_ledger(&mut c, &scope, id)
            .await?
            .ok_or(ServiceError::NotFound)?;
    }
    let t = today(app);
    let fold = Fold {
        today: Some(t),
        cal: app.calendar(),
        ..Default::default()
    };
    let fold = if app.store.backend() == taizhang_store::Backend::Postgres && !app.figures_by_fold {
        pg_fold(app, &scope, filter, fold).await?
    } else {
        store::scan_figures(&app.store, &scope, filter, fold, Fold::add).await?
    };
    let mut by_unit: Vec<FigureGroup> = fold
        .units
        .groups
        .into_iter()
        .map(|(id, label, acc)| FigureGroup {
            key: id.to_string(),
            label,
            figures: acc.done(),
        })
        .collect();
    by_unit.sort_by(|a, b| {
        let k = |g: &FigureGroup| (g.figures.on_time_rate.unwrap_or(-1.0), g.figures.closed);
        k(b).partial_cmp(&k(a))
            .unwrap_or(std::cmp::Ordering::Equal)
            .then_with(|| a.label.cmp(&b.label))
            .then_with(|| a.key.cmp(&b.key))
    });
    let level_label = |c: &str| {
        LEVELS
            .iter()
            .find(|l| l.0 == c)
            .map(|l| l.1.to_string())
            .unwrap_or_else(|| c.to_string())
    };
    let mut by_month: Vec<MonthRow> = fold
        .months
        .0
        .into_iter()
        .map(|(month, m)| MonthRow { month, ..m })
        .collect();
    by_month.sort_by(|a, b| a.month.cmp(&b.month));
    let by_state = ItemState::ALL
        .iter()
        .filter_map(|s| {
            fold.states
                .0
                .iter()
                .find(|(k, _)| k == s.as_str())
                .map(|(_, n)| StateCount {
                    state: s.as_str().to_string(),
                    label: s.label_zh().to_string(),
                    count: *n,
                })
        })
        .collect();
    Ok(LedgerFigures {
        as_of: t.format("%Y-%m-%d").to_string(),
        overall: fold.all.done(),
        by_month,
        by_state,
        by_unit,
        by_source: groups(fold.sources, str::to_string),
        by_category: groups(fold.categories, str::to_string),
        by_level: groups(fold.levels, level_label),
    })
}

/// Largest evidence file (佐证材料) accepted.
pub const MAX_ATTACHMENT: usize = 20 << 20;

/// The file's real type from its first bytes — never the client's header — checked against
/// its extension. Accepted: PDF, PNG, JPEG, Word and Excel (old and new), ZIP.
pub fn sniff(filename: &str, bytes: &[u8]) -> Result<&'static str, FieldError> {
    let ext = filename
        .rsplit_once('.')
        .map(|(_, e)| e.to_ascii_lowercase())
        .unwrap_or_default();
    let kind: Option<(&'static str, &[&str])> = if bytes.starts_with(b"%PDF-") {
        Some(("application/pdf", &["pdf"]))
    } else if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        Some(("image/png", &["png"]))
    } else if bytes.starts_with(b"\xFF\xD8\xFF") {
        Some(("image/jpeg", &["jpg", "jpeg"]))
    } else if bytes.starts_with(b"PK\x03\x04") {
        match ext.as_str() {
            "docx" => Some((
                "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
                &["docx"],
            )),
            "xlsx" => Some((
                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                &["xlsx"],
            )),
            _ => Some(("application/zip", &["zip"])),
        }
    } else if bytes.starts_with(b"\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1") {
        match ext.as_str() {
            "xls" => Some(("application/vnd.ms-excel", &["xls"])),
            _ => Some(("application/msword", &["doc"])),
        }
    } else {
        None
    };
    match kind {
        Some((ct, exts)) if exts.contains(&ext.as_str()) => Ok(ct),
        Some((ct, _)) => Err(FieldError::new(
            "type_mismatch",
            "file",
            format!("文件“{filename}”的内容({ct})与扩展名不符"),
            format!("the content of '{filename}' ({ct}) does not match its extension"),
        )),
        None => Err(FieldError::new(
            "unsupported_type",
            "file",
            format!("不支持“{filename}”的文件类型:只接受 PDF、图片(PNG/JPG)、Word、Excel 和 ZIP"),
            format!(
                "unsupported file type of '{filename}': PDF, PNG/JPG, Word, Excel and ZIP are accepted"
            ),
        )),
    }
}

/// Attaches evidence to an item: by its handler or supervisor, while it is not frozen.
pub async fn attach(
    app: &App,
    actor: &Actor,
    item_id: i64,
    filename: &str,
    bytes: &[u8],
) -> Result<store::Attachment> {
    let mut tx = app.store.begin().await?;
    // The item first: 404 outside the scope, 403 for readers who neither handle nor supervise it.
    let item = store::get_item(&mut tx, &actor.scope(Permission::ItemRead), item_id)
        .await?
        .ok_or(ServiceError::NotFound)?;
    let who = relation(actor, &item);
    if !who.is_handler && !who.is_supervisor {
        return Err(ServiceError::Forbidden);
    }
    if ItemState::parse("state", &item.state)?.is_frozen() {
        return Err(FieldError::new(
            "frozen",
            "file",
            "已销号、撤销或归档的事项不能再上传材料",
            "a closed, cancelled or archived item takes no more files",
        )
        .into());
    }
    let name = filename
        .rsplit(['/', '\\'])
        .next()
        .unwrap_or("")
        .trim()
        .to_string();
    let name = required_text("filename", "文件名", &name, 100)?;
    if bytes.is_empty() {
        return Err(FieldError::new("empty", "file", "文件是空的", "the file is empty").into());
    }
    if bytes.len() > MAX_ATTACHMENT {
        return Err(FieldError::new(
            "too_large",
            "file",
            format!("文件{}字节,超过{}MB上限", bytes.len(), MAX_ATTACHMENT >> 20),
            format!(
                "the file has {} bytes, more than the {} MB limit",
                bytes.len(),
                MAX_ATTACHMENT >> 20
            ),
        )
        .into());
    }
    let ct = sniff(&name, bytes)?;
    let sha = hex::encode(sha2::Sha256::digest(bytes));
    let id = store::insert_attachment(
        &mut tx,
        item.id,
        &name,
        ct,
        &sha,
        bytes,
        &actor.display_name,
        app.now(),
    )
    .await?;
    let meta = store::attachments(&mut tx, item.id)
        .await?
        .into_iter()
        .find(|a| a.id == id)
        .ok_or(ServiceError::NotFound)?;
    record(
        app,
        &mut tx,
        actor,
        "item.attach",
        "item",
        item.id,
        Some(item.lead_unit_id),
        None::<&()>,
        Some(&meta),
    )
    .await?;
    tx.commit().await?;
    Ok(meta)
}

pub async fn attachments(app: &App, actor: &Actor, item_id: i64) -> Result<Vec<store::Attachment>> {
    let mut c = app.store.conn().await?;
    store::get_item(&mut c, &actor.scope(Permission::ItemRead), item_id)
        .await?
        .ok_or(ServiceError::NotFound)?;
    Ok(store::attachments(&mut c, item_id).await?)
}

pub async fn download(app: &App, actor: &Actor, id: i64) -> Result<(store::Attachment, Vec<u8>)> {
    let mut c = app.store.conn().await?;
    store::attachment(&mut c, &actor.scope(Permission::ItemRead), id)
        .await?
        .ok_or(ServiceError::NotFound)
}
