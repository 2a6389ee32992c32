//! Pages of the reports (报告): generate a report from a ledger or an evaluation and read it
//! with every figure linked to its filtered list, download it as Word/Markdown/HTML, edit an
//! administrator's template copy with a live preview, and 数据核验 (check a report's numbers,
//! pasted or uploaded, with the findings highlighted in the text).

use crate::AppState;
use crate::caller::PageCaller;
use crate::pages::{Flash, Layout, back, home_crumb, layout, msg, not_found_page, render};
use askama::Template;
use axum::Router;
use axum::extract::{Multipart, Path, Query, State};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use taizhang_service::reports::{self, Format, ReportRequest, TemplateEntry};
use taizhang_service::{ServiceError, ledger};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/reports", get(reports_page))
        .route("/reports/download", get(download))
        .route("/reports/templates", post(template_copy))
        .route(
            "/reports/templates/{id}",
            get(template_page).post(template_save),
        )
        .route("/reports/templates/{id}/preview", post(template_preview))
        .route(
            "/check",
            get(check_page)
                .post(check_submit)
                .layer(axum::extract::DefaultBodyLimit::max(21 << 20)),
        )
}

#[derive(Deserialize, Default, Clone)]
struct ReportQ {
    #[serde(default)]
    template: String,
    #[serde(default)]
    ledger: String,
    #[serde(default)]
    period: String,
    #[serde(default)]
    standard: String,
    #[serde(default)]
    year: String,
    #[serde(default)]
    unit: String,
    #[serde(default)]
    format: String,
    #[serde(default)]
    data_notes: String,
    ok: Option<String>,
    err: Option<String>,
}

impl ReportQ {
    fn request(&self) -> ReportRequest {
        let opt = |s: &str| (!s.trim().is_empty()).then(|| s.trim().to_string());
        ReportRequest {
            template: self.template.clone(),
            ledger: opt(&self.ledger),
            period: opt(&self.period),
            standard: opt(&self.standard),
            year: opt(&self.year),
            unit: opt(&self.unit),
            data_notes: !self.data_notes.is_empty(),
        }
    }

    /// The query string of this request, for the download links.
    fn query(&self) -> String {
        serde_urlencoded::to_string([
            ("template", &self.template),
            ("ledger", &self.ledger),
            ("period", &self.period),
            ("standard", &self.standard),
            ("year", &self.year),
            ("unit", &self.unit),
        ])
        .unwrap_or_default()
    }
}

#[derive(Template)]
#[template(path = "reports.html")]
struct ReportsPage {
    l: Layout,
    q: ReportQ,
    templates: Vec<TemplateEntry>,
    ledgers: Vec<(i64, String)>,
    /// The rendered report (HTML fragment) and its title, when one was asked for.
    report: Option<(String, String, usize)>,
    query: String,
    can_manage: bool,
}

async fn reports_page(
    State(st): State<AppState>,
    c: PageCaller,
    Query(q): Query<ReportQ>,
) -> Response {
    let tr = c.tr;
    let templates = match reports::list_templates(&st.app).await {
        Ok(t) => t,
        Err(e) => return back("/", "err", &msg(tr, &e)),
    };
    let ledgers = ledger::list_ledgers(&st.app, &c.actor)
        .await
        .unwrap_or_default()
        .into_iter()
        .map(|l| (l.id, l.name))
        .collect();
    let mut flash = Flash {
        ok: q.ok.clone(),
        err: q.err.clone(),
    };
    let mut report = None;
    if !q.template.is_empty() && (!q.ledger.is_empty() || !q.standard.is_empty()) {
        match reports::render(&st.app, &c.actor, &q.request()).await {
            Ok(r) => {
                report = Some((
                    r.title.clone(),
                    r.doc.to_html_fragment(),
                    r.doc.figures.len(),
                ))
            }
            Err(ServiceError::NotFound) => {
                return not_found_page(
                    tr,
                    "台账或单位不存在,或不在您的数据范围内",
                    "not found or outside your data scope",
                );
            }
            Err(e) => flash.err = Some(msg(tr, &e)),
        }
    }
    render(ReportsPage {
        l: layout(
            &c,
            tr.pick("报告", "Reports"),
            "reports",
            vec![
                home_crumb(tr),
                (tr.pick("报告", "Reports").into(), String::new()),
            ],
            flash,
        ),
        query: q.query(),
        q,
        templates,
        ledgers,
        report,
        can_manage: reports::may_manage(&c.actor).is_ok(),
    })
}

async fn download(State(st): State<AppState>, c: PageCaller, Query(q): Query<ReportQ>) -> Response {
    let tr = c.tr;
    let format = match Format::parse(if q.format.is_empty() {
        "docx"
    } else {
        &q.format
    }) {
        Ok(f) => f,
        Err(e) => return back("/reports", "err", &msg(tr, &e)),
    };
    match reports::render(&st.app, &c.actor, &q.request()).await {
        Ok(r) => crate::api::file_response(
            r.output(format, !q.data_notes.is_empty()),
            &r.file_name(format),
            format.content_type(),
        ),
        Err(ServiceError::NotFound) => not_found_page(
            tr,
            "台账或单位不存在,或不在您的数据范围内",
            "not found or outside your data scope",
        ),
        Err(e) => back(&format!("/reports?{}", q.query()), "err", &msg(tr, &e)),
    }
}

#[derive(Deserialize)]
struct CopyForm {
    csrf: String,
    based_on: String,
    id: String,
    #[serde(default)]
    name: String,
}

async fn template_copy(
    State(st): State<AppState>,
    c: PageCaller,
    axum::Form(f): axum::Form<CopyForm>,
) -> Response {
    if let Err(r) = c.check_csrf(&f.csrf) {
        return r;
    }
    match reports::copy_template(&st.app, &c.actor, &f.based_on, &f.id, &f.name).await {
        Ok(t) => back(&format!("/reports/templates/{}", t.id), "ok", c.tr.t("ok")),
        Err(e) => back("/reports", "err", &msg(c.tr, &e)),
    }
}

#[derive(Template)]
#[template(path = "report_template.html")]
struct TemplatePage {
    l: Layout,
    t: TemplateEntry,
    can_edit: bool,
    ledgers: Vec<(i64, String)>,
    functions: Vec<(&'static str, &'static str)>,
    /// The first preview, rendered with the page.
    preview: String,
    sample: ReportQ,
}

fn sample_for(t: &TemplateEntry, ledgers: &[(i64, String)]) -> ReportQ {
    let this_year = chrono::Datelike::year(&chrono::Utc::now()) - 2;
    if t.needs == "evaluation" {
        ReportQ {
            standard: "quality-2017".into(),
            year: this_year.max(2024).to_string(),
            ..Default::default()
        }
    } else {
        ReportQ {
            ledger: ledgers.first().map(|l| l.0.to_string()).unwrap_or_default(),
            ..Default::default()
        }
    }
}

async fn preview_html(st: &AppState, c: &PageCaller, body: &str, q: &ReportQ) -> String {
    let req = ReportRequest {
        template: "preview".into(),
        ..q.request()
    };
    match reports::render_source(&st.app, &c.actor, body, &req).await {
        Ok(r) => r.doc.to_html_fragment(),
        Err(e) => format!(
            "<div class=\"flash err\" role=\"alert\" id=\"preview-error\">{}</div>",
            taizhang_office::report::html_escape(&msg(c.tr, &e))
        ),
    }
}

async fn template_page(
    State(st): State<AppState>,
    c: PageCaller,
    Path(id): Path<String>,
    flash: Flash,
) -> Response {
    let tr = c.tr;
    let t = match reports::get_template(&st.app, &id).await {
        Ok(t) => t,
        Err(_) => return not_found_page(tr, "报告模板不存在", "no such report template"),
    };
    let ledgers: Vec<(i64, String)> = ledger::list_ledgers(&st.app, &c.actor)
        .await
        .unwrap_or_default()
        .into_iter()
        .map(|l| (l.id, l.name))
        .collect();
    let sample = sample_for(&t, &ledgers);
    let preview = preview_html(&st, &c, &t.body, &sample).await;
    render(TemplatePage {
        l: layout(
            &c,
            &t.name,
            "reports",
            vec![
                home_crumb(tr),
                (tr.pick("报告", "Reports").into(), "/reports".into()),
                (t.name.clone(), String::new()),
            ],
            flash,
        ),
        can_edit: !t.builtin && reports::may_manage(&c.actor).is_ok(),
        t,
        ledgers,
        functions: reports::FUNCTIONS.to_vec(),
        preview,
        sample,
    })
}

#[derive(Deserialize)]
struct SaveForm {
    csrf: String,
    version: i64,
    #[serde(default)]
    name: String,
    body: String,
}

async fn template_save(
    State(st): State<AppState>,
    c: PageCaller,
    Path(id): Path<String>,
    axum::Form(f): axum::Form<SaveForm>,
) -> Response {
    if let Err(r) = c.check_csrf(&f.csrf) {
        return r;
    }
    let here = format!("/reports/templates/{id}");
    match reports::update_template(&st.app, &c.actor, &id, f.version, &f.name, &f.body).await {
        Ok(_) => back(&here, "ok", c.tr.t("ok")),
        Err(ServiceError::NotFound) => {
            not_found_page(c.tr, "报告模板不存在", "no such report template")
        }
        Err(e) => back(&here, "err", &msg(c.tr, &e)),
    }
}

#[derive(Deserialize)]
struct PreviewForm {
    csrf: String,
    body: String,
    #[serde(default)]
    ledger: String,
    #[serde(default)]
    period: String,
    #[serde(default)]
    standard: String,
    #[serde(default)]
    year: String,
}

/// The live preview (htmx): the unsaved source rendered, or the error with its line.
async fn template_preview(
    State(st): State<AppState>,
    c: PageCaller,
    Path(_id): Path<String>,
    axum::Form(f): axum::Form<PreviewForm>,
) -> Response {
    if let Err(r) = c.check_csrf(&f.csrf) {
        return r;
    }
    if reports::may_manage(&c.actor).is_err() {
        return (axum::http::StatusCode::FORBIDDEN, "forbidden").into_response();
    }
    let q = ReportQ {
        ledger: f.ledger,
        period: f.period,
        standard: f.standard,
        year: f.year,
        ..Default::default()
    };
    Html(preview_html(&st, &c, &f.body, &q).await).into_response()
}

#[derive(Template)]
#[template(path = "check.html")]
struct CheckPage {
    l: Layout,
    ledgers: Vec<(i64, String)>,
    ledger: String,
    text: String,
    /// The text with the findings marked, as HTML.
    marked: String,
    findings: Vec<FindingRow>,
    checked: bool,
    consistent: usize,
}

struct FindingRow {
    n: usize,
    kind: &'static str,
    severity: &'static str,
    severity_label: &'static str,
    quote: String,
    stated: String,
    computed: String,
    explanation: String,
}

fn check_layout(c: &PageCaller, flash: Flash) -> Layout {
    let tr = c.tr;
    layout(
        c,
        tr.pick("数据核验", "Check a report"),
        "reports",
        vec![
            home_crumb(tr),
            (tr.pick("数据核验", "Check a report").into(), String::new()),
        ],
        flash,
    )
}

async fn visible_ledgers(st: &AppState, c: &PageCaller) -> Vec<(i64, String)> {
    ledger::list_ledgers(&st.app, &c.actor)
        .await
        .unwrap_or_default()
        .into_iter()
        .map(|l| (l.id, l.name))
        .collect()
}

async fn check_page(State(st): State<AppState>, c: PageCaller, flash: Flash) -> Response {
    render(CheckPage {
        ledgers: visible_ledgers(&st, &c).await,
        ledger: String::new(),
        l: check_layout(&c, flash),
        text: String::new(),
        marked: String::new(),
        findings: vec![],
        checked: false,
        consistent: 0,
    })
}

/// The text with each finding wrapped in `<mark>` (numbered as in the list below it).
fn mark(text: &str, findings: &[taizhang_domain::checker::Finding]) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut spans: Vec<(usize, usize, usize, &str)> = findings
        .iter()
        .enumerate()
        .filter(|(_, f)| f.severity != "ok")
        .map(|(i, f)| (f.start, f.end.min(chars.len()), i + 1, f.severity))
        .collect();
    spans.sort();
    let esc = |s: &[char]| taizhang_office::report::html_escape(&s.iter().collect::<String>());
    let mut out = String::new();
    let mut at = 0;
    for (start, end, n, sev) in spans {
        if start < at || start >= end {
            continue;
        }
        out.push_str(&esc(&chars[at..start]));
        out.push_str(&format!(
            "<mark class=\"{sev}\" id=\"f{n}\" title=\"#{n}\">{}<sup>{n}</sup></mark>",
            esc(&chars[start..end])
        ));
        at = end;
    }
    out.push_str(&esc(&chars[at..]));
    out
}

async fn check_submit(State(st): State<AppState>, c: PageCaller, mut form: Multipart) -> Response {
    let tr = c.tr;
    let mut csrf = String::new();
    let mut ledger_ref = String::new();
    let mut text = String::new();
    let mut file: Option<(String, Vec<u8>)> = None;
    while let Ok(Some(field)) = form.next_field().await {
        let name = field.name().unwrap_or("").to_string();
        let fname = field.file_name().map(str::to_string);
        let Ok(bytes) = field.bytes().await else {
            return back(
                "/check",
                "err",
                tr.pick(
                    "上传失败,文件可能过大",
                    "upload failed; the file may be too large",
                ),
            );
        };
        match name.as_str() {
            "csrf" => csrf = String::from_utf8_lossy(&bytes).to_string(),
            "text" => text = String::from_utf8_lossy(&bytes).to_string(),
            "ledger" => ledger_ref = String::from_utf8_lossy(&bytes).trim().to_string(),
            "file" if !bytes.is_empty() => file = Some((fname.unwrap_or_default(), bytes.to_vec())),
            _ => {}
        }
    }
    if let Err(r) = c.check_csrf(&csrf) {
        return r;
    }
    let mut note = None;
    if let Some((name, bytes)) = file {
        match taizhang_office::text::report_text(&bytes) {
            Ok(t) => text = t,
            Err(e) => return back("/check", "err", &format!("{name}:{e}")),
        }
        // A report generated by Taizhang names its ledger: checked against it unless the user
        // chose one, and only if the caller sees it and the text names it.
        if ledger_ref.is_empty()
            && let Some(id) = taizhang_office::text::source_ledger(&bytes)
        {
            match reports::generated_from(&st.app, &c.actor, &id, &text).await {
                Ok(true) => {
                    note = Some(
                        tr.pick(
                            "此报告由台账生成,已同时核对台账记录。",
                            "Generated by Taizhang: also checked against its ledger's records.",
                        )
                        .to_string(),
                    );
                    ledger_ref = id;
                }
                Ok(false) => {
                    note = Some(tr.pick("此报告注明由台账生成,但其台账不在您的数据范围内,未核对记录。", "Generated by Taizhang from a ledger outside your scope: not checked against the records.").to_string());
                }
                Err(e) => return back("/check", "err", &msg(tr, &e)),
            }
        }
    }
    if text.trim().is_empty() {
        return back(
            "/check",
            "err",
            tr.pick(
                "请粘贴报告文字或上传 .txt/.md/.docx 文件",
                "paste the report's text or upload a .txt/.md/.docx file",
            ),
        );
    }
    let mut all = taizhang_domain::checker::check(&text, true);
    if !ledger_ref.is_empty() {
        match reports::record_figures(&st.app, &c.actor, &ledger_ref, &text).await {
            Ok(figs) => {
                all.extend(taizhang_domain::checker::check_against(&text, &figs, true));
                all.sort_by_key(|f| f.start);
            }
            Err(ServiceError::NotFound) => {
                return not_found_page(
                    tr,
                    "台账不存在或不在您的数据范围内",
                    "ledger not found or outside your data scope",
                );
            }
            Err(e) => return back("/check", "err", &msg(tr, &e)),
        }
    }
    let marked = mark(&text, &all);
    let consistent = all.iter().filter(|f| f.severity == "ok").count();
    let findings = all
        .iter()
        .enumerate()
        .filter(|(_, f)| f.severity != "ok")
        .map(|(i, f)| FindingRow {
            n: i + 1,
            kind: match f.kind {
                "sum" => "合计",
                "percent" => "百分比",
                "ratio" => "比值",
                "growth" => "增幅",
                "contradiction" => "前后矛盾",
                "record" => "与台账不符",
                other => other,
            },
            severity: f.severity,
            severity_label: match f.severity {
                "error" => "错误",
                "minor" => "轻微",
                _ => "提示",
            },
            quote: f.quote.clone(),
            stated: trim_num(f.stated),
            computed: trim_num(f.computed),
            explanation: f.explanation.clone(),
        })
        .collect();
    render(CheckPage {
        ledgers: visible_ledgers(&st, &c).await,
        ledger: ledger_ref,
        l: check_layout(
            &c,
            Flash {
                ok: note,
                err: None,
            },
        ),
        text,
        marked,
        findings,
        checked: true,
        consistent,
    })
}

fn trim_num(v: f64) -> String {
    let s = format!("{v:.4}");
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

/// The 公文 look for reports shown inside a page.
pub const CSS: &str = taizhang_office::report::GONGWEN_CSS;
