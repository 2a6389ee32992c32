//! Errors a person can act on: a stable machine code, the field at fault, and a message in
//! 简体中文 and English.

use std::fmt;

/// A validation failure on one field of an input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    /// Stable machine-readable code, e.g. `too_long`.
    pub code: &'static str,
    /// Name of the field at fault, as it appears in the API (`name`, `parent_id`, …).
    pub field: String,
    pub message_zh: String,
    pub message_en: String,
}

impl FieldError {
    pub fn new(
        code: &'static str,
        field: impl Into<String>,
        zh: impl Into<String>,
        en: impl Into<String>,
    ) -> Self {
        Self {
            code,
            field: field.into(),
            message_zh: zh.into(),
            message_en: en.into(),
        }
    }
}

impl fmt::Display for FieldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}: {} ({})",
            self.field, self.message_en, self.message_zh
        )
    }
}

impl std::error::Error for FieldError {}

/// Any rule of the domain that an input breaks.
pub type DomainError = FieldError;

/// Checks a required text field: trimmed, non-empty, at most `max` characters (not bytes).
pub fn required_text(
    field: &str,
    label_zh: &str,
    value: &str,
    max: usize,
) -> Result<String, FieldError> {
    let v = value.trim();
    if v.is_empty() {
        return Err(FieldError::new(
            "required",
            field,
            format!("{label_zh}不能为空"),
            format!("{field} must not be empty"),
        ));
    }
    let n = v.chars().count();
    if n > max {
        return Err(FieldError::new(
            "too_long",
            field,
            format!("{label_zh}最多{max}个字符,当前{n}个"),
            format!("{field} must be at most {max} characters, got {n}"),
        ));
    }
    if v.chars().any(|c| c.is_control()) {
        return Err(FieldError::new(
            "invalid_chars",
            field,
            format!("{label_zh}不能包含控制字符"),
            format!("{field} must not contain control characters"),
        ));
    }
    Ok(v.to_string())
}
