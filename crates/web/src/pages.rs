//! Server-rendered pages (askama). Every form carries the session's CSRF token; every error is
//! shown on the page it came from, in the user's language.

use crate::AppState;
use crate::caller::{LANG_COOKIE, PageCaller, SESSION_COOKIE, client_ip, cookie, tr, user_agent};
use crate::i18n::Tr;
use askama::Template;
use axum::extract::{FromRequestParts, Path, Query, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use serde::Deserialize;
use std::collections::HashMap;
use taizhang_domain::role::{Permission, Role, RoleAssignment, ScopeKind};
use taizhang_domain::unit::{SchoolStage, UnitKind};
use taizhang_service::error_fmt::fmt_time;
use taizhang_service::{ServiceError, audit, auth, units, users};
use taizhang_store::audit::AuditFilter;
use taizhang_store::units::{Unit, UnitFilter};
use taizhang_store::users::UserFilter;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/", get(home))
        .route("/login", get(login_page).post(login_submit))
        .route("/logout", post(logout))
        .route("/lang", get(switch_lang))
        .route("/password", get(password_page).post(password_submit))
        .route("/units", get(units_page).post(unit_create))
        .route("/units/{id}", post(unit_update))
        .route("/units/{id}/move", post(unit_move))
        .route("/units/{id}/active", post(unit_active))
        .route("/users", get(users_page).post(user_create))
        .route("/users/{id}", get(user_page).post(user_update))
        .route("/users/{id}/password", post(user_reset))
        .route("/audit", get(audit_page))
        .route("/audit/verify", post(audit_verify))
        .route("/login-log", get(login_log_page))
        .route("/tokens", get(tokens_page).post(token_create))
        .route("/tokens/{id}/revoke", post(token_revoke))
        .merge(crate::pages_ledger::routes())
        .merge(crate::pages_indicators::routes())
        .merge(crate::pages_reports::routes())
}

/// What every page's frame needs.
pub struct Layout {
    pub tr: Tr,
    pub title: String,
    pub user: Option<(String, String)>,
    pub csrf: String,
    pub crumbs: Vec<(String, String)>,
    pub ok: Option<String>,
    pub err: Option<String>,
    pub nav: &'static str,
}

#[derive(Deserialize, Default)]
pub(crate) struct Flash {
    pub(crate) ok: Option<String>,
    pub(crate) err: Option<String>,
}

impl<S: Send + Sync> FromRequestParts<S> for Flash {
    type Rejection = std::convert::Infallible;
    async fn from_request_parts(parts: &mut Parts, s: &S) -> Result<Self, Self::Rejection> {
        Ok(Query::<Flash>::from_request_parts(parts, s)
            .await
            .map(|q| q.0)
            .unwrap_or_default())
    }
}

pub(crate) fn layout(
    c: &PageCaller,
    title: &str,
    nav: &'static str,
    crumbs: Vec<(String, String)>,
    flash: Flash,
) -> Layout {
    Layout {
        tr: c.tr,
        title: title.to_string(),
        user: Some((c.actor.display_name.clone(), c.actor.unit_name.clone())),
        csrf: c.csrf.clone(),
        crumbs,
        ok: flash.ok,
        err: flash.err,
        nav,
    }
}

pub(crate) fn render(t: impl Template) -> Response {
    match t.render() {
        Ok(html) => Html(html).into_response(),
        Err(e) => {
            eprintln!("template error: {e}");
            (StatusCode::INTERNAL_SERVER_ERROR, "template error").into_response()
        }
    }
}

/// The page answer for a record that does not exist or lies outside the caller's scope.
pub(crate) fn not_found_page(tr: Tr, zh: &str, en: &str) -> Response {
    (StatusCode::NOT_FOUND, tr.pick(zh, en).to_string()).into_response()
}

pub(crate) fn msg(tr: Tr, e: &ServiceError) -> String {
    if let ServiceError::Internal(d) = e {
        eprintln!("internal error: {d}");
    }
    tr.pick(&e.message_zh(), &e.message_en()).to_string()
}

/// Redirects to `path` with a flash message in the query string.
pub(crate) fn back(path: &str, key: &str, text: &str) -> Response {
    let sep = if path.contains('?') { '&' } else { '?' };
    let q = serde_urlencoded::to_string([(key, text)]).unwrap_or_default();
    Redirect::to(&format!("{path}{sep}{q}")).into_response()
}

/// A posted form whose fields may repeat (checkbox lists) or be named by data (填报 inputs
/// `stage.element`): the urlencoded pairs in order.
pub(crate) struct Pairs(pub(crate) Vec<(String, String)>);

impl Pairs {
    pub(crate) fn parse(body: &str) -> Pairs {
        Pairs(serde_urlencoded::from_str(body).unwrap_or_default())
    }

    /// The first value of `key`, or empty.
    pub(crate) fn get(&self, key: &str) -> String {
        self.0
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    }

    /// Every value of `key`, in order.
    pub(crate) fn all(&self, key: &str) -> Vec<String> {
        self.0
            .iter()
            .filter(|(k, _)| k == key)
            .map(|(_, v)| v.clone())
            .collect()
    }
}

/// The end of a form post: back to `path` with "done", or with the error's message.
pub(crate) fn settle<T>(
    c: &PageCaller,
    path: &str,
    r: Result<T, taizhang_service::ServiceError>,
) -> Response {
    match r {
        Ok(_) => done(c, path),
        Err(e) => back(path, "err", &msg(c.tr, &e)),
    }
}

pub(crate) fn done(c: &PageCaller, path: &str) -> Response {
    back(path, "ok", c.tr.t("ok"))
}

pub(crate) fn home_crumb(tr: Tr) -> (String, String) {
    (tr.t("home").to_string(), "/".to_string())
}

fn role_label(tr: Tr, r: &RoleAssignment) -> String {
    let (role, scope) = if tr.en {
        (r.role.label_en(), r.scope.label_en())
    } else {
        (r.role.label_zh(), r.scope.label_zh())
    };
    format!("{role}({scope})")
}

fn kind_label(tr: Tr, kind: &str) -> String {
    UnitKind::parse("kind", kind)
        .map(|k| if tr.en { k.label_en() } else { k.label_zh() })
        .unwrap_or(kind)
        .to_string()
}

// ---- sign-in ----

#[derive(Template)]
#[template(path = "login.html")]
struct LoginPage {
    l: Layout,
    next: String,
    username: String,
}

#[derive(Deserialize)]
struct NextQuery {
    next: Option<String>,
}

fn anon_layout(tr: Tr, title: &str, err: Option<String>) -> Layout {
    Layout {
        tr,
        title: title.into(),
        user: None,
        csrf: String::new(),
        crumbs: vec![],
        ok: None,
        err,
        nav: "",
    }
}

/// Only local paths: a `next` that points elsewhere is ignored (no open redirect).
fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(n) if n.starts_with('/') && !n.starts_with("//") && !n.starts_with("/\\") => {
            n.to_string()
        }
        _ => "/".to_string(),
    }
}

async fn login_page(headers: HeaderMap, Query(q): Query<NextQuery>) -> Response {
    let tr = tr(&headers);
    render(LoginPage {
        l: anon_layout(tr, tr.t("login"), None),
        next: safe_next(q.next.as_deref()),
        username: String::new(),
    })
}

#[derive(Deserialize)]
struct LoginForm {
    username: String,
    password: String,
    next: Option<String>,
}

async fn login_submit(
    State(st): State<AppState>,
    parts: Parts2,
    Form(f): Form<LoginForm>,
) -> Response {
    let tr = tr(&parts.headers);
    match auth::login(
        &st.app,
        &f.username,
        &f.password,
        parts.ip.as_deref(),
        user_agent(&parts.headers).as_deref(),
    )
    .await
    {
        Ok(s) => {
            let to = if s.must_change_password {
                "/password".to_string()
            } else {
                safe_next(f.next.as_deref())
            };
            (
                [(
                    header::SET_COOKIE,
                    crate::session_cookie(&s.token, st.cookie_secure),
                )],
                Redirect::to(&to),
            )
                .into_response()
        }
        Err(e) => {
            let status = crate::error::status_of(&e);
            let page = LoginPage {
                l: anon_layout(tr, tr.t("login"), Some(msg(tr, &e))),
                next: safe_next(f.next.as_deref()),
                username: f.username,
            };
            (status, render(page)).into_response()
        }
    }
}

/// Headers and client address of a request, for handlers that also read a body.
struct Parts2 {
    headers: HeaderMap,
    ip: Option<String>,
}

impl<S: Send + Sync> FromRequestParts<S> for Parts2 {
    type Rejection = std::convert::Infallible;
    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(Parts2 {
            headers: parts.headers.clone(),
            ip: client_ip(parts),
        })
    }
}

#[derive(Deserialize)]
pub(crate) struct CsrfForm {
    pub(crate) csrf: String,
}

async fn logout(State(st): State<AppState>, c: PageCaller, Form(f): Form<CsrfForm>) -> Response {
    if let Err(r) = c.check_csrf(&f.csrf) {
        return r;
    }
    let _ = auth::logout(&st.app, &c.token).await;
    (
        [(
            header::SET_COOKIE,
            format!("{SESSION_COOKIE}=; Path=/; Max-Age=0; HttpOnly; SameSite=Lax"),
        )],
        Redirect::to("/login"),
    )
        .into_response()
}

async fn switch_lang(headers: HeaderMap) -> Response {
    let en = cookie(&headers, LANG_COOKIE) == Some("en");
    let next = if en { "zh" } else { "en" };
    let back = headers
        .get(header::REFERER)
        .and_then(|v| v.to_str().ok())
        .and_then(|r| {
            r.find("://")
                .and_then(|i| r[i + 3..].find('/').map(|j| r[i + 3 + j..].to_string()))
        })
        .unwrap_or_else(|| "/".into());
    (
        [(
            header::SET_COOKIE,
            format!("{LANG_COOKIE}={next}; Path=/; Max-Age=31536000; SameSite=Lax"),
        )],
        Redirect::to(&safe_next(Some(&back))),
    )
        .into_response()
}

// ---- home ----

#[derive(Template)]
#[template(path = "home.html")]
struct HomePage {
    l: Layout,
    unit_name: String,
    roles: Vec<String>,
    unit_count: i64,
    user_count: i64,
}

async fn home(State(st): State<AppState>, c: PageCaller, flash: Flash) -> Response {
    let unit_count = units::list(
        &st.app,
        &c.actor,
        &UnitFilter {
            limit: 1,
            ..Default::default()
        },
    )
    .await
    .map(|r| r.1)
    .unwrap_or(0);
    let user_count = if c.actor.can(Permission::UserRead) {
        users::list(
            &st.app,
            &c.actor,
            &UserFilter {
                limit: 1,
                ..Default::default()
            },
        )
        .await
        .map(|r| r.1)
        .unwrap_or(0)
    } else {
        0
    };
    let tr = c.tr;
    render(HomePage {
        unit_name: c.actor.unit_name.clone(),
        roles: c.actor.roles.iter().map(|r| role_label(tr, r)).collect(),
        unit_count,
        user_count,
        l: layout(&c, tr.t("home"), "home", vec![], flash),
    })
}

// ---- password ----

#[derive(Template)]
#[template(path = "password.html")]
struct PasswordPage {
    l: Layout,
    must_change: bool,
}

async fn password_page(c: PageCaller, flash: Flash) -> Response {
    let tr = c.tr;
    render(PasswordPage {
        must_change: c.actor.must_change_password,
        l: layout(
            &c,
            tr.t("password"),
            "",
            vec![home_crumb(tr), (tr.t("password").into(), String::new())],
            flash,
        ),
    })
}

#[derive(Deserialize)]
struct PasswordForm {
    csrf: String,
    current_password: String,
    new_password: String,
    confirm_password: String,
}

async fn password_submit(
    State(st): State<AppState>,
    c: PageCaller,
    Form(f): Form<PasswordForm>,
) -> Response {
    if let Err(r) = c.check_csrf(&f.csrf) {
        return r;
    }
    if f.new_password != f.confirm_password {
        return back(
            "/password",
            "err",
            c.tr.pick("两次输入的新密码不一致", "the two new passwords differ"),
        );
    }
    match auth::change_password(
        &st.app,
        &c.actor,
        &f.current_password,
        &f.new_password,
        Some(&c.token),
    )
    .await
    {
        Ok(()) => back("/", "ok", c.tr.pick("密码已修改", "Password changed")),
        Err(e) => back("/password", "err", &msg(c.tr, &e)),
    }
}

// ---- units ----

struct TreeRow {
    id: i64,
    name: String,
    kind: String,
    depth: i64,
    has_children: bool,
    open: bool,
    current: bool,
    active: bool,
}

struct UnitView {
    id: i64,
    parent_id: Option<i64>,
    name: String,
    code: String,
    kind: String,
    kind_label: String,
    stage: Option<String>,
    stage_label: Option<String>,
    rural: bool,
    active: bool,
    version: i64,
    sort_order: i64,
    parent_name: String,
    child_count: i64,
    attrs: Vec<(String, String)>,
}

#[derive(Template)]
#[template(path = "units.html")]
struct UnitsPage {
    l: Layout,
    q: String,
    found: Vec<(i64, String, String)>,
    rows: Vec<TreeRow>,
    unit: Option<UnitView>,
    can_write: bool,
    kinds: Vec<(&'static str, &'static str)>,
    stages: Vec<(&'static str, &'static str)>,
    move_targets: Vec<(i64, String)>,
    draft: Draft,
    can_audit: bool,
}

#[derive(Deserialize, Default)]
struct UnitsQuery {
    open: Option<String>,
    q: Option<String>,
    ok: Option<String>,
    err: Option<String>,
    /// What the user typed into the create form, given back after an error.
    f_name: Option<String>,
    f_code: Option<String>,
    f_kind: Option<String>,
    f_stage: Option<String>,
    f_rural: Option<String>,
}

/// The create-child form's values.
struct Draft {
    name: String,
    code: String,
    kind: String,
    stage: String,
    rural: bool,
}

fn attr_label(tr: Tr, k: &str) -> String {
    let (zh, en) = match k {
        "classes" => ("教学班数", "Classes"),
        "students" => ("在校学生数", "Students"),
        "teaching_area_m2" => ("教学及辅助用房面积(㎡)", "Teaching rooms (m²)"),
        "sports_area_m2" => ("体育运动场馆面积(㎡)", "Sports grounds (m²)"),
        "student_computers" => ("学生用计算机(台)", "Student computers"),
        "books" => ("图书(册)", "Books"),
        "bilingual_classes" => ("双语教学班数", "Bilingual classes"),
        "bilingual_students" => ("双语班学生数", "Students in bilingual classes"),
        "regular_classes" => ("普通班数", "Regular classes"),
        "regular_students" => ("普通班学生数", "Students in regular classes"),
        "staff" => ("在编教职工数", "Staff on the payroll"),
        _ => return k.to_string(),
    };
    tr.pick(zh, en).to_string()
}

async fn units_page(
    State(st): State<AppState>,
    c: PageCaller,
    Query(q): Query<UnitsQuery>,
) -> Response {
    let tr = c.tr;
    let app = &st.app;
    let flash = Flash {
        ok: q.ok.clone(),
        err: q.err.clone(),
    };
    let open_id = q.open.as_deref().and_then(|s| s.parse::<i64>().ok());
    let current = match open_id {
        Some(id) => match units::get(app, &c.actor, id).await {
            Ok(u) => Some(u),
            Err(ServiceError::NotFound) => {
                return not_found_page(
                    tr,
                    "单位不存在或不在您的数据范围内",
                    "unit not found or outside your data scope",
                );
            }
            Err(e) => return back("/units", "err", &msg(tr, &e)),
        },
        None => None,
    };
    let roots = match units::scope_roots(app, &c.actor).await {
        Ok(r) => r,
        Err(e) => return back("/", "err", &msg(tr, &e)),
    };
    // The chain from a scope root down to the open unit is expanded.
    let mut chain: Vec<Unit> = Vec::new();
    if let Some(u) = &current {
        chain = units::ancestors(app, &c.actor, u).await.unwrap_or_default();
        chain.push(u.clone());
    }
    let chain_ids: Vec<i64> = chain.iter().map(|u| u.id).collect();
    let mut children: HashMap<i64, Vec<Unit>> = HashMap::new();
    for u in &chain {
        let f = UnitFilter {
            parent_id: Some(u.id),
            limit: 300,
            include_inactive: true,
            ..Default::default()
        };
        if let Ok((kids, _)) = units::list(app, &c.actor, &f).await {
            children.insert(u.id, kids);
        }
    }
    let mut all_ids: Vec<i64> = roots.iter().map(|u| u.id).collect();
    all_ids.extend(children.values().flatten().map(|u| u.id));
    let counts: HashMap<i64, i64> = units::child_counts(app, &c.actor, &all_ids)
        .await
        .unwrap_or_default()
        .into_iter()
        .collect();
    let mut rows = Vec::new();
    fn walk(
        u: &Unit,
        depth: i64,
        tr: Tr,
        chain: &[i64],
        current: Option<i64>,
        children: &HashMap<i64, Vec<Unit>>,
        counts: &HashMap<i64, i64>,
        rows: &mut Vec<TreeRow>,
    ) {
        let open = chain.contains(&u.id);
        rows.push(TreeRow {
            id: u.id,
            name: u.name.clone(),
            kind: kind_label(tr, &u.kind),
            depth,
            has_children: counts.get(&u.id).copied().unwrap_or(0) > 0
                || children.get(&u.id).is_some_and(|k| !k.is_empty()),
            open,
            current: current == Some(u.id),
            active: u.active,
        });
        if open {
            for k in children.get(&u.id).into_iter().flatten() {
                walk(k, depth + 1, tr, chain, current, children, counts, rows);
            }
        }
    }
    for r in &roots {
        walk(r, 0, tr, &chain_ids, open_id, &children, &counts, &mut rows);
    }
    let found = match q.q.as_deref().filter(|s| !s.trim().is_empty()) {
        Some(s) => units::list(
            app,
            &c.actor,
            &UnitFilter {
                q: Some(s.trim().to_string()),
                limit: 50,
                ..Default::default()
            },
        )
        .await
        .map(|(r, _)| r.into_iter().map(|u| (u.id, u.name, u.code)).collect())
        .unwrap_or_default(),
        None => Vec::new(),
    };
    let write_scope = c.actor.scope(Permission::UnitWrite);
    let can_write = current
        .as_ref()
        .is_some_and(|u| write_scope.contains(u.id, &u.path, None));
    let mut move_targets = Vec::new();
    if can_write && let Some(u) = &current {
        let f = UnitFilter {
            limit: 2000,
            ..Default::default()
        };
        if let Ok((all, _)) = units::list(app, &c.actor, &f).await {
            let mut all: Vec<Unit> = all
                .into_iter()
                .filter(|t| {
                    write_scope.contains(t.id, &t.path, None)
                        && !t.path.starts_with(&u.path)
                        && Some(t.id) != u.parent_id
                })
                .collect();
            all.sort_by(|a, b| a.path.cmp(&b.path));
            move_targets = all
                .into_iter()
                .map(|t| (t.id, format!("{}{}", "　".repeat(t.depth as usize), t.name)))
                .collect();
        }
    }
    let unit = current.map(|u| {
        let parent_name = chain
            .iter()
            .rev()
            .nth(1)
            .map(|p| p.name.clone())
            .unwrap_or_else(|| tr.t("none").into());
        let attrs: Vec<(String, String)> =
            serde_json::from_str::<serde_json::Map<String, serde_json::Value>>(&u.attrs)
                .unwrap_or_default()
                .into_iter()
                .map(|(k, v)| {
                    (
                        attr_label(tr, &k),
                        v.as_str()
                            .map(str::to_string)
                            .unwrap_or_else(|| v.to_string()),
                    )
                })
                .collect();
        UnitView {
            id: u.id,
            parent_id: u.parent_id,
            kind_label: kind_label(tr, &u.kind),
            stage_label: u
                .stage
                .as_deref()
                .and_then(|s| SchoolStage::parse("stage", s).ok())
                .map(|s| tr.pick(s.label_zh(), s.label_en()).to_string()),
            child_count: counts.get(&u.id).copied().unwrap_or(0),
            name: u.name,
            code: u.code,
            kind: u.kind,
            stage: u.stage,
            rural: u.rural,
            active: u.active,
            version: u.version,
            sort_order: u.sort_order,
            parent_name,
            attrs,
        }
    });
    let usual = unit
        .as_ref()
        .and_then(|u| UnitKind::parse("kind", &u.kind).ok())
        .map(|k| k.usual_child().as_str())
        .unwrap_or("department");
    let draft = Draft {
        name: q.f_name.clone().unwrap_or_default(),
        code: q.f_code.clone().unwrap_or_default(),
        kind: q.f_kind.clone().unwrap_or_else(|| usual.to_string()),
        stage: q.f_stage.clone().unwrap_or_default(),
        rural: q.f_rural.is_some(),
    };
    let mut crumbs = vec![home_crumb(tr), (tr.t("units").into(), "/units".into())];
    for a in &chain {
        crumbs.push((a.name.clone(), format!("/units?open={}", a.id)));
    }
    if let Some(last) = crumbs.last_mut()
        && !chain.is_empty()
    {
        last.1 = String::new();
    }
    render(UnitsPage {
        l: layout(&c, tr.t("units"), "units", crumbs, flash),
        q: q.q.unwrap_or_default(),
        found,
        rows,
        unit,
        can_write,
        kinds: UnitKind::ALL
            .iter()
            .map(|k| (k.as_str(), if tr.en { k.label_en() } else { k.label_zh() }))
            .collect(),
        stages: SchoolStage::ALL
            .iter()
            .map(|s| (s.as_str(), if tr.en { s.label_en() } else { s.label_zh() }))
            .collect(),
        move_targets,
        draft,
        can_audit: c.actor.can(Permission::AuditRead),
    })
}

#[derive(Deserialize)]
struct UnitForm {
    csrf: String,
    parent_id: Option<i64>,
    name: String,
    code: String,
    kind: String,
    stage: Option<String>,
    rural: Option<String>,
    version: Option<i64>,
    sort_order: Option<i64>,
}

async fn unit_create(
    State(st): State<AppState>,
    c: PageCaller,
    Form(f): Form<UnitForm>,
) -> Response {
    if let Err(r) = c.check_csrf(&f.csrf) {
        return r;
    }
    let input = units::CreateUnit {
        parent_id: f.parent_id,
        code: f.code,
        name: f.name,
        kind: f.kind,
        stage: f.stage.filter(|s| !s.is_empty()),
        rural: f.rural.is_some(),
        attrs: None,
        sort_order: f.sort_order.unwrap_or(0),
    };
    // On error, come back to the parent with what was typed still in the form.
    let mut keep = vec![
        ("open", f.parent_id.unwrap_or(0).to_string()),
        ("f_name", input.name.clone()),
        ("f_code", input.code.clone()),
        ("f_kind", input.kind.clone()),
        ("f_stage", input.stage.clone().unwrap_or_default()),
    ];
    if input.rural {
        keep.push(("f_rural", "true".into()));
    }
    let from = format!(
        "/units?{}",
        serde_urlencoded::to_string(&keep).unwrap_or_default()
    );
    match units::create(&st.app, &c.actor, input).await {
        Ok(u) => done(&c, &format!("/units?open={}", u.id)),
        Err(e) => back(&from, "err", &msg(c.tr, &e)),
    }
}

async fn unit_update(
    State(st): State<AppState>,
    c: PageCaller,
    Path(id): Path<i64>,
    Form(f): Form<UnitForm>,
) -> Response {
    if let Err(r) = c.check_csrf(&f.csrf) {
        return r;
    }
    let input = units::UpdateUnit {
        version: f.version.unwrap_or(0),
        code: Some(f.code),
        name: Some(f.name),
        kind: Some(f.kind),
        stage: Some(f.stage.filter(|s| !s.is_empty())),
        rural: Some(f.rural.is_some()),
        active: None,
        attrs: None,
        sort_order: f.sort_order,
    };
    let here = format!("/units?open={id}");
    settle(&c, &here, units::update(&st.app, &c.actor, id, input).await)
}

#[derive(Deserialize)]
struct MoveForm {
    csrf: String,
    parent_id: i64,
    version: i64,
}

async fn unit_move(
    State(st): State<AppState>,
    c: PageCaller,
    Path(id): Path<i64>,
    Form(f): Form<MoveForm>,
) -> Response {
    if let Err(r) = c.check_csrf(&f.csrf) {
        return r;
    }
    let here = format!("/units?open={id}");
    settle(
        &c,
        &here,
        units::move_to(&st.app, &c.actor, id, f.parent_id, f.version).await,
    )
}

#[derive(Deserialize)]
struct ActiveForm {
    csrf: String,
    version: i64,
    active: bool,
}

async fn unit_active(
    State(st): State<AppState>,
    c: PageCaller,
    Path(id): Path<i64>,
    Form(f): Form<ActiveForm>,
) -> Response {
    if let Err(r) = c.check_csrf(&f.csrf) {
        return r;
    }
    let here = format!("/units?open={id}");
    let input = units::UpdateUnit {
        version: f.version,
        active: Some(f.active),
        ..Default::default()
    };
    settle(&c, &here, units::update(&st.app, &c.actor, id, input).await)
}

// ---- users ----

struct UserRow {
    id: i64,
    username: String,
    display_name: String,
    unit_id: i64,
    unit_name: String,
    roles: String,
    status: String,
    active: bool,
    version: i64,
    last_login: String,
}

fn user_row(tr: Tr, v: users::UserView, now: i64) -> UserRow {
    let locked = v.user.locked_until.is_some_and(|t| t > now);
    UserRow {
        id: v.user.id,
        username: v.user.username,
        display_name: v.user.display_name,
        unit_id: v.user.unit_id,
        unit_name: v.user.unit_name,
        roles: v
            .roles
            .iter()
            .map(|r| role_label(tr, r))
            .collect::<Vec<_>>()
            .join("、"),
        status: if !v.user.active {
            tr.t("inactive").into()
        } else if locked {
            tr.t("locked").into()
        } else {
            tr.t("active").into()
        },
        active: v.user.active,
        version: v.user.version,
        last_login: v.user.last_login_at.map(fmt_time).unwrap_or_default(),
    }
}

#[derive(Template)]
#[template(path = "users.html")]
struct UsersPage {
    l: Layout,
    q: String,
    users: Vec<UserRow>,
    total: i64,
    can_write: bool,
    unit_options: Vec<(i64, String)>,
    role_options: Vec<(&'static str, &'static str)>,
    scope_options: Vec<(&'static str, &'static str)>,
}

async fn unit_options(st: &AppState, c: &PageCaller) -> Vec<(i64, String)> {
    let scope = c.actor.scope(Permission::UserWrite);
    let f = UnitFilter {
        limit: 2000,
        ..Default::default()
    };
    let mut all = units::list(&st.app, &c.actor, &f)
        .await
        .map(|r| r.0)
        .unwrap_or_default();
    all.retain(|u| scope.contains(u.id, &u.path, None));
    all.sort_by(|a, b| a.path.cmp(&b.path));
    all.into_iter()
        .map(|u| (u.id, format!("{}{}", "　".repeat(u.depth as usize), u.name)))
        .collect()
}

fn role_options(tr: Tr) -> Vec<(&'static str, &'static str)> {
    Role::ALL
        .iter()
        .map(|r| (r.as_str(), if tr.en { r.label_en() } else { r.label_zh() }))
        .collect()
}

/// Scope choices; 自定义 only where units can be named too.
fn scope_options(tr: Tr, custom: bool) -> Vec<(&'static str, &'static str)> {
    ScopeKind::ALL
        .iter()
        .filter(|s| custom || **s != ScopeKind::Custom)
        .map(|s| (s.as_str(), if tr.en { s.label_en() } else { s.label_zh() }))
        .collect()
}

#[derive(Deserialize, Default)]
struct UsersQuery {
    q: Option<String>,
    ok: Option<String>,
    err: Option<String>,
}

async fn users_page(
    State(st): State<AppState>,
    c: PageCaller,
    Query(q): Query<UsersQuery>,
) -> Response {
    let tr = c.tr;
    if !c.actor.can(Permission::UserRead) {
        return (
            StatusCode::FORBIDDEN,
            tr.pick("您没有查看用户的权限", "you may not view users")
                .to_string(),
        )
            .into_response();
    }
    let f = UserFilter {
        q: q.q.clone(),
        limit: 500,
        ..Default::default()
    };
    let (list, total) = match users::list(&st.app, &c.actor, &f).await {
        Ok(r) => r,
        Err(e) => return back("/", "err", &msg(tr, &e)),
    };
    let now = st.app.now();
    let can_write = c.actor.can(Permission::UserWrite);
    let unit_options = if can_write {
        unit_options(&st, &c).await
    } else {
        vec![]
    };
    render(UsersPage {
        l: layout(
            &c,
            tr.t("users"),
            "users",
            vec![home_crumb(tr), (tr.t("users").into(), String::new())],
            Flash {
                ok: q.ok,
                err: q.err,
            },
        ),
        q: q.q.unwrap_or_default(),
        users: list.into_iter().map(|v| user_row(tr, v, now)).collect(),
        total,
        can_write,
        unit_options,
        role_options: role_options(tr),
        scope_options: scope_options(tr, false),
    })
}

#[derive(Deserialize)]
struct UserForm {
    csrf: String,
    username: Option<String>,
    display_name: String,
    unit_id: i64,
    password: Option<String>,
    role: String,
    scope: String,
}

fn one_role(f: &UserForm) -> Result<Vec<RoleAssignment>, ServiceError> {
    Ok(vec![RoleAssignment {
        role: Role::parse("role", &f.role)?,
        scope: ScopeKind::parse("scope", &f.scope)?,
        units: vec![],
    }])
}

async fn user_create(
    State(st): State<AppState>,
    c: PageCaller,
    Form(f): Form<UserForm>,
) -> Response {
    if let Err(r) = c.check_csrf(&f.csrf) {
        return r;
    }
    let roles = match one_role(&f) {
        Ok(r) => r,
        Err(e) => return back("/users", "err", &msg(c.tr, &e)),
    };
    let input = users::CreateUser {
        username: f.username.clone().unwrap_or_default(),
        display_name: f.display_name.clone(),
        unit_id: f.unit_id,
        password: f.password.clone().unwrap_or_default(),
        roles,
    };
    match users::create(&st.app, &c.actor, input).await {
        Ok(v) => done(&c, &format!("/users/{}", v.user.id)),
        Err(e) => back("/users", "err", &msg(c.tr, &e)),
    }
}

#[derive(Template)]
#[template(path = "user.html")]
struct UserPage {
    l: Layout,
    u: UserRow,
    can_write: bool,
    unit_options: Vec<(i64, String)>,
    role_options: Vec<(&'static str, &'static str)>,
    scope_options: Vec<(&'static str, &'static str)>,
    /// Three editable role rows: role, scope, custom-scope unit codes ("" = unused row).
    role_rows: Vec<(String, String, String)>,
}

async fn user_page(
    State(st): State<AppState>,
    c: PageCaller,
    Path(id): Path<String>,
    flash: Flash,
) -> Response {
    let tr = c.tr;
    let Ok(id) = id.parse::<i64>() else {
        return (StatusCode::NOT_FOUND, "404").into_response();
    };
    let v = match users::get(&st.app, &c.actor, id).await {
        Ok(v) => v,
        Err(ServiceError::NotFound) => {
            return not_found_page(
                tr,
                "用户不存在或不在您的数据范围内",
                "user not found or outside your data scope",
            );
        }
        Err(e) => return back("/users", "err", &msg(tr, &e)),
    };
    let ws = c.actor.scope(Permission::UserWrite);
    let can_write = ws.contains(v.user.unit_id, &v.user.unit_path, Some(v.user.id));
    let unit_options = if can_write {
        unit_options(&st, &c).await
    } else {
        vec![]
    };
    let mut role_rows = Vec::new();
    for r in &v.roles {
        let mut codes = Vec::new();
        for u in &r.units {
            if let Ok(unit) = units::get(&st.app, &c.actor, *u).await {
                codes.push(unit.code);
            }
        }
        role_rows.push((
            r.role.as_str().to_string(),
            r.scope.as_str().to_string(),
            codes.join(","),
        ));
    }
    role_rows.resize(
        3.max(role_rows.len()),
        (String::new(), String::new(), String::new()),
    );
    let row = user_row(tr, v, st.app.now());
    render(UserPage {
        role_rows,
        l: layout(
            &c,
            &row.display_name,
            "users",
            vec![
                home_crumb(tr),
                (tr.t("users").into(), "/users".into()),
                (row.username.clone(), String::new()),
            ],
            flash,
        ),
        u: row,
        can_write,
        unit_options,
        role_options: role_options(tr),
        scope_options: scope_options(tr, true),
    })
}

/// The user edit form: up to three role rows (`role_N`, `scope_N`, `units_N` = unit codes
/// for a custom scope).
#[derive(Deserialize)]
struct UserEditForm {
    csrf: String,
    display_name: String,
    unit_id: i64,
    active: Option<String>,
    version: Option<i64>,
    #[serde(flatten)]
    rows: HashMap<String, String>,
}

async fn edit_roles(
    st: &AppState,
    c: &PageCaller,
    f: &UserEditForm,
) -> Result<Vec<RoleAssignment>, ServiceError> {
    let mut out = Vec::new();
    for n in 0..10 {
        let Some(role) = f.rows.get(&format!("role_{n}")).filter(|r| !r.is_empty()) else {
            continue;
        };
        let scope = ScopeKind::parse(
            "roles.scope",
            f.rows
                .get(&format!("scope_{n}"))
                .map(String::as_str)
                .unwrap_or(""),
        )?;
        let mut ids = Vec::new();
        for code in f
            .rows
            .get(&format!("units_{n}"))
            .map(String::as_str)
            .unwrap_or("")
            .split([',', '，', ' '])
            .filter(|s| !s.is_empty())
        {
            let found = units::list(
                &st.app,
                &c.actor,
                &UnitFilter {
                    q: Some(code.to_string()),
                    limit: 50,
                    ..Default::default()
                },
            )
            .await?
            .0
            .into_iter()
            .find(|u| u.code == code);
            match found {
                Some(u) => ids.push(u.id),
                None => {
                    return Err(taizhang_domain::FieldError::new(
                        "not_found",
                        "roles.units",
                        format!("找不到代码为“{code}”的单位"),
                        format!("no unit with code '{code}'"),
                    )
                    .into());
                }
            }
        }
        out.push(RoleAssignment {
            role: Role::parse("roles.role", role)?,
            scope,
            units: ids,
        });
    }
    Ok(out)
}

async fn user_update(
    State(st): State<AppState>,
    c: PageCaller,
    Path(id): Path<i64>,
    Form(f): Form<UserEditForm>,
) -> Response {
    if let Err(r) = c.check_csrf(&f.csrf) {
        return r;
    }
    let here = format!("/users/{id}");
    let roles = match edit_roles(&st, &c, &f).await {
        Ok(r) => r,
        Err(e) => return back(&here, "err", &msg(c.tr, &e)),
    };
    let input = users::UpdateUser {
        version: f.version.unwrap_or(0),
        display_name: Some(f.display_name.clone()),
        unit_id: Some(f.unit_id),
        active: Some(f.active.is_some()),
        roles: Some(roles),
    };
    settle(&c, &here, users::update(&st.app, &c.actor, id, input).await)
}

#[derive(Deserialize)]
struct ResetForm {
    csrf: String,
    password: String,
}

async fn user_reset(
    State(st): State<AppState>,
    c: PageCaller,
    Path(id): Path<i64>,
    Form(f): Form<ResetForm>,
) -> Response {
    if let Err(r) = c.check_csrf(&f.csrf) {
        return r;
    }
    let here = format!("/users/{id}");
    settle(
        &c,
        &here,
        users::reset_password(&st.app, &c.actor, id, &f.password).await,
    )
}

// ---- audit ----

/// 中文/English label of an audit action code.
fn action_label(tr: Tr, action: &str) -> String {
    let (zh, en) = match action {
        "unit.create" => ("新建单位", "Unit created"),
        "unit.update" => ("修改单位", "Unit edited"),
        "unit.move" => ("移动单位", "Unit moved"),
        "unit.deactivate" => ("停用单位", "Unit deactivated"),
        "unit.reactivate" => ("启用单位", "Unit reactivated"),
        "user.create" => ("新建用户", "User created"),
        "user.update" => ("修改用户", "User edited"),
        "user.password_change" => ("修改密码", "Password changed"),
        "user.password_reset" => ("重置密码", "Password reset"),
        "token.create" => ("新建接口令牌", "API token created"),
        "token.revoke" => ("吊销接口令牌", "API token revoked"),
        other => (other, other),
    };
    tr.pick(zh, en).to_string()
}

/// Label and link of the record an audit event is about.
fn entity_label(tr: Tr, entity: &str, id: &str) -> (String, String) {
    match entity {
        "unit" => (
            format!("{} #{id}", tr.pick("单位", "Unit")),
            format!("/units?open={id}"),
        ),
        "user" => (
            format!("{} #{id}", tr.pick("用户", "User")),
            format!("/users/{id}"),
        ),
        "api_token" => (
            format!("{} #{id}", tr.pick("接口令牌", "API token")),
            String::new(),
        ),
        other => (format!("{other} #{id}"), String::new()),
    }
}

struct EventRow {
    seq: i64,
    action_label: String,
    entity_label: String,
    entity_link: String,
    time: String,
    actor: String,
    action: String,
    before: Option<String>,
    after: Option<String>,
    hash_short: String,
}

#[derive(Template)]
#[template(path = "audit.html")]
struct AuditPage {
    l: Layout,
    events: Vec<EventRow>,
    head_seq: i64,
    head_hash: String,
    verify: Option<(bool, String)>,
    /// Query string of the next (older) page.
    older: Option<String>,
    entity: String,
    entity_id: String,
}

#[derive(Deserialize, Default)]
struct AuditQuery {
    before_seq: Option<i64>,
    entity: Option<String>,
    entity_id: Option<String>,
    ok: Option<String>,
    err: Option<String>,
}

async fn audit_view(
    st: &AppState,
    c: &PageCaller,
    q: AuditQuery,
    verify: Option<(bool, String)>,
    flash: Flash,
) -> Response {
    let tr = c.tr;
    let entity = q.entity.filter(|s| !s.is_empty());
    let entity_id = q.entity_id.filter(|s| !s.is_empty());
    let f = AuditFilter {
        before_seq: q.before_seq,
        entity: entity.clone(),
        entity_id: entity_id.clone(),
        limit: 50,
        ..Default::default()
    };
    let events = match audit::list(&st.app, &c.actor, &f).await {
        Ok(e) => e,
        Err(ServiceError::Forbidden) => {
            return (
                StatusCode::FORBIDDEN,
                tr.pick(
                    "您没有查看审计日志的权限",
                    "you may not view the audit trail",
                )
                .to_string(),
            )
                .into_response();
        }
        Err(e) => return back("/", "err", &msg(tr, &e)),
    };
    let (head_seq, head_hash) = audit::head(&st.app.store)
        .await
        .unwrap_or((0, String::new()));
    let mut filter_q = Vec::new();
    if let Some(e) = &entity {
        filter_q.push(("entity", e.clone()));
    }
    if let Some(e) = &entity_id {
        filter_q.push(("entity_id", e.clone()));
    }
    let older = if events.len() == 50 {
        events.last().map(|e| {
            let mut qq = filter_q.clone();
            qq.push(("before_seq", e.seq.to_string()));
            serde_urlencoded::to_string(&qq).unwrap_or_default()
        })
    } else {
        None
    };
    render(AuditPage {
        l: layout(
            c,
            tr.t("audit"),
            "audit",
            vec![home_crumb(tr), (tr.t("audit").into(), String::new())],
            flash,
        ),
        events: events
            .into_iter()
            .map(|e| EventRow {
                seq: e.seq,
                action_label: action_label(tr, &e.action),
                entity_label: entity_label(tr, &e.entity, &e.entity_id).0,
                entity_link: entity_label(tr, &e.entity, &e.entity_id).1,
                time: fmt_time(e.at),
                actor: e.actor_name,
                action: e.action,
                before: e.before,
                after: e.after,
                hash_short: e.hash.chars().take(12).collect(),
            })
            .collect(),
        head_seq,
        head_hash,
        verify,
        older,
        entity: entity.unwrap_or_default(),
        entity_id: entity_id.unwrap_or_default(),
    })
}

async fn audit_page(
    State(st): State<AppState>,
    c: PageCaller,
    Query(q): Query<AuditQuery>,
) -> Response {
    let flash = Flash {
        ok: q.ok.clone(),
        err: q.err.clone(),
    };
    audit_view(&st, &c, q, None, flash).await
}

async fn audit_verify(
    State(st): State<AppState>,
    c: PageCaller,
    Form(f): Form<CsrfForm>,
) -> Response {
    if let Err(r) = c.check_csrf(&f.csrf) {
        return r;
    }
    if !c.actor.can(Permission::AuditRead) {
        return (StatusCode::FORBIDDEN, "403").into_response();
    }
    let tr = c.tr;
    let v = match audit::verify(&st.app.store, None).await {
        Ok(r) if r.intact => (
            true,
            if tr.en {
                r.summary()
            } else {
                format!(
                    "审计链完整:共{}条事件,最新 #{} {}",
                    r.events, r.head_seq, r.head_hash
                )
            },
        ),
        Ok(r) => (
            false,
            if tr.en {
                r.summary()
            } else {
                format!(
                    "审计链被篡改:第{}条事件不符 —— {}",
                    r.broken_seq.unwrap_or(0),
                    r.reason.clone().unwrap_or_default()
                )
            },
        ),
        Err(e) => (false, msg(tr, &e)),
    };
    audit_view(&st, &c, AuditQuery::default(), Some(v), Flash::default()).await
}

#[derive(Template)]
#[template(path = "login_log.html")]
struct LoginLogPage {
    l: Layout,
    entries: Vec<(String, String, String, String, String, String)>,
    offset: i64,
    prev_offset: i64,
    next_offset: i64,
    has_more: bool,
}

#[derive(Deserialize, Default)]
struct OffsetQuery {
    offset: Option<i64>,
}

async fn login_log_page(
    State(st): State<AppState>,
    c: PageCaller,
    Query(q): Query<OffsetQuery>,
) -> Response {
    let tr = c.tr;
    let offset = q.offset.unwrap_or(0).max(0);
    let entries = match audit::login_log(&st.app, &c.actor, 100, offset).await {
        Ok(e) => e,
        Err(ServiceError::Forbidden) => {
            return (
                StatusCode::FORBIDDEN,
                tr.pick(
                    "您没有查看登录日志的权限",
                    "you may not view the sign-in log",
                )
                .to_string(),
            )
                .into_response();
        }
        Err(e) => return back("/", "err", &msg(tr, &e)),
    };
    let has_more = entries.len() == 100;
    render(LoginLogPage {
        l: layout(
            &c,
            tr.t("login_log"),
            "login_log",
            vec![home_crumb(tr), (tr.t("login_log").into(), String::new())],
            Flash::default(),
        ),
        entries: entries
            .into_iter()
            .map(|e| {
                (
                    fmt_time(e.at),
                    e.username,
                    if e.success {
                        tr.t("success").into()
                    } else {
                        tr.t("failure").into()
                    },
                    e.reason,
                    e.ip.unwrap_or_default(),
                    e.user_agent.unwrap_or_default(),
                )
            })
            .collect(),
        offset,
        prev_offset: (offset - 100).max(0),
        next_offset: offset + 100,
        has_more,
    })
}

// ---- tokens ----

struct TokenRow {
    id: i64,
    name: String,
    created: String,
    expires: String,
    last_used: String,
    revoked: bool,
}

#[derive(Template)]
#[template(path = "tokens.html")]
struct TokensPage {
    l: Layout,
    tokens: Vec<TokenRow>,
    new_token: Option<String>,
}

async fn tokens_view(
    st: &AppState,
    c: &PageCaller,
    new_token: Option<String>,
    flash: Flash,
) -> Response {
    let tr = c.tr;
    let list = auth::list_tokens(&st.app, &c.actor)
        .await
        .unwrap_or_default();
    render(TokensPage {
        l: layout(
            c,
            tr.t("tokens"),
            "",
            vec![home_crumb(tr), (tr.t("tokens").into(), String::new())],
            flash,
        ),
        tokens: list
            .into_iter()
            .map(|t| TokenRow {
                id: t.id,
                name: t.name,
                created: fmt_time(t.created_at),
                expires: t.expires_at.map(fmt_time).unwrap_or_else(|| "—".into()),
                last_used: t.last_used_at.map(fmt_time).unwrap_or_else(|| "—".into()),
                revoked: t.revoked_at.is_some(),
            })
            .collect(),
        new_token,
    })
}

async fn tokens_page(State(st): State<AppState>, c: PageCaller, flash: Flash) -> Response {
    tokens_view(&st, &c, None, flash).await
}

#[derive(Deserialize)]
struct TokenForm {
    csrf: String,
    name: String,
    days: Option<i64>,
}

async fn token_create(
    State(st): State<AppState>,
    c: PageCaller,
    Form(f): Form<TokenForm>,
) -> Response {
    if let Err(r) = c.check_csrf(&f.csrf) {
        return r;
    }
    match auth::create_token(&st.app, &c.actor, &f.name, f.days).await {
        Ok((secret, _)) => tokens_view(&st, &c, Some(secret), Flash::default()).await,
        Err(e) => back("/tokens", "err", &msg(c.tr, &e)),
    }
}

async fn token_revoke(
    State(st): State<AppState>,
    c: PageCaller,
    Path(id): Path<i64>,
    Form(f): Form<CsrfForm>,
) -> Response {
    if let Err(r) = c.check_csrf(&f.csrf) {
        return r;
    }
    settle(
        &c,
        "/tokens",
        auth::revoke_token(&st.app, &c.actor, id).await,
    )
}
