//! School indicators against the national standards (均衡发展督导评估): the student-weighted
//! 差异系数 (coefficient of variation) of a county per stage and indicator, and the split of a
//! school spanning stages (九年一贯制, 完全中学, 十二年一贯制) into stage units.
//!
//! The formulas are those of `design/STANDARDS.md`:
//!
//! ```text
//! X_i = resource_i / students_i (× factor, e.g. 100 for 每百名…)
//! X̄   = Σ resource_i / Σ students_i × factor      (ratio of sums, never the mean of ratios)
//! S   = sqrt( Σ (P_i / P) · (X_i − X̄)² )          (student-weighted, population: no n − 1)
//! CV  = S / X̄                                     (差异系数)
//! ```

use serde::Serialize;

/// One school (or stage unit of a school) for one indicator: its resource and its students.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Obs {
    /// e.g. books, ㎡ of teaching rooms, computers, qualified teachers.
    pub resource: f64,
    /// 学年初注册学籍学生数 of the school (stage unit).
    pub students: f64,
}

/// A school's part in the county's 差异系数.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Contribution {
    /// X_i: the school's own value.
    pub value: f64,
    /// P_i / P: the school's share of the students.
    pub weight: f64,
    /// (P_i / P) · (X_i − X̄)²: what the school adds to the variance.
    pub variance_part: f64,
}

/// The county value and spread of one indicator over its schools.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Spread {
    /// X̄ = Σ resource ÷ Σ students (× factor).
    pub mean: f64,
    /// S: the student-weighted population standard deviation.
    pub sd: f64,
    /// Number of schools (stage units) counted.
    pub n: usize,
    /// 差异系数 = S ÷ X̄; None when X̄ is 0.
    pub cv: Option<f64>,
    /// Each school's value, weight and part of the variance, in input order.
    pub schools: Vec<Contribution>,
}

/// The student-weighted 差异系数 of `obs` with `factor` (1, or 100 for "每百名学生…").
/// Schools without students cannot be weighted and are left out; None when no school is left
/// or a value is not finite.
pub fn spread(obs: &[Obs], factor: f64) -> Option<Spread> {
    let kept: Vec<&Obs> = obs.iter().filter(|o| o.students > 0.0).collect();
    let p: f64 = kept.iter().map(|o| o.students).sum();
    let r: f64 = kept.iter().map(|o| o.resource).sum();
    if kept.is_empty() || !(p.is_finite() && r.is_finite()) {
        return None;
    }
    let mean = r / p * factor;
    let schools: Vec<Contribution> = kept
        .iter()
        .map(|o| {
            let value = o.resource / o.students * factor;
            let weight = o.students / p;
            Contribution {
                value,
                weight,
                variance_part: weight * (value - mean) * (value - mean),
            }
        })
        .collect();
    let sd = schools.iter().map(|c| c.variance_part).sum::<f64>().sqrt();
    Some(Spread {
        mean,
        sd,
        n: schools.len(),
        cv: (mean != 0.0).then(|| sd / mean),
        schools,
    })
}

/// The stage weights for splitting a school's physical resources (生均 across stages):
/// 九年一贯制 小学 : 初中 = 1 : 1.1; 完全中学 初中 : 高中 = 1 : 1.2; 十二年一贯制
/// 小学 : 初中 : 高中 = 1 : 1.1 : 1.32.
pub const NINE_YEAR: &[f64] = &[1.0, 1.1];
pub const COMPLETE_SECONDARY: &[f64] = &[1.0, 1.2];
pub const TWELVE_YEAR: &[f64] = &[1.0, 1.1, 1.32];

/// Splits a physical resource of a school spanning stages among its stage units in
/// proportion to weighted enrolment: stage k gets `total · w_k·E_k ÷ Σ w_j·E_j`. Teachers are
/// never split this way (they count where they teach). Gives exact shares; all zero when no
/// stage has students.
pub fn split_resource(total: f64, enrolments: &[f64], weights: &[f64]) -> Vec<f64> {
    let weighted: Vec<f64> = enrolments
        .iter()
        .zip(weights.iter().chain(std::iter::repeat(&1.0)))
        .map(|(e, w)| e * w)
        .collect();
    let sum: f64 = weighted.iter().sum();
    weighted
        .iter()
        .map(|w| if sum > 0.0 { total * w / sum } else { 0.0 })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn obs(students: &[f64], resources: &[f64]) -> Vec<Obs> {
        students
            .iter()
            .zip(resources)
            .map(|(s, r)| Obs {
                resource: *r,
                students: *s,
            })
            .collect()
    }

    /// STANDARDS.md's worked example: five primary schools' books.
    #[test]
    fn worked_example_books() {
        let s = spread(
            &obs(
                &[45.0, 37.0, 89.0, 76.0, 55.0],
                &[279.0, 137.0, 935.0, 160.0, 402.0],
            ),
            1.0,
        )
        .expect("spread");
        assert!((s.mean - 1913.0 / 302.0).abs() < 1e-12);
        assert!((s.mean - 6.334).abs() < 5e-4, "X̄ = {}", s.mean);
        let var: f64 = s.schools.iter().map(|c| c.variance_part).sum();
        assert!((var - 10.653).abs() < 5e-4, "Σ = {var}");
        assert!((s.sd - 3.264).abs() < 5e-4, "S = {}", s.sd);
        let cv = s.cv.expect("cv");
        assert!((cv - 0.515).abs() < 5e-4, "CV = {cv}");
        assert_eq!(s.n, 5);
        // The unweighted CV of the same data — the mistake several systems make — is 0.489.
        let x: Vec<f64> = s.schools.iter().map(|c| c.value).collect();
        let m = x.iter().sum::<f64>() / 5.0;
        let sd = (x.iter().map(|v| (v - m) * (v - m)).sum::<f64>() / 5.0).sqrt();
        assert!((sd / m - 0.489).abs() < 5e-4, "unweighted {}", sd / m);
    }

    /// STANDARDS.md: 166 小学 + 210 初中 students share 23,226 books 1 : 1.1 → 小学部 9,711
    /// (published rounded down), 初中部 the remaining 13,515.
    #[test]
    fn nine_year_school_split() {
        let parts = split_resource(23_226.0, &[166.0, 210.0], NINE_YEAR);
        assert_eq!(parts[0].floor(), 9_711.0);
        assert_eq!(23_226.0 - parts[0].floor(), 13_515.0);
        assert!((parts.iter().sum::<f64>() - 23_226.0).abs() < 1e-9);
        assert_eq!(split_resource(10.0, &[0.0, 0.0], NINE_YEAR), vec![0.0, 0.0]);
    }

    #[test]
    fn schools_without_students_are_left_out_and_zero_mean_has_no_cv() {
        let s = spread(&obs(&[0.0, 10.0], &[5.0, 20.0]), 100.0).expect("spread");
        assert_eq!((s.n, s.mean, s.cv), (1, 200.0, Some(0.0)));
        assert_eq!(spread(&obs(&[0.0], &[5.0]), 1.0), None);
        assert_eq!(
            spread(&obs(&[3.0, 4.0], &[0.0, 0.0]), 1.0).expect("s").cv,
            None
        );
    }

    fn schools() -> impl Strategy<Value = Vec<(f64, f64)>> {
        prop::collection::vec((1.0f64..3000.0, 0.0f64..100_000.0), 2..40)
    }

    proptest! {
        /// Scaling every resource (e.g. counting in 万元 instead of 元) leaves the CV alone.
        #[test]
        fn cv_is_invariant_to_scaling_resources(v in schools(), k in 0.001f64..1000.0) {
            let a: Vec<Obs> = v.iter().map(|(s, r)| Obs { students: *s, resource: *r }).collect();
            let b: Vec<Obs> = v.iter().map(|(s, r)| Obs { students: *s, resource: r * k }).collect();
            let (x, y) = (spread(&a, 1.0).unwrap(), spread(&b, 1.0).unwrap());
            if let (Some(cx), Some(cy)) = (x.cv, y.cv) {
                prop_assert!((cx - cy).abs() <= 1e-9 * (1.0 + cx.abs()), "{cx} vs {cy}");
            }
        }

        /// The order of the schools does not matter.
        #[test]
        fn cv_is_invariant_to_school_order(v in schools()) {
            let a: Vec<Obs> = v.iter().map(|(s, r)| Obs { students: *s, resource: *r }).collect();
            let mut b = a.clone();
            b.reverse();
            let (x, y) = (spread(&a, 1.0).unwrap(), spread(&b, 1.0).unwrap());
            prop_assert!((x.mean - y.mean).abs() <= 1e-9 * (1.0 + x.mean.abs()));
            if let (Some(cx), Some(cy)) = (x.cv, y.cv) {
                prop_assert!((cx - cy).abs() <= 1e-9 * (1.0 + cx.abs()));
            }
        }

        /// With equal enrolment everywhere the weighted CV is the plain population CV.
        #[test]
        fn equal_enrolment_gives_the_unweighted_cv(r in prop::collection::vec(0.0f64..100_000.0, 2..40), p in 1.0f64..3000.0) {
            let a: Vec<Obs> = r.iter().map(|r| Obs { students: p, resource: *r }).collect();
            let s = spread(&a, 1.0).unwrap();
            let x: Vec<f64> = r.iter().map(|r| r / p).collect();
            let m = x.iter().sum::<f64>() / x.len() as f64;
            let sd = (x.iter().map(|v| (v - m) * (v - m)).sum::<f64>() / x.len() as f64).sqrt();
            if m > 0.0 {
                let cv = s.cv.unwrap();
                prop_assert!((cv - sd / m).abs() <= 1e-9 * (1.0 + cv), "{cv} vs {}", sd / m);
            }
        }

        /// X̄ is the ratio of sums, which equals the student-weighted mean of the schools'
        /// values (never their plain mean).
        #[test]
        fn mean_is_the_ratio_of_sums(v in schools()) {
            let a: Vec<Obs> = v.iter().map(|(s, r)| Obs { students: *s, resource: *r }).collect();
            let s = spread(&a, 100.0).unwrap();
            let weighted: f64 = s.schools.iter().map(|c| c.weight * c.value).sum();
            prop_assert!((s.mean - weighted).abs() <= 1e-9 * (1.0 + s.mean.abs()));
        }
    }
}
