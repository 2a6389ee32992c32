//! Organisation use cases: browse, create, edit, move, deactivate units (单位).

use crate::{Actor, App, Result, ServiceError, record};
use serde::Deserialize;
use taizhang_domain::FieldError;
use taizhang_domain::role::Permission;
use taizhang_domain::unit::{self as rules, SchoolStage, UnitKind};
use taizhang_store::AsConn;
use taizhang_store::units::{self as store, NewUnit, Unit, UnitChange, UnitFilter};

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateUnit {
    pub parent_id: Option<i64>,
    pub code: String,
    pub name: String,
    pub kind: String,
    #[serde(default)]
    pub stage: Option<String>,
    #[serde(default)]
    pub rural: bool,
    #[serde(default)]
    pub attrs: Option<serde_json::Value>,
    #[serde(default)]
    pub sort_order: i64,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UpdateUnit {
    /// The version the caller read; a different current version answers 409.
    pub version: i64,
    pub code: Option<String>,
    pub name: Option<String>,
    pub kind: Option<String>,
    /// `Some(None)` clears the stage.
    #[serde(default, deserialize_with = "double_option")]
    pub stage: Option<Option<String>>,
    pub rural: Option<bool>,
    pub active: Option<bool>,
    pub attrs: Option<serde_json::Value>,
    pub sort_order: Option<i64>,
}

fn double_option<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> Result<Option<Option<String>>, D::Error> {
    Ok(Some(Option::deserialize(d)?))
}

/// Fetches a unit the actor may read; 404 when it is outside the read scope.
pub async fn get(app: &App, actor: &Actor, id: i64) -> Result<Unit> {
    let mut c = app.store.conn().await?;
    store::get(&mut c, &actor.scope(Permission::UnitRead), id)
        .await?
        .ok_or(ServiceError::NotFound)
}

/// The unit with this code (单位代码) inside the caller's scope; 404 otherwise.
pub async fn find_by_code(app: &App, actor: &Actor, code: &str) -> Result<Unit> {
    let mut c = app.store.conn().await?;
    let Some(id) = store::id_by_code(&mut c, code).await? else {
        return Err(ServiceError::NotFound);
    };
    store::get(&mut c, &actor.scope(Permission::UnitRead), id)
        .await?
        .ok_or(ServiceError::NotFound)
}

/// Fetches a unit for a change: 404 outside the read scope, 403 inside it but outside the write scope.
async fn get_for_write(c: &mut impl AsConn, actor: &Actor, id: i64) -> Result<Unit> {
    if let Some(u) = store::get(c, &actor.scope(Permission::UnitWrite), id).await? {
        return Ok(u);
    }
    match store::get(c, &actor.scope(Permission::UnitRead), id).await? {
        Some(_) => Err(ServiceError::Forbidden),
        None => Err(ServiceError::NotFound),
    }
}

pub async fn list(app: &App, actor: &Actor, filter: &UnitFilter) -> Result<(Vec<Unit>, i64)> {
    let mut c = app.store.conn().await?;
    let scope = actor.scope(Permission::UnitRead);
    let rows = store::list(&mut c, &scope, filter).await?;
    let total = store::count(&mut c, &scope, filter).await?;
    Ok((rows, total))
}

/// The topmost units the actor can see (the roots of their scope), for the tree page.
pub async fn scope_roots(app: &App, actor: &Actor) -> Result<Vec<Unit>> {
    let scope = actor.scope(Permission::UnitRead);
    let mut c = app.store.conn().await?;
    if scope.all {
        return Ok(store::list(
            &mut c,
            &scope,
            &UnitFilter {
                roots: true,
                limit: 1000,
                ..Default::default()
            },
        )
        .await?);
    }
    let mut ids: Vec<i64> = scope
        .subtrees
        .iter()
        .filter_map(|p| p.trim_end_matches('/').rsplit('/').next()?.parse().ok())
        .collect();
    ids.extend(scope.units.iter().copied());
    let mut units = store::get_many_unscoped(&mut c, &ids).await?;
    units.retain(|u| u.active);
    Ok(units)
}

pub async fn child_counts(app: &App, actor: &Actor, ids: &[i64]) -> Result<Vec<(i64, i64)>> {
    let mut c = app.store.conn().await?;
    Ok(store::child_counts(&mut c, &actor.scope(Permission::UnitRead), ids).await?)
}

/// The chain of ancestors the actor can see, root first (for breadcrumbs).
pub async fn ancestors(app: &App, actor: &Actor, unit: &Unit) -> Result<Vec<Unit>> {
    let ids: Vec<i64> = unit
        .path
        .split('/')
        .filter_map(|s| s.parse().ok())
        .filter(|id| *id != unit.id)
        .collect();
    let mut c = app.store.conn().await?;
    let scope = actor.scope(Permission::UnitRead);
    let mut out = Vec::new();
    for u in store::get_many_unscoped(&mut c, &ids).await? {
        if scope.contains(u.id, &u.path, None) {
            out.push(u);
        }
    }
    out.sort_by_key(|u| u.depth);
    Ok(out)
}

fn parse_kind_stage(kind: &str, stage: Option<&str>) -> Result<(UnitKind, Option<SchoolStage>)> {
    let kind = UnitKind::parse("kind", kind)?;
    let stage = match stage.map(str::trim).filter(|s| !s.is_empty()) {
        Some(s) => Some(SchoolStage::parse("stage", s)?),
        None => None,
    };
    rules::check_stage(kind, stage)?;
    Ok((kind, stage))
}

pub async fn create(app: &App, actor: &Actor, input: CreateUnit) -> Result<Unit> {
    let code = rules::unit_code(&input.code)?;
    let name = rules::unit_name(&input.name)?;
    let (kind, stage) = parse_kind_stage(&input.kind, input.stage.as_deref())?;
    let attrs = rules::unit_attrs(&input.attrs.unwrap_or_else(|| serde_json::json!({})))?;
    let mut tx = app.store.begin().await?;
    let parent = match input.parent_id {
        Some(pid) => {
            let p = get_for_write(&mut tx, actor, pid)
                .await
                .map_err(|e| match e {
                    ServiceError::NotFound => FieldError::new(
                        "not_found",
                        "parent_id",
                        format!("上级单位{pid}不存在或不在您的数据范围内"),
                        format!("parent unit {pid} does not exist or is outside your data scope"),
                    )
                    .into(),
                    other => other,
                })?;
            if !p.active {
                return Err(FieldError::new(
                    "inactive",
                    "parent_id",
                    format!("上级单位“{}”已停用", p.name),
                    format!("parent unit '{}' is deactivated", p.name),
                )
                .into());
            }
            Some((p.id, p.path, p.depth))
        }
        None if actor.scope(Permission::UnitWrite).all => None,
        None => {
            return Err(FieldError::new(
                "required",
                "parent_id",
                "请选择上级单位",
                "a parent unit is required",
            )
            .into());
        }
    };
    if store::code_exists(&mut tx, &code).await? {
        return Err(ServiceError::Duplicate("code".into()));
    }
    // 0 (the default) places the new unit after its siblings.
    let sort_order = match input.sort_order {
        0 => store::next_sort_order(&mut tx, parent.as_ref().map(|p| p.0)).await?,
        n => n,
    };
    let new = NewUnit {
        parent,
        code,
        name,
        kind: kind.as_str().to_string(),
        stage: stage.map(|s| s.as_str().to_string()),
        rural: input.rural,
        attrs,
        sort_order,
    };
    let unit = store::insert(&mut tx, &new, app.now()).await?;
    record(
        app,
        &mut tx,
        actor,
        "unit.create",
        "unit",
        unit.id,
        Some(unit.id),
        None::<&()>,
        Some(&unit),
    )
    .await?;
    tx.commit().await?;
    Ok(unit)
}

pub async fn update(app: &App, actor: &Actor, id: i64, input: UpdateUnit) -> Result<Unit> {
    let mut tx = app.store.begin().await?;
    let before = get_for_write(&mut tx, actor, id).await?;
    if before.version != input.version {
        return Err(ServiceError::StaleVersion);
    }
    let code = match &input.code {
        Some(c) => rules::unit_code(c)?,
        None => before.code.clone(),
    };
    let name = match &input.name {
        Some(n) => rules::unit_name(n)?,
        None => before.name.clone(),
    };
    let kind_s = input.kind.clone().unwrap_or_else(|| before.kind.clone());
    let stage_s = match &input.stage {
        Some(s) => s.clone(),
        None => before.stage.clone(),
    };
    let (kind, stage) = parse_kind_stage(&kind_s, stage_s.as_deref())?;
    let attrs = match &input.attrs {
        Some(a) => rules::unit_attrs(a)?,
        None => before.attrs.clone(),
    };
    let active = input.active.unwrap_or(before.active);
    if before.active && !active {
        check_can_deactivate(&mut tx, &before).await?;
    }
    if code != before.code && store::code_exists(&mut tx, &code).await? {
        return Err(ServiceError::Duplicate("code".into()));
    }
    let change = UnitChange {
        code,
        name,
        kind: kind.as_str().to_string(),
        stage: stage.map(|s| s.as_str().to_string()),
        rural: input.rural.unwrap_or(before.rural),
        active,
        attrs,
        sort_order: input.sort_order.unwrap_or(before.sort_order),
    };
    let after = store::update(&mut tx, id, input.version, &change, app.now()).await?;
    let action = if before.active && !after.active {
        "unit.deactivate"
    } else if !before.active && after.active {
        "unit.reactivate"
    } else {
        "unit.update"
    };
    record(
        app,
        &mut tx,
        actor,
        action,
        "unit",
        id,
        Some(id),
        Some(&before),
        Some(&after),
    )
    .await?;
    tx.commit().await?;
    Ok(after)
}

async fn check_can_deactivate(c: &mut impl AsConn, unit: &Unit) -> Result<()> {
    let n = store::active_children(c, unit.id).await?;
    if n > 0 {
        return Err(FieldError::new(
            "has_active_children",
            "active",
            format!("“{}”还有{n}个在用的下级单位,请先停用或移走它们", unit.name),
            format!(
                "'{}' still has {n} active child units: deactivate or move them first",
                unit.name
            ),
        )
        .into());
    }
    Ok(())
}

/// Deactivates (停用) a unit. Units are never deleted: records keep pointing at them.
pub async fn deactivate(app: &App, actor: &Actor, id: i64, version: i64) -> Result<Unit> {
    update(
        app,
        actor,
        id,
        UpdateUnit {
            version,
            active: Some(false),
            ..Default::default()
        },
    )
    .await
}

/// Moves a unit (with its subtree) under a new parent.
pub async fn move_to(
    app: &App,
    actor: &Actor,
    id: i64,
    new_parent_id: i64,
    version: i64,
) -> Result<Unit> {
    let mut tx = app.store.begin().await?;
    let unit = get_for_write(&mut tx, actor, id).await?;
    if unit.version != version {
        return Err(ServiceError::StaleVersion);
    }
    let parent = get_for_write(&mut tx, actor, new_parent_id)
        .await
        .map_err(|e| match e {
            ServiceError::NotFound => FieldError::new(
                "not_found",
                "parent_id",
                format!("目标上级单位{new_parent_id}不存在或不在您的数据范围内"),
                format!(
                    "target parent {new_parent_id} does not exist or is outside your data scope"
                ),
            )
            .into(),
            other => other,
        })?;
    if rules::in_subtree(&unit.path, &parent.path) {
        return Err(FieldError::new(
            "cycle",
            "parent_id",
            format!(
                "不能把“{}”移到它自己或它的下级单位“{}”之下",
                unit.name, parent.name
            ),
            format!(
                "cannot move '{}' under itself or its own descendant '{}'",
                unit.name, parent.name
            ),
        )
        .into());
    }
    if !parent.active {
        return Err(FieldError::new(
            "inactive",
            "parent_id",
            format!("目标上级单位“{}”已停用", parent.name),
            format!("target parent '{}' is deactivated", parent.name),
        )
        .into());
    }
    if unit.parent_id == Some(parent.id) {
        return Ok(unit);
    }
    let after = store::move_subtree(&mut tx, &unit, &parent, version, app.now()).await?;
    record(
        app,
        &mut tx,
        actor,
        "unit.move",
        "unit",
        id,
        Some(id),
        Some(&unit),
        Some(&after),
    )
    .await?;
    tx.commit().await?;
    Ok(after)
}
