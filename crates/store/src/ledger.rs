//! Supervision ledgers (督办台账), their items (事项), cooperating units and timelines.
//! An item is inside a caller's scope when its lead unit (牵头单位) or its ledger's owner unit is.

use crate::sql::{Arg, Filter, like_contains};
use crate::{AsConn, Result, StoreError, bind_all, map_err, run};
use serde::Serialize;
use sqlx::AssertSqlSafe;
use taizhang_domain::scope::Scope;
use taizhang_domain::unit::subtree_upper;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct Ledger {
    pub id: i64,
    pub name: String,
    pub kind: String,
    pub owner_unit_id: i64,
    pub owner_unit_name: String,
    #[serde(skip)]
    pub owner_path: String,
    pub period: String,
    pub yellow_days: i64,
    pub active: bool,
    pub version: i64,
    pub created_at: i64,
    pub updated_at: i64,
}

const LEDGER_COLS: &str = "l.id, l.name, l.kind, l.owner_unit_id, o.name AS owner_unit_name, o.path AS owner_path, \
    l.period, l.yellow_days, l.active, l.version, l.created_at, l.updated_at";

#[derive(Debug, Clone)]
pub struct NewLedger {
    pub name: String,
    pub kind: String,
    pub owner_unit_id: i64,
    pub period: String,
    pub yellow_days: i64,
}

pub async fn insert_ledger(c: &mut impl AsConn, l: &NewLedger, now: i64) -> Result<i64> {
    let r: (i64,) = run!(c, |x| {
        sqlx::query_as(
        "INSERT INTO ledgers (name, kind, owner_unit_id, period, yellow_days, active, version, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, TRUE, 1, $6, $6) RETURNING id"
    )
    .bind(&l.name)
    .bind(&l.kind)
    .bind(l.owner_unit_id)
    .bind(&l.period)
    .bind(l.yellow_days)
    .bind(now)
    .fetch_one(&mut *x)
    .await
    .map_err(map_err)?
    });
    Ok(r.0)
}

/// A ledger is visible when its owner unit is in scope, or when any of its items is.
pub async fn get_ledger(c: &mut impl AsConn, scope: &Scope, id: i64) -> Result<Option<Ledger>> {
    let mut f = Filter::default();
    let a = f.arg(Arg::I64(id));
    f.push(format!("l.id = {a}"));
    ledger_scope(&mut f, scope);
    let sql = format!(
        "SELECT {LEDGER_COLS} FROM ledgers l JOIN units o ON o.id = l.owner_unit_id{}",
        f.where_sql()
    );
    Ok(run!(c, |x| bind_all!(
        sqlx::query_as::<_, Ledger>(AssertSqlSafe(sql)),
        &f.args
    )
    .fetch_optional(&mut *x)
    .await?))
}

fn ledger_scope(f: &mut Filter, scope: &Scope) {
    if scope.all {
        return;
    }
    let mut inner = Filter {
        conds: Vec::new(),
        args: std::mem::take(&mut f.args),
    };
    inner.push("i.ledger_id = l.id".into());
    inner.scope(scope, "lu.path", "lu.id", None);
    let exists = format!(
        "EXISTS (SELECT 1 FROM items i JOIN units lu ON lu.id = i.lead_unit_id WHERE {})",
        inner.conds.join(" AND ")
    );
    let mut own = Filter {
        conds: Vec::new(),
        args: std::mem::take(&mut inner.args),
    };
    own.scope(scope, "o.path", "o.id", None);
    f.args = own.args;
    f.push(format!("({} OR {exists})", own.conds.join(" AND ")));
}

pub async fn list_ledgers(c: &mut impl AsConn, scope: &Scope) -> Result<Vec<Ledger>> {
    let mut f = Filter::default();
    ledger_scope(&mut f, scope);
    let sql = format!(
        "SELECT {LEDGER_COLS} FROM ledgers l JOIN units o ON o.id = l.owner_unit_id{} ORDER BY l.id",
        f.where_sql()
    );
    Ok(run!(c, |x| bind_all!(
        sqlx::query_as::<_, Ledger>(AssertSqlSafe(sql)),
        &f.args
    )
    .fetch_all(&mut *x)
    .await?))
}

/// Finds a ledger by id or by exact name, inside the scope.
pub async fn find_ledger(
    c: &mut impl AsConn,
    scope: &Scope,
    id_or_name: &str,
) -> Result<Option<Ledger>> {
    if let Ok(id) = id_or_name.parse::<i64>() {
        return get_ledger(c, scope, id).await;
    }
    Ok(list_ledgers(c, scope)
        .await?
        .into_iter()
        .find(|l| l.name == id_or_name))
}

/// An item (事项) as stored, with the names it points to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct Item {
    pub id: i64,
    pub ledger_id: i64,
    pub number: String,
    pub source: String,
    pub category: String,
    pub urgency: String,
    pub title: String,
    pub requirements: String,
    pub instruction: String,
    pub leader: String,
    pub supervisor: String,
    pub subject: String,
    pub lead_unit_id: i64,
    pub lead_unit_name: String,
    #[serde(skip)]
    pub lead_path: String,
    pub level: String,
    pub cycle: String,
    pub measures: String,
    pub result: String,
    pub state: String,
    pub assigned_on: Option<String>,
    pub deadline: Option<String>,
    pub original_deadline: Option<String>,
    pub extension_requested: Option<String>,
    pub submitted_by: Option<i64>,
    pub closed_on: Option<String>,
    /// The last workflow action (e.g. `return` marks 被退回).
    pub last_action: String,
    pub reminders: i64,
    pub version: i64,
    pub created_at: i64,
    pub updated_at: i64,
}

const ITEM_COLS: &str = "i.id, i.ledger_id, i.number, i.source, i.category, i.urgency, i.title, i.requirements, \
    i.instruction, i.leader, i.supervisor, i.subject, i.lead_unit_id, lu.name AS lead_unit_name, lu.path AS lead_path, \
    i.level, i.cycle, i.measures, i.result, i.state, i.assigned_on, i.deadline, i.original_deadline, \
    i.extension_requested, i.submitted_by, i.closed_on, i.last_action, i.reminders, i.version, i.created_at, i.updated_at";

const ITEM_FROM: &str = "items i JOIN units lu ON lu.id = i.lead_unit_id JOIN ledgers l ON l.id = i.ledger_id \
    JOIN units o ON o.id = l.owner_unit_id";

/// Fields of a new item, validated by the service.
#[derive(Debug, Clone, Default)]
pub struct NewItem {
    pub ledger_id: i64,
    pub number: String,
    pub source: String,
    pub category: String,
    pub urgency: String,
    pub title: String,
    pub requirements: String,
    pub instruction: String,
    pub leader: String,
    pub supervisor: String,
    pub subject: String,
    pub lead_unit_id: i64,
    pub level: String,
    pub cycle: String,
    pub measures: String,
    pub state: String,
    pub assigned_on: Option<String>,
    pub deadline: Option<String>,
}

pub async fn insert_item(c: &mut impl AsConn, it: &NewItem, now: i64) -> Result<i64> {
    let start = StartFacts {
        state: it.state.clone(),
        assigned_on: it.assigned_on.clone(),
        deadline: it.deadline.clone(),
        version: 1,
        ..Default::default()
    };
    let ids = insert_items(c, &[(it.clone(), start)], now).await?;
    ids.first().copied().ok_or_else(|| {
        StoreError::Db(sqlx::Error::Protocol(format!(
            "inserted item {} not returned",
            it.number
        )))
    })
}

/// Workflow facts an imported item starts with (a draft, or already 交办).
#[derive(Debug, Clone, Default)]
pub struct StartFacts {
    pub state: String,
    pub assigned_on: Option<String>,
    pub deadline: Option<String>,
    pub original_deadline: Option<String>,
    pub last_action: String,
    pub version: i64,
}

/// Inserts many items with multi-row statements; gives their ids in input order (each chunk's
/// ids are read back by number, which is unique in the ledger).
pub async fn insert_items(
    c: &mut impl AsConn,
    items: &[(NewItem, StartFacts)],
    now: i64,
) -> Result<Vec<i64>> {
    let mut ids = Vec::with_capacity(items.len());
    for chunk in items.chunks(500) {
        let mut f = Filter::default();
        let rows = crate::sql::values_rows(
            &mut f,
            chunk.iter().map(|(it, st)| {
                vec![
                    Arg::I64(it.ledger_id),
                    Arg::Str(it.number.clone()),
                    Arg::Str(it.source.clone()),
                    Arg::Str(it.category.clone()),
                    Arg::Str(it.urgency.clone()),
                    Arg::Str(it.title.clone()),
                    Arg::Str(it.requirements.clone()),
                    Arg::Str(it.instruction.clone()),
                    Arg::Str(it.leader.clone()),
                    Arg::Str(it.supervisor.clone()),
                    Arg::Str(it.subject.clone()),
                    Arg::I64(it.lead_unit_id),
                    Arg::Str(it.level.clone()),
                    Arg::Str(it.cycle.clone()),
                    Arg::Str(it.measures.clone()),
                    Arg::Str(String::new()),
                    Arg::Str(st.state.clone()),
                    Arg::OptStr(st.assigned_on.clone()),
                    Arg::OptStr(st.deadline.clone()),
                    Arg::OptStr(st.original_deadline.clone()),
                    Arg::Str(st.last_action.clone()),
                    Arg::I64(st.version),
                    Arg::I64(0),
                    Arg::I64(now),
                    Arg::I64(now),
                ]
            }),
        );
        let sql = crate::sql::for_backend(
            c,
            format!(
                "INSERT INTO items (ledger_id, number, source, category, urgency, title, requirements, instruction, leader, \
                 supervisor, subject, lead_unit_id, level, cycle, measures, result, state, assigned_on, deadline, \
                 original_deadline, last_action, version, reminders, created_at, updated_at) VALUES {rows} RETURNING id, number"
            ),
        );
        let back: Vec<(i64, String)> = run!(c, |x| bind_all!(
            sqlx::query_as::<_, (i64, String)>(AssertSqlSafe(sql)),
            &f.args
        )
        .fetch_all(&mut *x)
        .await
        .map_err(map_err)?);
        let by_number: std::collections::HashMap<&str, i64> =
            back.iter().map(|(id, n)| (n.as_str(), *id)).collect();
        for (it, _) in chunk {
            ids.push(by_number.get(it.number.as_str()).copied().ok_or_else(|| {
                StoreError::Db(sqlx::Error::Protocol(format!(
                    "inserted item {} not returned",
                    it.number
                )))
            })?);
        }
    }
    Ok(ids)
}

/// The items with these ids (no scope: for the caller's own writes), in id order.
pub async fn items_by_ids(c: &mut impl AsConn, ids: &[i64]) -> Result<Vec<Item>> {
    let mut out = Vec::with_capacity(ids.len());
    for chunk in ids.chunks(1000) {
        let mut f = Filter::default();
        let ph: Vec<String> = chunk.iter().map(|id| f.arg(Arg::I64(*id))).collect();
        let sql = format!(
            "SELECT {ITEM_COLS} FROM {ITEM_FROM} WHERE i.id IN ({}) ORDER BY i.id",
            ph.join(", ")
        );
        let sql = if c.is_sqlite() {
            crate::sql::positional(&sql)
        } else {
            sql
        };
        let rows: Vec<Item> = run!(c, |x| bind_all!(
            sqlx::query_as::<_, Item>(AssertSqlSafe(sql)),
            &f.args
        )
        .fetch_all(&mut *x)
        .await?);
        out.extend(rows);
    }
    Ok(out)
}

/// One timeline entry to insert with [`insert_events`].
#[derive(Debug, Clone)]
pub struct NewEvent {
    pub item_id: i64,
    pub at: i64,
    pub on_date: String,
    pub actor_id: Option<i64>,
    pub actor_name: String,
    pub action: String,
    pub from: String,
    pub to: String,
    pub detail: String,
}

/// Inserts many timeline entries with multi-row statements.
pub async fn insert_events(c: &mut impl AsConn, events: &[NewEvent]) -> Result<()> {
    for chunk in events.chunks(1000) {
        let mut f = Filter::default();
        let rows = crate::sql::values_rows(
            &mut f,
            chunk.iter().map(|e| {
                vec![
                    Arg::I64(e.item_id),
                    Arg::I64(e.at),
                    Arg::Str(e.on_date.clone()),
                    Arg::OptI64(e.actor_id),
                    Arg::Str(e.actor_name.clone()),
                    Arg::Str(e.action.clone()),
                    Arg::Str(e.from.clone()),
                    Arg::Str(e.to.clone()),
                    Arg::Str(e.detail.clone()),
                ]
            }),
        );
        let sql = crate::sql::for_backend(
            c,
            format!(
                "INSERT INTO item_events (item_id, at, on_date, actor_id, actor_name, action, state_from, state_to, detail) \
                 VALUES {rows}"
            ),
        );
        run!(c, |x| bind_all!(sqlx::query(AssertSqlSafe(sql)), &f.args)
            .execute(&mut *x)
            .await?
            .rows_affected());
    }
    Ok(())
}

/// The numbers among `numbers` already used in the ledger.
pub async fn numbers_taken(
    c: &mut impl AsConn,
    ledger_id: i64,
    numbers: &[String],
) -> Result<Vec<String>> {
    let mut out = Vec::new();
    for chunk in numbers.chunks(1000) {
        let mut f = Filter::default();
        let l = f.arg(Arg::I64(ledger_id));
        let ph: Vec<String> = chunk.iter().map(|n| f.arg(Arg::Str(n.clone()))).collect();
        let sql = format!(
            "SELECT number FROM items WHERE ledger_id = {l} AND number IN ({})",
            ph.join(", ")
        );
        let sql = if c.is_sqlite() {
            crate::sql::positional(&sql)
        } else {
            sql
        };
        let rows: Vec<(String,)> = run!(c, |x| bind_all!(
            sqlx::query_as::<_, (String,)>(AssertSqlSafe(sql)),
            &f.args
        )
        .fetch_all(&mut *x)
        .await?);
        out.extend(rows.into_iter().map(|r| r.0));
    }
    Ok(out)
}

/// For each of `ids`, the date of its latest timeline entry among `actions` (for 反馈周期:
/// the last report, sign-off or return).
pub async fn last_event_dates(
    c: &mut impl AsConn,
    ids: &[i64],
    actions: &[&str],
) -> Result<Vec<(i64, String)>> {
    let mut out = Vec::new();
    for chunk in ids.chunks(500) {
        let mut f = Filter::default();
        let ph: Vec<String> = chunk.iter().map(|id| f.arg(Arg::I64(*id))).collect();
        let ah: Vec<String> = actions
            .iter()
            .map(|a| f.arg(Arg::Str((*a).to_string())))
            .collect();
        let sql = format!(
            "SELECT item_id, max(on_date) FROM item_events WHERE item_id IN ({}) AND action IN ({}) GROUP BY item_id",
            ph.join(", "),
            ah.join(", ")
        );
        let rows: Vec<(i64, String)> = run!(c, |x| bind_all!(
            sqlx::query_as::<_, (i64, String)>(AssertSqlSafe(sql)),
            &f.args
        )
        .fetch_all(&mut *x)
        .await?);
        out.extend(rows);
    }
    Ok(out)
}

/// Names cooperating units (协办单位) of many items at once (new items: progress 0).
pub async fn insert_cooperations(c: &mut impl AsConn, pairs: &[(i64, i64)]) -> Result<()> {
    for chunk in pairs.chunks(1000) {
        let mut f = Filter::default();
        let rows = crate::sql::values_rows(
            &mut f,
            chunk.iter().map(|(item, unit)| {
                vec![
                    Arg::I64(*item),
                    Arg::I64(*unit),
                    Arg::I64(0),
                    Arg::Str(String::new()),
                ]
            }),
        );
        let sql = crate::sql::for_backend(
            c,
            format!("INSERT INTO item_units (item_id, unit_id, progress, note) VALUES {rows}"),
        );
        run!(c, |x| bind_all!(sqlx::query(AssertSqlSafe(sql)), &f.args)
            .execute(&mut *x)
            .await
            .map_err(map_err)?
            .rows_affected());
    }
    Ok(())
}

/// (item id, cooperating unit name) for each of `ids`, in unit order.
pub async fn cooperation_names(c: &mut impl AsConn, ids: &[i64]) -> Result<Vec<(i64, String)>> {
    let mut out = Vec::new();
    for chunk in ids.chunks(1000) {
        let mut f = Filter::default();
        let ph: Vec<String> = chunk.iter().map(|id| f.arg(Arg::I64(*id))).collect();
        let sql = format!(
            "SELECT iu.item_id, u.name FROM item_units iu JOIN units u ON u.id = iu.unit_id \
             WHERE iu.item_id IN ({}) ORDER BY iu.item_id, u.path",
            ph.join(", ")
        );
        let rows: Vec<(i64, String)> = run!(c, |x| bind_all!(
            sqlx::query_as::<_, (i64, String)>(AssertSqlSafe(sql)),
            &f.args
        )
        .fetch_all(&mut *x)
        .await?);
        out.extend(rows);
    }
    Ok(out)
}

/// Reserves `n` consecutive serial numbers in the ledger; gives the first.
pub async fn reserve_item_seq(c: &mut impl AsConn, ledger_id: i64, n: i64) -> Result<i64> {
    let r: (i64,) = run!(c, |x| sqlx::query_as::<_, (i64,)>(
        "UPDATE ledgers SET item_seq = item_seq + $1 WHERE id = $2 RETURNING item_seq"
    )
    .bind(n)
    .bind(ledger_id)
    .fetch_one(&mut *x)
    .await?);
    Ok(r.0 - n + 1)
}

/// An item is in scope when its lead unit, its ledger's owner, or one of its cooperating units
/// (协办单位) is.
fn item_scope(f: &mut Filter, scope: &Scope) {
    if scope.all {
        return;
    }
    let mut direct = Filter {
        conds: Vec::new(),
        args: std::mem::take(&mut f.args),
    };
    direct.scope_any(scope, &[("lu.path", "lu.id"), ("o.path", "o.id")], None);
    let mut coop = Filter {
        conds: Vec::new(),
        args: std::mem::take(&mut direct.args),
    };
    coop.scope(scope, "cu.path", "cu.id", None);
    f.args = coop.args;
    f.push(format!(
        "({} OR EXISTS (SELECT 1 FROM item_units iu JOIN units cu ON cu.id = iu.unit_id WHERE iu.item_id = i.id AND {}))",
        direct.conds.join(" AND "),
        coop.conds.join(" AND ")
    ));
}

/// A cooperating unit (协办单位) of an item with its own progress.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct Cooperation {
    pub unit_id: i64,
    pub unit_name: String,
    #[serde(skip)]
    pub unit_path: String,
    pub progress: i64,
    pub note: String,
}

pub async fn set_cooperation(
    c: &mut impl AsConn,
    item_id: i64,
    unit_id: i64,
    progress: i64,
    note: &str,
) -> Result<()> {
    run!(c, |x| {
        sqlx::query(
        "INSERT INTO item_units (item_id, unit_id, progress, note) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (item_id, unit_id) DO UPDATE SET progress = excluded.progress, note = excluded.note"
    )
    .bind(item_id)
    .bind(unit_id)
    .bind(progress)
    .bind(note)
    .execute(&mut *x)
    .await
    .map_err(map_err)?
    .rows_affected()
    });
    Ok(())
}

pub async fn cooperations(c: &mut impl AsConn, item_id: i64) -> Result<Vec<Cooperation>> {
    Ok(run!(c, |x| {
        sqlx::query_as::<_, Cooperation>(
        "SELECT iu.unit_id, u.name AS unit_name, u.path AS unit_path, iu.progress, iu.note FROM item_units iu \
         JOIN units u ON u.id = iu.unit_id WHERE iu.item_id = $1 ORDER BY u.path"
    )
    .bind(item_id)
    .fetch_all(&mut *x)
    .await?
    }))
}

pub async fn get_item(c: &mut impl AsConn, scope: &Scope, id: i64) -> Result<Option<Item>> {
    let mut f = Filter::default();
    let a = f.arg(Arg::I64(id));
    f.push(format!("i.id = {a}"));
    item_scope(&mut f, scope);
    let sql = format!("SELECT {ITEM_COLS} FROM {ITEM_FROM}{}", f.where_sql());
    Ok(run!(c, |x| bind_all!(
        sqlx::query_as::<_, Item>(AssertSqlSafe(sql)),
        &f.args
    )
    .fetch_optional(&mut *x)
    .await?))
}

/// What to list. Dates are `YYYY-MM-DD`.
#[derive(Debug, Clone, Default)]
pub struct ItemFilter {
    pub ledger_id: Option<i64>,
    pub states: Vec<String>,
    /// Lead unit inside this subtree (path prefix).
    pub lead_under: Option<String>,
    pub source: Option<String>,
    pub category: Option<String>,
    pub level: Option<String>,
    pub deadline_from: Option<String>,
    pub deadline_to: Option<String>,
    /// Open and past the deadline on this date.
    pub overdue_on: Option<String>,
    pub q: Option<String>,
    /// Only items showing this warning light (computed, never stored).
    pub light: Option<LightFilter>,
    /// Order of the list (the figures ignore it).
    pub sort: ItemSort,
    pub limit: i64,
    pub offset: i64,
}

/// A warning-light filter (红灯/黄灯/绿灯) as date bounds worked out on the working-day
/// calendar by the service: red is open and past `today`; yellow is open, not past, and due
/// before `yellow_before` (the first day more than the ledger's N working days away) or
/// already reminded; green is the rest of the open items with a deadline.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LightFilter {
    /// `red`, `yellow` or `green`.
    pub light: String,
    pub today: String,
    pub yellow_before: String,
}

const OPEN_STATES: &str = "('assigned', 'in_progress', 'submitted', 'escalated')";

/// How a list of items is ordered; every order ends on the id, so pages never overlap.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum ItemSort {
    /// Entry order (编号 order for numbered ledgers).
    #[default]
    Id,
    /// Nearest deadline first; items without one last.
    Deadline,
    /// Latest deadline first.
    DeadlineDesc,
    Number,
    /// Most recently changed first.
    Updated,
}

impl ItemSort {
    /// From the `sort` query parameter: `id`, `deadline`, `-deadline`, `number`, `updated`.
    pub fn parse(s: &str) -> Option<ItemSort> {
        Some(match s {
            "" | "id" => ItemSort::Id,
            "deadline" => ItemSort::Deadline,
            "-deadline" => ItemSort::DeadlineDesc,
            "number" => ItemSort::Number,
            "updated" | "-updated" => ItemSort::Updated,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            ItemSort::Id => "id",
            ItemSort::Deadline => "deadline",
            ItemSort::DeadlineDesc => "-deadline",
            ItemSort::Number => "number",
            ItemSort::Updated => "updated",
        }
    }

    fn order_by(self) -> &'static str {
        match self {
            ItemSort::Id => "i.id",
            ItemSort::Deadline => "(i.deadline IS NULL), i.deadline, i.id",
            ItemSort::DeadlineDesc => "(i.deadline IS NULL), i.deadline DESC, i.id",
            ItemSort::Number => "i.number, i.id",
            ItemSort::Updated => "i.updated_at DESC, i.id DESC",
        }
    }
}

fn item_filter(scope: &Scope, filter: &ItemFilter) -> Filter {
    let mut f = Filter::default();
    item_scope(&mut f, scope);
    if let Some(l) = filter.ledger_id {
        let a = f.arg(Arg::I64(l));
        f.push(format!("i.ledger_id = {a}"));
    }
    if !filter.states.is_empty() {
        let ph: Vec<String> = filter
            .states
            .iter()
            .map(|s| f.arg(Arg::Str(s.clone())))
            .collect();
        f.push(format!("i.state IN ({})", ph.join(", ")));
    }
    if let Some(p) = &filter.lead_under {
        let a = f.arg(Arg::Str(p.clone()));
        let b = f.arg(Arg::Str(subtree_upper(p)));
        f.push(format!("lu.path >= {a} AND lu.path < {b}"));
    }
    for (col, v) in [
        ("i.source", &filter.source),
        ("i.category", &filter.category),
        ("i.level", &filter.level),
    ] {
        if let Some(v) = v {
            let a = f.arg(Arg::Str(v.clone()));
            f.push(format!("{col} = {a}"));
        }
    }
    if let Some(d) = &filter.deadline_from {
        let a = f.arg(Arg::Str(d.clone()));
        f.push(format!("i.deadline >= {a}"));
    }
    if let Some(d) = &filter.deadline_to {
        let a = f.arg(Arg::Str(d.clone()));
        f.push(format!("i.deadline <= {a}"));
    }
    if let Some(d) = &filter.overdue_on {
        let a = f.arg(Arg::Str(d.clone()));
        f.push(format!(
            "i.state IN ('assigned', 'in_progress', 'submitted', 'escalated') AND i.deadline < {a}"
        ));
    }
    if let Some(l) = &filter.light {
        let t = f.arg(Arg::Str(l.today.clone()));
        let y = f.arg(Arg::Str(l.yellow_before.clone()));
        f.push(match l.light.as_str() {
            "red" => format!("i.state IN {OPEN_STATES} AND i.deadline < {t}"),
            "yellow" => format!(
                "i.state IN {OPEN_STATES} AND i.deadline >= {t} AND (i.deadline < {y} OR i.reminders > 0)"
            ),
            _ => format!("i.state IN {OPEN_STATES} AND i.deadline >= {y} AND i.reminders = 0"),
        });
    }
    if let Some(q) = filter.q.as_deref().filter(|q| !q.is_empty()) {
        let a = f.arg(Arg::Str(like_contains(q)));
        f.push(format!("(i.title LIKE {a} ESCAPE '\\' OR i.number LIKE {a} ESCAPE '\\' OR i.subject LIKE {a} ESCAPE '\\')"));
    }
    f
}

pub async fn list_items(
    c: &mut impl AsConn,
    scope: &Scope,
    filter: &ItemFilter,
) -> Result<Vec<Item>> {
    let mut f = item_filter(scope, filter);
    let lim = f.arg(Arg::I64(filter.limit.clamp(1, 10_000)));
    let off = f.arg(Arg::I64(filter.offset.max(0)));
    let sql = format!(
        "SELECT {ITEM_COLS} FROM {ITEM_FROM}{} ORDER BY {order} LIMIT {lim} OFFSET {off}",
        f.where_sql(),
        order = filter.sort.order_by()
    );
    // On SQLite, page the ids first (from the covering index), then read only the page's rows:
    // a county's thousands of matches are never fetched whole just to be sorted. (PostgreSQL
    // plans the plain form better.)
    let sql = if c.is_sqlite() {
        format!(
            "SELECT {ITEM_COLS} FROM {ITEM_FROM} WHERE i.id IN \
             (SELECT i.id FROM {ITEM_FROM}{} ORDER BY {order} LIMIT {lim} OFFSET {off}) ORDER BY {order}",
            f.where_sql(),
            order = filter.sort.order_by()
        )
    } else {
        sql
    };
    Ok(run!(c, |x| bind_all!(
        sqlx::query_as::<_, Item>(AssertSqlSafe(sql)),
        &f.args
    )
    .fetch_all(&mut *x)
    .await?))
}

/// An item as a report lists it (附件 问题清单, 超期 items): the few columns it prints.
#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct ReportRow {
    pub id: i64,
    pub number: String,
    pub title: String,
    pub lead_unit_id: i64,
    pub lead_unit_name: String,
    pub deadline: Option<String>,
    pub state: String,
    pub closed_on: Option<String>,
    pub reminders: i64,
}

/// Every item in scope matching `filter` (no paging), in entry order, with only the columns
/// a report prints: a 10,000-item ledger is read in one pass.
pub async fn report_rows(
    c: &mut impl AsConn,
    scope: &Scope,
    filter: &ItemFilter,
) -> Result<Vec<ReportRow>> {
    let f = item_filter(scope, filter);
    let sql = format!(
        "SELECT i.id, i.number, i.title, i.lead_unit_id, lu.name AS lead_unit_name, i.deadline, \
         i.state, i.closed_on, i.reminders FROM {ITEM_FROM}{} ORDER BY i.id",
        f.where_sql()
    );
    Ok(run!(c, |x| bind_all!(
        sqlx::query_as::<_, ReportRow>(AssertSqlSafe(sql)),
        &f.args
    )
    .fetch_all(&mut *x)
    .await?))
}

pub async fn count_items(c: &mut impl AsConn, scope: &Scope, filter: &ItemFilter) -> Result<i64> {
    let f = item_filter(scope, filter);
    let sql = format!("SELECT count(*) FROM {ITEM_FROM}{}", f.where_sql());
    let r: (i64,) = run!(c, |x| bind_all!(
        sqlx::query_as::<_, (i64,)>(AssertSqlSafe(sql)),
        &f.args
    )
    .fetch_one(&mut *x)
    .await?);
    Ok(r.0)
}

/// The next serial number of an item in `ledger_id` (its counter, incremented inside the
/// caller's transaction).
pub async fn next_item_seq(c: &mut impl AsConn, ledger_id: i64) -> Result<i64> {
    let r: (i64,) = run!(c, |x| sqlx::query_as::<_, (i64,)>(
        "UPDATE ledgers SET item_seq = item_seq + 1 WHERE id = $1 RETURNING item_seq"
    )
    .bind(ledger_id)
    .fetch_one(&mut *x)
    .await?);
    Ok(r.0)
}

/// Whether `number` is already used in the ledger.
pub async fn number_taken(c: &mut impl AsConn, ledger_id: i64, number: &str) -> Result<bool> {
    let r: Option<(i64,)> = run!(c, |x| sqlx::query_as::<_, (i64,)>(
        "SELECT id FROM items WHERE ledger_id = $1 AND number = $2"
    )
    .bind(ledger_id)
    .bind(number)
    .fetch_optional(&mut *x)
    .await?);
    Ok(r.is_some())
}

/// Writes an item's editable fields (修改事项) if its version is still `version`.
pub async fn update_item_fields(
    c: &mut impl AsConn,
    id: i64,
    version: i64,
    it: &NewItem,
    now: i64,
) -> Result<()> {
    let n = run!(c, |x| {
        sqlx::query(
        "UPDATE items SET number = $1, source = $2, category = $3, urgency = $4, title = $5, requirements = $6, \
         instruction = $7, leader = $8, supervisor = $9, subject = $10, lead_unit_id = $11, level = $12, cycle = $13, \
         measures = $14, deadline = $15, version = version + 1, updated_at = $16 WHERE id = $17 AND version = $18"
    )
    .bind(&it.number)
    .bind(&it.source)
    .bind(&it.category)
    .bind(&it.urgency)
    .bind(&it.title)
    .bind(&it.requirements)
    .bind(&it.instruction)
    .bind(&it.leader)
    .bind(&it.supervisor)
    .bind(&it.subject)
    .bind(it.lead_unit_id)
    .bind(&it.level)
    .bind(&it.cycle)
    .bind(&it.measures)
    .bind(&it.deadline)
    .bind(now)
    .bind(id)
    .bind(version)
    .execute(&mut *x)
    .await
    .map_err(map_err)?
    .rows_affected()
    });
    if n == 0 {
        return Err(StoreError::StaleVersion { expected: version });
    }
    Ok(())
}

/// Workflow facts written back after a transition.
#[derive(Debug, Clone)]
pub struct ItemStateChange {
    pub state: String,
    pub assigned_on: Option<String>,
    pub deadline: Option<String>,
    pub original_deadline: Option<String>,
    pub extension_requested: Option<String>,
    pub submitted_by: Option<i64>,
    pub closed_on: Option<String>,
    pub result: String,
    pub last_action: String,
    pub reminders: i64,
}

pub async fn update_item_state(
    c: &mut impl AsConn,
    id: i64,
    version: i64,
    ch: &ItemStateChange,
    now: i64,
) -> Result<()> {
    let n = run!(c, |x| {
        sqlx::query(
        "UPDATE items SET state = $1, assigned_on = $2, deadline = $3, original_deadline = $4, \
         extension_requested = $5, submitted_by = $6, closed_on = $7, result = $8, reminders = $9, \
         last_action = $10, version = version + 1, updated_at = $11 WHERE id = $12 AND version = $13"
    )
    .bind(&ch.state)
    .bind(&ch.assigned_on)
    .bind(&ch.deadline)
    .bind(&ch.original_deadline)
    .bind(&ch.extension_requested)
    .bind(ch.submitted_by)
    .bind(&ch.closed_on)
    .bind(&ch.result)
    .bind(ch.reminders)
    .bind(&ch.last_action)
    .bind(now)
    .bind(id)
    .bind(version)
    .execute(&mut *x)
    .await?
    .rows_affected()
    });
    if n == 0 {
        return Err(StoreError::StaleVersion { expected: version });
    }
    Ok(())
}

#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct ItemEvent {
    pub id: i64,
    pub item_id: i64,
    pub at: i64,
    pub on_date: String,
    pub actor_id: Option<i64>,
    pub actor_name: String,
    pub action: String,
    pub state_from: String,
    pub state_to: String,
    pub detail: String,
}

#[allow(clippy::too_many_arguments)]
pub async fn insert_event(
    c: &mut impl AsConn,
    item_id: i64,
    at: i64,
    on_date: &str,
    actor_id: Option<i64>,
    actor_name: &str,
    action: &str,
    from: &str,
    to: &str,
    detail: &str,
) -> Result<()> {
    run!(c, |x| {
        sqlx::query(
        "INSERT INTO item_events (item_id, at, on_date, actor_id, actor_name, action, state_from, state_to, detail) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)"
    )
    .bind(item_id)
    .bind(at)
    .bind(on_date)
    .bind(actor_id)
    .bind(actor_name)
    .bind(action)
    .bind(from)
    .bind(to)
    .bind(detail)
    .execute(&mut *x)
    .await?
    .rows_affected()
    });
    Ok(())
}

pub async fn events(c: &mut impl AsConn, item_id: i64) -> Result<Vec<ItemEvent>> {
    Ok(run!(c, |x| {
        sqlx::query_as::<_, ItemEvent>(
        "SELECT id, item_id, at, on_date, actor_id, actor_name, action, state_from, state_to, detail \
         FROM item_events WHERE item_id = $1 ORDER BY id"
    )
    .bind(item_id)
    .fetch_all(&mut *x)
    .await?
    }))
}

/// One item as the figures see it, borrowed from the reader's current row.
#[derive(Debug, Clone, Copy)]
pub struct FigureRow<'a> {
    pub lead_unit_id: i64,
    pub lead_unit_name: &'a str,
    pub source: &'a str,
    pub category: &'a str,
    pub level: &'a str,
    pub state: &'a str,
    pub assigned_on: Option<&'a str>,
    pub deadline: Option<&'a str>,
    pub closed_on: Option<&'a str>,
}

/// Folds one [`FigureRow`] per item in scope matching `filter` into `state` with `f`, in one
/// pass, and gives the state back. The figures of a million-item ledger are folded this way: on an SQLite file the pass
/// runs on a dedicated read-only connection (rusqlite) inside one read transaction, because
/// sqlx's per-row cost would be most of the time; elsewhere it streams through sqlx.
pub async fn scan_figures<S: Send + 'static>(
    store: &crate::Store,
    scope: &Scope,
    filter: &ItemFilter,
    mut state: S,
    f: fn(&mut S, &FigureRow<'_>),
) -> Result<S> {
    let w = item_filter(scope, filter);
    let sql = format!(
        "SELECT i.lead_unit_id, lu.name, i.source, i.category, i.level, i.state, i.assigned_on, \
         i.deadline, i.closed_on FROM {ITEM_FROM}{} ORDER BY i.ledger_id, i.lead_unit_id",
        w.where_sql()
    );
    if let Some(path) = store.sqlite_path.clone() {
        let args = w.args;
        return tokio::task::spawn_blocking(move || {
            scan_sqlite(&path, &sql, &args, &mut |r| f(&mut state, r)).map(|()| state)
        })
        .await
        .map_err(|e| StoreError::Db(sqlx::Error::Protocol(format!("figures reader: {e}"))))?
        .map_err(|e| StoreError::Db(sqlx::Error::Protocol(format!("figures reader: {e}"))));
    }
    use futures_util::TryStreamExt;
    use sqlx::Row;
    let mut c = store.conn().await?;
    run!(&mut c, |x| {
        let mut rows = bind_all!(sqlx::query(AssertSqlSafe(sql)), &w.args).fetch(&mut *x);
        while let Some(r) = rows.try_next().await? {
            f(
                &mut state,
                &FigureRow {
                    lead_unit_id: r.try_get(0)?,
                    lead_unit_name: r.try_get(1)?,
                    source: r.try_get(2)?,
                    category: r.try_get(3)?,
                    level: r.try_get(4)?,
                    state: r.try_get(5)?,
                    assigned_on: r.try_get(6)?,
                    deadline: r.try_get(7)?,
                    closed_on: r.try_get(8)?,
                },
            );
        }
    });
    Ok(state)
}

fn scan_sqlite<F>(
    path: &std::path::Path,
    sql: &str,
    args: &[Arg],
    f: &mut F,
) -> rusqlite::Result<()>
where
    F: FnMut(&FigureRow<'_>),
{
    use rusqlite::{Connection, OpenFlags};
    let mut conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    conn.busy_timeout(std::time::Duration::from_secs(30))?;
    conn.pragma_update(None, "mmap_size", 1i64 << 30)?;
    let txn = conn.transaction()?;
    let mut stmt = txn.prepare(sql)?;
    for (k, a) in args.iter().enumerate() {
        let Some(i) = stmt.parameter_index(&format!("${}", k + 1))? else {
            continue;
        };
        match a {
            Arg::I64(v) => stmt.raw_bind_parameter(i, v)?,
            Arg::OptI64(v) => stmt.raw_bind_parameter(i, v)?,
            Arg::Str(v) => stmt.raw_bind_parameter(i, v)?,
            Arg::OptStr(v) => stmt.raw_bind_parameter(i, v)?,
            Arg::Bool(v) => stmt.raw_bind_parameter(i, v)?,
            Arg::F64(v) => stmt.raw_bind_parameter(i, v)?,
        }
    }
    let mut rows = stmt.raw_query();
    while let Some(r) = rows.next()? {
        let row = FigureRow {
            lead_unit_id: r.get(0)?,
            lead_unit_name: text(r, 1)?.unwrap_or(""),
            source: text(r, 2)?.unwrap_or(""),
            category: text(r, 3)?.unwrap_or(""),
            level: text(r, 4)?.unwrap_or(""),
            state: text(r, 5)?.unwrap_or(""),
            assigned_on: text(r, 6)?,
            deadline: text(r, 7)?,
            closed_on: text(r, 8)?,
        };
        f(&row);
    }
    Ok(())
}

fn text<'r>(r: &'r rusqlite::Row<'_>, i: usize) -> rusqlite::Result<Option<&'r str>> {
    match r.get_ref(i)? {
        rusqlite::types::ValueRef::Null => Ok(None),
        v => v.as_str().map(Some).map_err(Into::into),
    }
}

/// One group of the figures as PostgreSQL aggregates them: which grouping (`set`), its key and
/// label, and the counts the service turns into [`Figures`](../../taizhang_service).
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct FigureAgg {
    /// 0 overall, 1 lead unit, 2 source, 3 category, 4 level, 5 state, 6 month assigned,
    /// 7 month closed.
    pub set: i32,
    pub key: Option<String>,
    pub label: Option<String>,
    pub total: i64,
    pub closed: i64,
    pub on_time: i64,
    pub overdue: i64,
    pub days_sum: Option<i64>,
    pub days_n: i64,
    pub rows: i64,
}

/// The figures aggregated inside PostgreSQL in one pass (GROUPING SETS), with working days to
/// close computed from `index` (the calendar's prefix index from `index_from`): the same
/// rules as the service's fold, which the conformance of both is tested against.
pub async fn pg_figures(
    c: &mut impl AsConn,
    scope: &Scope,
    filter: &ItemFilter,
    today: &str,
    index_from: &str,
    index: &[i32],
) -> Result<Vec<FigureAgg>> {
    let mut f = item_filter(scope, filter);
    let t = f.arg(Arg::Str(today.to_string()));
    let from = f.arg(Arg::Str(index_from.to_string()));
    let idx = format!("${}", f.args.len() + 1);
    let sql = format!(
        "WITH f AS (SELECT i.lead_unit_id::text AS unit, lu.name AS unit_name, i.source, i.category, i.level, i.state, \
           substr(i.assigned_on, 1, 7) AS am, substr(i.closed_on, 1, 7) AS cm, \
           (i.state <> 'draft' AND (i.closed_on IS NOT NULL OR i.state NOT IN ('cancelled', 'archived'))) AS counted, \
           i.closed_on IS NOT NULL AS closed, \
           (i.closed_on IS NOT NULL AND i.deadline IS NOT NULL AND i.closed_on <= i.deadline) AS on_time, \
           (i.closed_on IS NULL AND i.state IN {OPEN_STATES} AND i.deadline < {t}) AS overdue, \
           CASE WHEN i.closed_on IS NOT NULL AND i.assigned_on IS NOT NULL THEN \
             ({idx}::int[])[(i.closed_on::date - {from}::date) + 1] - ({idx}::int[])[(i.assigned_on::date - {from}::date) + 1] END AS days \
         FROM {ITEM_FROM}{}) \
         SELECT CASE WHEN GROUPING(unit) = 0 THEN 1 WHEN GROUPING(source) = 0 THEN 2 WHEN GROUPING(category) = 0 THEN 3 \
           WHEN GROUPING(level) = 0 THEN 4 WHEN GROUPING(state) = 0 THEN 5 WHEN GROUPING(am) = 0 THEN 6 \
           WHEN GROUPING(cm) = 0 THEN 7 ELSE 0 END AS set, \
           COALESCE(unit, source, category, level, state, am, cm) AS key, max(unit_name) AS label, \
           count(*) FILTER (WHERE counted) AS total, count(*) FILTER (WHERE counted AND closed) AS closed, \
           count(*) FILTER (WHERE counted AND on_time) AS on_time, count(*) FILTER (WHERE counted AND overdue) AS overdue, \
           sum(days) FILTER (WHERE counted AND closed) AS days_sum, count(days) FILTER (WHERE counted AND closed) AS days_n, \
           count(*) AS rows \
         FROM f GROUP BY GROUPING SETS ((unit), (source), (category), (level), (state), (am), (cm), ())",
        f.where_sql()
    );
    let index = index.to_vec();
    match c.conn() {
        crate::Conn::Pg(x) => {
            // Room for the eight hash aggregates of one pass.
            sqlx::query("SET work_mem = '64MB'")
                .execute(&mut *x)
                .await?;
            let r = bind_all!(sqlx::query_as::<_, FigureAgg>(AssertSqlSafe(sql)), &f.args)
                .bind(index)
                .fetch_all(&mut *x)
                .await;
            sqlx::query("RESET work_mem").execute(&mut *x).await?;
            Ok(r?)
        }
        crate::Conn::Sqlite(_) => Err(StoreError::Db(sqlx::Error::Protocol(
            "pg_figures runs on PostgreSQL only".into(),
        ))),
    }
}

/// Evidence (佐证材料) metadata; the bytes are fetched separately.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct Attachment {
    pub id: i64,
    pub item_id: i64,
    pub filename: String,
    pub content_type: String,
    pub size: i64,
    pub sha256: String,
    pub uploaded_by: String,
    pub created_at: i64,
}

#[allow(clippy::too_many_arguments)]
pub async fn insert_attachment(
    c: &mut impl AsConn,
    item_id: i64,
    filename: &str,
    content_type: &str,
    sha256: &str,
    data: &[u8],
    uploaded_by: &str,
    now: i64,
) -> Result<i64> {
    let r: (i64,) = run!(c, |x| {
        sqlx::query_as(
        "INSERT INTO attachments (item_id, filename, content_type, size, sha256, data, uploaded_by, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id"
    )
    .bind(item_id)
    .bind(filename)
    .bind(content_type)
    .bind(data.len() as i64)
    .bind(sha256)
    .bind(data)
    .bind(uploaded_by)
    .bind(now)
    .fetch_one(&mut *x)
    .await?
    });
    Ok(r.0)
}

pub async fn attachments(c: &mut impl AsConn, item_id: i64) -> Result<Vec<Attachment>> {
    Ok(run!(c, |x| {
        sqlx::query_as::<_, Attachment>(
        "SELECT id, item_id, filename, content_type, size, sha256, uploaded_by, created_at FROM attachments \
         WHERE item_id = $1 ORDER BY id"
    )
    .bind(item_id)
    .fetch_all(&mut *x)
    .await?
    }))
}

/// An attachment's metadata and bytes, if its item is inside `scope`.
pub async fn attachment(
    c: &mut impl AsConn,
    scope: &Scope,
    id: i64,
) -> Result<Option<(Attachment, Vec<u8>)>> {
    let meta: Option<Attachment> = run!(c, |x| {
        sqlx::query_as::<_, Attachment>(
        "SELECT id, item_id, filename, content_type, size, sha256, uploaded_by, created_at FROM attachments WHERE id = $1"
    )
    .bind(id)
    .fetch_optional(&mut *x)
    .await?
    });
    let Some(meta) = meta else { return Ok(None) };
    if get_item(c, scope, meta.item_id).await?.is_none() {
        return Ok(None);
    }
    let data: (Vec<u8>,) = run!(c, |x| sqlx::query_as(
        "SELECT data FROM attachments WHERE id = $1"
    )
    .bind(id)
    .fetch_one(&mut *x)
    .await?);
    Ok(Some((meta, data.0)))
}
