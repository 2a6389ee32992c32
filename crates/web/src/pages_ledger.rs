//! Pages of the supervision ledger (督办台账): ledgers with their figures, the item list with
//! filters, the item page with its timeline and the actions the caller may take, and the
//! handler's "my tasks" (我的待办).

use crate::AppState;
use crate::caller::PageCaller;
use crate::i18n::Tr;
use crate::pages::{Flash, back, done, home_crumb, layout, msg, not_found_page, render, settle};
use askama::Template;
use axum::Form;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use taizhang_domain::ledger::{Action, ItemState, Light};
use taizhang_domain::role::Permission;
use taizhang_service::ServiceError;
use taizhang_service::ledger::{self as svc, Figures, ItemView};
use taizhang_store::ledger::ItemFilter;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/ledgers", get(ledgers_page).post(ledger_create))
        .route("/ledgers/{id}/items", post(item_create))
        .route("/ledgers/{id}", get(ledger_page))
        .route("/items/{id}", get(item_page))
        .route("/items/{id}/act", post(item_act))
        .route("/items/{id}/edit", post(item_edit))
        .route("/ledgers/{id}/bulk-assign", post(bulk_assign))
        .route("/items/{id}/cooperate", post(item_cooperate))
        .route(
            "/items/{id}/attach",
            post(item_attach).layer(axum::extract::DefaultBodyLimit::max(21 << 20)),
        )
        .route("/tasks", get(tasks_page))
        .route("/inbox", get(inbox_page))
        .route("/calendar", get(calendar_page).post(calendar_set))
        .route("/inbox/{id}/read", post(inbox_read))
        .route("/webhooks", post(webhook_add))
        .route("/webhooks/{id}/stop", post(webhook_stop))
        .route(
            "/ledgers/{id}/import",
            post(import_upload).layer(axum::extract::DefaultBodyLimit::max(50 << 20)),
        )
}

#[derive(Template)]
#[template(path = "import.html")]
struct ImportPage {
    l: crate::pages::Layout,
    id: i64,
    imported: Option<usize>,
    problem: Option<String>,
    errors: Vec<taizhang_service::ledger_excel::CellError>,
}

/// The import form's upload: a CSRF field and the file (multipart).
async fn import_upload(
    State(st): State<AppState>,
    c: PageCaller,
    Path(id): Path<i64>,
    mut form: axum::extract::Multipart,
) -> Response {
    use taizhang_service::ledger_excel::{self as lx, ImportError};
    let tr = c.tr;
    let (mut csrf, mut file) = (String::new(), None);
    while let Ok(Some(field)) = form.next_field().await {
        match field.name() {
            Some("csrf") => csrf = field.text().await.unwrap_or_default(),
            Some("file") => file = field.bytes().await.ok(),
            _ => {}
        }
    }
    if let Err(r) = c.check_csrf(&csrf) {
        return r;
    }
    let here = format!("/ledgers/{id}");
    if let Err(e) = svc::get_ledger(&st.app, &c.actor, id).await {
        return match e {
            ServiceError::NotFound => (StatusCode::NOT_FOUND, "404").into_response(),
            e => back(&here, "err", &msg(tr, &e)),
        };
    }
    let Some(bytes) = file.filter(|b| !b.is_empty()) else {
        return back(
            &here,
            "err",
            tr.pick(
                "请选择要导入的 .xlsx 文件",
                "Choose an .xlsx file to import",
            ),
        );
    };
    let (mut imported, mut problem, mut errors) = (None, None, Vec::new());
    match tokio::task::spawn_blocking(move || lx::read(&bytes)).await {
        Ok(Ok(sheet)) => match lx::import(&st.app, &c.actor, id, sheet, &mut |_, _| {}).await {
            Ok(n) => imported = Some(n),
            Err(ImportError::Cells(e)) => errors = e,
            Err(ImportError::File(e)) => problem = Some(e.to_string()),
            Err(ImportError::Service(e)) => problem = Some(msg(tr, &e)),
        },
        Ok(Err(e)) => problem = Some(e.to_string()),
        Err(e) => problem = Some(e.to_string()),
    }
    render(ImportPage {
        l: layout(
            &c,
            tr.pick("导入结果", "Import result"),
            "ledgers",
            vec![
                home_crumb(tr),
                (tr.pick("督办台账", "Ledgers").into(), "/ledgers".into()),
                (tr.pick("台账", "Ledger").into(), here),
                (tr.pick("导入结果", "Import result").into(), String::new()),
            ],
            Flash::default(),
        ),
        id,
        imported,
        problem,
        errors,
    })
}

fn pct(v: Option<f64>) -> String {
    v.map(|p| format!("{p:.1}%")).unwrap_or_else(|| "—".into())
}

/// One figures row as shown in tables.
pub struct FigRow {
    pub label: String,
    pub total: i64,
    pub closed: i64,
    pub in_progress: i64,
    pub closed_rate: String,
    pub on_time: i64,
    pub on_time_rate: String,
    pub overdue: i64,
    pub avg_days: String,
}

fn fig_row(label: String, f: &Figures) -> FigRow {
    FigRow {
        label,
        total: f.total,
        closed: f.closed,
        in_progress: f.in_progress,
        closed_rate: pct(f.closed_rate),
        on_time: f.closed_on_time,
        on_time_rate: pct(f.on_time_rate),
        overdue: f.overdue,
        avg_days: f
            .avg_days_to_close
            .map(|d| format!("{d:.1}"))
            .unwrap_or_else(|| "—".into()),
    }
}

fn light_class(l: Light) -> &'static str {
    match l {
        Light::Green => "green",
        Light::Yellow => "yellow",
        Light::Red => "red",
        Light::None => "none",
    }
}

fn light_label(tr: Tr, l: Light) -> &'static str {
    match l {
        Light::Green => tr.pick("绿灯", "Green"),
        Light::Yellow => tr.pick("黄灯", "Yellow"),
        Light::Red => tr.pick("红灯", "Red"),
        Light::None => "—",
    }
}

struct LedgerRow {
    id: i64,
    name: String,
    kind: String,
    period: String,
    owner: String,
    fig: FigRow,
}

#[derive(Template)]
#[template(path = "ledgers.html")]
struct LedgersPage {
    l: crate::pages::Layout,
    ledgers: Vec<LedgerRow>,
    /// Whether the caller supervises anything (and so may open a ledger).
    can_create: bool,
}

#[derive(Deserialize)]
struct LedgerForm {
    csrf: String,
    name: String,
    kind: String,
    /// The owning unit by code (单位代码).
    owner: String,
    period: String,
    #[serde(default)]
    yellow_days: String,
}

/// 新建台账 from the ledgers page.
async fn ledger_create(
    State(st): State<AppState>,
    c: PageCaller,
    Form(f): Form<LedgerForm>,
) -> Response {
    if let Err(r) = c.check_csrf(&f.csrf) {
        return r;
    }
    let tr = c.tr;
    let owner = match taizhang_service::units::find_by_code(&st.app, &c.actor, f.owner.trim()).await
    {
        Ok(u) => u,
        Err(_) => {
            return back(
                "/ledgers",
                "err",
                tr.pick(
                    "责任单位代码不存在或不在您的数据范围内",
                    "no owning unit with this code in your data scope",
                ),
            );
        }
    };
    let yellow_days = match f.yellow_days.trim() {
        "" => None,
        y => match y.parse::<i64>() {
            Ok(n) => Some(n),
            Err(_) => {
                return back(
                    "/ledgers",
                    "err",
                    tr.pick("黄灯提前天数应为整数", "yellow days must be a whole number"),
                );
            }
        },
    };
    match svc::create_ledger(
        &st.app,
        &c.actor,
        svc::CreateLedger {
            name: f.name,
            kind: f.kind,
            owner_unit_id: owner.id,
            period: f.period,
            yellow_days,
        },
    )
    .await
    {
        Ok(l) => done(&c, &format!("/ledgers/{}", l.id)),
        Err(e) => back("/ledgers", "err", &msg(tr, &e)),
    }
}

#[derive(Deserialize)]
struct ItemForm {
    csrf: String,
    title: String,
    source: String,
    #[serde(default)]
    category: String,
    #[serde(default)]
    urgency: String,
    #[serde(default)]
    requirements: String,
    /// The lead unit by code (单位代码).
    lead: String,
    #[serde(default)]
    level: String,
    #[serde(default)]
    deadline: String,
    #[serde(default)]
    assign: String,
}

/// 新建事项 from the ledger page (optionally 交办 at once).
async fn item_create(
    State(st): State<AppState>,
    c: PageCaller,
    Path(id): Path<i64>,
    Form(f): Form<ItemForm>,
) -> Response {
    if let Err(r) = c.check_csrf(&f.csrf) {
        return r;
    }
    let tr = c.tr;
    let here = format!("/ledgers/{id}");
    let lead = match taizhang_service::units::find_by_code(&st.app, &c.actor, f.lead.trim()).await {
        Ok(u) => u,
        Err(_) => {
            return back(
                &here,
                "err",
                tr.pick(
                    "牵头单位代码不存在或不在您的数据范围内",
                    "no lead unit with this code in your data scope",
                ),
            );
        }
    };
    let input = svc::CreateItem {
        source: f.source,
        category: f.category,
        urgency: Some(f.urgency).filter(|u| !u.is_empty()),
        title: f.title,
        requirements: f.requirements,
        lead_unit_id: lead.id,
        level: Some(f.level).filter(|l| !l.is_empty()),
        deadline: Some(f.deadline).filter(|d| !d.trim().is_empty()),
        assign: !f.assign.is_empty(),
        ..Default::default()
    };
    match svc::create_item(&st.app, &c.actor, id, input).await {
        Ok(v) => done(&c, &format!("/items/{}", v.item.id)),
        Err(e) => back(&here, "err", &msg(tr, &e)),
    }
}

async fn ledgers_page(State(st): State<AppState>, c: PageCaller, flash: Flash) -> Response {
    let tr = c.tr;
    let list = match svc::list_ledgers(&st.app, &c.actor).await {
        Ok(l) => l,
        Err(e) => return back("/", "err", &msg(tr, &e)),
    };
    let mut rows = Vec::new();
    for l in list {
        let f = svc::figures(
            &st.app,
            &c.actor,
            &ItemFilter {
                ledger_id: Some(l.id),
                limit: 1,
                ..Default::default()
            },
        )
        .await
        .map(|f| f.overall)
        .unwrap_or_default();
        rows.push(LedgerRow {
            id: l.id,
            fig: fig_row(String::new(), &f),
            name: l.name,
            kind: l.kind,
            period: l.period,
            owner: l.owner_unit_name,
        });
    }
    render(LedgersPage {
        can_create: {
            let sup = c.actor.scope(Permission::ItemSupervise);
            sup.all || !sup.subtrees.is_empty() || !sup.units.is_empty()
        },
        l: layout(
            &c,
            tr.pick("督办台账", "Ledgers"),
            "ledgers",
            vec![
                home_crumb(tr),
                (tr.pick("督办台账", "Ledgers").into(), String::new()),
            ],
            flash,
        ),
        ledgers: rows,
    })
}

struct ItemRow {
    id: i64,
    draft: bool,
    /// Next progress report due under the 反馈周期 (tasks page), and whether it is past.
    feedback: String,
    feedback_late: bool,
    number: String,
    title: String,
    lead: String,
    state: String,
    light: &'static str,
    light_label: &'static str,
    deadline: String,
    days_left: String,
    returned: bool,
}

fn item_row(tr: Tr, v: &ItemView) -> ItemRow {
    ItemRow {
        id: v.item.id,
        draft: v.item.state == "draft",
        feedback: String::new(),
        feedback_late: false,
        number: v.item.number.clone(),
        title: v.item.title.clone(),
        lead: v.item.lead_unit_name.clone(),
        state: v.state_label.to_string(),
        light: light_class(v.light),
        light_label: light_label(tr, v.light),
        deadline: v.item.deadline.clone().unwrap_or_default(),
        days_left: match v.days_left {
            Some(d) if d < 0 => format!("{}{}", tr.pick("超期", "overdue "), -d),
            Some(d) => d.to_string(),
            None => "—".into(),
        },
        returned: v.item.state == "in_progress" && v.item.last_action == "return",
    }
}

#[derive(Template)]
#[template(path = "ledger.html")]
struct LedgerPage {
    l: crate::pages::Layout,
    id: i64,
    name: String,
    overall: FigRow,
    by_unit: Vec<FigRow>,
    items: Vec<ItemRow>,
    total: i64,
    q: LedgerQuery,
    states: Vec<(&'static str, &'static str)>,
    sources: Vec<&'static str>,
    prev: Option<String>,
    next: Option<String>,
    as_of: String,
    /// Query string of the current filters, for the export link.
    filters: String,
    /// Figures for the charts, as JSON (escaped for a <script> element).
    chart_json: String,
    can_supervise: bool,
}

#[derive(Deserialize, Default, Clone, serde::Serialize)]
struct LedgerQuery {
    #[serde(default)]
    state: String,
    #[serde(default)]
    source: String,
    #[serde(default)]
    q: String,
    #[serde(default)]
    deadline_from: String,
    #[serde(default)]
    deadline_to: String,
    #[serde(default)]
    overdue: String,
    /// Lead unit subtree, by unit code (单位代码).
    #[serde(default)]
    unit: String,
    /// red / yellow / green.
    #[serde(default)]
    light: String,
    #[serde(default)]
    sort: String,
    #[serde(default)]
    offset: i64,
    #[serde(skip_serializing)]
    ok: Option<String>,
    #[serde(skip_serializing)]
    err: Option<String>,
}

async fn ledger_page(
    State(st): State<AppState>,
    c: PageCaller,
    Path(id): Path<String>,
    Query(q): Query<LedgerQuery>,
) -> Response {
    let tr = c.tr;
    let Ok(id) = id.parse::<i64>() else {
        return (StatusCode::NOT_FOUND, "404").into_response();
    };
    let ledger = match svc::get_ledger(&st.app, &c.actor, id).await {
        Ok(l) => l,
        Err(ServiceError::NotFound) => {
            return not_found_page(
                tr,
                "台账不存在或不在您的数据范围内",
                "ledger not found or outside your data scope",
            );
        }
        Err(e) => return back("/ledgers", "err", &msg(tr, &e)),
    };
    let mut err = q.err.clone();
    let date = |field: &str, v: &str, err: &mut Option<String>| -> Option<String> {
        if v.trim().is_empty() {
            return None;
        }
        match taizhang_domain::dates::parse(field, v) {
            Ok(d) => Some(d.format("%Y-%m-%d").to_string()),
            Err(e) => {
                *err = Some(tr.pick(&e.message_zh, &e.message_en).to_string());
                None
            }
        }
    };
    let lead_under = if q.unit.trim().is_empty() {
        None
    } else {
        match taizhang_service::units::find_by_code(&st.app, &c.actor, q.unit.trim()).await {
            Ok(u) => Some(u.path),
            Err(_) => {
                err = Some(
                    tr.pick(
                        "找不到该单位代码,或不在您的数据范围内",
                        "no unit with this code in your data scope",
                    )
                    .to_string(),
                );
                Some("/nowhere/".to_string())
            }
        }
    };
    let filter = ItemFilter {
        ledger_id: Some(id),
        lead_under,
        light: svc::light_filter(&st.app, &q.light, ledger.yellow_days),
        sort: taizhang_store::ledger::ItemSort::parse(&q.sort).unwrap_or_default(),
        // One state, or several comma-separated (a report's figures link to e.g.
        // `state=closed,archived`).
        states: q
            .state
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .collect(),
        source: (!q.source.is_empty()).then(|| q.source.clone()),
        q: (!q.q.is_empty()).then(|| q.q.clone()),
        deadline_from: date("deadline_from", &q.deadline_from, &mut err),
        deadline_to: date("deadline_to", &q.deadline_to, &mut err),
        overdue_on: (!q.overdue.is_empty())
            .then(|| svc::today(&st.app).format("%Y-%m-%d").to_string()),
        limit: 50,
        offset: q.offset.max(0),
        ..Default::default()
    };
    let (items, total) = match svc::list_items(&st.app, &c.actor, &filter).await {
        Ok(r) => r,
        Err(e) => return back("/ledgers", "err", &msg(tr, &e)),
    };
    let figs = match svc::figures(
        &st.app,
        &c.actor,
        &ItemFilter {
            ledger_id: Some(id),
            limit: 1,
            ..Default::default()
        },
    )
    .await
    {
        Ok(f) => f,
        Err(e) => return back("/ledgers", "err", &msg(tr, &e)),
    };
    let page = |offset: i64| {
        let mut qq = q.clone();
        qq.offset = offset;
        serde_urlencoded::to_string(&qq).unwrap_or_default()
    };
    let prev = (q.offset > 0).then(|| page((q.offset - 50).max(0)));
    let next = (q.offset + 50 < total).then(|| page(q.offset + 50));
    let flash = Flash {
        ok: q.ok.clone(),
        err,
    };
    let filters = {
        let mut qq = q.clone();
        qq.offset = 0;
        serde_urlencoded::to_string(&qq).unwrap_or_default()
    };
    let can_supervise = c.actor.scope(Permission::ItemSupervise).contains(
        ledger.owner_unit_id,
        &ledger.owner_path,
        None,
    );
    let chart_json = serde_json::to_string(&serde_json::json!({
        "by_state": figs.by_state,
        "by_month": figs.by_month,
        "by_unit": figs.by_unit.iter().map(|g| serde_json::json!({"label": g.label, "on_time_rate": g.figures.on_time_rate})).collect::<Vec<_>>(),
    }))
    .unwrap_or_default()
    .replace('<', "\\u003c");
    render(LedgerPage {
        chart_json,
        filters,
        can_supervise,
        l: layout(
            &c,
            &ledger.name,
            "ledgers",
            vec![
                home_crumb(tr),
                (tr.pick("督办台账", "Ledgers").into(), "/ledgers".into()),
                (ledger.name.clone(), String::new()),
            ],
            flash,
        ),
        id,
        name: ledger.name,
        overall: fig_row(String::new(), &figs.overall),
        by_unit: figs
            .by_unit
            .iter()
            .map(|g| fig_row(g.label.clone(), &g.figures))
            .collect(),
        items: items.iter().map(|v| item_row(tr, v)).collect(),
        total,
        states: ItemState::ALL
            .iter()
            .map(|s| (s.as_str(), s.label_zh()))
            .collect(),
        sources: svc::SOURCES.to_vec(),
        prev,
        next,
        as_of: figs.as_of,
        q,
    })
}

/// An action button or form the caller may use on the item.
struct ActionForm {
    action: &'static str,
    label: &'static str,
    /// Extra input: "" none, "reason", "text", "result", "date", "remind".
    input: &'static str,
    danger: bool,
}

struct EventRow {
    on: String,
    actor: String,
    action: String,
    from: String,
    to: String,
    detail: String,
}

#[derive(Template)]
#[template(path = "item.html")]
struct ItemPage {
    l: crate::pages::Layout,
    v: ItemRow,
    version: i64,
    fields: Vec<(&'static str, String)>,
    events: Vec<EventRow>,
    actions: Vec<ActionForm>,
    uncovered: bool,
    files: Vec<(i64, String, String, String)>,
    can_attach: bool,
    /// 协办单位: id, name, progress, note, whether the caller may report for it.
    coops: Vec<(i64, String, i64, String, bool)>,
    /// The edit form (修改事项): for a supervisor, never on a frozen item.
    can_edit: bool,
    it: taizhang_store::ledger::Item,
    sources: Vec<&'static str>,
    urgencies: Vec<&'static str>,
}

/// The Chinese label of an item field, for the timeline's "修改" entries.
fn field_label(f: &str) -> &str {
    match f {
        "number" => "编号",
        "source" => "来源",
        "category" => "类别",
        "urgency" => "紧急程度",
        "title" => "事项名称",
        "requirements" => "具体要求",
        "instruction" => "领导批示",
        "leader" => "责任领导",
        "supervisor" => "督办人",
        "subject" => "涉及单位",
        "lead_unit_id" => "牵头单位",
        "level" => "办理层级",
        "cycle" => "反馈周期",
        "measures" => "整改措施",
        "deadline" => "办结时限",
        other => other,
    }
}

fn label_of_action(name: &str) -> String {
    match name {
        "assign" => "交办",
        "accept" => "签收",
        "report" => "进展反馈",
        "submit" => "申请销号",
        "close" => "销号",
        "return" => "退回",
        "escalate" => "上报协调",
        "de_escalate" => "协调完毕",
        "request_extension" => "延期申请",
        "approve_extension" => "批准延期",
        "reject_extension" => "不予延期",
        "suspend" => "暂缓",
        "resume" => "恢复办理",
        "cancel" => "撤销",
        "archive" => "归档",
        "edit" => "修改事项",
        "remind" => "催办",
        "cooperate" => "协办进展",
        other => other,
    }
    .to_string()
}

fn state_label(s: &str) -> String {
    ItemState::parse("state", s)
        .map(|s| s.label_zh().to_string())
        .unwrap_or_else(|_| s.to_string())
}

async fn item_page(
    State(st): State<AppState>,
    c: PageCaller,
    Path(id): Path<String>,
    flash: Flash,
) -> Response {
    let tr = c.tr;
    let Ok(id) = id.parse::<i64>() else {
        return (StatusCode::NOT_FOUND, "404").into_response();
    };
    let d = match svc::get_item(&st.app, &c.actor, id).await {
        Ok(d) => d,
        Err(ServiceError::NotFound) => {
            return not_found_page(
                tr,
                "事项不存在或不在您的数据范围内",
                "item not found or outside your data scope",
            );
        }
        Err(e) => return back("/ledgers", "err", &msg(tr, &e)),
    };
    let it = &d.view.item;
    let is_handler =
        c.actor
            .scope(Permission::ItemHandle)
            .contains(it.lead_unit_id, &it.lead_path, None);
    let is_sup =
        c.actor
            .scope(Permission::ItemSupervise)
            .contains(it.lead_unit_id, &it.lead_path, None);
    let state = ItemState::parse("state", &it.state).unwrap_or(ItemState::Draft);
    let mut actions = Vec::new();
    let mut add =
        |ok: bool, action: &'static str, label: &'static str, input: &'static str, danger: bool| {
            if ok {
                actions.push(ActionForm {
                    action,
                    label,
                    input,
                    danger,
                });
            }
        };
    use ItemState::*;
    add(is_sup && state == Draft, "assign", "交办", "date", false);
    add(is_handler && state == Assigned, "accept", "签收", "", false);
    add(
        is_handler && matches!(state, Assigned | InProgress | Escalated),
        "report",
        "进展反馈",
        "text",
        false,
    );
    add(
        is_handler && state == InProgress,
        "submit",
        "申请销号",
        "result",
        false,
    );
    add(
        is_sup && !is_handler && state == Submitted && it.submitted_by != Some(c.actor.user_id),
        "close",
        "销号",
        "",
        false,
    );
    add(
        is_sup && state == Submitted,
        "return",
        "退回",
        "reason",
        true,
    );
    add(
        (is_handler || is_sup) && state == InProgress,
        "escalate",
        "上报协调",
        "reason",
        false,
    );
    add(
        is_sup && state == Escalated,
        "de_escalate",
        "协调完毕",
        "",
        false,
    );
    let today = svc::today(&st.app).format("%Y-%m-%d").to_string();
    let before_deadline = it.deadline.as_deref().is_some_and(|d| d >= today.as_str());
    add(
        is_handler
            && matches!(state, Assigned | InProgress | Escalated)
            && it.extension_requested.is_none()
            && before_deadline,
        "request_extension",
        "延期申请",
        "extension",
        false,
    );
    add(
        is_sup && it.extension_requested.is_some() && !state.is_frozen(),
        "approve_extension",
        "批准延期",
        "",
        false,
    );
    add(
        is_sup && it.extension_requested.is_some() && !state.is_frozen(),
        "reject_extension",
        "不予延期",
        "reason",
        true,
    );
    add(is_sup && state.is_open(), "remind", "催办", "remind", false);
    add(is_sup && state.is_open(), "suspend", "暂缓", "reason", true);
    add(
        is_sup && state == Suspended,
        "resume",
        "恢复办理",
        "",
        false,
    );
    add(
        is_sup && !state.is_frozen(),
        "cancel",
        "撤销",
        "reason",
        true,
    );
    add(
        is_sup && matches!(state, Closed | Cancelled),
        "archive",
        "归档",
        "",
        false,
    );
    let level = svc::LEVELS
        .iter()
        .find(|l| l.0 == it.level)
        .map(|l| l.1)
        .unwrap_or("");
    let fields = vec![
        ("来源", it.source.clone()),
        ("类别", it.category.clone()),
        ("紧急程度", it.urgency.clone()),
        ("涉及单位", it.subject.clone()),
        ("牵头单位", it.lead_unit_name.clone()),
        ("办理层级", level.to_string()),
        ("责任领导", it.leader.clone()),
        ("督办人", it.supervisor.clone()),
        ("交办日期", it.assigned_on.clone().unwrap_or_default()),
        ("办结时限", it.deadline.clone().unwrap_or_default()),
        ("原定时限", it.original_deadline.clone().unwrap_or_default()),
        (
            "申请延期至",
            it.extension_requested.clone().unwrap_or_default(),
        ),
        ("销号日期", it.closed_on.clone().unwrap_or_default()),
        ("催办次数", it.reminders.to_string()),
        ("具体要求", it.requirements.clone()),
        ("领导批示", it.instruction.clone()),
        ("整改措施", it.measures.clone()),
        ("办理结果", it.result.clone()),
    ]
    .into_iter()
    .filter(|(_, v)| !v.is_empty() && v != "0")
    .collect();
    let events = d
        .events
        .iter()
        .map(|e| {
            let detail: serde_json::Value = serde_json::from_str(&e.detail).unwrap_or_default();
            let text = [
                "text",
                "result",
                "reason",
                "note",
                "deadline",
                "new_deadline",
                "method",
            ]
            .iter()
            .filter_map(|k| {
                detail
                    .get(*k)
                    .and_then(|v| v.as_str())
                    .filter(|s| !s.is_empty())
            })
            .collect::<Vec<_>>()
            .join(" · ");
            let text = match detail.get("fields").and_then(|f| f.as_array()) {
                Some(fields) if e.action == "edit" => format!(
                    "修改:{}",
                    fields
                        .iter()
                        .filter_map(|f| f.as_str())
                        .map(field_label)
                        .collect::<Vec<_>>()
                        .join("、")
                ),
                _ => text,
            };
            EventRow {
                on: e.on_date.clone(),
                actor: e.actor_name.clone(),
                action: label_of_action(&e.action),
                from: state_label(&e.state_from),
                to: state_label(&e.state_to),
                detail: text,
            }
        })
        .collect();
    let row = item_row(tr, &d.view);
    let files = svc::attachments(&st.app, &c.actor, id)
        .await
        .unwrap_or_default()
        .into_iter()
        .map(|a| {
            (
                a.id,
                a.filename,
                format!("{:.1} KB", a.size as f64 / 1024.0),
                a.uploaded_by,
            )
        })
        .collect();
    let can_attach = (is_handler || is_sup) && !state.is_frozen();
    let handle = c.actor.scope(Permission::ItemHandle);
    let coops = d
        .cooperations
        .iter()
        .map(|co| {
            (
                co.unit_id,
                co.unit_name.clone(),
                co.progress,
                co.note.clone(),
                state.is_open() && (is_sup || handle.contains(co.unit_id, &co.unit_path, None)),
            )
        })
        .collect();
    render(ItemPage {
        can_edit: is_sup && !state.is_frozen(),
        it: it.clone(),
        sources: svc::SOURCES.to_vec(),
        urgencies: svc::URGENCIES.to_vec(),
        coops,
        files,
        can_attach,
        l: layout(
            &c,
            &it.title,
            "ledgers",
            vec![
                home_crumb(tr),
                (tr.pick("督办台账", "Ledgers").into(), "/ledgers".into()),
                (
                    tr.pick("台账", "Ledger").into(),
                    format!("/ledgers/{}", it.ledger_id),
                ),
                (it.number.clone(), String::new()),
            ],
            flash,
        ),
        version: it.version,
        uncovered: !d.view.calendar_covered,
        v: row,
        fields,
        events,
        actions,
    })
}

#[derive(Deserialize)]
struct ActForm {
    csrf: String,
    version: i64,
    action: String,
    #[serde(default)]
    text: String,
    #[serde(default)]
    date: String,
    #[serde(default)]
    method: String,
}

/// The bulk-assign form: repeated `ids`, one deadline, the CSRF token.
async fn bulk_assign(
    State(st): State<AppState>,
    c: PageCaller,
    Path(id): Path<i64>,
    body: String,
) -> Response {
    let form = crate::pages::Pairs::parse(&body);
    let get = |k: &str| form.get(k);
    if let Err(r) = c.check_csrf(&get("csrf")) {
        return r;
    }
    let here = format!("/ledgers/{id}");
    let tr = c.tr;
    let ids: Vec<i64> = form
        .all("ids")
        .iter()
        .filter_map(|v| v.parse().ok())
        .collect();
    match svc::bulk_assign(&st.app, &c.actor, id, &ids, &get("deadline")).await {
        Ok(out) => {
            let done = out.iter().filter(|o| o.ok).count();
            let failed: Vec<String> = out
                .iter()
                .filter(|o| !o.ok)
                .map(|o| format!("#{}: {}", o.id, o.message.clone().unwrap_or_default()))
                .collect();
            if failed.is_empty() {
                back(
                    &here,
                    "ok",
                    tr.pick(
                        &format!("已交办{done}项"),
                        &format!("{done} items assigned"),
                    ),
                )
            } else {
                back(
                    &here,
                    "err",
                    tr.pick(
                        &format!("已交办{done}项;未交办:{}", failed.join(";")),
                        &format!("{done} assigned; not assigned: {}", failed.join("; ")),
                    ),
                )
            }
        }
        Err(e) => back(&here, "err", &msg(tr, &e)),
    }
}

#[derive(Deserialize)]
struct EditForm {
    csrf: String,
    version: i64,
    title: String,
    source: String,
    #[serde(default)]
    category: String,
    urgency: String,
    #[serde(default)]
    requirements: String,
    #[serde(default)]
    instruction: String,
    #[serde(default)]
    leader: String,
    #[serde(default)]
    supervisor: String,
    #[serde(default)]
    subject: String,
    #[serde(default)]
    measures: String,
}

async fn item_edit(
    State(st): State<AppState>,
    c: PageCaller,
    Path(id): Path<i64>,
    Form(f): Form<EditForm>,
) -> Response {
    if let Err(r) = c.check_csrf(&f.csrf) {
        return r;
    }
    let here = format!("/items/{id}");
    let input = svc::UpdateItem {
        version: f.version,
        title: Some(f.title),
        source: Some(f.source),
        category: Some(f.category),
        urgency: Some(f.urgency),
        requirements: Some(f.requirements),
        instruction: Some(f.instruction),
        leader: Some(f.leader),
        supervisor: Some(f.supervisor),
        subject: Some(f.subject),
        measures: Some(f.measures),
        ..Default::default()
    };
    settle(
        &c,
        &here,
        svc::update_item(&st.app, &c.actor, id, input).await,
    )
}

async fn item_act(
    State(st): State<AppState>,
    c: PageCaller,
    Path(id): Path<i64>,
    Form(f): Form<ActForm>,
) -> Response {
    if let Err(r) = c.check_csrf(&f.csrf) {
        return r;
    }
    let here = format!("/items/{id}");
    let date =
        |field: &str| taizhang_domain::dates::parse(field, &f.date).map_err(ServiceError::from);
    let action = match f.action.as_str() {
        "assign" => date("deadline").map(|deadline| Action::Assign { deadline }),
        "accept" => Ok(Action::Accept),
        "report" => Ok(Action::Report {
            text: f.text.clone(),
        }),
        "submit" => Ok(Action::Submit {
            result: f.text.clone(),
        }),
        "close" => Ok(Action::Close),
        "return" => Ok(Action::Return {
            reason: f.text.clone(),
        }),
        "escalate" => Ok(Action::Escalate {
            reason: f.text.clone(),
        }),
        "de_escalate" => Ok(Action::DeEscalate {
            note: f.text.clone(),
        }),
        "request_extension" => date("new_deadline").map(|new_deadline| Action::RequestExtension {
            new_deadline,
            reason: f.text.clone(),
        }),
        "approve_extension" => Ok(Action::ApproveExtension),
        "reject_extension" => Ok(Action::RejectExtension {
            reason: f.text.clone(),
        }),
        "suspend" => Ok(Action::Suspend {
            reason: f.text.clone(),
        }),
        "resume" => Ok(Action::Resume),
        "cancel" => Ok(Action::Cancel {
            reason: f.text.clone(),
        }),
        "archive" => Ok(Action::Archive),
        "remind" => Ok(Action::Remind {
            method: f.method.clone(),
            note: f.text.clone(),
        }),
        _ => Err(ServiceError::NotFound),
    };
    let result = match action {
        Ok(a) => svc::act(&st.app, &c.actor, id, f.version, a).await,
        Err(e) => Err(e),
    };
    settle(&c, &here, result)
}

#[derive(Template)]
#[template(path = "tasks.html")]
struct TasksPage {
    l: crate::pages::Layout,
    to_accept: Vec<ItemRow>,
    returned: Vec<ItemRow>,
    in_progress: Vec<ItemRow>,
    to_verify: Vec<ItemRow>,
    is_handler: bool,
    is_sup: bool,
}

async fn tasks_page(State(st): State<AppState>, c: PageCaller, flash: Flash) -> Response {
    let tr = c.tr;
    // Handler's tasks: items whose lead unit is in the handler scope.
    let handle_scope = c.actor.scope(Permission::ItemHandle);
    let sup_scope = c.actor.scope(Permission::ItemSupervise);
    let list = |states: Vec<&str>| ItemFilter {
        states: states.into_iter().map(str::to_string).collect(),
        limit: 200,
        ..Default::default()
    };
    let mut to_accept = Vec::new();
    let mut returned = Vec::new();
    let mut in_progress = Vec::new();
    let mut to_verify = Vec::new();
    if let Ok((items, _)) = svc::list_items(
        &st.app,
        &c.actor,
        &list(vec!["assigned", "in_progress", "submitted", "escalated"]),
    )
    .await
    {
        let refs: Vec<&taizhang_store::ledger::Item> = items
            .iter()
            .filter(|v| matches!(v.item.state.as_str(), "in_progress" | "escalated"))
            .map(|v| &v.item)
            .collect();
        let due: std::collections::HashMap<i64, chrono::NaiveDate> =
            svc::feedback_due(&st.app, &refs)
                .await
                .unwrap_or_default()
                .into_iter()
                .collect();
        let today = svc::today(&st.app);
        let row = |v: &ItemView| {
            let mut r = item_row(tr, v);
            if let Some(d) = due.get(&v.item.id) {
                r.feedback = d.format("%Y-%m-%d").to_string();
                r.feedback_late = today > *d;
            }
            r
        };
        for v in &items {
            let h = handle_scope.contains(v.item.lead_unit_id, &v.item.lead_path, None);
            let s = sup_scope.contains(v.item.lead_unit_id, &v.item.lead_path, None);
            match v.item.state.as_str() {
                "assigned" if h => to_accept.push(item_row(tr, v)),
                "in_progress" if h && v.item.last_action == "return" => returned.push(row(v)),
                "in_progress" | "escalated" if h => in_progress.push(row(v)),
                "submitted" if s && v.item.submitted_by != Some(c.actor.user_id) => {
                    to_verify.push(item_row(tr, v))
                }
                _ => {}
            }
        }
    }
    render(TasksPage {
        l: layout(
            &c,
            tr.pick("我的待办", "My tasks"),
            "tasks",
            vec![
                home_crumb(tr),
                (tr.pick("我的待办", "My tasks").into(), String::new()),
            ],
            flash,
        ),
        to_accept,
        returned,
        in_progress,
        to_verify,
        is_handler: !handle_scope.is_empty(),
        is_sup: !sup_scope.is_empty(),
    })
}

struct MsgRow {
    id: i64,
    item_id: Option<i64>,
    kind: &'static str,
    title: String,
    body: String,
    time: String,
    read: bool,
}

#[derive(Template)]
#[template(path = "inbox.html")]
struct InboxPage {
    l: crate::pages::Layout,
    messages: Vec<MsgRow>,
    /// Robots of the units the caller manages (the section shows only to unit managers).
    can_manage: bool,
    webhooks: Vec<HookRow>,
}

struct HookRow {
    id: i64,
    unit_name: String,
    kind_label: &'static str,
    /// The robot key is a secret: only its start is shown.
    url_masked: String,
    active: bool,
}

#[derive(Deserialize)]
struct HookForm {
    csrf: String,
    unit: String,
    kind: String,
    url: String,
}

async fn webhook_add(
    State(st): State<AppState>,
    c: PageCaller,
    Form(f): Form<HookForm>,
) -> Response {
    if let Err(r) = c.check_csrf(&f.csrf) {
        return r;
    }
    let tr = c.tr;
    let unit = match taizhang_service::units::find_by_code(&st.app, &c.actor, f.unit.trim()).await {
        Ok(u) => u,
        Err(e) => return back("/inbox#webhooks", "err", &msg(tr, &e)),
    };
    settle(
        &c,
        "/inbox#webhooks",
        taizhang_service::remind::add_webhook(&st.app, &c.actor, unit.id, &f.kind, f.url.trim())
            .await,
    )
}

async fn webhook_stop(
    State(st): State<AppState>,
    c: PageCaller,
    Path(id): Path<i64>,
    Form(f): Form<crate::pages::CsrfForm>,
) -> Response {
    if let Err(r) = c.check_csrf(&f.csrf) {
        return r;
    }
    settle(
        &c,
        "/inbox#webhooks",
        taizhang_service::remind::remove_webhook(&st.app, &c.actor, id).await,
    )
}

async fn inbox_page(State(st): State<AppState>, c: PageCaller, flash: Flash) -> Response {
    let tr = c.tr;
    let list = taizhang_service::remind::inbox(&st.app, &c.actor, false)
        .await
        .unwrap_or_default();
    let can_manage = !c.actor.scope(Permission::UnitWrite).is_empty();
    let webhooks = if can_manage {
        taizhang_service::remind::list_webhooks(&st.app, &c.actor)
            .await
            .unwrap_or_default()
            .into_iter()
            .map(|w| HookRow {
                id: w.id,
                unit_name: w.unit_name,
                kind_label: taizhang_service::remind::WEBHOOK_KINDS
                    .iter()
                    .find(|k| k.0 == w.kind)
                    .map_or("", |k| k.1),
                url_masked: format!("{}…", w.url.chars().take(40).collect::<String>()),
                active: w.active,
            })
            .collect()
    } else {
        Vec::new()
    };
    render(InboxPage {
        can_manage,
        webhooks,
        l: layout(
            &c,
            tr.pick("消息", "Messages"),
            "inbox",
            vec![
                home_crumb(tr),
                (tr.pick("消息", "Messages").into(), String::new()),
            ],
            flash,
        ),
        messages: list
            .into_iter()
            .map(|n| MsgRow {
                id: n.id,
                item_id: n.item_id,
                kind: match n.kind.as_str() {
                    "overdue" => "超期",
                    "due_soon" => "临期",
                    "manual" => "催办",
                    "feedback" => "待反馈",
                    _ => "通知",
                },
                title: n.title,
                body: n.body,
                time: taizhang_service::error_fmt::fmt_time(n.created_at),
                read: n.read,
            })
            .collect(),
    })
}

async fn inbox_read(
    State(st): State<AppState>,
    c: PageCaller,
    Path(id): Path<i64>,
    Form(f): Form<crate::pages::CsrfForm>,
) -> Response {
    if let Err(r) = c.check_csrf(&f.csrf) {
        return r;
    }
    settle(
        &c,
        "/inbox",
        taizhang_service::remind::mark_read(&st.app, &c.actor, id).await,
    )
}

#[derive(Template)]
#[template(path = "calendar.html")]
struct CalendarPage {
    l: crate::pages::Layout,
    y: taizhang_service::calendar::Year,
    can_edit: bool,
    prev: i32,
    next: i32,
}

#[derive(Deserialize, Default)]
struct YearQuery {
    year: Option<i32>,
    ok: Option<String>,
    err: Option<String>,
}

async fn calendar_page(
    State(st): State<AppState>,
    c: PageCaller,
    Query(q): Query<YearQuery>,
) -> Response {
    let tr = c.tr;
    let year = q
        .year
        .unwrap_or_else(|| chrono::Datelike::year(&svc::today(&st.app)));
    let y = match taizhang_service::calendar::year(&st.app, year) {
        Ok(y) => y,
        Err(e) => return back("/calendar", "err", &msg(tr, &e)),
    };
    render(CalendarPage {
        l: layout(
            &c,
            tr.pick("工作日历", "Working-day calendar"),
            "ledgers",
            vec![
                home_crumb(tr),
                (
                    tr.pick("工作日历", "Working-day calendar").into(),
                    String::new(),
                ),
            ],
            Flash {
                ok: q.ok,
                err: q.err,
            },
        ),
        can_edit: c.actor.scope(Permission::UnitWrite).all,
        prev: year - 1,
        next: year + 1,
        y,
    })
}

#[derive(Deserialize)]
struct DayForm {
    csrf: String,
    date: String,
    is_off: String,
    name: String,
    #[serde(default)]
    source: String,
}

async fn calendar_set(
    State(st): State<AppState>,
    c: PageCaller,
    Form(f): Form<DayForm>,
) -> Response {
    if let Err(r) = c.check_csrf(&f.csrf) {
        return r;
    }
    let year = f.date.get(0..4).unwrap_or("").to_string();
    let here = format!("/calendar?year={year}");
    let input = taizhang_service::calendar::SetDay {
        date: f.date,
        is_off: f.is_off == "1",
        name: f.name,
        source: f.source,
    };
    match taizhang_service::calendar::set_day(&st.app, &c.actor, input).await {
        Ok(_) => done(&c, &here),
        Err(e) => back(
            if year.len() == 4 { &here } else { "/calendar" },
            "err",
            &msg(c.tr, &e),
        ),
    }
}

/// Evidence upload from the item page (multipart: csrf + file).
async fn item_attach(
    State(st): State<AppState>,
    c: PageCaller,
    Path(id): Path<i64>,
    mut form: axum::extract::Multipart,
) -> Response {
    let (mut csrf, mut file) = (String::new(), None);
    while let Ok(Some(field)) = form.next_field().await {
        match field.name() {
            Some("csrf") => csrf = field.text().await.unwrap_or_default(),
            Some("file") => {
                let name = field.file_name().unwrap_or("").to_string();
                file = field.bytes().await.ok().map(|b| (name, b));
            }
            _ => {}
        }
    }
    if let Err(r) = c.check_csrf(&csrf) {
        return r;
    }
    let here = format!("/items/{id}");
    let Some((name, bytes)) = file else {
        return back(&here, "err", c.tr.pick("请选择文件", "Choose a file"));
    };
    settle(
        &c,
        &here,
        svc::attach(&st.app, &c.actor, id, &name, &bytes).await,
    )
}

#[derive(Deserialize)]
struct CoopForm {
    csrf: String,
    unit_id: i64,
    progress: i64,
    #[serde(default)]
    note: String,
}

async fn item_cooperate(
    State(st): State<AppState>,
    c: PageCaller,
    Path(id): Path<i64>,
    Form(f): Form<CoopForm>,
) -> Response {
    if let Err(r) = c.check_csrf(&f.csrf) {
        return r;
    }
    let here = format!("/items/{id}");
    let input = svc::Cooperate {
        unit_id: f.unit_id,
        progress: f.progress,
        note: f.note,
    };
    settle(
        &c,
        &here,
        svc::cooperate(&st.app, &c.actor, id, input).await,
    )
}
