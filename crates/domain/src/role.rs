//! Roles (角色), permissions and the kinds of data scope (数据范围) a role assignment carries.

use crate::error::FieldError;
use serde::{Deserialize, Serialize};

/// A role a user can hold. Roles combine by union.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// 系统管理员
    Admin,
    /// 督办员
    Supervisor,
    /// 领导
    Leader,
    /// 承办人
    Handler,
    /// 填报员
    Clerk,
    /// 纪检 (read-only)
    Inspector,
    /// 查看
    Viewer,
}

/// What a role allows, before data scope narrows it to records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Permission {
    UnitRead,
    UnitWrite,
    UserRead,
    UserWrite,
    AuditRead,
    /// See supervision items (督办事项).
    ItemRead,
    /// Act for the lead unit: accept, report progress, ask for close-out (承办).
    ItemHandle,
    /// Open ledgers, assign, remind, verify and close (督办/销号).
    ItemSupervise,
    /// See schools' reported data (数据填报) and evaluations.
    DataRead,
    /// Fill in and submit a school's data (填报).
    DataEnter,
    /// Approve or return submitted data (审核); approval locks it.
    DataApprove,
}

impl Role {
    pub const ALL: [Role; 7] = [
        Role::Admin,
        Role::Supervisor,
        Role::Leader,
        Role::Handler,
        Role::Clerk,
        Role::Inspector,
        Role::Viewer,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Supervisor => "supervisor",
            Role::Leader => "leader",
            Role::Handler => "handler",
            Role::Clerk => "clerk",
            Role::Inspector => "inspector",
            Role::Viewer => "viewer",
        }
    }

    pub fn label_zh(self) -> &'static str {
        match self {
            Role::Admin => "系统管理员",
            Role::Supervisor => "督办员",
            Role::Leader => "领导",
            Role::Handler => "承办人",
            Role::Clerk => "填报员",
            Role::Inspector => "纪检(只读)",
            Role::Viewer => "查看",
        }
    }

    pub fn label_en(self) -> &'static str {
        match self {
            Role::Admin => "Administrator",
            Role::Supervisor => "Supervisor",
            Role::Leader => "Leader",
            Role::Handler => "Handler",
            Role::Clerk => "Data clerk",
            Role::Inspector => "Inspector (read-only)",
            Role::Viewer => "Viewer",
        }
    }

    pub fn parse(field: &str, s: &str) -> Result<Self, FieldError> {
        Self::ALL
            .into_iter()
            .find(|r| r.as_str() == s || r.label_zh() == s)
            .ok_or_else(|| {
                FieldError::new(
                    "invalid_value",
                    field,
                    format!("角色“{s}”无效"),
                    format!(
                        "unknown role '{s}', expected one of: {}",
                        Self::ALL.map(|r| r.as_str()).join(", ")
                    ),
                )
            })
    }

    /// The permissions this role grants. Read-only roles grant no write permission at all.
    pub fn permissions(self) -> &'static [Permission] {
        use Permission::*;
        match self {
            Role::Admin => &[
                UnitRead,
                UnitWrite,
                UserRead,
                UserWrite,
                AuditRead,
                ItemRead,
                ItemSupervise,
                DataRead,
                DataApprove,
            ],
            Role::Supervisor => &[
                UnitRead,
                UserRead,
                ItemRead,
                ItemSupervise,
                DataRead,
                DataApprove,
            ],
            Role::Leader => &[UnitRead, UserRead, ItemRead, DataRead],
            Role::Inspector => &[UnitRead, UserRead, AuditRead, ItemRead, DataRead],
            Role::Handler => &[UnitRead, ItemRead, ItemHandle],
            Role::Clerk => &[UnitRead, ItemRead, ItemHandle, DataRead, DataEnter],
            Role::Viewer => &[UnitRead, ItemRead, DataRead],
        }
    }

    pub fn grants(self, p: Permission) -> bool {
        self.permissions().contains(&p)
    }
}

/// The kind of data scope of one role assignment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ScopeKind {
    /// 全部
    All,
    /// 自定义 (chosen subtrees)
    Custom,
    /// 本单位
    OwnUnit,
    /// 本单位及以下
    OwnUnitAndBelow,
    /// 仅本人
    SelfOnly,
}

impl ScopeKind {
    pub const ALL: [ScopeKind; 5] = [
        ScopeKind::All,
        ScopeKind::Custom,
        ScopeKind::OwnUnit,
        ScopeKind::OwnUnitAndBelow,
        ScopeKind::SelfOnly,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ScopeKind::All => "all",
            ScopeKind::Custom => "custom",
            ScopeKind::OwnUnit => "own_unit",
            ScopeKind::OwnUnitAndBelow => "own_unit_and_below",
            ScopeKind::SelfOnly => "self_only",
        }
    }

    pub fn label_zh(self) -> &'static str {
        match self {
            ScopeKind::All => "全部",
            ScopeKind::Custom => "自定义",
            ScopeKind::OwnUnit => "本单位",
            ScopeKind::OwnUnitAndBelow => "本单位及以下",
            ScopeKind::SelfOnly => "仅本人",
        }
    }

    pub fn label_en(self) -> &'static str {
        match self {
            ScopeKind::All => "All",
            ScopeKind::Custom => "Chosen subtrees",
            ScopeKind::OwnUnit => "Own unit",
            ScopeKind::OwnUnitAndBelow => "Own unit and below",
            ScopeKind::SelfOnly => "Self only",
        }
    }

    pub fn parse(field: &str, s: &str) -> Result<Self, FieldError> {
        Self::ALL
            .into_iter()
            .find(|r| r.as_str() == s || r.label_zh() == s)
            .ok_or_else(|| {
                FieldError::new(
                    "invalid_value",
                    field,
                    format!("数据范围“{s}”无效"),
                    format!(
                        "unknown data scope '{s}', expected one of: {}",
                        Self::ALL.map(|r| r.as_str()).join(", ")
                    ),
                )
            })
    }
}

/// One role held by a user, with its data scope.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoleAssignment {
    pub role: Role,
    pub scope: ScopeKind,
    /// Roots of the chosen subtrees when `scope` is `custom`.
    #[serde(default)]
    pub units: Vec<i64>,
}

impl RoleAssignment {
    pub fn validate(&self) -> Result<(), FieldError> {
        match (self.scope, self.units.is_empty()) {
            (ScopeKind::Custom, true) => Err(FieldError::new(
                "required",
                "roles.units",
                "自定义数据范围至少要选择一个单位",
                "a custom data scope needs at least one unit",
            )),
            (ScopeKind::Custom, false) if self.units.len() > 100 => Err(FieldError::new(
                "too_many",
                "roles.units",
                "自定义数据范围最多100个单位",
                "a custom data scope may name at most 100 units",
            )),
            (ScopeKind::Custom, false) => Ok(()),
            (_, false) => Err(FieldError::new(
                "not_allowed",
                "roles.units",
                "只有自定义数据范围可以选择单位",
                "units may be chosen only for a custom data scope",
            )),
            (_, true) => Ok(()),
        }
    }
}
