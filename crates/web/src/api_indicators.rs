//! API handlers of the school indicators (均衡发展指标): 填报, 审核, evaluation, gaps into the
//! ledger, the school statistics import. Routes are listed in [`crate::api::ROUTES`].

use crate::AppState;
use crate::api::{ApiJson, ApiQuery, ApiResult, Id, created, ok};
use crate::caller::ApiCaller;
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use serde::Deserialize;
use serde_json::json;
use taizhang_service::indicators as ind;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct YearQuery {
    year: String,
    #[serde(default)]
    under: Option<i64>,
}

pub async fn returns_list(
    State(st): State<AppState>,
    c: ApiCaller,
    ApiQuery(q): ApiQuery<YearQuery>,
) -> ApiResult {
    ok(ind::returns(&st.app, &c.actor, &q.year, q.under).await?)
}

/// Which return: the built-in form by `year` (学年), or any form by `form` and `period`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DataQuery {
    #[serde(default)]
    year: String,
    #[serde(default)]
    form: String,
    #[serde(default)]
    period: String,
}

impl DataQuery {
    fn period(&self) -> &str {
        which_period(&self.year, &self.period)
    }
}

/// The period a request names: `period` (any form), else `year` (the built-in 学年 form).
fn which_period<'a>(year: &'a str, period: &'a str) -> &'a str {
    if period.is_empty() { year } else { period }
}

pub async fn school_data(
    State(st): State<AppState>,
    c: ApiCaller,
    Id(id): Id,
    ApiQuery(q): ApiQuery<DataQuery>,
) -> ApiResult {
    ok(ind::school_return_form(&st.app, &c.actor, &q.form, id, q.period()).await?)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SaveBody {
    #[serde(default)]
    year: String,
    #[serde(default)]
    form: String,
    #[serde(default)]
    period: String,
    entries: Vec<ind::Entry>,
}

pub async fn school_data_save(
    State(st): State<AppState>,
    c: ApiCaller,
    Id(id): Id,
    ApiJson(b): ApiJson<SaveBody>,
) -> ApiResult {
    let period = which_period(&b.year, &b.period);
    ind::save_form(&st.app, &c.actor, &b.form, id, period, &b.entries).await?;
    ok(ind::school_return_form(&st.app, &c.actor, &b.form, id, period).await?)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ActionBody {
    #[serde(default)]
    year: String,
    #[serde(default)]
    form: String,
    #[serde(default)]
    period: String,
    action: String,
    #[serde(default)]
    reason: String,
}

pub async fn school_data_action(
    State(st): State<AppState>,
    c: ApiCaller,
    Id(id): Id,
    ApiJson(b): ApiJson<ActionBody>,
) -> ApiResult {
    let period = which_period(&b.year, &b.period);
    ok(ind::transition_form(&st.app, &c.actor, &b.form, id, period, &b.action, &b.reason).await?)
}

pub async fn forms_list(State(st): State<AppState>, _c: ApiCaller) -> ApiResult {
    let forms = taizhang_service::forms::forms(&st.app).await?;
    let elements = taizhang_service::forms::elements(&st.app).await?;
    ok(json!({"forms": forms, "elements": elements.elements}))
}

pub async fn forms_create(
    State(st): State<AppState>,
    c: ApiCaller,
    ApiJson(f): ApiJson<taizhang_domain::forms::Form>,
) -> ApiResult {
    created(taizhang_service::forms::create_form(&st.app, &c.actor, f).await?)
}

pub async fn elements_create(
    State(st): State<AppState>,
    c: ApiCaller,
    ApiJson(e): ApiJson<taizhang_domain::standards::Element>,
) -> ApiResult {
    created(taizhang_service::forms::add_element(&st.app, &c.actor, e).await?)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EvalQuery {
    standard: String,
    year: String,
    #[serde(default)]
    include_unapproved: bool,
}

pub async fn evaluation(
    State(st): State<AppState>,
    c: ApiCaller,
    Id(id): Id,
    ApiQuery(q): ApiQuery<EvalQuery>,
) -> ApiResult {
    ok(ind::evaluate(
        &st.app,
        &c.actor,
        &q.standard,
        &q.year,
        id,
        q.include_unapproved,
    )
    .await?)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GapQuery {
    standard: String,
    year: String,
}

pub async fn gaps(
    State(st): State<AppState>,
    c: ApiCaller,
    Id(id): Id,
    ApiQuery(q): ApiQuery<GapQuery>,
) -> ApiResult {
    ok(ind::gaps(&st.app, &c.actor, &q.standard, &q.year, id).await?)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GapBody {
    standard: String,
    year: String,
    deadline: String,
}

pub async fn gaps_raise(
    State(st): State<AppState>,
    c: ApiCaller,
    Id(id): Id,
    ApiJson(b): ApiJson<GapBody>,
) -> ApiResult {
    created(ind::raise_gaps(&st.app, &c.actor, &b.standard, &b.year, id, &b.deadline).await?)
}

pub async fn standards_list(State(st): State<AppState>, _c: ApiCaller) -> ApiResult {
    ok(ind::all_standards(&st.app).await?)
}

/// A copy of a standard or a report template: what it copies, the new id and name.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CopyBody {
    pub(crate) based_on: String,
    pub(crate) id: String,
    #[serde(default)]
    pub(crate) name: String,
}

pub async fn standards_copy(
    State(st): State<AppState>,
    c: ApiCaller,
    ApiJson(b): ApiJson<CopyBody>,
) -> ApiResult {
    created(ind::copy_standard(&st.app, &c.actor, &b.based_on, &b.id, &b.name).await?)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StandardBody {
    version: i64,
    /// The whole standard as JSON text (as edited).
    body: String,
}

pub async fn standards_update(
    State(st): State<AppState>,
    c: ApiCaller,
    axum::extract::Path(id): axum::extract::Path<String>,
    ApiJson(b): ApiJson<StandardBody>,
) -> ApiResult {
    ok(ind::update_standard(&st.app, &c.actor, &id, b.version, &b.body).await?)
}

pub async fn schools_template(_c: ApiCaller) -> ApiResult {
    let bytes = taizhang_service::schools_import::template()
        .map_err(|e| taizhang_service::ServiceError::Internal(e.to_string()))?;
    Ok(crate::api::xlsx_response(
        bytes,
        "学校基础数据导入模板.xlsx",
    ))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ImportQuery {
    year: String,
    #[serde(default)]
    approve: bool,
}

/// The outcome of a school import: 200 with the summary, or every bad cell (422).
pub fn import_outcome(
    r: Result<
        taizhang_service::schools_import::Summary,
        taizhang_service::ledger_excel::ImportError,
    >,
) -> ApiResult {
    match r {
        Ok(s) => ok(s),
        Err(taizhang_service::ledger_excel::ImportError::Cells(errors)) => Ok((
            StatusCode::UNPROCESSABLE_ENTITY,
            Json(json!({
                "error": "bad_cells",
                "message": format!("未导入任何数据:共{}处错误", errors.len()),
                "message_en": format!("nothing was imported: {} bad cells", errors.len()),
                "errors": errors,
            })),
        )
            .into_response()),
        Err(e) => crate::api::import_result(Err(e)),
    }
}

pub async fn schools_import(
    State(st): State<AppState>,
    c: ApiCaller,
    ApiQuery(q): ApiQuery<ImportQuery>,
    body: axum::body::Bytes,
) -> ApiResult {
    use taizhang_service::ledger_excel::ImportError;
    use taizhang_service::schools_import as si;
    let csv = si::looks_like_csv(&body);
    let sheet = match tokio::task::spawn_blocking(move || si::read(&body, csv)).await {
        Ok(Ok(s)) => s,
        Ok(Err(e)) => return import_outcome(Err(ImportError::File(e))),
        Err(e) => return Err(taizhang_service::ServiceError::Internal(e.to_string()).into()),
    };
    import_outcome(si::import(&st.app, &c.actor, &q.year, sheet, q.approve).await)
}
