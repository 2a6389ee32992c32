//! The one error type at the HTTP edge: JSON `{"error", "message", "message_en", "field"}` with
//! a status that matches. Internal details are logged, never sent.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use taizhang_service::ServiceError;

#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: String,
    pub message: String,
    pub message_en: String,
    pub field: Option<String>,
}

#[derive(Serialize)]
struct Body<'a> {
    error: &'a str,
    message: &'a str,
    message_en: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    field: Option<&'a str>,
}

impl ApiError {
    pub fn new(
        status: StatusCode,
        code: &str,
        zh: impl Into<String>,
        en: impl Into<String>,
    ) -> Self {
        ApiError {
            status,
            code: code.into(),
            message: zh.into(),
            message_en: en.into(),
            field: None,
        }
    }

    pub fn with_field(mut self, f: impl Into<String>) -> Self {
        self.field = Some(f.into());
        self
    }

    pub fn not_found() -> Self {
        ServiceError::NotFound.into()
    }
}

pub fn status_of(e: &ServiceError) -> StatusCode {
    match e {
        // A referenced id outside the caller's scope is "not found", as in a path.
        ServiceError::Invalid(f) if f.code == "not_found" => StatusCode::NOT_FOUND,
        ServiceError::Invalid(_) => StatusCode::UNPROCESSABLE_ENTITY,
        ServiceError::NotFound => StatusCode::NOT_FOUND,
        ServiceError::Forbidden | ServiceError::PasswordChangeRequired => StatusCode::FORBIDDEN,
        ServiceError::Unauthenticated | ServiceError::BadCredentials => StatusCode::UNAUTHORIZED,
        ServiceError::Locked(_) => StatusCode::LOCKED,
        ServiceError::StaleVersion | ServiceError::Duplicate(_) => StatusCode::CONFLICT,
        ServiceError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

impl From<ServiceError> for ApiError {
    fn from(e: ServiceError) -> Self {
        if let ServiceError::Internal(detail) = &e {
            eprintln!("internal error: {detail}");
        }
        ApiError {
            status: status_of(&e),
            code: e.code().to_string(),
            message: e.message_zh(),
            message_en: e.message_en(),
            field: e.field(),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = Body {
            error: &self.code,
            message: &self.message,
            message_en: &self.message_en,
            field: self.field.as_deref(),
        };
        (self.status, Json(body)).into_response()
    }
}
