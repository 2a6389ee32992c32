//! HTTP (the only crate that knows HTTP and JSON): the JSON API with its OpenAPI document, the
//! server-rendered pages in 简体中文 / English, sessions, and static assets embedded in the binary.

pub mod api;
mod api_indicators;
mod api_reports;
pub mod caller;
pub mod error;
pub mod i18n;
mod pages;
mod pages_indicators;
mod pages_ledger;
mod pages_reports;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::get;
use std::net::SocketAddr;
use taizhang_service::App;

#[derive(Clone)]
pub struct AppState {
    pub app: App,
    /// Mark the session cookie `Secure` (behind TLS).
    pub cookie_secure: bool,
}

pub fn session_cookie(token: &str, secure: bool) -> String {
    let secure = if secure { "; Secure" } else { "" };
    format!(
        "{}={token}; Path=/; HttpOnly; SameSite=Lax; Max-Age={}{secure}",
        caller::SESSION_COOKIE,
        taizhang_service::auth::SESSION_MAX_MS / 1000
    )
}

const HTMX: &str = include_str!("../assets/htmx-2.0.11.min.js");
const CSS: &str = include_str!("../assets/app.css");
const ECHARTS: &str = include_str!("../assets/echarts-5.6.0.min.js");
const CHARTS: &str = include_str!("../assets/charts.js");

pub fn router(state: AppState) -> Router {
    let mut api = Router::new();
    for r in api::ROUTES {
        api = api.route(r.path, (r.handler)());
    }
    Router::new()
        .merge(api)
        .merge(pages::routes())
        .route("/healthz", get(|| async { "ok" }))
        .route(
            "/api/openapi.json",
            get(|| async { axum::Json(api::openapi()) }),
        )
        .route(
            "/static/htmx-2.0.11.min.js",
            get(|| async {
                (
                    [
                        (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
                        (header::CACHE_CONTROL, "public, max-age=86400"),
                    ],
                    HTMX,
                )
            }),
        )
        .route(
            "/static/echarts-5.6.0.min.js",
            get(|| async { js(ECHARTS) }),
        )
        .route("/static/charts.js", get(|| async { js(CHARTS) }))
        .route("/favicon.ico", get(|| async { StatusCode::NO_CONTENT }))
        .route(
            "/static/app.css",
            get(|| async {
                (
                    [
                        (header::CONTENT_TYPE, "text/css; charset=utf-8"),
                        (header::CACHE_CONTROL, "public, max-age=3600"),
                    ],
                    CSS,
                )
            }),
        )
        .fallback(not_found)
        .layer(DefaultBodyLimit::max(256 * 1024))
        .layer(axum::middleware::from_fn(security_headers))
        .with_state(state)
}

fn js(body: &'static str) -> axum::response::Response {
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=86400"),
        ],
        body,
    )
        .into_response()
}

/// JSON for API paths, text for pages.
async fn not_found(uri: axum::http::Uri) -> axum::response::Response {
    if uri.path().starts_with("/api/") {
        error::ApiError::not_found().into_response()
    } else {
        (StatusCode::NOT_FOUND, "404 未找到 / Not found").into_response()
    }
}

async fn security_headers(
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    let mut res = next.run(req).await;
    let h = res.headers_mut();
    h.insert(
        "x-content-type-options",
        header::HeaderValue::from_static("nosniff"),
    );
    h.insert("x-frame-options", header::HeaderValue::from_static("DENY"));
    h.insert(
        "referrer-policy",
        header::HeaderValue::from_static("same-origin"),
    );
    res
}

/// Serves until the process is stopped (Ctrl-C or SIGTERM).
pub async fn serve(state: AppState, listener: tokio::net::TcpListener) -> std::io::Result<()> {
    let app = router(state).into_make_service_with_connect_info::<SocketAddr>();
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown())
        .await
}

async fn shutdown() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        if let Ok(mut s) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        {
            s.recv().await;
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! { _ = ctrl_c => {}, _ = term => {} }
}
