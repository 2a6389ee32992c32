//! A caller's resolved data scope (数据范围) for one permission: the union of the scopes of
//! every role assignment that grants it. The store turns it into a WHERE clause; a record
//! outside it does not exist for the caller (404, never 403).

use crate::unit::in_subtree;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Scope {
    /// 全部: no restriction.
    pub all: bool,
    /// Path prefixes of whole subtrees (本单位及以下, 自定义).
    pub subtrees: Vec<String>,
    /// Single units without their descendants (本单位).
    pub units: Vec<i64>,
    /// 仅本人: records owned by this user.
    pub self_user: Option<i64>,
}

impl Scope {
    /// The scope that sees nothing (no role grants the permission).
    pub fn none() -> Self {
        Self::default()
    }

    pub fn everything() -> Self {
        Self {
            all: true,
            ..Self::default()
        }
    }

    pub fn is_empty(&self) -> bool {
        !self.all && self.subtrees.is_empty() && self.units.is_empty() && self.self_user.is_none()
    }

    /// Drops subtrees already covered by a shorter prefix, so the SQL filter stays small.
    pub fn normalise(mut self) -> Self {
        self.subtrees.sort();
        self.subtrees.dedup();
        let mut kept: Vec<String> = Vec::new();
        for p in self.subtrees {
            if !kept.iter().any(|k| in_subtree(k, &p)) {
                kept.push(p);
            }
        }
        self.subtrees = kept;
        self.units.sort_unstable();
        self.units.dedup();
        self
    }

    /// Whether a record anchored at the unit (`unit_id`, `unit_path`) and owned by `owner`
    /// (if it has an owner) is inside the scope.
    pub fn contains(&self, unit_id: i64, unit_path: &str, owner: Option<i64>) -> bool {
        self.all
            || self.subtrees.iter().any(|p| in_subtree(p, unit_path))
            || self.units.contains(&unit_id)
            || (self.self_user.is_some() && self.self_user == owner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn union_of_subtrees_and_units() {
        let s = Scope {
            subtrees: vec!["/1/2/".into()],
            units: vec![9],
            ..Scope::none()
        };
        assert!(s.contains(2, "/1/2/", None));
        assert!(s.contains(3, "/1/2/3/", None));
        assert!(!s.contains(1, "/1/", None));
        assert!(s.contains(9, "/1/9/", None));
        assert!(!s.contains(10, "/1/9/10/", None));
        assert!(Scope::everything().contains(1, "/1/", None));
        assert!(!Scope::none().contains(1, "/1/", None));
        let me = Scope {
            self_user: Some(7),
            ..Scope::none()
        };
        assert!(me.contains(1, "/1/", Some(7)));
        assert!(!me.contains(1, "/1/", Some(8)));
        assert!(!me.contains(1, "/1/", None));
    }

    #[test]
    fn normalise_drops_covered_subtrees() {
        let s = Scope {
            subtrees: vec!["/1/2/3/".into(), "/1/2/".into(), "/1/20/".into()],
            ..Scope::none()
        }
        .normalise();
        assert_eq!(s.subtrees, vec!["/1/2/".to_string(), "/1/20/".to_string()]);
    }
}
