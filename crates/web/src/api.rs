//! The JSON API under `/api/v1/`. Handlers are thin: extract, call one service function, render.
//! [`ROUTES`] is the single list of operations: the router, the OpenAPI document and the
//! authorisation-matrix test are all built from it.

use crate::AppState;
use crate::caller::{ApiCaller, SESSION_COOKIE, Via, client_ip, user_agent};
use crate::error::ApiError;
use axum::Json;
use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{FromRequest, FromRequestParts, Path, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodRouter, delete, get, patch, post};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use taizhang_service::{audit, auth, units, users};
use taizhang_store::audit::AuditFilter;
use taizhang_store::units::UnitFilter;
use taizhang_store::users::UserFilter;

/// A JSON body whose every problem (malformed JSON, unknown or missing field, wrong type) is a
/// 400/422 with the field named.
pub struct ApiJson<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        match Json::<T>::from_request(req, state).await {
            Ok(Json(v)) => Ok(ApiJson(v)),
            Err(e) => Err(json_error(e)),
        }
    }
}

fn field_in(msg: &str) -> Option<String> {
    let start = msg.find('`')? + 1;
    let end = start + msg[start..].find('`')?;
    Some(msg[start..end].to_string())
}

fn json_error(e: JsonRejection) -> ApiError {
    let detail = e.body_text();
    match e {
        JsonRejection::JsonDataError(_) => {
            let mut err = ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid_field",
                format!("请求内容的字段有误:{detail}"),
                format!("a field of the request body is wrong: {detail}"),
            );
            if let Some(f) = field_in(&detail) {
                err = err.with_field(f);
            }
            err
        }
        JsonRejection::MissingJsonContentType(_) => ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "content_type",
            "请求须为 JSON(Content-Type: application/json)",
            "the request body must be JSON (Content-Type: application/json)",
        ),
        JsonRejection::BytesRejection(_) => ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "too_large",
            "请求内容过大或无法读取",
            "the request body is too large or could not be read",
        ),
        _ => ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid_json",
            format!("请求内容不是合法的 JSON:{detail}"),
            format!("the request body is not valid JSON: {detail}"),
        ),
    }
}

/// Query parameters with clear errors.
pub struct ApiQuery<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        match axum::extract::Query::<T>::from_request_parts(parts, state).await {
            Ok(q) => Ok(ApiQuery(q.0)),
            Err(e @ QueryRejection::FailedToDeserializeQueryString(_)) => {
                let detail = e.body_text();
                Err(ApiError::new(
                    StatusCode::BAD_REQUEST,
                    "invalid_query",
                    format!("查询参数有误:{detail}"),
                    format!("bad query parameter: {detail}"),
                ))
            }
            Err(e) => Err(ApiError::new(
                StatusCode::BAD_REQUEST,
                "invalid_query",
                e.body_text(),
                e.body_text(),
            )),
        }
    }
}

/// Path ids that are not numbers answer 404, like ids that do not exist.
pub struct Id(pub i64);

impl<S: Send + Sync> FromRequestParts<S> for Id {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        match Path::<String>::from_request_parts(parts, state).await {
            Ok(Path(s)) => s.parse().map(Id).map_err(|_| ApiError::not_found()),
            Err(_) => Err(ApiError::not_found()),
        }
    }
}

pub(crate) type ApiResult = Result<Response, ApiError>;

pub(crate) fn ok(v: impl serde::Serialize) -> ApiResult {
    Ok(Json(v).into_response())
}

/// One page of a list and the total matching the filter (serialised straight to the body).
#[derive(serde::Serialize)]
struct Page<T> {
    total: i64,
    items: Vec<T>,
}

pub(crate) fn created(v: impl serde::Serialize) -> ApiResult {
    Ok((StatusCode::CREATED, Json(v)).into_response())
}

// ---- auth ----

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LoginBody {
    username: String,
    password: String,
}

async fn login(
    State(st): State<AppState>,
    headers: HeaderMap,
    parts: ConnParts,
    ApiJson(b): ApiJson<LoginBody>,
) -> ApiResult {
    let s = auth::login(
        &st.app,
        &b.username,
        &b.password,
        parts.ip.as_deref(),
        user_agent(&headers).as_deref(),
    )
    .await?;
    let cookie = crate::session_cookie(&s.token, st.cookie_secure);
    Ok((
        [(header::SET_COOKIE, cookie)],
        Json(json!({"csrf_token": s.csrf_token, "user_id": s.user_id, "must_change_password": s.must_change_password})),
    )
        .into_response())
}

/// The client address, for the login log.
pub struct ConnParts {
    ip: Option<String>,
}

impl<S: Send + Sync> FromRequestParts<S> for ConnParts {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(ConnParts {
            ip: client_ip(parts),
        })
    }
}

async fn logout(State(st): State<AppState>, c: ApiCaller) -> ApiResult {
    if let Via::Session { token, .. } = &c.via {
        auth::logout(&st.app, token).await?;
    }
    Ok((
        [(
            header::SET_COOKIE,
            format!("{SESSION_COOKIE}=; Path=/; Max-Age=0; HttpOnly; SameSite=Lax"),
        )],
        StatusCode::NO_CONTENT,
    )
        .into_response())
}

async fn me(c: ApiCaller) -> ApiResult {
    ok(&c.actor)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PasswordBody {
    current_password: String,
    new_password: String,
}

async fn me_password(
    State(st): State<AppState>,
    c: ApiCaller,
    ApiJson(b): ApiJson<PasswordBody>,
) -> ApiResult {
    let keep = match &c.via {
        Via::Session { token, .. } => Some(token.as_str()),
        Via::Token => None,
    };
    auth::change_password(
        &st.app,
        &c.actor,
        &b.current_password,
        &b.new_password,
        keep,
    )
    .await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TokenBody {
    name: String,
    days: Option<i64>,
}

async fn tokens_list(State(st): State<AppState>, c: ApiCaller) -> ApiResult {
    ok(auth::list_tokens(&st.app, &c.actor).await?)
}

async fn tokens_create(
    State(st): State<AppState>,
    c: ApiCaller,
    ApiJson(b): ApiJson<TokenBody>,
) -> ApiResult {
    let (secret, t) = auth::create_token(&st.app, &c.actor, &b.name, b.days).await?;
    created(json!({"token": secret, "info": t}))
}

async fn tokens_revoke(State(st): State<AppState>, c: ApiCaller, Id(id): Id) -> ApiResult {
    auth::revoke_token(&st.app, &c.actor, id).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

// ---- units ----

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct UnitQuery {
    parent_id: Option<i64>,
    under: Option<i64>,
    q: Option<String>,
    kind: Option<String>,
    #[serde(default)]
    include_inactive: bool,
    limit: Option<i64>,
    offset: Option<i64>,
}

async fn units_list(
    State(st): State<AppState>,
    c: ApiCaller,
    ApiQuery(q): ApiQuery<UnitQuery>,
) -> ApiResult {
    let under_path = match q.under {
        Some(id) => Some(units::get(&st.app, &c.actor, id).await?.path),
        None => None,
    };
    let filter = UnitFilter {
        parent_id: q.parent_id,
        roots: false,
        under_path,
        q: q.q,
        kind: q.kind,
        include_inactive: q.include_inactive,
        limit: q.limit.unwrap_or(100),
        offset: q.offset.unwrap_or(0),
    };
    let (rows, total) = units::list(&st.app, &c.actor, &filter).await?;
    ok(Page { total, items: rows })
}

async fn units_get(State(st): State<AppState>, c: ApiCaller, Id(id): Id) -> ApiResult {
    ok(units::get(&st.app, &c.actor, id).await?)
}

async fn units_create(
    State(st): State<AppState>,
    c: ApiCaller,
    ApiJson(b): ApiJson<units::CreateUnit>,
) -> ApiResult {
    created(units::create(&st.app, &c.actor, b).await?)
}

async fn units_update(
    State(st): State<AppState>,
    c: ApiCaller,
    Id(id): Id,
    ApiJson(b): ApiJson<units::UpdateUnit>,
) -> ApiResult {
    ok(units::update(&st.app, &c.actor, id, b).await?)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct MoveBody {
    parent_id: i64,
    version: i64,
}

async fn units_move(
    State(st): State<AppState>,
    c: ApiCaller,
    Id(id): Id,
    ApiJson(b): ApiJson<MoveBody>,
) -> ApiResult {
    ok(units::move_to(&st.app, &c.actor, id, b.parent_id, b.version).await?)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct VersionBody {
    version: i64,
}

async fn units_deactivate(
    State(st): State<AppState>,
    c: ApiCaller,
    Id(id): Id,
    ApiJson(b): ApiJson<VersionBody>,
) -> ApiResult {
    ok(units::deactivate(&st.app, &c.actor, id, b.version).await?)
}

// ---- users ----

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct UserQuery {
    q: Option<String>,
    unit_id: Option<i64>,
    limit: Option<i64>,
    offset: Option<i64>,
}

async fn users_list(
    State(st): State<AppState>,
    c: ApiCaller,
    ApiQuery(q): ApiQuery<UserQuery>,
) -> ApiResult {
    let f = UserFilter {
        q: q.q,
        unit_id: q.unit_id,
        limit: q.limit.unwrap_or(100),
        offset: q.offset.unwrap_or(0),
    };
    let (rows, total) = users::list(&st.app, &c.actor, &f).await?;
    ok(Page { total, items: rows })
}

async fn users_get(State(st): State<AppState>, c: ApiCaller, Id(id): Id) -> ApiResult {
    ok(users::get(&st.app, &c.actor, id).await?)
}

async fn users_create(
    State(st): State<AppState>,
    c: ApiCaller,
    ApiJson(b): ApiJson<users::CreateUser>,
) -> ApiResult {
    created(users::create(&st.app, &c.actor, b).await?)
}

async fn users_update(
    State(st): State<AppState>,
    c: ApiCaller,
    Id(id): Id,
    ApiJson(b): ApiJson<users::UpdateUser>,
) -> ApiResult {
    ok(users::update(&st.app, &c.actor, id, b).await?)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ResetBody {
    password: String,
}

async fn users_reset(
    State(st): State<AppState>,
    c: ApiCaller,
    Id(id): Id,
    ApiJson(b): ApiJson<ResetBody>,
) -> ApiResult {
    users::reset_password(&st.app, &c.actor, id, &b.password).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

// ---- audit ----

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct AuditQuery {
    entity: Option<String>,
    entity_id: Option<String>,
    action: Option<String>,
    before_seq: Option<i64>,
    limit: Option<i64>,
}

async fn audit_list(
    State(st): State<AppState>,
    c: ApiCaller,
    ApiQuery(q): ApiQuery<AuditQuery>,
) -> ApiResult {
    let f = AuditFilter {
        entity: q.entity,
        entity_id: q.entity_id,
        action: q.action,
        before_seq: q.before_seq,
        limit: q.limit.unwrap_or(100),
    };
    ok(audit::list(&st.app, &c.actor, &f).await?)
}

fn require_audit(c: &ApiCaller) -> Result<(), ApiError> {
    if c.actor.can(taizhang_domain::role::Permission::AuditRead) {
        Ok(())
    } else {
        Err(taizhang_service::ServiceError::Forbidden.into())
    }
}

async fn audit_head(State(st): State<AppState>, c: ApiCaller) -> ApiResult {
    require_audit(&c)?;
    let (seq, hash) = audit::head(&st.app.store).await?;
    ok(json!({"seq": seq, "hash": hash}))
}

async fn audit_verify(State(st): State<AppState>, c: ApiCaller) -> ApiResult {
    require_audit(&c)?;
    ok(audit::verify(&st.app.store, None).await?)
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct PageQuery {
    limit: Option<i64>,
    offset: Option<i64>,
}

async fn login_log(
    State(st): State<AppState>,
    c: ApiCaller,
    ApiQuery(q): ApiQuery<PageQuery>,
) -> ApiResult {
    ok(audit::login_log(
        &st.app,
        &c.actor,
        q.limit.unwrap_or(100),
        q.offset.unwrap_or(0),
    )
    .await?)
}

// ---- ledgers (督办台账) ----

async fn ledgers_list(State(st): State<AppState>, c: ApiCaller) -> ApiResult {
    ok(taizhang_service::ledger::list_ledgers(&st.app, &c.actor).await?)
}

async fn ledgers_create(
    State(st): State<AppState>,
    c: ApiCaller,
    ApiJson(b): ApiJson<taizhang_service::ledger::CreateLedger>,
) -> ApiResult {
    created(taizhang_service::ledger::create_ledger(&st.app, &c.actor, b).await?)
}

async fn ledgers_get(State(st): State<AppState>, c: ApiCaller, Id(id): Id) -> ApiResult {
    ok(taizhang_service::ledger::get_ledger(&st.app, &c.actor, id).await?)
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct ItemQuery {
    /// Comma-separated states.
    state: Option<String>,
    /// Lead unit inside this unit's subtree.
    unit: Option<i64>,
    source: Option<String>,
    category: Option<String>,
    level: Option<String>,
    deadline_from: Option<String>,
    deadline_to: Option<String>,
    /// Only open items past their deadline today.
    #[serde(default)]
    overdue: bool,
    q: Option<String>,
    /// Warning light: `red`, `yellow` or `green`.
    light: Option<String>,
    /// `id` (default), `deadline`, `-deadline`, `number`, `updated`.
    sort: Option<String>,
    limit: Option<i64>,
    offset: Option<i64>,
}

async fn item_filter(
    st: &AppState,
    c: &ApiCaller,
    ledger_id: i64,
    q: ItemQuery,
) -> Result<taizhang_store::ledger::ItemFilter, ApiError> {
    let lead_under = match q.unit {
        Some(u) => Some(units::get(&st.app, &c.actor, u).await?.path),
        None => None,
    };
    let date = |field: &str, v: Option<String>| -> Result<Option<String>, ApiError> {
        match v.filter(|s| !s.trim().is_empty()) {
            Some(s) => Ok(Some(
                taizhang_domain::dates::parse(field, &s)
                    .map_err(taizhang_service::ServiceError::from)?
                    .format("%Y-%m-%d")
                    .to_string(),
            )),
            None => Ok(None),
        }
    };
    let states = match q.state.as_deref().filter(|s| !s.is_empty()) {
        Some(s) => s
            .split(',')
            .map(|x| {
                taizhang_domain::ledger::ItemState::parse("state", x.trim())
                    .map(|v| v.as_str().to_string())
            })
            .collect::<Result<Vec<_>, _>>()
            .map_err(taizhang_service::ServiceError::from)?,
        None => Vec::new(),
    };
    let light = match q.light.as_deref().filter(|l| !l.is_empty()) {
        None => None,
        Some(l) => {
            let yellow = taizhang_service::ledger::get_ledger(&st.app, &c.actor, ledger_id)
                .await?
                .yellow_days;
            Some(
                taizhang_service::ledger::light_filter(&st.app, l, yellow).ok_or_else(|| {
                    ApiError::from(taizhang_service::ServiceError::Invalid(
                        taizhang_domain::FieldError::new(
                            "invalid",
                            "light",
                            "灯色应为 red、yellow 或 green",
                            "light must be red, yellow or green",
                        ),
                    ))
                })?,
            )
        }
    };
    Ok(taizhang_store::ledger::ItemFilter {
        ledger_id: Some(ledger_id),
        light,
        states,
        lead_under,
        source: q.source,
        category: q.category,
        level: q.level,
        deadline_from: date("deadline_from", q.deadline_from)?,
        deadline_to: date("deadline_to", q.deadline_to)?,
        overdue_on: q.overdue.then(|| {
            taizhang_service::ledger::today(&st.app)
                .format("%Y-%m-%d")
                .to_string()
        }),
        q: q.q,
        sort: match q.sort.as_deref() {
            None => taizhang_store::ledger::ItemSort::Id,
            Some(s) => taizhang_store::ledger::ItemSort::parse(s).ok_or_else(|| {
                ApiError::from(taizhang_service::ServiceError::Invalid(
                    taizhang_domain::FieldError::new(
                        "invalid",
                        "sort",
                        "排序方式应为 id、deadline、-deadline、number 或 updated",
                        "sort must be id, deadline, -deadline, number or updated",
                    ),
                ))
            })?,
        },
        limit: q.limit.unwrap_or(50),
        offset: q.offset.unwrap_or(0),
    })
}

async fn items_list(
    State(st): State<AppState>,
    c: ApiCaller,
    Id(id): Id,
    ApiQuery(q): ApiQuery<ItemQuery>,
) -> ApiResult {
    let f = item_filter(&st, &c, id, q).await?;
    let (rows, total) = taizhang_service::ledger::list_items(&st.app, &c.actor, &f).await?;
    ok(Page { total, items: rows })
}

async fn items_create(
    State(st): State<AppState>,
    c: ApiCaller,
    Id(id): Id,
    ApiJson(b): ApiJson<taizhang_service::ledger::CreateItem>,
) -> ApiResult {
    created(taizhang_service::ledger::create_item(&st.app, &c.actor, id, b).await?)
}

async fn ledger_figures(
    State(st): State<AppState>,
    c: ApiCaller,
    Id(id): Id,
    ApiQuery(q): ApiQuery<ItemQuery>,
) -> ApiResult {
    let mut f = item_filter(&st, &c, id, q).await?;
    f.limit = 1;
    ok(taizhang_service::ledger::figures(&st.app, &c.actor, &f).await?)
}

async fn items_get(State(st): State<AppState>, c: ApiCaller, Id(id): Id) -> ApiResult {
    ok(taizhang_service::ledger::get_item(&st.app, &c.actor, id).await?)
}

async fn webhooks_list(State(st): State<AppState>, c: ApiCaller) -> ApiResult {
    ok(taizhang_service::remind::list_webhooks(&st.app, &c.actor).await?)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct WebhookBody {
    unit_id: i64,
    kind: String,
    url: String,
}

async fn webhooks_add(
    State(st): State<AppState>,
    c: ApiCaller,
    ApiJson(b): ApiJson<WebhookBody>,
) -> ApiResult {
    let id = taizhang_service::remind::add_webhook(&st.app, &c.actor, b.unit_id, &b.kind, &b.url)
        .await?;
    created(json!({"id": id}))
}

async fn webhooks_remove(
    State(st): State<AppState>,
    c: ApiCaller,
    Id(id): Id,
) -> Result<Response, ApiError> {
    taizhang_service::remind::remove_webhook(&st.app, &c.actor, id).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn items_update(
    State(st): State<AppState>,
    c: ApiCaller,
    Id(id): Id,
    ApiJson(b): ApiJson<taizhang_service::ledger::UpdateItem>,
) -> ApiResult {
    ok(taizhang_service::ledger::update_item(&st.app, &c.actor, id, b).await?)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct BulkAssignBody {
    ids: Vec<i64>,
    deadline: String,
}

async fn items_bulk_assign(
    State(st): State<AppState>,
    c: ApiCaller,
    Id(id): Id,
    ApiJson(b): ApiJson<BulkAssignBody>,
) -> ApiResult {
    ok(taizhang_service::ledger::bulk_assign(&st.app, &c.actor, id, &b.ids, &b.deadline).await?)
}

#[derive(Deserialize)]
struct ActionBody {
    version: i64,
    #[serde(flatten)]
    action: taizhang_domain::ledger::Action,
}

async fn items_act(
    State(st): State<AppState>,
    c: ApiCaller,
    Id(id): Id,
    ApiJson(b): ApiJson<ActionBody>,
) -> ApiResult {
    ok(taizhang_service::ledger::act(&st.app, &c.actor, id, b.version, b.action).await?)
}

const XLSX: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";

pub(crate) fn xlsx_response(bytes: Vec<u8>, filename: &str) -> Response {
    file_response(bytes, filename, XLSX)
}

/// A download: the ASCII fallback name keeps the extension; the real name is UTF-8.
pub(crate) fn file_response(bytes: Vec<u8>, filename: &str, content_type: &str) -> Response {
    let ext = filename.rsplit_once('.').map_or("bin", |(_, e)| e);
    let disposition = format!(
        "attachment; filename=\"download.{ext}\"; filename*=UTF-8''{}",
        filename
            .bytes()
            .map(|b| if b.is_ascii_alphanumeric() || b == b'.' {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            })
            .collect::<String>()
    );
    (
        [
            (header::CONTENT_TYPE, content_type.to_string()),
            (header::CONTENT_DISPOSITION, disposition),
        ],
        bytes,
    )
        .into_response()
}

async fn ledger_template(_c: ApiCaller) -> ApiResult {
    let bytes = taizhang_service::ledger_excel::template()
        .map_err(|e| taizhang_service::ServiceError::Internal(e.to_string()))?;
    Ok(xlsx_response(bytes, "督办事项导入模板.xlsx"))
}

async fn ledger_export(
    State(st): State<AppState>,
    c: ApiCaller,
    Id(id): Id,
    ApiQuery(q): ApiQuery<ItemQuery>,
) -> ApiResult {
    let f = item_filter(&st, &c, id, q).await?;
    let l = taizhang_service::ledger::get_ledger(&st.app, &c.actor, id).await?;
    let bytes = taizhang_service::ledger_excel::export(&st.app, &c.actor, &f).await?;
    Ok(xlsx_response(bytes, &format!("{}.xlsx", l.name)))
}

/// The outcome of an import as JSON: 200 with the count, or the file/cell errors.
pub fn import_result(r: Result<usize, taizhang_service::ledger_excel::ImportError>) -> ApiResult {
    use taizhang_service::ledger_excel::ImportError;
    match r {
        Ok(n) => ok(json!({"imported": n})),
        Err(ImportError::Cells(errors)) => Ok((
            StatusCode::UNPROCESSABLE_ENTITY,
            Json(json!({
                "error": "bad_cells",
                "message": format!("未导入任何数据:共{}处错误", errors.len()),
                "message_en": format!("nothing was imported: {} bad cells", errors.len()),
                "errors": errors,
            })),
        )
            .into_response()),
        Err(ImportError::File(e)) => Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "bad_file",
            e.to_string(),
            e.to_string(),
        )
        .with_field("file")),
        Err(ImportError::Service(e)) => Err(e.into()),
    }
}

async fn ledger_import(
    State(st): State<AppState>,
    c: ApiCaller,
    Id(id): Id,
    body: axum::body::Bytes,
) -> ApiResult {
    // The ledger first, so a foreign id is 404 whatever the file holds.
    taizhang_service::ledger::get_ledger(&st.app, &c.actor, id).await?;
    let sheet = match tokio::task::spawn_blocking(move || {
        taizhang_service::ledger_excel::read(&body)
    })
    .await
    {
        Ok(Ok(s)) => s,
        Ok(Err(e)) => {
            return import_result(Err(taizhang_service::ledger_excel::ImportError::File(e)));
        }
        Err(e) => return Err(taizhang_service::ServiceError::Internal(e.to_string()).into()),
    };
    import_result(
        taizhang_service::ledger_excel::import(&st.app, &c.actor, id, sheet, &mut |_, _| {}).await,
    )
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct InboxQuery {
    #[serde(default)]
    unread: bool,
}

async fn inbox(
    State(st): State<AppState>,
    c: ApiCaller,
    ApiQuery(q): ApiQuery<InboxQuery>,
) -> ApiResult {
    ok(taizhang_service::remind::inbox(&st.app, &c.actor, q.unread).await?)
}

async fn inbox_read(State(st): State<AppState>, c: ApiCaller, Id(id): Id) -> ApiResult {
    taizhang_service::remind::mark_read(&st.app, &c.actor, id).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn calendar_year(State(st): State<AppState>, _c: ApiCaller, Id(year): Id) -> ApiResult {
    ok(taizhang_service::calendar::year(&st.app, year as i32)?)
}

async fn calendar_set(
    State(st): State<AppState>,
    c: ApiCaller,
    ApiJson(b): ApiJson<taizhang_service::calendar::SetDay>,
) -> ApiResult {
    ok(taizhang_service::calendar::set_day(&st.app, &c.actor, b).await?)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FileQuery {
    filename: String,
}

async fn attachments_list(State(st): State<AppState>, c: ApiCaller, Id(id): Id) -> ApiResult {
    ok(taizhang_service::ledger::attachments(&st.app, &c.actor, id).await?)
}

async fn attachments_add(
    State(st): State<AppState>,
    c: ApiCaller,
    Id(id): Id,
    ApiQuery(q): ApiQuery<FileQuery>,
    body: axum::body::Bytes,
) -> ApiResult {
    created(taizhang_service::ledger::attach(&st.app, &c.actor, id, &q.filename, &body).await?)
}

/// `attachment; filename*=UTF-8''…` with the name percent-encoded.
pub fn disposition(filename: &str) -> String {
    let enc: String = filename
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"._-".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect();
    format!("attachment; filename=\"file\"; filename*=UTF-8''{enc}")
}

async fn attachment_get(State(st): State<AppState>, c: ApiCaller, Id(id): Id) -> ApiResult {
    let (meta, data) = taizhang_service::ledger::download(&st.app, &c.actor, id).await?;
    Ok((
        [
            (header::CONTENT_TYPE, meta.content_type.clone()),
            (header::CONTENT_DISPOSITION, disposition(&meta.filename)),
        ],
        data,
    )
        .into_response())
}

async fn items_cooperate(
    State(st): State<AppState>,
    c: ApiCaller,
    Id(id): Id,
    ApiJson(b): ApiJson<taizhang_service::ledger::Cooperate>,
) -> ApiResult {
    ok(taizhang_service::ledger::cooperate(&st.app, &c.actor, id, b).await?)
}

/// One operation of the API.
pub struct Route {
    pub method: &'static str,
    pub path: &'static str,
    pub summary_zh: &'static str,
    pub summary_en: &'static str,
    pub tag: &'static str,
    /// Whether the operation needs a signed-in caller.
    pub auth: bool,
    pub handler: fn() -> MethodRouter<AppState>,
}

macro_rules! route {
    ($m:literal, $p:literal, $tag:literal, $auth:literal, $zh:literal, $en:literal, $f:expr) => {
        Route {
            method: $m,
            path: $p,
            summary_zh: $zh,
            summary_en: $en,
            tag: $tag,
            auth: $auth,
            handler: || $f,
        }
    };
}

pub const ROUTES: &[Route] = &[
    route!(
        "POST",
        "/api/v1/auth/login",
        "auth",
        false,
        "登录",
        "Sign in (sets the session cookie, returns the CSRF token)",
        post(login)
    ),
    route!(
        "POST",
        "/api/v1/auth/logout",
        "auth",
        true,
        "退出登录",
        "Sign out",
        post(logout)
    ),
    route!(
        "GET",
        "/api/v1/me",
        "auth",
        true,
        "当前用户",
        "The signed-in user with roles",
        get(me)
    ),
    route!(
        "POST",
        "/api/v1/me/password",
        "auth",
        true,
        "修改密码",
        "Change own password",
        post(me_password)
    ),
    route!(
        "GET",
        "/api/v1/me/tokens",
        "auth",
        true,
        "我的接口令牌",
        "Own API tokens",
        get(tokens_list)
    ),
    route!(
        "POST",
        "/api/v1/me/tokens",
        "auth",
        true,
        "新建接口令牌",
        "Create an API token",
        post(tokens_create)
    ),
    route!(
        "DELETE",
        "/api/v1/me/tokens/{id}",
        "auth",
        true,
        "吊销接口令牌",
        "Revoke an API token",
        delete(tokens_revoke)
    ),
    route!(
        "GET",
        "/api/v1/units",
        "units",
        true,
        "单位列表",
        "List units in scope",
        get(units_list)
    ),
    route!(
        "POST",
        "/api/v1/units",
        "units",
        true,
        "新建单位",
        "Create a unit",
        post(units_create)
    ),
    route!(
        "GET",
        "/api/v1/units/{id}",
        "units",
        true,
        "单位详情",
        "Get a unit",
        get(units_get)
    ),
    route!(
        "PATCH",
        "/api/v1/units/{id}",
        "units",
        true,
        "修改单位",
        "Edit a unit (optimistic version check)",
        patch(units_update)
    ),
    route!(
        "POST",
        "/api/v1/units/{id}/move",
        "units",
        true,
        "移动单位",
        "Move a unit with its subtree",
        post(units_move)
    ),
    route!(
        "POST",
        "/api/v1/units/{id}/deactivate",
        "units",
        true,
        "停用单位",
        "Deactivate a unit",
        post(units_deactivate)
    ),
    route!(
        "GET",
        "/api/v1/users",
        "users",
        true,
        "用户列表",
        "List users in scope",
        get(users_list)
    ),
    route!(
        "POST",
        "/api/v1/users",
        "users",
        true,
        "新建用户",
        "Create a user with roles",
        post(users_create)
    ),
    route!(
        "GET",
        "/api/v1/users/{id}",
        "users",
        true,
        "用户详情",
        "Get a user with roles",
        get(users_get)
    ),
    route!(
        "PATCH",
        "/api/v1/users/{id}",
        "users",
        true,
        "修改用户",
        "Edit a user, roles and scopes",
        patch(users_update)
    ),
    route!(
        "POST",
        "/api/v1/users/{id}/password",
        "users",
        true,
        "重置密码",
        "Reset a user's password",
        post(users_reset)
    ),
    route!(
        "GET",
        "/api/v1/audit",
        "audit",
        true,
        "审计日志",
        "Audit events in scope, newest first",
        get(audit_list)
    ),
    route!(
        "GET",
        "/api/v1/audit/head",
        "audit",
        true,
        "审计链最新哈希",
        "Head of the audit chain",
        get(audit_head)
    ),
    route!(
        "POST",
        "/api/v1/audit/verify",
        "audit",
        true,
        "校验审计链",
        "Recompute the audit chain",
        post(audit_verify)
    ),
    route!(
        "GET",
        "/api/v1/login-log",
        "audit",
        true,
        "登录日志",
        "Sign-in log in scope",
        get(login_log)
    ),
    route!(
        "GET",
        "/api/v1/ledgers",
        "ledgers",
        true,
        "台账列表",
        "Ledgers in scope",
        get(ledgers_list)
    ),
    route!(
        "POST",
        "/api/v1/ledgers",
        "ledgers",
        true,
        "新建台账",
        "Create a ledger",
        post(ledgers_create)
    ),
    route!(
        "GET",
        "/api/v1/ledgers/{id}",
        "ledgers",
        true,
        "台账详情",
        "Get a ledger",
        get(ledgers_get)
    ),
    route!(
        "GET",
        "/api/v1/ledgers/{id}/items",
        "ledgers",
        true,
        "事项列表",
        "List a ledger's items (filters: state, unit, source, category, level, deadline range, overdue, q)",
        get(items_list)
    ),
    route!(
        "POST",
        "/api/v1/ledgers/{id}/items",
        "ledgers",
        true,
        "新建事项",
        "Create an item (optionally assign it at once)",
        post(items_create)
    ),
    route!(
        "GET",
        "/api/v1/ledgers/{id}/figures",
        "ledgers",
        true,
        "台账统计",
        "Figures: totals, 办结率, 按期办结率, overdue; by unit, source, category, level",
        get(ledger_figures)
    ),
    route!(
        "GET",
        "/api/v1/ledger-template.xlsx",
        "ledgers",
        true,
        "导入模板",
        "The ledger-item import template (.xlsx)",
        get(ledger_template)
    ),
    route!(
        "GET",
        "/api/v1/ledgers/{id}/export.xlsx",
        "ledgers",
        true,
        "导出事项",
        "Export the filtered items (.xlsx)",
        get(ledger_export)
    ),
    route!(
        "POST",
        "/api/v1/ledgers/{id}/import",
        "ledgers",
        true,
        "导入事项",
        "Import items from a filled-in template (raw .xlsx body, at most 50 MB): all rows or none; 422 lists every bad cell",
        post(ledger_import).layer(axum::extract::DefaultBodyLimit::max(50 << 20))
    ),
    route!(
        "GET",
        "/api/v1/inbox",
        "ledgers",
        true,
        "消息",
        "Reminders and warnings for the units one handles or supervises",
        get(inbox)
    ),
    route!(
        "POST",
        "/api/v1/inbox/{id}/read",
        "ledgers",
        true,
        "标为已读",
        "Mark a message read",
        post(inbox_read)
    ),
    route!(
        "GET",
        "/api/v1/calendar/{id}",
        "calendar",
        true,
        "工作日历",
        "The working-day calendar of a year: holidays and 调休; `covered` false means no arrangement yet",
        get(calendar_year)
    ),
    route!(
        "POST",
        "/api/v1/calendar/days",
        "calendar",
        true,
        "录入节假日",
        "Add or correct a day (system administrators with the all scope)",
        post(calendar_set)
    ),
    route!(
        "GET",
        "/api/v1/items/{id}/attachments",
        "ledgers",
        true,
        "佐证材料",
        "An item's evidence files",
        get(attachments_list)
    ),
    route!(
        "POST",
        "/api/v1/items/{id}/attachments",
        "ledgers",
        true,
        "上传佐证材料",
        "Attach evidence (raw body, ?filename=; PDF, PNG/JPG, Word, Excel, ZIP; at most 20 MB; type checked from the content)",
        post(attachments_add).layer(axum::extract::DefaultBodyLimit::max(21 << 20))
    ),
    route!(
        "GET",
        "/api/v1/attachments/{id}",
        "ledgers",
        true,
        "下载佐证材料",
        "Download an evidence file",
        get(attachment_get)
    ),
    route!(
        "POST",
        "/api/v1/items/{id}/cooperation",
        "ledgers",
        true,
        "协办进展",
        "A cooperating unit reports its progress (0-100) and note",
        post(items_cooperate)
    ),
    route!(
        "GET",
        "/api/v1/items/{id}",
        "ledgers",
        true,
        "事项详情",
        "An item with its light and timeline",
        get(items_get)
    ),
    route!(
        "GET",
        "/api/v1/webhooks",
        "reminders",
        true,
        "机器人列表",
        "Chat-robot webhooks (企业微信/钉钉/飞书) of the units the caller manages",
        get(webhooks_list)
    ),
    route!(
        "POST",
        "/api/v1/webhooks",
        "reminders",
        true,
        "新增机器人",
        "Register a chat-robot webhook for a unit's subtree: kind wecom | dingtalk | feishu, url",
        post(webhooks_add)
    ),
    route!(
        "DELETE",
        "/api/v1/webhooks/{id}",
        "reminders",
        true,
        "停用机器人",
        "Stop a webhook (its delivery log is kept)",
        delete(webhooks_remove)
    ),
    route!(
        "PATCH",
        "/api/v1/items/{id}",
        "ledgers",
        true,
        "修改事项",
        "Edit an item's fields (version-checked; never a closed item; lead unit and deadline only in a draft)",
        patch(items_update)
    ),
    route!(
        "POST",
        "/api/v1/ledgers/{id}/bulk-assign",
        "ledgers",
        true,
        "批量交办",
        "Assign several draft items of the ledger with one deadline; each item's outcome is reported",
        post(items_bulk_assign)
    ),
    route!(
        "POST",
        "/api/v1/items/{id}/actions",
        "ledgers",
        true,
        "事项流转",
        "Apply a workflow action: assign, accept, report, submit, close, return, escalate, …",
        post(items_act)
    ),
    route!(
        "GET",
        "/api/v1/standards",
        "indicators",
        true,
        "评估标准",
        "The evaluation standards (built-in presets with thresholds and clauses)",
        get(crate::api_indicators::standards_list)
    ),
    route!(
        "GET",
        "/api/v1/forms",
        "indicators",
        true,
        "填报表",
        "Forms (built-in and administrators') and data elements (built-in and custom)",
        get(crate::api_indicators::forms_list)
    ),
    route!(
        "POST",
        "/api/v1/forms",
        "indicators",
        true,
        "新建填报表",
        "Add a form: period type (school_year, semester, year, month), school types, elements",
        post(crate::api_indicators::forms_create)
    ),
    route!(
        "POST",
        "/api/v1/elements",
        "indicators",
        true,
        "新建数据项",
        "Add a custom data element (code, name, unit, kind count|amount, per_stage)",
        post(crate::api_indicators::elements_create)
    ),
    route!(
        "POST",
        "/api/v1/standards",
        "indicators",
        true,
        "复制评估标准",
        "Copy a standard under a new id (administrators over everything)",
        post(crate::api_indicators::standards_copy)
    ),
    route!(
        "PUT",
        "/api/v1/standards/{id}",
        "indicators",
        true,
        "修改评估标准",
        "Replace an administrator's standard with an edited JSON body (version-checked)",
        axum::routing::put(crate::api_indicators::standards_update)
    ),
    route!(
        "GET",
        "/api/v1/returns",
        "indicators",
        true,
        "填报情况",
        "Schools in scope with their return's state for a year (?year=2024&under=ID)",
        get(crate::api_indicators::returns_list)
    ),
    route!(
        "GET",
        "/api/v1/schools/{id}/data",
        "indicators",
        true,
        "学校填报数据",
        "A school's data for a year with validation findings and year-on-year outliers",
        get(crate::api_indicators::school_data)
    ),
    route!(
        "PUT",
        "/api/v1/schools/{id}/data",
        "indicators",
        true,
        "保存填报数据",
        "Replace a school's data for a year (draft returns only)",
        axum::routing::put(crate::api_indicators::school_data_save)
    ),
    route!(
        "POST",
        "/api/v1/schools/{id}/data/actions",
        "indicators",
        true,
        "报送/审核/退回",
        "Submit, approve or return a school's data for a year",
        post(crate::api_indicators::school_data_action)
    ),
    route!(
        "GET",
        "/api/v1/units/{id}/evaluation",
        "indicators",
        true,
        "均衡评估",
        "Evaluate the schools under a unit (?standard=&year=&include_unapproved=)",
        get(crate::api_indicators::evaluation)
    ),
    route!(
        "GET",
        "/api/v1/units/{id}/gaps",
        "indicators",
        true,
        "查漏补缺",
        "An evaluation's gaps and the rectification items raised for them",
        get(crate::api_indicators::gaps)
    ),
    route!(
        "POST",
        "/api/v1/units/{id}/gaps",
        "indicators",
        true,
        "生成整改事项",
        "Raise one rectification item per gap not raised yet",
        post(crate::api_indicators::gaps_raise)
    ),
    route!(
        "GET",
        "/api/v1/schools-template.xlsx",
        "indicators",
        true,
        "学校数据导入模板",
        "The school statistics import template (.xlsx)",
        get(crate::api_indicators::schools_template)
    ),
    route!(
        "POST",
        "/api/v1/schools/import",
        "indicators",
        true,
        "导入学校数据",
        "Import school statistics (.xlsx or .csv body) for ?year=; all rows or none",
        post(crate::api_indicators::schools_import)
            .layer(axum::extract::DefaultBodyLimit::max(200 << 20))
    ),
    route!(
        "GET",
        "/api/v1/ledgers/{id}/report",
        "reports",
        true,
        "生成台账报告",
        "A ledger's report from a template (?template=tongbao|huibao&period=2024-05&format=docx|md|html&data_notes=true)",
        get(crate::api_reports::ledger_report)
    ),
    route!(
        "GET",
        "/api/v1/units/{id}/report",
        "reports",
        true,
        "生成自评报告",
        "A county's self-evaluation report (?template=zipingbaogao&standard=quality-2017&year=2024&format=docx|md|html)",
        get(crate::api_reports::unit_report)
    ),
    route!(
        "GET",
        "/api/v1/report-templates",
        "reports",
        true,
        "报告模板",
        "The report templates (built-in and administrators' copies) and the data functions",
        get(crate::api_reports::templates_list)
    ),
    route!(
        "POST",
        "/api/v1/report-templates",
        "reports",
        true,
        "复制报告模板",
        "Copy a template under a new id (administrators over everything)",
        post(crate::api_reports::templates_copy)
    ),
    route!(
        "PUT",
        "/api/v1/report-templates/{id}",
        "reports",
        true,
        "修改报告模板",
        "Save an edited template (version-checked; a template error names the line)",
        axum::routing::put(crate::api_reports::templates_update)
    ),
    route!(
        "POST",
        "/api/v1/report-templates/preview",
        "reports",
        true,
        "预览报告模板",
        "Render unsaved template source as HTML with its figures (administrators over everything)",
        post(crate::api_reports::templates_preview)
    ),
    route!(
        "POST",
        "/api/v1/check",
        "reports",
        true,
        "数据核验",
        "Check a report's numbers against each other (text; ?all lists consistent claims too)",
        post(crate::api_reports::check_text).layer(axum::extract::DefaultBodyLimit::max(21 << 20))
    ),
];

/// The OpenAPI 3 document, generated from [`ROUTES`].
pub fn openapi() -> Value {
    let mut paths = serde_json::Map::new();
    for r in ROUTES {
        let entry = paths.entry(r.path.to_string()).or_insert_with(|| json!({}));
        let mut params = Vec::new();
        if r.path.contains("{id}") {
            params.push(json!({"name": "id", "in": "path", "required": true, "schema": {"type": "integer", "format": "int64"}}));
        }
        let mut responses = json!({
            "200": {"description": "OK"},
            "400": {"$ref": "#/components/responses/Error"},
            "422": {"$ref": "#/components/responses/Error"}
        });
        if r.auth {
            responses["401"] = json!({"$ref": "#/components/responses/Error"});
            responses["403"] = json!({"$ref": "#/components/responses/Error"});
            responses["404"] = json!({"$ref": "#/components/responses/Error"});
        }
        if matches!(r.method, "PATCH" | "POST") && r.path.contains("{id}") {
            responses["409"] = json!({"$ref": "#/components/responses/Error"});
        }
        let mut op = json!({
            "operationId": format!("{}_{}", r.method.to_lowercase(), r.path.trim_start_matches("/api/v1/").replace(['/', '{', '}', '-'], "_")),
            "summary": r.summary_en,
            "description": r.summary_zh,
            "tags": [r.tag],
            "parameters": params,
            "responses": responses,
        });
        if matches!(r.method, "POST" | "PATCH") {
            op["requestBody"] = json!({"required": false, "content": {"application/json": {"schema": {"type": "object"}}}});
        }
        if !r.auth {
            op["security"] = json!([]);
        }
        entry[r.method.to_lowercase()] = op;
    }
    json!({
        "openapi": "3.0.3",
        "info": {"title": "Taizhang API", "version": env!("CARGO_PKG_VERSION"),
                 "description": "台账 工作督办系统 API. Errors are {error, message, message_en, field}. Browser sessions send X-CSRF-Token on unsafe methods; scripts use Authorization: Bearer tz_…"},
        "paths": paths,
        "components": {
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer"},
                "cookie": {"type": "apiKey", "in": "cookie", "name": SESSION_COOKIE}
            },
            "responses": {"Error": {"description": "Error", "content": {"application/json": {"schema": {
                "type": "object", "required": ["error", "message"],
                "properties": {"error": {"type": "string"}, "message": {"type": "string"}, "message_en": {"type": "string"}, "field": {"type": "string"}}
            }}}}}
        },
        "security": [{"bearer": []}, {"cookie": []}]
    })
}
