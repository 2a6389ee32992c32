//! Dynamic SQL: numbered placeholders and owned arguments, and the data-scope filter.

use taizhang_domain::scope::Scope;
use taizhang_domain::unit::subtree_upper;

/// An owned query argument.
#[derive(Debug, Clone)]
pub enum Arg {
    I64(i64),
    OptI64(Option<i64>),
    Str(String),
    OptStr(Option<String>),
    Bool(bool),
    F64(f64),
}

/// A WHERE clause under construction: conditions joined by AND, arguments numbered in order.
#[derive(Debug, Default)]
pub struct Filter {
    pub conds: Vec<String>,
    pub args: Vec<Arg>,
}

impl Filter {
    /// The next placeholder, `$n`, for `arg`.
    pub fn arg(&mut self, arg: Arg) -> String {
        self.args.push(arg);
        format!("${}", self.args.len())
    }

    pub fn push(&mut self, cond: String) {
        self.conds.push(cond);
    }

    pub fn where_sql(&self) -> String {
        if self.conds.is_empty() {
            String::new()
        } else {
            format!(" WHERE {}", self.conds.join(" AND "))
        }
    }

    /// Restricts to records inside `scope`: the record's unit is given by `path_col`/`id_col`,
    /// its owner (for 仅本人) by `owner_col`.
    pub fn scope(&mut self, scope: &Scope, path_col: &str, id_col: &str, owner_col: Option<&str>) {
        self.scope_any(scope, &[(path_col, id_col)], owner_col);
    }

    /// Like [`Filter::scope`] for records anchored at several units (e.g. an item's lead unit
    /// and its ledger's owner): inside when any anchor is.
    pub fn scope_any(&mut self, scope: &Scope, anchors: &[(&str, &str)], owner_col: Option<&str>) {
        if scope.all {
            return;
        }
        let mut ors = Vec::new();
        for p in &scope.subtrees {
            let a = self.arg(Arg::Str(p.clone()));
            let b = self.arg(Arg::Str(subtree_upper(p)));
            for (path_col, _) in anchors {
                ors.push(format!("({path_col} >= {a} AND {path_col} < {b})"));
            }
        }
        if !scope.units.is_empty() {
            let ids: Vec<String> = scope
                .units
                .iter()
                .map(|id| self.arg(Arg::I64(*id)))
                .collect();
            for (_, id_col) in anchors {
                ors.push(format!("{id_col} IN ({})", ids.join(", ")));
            }
        }
        if let (Some(u), Some(col)) = (scope.self_user, owner_col) {
            let a = self.arg(Arg::I64(u));
            ors.push(format!("{col} = {a}"));
        }
        if ors.is_empty() {
            self.conds.push("1 = 0".to_string());
        } else {
            self.conds.push(format!("({})", ors.join(" OR ")));
        }
    }
}

/// Binds every argument of a [`Filter`] to a query, in order.
#[macro_export]
macro_rules! bind_all {
    ($q:expr, $args:expr) => {{
        let mut q = $q;
        for a in $args {
            q = match a {
                $crate::sql::Arg::I64(v) => q.bind(*v),
                $crate::sql::Arg::OptI64(v) => q.bind(*v),
                $crate::sql::Arg::Str(v) => q.bind(v.clone()),
                $crate::sql::Arg::OptStr(v) => q.bind(v.clone()),
                $crate::sql::Arg::Bool(v) => q.bind(*v),
                $crate::sql::Arg::F64(v) => q.bind(*v),
            };
        }
        q
    }};
}

/// The `(…), (…)` of a multi-row `INSERT … VALUES`, each row's arguments added to `f` in order.
pub fn values_rows(f: &mut Filter, rows: impl IntoIterator<Item = Vec<Arg>>) -> String {
    rows.into_iter()
        .map(|row| {
            let ph: Vec<String> = row.into_iter().map(|a| f.arg(a)).collect();
            format!("({})", ph.join(", "))
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// A statement with many numbered parameters, as this backend binds it best: positional `?`
/// on SQLite (see [`positional`]), unchanged on PostgreSQL.
pub fn for_backend(c: &mut impl crate::AsConn, sql: String) -> String {
    if c.is_sqlite() { positional(&sql) } else { sql }
}

/// For a statement with thousands of parameters on SQLite: `$1, $2, …` (each used once, in
/// order) become anonymous `?`. sqlx binds `$N` parameters by looking each name up, which
/// SQLite does by a linear scan — quadratic in the parameter count of a multi-row insert.
pub fn positional(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len());
    let mut chars = sql.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '$' && chars.peek().is_some_and(char::is_ascii_digit) {
            while chars.peek().is_some_and(char::is_ascii_digit) {
                chars.next();
            }
            out.push('?');
        } else {
            out.push(c);
        }
    }
    out
}

/// Escapes `%`, `_` and `\` for a LIKE pattern used with `ESCAPE '\'`.
pub fn like_contains(s: &str) -> String {
    let mut out = String::from("%");
    for c in s.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('%');
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn positional_replaces_numbered_parameters_in_order() {
        assert_eq!(
            super::positional("INSERT INTO t VALUES ($1, '$x', $2), ($3, $10)"),
            "INSERT INTO t VALUES (?, '$x', ?), (?, ?)"
        );
    }
}
