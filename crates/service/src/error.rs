//! Errors of the use cases, each with a stable code and a message in 中文 and English.

use taizhang_domain::FieldError;
use taizhang_store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    /// Bad input on one field (422).
    #[error("{0}")]
    Invalid(FieldError),
    /// No such record in the caller's scope (404).
    #[error("not found")]
    NotFound,
    /// The record is visible but the caller may not do this (403).
    #[error("forbidden")]
    Forbidden,
    /// No valid session or token (401).
    #[error("not signed in")]
    Unauthenticated,
    /// Wrong user name or password, or account disabled (401) — deliberately one message.
    #[error("wrong user name or password")]
    BadCredentials,
    /// Too many failures: locked until the given time (423).
    #[error("account locked until {0}")]
    Locked(i64),
    /// The record changed since the caller read it (409).
    #[error("stale version")]
    StaleVersion,
    /// A unique field is taken (409).
    #[error("duplicate {0}")]
    Duplicate(String),
    /// The initial password must be changed first (403).
    #[error("password change required")]
    PasswordChangeRequired,
    #[error("internal error: {0}")]
    Internal(String),
}

impl From<FieldError> for ServiceError {
    fn from(e: FieldError) -> Self {
        ServiceError::Invalid(e)
    }
}

impl From<StoreError> for ServiceError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Duplicate { field } => ServiceError::Duplicate(field),
            StoreError::StaleVersion { .. } => ServiceError::StaleVersion,
            StoreError::MissingReference => ServiceError::Invalid(FieldError::new(
                "missing_reference",
                "id",
                "引用的记录不存在",
                "a referenced record does not exist",
            )),
            other => ServiceError::Internal(other.to_string()),
        }
    }
}

impl ServiceError {
    /// Stable machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            ServiceError::Invalid(f) => f.code,
            ServiceError::NotFound => "not_found",
            ServiceError::Forbidden => "forbidden",
            ServiceError::Unauthenticated => "unauthenticated",
            ServiceError::BadCredentials => "bad_credentials",
            ServiceError::Locked(_) => "locked",
            ServiceError::StaleVersion => "stale_version",
            ServiceError::Duplicate(_) => "duplicate",
            ServiceError::PasswordChangeRequired => "password_change_required",
            ServiceError::Internal(_) => "internal",
        }
    }

    pub fn field(&self) -> Option<String> {
        match self {
            ServiceError::Invalid(f) => Some(f.field.clone()),
            ServiceError::Duplicate(f) => Some(f.clone()),
            ServiceError::StaleVersion => Some("version".into()),
            _ => None,
        }
    }

    pub fn message_zh(&self) -> String {
        match self {
            ServiceError::Invalid(f) => f.message_zh.clone(),
            ServiceError::NotFound => "记录不存在或不在您的数据范围内".into(),
            ServiceError::Forbidden => "您没有执行此操作的权限".into(),
            ServiceError::Unauthenticated => "未登录或登录已过期,请重新登录".into(),
            ServiceError::BadCredentials => "用户名或密码错误".into(),
            ServiceError::Locked(until) => {
                format!("连续登录失败次数过多,账号已锁定至{}", fmt_time(*until))
            }
            ServiceError::StaleVersion => "该记录已被他人修改,请刷新后重试".into(),
            ServiceError::Duplicate(f) => match f.as_str() {
                "code" => "单位代码已被使用".into(),
                "username" => "用户名已被使用".into(),
                _ => "记录已存在".into(),
            },
            ServiceError::PasswordChangeRequired => "请先修改初始密码".into(),
            ServiceError::Internal(_) => "系统内部错误,请联系管理员".into(),
        }
    }

    pub fn message_en(&self) -> String {
        match self {
            ServiceError::Invalid(f) => f.message_en.clone(),
            ServiceError::NotFound => "not found, or outside your data scope".into(),
            ServiceError::Forbidden => "you may not do this".into(),
            ServiceError::Unauthenticated => "not signed in, or the session expired".into(),
            ServiceError::BadCredentials => "wrong user name or password".into(),
            ServiceError::Locked(until) => {
                format!(
                    "too many failed sign-ins: the account is locked until {}",
                    fmt_time(*until)
                )
            }
            ServiceError::StaleVersion => {
                "the record was changed by someone else; reload and try again".into()
            }
            ServiceError::Duplicate(f) => format!("this {f} is already taken"),
            ServiceError::PasswordChangeRequired => "change your initial password first".into(),
            ServiceError::Internal(_) => "internal error; please contact the administrator".into(),
        }
    }
}

/// `2026-05-06 14:03` in China Standard Time.
pub fn fmt_time(ms: i64) -> String {
    use chrono::{FixedOffset, TimeZone};
    let tz = FixedOffset::east_opt(8 * 3600)
        .unwrap_or_else(|| FixedOffset::east_opt(0).expect("zero offset"));
    tz.timestamp_millis_opt(ms)
        .single()
        .map(|t| t.format("%Y-%m-%d %H:%M:%S").to_string())
        .unwrap_or_default()
}
