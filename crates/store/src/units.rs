//! Units (单位) of the organisation tree.

use crate::sql::{Arg, Filter, like_contains};
use crate::{AsConn, Result, StoreError, bind_all, map_err, run};
use serde::Serialize;
use sqlx::AssertSqlSafe;
use taizhang_domain::scope::Scope;
use taizhang_domain::unit::subtree_upper;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct Unit {
    pub id: i64,
    pub parent_id: Option<i64>,
    pub path: String,
    pub depth: i64,
    pub code: String,
    pub name: String,
    pub kind: String,
    pub stage: Option<String>,
    pub rural: bool,
    pub active: bool,
    pub attrs: String,
    pub sort_order: i64,
    pub version: i64,
    pub created_at: i64,
    pub updated_at: i64,
}

const COLS: &str = "u.id, u.parent_id, u.path, u.depth, u.code, u.name, u.kind, u.stage, u.rural, u.active, \
                    u.attrs, u.sort_order, u.version, u.created_at, u.updated_at";

/// What to list.
#[derive(Debug, Clone, Default)]
pub struct UnitFilter {
    /// Direct children of this unit.
    pub parent_id: Option<i64>,
    /// Only roots (units without a parent).
    pub roots: bool,
    /// The whole subtree under this unit's path (the unit included).
    pub under_path: Option<String>,
    /// Name or code contains.
    pub q: Option<String>,
    pub kind: Option<String>,
    pub include_inactive: bool,
    pub limit: i64,
    pub offset: i64,
}

/// Fields of a new unit, already validated by the domain.
#[derive(Debug, Clone)]
pub struct NewUnit {
    pub parent: Option<(i64, String, i64)>,
    pub code: String,
    pub name: String,
    pub kind: String,
    pub stage: Option<String>,
    pub rural: bool,
    pub attrs: String,
    pub sort_order: i64,
}

/// Fetches one unit inside `scope`; `None` if it does not exist *or* lies outside the scope.
pub async fn get(c: &mut impl AsConn, scope: &Scope, id: i64) -> Result<Option<Unit>> {
    let mut f = Filter::default();
    let a = f.arg(Arg::I64(id));
    f.push(format!("u.id = {a}"));
    f.scope(scope, "u.path", "u.id", None);
    let sql = format!("SELECT {COLS} FROM units u{}", f.where_sql());
    Ok(run!(c, |x| bind_all!(
        sqlx::query_as::<_, Unit>(AssertSqlSafe(sql)),
        &f.args
    )
    .fetch_optional(&mut *x)
    .await?))
}

/// Fetches units by id without a scope: for resolving the caller's own scope and for checks
/// that the service layer has already authorised.
pub async fn get_unscoped(c: &mut impl AsConn, id: i64) -> Result<Option<Unit>> {
    let sql = format!("SELECT {COLS} FROM units u WHERE u.id = $1");
    Ok(run!(c, |x| sqlx::query_as::<_, Unit>(AssertSqlSafe(sql))
        .bind(id)
        .fetch_optional(&mut *x)
        .await?))
}

pub async fn get_many_unscoped(c: &mut impl AsConn, ids: &[i64]) -> Result<Vec<Unit>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let mut f = Filter::default();
    let ph: Vec<String> = ids.iter().map(|id| f.arg(Arg::I64(*id))).collect();
    f.push(format!("u.id IN ({})", ph.join(", ")));
    let sql = format!(
        "SELECT {COLS} FROM units u{} ORDER BY u.path",
        f.where_sql()
    );
    Ok(run!(c, |x| bind_all!(
        sqlx::query_as::<_, Unit>(AssertSqlSafe(sql)),
        &f.args
    )
    .fetch_all(&mut *x)
    .await?))
}

fn list_filter(scope: &Scope, filter: &UnitFilter) -> Filter {
    let mut f = Filter::default();
    f.scope(scope, "u.path", "u.id", None);
    if let Some(p) = filter.parent_id {
        let a = f.arg(Arg::I64(p));
        f.push(format!("u.parent_id = {a}"));
    }
    if filter.roots {
        f.push("u.parent_id IS NULL".into());
    }
    if let Some(path) = &filter.under_path {
        let a = f.arg(Arg::Str(path.clone()));
        let b = f.arg(Arg::Str(subtree_upper(path)));
        f.push(format!("u.path >= {a} AND u.path < {b}"));
    }
    if let Some(q) = filter.q.as_deref().filter(|q| !q.is_empty()) {
        let a = f.arg(Arg::Str(like_contains(q)));
        f.push(format!(
            "(u.name LIKE {a} ESCAPE '\\' OR u.code LIKE {a} ESCAPE '\\')"
        ));
    }
    if let Some(k) = &filter.kind {
        let a = f.arg(Arg::Str(k.clone()));
        f.push(format!("u.kind = {a}"));
    }
    if !filter.include_inactive {
        f.push("u.active = TRUE".into());
    }
    f
}

/// Lists units inside `scope` matching `filter`, in tree order of their siblings.
pub async fn list(c: &mut impl AsConn, scope: &Scope, filter: &UnitFilter) -> Result<Vec<Unit>> {
    let mut f = list_filter(scope, filter);
    let lim = f.arg(Arg::I64(filter.limit.clamp(1, 10_000)));
    let off = f.arg(Arg::I64(filter.offset.max(0)));
    // Children of one parent come in their display order (index units_parent); any other list
    // comes in tree pre-order, which the path index yields without sorting.
    let order = if filter.parent_id.is_some() {
        "u.sort_order, u.name, u.id"
    } else {
        "u.path"
    };
    let sql = format!(
        "SELECT {COLS} FROM units u{} ORDER BY {order} LIMIT {lim} OFFSET {off}",
        f.where_sql()
    );
    Ok(run!(c, |x| bind_all!(
        sqlx::query_as::<_, Unit>(AssertSqlSafe(sql)),
        &f.args
    )
    .fetch_all(&mut *x)
    .await?))
}

pub async fn count(c: &mut impl AsConn, scope: &Scope, filter: &UnitFilter) -> Result<i64> {
    let f = list_filter(scope, filter);
    let sql = format!("SELECT count(*) FROM units u{}", f.where_sql());
    let row: (i64,) = run!(c, |x| bind_all!(
        sqlx::query_as::<_, (i64,)>(AssertSqlSafe(sql)),
        &f.args
    )
    .fetch_one(&mut *x)
    .await?);
    Ok(row.0)
}

/// Number of direct children of each of `ids` (for tree rendering).
pub async fn child_counts(
    c: &mut impl AsConn,
    scope: &Scope,
    ids: &[i64],
) -> Result<Vec<(i64, i64)>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let mut f = Filter::default();
    f.scope(scope, "u.path", "u.id", None);
    let ph: Vec<String> = ids.iter().map(|id| f.arg(Arg::I64(*id))).collect();
    f.push(format!("u.parent_id IN ({})", ph.join(", ")));
    f.push("u.active = TRUE".into());
    let sql = format!(
        "SELECT u.parent_id, count(*) FROM units u{} GROUP BY u.parent_id",
        f.where_sql()
    );
    Ok(run!(c, |x| bind_all!(
        sqlx::query_as::<_, (i64, i64)>(AssertSqlSafe(sql)),
        &f.args
    )
    .fetch_all(&mut *x)
    .await?))
}

pub async fn code_exists(c: &mut impl AsConn, code: &str) -> Result<bool> {
    let row: Option<(i64,)> = run!(c, |x| sqlx::query_as(
        "SELECT id FROM units WHERE code = $1"
    )
    .bind(code)
    .fetch_optional(&mut *x)
    .await?);
    Ok(row.is_some())
}

/// The unit with this code (单位代码), if it exists.
pub async fn id_by_code(c: &mut impl AsConn, code: &str) -> Result<Option<i64>> {
    let row: Option<(i64,)> = run!(c, |x| sqlx::query_as(
        "SELECT id FROM units WHERE code = $1"
    )
    .bind(code)
    .fetch_optional(&mut *x)
    .await?);
    Ok(row.map(|r| r.0))
}

/// The sort order that places a new child after its existing siblings.
pub async fn next_sort_order(c: &mut impl AsConn, parent_id: Option<i64>) -> Result<i64> {
    let row: (Option<i64>,) = run!(c, |x| {
        sqlx::query_as(
        "SELECT max(sort_order) FROM units WHERE parent_id = $1 OR (parent_id IS NULL AND $1 IS NULL)"
    )
    .bind(parent_id)
    .fetch_one(&mut *x)
    .await?
    });
    Ok(row.0.map_or(0, |m| m + 1))
}

/// Inserts a unit and sets its path from its id; returns the stored unit.
pub async fn insert(c: &mut impl AsConn, u: &NewUnit, now: i64) -> Result<Unit> {
    let (parent_id, parent_path, depth) = match &u.parent {
        Some((id, path, depth)) => (Some(*id), path.clone(), depth + 1),
        None => (None, "/".to_string(), 0),
    };
    let row: (i64,) = run!(c, |x| {
        sqlx::query_as(
        "INSERT INTO units (parent_id, path, depth, code, name, kind, stage, rural, active, attrs, sort_order, \
         version, created_at, updated_at) VALUES ($1, '', $2, $3, $4, $5, $6, $7, TRUE, $8, $9, 1, $10, $10) RETURNING id"
    )
    .bind(parent_id)
    .bind(depth)
    .bind(&u.code)
    .bind(&u.name)
    .bind(&u.kind)
    .bind(&u.stage)
    .bind(u.rural)
    .bind(&u.attrs)
    .bind(u.sort_order)
    .bind(now)
    .fetch_one(&mut *x)
    .await
    .map_err(map_err)?
    });
    let id = row.0;
    let path = taizhang_domain::unit::child_path(&parent_path, id);
    run!(c, |x| sqlx::query(
        "UPDATE units SET path = $1 WHERE id = $2"
    )
    .bind(&path)
    .bind(id)
    .execute(&mut *x)
    .await?
    .rows_affected());
    get_unscoped(c, id)
        .await?
        .ok_or(StoreError::MissingReference)
}

/// Editable fields of a unit.
#[derive(Debug, Clone)]
pub struct UnitChange {
    pub code: String,
    pub name: String,
    pub kind: String,
    pub stage: Option<String>,
    pub rural: bool,
    pub active: bool,
    pub attrs: String,
    pub sort_order: i64,
}

/// Updates a unit if its version is still `expected_version` (optimistic concurrency).
pub async fn update(
    c: &mut impl AsConn,
    id: i64,
    expected_version: i64,
    ch: &UnitChange,
    now: i64,
) -> Result<Unit> {
    let done = run!(c, |x| {
        sqlx::query(
        "UPDATE units SET code = $1, name = $2, kind = $3, stage = $4, rural = $5, active = $6, attrs = $7, \
         sort_order = $8, version = version + 1, updated_at = $9 WHERE id = $10 AND version = $11"
    )
    .bind(&ch.code)
    .bind(&ch.name)
    .bind(&ch.kind)
    .bind(&ch.stage)
    .bind(ch.rural)
    .bind(ch.active)
    .bind(&ch.attrs)
    .bind(ch.sort_order)
    .bind(now)
    .bind(id)
    .bind(expected_version)
    .execute(&mut *x)
    .await
    .map_err(map_err)?
    .rows_affected()
    });
    if done == 0 {
        return Err(StoreError::StaleVersion {
            expected: expected_version,
        });
    }
    get_unscoped(c, id)
        .await?
        .ok_or(StoreError::MissingReference)
}

/// Moves `unit` under `new_parent`, rewriting the paths and depths of its whole subtree.
/// The caller has checked that `new_parent` is not inside the subtree.
pub async fn move_subtree(
    c: &mut impl AsConn,
    unit: &Unit,
    new_parent: &Unit,
    expected_version: i64,
    now: i64,
) -> Result<Unit> {
    let old = unit.path.clone();
    let new = taizhang_domain::unit::child_path(&new_parent.path, unit.id);
    let depth_delta = new_parent.depth + 1 - unit.depth;
    let done = run!(c, |x| {
        sqlx::query(
        "UPDATE units SET parent_id = $1, version = version + 1, updated_at = $2 WHERE id = $3 AND version = $4"
    )
    .bind(new_parent.id)
    .bind(now)
    .bind(unit.id)
    .bind(expected_version)
    .execute(&mut *x)
    .await?
    .rows_affected()
    });
    if done == 0 {
        return Err(StoreError::StaleVersion {
            expected: expected_version,
        });
    }
    let upper = subtree_upper(&old);
    let old_len = old.chars().count() as i64;
    run!(c, |x| {
        sqlx::query(
        "UPDATE units SET path = $1 || substr(path, $2), depth = depth + $3 WHERE path >= $4 AND path < $5"
    )
    .bind(&new)
    .bind((old_len + 1) as i32)
    .bind(depth_delta)
    .bind(&old)
    .bind(&upper)
    .execute(&mut *x)
    .await?
    .rows_affected()
    });
    get_unscoped(c, unit.id)
        .await?
        .ok_or(StoreError::MissingReference)
}

/// Whether anything still points at the unit (users, child units): such a unit may be
/// deactivated but never deleted.
pub async fn active_children(c: &mut impl AsConn, id: i64) -> Result<i64> {
    let row: (i64,) = run!(c, |x| sqlx::query_as(
        "SELECT count(*) FROM units WHERE parent_id = $1 AND active = TRUE"
    )
    .bind(id)
    .fetch_one(&mut *x)
    .await?);
    Ok(row.0)
}

/// Units with these codes (any scope; the caller checks scope on what comes back).
pub async fn by_codes(c: &mut impl AsConn, codes: &[String]) -> Result<Vec<Unit>> {
    let mut out = Vec::new();
    for chunk in codes.chunks(500) {
        let mut f = Filter::default();
        let ph: Vec<String> = chunk.iter().map(|s| f.arg(Arg::Str(s.clone()))).collect();
        let sql = crate::sql::for_backend(
            c,
            format!(
                "SELECT {COLS} FROM units u WHERE u.code IN ({})",
                ph.join(", ")
            ),
        );
        let rows = run!(c, |x| bind_all!(
            sqlx::query_as::<_, Unit>(AssertSqlSafe(sql)),
            &f.args
        )
        .fetch_all(&mut *x)
        .await?);
        out.extend(rows);
    }
    Ok(out)
}

/// Inserts many units (each with its parent given) in a few statements and sets their paths;
/// returns (code, id) of each.
pub async fn insert_many(
    c: &mut impl AsConn,
    units: &[NewUnit],
    now: i64,
) -> Result<Vec<(String, i64)>> {
    let mut out = Vec::with_capacity(units.len());
    for chunk in units.chunks(500) {
        let mut f2 = Filter::default();
        let rows2 = crate::sql::values_rows(
            &mut f2,
            chunk.iter().map(|u| {
                let (pid, depth) = match &u.parent {
                    Some((id, _, d)) => (Some(*id), d + 1),
                    None => (None, 0),
                };
                vec![
                    Arg::OptI64(pid),
                    Arg::I64(depth),
                    Arg::Str(u.code.clone()),
                    Arg::Str(u.name.clone()),
                    Arg::Str(u.kind.clone()),
                    Arg::OptStr(u.stage.clone()),
                    Arg::Bool(u.rural),
                    Arg::Str(u.attrs.clone()),
                    Arg::I64(u.sort_order),
                    Arg::I64(now),
                    Arg::I64(now),
                    Arg::Str(String::new()),
                ]
            }),
        );
        let sql = crate::sql::for_backend(
            c,
            format!(
                "INSERT INTO units (parent_id, depth, code, name, kind, stage, rural, attrs, sort_order, \
                 created_at, updated_at, path) VALUES {rows2} RETURNING code, id"
            ),
        );
        let ids: Vec<(String, i64)> = run!(c, |x| bind_all!(
            sqlx::query_as::<_, (String, i64)>(AssertSqlSafe(sql)),
            &f2.args
        )
        .fetch_all(&mut *x)
        .await
        .map_err(map_err)?);
        out.extend(ids);
    }
    // Paths from the parents' paths and the new ids.
    run!(c, |x| sqlx::query(
        "UPDATE units SET path = (SELECT p.path FROM units p WHERE p.id = units.parent_id) \
         || CAST(id AS TEXT) || '/' WHERE path = ''"
    )
    .execute(&mut *x)
    .await?
    .rows_affected());
    Ok(out)
}

/// Active units with one of these names, or codes (any scope; the caller checks scope).
pub async fn by_names_or_codes(c: &mut impl AsConn, keys: &[String]) -> Result<Vec<Unit>> {
    let mut out = Vec::new();
    for chunk in keys.chunks(400) {
        let mut f = Filter::default();
        let ph: Vec<String> = chunk.iter().map(|s| f.arg(Arg::Str(s.clone()))).collect();
        let ph2: Vec<String> = chunk.iter().map(|s| f.arg(Arg::Str(s.clone()))).collect();
        let sql = crate::sql::for_backend(
            c,
            format!(
                "SELECT {COLS} FROM units u WHERE u.active = TRUE AND (u.name IN ({}) OR u.code IN ({}))",
                ph.join(", "),
                ph2.join(", ")
            ),
        );
        out.extend(run!(c, |x| bind_all!(
            sqlx::query_as::<_, Unit>(AssertSqlSafe(sql)),
            &f.args
        )
        .fetch_all(&mut *x)
        .await?));
    }
    Ok(out)
}
