//! The report checker (数据核验): reads Chinese report text, finds the numbers as reports
//! state them (1,313人 / 3.5万元 / 二百三十名 / 80多家 / 76%), and checks them against each
//! other — a percentage against its part and whole ("402名,占学生总数的76%"), a growth rate
//! against its amounts ("增加14.05亿元,增幅为85.15%"), a total against its parts ("共X个,
//! 分别为A个、B个"). Precision over recall: approximate wording (约, 近, 多, 余) never raises a
//! hard finding, a partial list (其中 naming some parts) is not a contradiction, and a figure is
//! judged the way people round: within half a unit of its last stated place.

use serde::Serialize;

/// A number as the text states it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Quantity {
    /// Character offsets of the number and its unit in the text.
    pub start: usize,
    pub end: usize,
    pub value: f64,
    /// Decimal places stated (76% → 0, 85.15% → 2); the precision it is judged at.
    pub decimals: u32,
    /// The unit (人, 名, 个, 亿元, %, 平方米 …), empty when none follows.
    pub unit: String,
    /// 约/近/多/余: an approximate figure.
    pub approx: bool,
}

impl Quantity {
    pub fn is_percent(&self) -> bool {
        self.unit == "%"
    }
}

/// Units reports use, longest first so 平方米 wins over 米 and 万元 over 元.
const UNITS: &[&str] = &[
    "个百分点",
    "平方米",
    "立方米",
    "万元",
    "亿元",
    "万人",
    "公里",
    "%",
    "％",
    "㎡",
    "人",
    "名",
    "所",
    "个",
    "件",
    "项",
    "台",
    "册",
    "元",
    "亩",
    "家",
    "次",
    "间",
    "套",
    "户",
    "班",
    "位",
    "座",
    "条",
    "篇",
    "份",
    "批",
    "起",
    "辆",
    "株",
    "场",
    "天",
    "小时",
];

fn digit(c: char) -> Option<u32> {
    match c {
        '0'..='9' => c.to_digit(10),
        '０'..='９' => Some(c as u32 - '０' as u32),
        _ => None,
    }
}

fn cn_digit(c: char) -> Option<u64> {
    Some(match c {
        '零' | '〇' => 0,
        '一' => 1,
        '二' | '两' => 2,
        '三' => 3,
        '四' => 4,
        '五' => 5,
        '六' => 6,
        '七' => 7,
        '八' => 8,
        '九' => 9,
        _ => return None,
    })
}

fn cn_unit(c: char) -> Option<u64> {
    Some(match c {
        '十' => 10,
        '百' => 100,
        '千' => 1000,
        _ => return None,
    })
}

/// Reads a Chinese numeral (十五, 二百三十, 一千零八) starting at `i`; gives its value and
/// the index after it.
fn chinese_number(chars: &[char], i: usize) -> Option<(f64, usize)> {
    let (mut total, mut current, mut j) = (0u64, 0u64, i);
    let mut seen = false;
    while j < chars.len() {
        let c = chars[j];
        if let Some(d) = cn_digit(c) {
            current = d;
            seen = true;
        } else if let Some(u) = cn_unit(c) {
            total += if current == 0 && !seen { 1 } else { current } * u;
            current = 0;
            seen = true;
        } else {
            break;
        }
        j += 1;
    }
    seen.then_some(((total + current) as f64, j))
}

fn unit_at(chars: &[char], i: usize) -> Option<&'static str> {
    UNITS.iter().copied().find(|u| {
        u.chars()
            .enumerate()
            .all(|(k, c)| chars.get(i + k) == Some(&c))
    })
}

/// Every number in `text` with its unit and precision.
pub fn quantities(text: &str) -> Vec<Quantity> {
    let chars: Vec<char> = text.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let start = i;
        let (mut value, mut decimals, mut j);
        if digit(c).is_some() {
            // Arabic: 1,313 / 17886 / 85.15
            let mut int = String::new();
            let mut frac = String::new();
            j = i;
            while j < chars.len() {
                if let Some(d) = digit(chars[j]) {
                    int.push(char::from_digit(d, 10).unwrap_or('0'));
                    j += 1;
                } else if chars[j] == ','
                    && j + 3 < chars.len() + 1
                    && (1..=3).all(|k| chars.get(j + k).and_then(|c| digit(*c)).is_some())
                    && chars.get(j + 4).and_then(|c| digit(*c)).is_none()
                {
                    j += 1; // a thousands separator
                } else {
                    break;
                }
            }
            if chars.get(j) == Some(&'.') && chars.get(j + 1).and_then(|c| digit(*c)).is_some() {
                j += 1;
                while let Some(d) = chars.get(j).and_then(|c| digit(*c)) {
                    frac.push(char::from_digit(d, 10).unwrap_or('0'));
                    j += 1;
                }
            }
            decimals = frac.len() as u32;
            value = format!("{int}.{}", if frac.is_empty() { "0" } else { &frac })
                .parse()
                .unwrap_or(0.0);
        } else if let Some((v, k)) = chinese_number(&chars, i) {
            // Chinese numerals count only with a unit right after them (一句 is not a number).
            if k < chars.len() && (unit_at(&chars, k).is_some() || matches!(chars[k], '余' | '多'))
            {
                value = v;
                decimals = 0;
                j = k;
            } else {
                i = k.max(i + 1);
                continue;
            }
        } else {
            i += 1;
            continue;
        }
        // Skip years, dates and document numbers: 2017年, 6月, 〔2017〕, 20xx.
        if matches!(
            chars.get(j),
            Some('年' | '月' | '日' | '号' | 'x' | '〕' | ']' | '-' | '—')
        ) || (start > 0 && matches!(chars[start - 1], '〔' | '[' | '第' | '-' | '—'))
        {
            i = j.max(i + 1);
            continue;
        }
        let mut approx = start > 0 && matches!(chars[start - 1], '约' | '近');
        if matches!(chars.get(j), Some('多' | '余')) {
            approx = true;
            j += 1;
        }
        // 万/亿 multipliers before the unit (3.5万平方米, 17.63万平方米, 1.2亿元).
        let mut unit = String::new();
        if let Some(u) = unit_at(&chars, j) {
            unit = u.to_string();
            j += u.chars().count();
        } else if matches!(chars.get(j), Some('万' | '亿')) {
            let m = if chars[j] == '万' { 1e4 } else { 1e8 };
            value *= m;
            decimals = decimals.saturating_sub(if m == 1e4 { 4 } else { 8 });
            j += 1;
            if let Some(u) = unit_at(&chars, j) {
                unit = u.to_string();
                j += u.chars().count();
            }
        }
        if unit == "％" {
            unit = "%".into();
        }
        // 万元/亿元 are amounts in 元 at that scale.
        if unit == "万元" || unit == "亿元" {
            value *= if unit == "万元" { 1e4 } else { 1e8 };
            unit = "元".into();
        }
        if unit == "㎡" {
            unit = "平方米".into();
        }
        out.push(Quantity {
            start,
            end: j,
            value,
            decimals,
            unit,
            approx,
        });
        i = j.max(i + 1);
    }
    out
}

/// One inconsistency (or, with `all`, a checked claim).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Finding {
    /// `percent`, `growth`, `sum`.
    pub kind: &'static str,
    /// `error`, `minor` (truncation, or parts that may overlap), `note`, or `ok`.
    pub severity: &'static str,
    pub start: usize,
    pub end: usize,
    pub quote: String,
    pub stated: f64,
    pub computed: f64,
    pub explanation: String,
}

/// Whether `computed` rounds to `stated` at `decimals` places (half a unit of the last place),
/// or only truncates to it.
fn judge(stated: f64, decimals: u32, computed: f64) -> &'static str {
    let unit = 10f64.powi(-(decimals as i32));
    let diff = (computed - stated).abs();
    if diff <= unit / 2.0 + 1e-9 {
        "ok"
    } else if computed > stated && computed - stated < unit + 1e-9 {
        "minor" // truncated instead of rounded
    } else {
        "error"
    }
}

fn fmt(v: f64, decimals: u32) -> String {
    format!("{v:.*}", decimals as usize + 1)
}

/// Units counting the same things (人 and 名 are both people).
fn same_kind(a: &str, b: &str) -> bool {
    fn group(u: &str) -> &str {
        match u {
            "人" | "名" | "位" => "people",
            other => other,
        }
    }
    !a.is_empty() && group(a) == group(b)
}

/// Sentences and clause groups: the spans a claim's parts must share.
fn sentence_bounds(chars: &[char], at: usize) -> (usize, usize) {
    // Full-width and half-width: reports use both.
    let stop = |c: char| {
        matches!(
            c,
            '。' | ';' | '\u{ff1b}' | '\n' | '!' | '?' | '\u{ff01}' | '\u{ff1f}'
        )
    };
    let mut a = at;
    while a > 0 && !stop(chars[a - 1]) {
        a -= 1;
    }
    let mut b = at;
    while b < chars.len() && !stop(chars[b]) {
        b += 1;
    }
    (a, b)
}

fn slice(chars: &[char], a: usize, b: usize) -> String {
    chars[a.min(chars.len())..b.min(chars.len())]
        .iter()
        .collect()
}

/// Checks `text`; with `all`, consistent claims are listed too (severity `ok`).
pub fn check(text: &str, all: bool) -> Vec<Finding> {
    let chars: Vec<char> = text.chars().collect();
    let qs = quantities(text);
    let mut out = Vec::new();
    for (k, p) in qs.iter().enumerate() {
        if !p.is_percent() || p.approx {
            continue;
        }
        let (sa, sb) = sentence_bounds(&chars, p.start);
        // Growth: "增加Δ…,增幅(为)P%" with the current amount before 比.
        let before = slice(&chars, sa, p.start);
        if let Some(pos) = before.rfind("增幅").or_else(|| before.rfind("增长率")) {
            let _ = pos;
            let in_sentence: Vec<&Quantity> = qs[..k]
                .iter()
                .filter(|q| q.start >= sa && !q.is_percent())
                .collect();
            // Δ: the amount right after 增加 (or 增长); C: the amount right before 比.
            let delta = in_sentence.iter().rev().find(|q| {
                let pre = slice(&chars, q.start.saturating_sub(4), q.start);
                pre.contains("增加") || pre.contains("增长") || pre.contains("多")
            });
            let current = in_sentence.iter().rev().find(|q| {
                let next = slice(&chars, q.end, (q.end + 2).min(chars.len()));
                next.starts_with('比') || next.starts_with(",比") || next.starts_with("\u{ff0c}比")
            });
            if let (Some(d), Some(c)) = (delta, current)
                && same_kind(&d.unit, &c.unit)
                && !d.approx
                && !c.approx
                && c.value > d.value
            {
                let computed = d.value / (c.value - d.value) * 100.0;
                let sev = judge(p.value, p.decimals, computed);
                if sev != "ok" || all {
                    out.push(Finding {
                        kind: "growth",
                        severity: sev,
                        start: c.start,
                        end: p.end,
                        quote: slice(&chars, c.start, p.end),
                        stated: p.value,
                        computed,
                        explanation: format!(
                            "增加{}÷({}−{})={}%,与所述{}%{}",
                            slice(&chars, d.start, d.end),
                            slice(&chars, c.start, c.end),
                            slice(&chars, d.start, d.end),
                            fmt(computed, p.decimals),
                            p.value,
                            if sev == "ok" { "一致" } else { "不符" }
                        ),
                    });
                }
                continue;
            }
        }
        // Percent of a whole: "A…占…的P%" with the whole introduced by 共/总/有 earlier.
        let lead = slice(&chars, p.start.saturating_sub(14), p.start);
        let Some(zhan) = lead.rfind('占') else {
            continue;
        };
        let zhan_at = p.start.saturating_sub(14) + lead[..zhan].chars().count();
        // 约占 / 近占 / …左右 / …以上: approximate, not checked.
        let tail = slice(&chars, p.end, (p.end + 2).min(chars.len()));
        if (zhan_at > 0 && matches!(chars[zhan_at - 1], '约' | '近' | '超' | '逾'))
            || ["左右", "以上", "以下", "以内"].contains(&tail.as_str())
        {
            continue;
        }
        // The part: the nearest count before 占 in the same clause group.
        let Some(part) = qs[..k]
            .iter()
            .rev()
            .find(|q| q.end <= zhan_at && q.start >= sa && !q.is_percent() && !q.unit.is_empty())
        else {
            continue;
        };
        if part.approx {
            continue;
        }
        // The whole: named after 占 (学生总数, 专任教师, 投资计划) and stated earlier; each
        // earlier count of the same kind scores by the two-character pieces of that name found
        // just before it. If any of the best-named wholes makes the percentage right, the claim
        // is consistent: a finding needs every plausible reading to disagree.
        let label: Vec<char> = slice(&chars, zhan_at + 1, p.start)
            .trim_end_matches('的')
            .chars()
            .take(6)
            .collect();
        let pieces: Vec<String> = label.windows(2).map(|w| w.iter().collect()).collect();
        let (pa, _) = sentence_bounds(&chars, sa.saturating_sub(2));
        let window_start = pa.min(sa);
        let scored: Vec<(usize, &Quantity)> = qs[..k]
            .iter()
            .filter(|q| {
                q.start >= window_start
                    && q.start < part.start
                    && same_kind(&q.unit, &part.unit)
                    && q.value > part.value
                    && !q.approx
                    // Another part ("402名,占…"), not a whole.
                    && !slice(&chars, q.end, (q.end + 3).min(chars.len())).contains('占')
            })
            .map(|q| {
                let pre = slice(&chars, q.start.saturating_sub(8), q.start);
                (
                    pieces.iter().filter(|p| pre.contains(p.as_str())).count(),
                    q,
                )
            })
            .collect();
        // "占问题总数" names a total without repeating its words: a count stated as a total
        // (共/总/合计) stands in when nothing is named.
        let names_a_total = pieces.iter().any(|p| p.contains('总') || p.contains('全'));
        let scored: Vec<(usize, &Quantity)> = if scored.iter().any(|(s, _)| *s > 0) {
            scored.into_iter().filter(|(s, _)| *s > 0).collect()
        } else if names_a_total {
            scored
                .into_iter()
                .filter(|(_, q)| {
                    let pre = slice(&chars, q.start.saturating_sub(8), q.start);
                    pre.contains(['共', '总']) || pre.contains("合计")
                })
                .map(|(_, q)| (1, q))
                .collect()
        } else {
            Vec::new()
        };
        let Some(best) = scored.iter().map(|(s, _)| *s).max() else {
            continue;
        };
        let top: Vec<&Quantity> = scored
            .iter()
            .filter(|(s, _)| *s == best)
            .map(|(_, q)| *q)
            .collect();
        let consistent = top
            .iter()
            .find(|q| judge(p.value, p.decimals, part.value / q.value * 100.0) == "ok");
        let whole = match (consistent, top.as_slice()) {
            (Some(q), _) => *q,
            (None, [one]) => *one,
            // Several equally named wholes, none consistent: too uncertain to report.
            (None, _) => continue,
        };
        let computed = part.value / whole.value * 100.0;
        let sev = judge(p.value, p.decimals, computed);
        if sev != "ok" || all {
            out.push(Finding {
                kind: "percent",
                severity: sev,
                start: part.start,
                end: p.end,
                quote: slice(&chars, part.start, p.end),
                stated: p.value,
                computed,
                explanation: format!(
                    "{}÷{}={}%,与所述{}%{}",
                    slice(&chars, part.start, part.end),
                    slice(&chars, whole.start, whole.end),
                    fmt(computed, p.decimals),
                    p.value,
                    match sev {
                        "ok" => "一致",
                        "minor" => "相差在末位以内(疑为截断而非四舍五入)",
                        _ => "不符",
                    }
                ),
            });
        }
        let _ = sb;
    }
    per_capita(&chars, &qs, all, &mut out);
    contradictions(&chars, &qs, &mut out);
    same_quantity(&chars, &qs, &mut out);
    parts_exceed_whole(&chars, &qs, &mut out);
    // Totals against parts: "X个,分别为A个、B个…" must add up exactly.
    for (k, total) in qs.iter().enumerate() {
        if total.approx || total.unit.is_empty() || total.is_percent() {
            continue;
        }
        let after = slice(&chars, total.end, (total.end + 6).min(chars.len()));
        if !after
            .trim_start_matches([',', '\u{ff0c}', ':', '\u{ff1a}'])
            .starts_with("分别")
        {
            continue;
        }
        let (_, sb) = sentence_bounds(&chars, total.end);
        let parts: Vec<&Quantity> = qs[k + 1..]
            .iter()
            .take_while(|q| q.start < sb)
            .filter(|q| same_kind(&q.unit, &total.unit))
            .collect();
        if parts.len() < 2 || parts.iter().any(|q| q.approx) {
            continue;
        }
        let sum: f64 = parts.iter().map(|q| q.value).sum();
        let sev = if (sum - total.value).abs() < 1e-9 {
            "ok"
        } else {
            "error"
        };
        if sev != "ok" || all {
            let last = parts.last().map_or(total.end, |q| q.end);
            out.push(Finding {
                kind: "sum",
                severity: sev,
                start: total.start,
                end: last,
                quote: slice(&chars, total.start, last),
                stated: total.value,
                computed: sum,
                explanation: format!(
                    "分项合计{}{},与总数{}{}",
                    sum,
                    total.unit,
                    total.value,
                    if sev == "ok" { "一致" } else { "不符" }
                ),
            });
        }
    }
    out.sort_by_key(|f| f.start);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values(text: &str) -> Vec<(f64, &'static str, bool)> {
        quantities(text)
            .into_iter()
            .map(|q| {
                (
                    q.value,
                    UNITS.iter().copied().find(|u| *u == q.unit).unwrap_or(""),
                    q.approx,
                )
            })
            .collect()
    }

    #[test]
    fn numbers_in_every_form_reports_use() {
        assert_eq!(
            values("学生共1,313名,图书9811册,面积17.63万平方米,投入4.13亿元,80多家企业,约30%"),
            vec![
                (1313.0, "名", false),
                (9811.0, "册", false),
                (176_300.0, "平方米", false),
                (413_000_000.0, "元", false),
                (80.0, "家", true),
                (30.0, "%", true),
            ]
        );
        assert_eq!(
            values("十五个帮扶队,二百三十名学生,一句汉语都不会,两个班"),
            vec![
                (15.0, "个", false),
                (230.0, "名", false),
                (2.0, "个", false)
            ]
        );
        // Years, dates and document numbers are not figures.
        assert!(values("2017年12月底,宁审改办〔2017〕5号,20xx年").is_empty());
    }

    #[test]
    fn a_percentage_is_judged_as_people_round() {
        let t =
            "学生共526名(其中双语班学生有402名,占学生总数的76%:普通班学生124名,占学生总数的24%)。";
        assert!(check(t, false).is_empty(), "{:?}", check(t, false));
        let ok = check(t, true);
        assert_eq!(ok.len(), 2);
        assert!(ok.iter().all(|f| f.severity == "ok" && f.kind == "percent"));
        let bad = "学生共526名,其中双语班学生402名,占学生总数的86%。";
        let f = check(bad, false);
        assert_eq!(f.len(), 1);
        assert_eq!((f[0].kind, f[0].severity), ("percent", "error"));
        assert!((f[0].computed - 76.4259).abs() < 1e-3);
        // Truncated rather than rounded (76.43 → 76 is right; 23.57 → 23 is a slip).
        let trunc = "学生共526名,普通班学生124名,占学生总数的23%。";
        assert_eq!(check(trunc, false)[0].severity, "minor");
        // Approximate wording never raises a finding.
        assert!(check("学生共526名,其中双语班学生402名,约占学生总数的86%。", false).is_empty());
    }

    #[test]
    fn the_seed_growth_rate_slip_is_found() {
        let t = "计划完成投资42亿元,其中重点在建项目23个,计划完成投资30.5亿元,比20xx年增加投资14.05亿元,增幅为85.15%;";
        let f = check(t, false);
        assert_eq!(f.len(), 1, "{f:?}");
        assert_eq!((f[0].kind, f[0].severity), ("growth", "error"));
        assert!((f[0].computed - 85.41).abs() < 0.01, "{}", f[0].computed);
    }

    #[test]
    fn totals_split_with_fenbie_must_add_up() {
        assert!(check("共有学校12所,分别为小学7所、初中5所。", false).is_empty());
        let f = check("共有学校12所,分别为小学7所、初中4所。", false);
        assert_eq!(f.len(), 1);
        assert_eq!((f[0].kind, f[0].stated, f[0].computed), ("sum", 12.0, 11.0));
        // A partial list with 其中 is not a contradiction.
        assert!(check("共有学校12所,其中小学7所。", false).is_empty());
    }
}

/// Counts of people whose name just before them says they are pupils (学生, 在校生): the
/// denominators of 生均 figures, 生机比 and 每班平均 anywhere in the document.
fn pupil_counts<'a>(chars: &[char], qs: &'a [Quantity]) -> Vec<&'a Quantity> {
    qs.iter()
        .filter(|q| {
            same_kind(&q.unit, "人") && !q.approx && q.value >= 1.0 && {
                let pre = slice(chars, q.start.saturating_sub(6), q.start);
                (pre.contains("学生") || pre.contains("在校生"))
                    && !slice(chars, q.end, (q.end + 3).min(chars.len())).contains('占')
            }
        })
        .collect()
}

/// Per-pupil figures against their numerator and a pupil count stated in the document:
/// 生均面积3.14平方米 (after 4208平方米), 生机比26∶1 (pupils ÷ 学生计算机 台), 每班平均46.8名
/// (pupils ÷ 教学班). A figure some pupil count explains is consistent; a finding names the
/// nearest count.
fn per_capita(chars: &[char], qs: &[Quantity], all: bool, out: &mut Vec<Finding>) {
    let pupils = pupil_counts(chars, qs);
    if pupils.is_empty() {
        return;
    }
    // The pupil count that explains the figure, else the nearest one; with the value computed.
    let explain = |stated: &Quantity, value_for: &dyn Fn(&Quantity) -> f64| {
        pupils
            .iter()
            .find(|p| judge(stated.value, stated.decimals, value_for(p)) == "ok")
            .or_else(|| pupils.iter().min_by_key(|p| p.start.abs_diff(stated.start)))
            .map(|p| (*p, value_for(p)))
    };
    let finding = |label: &str,
                   stated: &Quantity,
                   claim: usize,
                   top: &Quantity,
                   bottom: &Quantity,
                   computed: f64|
     -> Option<Finding> {
        let sev = judge(stated.value, stated.decimals, computed);
        (sev != "ok" || all).then(|| Finding {
            kind: "ratio",
            severity: sev,
            start: claim,
            end: stated.end,
            quote: slice(chars, claim, stated.end),
            stated: stated.value,
            computed,
            explanation: format!(
                "{label}:{}÷{}={},与所述{}{}",
                slice(chars, top.start, top.end),
                slice(chars, bottom.start, bottom.end),
                fmt(computed, stated.decimals),
                stated.value,
                match sev {
                    "ok" => "一致",
                    "minor" => "相差在末位以内(疑为截断而非四舍五入)",
                    _ => "不符",
                }
            ),
        })
    };
    for (k, q) in qs.iter().enumerate() {
        if q.approx {
            continue;
        }
        let (sa, _) = sentence_bounds(chars, q.start);
        let from = q.start.saturating_sub(8).max(sa);
        let pre = slice(chars, from, q.start);
        // 生均…V<unit>: the numerator is the nearest earlier figure of that unit close by.
        if let Some(i) = pre.rfind("生均") {
            let claim = from + pre[..i].chars().count();
            let numerator = qs[..k].iter().rev().find(|x| {
                x.start + 60 >= q.start
                    && x.unit == q.unit
                    && !x.unit.is_empty()
                    && !x.approx
                    && x.value > q.value
            });
            if let Some(n) = numerator
                && let Some((p, computed)) = explain(q, &|p: &Quantity| n.value / p.value)
                && let Some(f) = finding("生均", q, claim, n, p, computed)
            {
                out.push(f);
            }
            continue;
        }
        // 生机比A∶1 (or 1∶A): pupils ÷ computers for pupils (学生计算机 … 台).
        if q.unit.is_empty() && pre.contains("生机比") {
            let colon = chars
                .get(q.end)
                .is_some_and(|c| matches!(c, '\u{2236}' | ':' | '\u{ff1a}'));
            let other = qs
                .get(k + 1)
                .filter(|b| colon && b.start == q.end + 1 && b.unit.is_empty());
            let stated = match other {
                Some(b) if b.value == 1.0 => Some((q, b.end)),
                Some(b) if q.value == 1.0 => Some((b, b.end)),
                _ => None,
            };
            let computers = qs.iter().rev().find(|x| {
                x.unit == "台" && !x.approx && x.value >= 1.0 && x.start < q.start && {
                    let before = slice(chars, x.start.saturating_sub(6), x.start);
                    before.contains("计算机") || before.contains("电脑")
                }
            });
            if let (Some((v, end)), Some(cmp)) = (stated, computers) {
                let at = pre.rfind("生机比").map_or(0, |i| pre[..i].chars().count());
                let claim = from + at;
                if let Some((p, computed)) = explain(v, &|p: &Quantity| p.value / cmp.value) {
                    let sev = judge(v.value, v.decimals, computed);
                    if sev != "ok" || all {
                        out.push(Finding {
                            kind: "ratio",
                            severity: sev,
                            start: claim,
                            end,
                            quote: slice(chars, claim, end),
                            stated: v.value,
                            computed,
                            explanation: format!(
                                "生机比:学生{}÷学生计算机{}={}∶1,与所述{}∶1{}",
                                slice(chars, p.start, p.end),
                                slice(chars, cmp.start, cmp.end),
                                fmt(computed, v.decimals),
                                v.value,
                                if sev == "ok" { "一致" } else { "不符" }
                            ),
                        });
                    }
                }
            }
            continue;
        }
        // 每班平均(有)V名 / 平均班额V人: pupils ÷ teaching classes (教学班).
        if same_kind(&q.unit, "人") && (pre.contains("每班平均") || pre.contains("平均班额"))
        {
            let classes = qs.iter().find(|x| {
                x.unit == "个"
                    && !x.approx
                    && (slice(chars, x.end, (x.end + 3).min(chars.len())).contains("教学班")
                        || slice(chars, x.start.saturating_sub(4), x.start).contains("教学班"))
            });
            if let Some(c) = classes {
                let at = pre.rfind("每班平均").or_else(|| pre.rfind("平均班额"));
                let claim = from + at.map_or(0, |i| pre[..i].chars().count());
                if let Some((p, computed)) = explain(q, &|p: &Quantity| p.value / c.value)
                    && let Some(f) = finding("每班平均", q, claim, p, c, computed)
                {
                    out.push(f);
                }
            }
        }
    }
}

/// One fact stated two ways: "100%的学生是哈萨克族" against "100%学生家庭都是维吾尔族" a few
/// paragraphs away. A whole (100%, 全部) said to be two different categories (…族) cannot both
/// hold. Statements further apart than a report's length (4,000 characters) are not compared,
/// since one file may hold several reports.
fn contradictions(chars: &[char], qs: &[Quantity], out: &mut Vec<Finding>) {
    let mut claims: Vec<(usize, usize, String, String)> = Vec::new();
    for q in qs
        .iter()
        .filter(|q| q.is_percent() && !q.approx && q.value == 100.0)
    {
        let after = slice(chars, q.end, (q.end + 14).min(chars.len()));
        let Some(is) = after.find('是') else {
            continue;
        };
        let subject: String = after[..is]
            .chars()
            .filter(|c| *c != '的' && *c != '都')
            .collect();
        let subject = if subject.contains("学生") {
            "学生".to_string()
        } else {
            subject
        };
        let rest: Vec<char> = after[is + '是'.len_utf8()..].chars().collect();
        let Some(end) = rest.iter().take(5).position(|c| *c == '族') else {
            continue;
        };
        let category: String = rest[..=end].iter().collect();
        let stop = q.end + after[..is].chars().count() + 1 + end + 1;
        claims.push((q.start, stop, subject, category));
    }
    for (i, a) in claims.iter().enumerate() {
        if let Some(b) = claims[i + 1..]
            .iter()
            .find(|b| b.2 == a.2 && b.3 != a.3 && b.0 - a.0 <= 4000)
        {
            out.push(Finding {
                kind: "contradiction",
                severity: "error",
                start: b.0,
                end: b.1,
                quote: slice(chars, b.0, b.1),
                stated: 100.0,
                computed: 100.0,
                explanation: format!(
                    "同一材料前文称100%{}是{}(第{}字“{}”),此处又称是{},二者不能同时成立",
                    a.2,
                    a.3,
                    a.0,
                    slice(chars, a.0, a.1),
                    b.3
                ),
            });
        }
    }
}

/// One quantity stated with two values: "全县共有中小学35所" and later "全县共有中小学36所". The
/// key is the words before 共有/总数为 back to the clause start, the thing counted and the unit,
/// plus any year the clause names, so 2023年共有… and 2024年共有… are different quantities.
/// Approximate figures and statements more than 4,000 characters apart are not compared.
fn same_quantity(chars: &[char], qs: &[Quantity], out: &mut Vec<Finding>) {
    let is_break = |c: char| {
        matches!(
            c,
            '\u{ff0c}'
                | ','
                | '\u{3002}'
                | '\u{ff1b}'
                | ';'
                | '\u{3001}'
                | '\u{ff1a}'
                | ':'
                | '\n'
                | '\u{ff08}'
                | '('
        )
    };
    let mut claims: Vec<(usize, usize, String, f64, u32)> = Vec::new();
    for q in qs
        .iter()
        .filter(|q| !q.approx && !q.unit.is_empty() && !q.is_percent())
    {
        // The clause before the number.
        let mut a = q.start;
        while a > 0 && !is_break(chars[a - 1]) && q.start - a < 24 {
            a -= 1;
        }
        let clause = slice(chars, a, q.start);
        let Some(at) = clause.find("共有") else {
            continue;
        };
        let subject = &clause[..at];
        let counted = &clause[at + "共有".len()..];
        let cjk =
            |t: &str| !t.is_empty() && t.chars().all(|c| ('\u{4e00}'..='\u{9fff}').contains(&c));
        if !cjk(counted) || counted.chars().count() > 8 || !cjk(subject) {
            continue;
        }
        // The whole sentence's years (the same words in another year are another quantity).
        let (sa, se) = sentence_bounds(chars, q.start);
        let sentence = slice(chars, sa, se);
        let years: String = sentence
            .match_indices('年')
            .filter_map(|(i, _)| sentence.get(i.saturating_sub(4)..i))
            .filter(|y| y.len() == 4 && y.chars().all(|c| c.is_ascii_digit()))
            .collect::<Vec<_>>()
            .join(",");
        let key = format!("{subject}|{counted}|{}|{years}", q.unit);
        claims.push((a, q.end, key, q.value, q.decimals));
    }
    for (i, a) in claims.iter().enumerate() {
        if let Some(b) = claims[i + 1..]
            .iter()
            .find(|b| b.2 == a.2 && b.0 - a.0 <= 4000 && (b.3 - a.3).abs() > 1e-9)
        {
            out.push(Finding {
                kind: "contradiction",
                severity: "error",
                start: b.0,
                end: b.1,
                quote: slice(chars, b.0, b.1),
                stated: b.3,
                computed: a.3,
                explanation: format!(
                    "同一材料前文称“{}”,此处又称“{}”,同一数量前后不一致",
                    slice(chars, a.0, a.1),
                    slice(chars, b.0, b.1)
                ),
            });
        }
    }
}

/// A whole and the parts its 其中 enumerates (A、B、C, the enumeration comma): a partial list
/// may sum to less than the whole, never to more. Only one enumeration is read (it stops at a
/// comma, a second 其中 or the sentence end), so a second breakdown (男/女 then 学历) is not
/// added to the first.
fn parts_exceed_whole(chars: &[char], qs: &[Quantity], out: &mut Vec<Finding>) {
    for (k, whole) in qs.iter().enumerate() {
        if whole.approx || whole.unit.is_empty() || whole.is_percent() {
            continue;
        }
        let before = slice(chars, whole.start.saturating_sub(6), whole.start);
        if !(before.contains('共') || before.contains("总计") || before.contains("合计")) {
            continue;
        }
        // 其中 right after the whole (a comma or bracket between).
        let after = slice(chars, whole.end, (whole.end + 3).min(chars.len()));
        let Some(at) = after.find("其中") else {
            continue;
        };
        let list_start = whole.end + after[..at].chars().count() + 2;
        let mut parts = Vec::new();
        let mut end = list_start;
        for q in &qs[k + 1..] {
            if q.start < list_start {
                continue;
            }
            let gap = slice(chars, end, q.start);
            let first = parts.is_empty();
            // Within one part's words: no clause break; between parts: exactly one 、.
            let breaks = gap.chars().any(|c| {
                matches!(
                    c,
                    '\u{ff0c}'
                        | ','
                        | '\u{3002}'
                        | '\u{ff1b}'
                        | ';'
                        | '\u{ff1a}'
                        | ':'
                        | '\n'
                        | '\u{ff08}'
                        | '\u{ff09}'
                        | '('
                        | ')'
                )
            }) || gap.contains("其中");
            if breaks || gap.chars().count() > 12 || (!first && !gap.starts_with('\u{3001}')) {
                break;
            }
            if q.approx || !same_kind(&q.unit, &whole.unit) {
                parts.clear();
                break;
            }
            parts.push(q);
            end = q.end;
        }
        if parts.len() < 2 {
            continue;
        }
        let sum: f64 = parts.iter().map(|q| q.value).sum();
        if sum > whole.value + 1e-9 {
            let last = parts.last().map_or(whole.end, |q| q.end);
            out.push(Finding {
                kind: "sum",
                severity: "error",
                start: whole.start,
                end: last,
                quote: slice(chars, whole.start, last),
                stated: whole.value,
                computed: sum,
                explanation: format!(
                    "其中所列{}项合计{}{},超过总数{}{}",
                    parts.len(),
                    fmt(sum, 0),
                    whole.unit,
                    fmt(whole.value, 0),
                    whole.unit
                ),
            });
        }
    }
}

/// The labelled corpus (`data/checker_corpus.json`): report fragments with the findings a
/// careful reader would make.
pub fn corpus() -> Vec<(String, Vec<(String, f64)>)> {
    let v: serde_json::Value =
        serde_json::from_str(include_str!("../data/checker_corpus.json")).unwrap_or_default();
    v["cases"]
        .as_array()
        .map(|cases| {
            cases
                .iter()
                .map(|c| {
                    (
                        c["text"].as_str().unwrap_or_default().to_string(),
                        c["expect"]
                            .as_array()
                            .map(|e| {
                                e.iter()
                                    .map(|x| {
                                        (
                                            x["kind"].as_str().unwrap_or_default().to_string(),
                                            x["stated"].as_f64().unwrap_or(f64::NAN),
                                        )
                                    })
                                    .collect()
                            })
                            .unwrap_or_default(),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

/// Precision and recall of [`check`] on the corpus: (true positives, reported, expected).
/// A finding matches an expected one by kind and stated value.
pub fn corpus_score() -> (usize, usize, usize) {
    let (mut tp, mut reported, mut expected) = (0, 0, 0);
    for (text, expect) in corpus() {
        let found: Vec<Finding> = check(&text, false);
        reported += found.len();
        expected += expect.len();
        tp += found
            .iter()
            .filter(|f| {
                expect
                    .iter()
                    .any(|(k, v)| k == f.kind && (v - f.stated).abs() < 1e-9)
            })
            .count();
    }
    (tp, reported, expected)
}

#[cfg(test)]
mod ratio_tests {
    use super::*;

    /// 篇五's 第三小学: 4,208 ㎡ and 6,880 ㎡ over 1,313 pupils are 3.20 and 5.24 per pupil,
    /// not 3.14 and 5.13; 9,811 books are 7.47 per pupil as stated; 1,313 pupils in 28 classes
    /// average 46.9, stated as a truncated 46.8.
    #[test]
    // 3.14 is 篇五's stated 生均面积, not π.
    #[allow(clippy::approx_constant)]
    fn per_pupil_figures_against_the_pupil_count() {
        let t = "目前学校有28个教学班,每班平均有46.8名学生,共有学生1313名。\n\
                 其中教学及教学辅助用房共4208平方米,生均面积3.14平方米。运动场地面积6880平方米,生均5.13平方米。\n\
                 现有图书9811册,生均藏书7.47册。";
        let f = check(t, true);
        let got: Vec<(&str, f64)> = f.iter().map(|f| (f.severity, f.stated)).collect();
        assert_eq!(
            got,
            vec![
                ("minor", 46.8),
                ("error", 3.14),
                ("error", 5.13),
                ("ok", 7.47)
            ]
        );
        assert!((f[1].computed - 4208.0 / 1313.0).abs() < 1e-9);
        assert!(f[0].quote.starts_with("每班平均"));
        // Without any pupil count in the document there is nothing to check against.
        assert!(check("教学用房4208平方米,生均面积3.14平方米。", true).is_empty());
    }
}

#[cfg(test)]
mod contradiction_tests {
    use super::*;

    #[test]
    fn a_whole_said_to_be_two_things_is_a_contradiction() {
        let t =
            "我校所处夏马勒乡,100%学生家庭都是维吾尔族。我校地处乡村,我校100%的学生是哈萨克族。";
        let f = check(t, false);
        assert_eq!(f.len(), 1, "{f:?}");
        assert_eq!((f[0].kind, f[0].severity), ("contradiction", "error"));
        assert!(f[0].quote.contains("哈萨克族") && f[0].explanation.contains("维吾尔族"));
        // The same fact twice is no contradiction.
        assert!(check("100%的学生是维吾尔族。全校100%学生都是维吾尔族。", false).is_empty());
    }
}

#[cfg(test)]
mod corpus_tests {
    use super::*;

    /// Precision first: on the labelled corpus every finding is a real slip. Recall is what it
    /// is (per-capita figures and contradictions are not checked yet); the numbers are printed
    /// by `taizhang bench checker`.
    #[test]
    fn every_finding_on_the_corpus_is_a_real_slip() {
        assert!(corpus().len() >= 15);
        let (tp, reported, expected) = corpus_score();
        assert_eq!(tp, reported, "a false alarm on the corpus");
        assert!(tp >= 10, "recall fell: {tp} of {expected}");
    }
}

/// A figure as the records have it (核对台账): the words a report names it by, and every value
/// it may plausibly mean (the whole ledger, one unit, one month …): a stated figure is
/// consistent when it matches any of them.
#[derive(Debug, Clone)]
pub struct RecordFigure {
    /// The words before the number, e.g. 共交办问题, 已办结, 办结率.
    pub label: String,
    pub percent: bool,
    pub values: Vec<f64>,
    /// Where the value comes from, for the explanation (e.g. 台账“…”截至2026年11月25日).
    pub source: String,
}

/// Checks the figures a report states against the records: each `label` followed directly by
/// a number (or by 问题/为 and a number) is compared with the record's values, rounding judged
/// as everywhere else. Longer labels win (按期办结率 is not 办结率). Approximate figures are
/// skipped.
pub fn check_against(text: &str, figures: &[RecordFigure], all: bool) -> Vec<Finding> {
    let chars: Vec<char> = text.chars().collect();
    let qs = quantities(text);
    // Label occurrences (char start, char end, figure index), longest first on overlap.
    let mut hits: Vec<(usize, usize, usize)> = Vec::new();
    for (k, f) in figures.iter().enumerate() {
        let label: Vec<char> = f.label.chars().collect();
        if label.is_empty() || label.len() > chars.len() {
            continue;
        }
        for s in 0..=chars.len() - label.len() {
            if chars[s..s + label.len()] == label[..] {
                hits.push((s, s + label.len(), k));
            }
        }
    }
    hits.sort_by(|a, b| a.0.cmp(&b.0).then((b.1 - b.0).cmp(&(a.1 - a.0))));
    let mut taken_until = 0;
    let mut out = Vec::new();
    for (s, e, k) in hits {
        if s < taken_until {
            continue;
        }
        // A longer label that contains this one and ends later (按期办结 inside 按期办结率).
        let f = &figures[k];
        let Some(q) = qs.iter().find(|q| {
            q.start >= e
                && q.start <= e + 2
                && chars[e..q.start]
                    .iter()
                    .all(|c| matches!(c, '问' | '题' | '为' | '是'))
        }) else {
            continue;
        };
        taken_until = e;
        if q.approx || q.is_percent() != f.percent || f.values.is_empty() {
            continue;
        }
        let verdicts: Vec<(&str, f64)> = f
            .values
            .iter()
            .map(|v| (judge(q.value, q.decimals, *v), *v))
            .collect();
        let quote: String = chars[s..q.end].iter().collect();
        let unit = if f.percent { "%" } else { "" };
        if let Some((_, v)) = verdicts.iter().find(|(j, _)| *j == "ok") {
            if all {
                out.push(Finding {
                    kind: "record",
                    severity: "ok",
                    start: s,
                    end: q.end,
                    quote,
                    stated: q.value,
                    computed: *v,
                    explanation: format!("与{}一致:{}{}{unit}", f.source, f.label, fmt_value(*v)),
                });
            }
            continue;
        }
        let nearest = f
            .values
            .iter()
            .copied()
            .min_by(|a, b| (a - q.value).abs().total_cmp(&(b - q.value).abs()))
            .unwrap_or(0.0);
        out.push(Finding {
            kind: "record",
            severity: "error",
            start: s,
            end: q.end,
            quote,
            stated: q.value,
            computed: nearest,
            explanation: format!(
                "{}记录的{}为{}{unit},与所写{}{unit}不符",
                f.source,
                f.label,
                fmt_value(nearest),
                fmt_value(q.value)
            ),
        });
    }
    out
}

fn fmt_value(v: f64) -> String {
    if v.fract() == 0.0 {
        format!("{v:.0}")
    } else {
        let s = format!("{v:.2}");
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    }
}

#[cfg(test)]
mod record_tests {
    use super::*;

    fn figs() -> Vec<RecordFigure> {
        let f = |label: &str, percent: bool, values: &[f64]| RecordFigure {
            label: label.into(),
            percent,
            values: values.to_vec(),
            source: "台账".into(),
        };
        vec![
            f("共交办问题", false, &[145.0]),
            f("已办结", false, &[69.0, 0.0]),
            f("按期办结", false, &[55.0]),
            f("按期办结率", true, &[79.71]),
            f("办结率", true, &[47.586, 0.0]),
        ]
    }

    #[test]
    fn stated_figures_are_checked_against_the_records() {
        let text =
            "共交办问题145个,已办结69个,办结率47.6%;按期办结55个,按期办结率79.7%。本月已办结0个。";
        let f = check_against(text, &figs(), false);
        assert!(f.is_empty(), "{f:?}");
        assert_eq!(check_against(text, &figs(), true).len(), 6);
        let wrong = "共交办问题154个,已办结69个,办结率47.9%;按期办结率79.7%。";
        let f = check_against(wrong, &figs(), false);
        assert_eq!(f.len(), 2, "{f:?}");
        assert_eq!((f[0].stated, f[0].computed), (154.0, 145.0));
        assert!(f[0].explanation.contains("145"), "{}", f[0].explanation);
        assert_eq!(f[1].stated, 47.9);
        // 约 and other words between label and number are not claims.
        assert!(check_against("已办结约70个,已办结的70个问题中", &figs(), false).is_empty());
    }
}

#[cfg(test)]
mod ratio_and_same_quantity_tests {
    use super::*;

    #[test]
    fn computers_per_pupil_against_pupils_and_computers() {
        let seed =
            "学校现有学生1313名。现有学生计算机50台,生机比26\u{2236}1;配备班级多媒体教学设备28套。";
        let f = check(seed, true);
        let r: Vec<_> = f.iter().filter(|x| x.kind == "ratio").collect();
        assert_eq!(r.len(), 1, "{f:?}");
        assert_eq!(r[0].severity, "ok");
        let wrong = seed.replace("26\u{2236}1", "20\u{2236}1");
        let f = check(&wrong, false);
        assert_eq!(f.len(), 1, "{f:?}");
        assert_eq!(f[0].kind, "ratio");
        assert!((f[0].computed - 26.26).abs() < 0.01);
        assert!(f[0].quote.starts_with("生机比"));
    }

    #[test]
    fn one_quantity_with_two_values_is_a_contradiction_unless_the_year_differs() {
        let t = "全县共有中小学35所,在校生17886人。……经过调整,全县共有中小学36所。";
        let f = check(t, false);
        assert_eq!(f.len(), 1, "{f:?}");
        assert_eq!(f[0].kind, "contradiction");
        assert_eq!((f[0].stated, f[0].computed), (36.0, 35.0));
        assert!(check("全县共有中小学35所。全县共有中小学35所。", false).is_empty());
        assert!(
            check(
                "2023年全县共有中小学35所。2024年全县共有中小学36所。",
                false
            )
            .is_empty()
        );
        assert!(check("全县共有中小学约35所。全县共有中小学36所。", false).is_empty());
        assert!(check("一小共有学生529名。二小共有学生1313名。", false).is_empty());
    }
}

#[cfg(test)]
mod parts_tests {
    use super::*;

    #[test]
    fn parts_listed_after_qizhong_may_fall_short_but_never_exceed() {
        let f = check("全县共有学校35所,其中小学22所、初中15所。", false);
        assert_eq!(f.len(), 1, "{f:?}");
        assert_eq!((f[0].kind, f[0].stated, f[0].computed), ("sum", 35.0, 37.0));
        // Partial, exact, two breakdowns, approximate parts: nothing.
        assert!(check("全县共有学校35所,其中小学22所、初中10所。", false).is_empty());
        assert!(check("全县共有学校35所,其中小学20所、初中15所。", false).is_empty());
        assert!(
            check(
                "共有教师86人,其中男教师40人、女教师46人,本科学历60人。",
                false
            )
            .is_empty()
        );
        assert!(check("共有学校35所,其中小学约25所、初中15所。", false).is_empty());
    }
}
