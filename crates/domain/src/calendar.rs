//! The working-day calendar (工作日历): weekends, public holidays (法定节假日) and adjusted
//! working days (调休). Every time limit in Taizhang counts working days on this calendar.
//!
//! The calendar is data: China's official arrangements for 2007–2026 ship with the binary
//! (`data/cn-holidays.csv`); an administrator adds later years (stored in the database and
//! layered on top with [`Calendar::set_day`]). A date in a year the calendar does not cover is
//! still computed — weekends off, weekdays working — but flagged, so the UI can warn
//! "no calendar for year N" instead of silently guessing.

use chrono::{Datelike, NaiveDate, Weekday};
use std::collections::{BTreeMap, BTreeSet};

/// One listed day: a holiday, or a weekend made a working day.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpecialDay {
    pub date: NaiveDate,
    /// true: 放假 (off); false: 调休上班 (a working weekend day).
    pub is_off: bool,
    /// e.g. 春节, 国庆节.
    pub name: String,
    /// The notice it comes from.
    pub source: String,
}

/// Whether a day is a working day, and whether the calendar actually covers its year.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DayInfo {
    pub working: bool,
    /// false when the year has no calendar: `working` is then only the weekday rule.
    pub covered: bool,
}

#[derive(Debug, Clone, Default)]
pub struct Calendar {
    days: BTreeMap<NaiveDate, SpecialDay>,
    years: BTreeSet<i32>,
    /// Working days from [`INDEX_FROM`] up to and including each day through [`INDEX_TO`],
    /// built on first use and dropped when a day changes: makes
    /// [`Calendar::working_days_between`] O(1), which the ledger figures need for a million
    /// closed items.
    index: std::sync::OnceLock<Vec<u32>>,
}

/// The span of the prefix index; dates outside it are counted day by day.
const INDEX_FROM: NaiveDate = NaiveDate::from_ymd_opt(2000, 1, 1).unwrap();
const INDEX_TO: NaiveDate = NaiveDate::from_ymd_opt(2100, 12, 31).unwrap();

const BUILTIN: &str = include_str!("../data/cn-holidays.csv");

impl Calendar {
    /// The calendar shipped with Taizhang: 2007–2026.
    pub fn builtin() -> Calendar {
        let mut c = Calendar::default();
        for line in BUILTIN
            .lines()
            .filter(|l| !l.starts_with('#') && !l.starts_with("date,"))
        {
            let mut f = line.splitn(4, ',');
            let (Some(d), Some(off), Some(name), Some(src)) =
                (f.next(), f.next(), f.next(), f.next())
            else {
                continue;
            };
            if let Ok(date) = NaiveDate::parse_from_str(d, "%Y-%m-%d") {
                c.set_day(SpecialDay {
                    date,
                    is_off: off == "1",
                    name: name.to_string(),
                    source: src.to_string(),
                });
            }
        }
        for y in 2007..=2026 {
            c.years.insert(y);
        }
        c
    }

    /// Adds or replaces one listed day and marks its year as covered.
    pub fn set_day(&mut self, day: SpecialDay) {
        self.index = std::sync::OnceLock::new();
        self.years.insert(day.date.year());
        self.days.insert(day.date, day);
    }

    /// Marks a year as covered even if it lists no special day.
    pub fn cover_year(&mut self, year: i32) {
        self.index = std::sync::OnceLock::new();
        self.years.insert(year);
    }

    pub fn covers(&self, year: i32) -> bool {
        self.years.contains(&year)
    }

    pub fn years(&self) -> impl Iterator<Item = i32> + '_ {
        self.years.iter().copied()
    }

    pub fn special_days(&self, year: i32) -> impl Iterator<Item = &SpecialDay> {
        let from = NaiveDate::from_ymd_opt(year, 1, 1).unwrap_or(NaiveDate::MIN);
        let to = NaiveDate::from_ymd_opt(year, 12, 31).unwrap_or(NaiveDate::MAX);
        self.days.range(from..=to).map(|(_, d)| d)
    }

    pub fn day(&self, date: NaiveDate) -> DayInfo {
        let covered = self.covers(date.year());
        let working = match self.days.get(&date) {
            Some(d) => !d.is_off,
            None => !matches!(date.weekday(), Weekday::Sat | Weekday::Sun),
        };
        DayInfo { working, covered }
    }

    /// The date `n` working days after `start` (`n` = 0 gives `start` itself if it is a working
    /// day, else the next working day). Also says whether every year crossed was covered.
    pub fn add_working_days(&self, start: NaiveDate, n: u32) -> (NaiveDate, bool) {
        let mut d = start;
        let mut covered = self.covers(d.year());
        let mut left = n;
        if !self.day(d).working {
            d = self.next_working_day(d, &mut covered);
        }
        while left > 0 {
            d = self.next_working_day(d, &mut covered);
            left -= 1;
        }
        (d, covered)
    }

    fn next_working_day(&self, from: NaiveDate, covered: &mut bool) -> NaiveDate {
        let mut d = from;
        loop {
            d = d.succ_opt().unwrap_or(d);
            let info = self.day(d);
            *covered &= info.covered;
            if info.working || d == NaiveDate::MAX {
                return d;
            }
        }
    }

    /// Working days from `from` (exclusive) to `to` (inclusive): "days left" until a deadline
    /// when `from` is today. Negative when `to` is before `from` ("days overdue", as a
    /// negative count of the working days after `to` up to and including `from`).
    pub fn working_days_between(&self, from: NaiveDate, to: NaiveDate) -> (i64, bool) {
        let (a, b, sign) = if to >= from {
            (from, to, 1)
        } else {
            (to, from, -1)
        };
        if a >= INDEX_FROM && b <= INDEX_TO {
            let idx = self.index.get_or_init(|| self.build_index());
            let at = |d: NaiveDate| (d - INDEX_FROM).num_days() as usize;
            let n = i64::from(idx[at(b)]) - i64::from(idx[at(a)]);
            let covered = (a.year()..=b.year()).all(|y| self.covers(y));
            return (sign * n, covered);
        }
        let (n, covered) = self.count_by_days(a, b);
        (sign * n, covered)
    }

    /// Working days in (a, b], one day at a time (outside the index, and to check it).
    fn count_by_days(&self, a: NaiveDate, b: NaiveDate) -> (i64, bool) {
        let mut covered = self.covers(a.year()) && self.covers(b.year());
        let mut n = 0i64;
        let mut d = a;
        while d < b {
            d = d.succ_opt().unwrap_or(b);
            let info = self.day(d);
            covered &= info.covered;
            if info.working {
                n += 1;
            }
        }
        (n, covered)
    }

    /// The prefix index: element k counts the working days from [`Calendar::INDEX_FROM`]
    /// through that date plus k days (so working days in (a, b] = idx[b] − idx[a]). Lets a
    /// database compute working days with the same calendar.
    pub fn working_day_index(&self) -> &[u32] {
        self.index.get_or_init(|| self.build_index())
    }

    /// The first date of [`Calendar::working_day_index`].
    pub const INDEX_FROM: NaiveDate = INDEX_FROM;

    fn build_index(&self) -> Vec<u32> {
        let mut v = Vec::with_capacity(36_900);
        let mut n = 0u32;
        for d in INDEX_FROM.iter_days().take_while(|d| *d <= INDEX_TO) {
            if self.day(d).working {
                n += 1;
            }
            v.push(n);
        }
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    proptest::proptest! {
        /// The O(1) prefix index agrees with counting day by day.
        #[test]
        fn index_agrees_with_counting(a in 0i64..10_000, len in 0i64..800) {
            let c = Calendar::builtin();
            let from = d("2005-01-01") + chrono::Duration::days(a);
            let to = from + chrono::Duration::days(len);
            let (n, cov) = c.count_by_days(from, to);
            proptest::prop_assert_eq!(c.working_days_between(from, to), (n, cov));
            proptest::prop_assert_eq!(c.working_days_between(to, from), (-n, cov));
        }
    }

    #[test]
    fn holidays_and_adjusted_working_days() {
        let c = Calendar::builtin();
        // 2024 Spring Festival: 2-10..2-17 off, Sunday 2-4 and Sunday 2-18 worked.
        assert!(!c.day(d("2024-02-12")).working);
        assert!(c.day(d("2024-02-04")).working);
        assert!(c.day(d("2024-02-18")).working);
        // An ordinary Saturday and Monday.
        assert!(!c.day(d("2024-03-02")).working);
        assert!(c.day(d("2024-03-04")).working);
        // 2026: National Day 10-1..10-7 off; Saturday 10-10 worked; Sunday 1-4 worked.
        assert!(!c.day(d("2026-10-05")).working);
        assert!(c.day(d("2026-10-10")).working);
        assert!(c.day(d("2026-01-04")).working);
        assert!(!c.day(d("2026-02-23")).working);
        assert!(c.day(d("2026-02-28")).working);
        assert!(c.day(d("2026-10-10")).covered);
    }

    #[test]
    fn every_year_from_2007_to_2026_is_covered_with_its_holidays() {
        let c = Calendar::builtin();
        for y in 2007..=2026 {
            assert!(c.covers(y), "{y}");
            let n = c.special_days(y).filter(|d| d.is_off).count();
            assert!((20..=35).contains(&n), "{y}: {n} listed days off");
            for md in ["01-01", "10-01", "10-02", "10-03"] {
                assert!(
                    !c.day(d(&format!("{y}-{md}"))).working,
                    "{y}-{md} should be a holiday"
                );
            }
        }
        assert!(!c.covers(2027));
    }

    #[test]
    fn adding_working_days_skips_holidays() {
        let c = Calendar::builtin();
        // Friday 2024-09-27 + 3 working days: 9-29 (Sunday) is an adjusted working day, 9-30
        // Monday works, then 10-1..10-7 are off, so the third is 10-8.
        assert_eq!(
            c.add_working_days(d("2024-09-27"), 3),
            (d("2024-10-08"), true)
        );
        // From a holiday, day 0 is the next working day.
        assert_eq!(
            c.add_working_days(d("2024-10-03"), 0),
            (d("2024-10-08"), true)
        );
        // Crossing into an uncovered year is flagged.
        assert_eq!(
            c.add_working_days(d("2026-12-31"), 1),
            (d("2027-01-01"), false)
        );
    }

    #[test]
    fn days_left_and_overdue() {
        let c = Calendar::builtin();
        // Monday 2024-09-23 → Tuesday 2024-10-08: 9-24..9-30 gives 6 working days (incl. Sunday
        // 9-29), 10-8 gives 1 more.
        assert_eq!(
            c.working_days_between(d("2024-09-23"), d("2024-10-08")),
            (7, true)
        );
        assert_eq!(
            c.working_days_between(d("2024-10-08"), d("2024-09-23")),
            (-7, true)
        );
        assert_eq!(
            c.working_days_between(d("2024-05-06"), d("2024-05-06")),
            (0, true)
        );
    }

    #[test]
    fn an_administrator_can_add_a_year() {
        let mut c = Calendar::builtin();
        assert!(!c.day(d("2027-01-01")).covered);
        c.set_day(SpecialDay {
            date: d("2027-01-01"),
            is_off: true,
            name: "元旦".into(),
            source: "admin".into(),
        });
        let info = c.day(d("2027-01-01"));
        assert!(info.covered && !info.working);
    }
}
