//! Pure domain types and rules of Taizhang (台账): ids, validated newtypes, the organisation
//! tree, roles and data scopes (数据范围), the password policy, and the hash chain of the audit
//! trail (审计日志). No IO, no SQL, no HTTP: everything here is testable with plain values.

pub mod audit;
pub mod calendar;
pub mod checker;
pub mod dates;
pub mod error;
pub mod evaluate;
pub mod expr;
pub mod forms;
pub mod indicators;
pub mod ledger;
pub mod password;
pub mod role;
pub mod scope;
pub mod standards;
pub mod unit;
pub mod validate;

pub use error::{DomainError, FieldError};
