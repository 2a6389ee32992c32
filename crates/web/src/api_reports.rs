//! Reports (报告生成) and report templates over the API: a ledger's circular or report and a
//! county's self-evaluation report as .docx/.md/.html, the templates, and the editor's preview.

use crate::AppState;
use crate::api::{ApiJson, ApiQuery, ApiResult, Id, created, file_response, ok};
use crate::api_indicators::CopyBody;
use crate::caller::ApiCaller;
use serde::Deserialize;
use serde_json::json;
use taizhang_service::reports::{self, Format, ReportRequest};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LedgerReportQuery {
    /// tongbao (default) | huibao | a copy's id
    template: Option<String>,
    /// The month, `2024-05` (default: this month).
    period: Option<String>,
    /// docx (default) | md | html
    format: Option<String>,
    #[serde(default)]
    data_notes: bool,
}

fn respond(r: &reports::Rendered, format: Format, data_notes: bool) -> ApiResult {
    let bytes = r.output(format, data_notes);
    Ok(file_response(
        bytes,
        &r.file_name(format),
        format.content_type(),
    ))
}

/// `GET /api/v1/ledgers/{id}/report`: the ledger's 通报 or 汇报 (a foreign ledger is 404).
pub async fn ledger_report(
    axum::extract::State(st): axum::extract::State<AppState>,
    c: ApiCaller,
    Id(id): Id,
    ApiQuery(q): ApiQuery<LedgerReportQuery>,
) -> ApiResult {
    let format = Format::parse(q.format.as_deref().unwrap_or("docx"))?;
    let req = ReportRequest {
        template: q.template.unwrap_or_else(|| "tongbao".into()),
        ledger: Some(id.to_string()),
        period: q.period,
        data_notes: q.data_notes,
        ..Default::default()
    };
    let r = reports::render(&st.app, &c.actor, &req).await?;
    respond(&r, format, q.data_notes)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EvalReportQuery {
    /// zipingbaogao (default) | a copy's id
    template: Option<String>,
    standard: String,
    year: String,
    format: Option<String>,
    #[serde(default)]
    data_notes: bool,
}

/// `GET /api/v1/units/{id}/report`: the county's 自评报告 from an evaluation.
pub async fn unit_report(
    axum::extract::State(st): axum::extract::State<AppState>,
    c: ApiCaller,
    Id(id): Id,
    ApiQuery(q): ApiQuery<EvalReportQuery>,
) -> ApiResult {
    let format = Format::parse(q.format.as_deref().unwrap_or("docx"))?;
    let req = ReportRequest {
        template: q.template.unwrap_or_else(|| "zipingbaogao".into()),
        standard: Some(q.standard),
        year: Some(q.year),
        unit: Some(id.to_string()),
        data_notes: q.data_notes,
        ..Default::default()
    };
    let r = reports::render(&st.app, &c.actor, &req).await?;
    respond(&r, format, q.data_notes)
}

pub async fn templates_list(
    axum::extract::State(st): axum::extract::State<AppState>,
    _c: ApiCaller,
) -> ApiResult {
    ok(json!({
        "templates": reports::list_templates(&st.app).await?,
        "functions": reports::FUNCTIONS.iter().map(|(f, d)| json!({"function": f, "returns": d})).collect::<Vec<_>>(),
    }))
}

pub async fn templates_copy(
    axum::extract::State(st): axum::extract::State<AppState>,
    c: ApiCaller,
    ApiJson(b): ApiJson<CopyBody>,
) -> ApiResult {
    created(reports::copy_template(&st.app, &c.actor, &b.based_on, &b.id, &b.name).await?)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UpdateBody {
    version: i64,
    #[serde(default)]
    name: String,
    body: String,
}

pub async fn templates_update(
    axum::extract::State(st): axum::extract::State<AppState>,
    c: ApiCaller,
    axum::extract::Path(id): axum::extract::Path<String>,
    ApiJson(b): ApiJson<UpdateBody>,
) -> ApiResult {
    ok(reports::update_template(&st.app, &c.actor, &id, b.version, &b.name, &b.body).await?)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PreviewBody {
    /// The template source as edited (not saved).
    body: String,
    #[serde(default)]
    ledger: Option<String>,
    #[serde(default)]
    period: Option<String>,
    #[serde(default)]
    standard: Option<String>,
    #[serde(default)]
    year: Option<String>,
    #[serde(default)]
    unit: Option<String>,
}

/// `POST /api/v1/report-templates/preview`: the editor's live preview of unsaved source, as
/// HTML with its figures; template managers only.
pub async fn templates_preview(
    axum::extract::State(st): axum::extract::State<AppState>,
    c: ApiCaller,
    ApiJson(b): ApiJson<PreviewBody>,
) -> ApiResult {
    reports::may_manage(&c.actor)?;
    let req = ReportRequest {
        template: "preview".into(),
        ledger: b.ledger,
        period: b.period,
        standard: b.standard,
        year: b.year,
        unit: b.unit,
        data_notes: false,
    };
    let r = reports::render_source(&st.app, &c.actor, &b.body, &req).await?;
    ok(json!({"title": r.title, "html": r.doc.to_html_fragment(), "figures": r.doc.figures}))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CheckBody {
    text: String,
    /// Also list the claims found consistent.
    #[serde(default)]
    all: bool,
    /// Also check the figures against this ledger's records (id or exact name).
    #[serde(default)]
    ledger: Option<String>,
}

/// `POST /api/v1/check`: 数据核验 of report text (numbers against each other).
pub async fn check_text(
    axum::extract::State(st): axum::extract::State<AppState>,
    c: ApiCaller,
    ApiJson(b): ApiJson<CheckBody>,
) -> ApiResult {
    if b.text.len() > taizhang_office::text::MAX_BYTES {
        return Err(
            taizhang_service::ServiceError::from(taizhang_domain::FieldError::new(
                "too_large",
                "text",
                format!("文本过长,上限{}字节", taizhang_office::text::MAX_BYTES),
                "the text is too long",
            ))
            .into(),
        );
    }
    let mut findings = taizhang_domain::checker::check(&b.text, b.all);
    if let Some(l) = b.ledger.as_deref().filter(|l| !l.trim().is_empty()) {
        let figs = reports::record_figures(&st.app, &c.actor, l, &b.text).await?;
        findings.extend(taizhang_domain::checker::check_against(
            &b.text, &figs, b.all,
        ));
        findings.sort_by_key(|f| f.start);
    }
    let bad = findings.iter().filter(|f| f.severity != "ok").count();
    ok(json!({"chars": b.text.chars().count(), "inconsistent": bad, "findings": findings}))
}
