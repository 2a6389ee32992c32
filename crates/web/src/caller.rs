//! Who is calling: a browser session cookie (with CSRF check on every unsafe method) or an API
//! token. Extracted once per request; handlers receive a ready [`Actor`].

use crate::AppState;
use crate::error::ApiError;
use crate::i18n::Tr;
use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;
use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use std::net::SocketAddr;
use taizhang_service::{Actor, ServiceError, auth};

pub const SESSION_COOKIE: &str = "tz_session";
pub const LANG_COOKIE: &str = "tz_lang";

pub fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(axum::http::header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

pub fn tr(headers: &HeaderMap) -> Tr {
    Tr {
        en: cookie(headers, LANG_COOKIE) == Some("en"),
    }
}

pub fn client_ip(parts: &Parts) -> Option<String> {
    parts
        .extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip().to_string())
}

pub fn user_agent(headers: &HeaderMap) -> Option<String> {
    headers
        .get(axum::http::header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .map(|s| s.chars().take(300).collect())
}

/// How the caller authenticated.
#[derive(Debug, Clone)]
pub enum Via {
    Session { token: String, csrf: String },
    Token,
}

/// An authenticated API caller.
pub struct ApiCaller {
    pub actor: Actor,
    pub via: Via,
}

/// Paths a user who must change the initial password may still use.
const ALLOWED_BEFORE_CHANGE: &[&str] =
    &["/api/v1/me", "/api/v1/me/password", "/api/v1/auth/logout"];

async fn authenticate(
    parts: &Parts,
    state: &AppState,
) -> Result<Option<(Actor, Via)>, ServiceError> {
    let ip = client_ip(parts);
    if let Some(h) = parts.headers.get(axum::http::header::AUTHORIZATION) {
        let v = h.to_str().unwrap_or_default();
        let Some(token) = v.strip_prefix("Bearer ") else {
            return Ok(None);
        };
        return Ok(auth::token_actor(&state.app, token.trim(), ip)
            .await?
            .map(|a| (a, Via::Token)));
    }
    let Some(token) = cookie(&parts.headers, SESSION_COOKIE) else {
        return Ok(None);
    };
    Ok(auth::session_actor(&state.app, token, ip)
        .await?
        .map(|(a, csrf)| {
            (
                a,
                Via::Session {
                    token: token.to_string(),
                    csrf,
                },
            )
        }))
}

fn unsafe_method(m: &Method) -> bool {
    !matches!(*m, Method::GET | Method::HEAD | Method::OPTIONS)
}

impl FromRequestParts<AppState> for ApiCaller {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let Some((actor, via)) = authenticate(parts, state).await? else {
            return Err(ServiceError::Unauthenticated.into());
        };
        if let Via::Session { csrf, .. } = &via
            && unsafe_method(&parts.method)
        {
            let sent = parts
                .headers
                .get("x-csrf-token")
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default();
            if !constant_eq(sent, csrf) {
                return Err(ApiError::new(
                    StatusCode::FORBIDDEN,
                    "csrf",
                    "缺少或错误的 X-CSRF-Token 请求头(登录时返回的 csrf_token)",
                    "missing or wrong X-CSRF-Token header (the csrf_token returned at sign-in)",
                ));
            }
        }
        if actor.must_change_password && !ALLOWED_BEFORE_CHANGE.contains(&parts.uri.path()) {
            return Err(ServiceError::PasswordChangeRequired.into());
        }
        Ok(ApiCaller { actor, via })
    }
}

pub fn constant_eq(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

/// An authenticated browser user on a page; anonymous visitors are sent to the login page.
pub struct PageCaller {
    pub actor: Actor,
    pub csrf: String,
    pub token: String,
    pub tr: Tr,
}

impl PageCaller {
    /// Checks the CSRF token a form sent.
    pub fn check_csrf(&self, sent: &str) -> Result<(), Response> {
        if constant_eq(sent, &self.csrf) {
            Ok(())
        } else {
            Err((
                StatusCode::FORBIDDEN,
                self.tr
                    .pick(
                        "页面已过期,请刷新后重试(CSRF 校验失败)",
                        "The page expired; reload and try again (CSRF check failed)",
                    )
                    .to_string(),
            )
                .into_response())
        }
    }
}

impl FromRequestParts<AppState> for PageCaller {
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let tr = tr(&parts.headers);
        let next = parts
            .uri
            .path_and_query()
            .map(|p| p.as_str().to_string())
            .unwrap_or_else(|| "/".into());
        let to_login = || {
            let q = serde_urlencoded::to_string([("next", next.as_str())]).unwrap_or_default();
            Redirect::to(&format!("/login?{q}")).into_response()
        };
        let Some(token) = cookie(&parts.headers, SESSION_COOKIE).map(str::to_string) else {
            return Err(to_login());
        };
        let found = auth::session_actor(&state.app, &token, client_ip(parts))
            .await
            .map_err(|e| crate::error::ApiError::from(e).into_response())?;
        let Some((actor, csrf)) = found else {
            return Err(to_login());
        };
        if actor.must_change_password
            && parts.uri.path() != "/password"
            && parts.uri.path() != "/logout"
        {
            return Err(Redirect::to("/password").into_response());
        }
        Ok(PageCaller {
            actor,
            csrf,
            token,
            tr,
        })
    }
}
