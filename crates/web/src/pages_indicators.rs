//! Pages of the school indicators (均衡发展): the returns list with 审核 and the import, a
//! school's 填报 form with 数据校验 and 异常值提示, and the evaluation in the layouts users know
//! (per school × indicator 达标值 / 基本值 / 实际值 / 是否达标; per county 平均值 / 差异系数 /
//! 是否达标) with a chart and 查漏补缺 into the ledger.

use crate::AppState;
use crate::caller::PageCaller;
use crate::pages::{
    Flash, Layout, Pairs, back, home_crumb, layout, msg, not_found_page, render, settle,
};
use askama::Template;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use std::collections::BTreeMap;
use taizhang_domain::role::Permission;
use taizhang_domain::standards;
use taizhang_service::ServiceError;
use taizhang_service::indicators as ind;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/indicators", get(returns_page))
        .route(
            "/indicators/import",
            post(import_upload).layer(axum::extract::DefaultBodyLimit::max(200 << 20)),
        )
        .route("/indicators/evaluate", get(evaluate_page))
        .route("/indicators/gaps", post(gaps_raise))
        .route("/schools/{id}/data", get(school_page).post(school_save))
        .route("/schools/{id}/data/act", post(school_act))
        .route("/forms", get(forms_page))
        .route("/forms/new", post(form_create))
        .route("/elements/new", post(element_create))
        .route("/standards", get(standards_page).post(standards_copy))
        .route("/standards/{id}", get(standard_page).post(standard_save))
}

struct StandardRow {
    id: String,
    name: String,
    builtin: bool,
    based_on: String,
    indicators: usize,
}

#[derive(Template)]
#[template(path = "standards.html")]
struct StandardsPage {
    l: Layout,
    rows: Vec<StandardRow>,
    can_manage: bool,
}

async fn standards_page(State(st): State<AppState>, c: PageCaller, flash: Flash) -> Response {
    let tr = c.tr;
    let rows = match ind::all_standards(&st.app).await {
        Ok(r) => r,
        Err(e) => return back("/indicators", "err", &msg(tr, &e)),
    };
    render(StandardsPage {
        l: section_layout(&c, "评估标准", "Standards", flash),
        rows: rows
            .into_iter()
            .map(|s| StandardRow {
                indicators: s.standard.indicators.len(),
                id: s.standard.id,
                name: s.standard.name,
                builtin: s.builtin,
                based_on: s.based_on.unwrap_or_default(),
            })
            .collect(),
        can_manage: c.actor.scope(Permission::UnitWrite).all,
    })
}

#[derive(Deserialize)]
struct CopyForm {
    csrf: String,
    based_on: String,
    id: String,
    #[serde(default)]
    name: String,
}

async fn standards_copy(
    State(st): State<AppState>,
    c: PageCaller,
    axum::Form(f): axum::Form<CopyForm>,
) -> Response {
    if let Err(r) = c.check_csrf(&f.csrf) {
        return r;
    }
    match ind::copy_standard(&st.app, &c.actor, &f.based_on, &f.id, &f.name).await {
        Ok(s) => back(&format!("/standards/{}", s.standard.id), "ok", c.tr.t("ok")),
        Err(e) => back("/standards", "err", &msg(c.tr, &e)),
    }
}

#[derive(Template)]
#[template(path = "standard.html")]
struct StandardPage {
    l: Layout,
    id: String,
    name: String,
    builtin: bool,
    version: i64,
    body: String,
    can_edit: bool,
}

#[derive(Deserialize, Default)]
struct StandardQ {
    ok: Option<String>,
    err: Option<String>,
    /// The body the user sent, shown again after an error.
    #[serde(default)]
    draft: Option<String>,
}

async fn standard_page(
    State(st): State<AppState>,
    c: PageCaller,
    Path(id): Path<String>,
    Query(q): Query<StandardQ>,
) -> Response {
    let tr = c.tr;
    let all = match ind::all_standards(&st.app).await {
        Ok(r) => r,
        Err(e) => return back("/standards", "err", &msg(tr, &e)),
    };
    let Some(s) = all.into_iter().find(|s| s.standard.id == id) else {
        return not_found_page(tr, "评估标准不存在", "no such standard");
    };
    let body = q
        .draft
        .clone()
        .unwrap_or_else(|| serde_json::to_string_pretty(&s.standard).unwrap_or_default());
    render(StandardPage {
        l: layout(
            &c,
            &s.standard.name,
            "indicators",
            vec![
                home_crumb(tr),
                (tr.pick("评估标准", "Standards").into(), "/standards".into()),
                (s.standard.name.clone(), String::new()),
            ],
            Flash {
                ok: q.ok.clone(),
                err: q.err.clone(),
            },
        ),
        id: s.standard.id.clone(),
        name: s.standard.name.clone(),
        builtin: s.builtin,
        version: s.version,
        body,
        can_edit: !s.builtin && c.actor.scope(Permission::UnitWrite).all,
    })
}

#[derive(Deserialize)]
struct StandardForm {
    csrf: String,
    version: i64,
    body: String,
}

async fn standard_save(
    State(st): State<AppState>,
    c: PageCaller,
    Path(id): Path<String>,
    axum::Form(f): axum::Form<StandardForm>,
) -> Response {
    if let Err(r) = c.check_csrf(&f.csrf) {
        return r;
    }
    let here = format!("/standards/{id}");
    match ind::update_standard(&st.app, &c.actor, &id, f.version, &f.body).await {
        Ok(_) => back(&here, "ok", c.tr.t("ok")),
        Err(e) => {
            // Back to the editor with the text as typed, so nothing is lost.
            let q = serde_urlencoded::to_string([
                ("err", msg(c.tr, &e)),
                ("draft", f.body.chars().take(6000).collect::<String>()),
            ])
            .unwrap_or_default();
            axum::response::Redirect::to(&format!("{here}?{q}")).into_response()
        }
    }
}

/// The frame of a page under 均衡发展指标: home → 均衡发展指标 → `title`.
fn section_layout(c: &PageCaller, zh: &str, en: &str, flash: Flash) -> Layout {
    let tr = c.tr;
    layout(
        c,
        tr.pick(zh, en),
        "indicators",
        vec![
            home_crumb(tr),
            (
                tr.pick("均衡发展指标", "School indicators").into(),
                "/indicators".into(),
            ),
            (tr.pick(zh, en).into(), String::new()),
        ],
        flash,
    )
}

fn this_year() -> String {
    // 学年 starts in September: before it, the current 学年 began last year.
    let now = chrono::Utc::now() + chrono::Duration::hours(8);
    let y = chrono::Datelike::year(&now);
    let m = chrono::Datelike::month(&now);
    (if m >= 9 { y } else { y - 1 }).to_string()
}

fn state_label(s: Option<&str>) -> &'static str {
    match s {
        Some("draft") => "草稿",
        Some("submitted") => "已报送待审核",
        Some("approved") => "已审核",
        _ => "未填报",
    }
}

fn kind_label(k: &str) -> &'static str {
    taizhang_domain::unit::SchoolStage::parse("stage", k).map_or("", |s| s.label_zh())
}

fn stage_label(s: &str) -> &'static str {
    match s {
        "primary" => "小学",
        "junior" => "初中",
        "senior" => "高中",
        _ => "全校",
    }
}

fn num(v: Option<f64>, digits: usize) -> String {
    match v {
        None => "—".into(),
        Some(x) => {
            let s = format!("{x:.digits$}");
            if s.contains('.') {
                s.trim_end_matches('0').trim_end_matches('.').to_string()
            } else {
                s
            }
        }
    }
}

#[derive(Deserialize, Default)]
struct ReturnsQuery {
    #[serde(default)]
    year: String,
    #[serde(default)]
    state: String,
    ok: Option<String>,
    err: Option<String>,
}

struct ReturnRow {
    id: i64,
    code: String,
    name: String,
    kind: &'static str,
    state: &'static str,
    state_code: String,
    can_approve: bool,
}

#[derive(Template)]
#[template(path = "indicators.html")]
struct ReturnsPage {
    l: Layout,
    year: String,
    state: String,
    rows: Vec<ReturnRow>,
    counts: Vec<(&'static str, usize)>,
    standards: Vec<(String, String)>,
    counties: Vec<(i64, String)>,
    can_import: bool,
    import_errors: Vec<taizhang_service::ledger_excel::CellError>,
}

async fn returns_page(
    State(st): State<AppState>,
    c: PageCaller,
    Query(q): Query<ReturnsQuery>,
) -> Response {
    let year = if q.year.is_empty() {
        this_year()
    } else {
        q.year.clone()
    };
    let flash = Flash {
        ok: q.ok.clone(),
        err: q.err.clone(),
    };
    page_returns(&st, &c, year, q.state.clone(), flash, Vec::new()).await
}

async fn page_returns(
    st: &AppState,
    c: &PageCaller,
    year: String,
    state: String,
    mut flash: Flash,
    import_errors: Vec<taizhang_service::ledger_excel::CellError>,
) -> Response {
    let tr = c.tr;
    let schools = match ind::returns(&st.app, &c.actor, &year, None).await {
        Ok(s) => s,
        Err(e) => {
            flash.err = Some(msg(tr, &e));
            Vec::new()
        }
    };
    let approve = c.actor.scope(Permission::DataApprove);
    let mut counts: BTreeMap<&'static str, usize> = BTreeMap::new();
    for s in &schools {
        *counts.entry(state_label(s.state.as_deref())).or_default() += 1;
    }
    let rows = schools
        .iter()
        .filter(|s| state.is_empty() || s.state.as_deref().unwrap_or("none") == state)
        .map(|s| ReturnRow {
            id: s.id,
            code: s.code.clone(),
            name: s.name.clone(),
            kind: kind_label(s.stage.as_deref().unwrap_or("")),
            state: state_label(s.state.as_deref()),
            state_code: s.state.clone().unwrap_or_default(),
            can_approve: approve.contains(s.id, &s.path, None),
        })
        .collect();
    // Units above the schools that can be evaluated: the caller's own unit and the units the
    // schools hang under (a county's 教育局 and the county).
    let mut counties: Vec<(i64, String)> = Vec::new();
    {
        let mut seen = std::collections::BTreeSet::new();
        if let Ok(mut conn) = st.app.store.conn().await {
            for s in &schools {
                let ids: Vec<i64> = s
                    .path
                    .trim_matches('/')
                    .split('/')
                    .filter_map(|x| x.parse().ok())
                    .collect();
                for id in ids.iter().take(ids.len().saturating_sub(1)) {
                    if seen.insert(*id)
                        && let Ok(Some(u)) = taizhang_store::units::get(
                            &mut conn,
                            &c.actor.scope(Permission::DataRead),
                            *id,
                        )
                        .await
                    {
                        counties.push((u.id, u.name));
                    }
                }
            }
        }
    }
    render(ReturnsPage {
        l: layout(
            c,
            tr.pick("均衡发展指标", "School indicators"),
            "indicators",
            vec![
                home_crumb(tr),
                (
                    tr.pick("均衡发展指标", "School indicators").into(),
                    String::new(),
                ),
            ],
            flash,
        ),
        year,
        state,
        rows,
        counts: counts.into_iter().collect(),
        standards: ind::all_standards(&st.app)
            .await
            .unwrap_or_default()
            .into_iter()
            .map(|s| (s.standard.id, s.standard.name))
            .collect(),
        counties,
        can_import: !c.actor.scope(Permission::DataEnter).is_empty(),
        import_errors,
    })
}

/// The import form's upload: CSRF, 学年, the file (.xlsx or .csv), approve at once or not.
async fn import_upload(
    State(st): State<AppState>,
    c: PageCaller,
    mut form: axum::extract::Multipart,
) -> Response {
    use taizhang_service::ledger_excel::ImportError;
    use taizhang_service::schools_import as si;
    let (mut csrf, mut year, mut approve, mut file) = (String::new(), String::new(), false, None);
    while let Ok(Some(field)) = form.next_field().await {
        match field.name() {
            Some("csrf") => csrf = field.text().await.unwrap_or_default(),
            Some("year") => year = field.text().await.unwrap_or_default(),
            Some("approve") => approve = !field.text().await.unwrap_or_default().is_empty(),
            Some("file") => file = field.bytes().await.ok(),
            _ => {}
        }
    }
    if let Err(r) = c.check_csrf(&csrf) {
        return r;
    }
    let here = format!("/indicators?year={year}");
    let Some(bytes) = file else {
        return back(&here, "err", "请选择文件");
    };
    let csv = si::looks_like_csv(&bytes);
    let sheet = match tokio::task::spawn_blocking(move || si::read(&bytes, csv)).await {
        Ok(Ok(s)) => s,
        Ok(Err(e)) => return back(&here, "err", &e.to_string()),
        Err(e) => return back(&here, "err", &e.to_string()),
    };
    match si::import(&st.app, &c.actor, &year, sheet, approve).await {
        Ok(s) => back(
            &here,
            "ok",
            &format!(
                "已导入{}所学校(新建{}所),状态:{}{}",
                s.rows,
                s.created,
                state_label(Some(&s.state)),
                if s.warnings.is_empty() {
                    String::new()
                } else {
                    format!(
                        ";提示{}条:{}{}",
                        s.warnings.len(),
                        s.warnings
                            .iter()
                            .take(5)
                            .map(|w| format!("第{}行 {}", w.row, w.message))
                            .collect::<Vec<_>>()
                            .join(";"),
                        if s.warnings.len() > 5 { "……" } else { "" }
                    )
                }
            ),
        ),
        Err(ImportError::Cells(errors)) => {
            let flash = Flash {
                ok: None,
                err: Some(format!("未导入任何数据:共{}处错误,见下表", errors.len())),
            };
            let mut r = page_returns(&st, &c, year, String::new(), flash, errors).await;
            *r.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
            r
        }
        Err(ImportError::File(e)) => back(&here, "err", &e.to_string()),
        Err(ImportError::Service(e)) => back(&here, "err", &msg(c.tr, &e)),
    }
}

#[derive(Deserialize, Default)]
struct YearQ {
    #[serde(default)]
    year: String,
    #[serde(default)]
    form: String,
    #[serde(default)]
    period: String,
    ok: Option<String>,
    err: Option<String>,
}

/// One input of the 填报 form.
struct Field {
    /// `stage.element` (stage empty for school-wide values).
    key: String,
    name: String,
    unit: String,
    value: String,
    last: String,
    flagged: bool,
}

struct FindingRow {
    rule: String,
    stage: &'static str,
    error: bool,
    message: String,
}

#[derive(Template)]
#[template(path = "school_data.html")]
struct SchoolPage {
    l: Layout,
    id: i64,
    year: String,
    form_id: String,
    form_name: String,
    period_label: String,
    forms: Vec<(String, String, bool)>,
    name: String,
    code: String,
    kind: &'static str,
    state: &'static str,
    state_code: String,
    note: String,
    sections: Vec<(&'static str, Vec<Field>)>,
    findings: Vec<FindingRow>,
    outliers: Vec<String>,
    can_enter: bool,
    can_approve: bool,
}

async fn school_page(
    State(st): State<AppState>,
    c: PageCaller,
    Path(id): Path<String>,
    Query(q): Query<YearQ>,
) -> Response {
    let tr = c.tr;
    let Ok(id) = id.parse::<i64>() else {
        return (StatusCode::NOT_FOUND, "404").into_response();
    };
    let form = match taizhang_service::forms::form(&st.app, &q.form).await {
        Ok(f) => f,
        Err(e) => return back("/indicators", "err", &msg(tr, &e)),
    };
    let year = match (q.period.is_empty(), q.year.is_empty()) {
        (false, _) => q.period.clone(),
        (true, false) => q.year.clone(),
        // The current period of the form's type.
        (true, true) => {
            let now = chrono::Utc::now() + chrono::Duration::hours(8);
            match form.period_type {
                taizhang_domain::forms::PeriodType::SchoolYear => this_year(),
                taizhang_domain::forms::PeriodType::Year => now.format("%Y").to_string(),
                taizhang_domain::forms::PeriodType::Month => now.format("%Y-%m").to_string(),
                taizhang_domain::forms::PeriodType::Semester => {
                    let m = chrono::Datelike::month(&now);
                    let y: i32 = this_year().parse().unwrap_or_default();
                    format!("{y}-{}", if (3..=8).contains(&m) { 2 } else { 1 })
                }
            }
        }
    };
    let v = match ind::school_return_form(&st.app, &c.actor, &form.id, id, &year).await {
        Ok(v) => v,
        Err(ServiceError::NotFound) => {
            return not_found_page(
                tr,
                "学校不存在或不在您的数据范围内",
                "school not found or outside your data scope",
            );
        }
        Err(e) => return back("/indicators", "err", &msg(tr, &e)),
    };
    let els = match taizhang_service::forms::elements(&st.app).await {
        Ok(e) => taizhang_domain::standards::Elements {
            // The form's elements, in the form's order.
            elements: v
                .elements
                .iter()
                .filter_map(|code| e.elements.iter().find(|x| &x.code == code).cloned())
                .collect(),
            ..e
        },
        Err(e) => return back("/indicators", "err", &msg(tr, &e)),
    };
    let all_forms: Vec<(String, String, bool)> = taizhang_service::forms::forms(&st.app)
        .await
        .unwrap_or_default()
        .into_iter()
        .filter(|f| f.applies_to(&v.kind))
        .map(|f| {
            let on = f.id == v.form_id;
            (
                f.id,
                format!("{}({})", f.name, f.period_type.label_zh()),
                on,
            )
        })
        .collect();
    let flagged: Vec<&str> = v.outliers.iter().map(|o| o.key.as_str()).collect();
    let value_of = |list: &[ind::Entry], stage: &str, element: &str| {
        list.iter()
            .find(|e| e.stage == stage && e.element == element)
            .map(|e| num(Some(e.value), 2))
            .unwrap_or_default()
    };
    let mut sections = Vec::new();
    for stage in &v.stages {
        let fields = els
            .elements
            .iter()
            .filter(|e| {
                e.per_stage
                    && (stage != "senior"
                        || e.code == "students"
                        || v.form_id != taizhang_domain::forms::BASIC)
            })
            .map(|e| {
                let key = format!("{stage}.{}", e.code);
                Field {
                    flagged: flagged.contains(&key.as_str()),
                    key,
                    name: e.name.clone(),
                    unit: e.unit.clone(),
                    value: value_of(&v.values, stage, &e.code),
                    last: value_of(&v.last_year, stage, &e.code),
                }
            })
            .collect();
        sections.push((stage_label(stage), fields));
    }
    let whole: Vec<Field> = els
        .elements
        .iter()
        .filter(|e| !e.per_stage)
        .map(|e| {
            let key = format!(".{}", e.code);
            Field {
                flagged: flagged.contains(&key.as_str()),
                key,
                name: e.name.clone(),
                unit: e.unit.clone(),
                value: value_of(&v.values, "", &e.code),
                last: value_of(&v.last_year, "", &e.code),
            }
        })
        .collect();
    if !whole.is_empty() {
        sections.push(("全校", whole));
    }
    let name_of = |key: &str| {
        let (stage, el) = key.split_once('.').unwrap_or(("", key));
        let n = els
            .elements
            .iter()
            .find(|e| e.code == el)
            .map_or(el.to_string(), |e| e.name.clone());
        if stage.is_empty() {
            n
        } else {
            format!("{}{n}", stage_label(stage))
        }
    };
    let school_path = {
        let mut conn = match st.app.store.conn().await {
            Ok(c) => c,
            Err(e) => return back("/indicators", "err", &e.to_string()),
        };
        taizhang_store::units::get_unscoped(&mut conn, id)
            .await
            .ok()
            .flatten()
            .map(|u| u.path)
            .unwrap_or_default()
    };
    let state_code = v.ret.as_ref().map(|r| r.state.clone()).unwrap_or_default();
    render(SchoolPage {
        form_id: v.form_id.clone(),
        form_name: v.form_name.clone(),
        period_label: v.period_label.clone(),
        forms: all_forms,
        l: layout(
            &c,
            &v.name,
            "indicators",
            vec![
                home_crumb(tr),
                (
                    tr.pick("均衡发展指标", "School indicators").into(),
                    format!("/indicators?year={year}"),
                ),
                (v.name.clone(), String::new()),
            ],
            Flash {
                ok: q.ok.clone(),
                err: q.err.clone(),
            },
        ),
        id,
        name: v.name.clone(),
        code: v.code.clone(),
        kind: kind_label(&v.kind),
        state: state_label(v.ret.as_ref().map(|r| r.state.as_str())),
        note: v.ret.as_ref().map(|r| r.note.clone()).unwrap_or_default(),
        sections,
        findings: v
            .findings
            .iter()
            .map(|f| FindingRow {
                rule: f.rule.clone(),
                stage: if f.stage.is_empty() {
                    "全校"
                } else {
                    stage_label(&f.stage)
                },
                error: f.importance == "error",
                message: f.message.clone(),
            })
            .collect(),
        outliers: v
            .outliers
            .iter()
            .map(|o| {
                format!(
                    "{}:上年{},本年{},变化{:+.0}%(同类学校中位数{:+.0}%),请核实",
                    name_of(&o.key),
                    num(Some(o.before), 2),
                    num(Some(o.now), 2),
                    o.change * 100.0,
                    o.median * 100.0
                )
            })
            .collect(),
        can_enter: c
            .actor
            .scope(Permission::DataEnter)
            .contains(id, &school_path, None)
            && (state_code.is_empty() || state_code == "draft"),
        can_approve: c
            .actor
            .scope(Permission::DataApprove)
            .contains(id, &school_path, None),
        state_code,
        year,
    })
}

/// The 填报 form: `csrf`, `year`, and one `stage.element` field per value (blank: not
/// reported).
async fn school_save(
    State(st): State<AppState>,
    c: PageCaller,
    Path(id): Path<i64>,
    body: String,
) -> Response {
    let posted = Pairs::parse(&body);
    let get = |k: &str| posted.get(k);
    if let Err(r) = c.check_csrf(&get("csrf")) {
        return r;
    }
    let form = get("form");
    let year = if get("period").is_empty() {
        get("year")
    } else {
        get("period")
    };
    let here = format!("/schools/{id}/data?form={form}&period={year}");
    let mut entries = Vec::new();
    for (k, v) in &posted.0 {
        let Some((stage, element)) = k.split_once('.') else {
            continue;
        };
        let v = v.trim().replace([',', '\u{ff0c}'], "");
        if v.is_empty() {
            continue;
        }
        let Ok(value) = v.parse::<f64>() else {
            let name = standards::elements()
                .elements
                .iter()
                .find(|e| e.code == element)
                .map_or(element.to_string(), |e| e.name.clone());
            return back(
                &here,
                "err",
                &format!("{}{}“{}”应为数字", stage_label(stage), name, v),
            );
        };
        entries.push(ind::Entry {
            stage: stage.to_string(),
            element: element.to_string(),
            value,
        });
    }
    settle(
        &c,
        &here,
        ind::save_form(&st.app, &c.actor, &form, id, &year, &entries).await,
    )
}

#[derive(Deserialize)]
struct ActForm {
    csrf: String,
    year: String,
    #[serde(default)]
    form: String,
    action: String,
    #[serde(default)]
    reason: String,
    #[serde(default)]
    back: String,
}

async fn school_act(
    State(st): State<AppState>,
    c: PageCaller,
    Path(id): Path<i64>,
    axum::Form(f): axum::Form<ActForm>,
) -> Response {
    if let Err(r) = c.check_csrf(&f.csrf) {
        return r;
    }
    let here = if f.back == "list" {
        format!("/indicators?year={}", f.year)
    } else {
        format!("/schools/{id}/data?form={}&period={}", f.form, f.year)
    };
    settle(
        &c,
        &here,
        ind::transition_form(
            &st.app, &c.actor, &f.form, id, &f.year, &f.action, &f.reason,
        )
        .await,
    )
}

#[derive(Deserialize, Default, Clone)]
struct EvalQ {
    #[serde(default)]
    standard: String,
    #[serde(default)]
    year: String,
    #[serde(default)]
    unit: i64,
    #[serde(default)]
    include_unapproved: String,
    ok: Option<String>,
    err: Option<String>,
}

struct CountyRow {
    county: String,
    stage: &'static str,
    code: String,
    name: String,
    mean: String,
    sd: String,
    n: usize,
    cv: String,
    threshold: String,
    pass: Option<bool>,
}

struct Cell {
    threshold: String,
    floor: String,
    value: String,
    met: Option<bool>,
}

struct SchoolRowView {
    code: String,
    name: String,
    stage: &'static str,
    students: String,
    cells: Vec<Cell>,
    met: usize,
    pass: Option<bool>,
}

struct GapRow {
    number: String,
    title: String,
    item: Option<i64>,
    state: String,
}

#[derive(Template)]
#[template(path = "evaluation.html")]
struct EvalPage {
    l: Layout,
    q: EvalQ,
    standard_name: String,
    document: String,
    county_rule: String,
    school_rule: String,
    indicators: Vec<(String, String, String)>,
    county: Vec<CountyRow>,
    /// County, stage, composite CV, verdict, and the label when there is no verdict.
    verdicts: Vec<(String, &'static str, String, Option<bool>, &'static str)>,
    schools: Vec<SchoolRowView>,
    excluded: Vec<(String, String)>,
    chart_json: String,
    gaps: Vec<GapRow>,
    now_met: Vec<GapRow>,
    ledger: Option<i64>,
    can_raise: bool,
}

fn item_state_label(s: &str) -> String {
    taizhang_domain::ledger::ItemState::ALL
        .iter()
        .find(|x| x.as_str() == s)
        .map_or(s.to_string(), |x| x.label_zh().to_string())
}

async fn evaluate_page(
    State(st): State<AppState>,
    c: PageCaller,
    Query(q): Query<EvalQ>,
) -> Response {
    let tr = c.tr;
    let std = match ind::standard_for(&st.app, &q.standard).await {
        Ok(s) => s,
        Err(e) => return back("/indicators", "err", &msg(tr, &e)),
    };
    let include = !q.include_unapproved.is_empty();
    let ev = match ind::evaluate(&st.app, &c.actor, &q.standard, &q.year, q.unit, include).await {
        Ok(e) => e,
        Err(ServiceError::NotFound) => {
            return not_found_page(
                tr,
                "单位不存在或不在您的数据范围内",
                "unit not found or outside your data scope",
            );
        }
        Err(e) => return back("/indicators", "err", &msg(tr, &e)),
    };
    let gaps = ind::gaps(&st.app, &c.actor, &q.standard, &q.year, q.unit)
        .await
        .ok();
    let name_of = |code: &str| {
        std.indicators
            .iter()
            .find(|i| i.code == code)
            .map_or(String::new(), |i| i.name.clone())
    };
    let cv_rule = std.county_rule.kind != "ratio_of_sums";
    let county: Vec<CountyRow> = ev
        .county
        .iter()
        .map(|r| CountyRow {
            county: r.county.clone(),
            stage: stage_label(&r.stage),
            code: r.indicator.clone(),
            name: name_of(&r.indicator),
            mean: if r.mean.is_none() && r.n == 0 {
                "无学生,不计算".into()
            } else {
                num(r.mean, 3)
            },
            sd: num(r.sd, 3),
            n: r.n,
            cv: if cv_rule { num(r.cv, 3) } else { "—".into() },
            threshold: num(r.threshold, 3),
            pass: r.pass,
        })
        .collect();
    let chart_json = serde_json::to_string(&serde_json::json!({
        "cv_rule": cv_rule,
        "rows": ev.county.iter().map(|r| serde_json::json!({
            "stage": stage_label(&r.stage), "code": r.indicator, "cv": r.cv, "mean": r.mean, "threshold": r.threshold,
        })).collect::<Vec<_>>(),
    }))
    .unwrap_or_default()
    .replace('<', "\\u003c");
    let schools = ev
        .schools
        .iter()
        .map(|s| SchoolRowView {
            code: s.code.to_string(),
            name: s.name.to_string(),
            stage: stage_label(s.stage),
            students: num(Some(s.students), 0),
            cells: s
                .indicators
                .iter()
                .map(|r| Cell {
                    threshold: num(r.threshold, 2),
                    floor: num(r.floor, 2),
                    value: num(r.value, 2),
                    met: r.met,
                })
                .collect(),
            met: s.met_count,
            pass: s.pass,
        })
        .collect();
    let gap_rows = |gs: &[ind::Gap]| -> Vec<GapRow> {
        gs.iter()
            .map(|g| GapRow {
                number: g.number.clone(),
                title: g.title.clone(),
                item: g.item_id,
                state: g
                    .item_state
                    .as_deref()
                    .map(item_state_label)
                    .unwrap_or_default(),
            })
            .collect()
    };
    let can_raise = {
        let mut conn = match st.app.store.conn().await {
            Ok(c) => c,
            Err(e) => return back("/indicators", "err", &e.to_string()),
        };
        taizhang_store::units::get_unscoped(&mut conn, q.unit)
            .await
            .ok()
            .flatten()
            .is_some_and(|u| {
                c.actor
                    .scope(Permission::ItemSupervise)
                    .contains(u.id, &u.path, None)
            })
    };
    let title = format!("{}学年 {}", q.year, std.name);
    render(EvalPage {
        l: layout(
            &c,
            &title,
            "indicators",
            vec![
                home_crumb(tr),
                (
                    tr.pick("均衡发展指标", "School indicators").into(),
                    format!("/indicators?year={}", q.year),
                ),
                (title.clone(), String::new()),
            ],
            Flash {
                ok: q.ok.clone(),
                err: q.err.clone(),
            },
        ),
        standard_name: std.name.clone(),
        document: std.document.clone(),
        county_rule: std.county_rule.clause.clone(),
        school_rule: std.school_rule.clause.clone().unwrap_or_default(),
        indicators: std
            .indicators
            .iter()
            .map(|i| (i.code.clone(), i.name.clone(), i.unit.clone()))
            .collect(),
        county,
        verdicts: ev
            .verdicts
            .iter()
            .map(|v| {
                let no_pupils = ev
                    .county
                    .iter()
                    .filter(|c| c.county == v.county && c.stage == v.stage)
                    .all(|c| c.n == 0);
                (
                    v.county.clone(),
                    stage_label(&v.stage),
                    num(v.composite_cv, 3),
                    v.pass,
                    if no_pupils {
                        "无学生,不评估"
                    } else {
                        "数据不全"
                    },
                )
            })
            .collect(),
        schools,
        excluded: ev.excluded.clone(),
        chart_json,
        gaps: gaps.as_ref().map(|g| gap_rows(&g.open)).unwrap_or_default(),
        now_met: gaps
            .as_ref()
            .map(|g| gap_rows(&g.now_met))
            .unwrap_or_default(),
        ledger: gaps.as_ref().and_then(|g| g.ledger_id),
        can_raise,
        q,
    })
}

#[derive(Deserialize)]
struct GapForm {
    csrf: String,
    standard: String,
    year: String,
    unit: i64,
    deadline: String,
}

async fn gaps_raise(
    State(st): State<AppState>,
    c: PageCaller,
    axum::Form(f): axum::Form<GapForm>,
) -> Response {
    if let Err(r) = c.check_csrf(&f.csrf) {
        return r;
    }
    let here = format!(
        "/indicators/evaluate?standard={}&year={}&unit={}",
        f.standard, f.year, f.unit
    );
    match ind::raise_gaps(&st.app, &c.actor, &f.standard, &f.year, f.unit, &f.deadline).await {
        Ok(r) => back(
            &here,
            "ok",
            &format!("已生成{}条整改事项,录入“{}”", r.created, r.ledger_name),
        ),
        Err(e) => back(&here, "err", &msg(c.tr, &e)),
    }
}

struct FormRow {
    id: String,
    name: String,
    period: &'static str,
    kinds: String,
    elements: String,
}

#[derive(Template)]
#[template(path = "forms.html")]
struct FormsPage {
    l: Layout,
    forms: Vec<FormRow>,
    /// (code, name, unit, custom)
    elements: Vec<(String, String, String, bool)>,
    kinds: Vec<(&'static str, &'static str)>,
    can_manage: bool,
}

async fn forms_page(State(st): State<AppState>, c: PageCaller, flash: Flash) -> Response {
    let tr = c.tr;
    let (forms, els) = match (
        taizhang_service::forms::forms(&st.app).await,
        taizhang_service::forms::elements(&st.app).await,
    ) {
        (Ok(f), Ok(e)) => (f, e),
        (Err(e), _) | (_, Err(e)) => return back("/indicators", "err", &msg(tr, &e)),
    };
    let builtin: Vec<String> = standards::elements()
        .elements
        .into_iter()
        .map(|e| e.code)
        .collect();
    let name_of = |code: &str| {
        els.elements
            .iter()
            .find(|e| e.code == code)
            .map_or(code.to_string(), |e| e.name.clone())
    };
    render(FormsPage {
        l: section_layout(&c, "填报表", "Forms", flash),
        forms: forms
            .iter()
            .map(|f| FormRow {
                id: f.id.clone(),
                name: f.name.clone(),
                period: f.period_type.label_zh(),
                kinds: if f.school_kinds.is_empty() {
                    "全部学校".into()
                } else {
                    f.school_kinds
                        .iter()
                        .map(|k| kind_label(k))
                        .collect::<Vec<_>>()
                        .join("、")
                },
                elements: f
                    .elements
                    .iter()
                    .map(|e| name_of(e))
                    .collect::<Vec<_>>()
                    .join("、"),
            })
            .collect(),
        elements: els
            .elements
            .iter()
            .map(|e| {
                (
                    e.code.clone(),
                    e.name.clone(),
                    e.unit.clone(),
                    !builtin.contains(&e.code),
                )
            })
            .collect(),
        kinds: taizhang_domain::unit::SchoolStage::ALL
            .iter()
            .filter(|k| !matches!(k, taizhang_domain::unit::SchoolStage::Kindergarten))
            .map(|k| (k.as_str(), k.label_zh()))
            .collect(),
        can_manage: c.actor.scope(Permission::UnitWrite).all,
    })
}

async fn form_create(State(st): State<AppState>, c: PageCaller, body: String) -> Response {
    let posted = Pairs::parse(&body);
    let get = |k: &str| posted.get(k);
    let all = |k: &str| posted.all(k);
    if let Err(r) = c.check_csrf(&get("csrf")) {
        return r;
    }
    let period_type = match get("period_type").as_str() {
        "semester" => taizhang_domain::forms::PeriodType::Semester,
        "year" => taizhang_domain::forms::PeriodType::Year,
        "month" => taizhang_domain::forms::PeriodType::Month,
        _ => taizhang_domain::forms::PeriodType::SchoolYear,
    };
    let f = taizhang_domain::forms::Form {
        id: get("id").trim().to_string(),
        name: get("name"),
        period_type,
        school_kinds: all("school_kinds"),
        elements: all("elements"),
    };
    settle(
        &c,
        "/forms",
        taizhang_service::forms::create_form(&st.app, &c.actor, f).await,
    )
}

async fn element_create(State(st): State<AppState>, c: PageCaller, body: String) -> Response {
    let posted = Pairs::parse(&body);
    let get = |k: &str| posted.get(k);
    if let Err(r) = c.check_csrf(&get("csrf")) {
        return r;
    }
    let e = taizhang_domain::standards::Element {
        code: get("code").trim().to_string(),
        name: get("name"),
        unit: get("unit"),
        kind: get("kind"),
        per_stage: !get("per_stage").is_empty(),
        physical: false,
        aggregate: None,
        derived: false,
    };
    settle(
        &c,
        "/forms",
        taizhang_service::forms::add_element(&st.app, &c.actor, e).await,
    )
}
