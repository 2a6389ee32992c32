//! Password policy (密码策略) per CONVENTIONS.md: ≥ 8 characters from ≥ 3 classes, not the
//! user name; lock for 10 minutes after 5 consecutive failures.

use crate::error::FieldError;

pub const MIN_LEN: usize = 8;
pub const MAX_LEN: usize = 128;
pub const MAX_FAILURES: i64 = 5;
pub const LOCK_MINUTES: i64 = 10;

pub fn check(password: &str, username: &str) -> Result<(), FieldError> {
    let n = password.chars().count();
    if n < MIN_LEN {
        return Err(FieldError::new(
            "too_short",
            "password",
            format!("密码至少{MIN_LEN}位"),
            format!("password must have at least {MIN_LEN} characters"),
        ));
    }
    if n > MAX_LEN {
        return Err(FieldError::new(
            "too_long",
            "password",
            format!("密码最多{MAX_LEN}位"),
            format!("password must have at most {MAX_LEN} characters"),
        ));
    }
    let classes = [
        password.chars().any(|c| c.is_ascii_lowercase()),
        password.chars().any(|c| c.is_ascii_uppercase()),
        password.chars().any(|c| c.is_ascii_digit()),
        password.chars().any(|c| !c.is_ascii_alphanumeric()),
    ]
    .iter()
    .filter(|b| **b)
    .count();
    if classes < 3 {
        return Err(FieldError::new(
            "too_weak",
            "password",
            "密码须包含小写字母、大写字母、数字、符号中的至少三类",
            "password must mix at least 3 of: lower-case, upper-case, digits, symbols",
        ));
    }
    if !username.is_empty() && password.to_lowercase().contains(&username.to_lowercase()) {
        return Err(FieldError::new(
            "contains_username",
            "password",
            "密码不能包含用户名",
            "password must not contain the user name",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::check;

    #[test]
    fn policy() {
        assert!(check("Taizhang#2026", "admin").is_ok());
        assert_eq!(check("Ab1!", "x").unwrap_err().code, "too_short");
        assert_eq!(check("abcdefgh1", "x").unwrap_err().code, "too_weak");
        assert!(check("abcdefg1!", "x").is_ok());
        assert_eq!(
            check("Admin#2026x", "admin").unwrap_err().code,
            "contains_username"
        );
        assert_eq!(check(&"Aa1!".repeat(40), "x").unwrap_err().code, "too_long");
    }
}
