//! User administration (用户管理): create, edit, roles and data scopes, password resets.

use crate::auth::hash_password;
use crate::{Actor, App, Result, ServiceError, record};
use serde::{Deserialize, Serialize};
use taizhang_domain::FieldError;
use taizhang_domain::error::required_text;
use taizhang_domain::password;
use taizhang_domain::role::{Permission, RoleAssignment, ScopeKind};
use taizhang_store::AsConn;
use taizhang_store::users::{self as store, NewUser, User, UserChange, UserFilter};

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateUser {
    pub username: String,
    pub display_name: String,
    pub unit_id: i64,
    /// The initial password (初始密码); the user must change it at first sign-in.
    pub password: String,
    #[serde(default)]
    pub roles: Vec<RoleAssignment>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UpdateUser {
    pub version: i64,
    pub display_name: Option<String>,
    pub unit_id: Option<i64>,
    pub active: Option<bool>,
    pub roles: Option<Vec<RoleAssignment>>,
}

/// A user with their roles, as the API returns it.
#[derive(Debug, Clone, Serialize)]
pub struct UserView {
    #[serde(flatten)]
    pub user: User,
    pub roles: Vec<RoleAssignment>,
}

pub fn username(v: &str) -> Result<String, FieldError> {
    let v = required_text("username", "用户名", v, 40)?;
    if v.chars().count() < 2
        || !v
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'))
    {
        return Err(FieldError::new(
            "invalid_format",
            "username",
            "用户名应为2–40位字母、数字、_ . -",
            "user name must be 2-40 ASCII letters, digits, '_', '.' or '-'",
        ));
    }
    Ok(v)
}

pub async fn get(app: &App, actor: &Actor, id: i64) -> Result<UserView> {
    let mut c = app.store.conn().await?;
    let user = store::get(&mut c, &actor.scope(Permission::UserRead), id)
        .await?
        .ok_or(ServiceError::NotFound)?;
    let roles = store::roles(&mut c, id).await?;
    Ok(UserView { user, roles })
}

async fn get_for_write(c: &mut impl AsConn, actor: &Actor, id: i64) -> Result<User> {
    if let Some(u) = store::get(c, &actor.scope(Permission::UserWrite), id).await? {
        return Ok(u);
    }
    match store::get(c, &actor.scope(Permission::UserRead), id).await? {
        Some(_) => Err(ServiceError::Forbidden),
        None => Err(ServiceError::NotFound),
    }
}

pub async fn list(app: &App, actor: &Actor, filter: &UserFilter) -> Result<(Vec<UserView>, i64)> {
    let mut c = app.store.conn().await?;
    let scope = actor.scope(Permission::UserRead);
    let users = store::list(&mut c, &scope, filter).await?;
    let total = store::count(&mut c, &scope, filter).await?;
    let mut out = Vec::with_capacity(users.len());
    for u in users {
        let roles = store::roles(&mut c, u.id).await?;
        out.push(UserView { user: u, roles });
    }
    Ok((out, total))
}

/// Checks that the unit lies in the actor's user-administration scope.
async fn check_unit(c: &mut impl AsConn, actor: &Actor, unit_id: i64, field: &str) -> Result<()> {
    let scope = actor.scope(Permission::UserWrite);
    let found = taizhang_store::units::get(c, &scope, unit_id).await?;
    if found.is_none()
        && taizhang_store::units::get(c, &actor.scope(Permission::UnitRead), unit_id)
            .await?
            .is_some()
    {
        // Visible but not administrable by this caller.
        return Err(ServiceError::Forbidden);
    }
    match found {
        Some(u) if u.active => Ok(()),
        Some(u) => Err(FieldError::new(
            "inactive",
            field,
            format!("单位“{}”已停用", u.name),
            format!("unit '{}' is deactivated", u.name),
        )
        .into()),
        None => Err(FieldError::new(
            "not_found",
            field,
            format!("单位{unit_id}不存在或不在您的数据范围内"),
            format!("unit {unit_id} does not exist or is outside your data scope"),
        )
        .into()),
    }
}

/// No one hands out more than they hold: only an actor with the 全部 scope may grant 全部, and
/// custom subtrees must lie inside the actor's own scope.
async fn check_roles(c: &mut impl AsConn, actor: &Actor, roles: &[RoleAssignment]) -> Result<()> {
    if roles.len() > 20 {
        return Err(
            FieldError::new("too_many", "roles", "角色最多20个", "at most 20 roles").into(),
        );
    }
    let scope = actor.scope(Permission::UserWrite);
    for r in roles {
        r.validate()?;
        if r.scope == ScopeKind::All && !scope.all {
            return Err(FieldError::new(
                "scope_too_wide",
                "roles.scope",
                "您不能授予“全部”数据范围",
                "you may not grant the 'all' data scope",
            )
            .into());
        }
        for u in &r.units {
            check_unit(c, actor, *u, "roles.units").await?;
        }
    }
    Ok(())
}

pub async fn create(app: &App, actor: &Actor, input: CreateUser) -> Result<UserView> {
    let name = username(&input.username)?;
    let display = required_text("display_name", "姓名", &input.display_name, 50)?;
    password::check(&input.password, &name)?;
    let hash = hash_password(input.password.clone()).await?;
    let mut tx = app.store.begin().await?;
    check_unit(&mut tx, actor, input.unit_id, "unit_id").await?;
    check_roles(&mut tx, actor, &input.roles).await?;
    let id = store::insert(
        &mut tx,
        &NewUser {
            username: name,
            display_name: display,
            unit_id: input.unit_id,
            password_hash: hash,
            must_change_password: true,
        },
        app.now(),
    )
    .await?;
    store::set_roles(&mut tx, id, &input.roles).await?;
    let user = store::get_unscoped(&mut tx, id)
        .await?
        .ok_or(ServiceError::NotFound)?;
    let view = UserView {
        user,
        roles: input.roles,
    };
    record(
        app,
        &mut tx,
        actor,
        "user.create",
        "user",
        id,
        Some(view.user.unit_id),
        None::<&()>,
        Some(&view),
    )
    .await?;
    tx.commit().await?;
    Ok(view)
}

pub async fn update(app: &App, actor: &Actor, id: i64, input: UpdateUser) -> Result<UserView> {
    let mut tx = app.store.begin().await?;
    let before_user = get_for_write(&mut tx, actor, id).await?;
    if before_user.version != input.version {
        return Err(ServiceError::StaleVersion);
    }
    let before = UserView {
        roles: store::roles(&mut tx, id).await?,
        user: before_user,
    };
    let display = match &input.display_name {
        Some(d) => required_text("display_name", "姓名", d, 50)?,
        None => before.user.display_name.clone(),
    };
    let unit_id = input.unit_id.unwrap_or(before.user.unit_id);
    if unit_id != before.user.unit_id {
        check_unit(&mut tx, actor, unit_id, "unit_id").await?;
    }
    if let Some(roles) = &input.roles {
        check_roles(&mut tx, actor, roles).await?;
    }
    let active = input.active.unwrap_or(before.user.active);
    if id == actor.user_id && !active {
        return Err(FieldError::new(
            "self",
            "active",
            "不能停用自己的账号",
            "you cannot deactivate yourself",
        )
        .into());
    }
    store::update(
        &mut tx,
        id,
        input.version,
        &UserChange {
            display_name: display,
            unit_id,
            active,
        },
        app.now(),
    )
    .await?;
    if let Some(roles) = &input.roles {
        store::set_roles(&mut tx, id, roles).await?;
    }
    if !active {
        taizhang_store::auth::delete_user_sessions(&mut tx, id, None).await?;
    }
    let after = UserView {
        user: store::get_unscoped(&mut tx, id)
            .await?
            .ok_or(ServiceError::NotFound)?,
        roles: store::roles(&mut tx, id).await?,
    };
    record(
        app,
        &mut tx,
        actor,
        "user.update",
        "user",
        id,
        Some(after.user.unit_id),
        Some(&before),
        Some(&after),
    )
    .await?;
    tx.commit().await?;
    Ok(after)
}

/// Sets a new initial password for a user (重置密码); they must change it at next sign-in, and
/// their sessions end.
pub async fn reset_password(app: &App, actor: &Actor, id: i64, new_password: &str) -> Result<()> {
    let mut c = app.store.conn().await?;
    let user = get_for_write(&mut c, actor, id).await?;
    drop(c);
    password::check(new_password, &user.username)?;
    let hash = hash_password(new_password.to_string()).await?;
    let mut tx = app.store.begin().await?;
    store::set_password(&mut tx, id, &hash, true, app.now()).await?;
    taizhang_store::auth::delete_user_sessions(&mut tx, id, None).await?;
    record(
        app,
        &mut tx,
        actor,
        "user.password_reset",
        "user",
        id,
        Some(user.unit_id),
        None::<&()>,
        Some(&serde_json::json!({"password": "reset", "must_change_password": true})),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}
