//! Excel round-trip of ledger items (台账导入导出): the template, the export of any filtered
//! list, and an all-or-nothing import that names every bad cell.

use crate::ledger::{
    CreateItem, ItemView, LEVELS, SOURCES, URGENCIES, check_item, ledger_for_write, list_items,
    today,
};
use crate::{Actor, App, Result, ServiceError};
use serde::Serialize;
use std::collections::{HashMap, HashSet};
use taizhang_domain::ledger::{self as rules, Action, ItemState};
use taizhang_domain::role::Permission;
use taizhang_office::excel::{self, Column, ExcelError, Limits, Sheet};
use taizhang_store::ledger::{self as store, ItemFilter};
use taizhang_store::units::UnitFilter;

const YES_NO: &[&str] = &["是", "否"];
const LEVEL_LABELS: &[&str] = &["本级办理", "需上级协调"];
const CYCLE_LABELS: &[&str] = &["不定期", "每周", "每月", "按节点"];

const fn col(
    header: &'static str,
    width: f64,
    required: bool,
    choices: &'static [&'static str],
    date: bool,
) -> Column {
    Column {
        header,
        width,
        required,
        choices,
        date,
    }
}

/// The import template's columns (导入模板), in order.
pub const IMPORT_COLUMNS: &[Column] = &[
    col("编号", 14.0, false, &[], false),
    col("来源", 12.0, true, SOURCES, false),
    col("类别", 12.0, false, &[], false),
    col("紧急程度", 10.0, false, URGENCIES, false),
    col("事项名称", 40.0, true, &[], false),
    col("具体要求", 30.0, false, &[], false),
    col("领导批示", 20.0, false, &[], false),
    col("责任领导", 12.0, false, &[], false),
    col("督办人", 12.0, false, &[], false),
    col("涉及单位", 24.0, false, &[], false),
    col("牵头单位", 20.0, true, &[], false),
    col("办理层级", 12.0, false, LEVEL_LABELS, false),
    col("反馈周期", 10.0, false, CYCLE_LABELS, false),
    col("整改措施", 30.0, false, &[], false),
    col("办结时限", 12.0, false, &[], true),
    col("立即交办", 10.0, false, YES_NO, false),
    col("协办单位", 24.0, false, &[], false),
];

/// Which template column a field error belongs to.
fn column_of(field: &str) -> usize {
    match field {
        "number" => 0,
        "source" => 1,
        "category" => 2,
        "urgency" => 3,
        "title" => 4,
        "requirements" => 5,
        "instruction" => 6,
        "leader" => 7,
        "supervisor" => 8,
        "subject" => 9,
        "lead_unit_id" => 10,
        "level" => 11,
        "cycle" => 12,
        "measures" => 13,
        "deadline" => 14,
        "cooperating_unit_ids" => 16,
        _ => 15,
    }
}

/// One bad cell: Excel's row number, the column header, the value, and why.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct CellError {
    pub row: usize,
    pub column: String,
    pub value: String,
    pub reason: String,
    pub reason_en: String,
}

#[derive(Debug)]
pub enum ImportError {
    /// The file itself is unusable (size, zip bomb, not xlsx, wrong template).
    File(ExcelError),
    /// Bad cells: nothing was imported.
    Cells(Vec<CellError>),
    Service(ServiceError),
}

impl From<ServiceError> for ImportError {
    fn from(e: ServiceError) -> Self {
        ImportError::Service(e)
    }
}

impl From<taizhang_store::StoreError> for ImportError {
    fn from(e: taizhang_store::StoreError) -> Self {
        ImportError::Service(e.into())
    }
}

pub fn template() -> Result<Vec<u8>, ExcelError> {
    let example = vec![
        "".to_string(),
        "督查检查".into(),
        "校舍安全".into(),
        "一般".into(),
        "(示例,导入前请删除此行)第三小学操场护栏破损".into(),
        "两周内完成更换".into(),
        "".into(),
        "分管副局长".into(),
        "督导室".into(),
        "第三小学".into(),
        "3509230003".into(),
        "本级办理".into(),
        "每周".into(),
        "".into(),
        "2026-12-31".into(),
        "是".into(),
        "".into(),
    ];
    excel::write("督办事项", IMPORT_COLUMNS, &[example], true)
}

/// The columns of an export (导出), labels not codes.
pub const EXPORT_COLUMNS: &[Column] = &[
    col("编号", 14.0, false, &[], false),
    col("来源", 12.0, false, &[], false),
    col("类别", 12.0, false, &[], false),
    col("紧急程度", 10.0, false, &[], false),
    col("事项名称", 40.0, false, &[], false),
    col("涉及单位", 24.0, false, &[], false),
    col("牵头单位", 20.0, false, &[], false),
    col("办理层级", 12.0, false, &[], false),
    col("状态", 10.0, false, &[], false),
    col("预警", 8.0, false, &[], false),
    col("交办日期", 12.0, false, &[], true),
    col("办结时限", 12.0, false, &[], true),
    col("剩余工作日", 10.0, false, &[], false),
    col("销号日期", 12.0, false, &[], true),
    col("催办次数", 10.0, false, &[], false),
    col("办理结果", 30.0, false, &[], false),
    col("协办单位", 24.0, false, &[], false),
];

fn export_row(v: &ItemView) -> Vec<String> {
    let it = &v.item;
    let light = match v.light {
        taizhang_domain::ledger::Light::Green => "绿",
        taizhang_domain::ledger::Light::Yellow => "黄",
        taizhang_domain::ledger::Light::Red => "红",
        taizhang_domain::ledger::Light::None => "",
    };
    vec![
        it.number.clone(),
        it.source.clone(),
        it.category.clone(),
        it.urgency.clone(),
        it.title.clone(),
        it.subject.clone(),
        it.lead_unit_name.clone(),
        LEVELS
            .iter()
            .find(|l| l.0 == it.level)
            .map(|l| l.1.to_string())
            .unwrap_or_default(),
        v.state_label.to_string(),
        light.to_string(),
        it.assigned_on.clone().unwrap_or_default(),
        it.deadline.clone().unwrap_or_default(),
        v.days_left.map(|d| d.to_string()).unwrap_or_default(),
        it.closed_on.clone().unwrap_or_default(),
        it.reminders.to_string(),
        it.result.clone(),
    ]
}

/// Exports the items matching `filter` (all pages) to .xlsx.
pub async fn export(app: &App, actor: &Actor, filter: &ItemFilter) -> Result<Vec<u8>> {
    let mut f = filter.clone();
    f.limit = 10_000;
    f.offset = 0;
    let mut rows = Vec::new();
    loop {
        let (page, _) = list_items(app, actor, &f).await?;
        let n = page.len();
        let ids: Vec<i64> = page.iter().map(|v| v.item.id).collect();
        let mut names: HashMap<i64, Vec<String>> = HashMap::new();
        {
            let mut c = app.store.conn().await?;
            for (id, name) in store::cooperation_names(&mut c, &ids).await? {
                names.entry(id).or_default().push(name);
            }
        }
        rows.extend(page.iter().map(|v| {
            let mut r = export_row(v);
            r.push(
                names
                    .get(&v.item.id)
                    .map(|n| n.join("、"))
                    .unwrap_or_default(),
            );
            r
        }));
        if n < 10_000 {
            break;
        }
        f.offset += 10_000;
    }
    excel::write("督办事项", EXPORT_COLUMNS, &rows, false)
        .map_err(|e| ServiceError::Internal(e.to_string()))
}

/// Reads an uploaded file with the import limits.
pub fn read(bytes: &[u8]) -> Result<Sheet, ExcelError> {
    excel::read(bytes, IMPORT_COLUMNS, &Limits::default())
}

/// Imports every row of `sheet` into the ledger, or nothing: any bad cell fails the whole file
/// and every bad cell is reported. `progress(done, total)` is called while rows are written.
pub async fn import(
    app: &App,
    actor: &Actor,
    ledger_id: i64,
    sheet: Sheet,
    progress: &mut (dyn FnMut(usize, usize) + Send),
) -> Result<usize, ImportError> {
    // The ledger first: 404 outside the scope, 403 without the right to supervise it.
    let mut tx = app.store.begin().await.map_err(ServiceError::from)?;
    ledger_for_write(&mut tx, actor, ledger_id).await?;
    tx.rollback().await.map_err(ServiceError::from)?;
    // Units the actor can name, by code and by name (a name used twice is ambiguous).
    let mut c = app.store.conn().await.map_err(ServiceError::from)?;
    let units = taizhang_store::units::list(
        &mut c,
        &actor.scope(Permission::UnitRead),
        &UnitFilter {
            limit: 1_000_000,
            ..Default::default()
        },
    )
    .await?;
    drop(c);
    let mut by_code: HashMap<&str, i64> = HashMap::new();
    let mut by_name: HashMap<&str, Option<i64>> = HashMap::new();
    for u in &units {
        by_code.insert(u.code.as_str(), u.id);
        by_name
            .entry(u.name.as_str())
            .and_modify(|v| *v = None)
            .or_insert(Some(u.id));
    }
    let mut errors = Vec::new();
    let mut checked = Vec::with_capacity(sheet.rows.len());
    let mut coops: Vec<Vec<i64>> = Vec::with_capacity(sheet.rows.len());
    let mut numbers = HashSet::new();
    let cell = |row: &Vec<String>, i: usize| row.get(i).cloned().unwrap_or_default();
    for (rn, row) in &sheet.rows {
        let mut bad = |col: usize, value: &str, zh: String, en: String| {
            errors.push(CellError {
                row: *rn,
                column: IMPORT_COLUMNS[col].header.to_string(),
                value: value.to_string(),
                reason: zh,
                reason_en: en,
            })
        };
        let lead_text = cell(row, 10);
        let lead = match by_code.get(lead_text.as_str()) {
            Some(id) => Some(*id),
            None => match by_name.get(lead_text.as_str()) {
                Some(Some(id)) => Some(*id),
                Some(None) => {
                    bad(
                        10,
                        &lead_text,
                        "有多个单位同名,请填写单位代码".into(),
                        "several units have this name: use the unit code".into(),
                    );
                    None
                }
                None if lead_text.is_empty() => {
                    bad(
                        10,
                        "",
                        "牵头单位不能为空".into(),
                        "the lead unit is required".into(),
                    );
                    None
                }
                None => {
                    bad(
                        10,
                        &lead_text,
                        "找不到该单位,或不在您的数据范围内".into(),
                        "no such unit in your data scope".into(),
                    );
                    None
                }
            },
        };
        // 协办单位: codes or names, separated by 、 , ; or spaces.
        let mut coop = Vec::new();
        for token in cell(row, 16)
            .split(['、', ',', ',', ';', ';', ' ', '\n'])
            .map(str::trim)
            .filter(|t| !t.is_empty())
        {
            let found = by_code
                .get(token)
                .copied()
                .or_else(|| by_name.get(token).copied().flatten());
            match found {
                Some(id) if Some(id) == lead => bad(
                    16,
                    token,
                    "协办单位不能与牵头单位相同".into(),
                    "a cooperating unit cannot be the lead unit".into(),
                ),
                Some(id) => {
                    if !coop.contains(&id) {
                        coop.push(id);
                    }
                }
                None => bad(
                    16,
                    token,
                    "找不到该协办单位(或同名单位有多个,请填单位代码),或不在您的数据范围内".into(),
                    "no such cooperating unit in your data scope (or the name is ambiguous: use the code)".into(),
                ),
            }
        }
        let assign = match cell(row, 15).as_str() {
            "" | "否" => false,
            "是" => true,
            other => {
                bad(
                    15,
                    other,
                    "应为“是”或“否”".into(),
                    "must be 是 or 否".into(),
                );
                false
            }
        };
        let input = CreateItem {
            number: Some(cell(row, 0)),
            source: cell(row, 1),
            category: cell(row, 2),
            urgency: Some(cell(row, 3)).filter(|s| !s.is_empty()),
            title: cell(row, 4),
            requirements: cell(row, 5),
            instruction: cell(row, 6),
            leader: cell(row, 7),
            supervisor: cell(row, 8),
            subject: cell(row, 9),
            lead_unit_id: lead.unwrap_or(0),
            level: Some(cell(row, 11)).filter(|s| !s.is_empty()),
            cycle: Some(cell(row, 12)).filter(|s| !s.is_empty()),
            measures: cell(row, 13),
            deadline: Some(cell(row, 14)).filter(|s| !s.is_empty()),
            assign,
            cooperating_unit_ids: Vec::new(),
        };
        match check_item(&input, lead.unwrap_or(0)) {
            Ok((new, deadline)) => {
                if !new.number.is_empty() && !numbers.insert(new.number.clone()) {
                    bad(
                        0,
                        &new.number,
                        "编号在文件中重复".into(),
                        "this number appears twice in the file".into(),
                    );
                }
                if let Some(d) = deadline
                    && d < today(app)
                {
                    bad(
                        14,
                        &cell(row, 14),
                        format!("办结时限{d}早于今天,不能交办"),
                        format!("deadline {d} is before today"),
                    );
                }
                if lead.is_some() {
                    checked.push((new, deadline));
                    coops.push(coop);
                }
            }
            Err(es) => {
                for e in es {
                    let col = column_of(&e.field);
                    bad(col, &cell(row, col), e.message_zh, e.message_en);
                }
            }
        }
        if errors.len() >= 1000 {
            break;
        }
    }
    if !errors.is_empty() {
        return Err(ImportError::Cells(errors));
    }
    let total = checked.len();
    let rows_of: Vec<usize> = sheet.rows.iter().map(|r| r.0).collect();
    // The cells are all checked: free them before writing (a 100,000-row file is ~70 MB).
    drop(sheet);
    let paths: HashMap<i64, &str> = units.iter().map(|u| (u.id, u.path.as_str())).collect();
    let mut tx = app.store.begin().await.map_err(ServiceError::from)?;
    let ledger = ledger_for_write(&mut tx, actor, ledger_id).await?;
    // Numbers given in the file must be new to the ledger.
    let given: Vec<String> = checked
        .iter()
        .map(|(n, _)| n.number.clone())
        .filter(|n| !n.is_empty())
        .collect();
    let taken: HashSet<String> = store::numbers_taken(&mut tx, ledger.id, &given)
        .await?
        .into_iter()
        .collect();
    if !taken.is_empty() {
        let errors = checked
            .iter()
            .zip(&rows_of)
            .filter(|((n, _), _)| taken.contains(&n.number))
            .map(|((n, _), row)| CellError {
                row: *row,
                column: "编号".into(),
                value: n.number.clone(),
                reason: format!("编号“{}”在本台账中已存在", n.number),
                reason_en: format!("number '{}' already exists in this ledger", n.number),
            })
            .collect();
        return Err(ImportError::Cells(errors));
    }
    // The rest are numbered from the ledger's counter, skipping numbers already used.
    let mut missing: Vec<usize> = (0..checked.len())
        .filter(|&k| checked[k].0.number.is_empty())
        .collect();
    while !missing.is_empty() {
        let first = store::reserve_item_seq(&mut tx, ledger.id, missing.len() as i64).await?;
        let candidates: Vec<String> = (0..missing.len() as i64)
            .map(|k| format!("{}-{:03}", ledger.period, first + k))
            .collect();
        let used: HashSet<String> = store::numbers_taken(&mut tx, ledger.id, &candidates)
            .await?
            .into_iter()
            .collect();
        let mut still = Vec::new();
        for (k, n) in missing.into_iter().zip(candidates) {
            if used.contains(&n) || numbers.contains(&n) {
                still.push(k);
            } else {
                checked[k].0.number = n;
            }
        }
        missing = still;
    }
    // Each row goes through the workflow's rules as a single 新建 (+ 交办) would.
    let t = today(app);
    let on = t.format("%Y-%m-%d").to_string();
    let mut batch: Vec<(store::NewItem, store::StartFacts, Option<Action>)> =
        Vec::with_capacity(total);
    for (k, (mut new, assign)) in checked.into_iter().enumerate() {
        new.ledger_id = ledger.id;
        let draft = store::StartFacts {
            state: ItemState::Draft.as_str().to_string(),
            deadline: new.deadline.clone(),
            version: 1,
            ..Default::default()
        };
        let Some(deadline) = assign else {
            batch.push((new, draft, None));
            continue;
        };
        let who = rules::Actor {
            user_id: actor.user_id,
            is_handler: false,
            is_supervisor: actor.scope(Permission::ItemSupervise).contains(
                new.lead_unit_id,
                paths.get(&new.lead_unit_id).copied().unwrap_or(""),
                None,
            ),
        };
        let facts = rules::ItemFacts {
            state: ItemState::Draft,
            assigned_on: None,
            deadline: Some(deadline),
            original_deadline: None,
            extension_requested: None,
            submitted_by: None,
        };
        let action = Action::Assign { deadline };
        let next = rules::apply(&facts, &action, who, t).map_err(|e| {
            ImportError::Cells(vec![CellError {
                row: rows_of[k],
                column: "立即交办".into(),
                value: "是".into(),
                reason: e.message_zh,
                reason_en: e.message_en,
            }])
        })?;
        let ymd = |d: Option<chrono::NaiveDate>| d.map(|d| d.format("%Y-%m-%d").to_string());
        let facts = store::StartFacts {
            state: next.state.as_str().to_string(),
            assigned_on: ymd(next.assigned_on),
            deadline: ymd(next.deadline),
            original_deadline: ymd(next.original_deadline),
            last_action: action.name().to_string(),
            version: 2,
        };
        batch.push((new, facts, Some(action)));
    }
    // Written in chunks: items, their timeline, and per item the same audit events as one at
    // a time (item.create, then item.assign), chained in order.
    let now = app.now();
    let mut done = 0;
    for (k, chunk) in batch.chunks(5000).enumerate() {
        let rows: Vec<(store::NewItem, store::StartFacts)> = chunk
            .iter()
            .map(|(n, f, _)| (n.clone(), f.clone()))
            .collect();
        let ids = store::insert_items(&mut tx, &rows, now).await?;
        let pairs: Vec<(i64, i64)> = ids
            .iter()
            .zip(&coops[k * 5000..])
            .flat_map(|(id, units)| units.iter().map(move |u| (*id, *u)))
            .collect();
        store::insert_cooperations(&mut tx, &pairs).await?;
        let after: HashMap<i64, store::Item> = store::items_by_ids(&mut tx, &ids)
            .await?
            .into_iter()
            .map(|i| (i.id, i))
            .collect();
        let mut events = Vec::new();
        let mut audit = Vec::with_capacity(chunk.len() * 2);
        for ((_, _, action), id) in chunk.iter().zip(&ids) {
            let Some(item) = after.get(id) else {
                return Err(ImportError::Service(ServiceError::Internal(format!(
                    "imported item {id} not found"
                ))));
            };
            let mut draft = item.clone();
            if action.is_some() {
                draft.state = ItemState::Draft.as_str().to_string();
                draft.assigned_on = None;
                draft.original_deadline = None;
                draft.last_action = String::new();
                draft.version = 1;
            }
            audit.push(crate::audit_event(
                app,
                actor,
                "item.create",
                "item",
                *id,
                Some(item.lead_unit_id),
                None::<&()>,
                Some(&draft),
            ));
            if let Some(action) = action {
                events.push(store::NewEvent {
                    item_id: *id,
                    at: now,
                    on_date: on.clone(),
                    actor_id: (actor.user_id > 0).then_some(actor.user_id),
                    actor_name: actor.display_name.clone(),
                    action: action.name().to_string(),
                    from: ItemState::Draft.as_str().to_string(),
                    to: item.state.clone(),
                    detail: serde_json::to_string(action).unwrap_or_else(|_| "{}".into()),
                });
                audit.push(crate::audit_event(
                    app,
                    actor,
                    &format!("item.{}", action.name()),
                    "item",
                    *id,
                    Some(item.lead_unit_id),
                    Some(&draft),
                    Some(item),
                ));
            }
        }
        store::insert_events(&mut tx, &events).await?;
        taizhang_store::audit::append_many(&mut tx, audit).await?;
        done += chunk.len();
        progress(done, total);
    }
    tx.commit().await.map_err(ServiceError::from)?;
    Ok(total)
}
