//! A generated report (报告/通报/汇报) as a small document model, read from the report markup
//! the templates write, and rendered to Markdown, HTML and .docx in the GB/T 9704 layout.
//!
//! The markup is a Markdown subset:
//! - `# 标题` a title (公文标题, centred); a title resets the heading numbers;
//! - `## 总体情况` … `##### …` headings of levels 1–4, numbered on rendering
//!   一、 / (一) / 1. / (1) — templates never write the numbers, so they never skip or repeat;
//! - `| a | b |` rows make a table; a `|---|` row below the first marks it as the header row
//!   (repeated on every page in Word);
//! - `::left 各学校:` a paragraph without first-line indent (主送机关, 附件 labels);
//!   `::right 某某县教育局` right-aligned (落款, 成文日期); `::center …` centred;
//!   `::pagebreak` starts a new page;
//! - other lines are body text; a blank line ends a paragraph.
//!
//! Figures (数字) arrive as markers `\u{E000}id\u{E001}text\u{E002}` naming a [`FigureNote`]: the
//! HTML links each to the filtered list that produced it; the .docx can list them all in a
//! 数据说明 appendix.

use std::fmt::Write as _;
use std::io::{Cursor, Write};

/// Start, middle and end of a figure marker in template output.
pub const FIG_START: char = '\u{E000}';
pub const FIG_MID: char = '\u{E001}';
pub const FIG_END: char = '\u{E002}';

/// What a figure in a report means (数据说明): where it comes from and what it is out of.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct FigureNote {
    /// The figure as printed (e.g. `82.4%`).
    pub text: String,
    /// Its name (e.g. 办结率).
    pub label: String,
    /// Its definition and denominator (e.g. 已办结 70 ÷ 问题总数 85).
    pub definition: String,
    /// The filtered list that produced it, if any (a path in the web UI).
    pub link: Option<String>,
}

/// A run of text inside a paragraph or a table cell.
#[derive(Debug, Clone, PartialEq)]
pub enum Inline {
    Text(String),
    /// A figure: its index into the figure notes and its printed text.
    Figure(usize, String),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Align {
    /// Body text: first line indented two characters.
    Body,
    Left,
    Right,
    Center,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Block {
    Title(Vec<Inline>),
    /// A heading: level 1–4 and its rendered number (一、, (一), 1., (1)).
    Heading(u8, String, Vec<Inline>),
    Para(Align, Vec<Inline>),
    Table {
        header: Option<Vec<Vec<Inline>>>,
        rows: Vec<Vec<Vec<Inline>>>,
    },
    PageBreak,
}

/// A report ready to render.
#[derive(Debug, Clone, PartialEq)]
pub struct Doc {
    pub blocks: Vec<Block>,
    pub figures: Vec<FigureNote>,
}

/// A markup error, with the line of the template output it was found on.
#[derive(Debug, thiserror::Error, PartialEq)]
#[error("第{line}行:{reason}")]
pub struct MarkupError {
    pub line: usize,
    pub reason: String,
}

const CN_DIGITS: [&str; 10] = ["", "一", "二", "三", "四", "五", "六", "七", "八", "九"];

/// 1 → 一, 12 → 十二, 20 → 二十, 35 → 三十五 (headings rarely pass ninety-nine).
pub fn chinese_number(n: usize) -> String {
    match n {
        0 => "零".into(),
        1..=9 => CN_DIGITS[n].into(),
        10..=19 => format!("十{}", CN_DIGITS[n % 10]),
        20..=99 => format!("{}十{}", CN_DIGITS[n / 10], CN_DIGITS[n % 10]),
        _ => n.to_string(),
    }
}

fn heading_number(level: u8, n: usize) -> String {
    match level {
        1 => format!("{}\u{3001}", chinese_number(n)),
        2 => format!("\u{ff08}{}\u{ff09}", chinese_number(n)),
        3 => format!("{n}."),
        _ => format!("\u{ff08}{n}\u{ff09}"),
    }
}

/// Splits text with figure markers into runs; an index beyond `figures` is a markup error.
fn inlines(s: &str, figures: usize, line: usize) -> Result<Vec<Inline>, MarkupError> {
    let mut out = Vec::new();
    let mut rest = s;
    while let Some(p) = rest.find(FIG_START) {
        if p > 0 {
            out.push(Inline::Text(rest[..p].to_string()));
        }
        let after = &rest[p + FIG_START.len_utf8()..];
        let bad = || MarkupError {
            line,
            reason: "数字标记不完整 / broken figure marker".into(),
        };
        let m = after.find(FIG_MID).ok_or_else(bad)?;
        let e = after.find(FIG_END).ok_or_else(bad)?;
        if e < m {
            return Err(bad());
        }
        let id: usize = after[..m].parse().map_err(|_| bad())?;
        if id >= figures {
            return Err(bad());
        }
        out.push(Inline::Figure(
            id,
            after[m + FIG_MID.len_utf8()..e].to_string(),
        ));
        rest = &after[e + FIG_END.len_utf8()..];
    }
    if !rest.is_empty() {
        out.push(Inline::Text(rest.to_string()));
    }
    Ok(out)
}

fn is_cjk(c: char) -> bool {
    matches!(c, '\u{3000}'..='\u{9fff}' | '\u{ff00}'..='\u{ffef}' | FIG_START | FIG_END)
}

/// Chinese text takes full-width punctuation (全角标点): an ASCII `,;:!?()` touching a Chinese
/// character or a figure becomes its full-width form, and so does the `)` closing a converted
/// `(`. Template authors may then type either.
pub fn typeset(line: &str) -> String {
    let chars: Vec<char> = line.chars().collect();
    let mut out = String::with_capacity(line.len() + 8);
    let mut open = 0usize;
    for (i, &c) in chars.iter().enumerate() {
        let prev = i.checked_sub(1).map(|j| chars[j]);
        let next = chars.get(i + 1).copied();
        let touches = prev.is_some_and(is_cjk) || next.is_some_and(is_cjk);
        let full = match c {
            ',' if touches => Some('\u{ff0c}'),
            ';' if touches => Some('\u{ff1b}'),
            ':' if touches && next != Some(':') && prev != Some(':') => Some('\u{ff1a}'),
            '!' if touches => Some('\u{ff01}'),
            '?' if touches => Some('\u{ff1f}'),
            '(' if touches
                || next.is_some_and(|n| n.is_ascii_digit()) && prev.is_some_and(is_cjk) =>
            {
                open += 1;
                Some('\u{ff08}')
            }
            ')' if open > 0 || touches => {
                open = open.saturating_sub(1);
                Some('\u{ff09}')
            }
            _ => None,
        };
        out.push(full.unwrap_or(c));
    }
    out
}

fn is_rule_row(cells: &[&str]) -> bool {
    !cells.is_empty()
        && cells.iter().all(|c| {
            let c = c.trim();
            !c.is_empty() && c.chars().all(|ch| matches!(ch, '-' | ':'))
        })
}

fn row_cells(line: &str) -> Vec<&str> {
    let inner = line.trim();
    let inner = inner.strip_prefix('|').unwrap_or(inner);
    let inner = inner.strip_suffix('|').unwrap_or(inner);
    inner.split('|').map(str::trim).collect()
}

/// Reads template output (the markup above) into a [`Doc`].
pub fn parse(markup: &str, figures: Vec<FigureNote>) -> Result<Doc, MarkupError> {
    let mut blocks = Vec::new();
    let mut para: Vec<String> = Vec::new();
    let mut para_line = 0;
    let mut counters = [0usize; 4];
    let mut table: Option<(usize, Vec<Vec<&str>>)> = None;
    let n = figures.len();

    let flush_para = |para: &mut Vec<String>, blocks: &mut Vec<Block>, line: usize| {
        if para.is_empty() {
            return Ok(());
        }
        let text = para.concat();
        para.clear();
        blocks.push(Block::Para(Align::Body, inlines(&text, n, line)?));
        Ok::<(), MarkupError>(())
    };
    let flush_table = |table: &mut Option<(usize, Vec<Vec<&str>>)>,
                       blocks: &mut Vec<Block>|
     -> Result<(), MarkupError> {
        let Some((start, rows)) = table.take() else {
            return Ok(());
        };
        let width = rows[0].len();
        let header_rule = rows.len() > 1 && is_rule_row(&rows[1]);
        let mut out = Vec::new();
        for (i, r) in rows.iter().enumerate() {
            if header_rule && i == 1 {
                continue;
            }
            if r.len() != width {
                return Err(MarkupError {
                    line: start + i,
                    reason: format!(
                        "表格此行有{}列,表头有{}列 / row has {} cells, the table has {}",
                        r.len(),
                        width,
                        r.len(),
                        width
                    ),
                });
            }
            out.push(
                r.iter()
                    .map(|c| inlines(c, n, start + i))
                    .collect::<Result<Vec<_>, _>>()?,
            );
        }
        let header = header_rule.then(|| out.remove(0));
        blocks.push(Block::Table { header, rows: out });
        Ok(())
    };

    let typeset_lines: Vec<String> = markup.lines().map(typeset).collect();
    for (i, raw) in typeset_lines.iter().enumerate() {
        let line_no = i + 1;
        let line = raw.trim();
        if line.starts_with('|') {
            flush_para(&mut para, &mut blocks, para_line)?;
            let cells = row_cells(line);
            match &mut table {
                Some((_, rows)) => rows.push(cells),
                None => table = Some((line_no, vec![cells])),
            }
            continue;
        }
        flush_table(&mut table, &mut blocks)?;
        if line.is_empty() {
            flush_para(&mut para, &mut blocks, para_line)?;
            continue;
        }
        let hashes = line.chars().take_while(|c| *c == '#').count();
        if hashes > 0 && line[hashes..].starts_with(' ') {
            flush_para(&mut para, &mut blocks, para_line)?;
            let text = inlines(line[hashes..].trim(), n, line_no)?;
            if hashes == 1 {
                counters = [0; 4];
                blocks.push(Block::Title(text));
            } else if hashes <= 5 {
                let level = (hashes - 1) as u8;
                let k = level as usize - 1;
                counters[k] += 1;
                for c in counters.iter_mut().skip(k + 1) {
                    *c = 0;
                }
                blocks.push(Block::Heading(
                    level,
                    heading_number(level, counters[k]),
                    text,
                ));
            } else {
                return Err(MarkupError {
                    line: line_no,
                    reason: "标题最多四级(## 至 #####)/ headings go four levels deep at most"
                        .into(),
                });
            }
            continue;
        }
        if let Some(d) = line.strip_prefix("::") {
            flush_para(&mut para, &mut blocks, para_line)?;
            let (word, rest) = d.split_once(' ').unwrap_or((d, ""));
            let align = match word {
                "pagebreak" => {
                    blocks.push(Block::PageBreak);
                    continue;
                }
                "left" => Align::Left,
                "right" => Align::Right,
                "center" => Align::Center,
                other => {
                    return Err(MarkupError {
                        line: line_no,
                        reason: format!(
                            "未知指令 ::{other},可用 ::left ::right ::center ::pagebreak / unknown directive"
                        ),
                    });
                }
            };
            blocks.push(Block::Para(align, inlines(rest.trim(), n, line_no)?));
            continue;
        }
        if para.is_empty() {
            para_line = line_no;
        }
        para.push(line.to_string());
    }
    flush_table(&mut table, &mut blocks)?;
    flush_para(&mut para, &mut blocks, para_line)?;
    Ok(Doc { blocks, figures })
}

fn plain(runs: &[Inline]) -> String {
    runs.iter()
        .map(|r| match r {
            Inline::Text(t) | Inline::Figure(_, t) => t.as_str(),
        })
        .collect()
}

impl Doc {
    /// The report as plain text, one block per line (what the checker reads).
    pub fn plain_text(&self) -> String {
        let mut s = String::new();
        for b in &self.blocks {
            match b {
                Block::Title(t) | Block::Para(_, t) => {
                    s.push_str(&plain(t));
                    s.push('\n');
                }
                Block::Heading(_, num, t) => {
                    s.push_str(num);
                    s.push_str(&plain(t));
                    s.push('\n');
                }
                Block::Table { header, rows } => {
                    for r in header.iter().chain(rows) {
                        let cells: Vec<String> = r.iter().map(|c| plain(c)).collect();
                        s.push_str(&cells.join("\t"));
                        s.push('\n');
                    }
                }
                Block::PageBreak => {}
            }
        }
        s
    }

    /// The report as Markdown (headings numbered, figures as plain numbers); `source` goes
    /// into a leading HTML comment.
    pub fn to_markdown_from(&self, source: Option<&str>) -> String {
        let mut s = String::new();
        if let Some(src) = source {
            let _ = writeln!(s, "<!-- {SOURCE_PREFIX}{src} -->\n");
        }
        s.push_str(&self.to_markdown());
        s
    }

    /// The report as Markdown (headings numbered, figures as plain numbers).
    pub fn to_markdown(&self) -> String {
        let mut s = String::new();
        let md_cell = |c: &[Inline]| plain(c).replace('|', "\\|");
        for b in &self.blocks {
            match b {
                Block::Title(t) => {
                    let _ = writeln!(s, "# {}\n", plain(t));
                }
                Block::Heading(level, num, t) => {
                    let _ = writeln!(
                        s,
                        "{} {}{}\n",
                        "#".repeat(*level as usize + 1),
                        num,
                        plain(t)
                    );
                }
                Block::Para(Align::Right, t) => {
                    let _ = writeln!(s, "<p align=\"right\">{}</p>\n", html_escape(&plain(t)));
                }
                Block::Para(Align::Center, t) => {
                    let _ = writeln!(s, "<p align=\"center\">{}</p>\n", html_escape(&plain(t)));
                }
                Block::Para(_, t) => {
                    let _ = writeln!(s, "{}\n", plain(t));
                }
                Block::Table { header, rows } => {
                    let width = header.as_ref().or(rows.first()).map_or(0, Vec::len);
                    let head: Vec<String> = match header {
                        Some(h) => h.iter().map(|c| md_cell(c)).collect(),
                        None => vec![String::new(); width],
                    };
                    let _ = writeln!(s, "| {} |", head.join(" | "));
                    let _ = writeln!(s, "|{}", "---|".repeat(width));
                    for r in rows {
                        let cells: Vec<String> = r.iter().map(|c| md_cell(c)).collect();
                        let _ = writeln!(s, "| {} |", cells.join(" | "));
                    }
                    s.push('\n');
                }
                Block::PageBreak => s.push_str("---\n\n"),
            }
        }
        s
    }

    fn html_runs(&self, runs: &[Inline], out: &mut String) {
        for r in runs {
            match r {
                Inline::Text(t) => out.push_str(&html_escape(t)),
                Inline::Figure(id, t) => {
                    let note = &self.figures[*id];
                    let title = html_escape(&format!("{}:{}", note.label, note.definition));
                    match &note.link {
                        Some(href) => {
                            let _ = write!(
                                out,
                                "<a class=\"fig\" href=\"{}\" title=\"{}\">{}</a>",
                                html_escape(href),
                                title,
                                html_escape(t)
                            );
                        }
                        None => {
                            let _ = write!(
                                out,
                                "<span class=\"fig\" title=\"{}\">{}</span>",
                                title,
                                html_escape(t)
                            );
                        }
                    }
                }
            }
        }
    }

    /// One table row, each cell in `tag` (`th` or `td`).
    fn html_row(&self, cells: &[Vec<Inline>], tag: &str, out: &mut String) {
        out.push_str("<tr>");
        for c in cells {
            let _ = write!(out, "<{tag}>");
            self.html_runs(c, out);
            let _ = write!(out, "</{tag}>");
        }
        out.push_str("</tr>");
    }

    /// The report body as an HTML fragment (`<article class="gongwen">`): each figure links
    /// to the filtered list that produced it, its definition in the tooltip.
    pub fn to_html_fragment(&self) -> String {
        let mut s = String::from("<article class=\"gongwen\">\n");
        for b in &self.blocks {
            match b {
                Block::Title(t) => {
                    s.push_str("<h1>");
                    self.html_runs(t, &mut s);
                    s.push_str("</h1>\n");
                }
                Block::Heading(level, num, t) => {
                    let _ = write!(
                        s,
                        "<h{0} class=\"l{1}\">{2}",
                        level + 1,
                        level,
                        html_escape(num)
                    );
                    self.html_runs(t, &mut s);
                    let _ = writeln!(s, "</h{}>", level + 1);
                }
                Block::Para(align, t) => {
                    let class = match align {
                        Align::Body => "",
                        Align::Left => " class=\"left\"",
                        Align::Right => " class=\"right\"",
                        Align::Center => " class=\"center\"",
                    };
                    let _ = write!(s, "<p{class}>");
                    self.html_runs(t, &mut s);
                    s.push_str("</p>\n");
                }
                Block::Table { header, rows } => {
                    s.push_str("<table>\n");
                    if let Some(h) = header {
                        s.push_str("<thead>");
                        self.html_row(h, "th", &mut s);
                        s.push_str("</thead>\n");
                    }
                    s.push_str("<tbody>\n");
                    for r in rows {
                        self.html_row(r, "td", &mut s);
                        s.push('\n');
                    }
                    s.push_str("</tbody></table>\n");
                }
                Block::PageBreak => s.push_str("<hr class=\"pagebreak\">\n"),
            }
        }
        s.push_str("</article>\n");
        s
    }

    /// A whole HTML page with the print style of a 公文 (A4, 仿宋 body, 小标宋 title).
    pub fn to_html(&self, title: &str, source: Option<&str>) -> String {
        let meta = source.map_or(String::new(), |src| {
            format!(
                "<meta name=\"generator\" content=\"{}\">",
                html_escape(&format!("{SOURCE_PREFIX}{src}"))
            )
        });
        format!(
            "<!doctype html>\n<html lang=\"zh-CN\"><head><meta charset=\"utf-8\">{meta}<title>{}</title>\n<style>{}</style></head><body>\n{}</body></html>\n",
            html_escape(title),
            GONGWEN_CSS,
            self.to_html_fragment()
        )
    }
}

/// The 公文 look in HTML: used by the standalone page and the preview.
pub const GONGWEN_CSS: &str = "\
.gongwen{max-width:156mm;margin:0 auto;font-family:'仿宋_GB2312','FangSong','Noto Serif CJK SC',serif;font-size:16pt;line-height:28pt}\
.gongwen h1{font-family:'方正小标宋简体','Noto Serif CJK SC',serif;font-size:22pt;line-height:32pt;text-align:center;font-weight:normal;margin:12pt 0 28pt}\
.gongwen h2{font-family:'黑体','SimHei','Noto Sans CJK SC',sans-serif;font-size:16pt;font-weight:normal;text-indent:2em;margin:0}\
.gongwen h3{font-family:'楷体_GB2312','KaiTi','Noto Serif CJK SC',serif;font-size:16pt;font-weight:normal;text-indent:2em;margin:0}\
.gongwen h4,.gongwen h5{font-size:16pt;font-weight:normal;text-indent:2em;margin:0}\
.gongwen p{text-indent:2em;margin:0}.gongwen p.left{text-indent:0}.gongwen p.right{text-align:right}.gongwen p.center{text-align:center;text-indent:0}\
.gongwen table{border-collapse:collapse;width:100%;font-size:12pt;line-height:18pt;margin:6pt 0}\
.gongwen th,.gongwen td{border:1px solid #000;padding:2pt 4pt;text-align:left;vertical-align:top}\
.gongwen th{font-family:'黑体','SimHei','Noto Sans CJK SC',sans-serif;font-weight:normal;text-align:center}\
.gongwen a.fig{color:inherit;text-decoration:underline dotted}.gongwen hr.pagebreak{border:0;border-top:1px dashed #999;margin:24pt 0}\
@media print{.gongwen hr.pagebreak{break-after:page;border:0}}";

pub fn html_escape(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&#39;"),
            _ => o.push(c),
        }
    }
    o
}

/// XML text: escaped, and without the control characters XML 1.0 forbids.
fn xml_escape(s: &str, o: &mut String) {
    for c in s.chars() {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\t' | '\n' | '\r' => o.push(' '),
            c if (c as u32) < 0x20 || matches!(c, '\u{FFFE}' | '\u{FFFF}') => {}
            c => o.push(c),
        }
    }
}

/// Options of the Word output.
#[derive(Debug, Clone, Default)]
pub struct DocxOptions {
    /// Document title (core properties).
    pub title: String,
    /// Page number centred (common for 汇报材料) instead of at the outer side.
    pub page_number_centered: bool,
    /// Add the 数据说明 appendix listing every figure with its definition.
    pub data_notes: bool,
    /// What the report was generated from (`ledger:12`), kept in the core properties so the
    /// checker can compare an uploaded copy with the records ([`SOURCE_PREFIX`]).
    pub source: Option<String>,
}

/// Marks a generated report's source in its file: `taizhang:ledger:12`.
pub const SOURCE_PREFIX: &str = "taizhang:";

// GB/T 9704-2012 in twentieths of a point (1 mm = 56.69 twips).
const PAGE_W: u32 = 11906; // A4 210 mm
const PAGE_H: u32 = 16838; // 297 mm
const MARGIN_TOP: u32 = 2098; // 37 mm
const MARGIN_BOTTOM: u32 = 1984; // 35 mm
const MARGIN_LEFT: u32 = 1587; // 28 mm (binding side)
const MARGIN_RIGHT: u32 = 1474; // 26 mm
const FOOTER: u32 = 1417; // 25 mm: the page number sits about 7 mm below the type area
/// 225 mm ÷ 22 lines.
const LINE_PITCH: u32 = 579;
/// 28 characters in the 156 mm (442.2 pt) line: 16 pt characters condensed by 0.25 pt
/// (441 pt). Word's character grid (`linesAndChars`) would do the same, but LibreOffice reads
/// that grid differently (it spread a line to 15 characters), so the line grid is `lines` and
/// the condensing is explicit: both render 28 characters.
const CHAR_CONDENSE: i32 = -5;

/// The fonts as users' machines name them; Word matches by name, LibreOffice substitutes.
pub const FONT_BODY: &str = "仿宋_GB2312";
pub const FONT_TITLE: &str = "方正小标宋简体";
pub const FONT_HEI: &str = "黑体";
pub const FONT_KAI: &str = "楷体_GB2312";
pub const FONT_PAGE: &str = "宋体";

fn run_props(font: Option<&str>, size_half_points: Option<u32>, bold: bool) -> String {
    let mut s = String::from("<w:rPr>");
    if let Some(f) = font {
        let _ = write!(
            s,
            "<w:rFonts w:ascii=\"{f}\" w:eastAsia=\"{f}\" w:hAnsi=\"{f}\" w:cs=\"{f}\" w:hint=\"eastAsia\"/>"
        );
    }
    if bold {
        s.push_str("<w:b/>");
    }
    if let Some(sz) = size_half_points {
        let _ = write!(s, "<w:sz w:val=\"{sz}\"/><w:szCs w:val=\"{sz}\"/>");
    }
    s.push_str("</w:rPr>");
    s
}

fn runs_xml(runs: &[Inline], rpr: &str, o: &mut String) {
    for r in runs {
        let t = match r {
            Inline::Text(t) | Inline::Figure(_, t) => t,
        };
        if t.is_empty() {
            continue;
        }
        o.push_str("<w:r>");
        o.push_str(rpr);
        o.push_str("<w:t xml:space=\"preserve\">");
        xml_escape(t, o);
        o.push_str("</w:t></w:r>");
    }
}

fn para_xml(style: &str, jc: Option<&str>, indent: bool, runs: &[Inline], o: &mut String) {
    let _ = write!(o, "<w:p><w:pPr><w:pStyle w:val=\"{style}\"/>");
    if !indent {
        o.push_str("<w:ind w:firstLineChars=\"0\" w:firstLine=\"0\"/>");
    }
    if let Some(j) = jc {
        let _ = write!(o, "<w:jc w:val=\"{j}\"/>");
    }
    o.push_str("</w:pPr>");
    runs_xml(runs, "", o);
    o.push_str("</w:p>");
}

fn table_xml(header: Option<&Vec<Vec<Inline>>>, rows: &[Vec<Vec<Inline>>], o: &mut String) {
    let width = header.or(rows.first()).map_or(1, Vec::len).max(1);
    let type_area = PAGE_W - MARGIN_LEFT - MARGIN_RIGHT;
    // Column widths follow the longest text in each column (first rows only: a long ledger
    // should not cost a pass over every cell), between 3 and 24 characters.
    let mut weight = vec![3usize; width];
    for r in header.into_iter().chain(rows.iter().take(200)) {
        for (k, c) in r.iter().enumerate().take(width) {
            let n: usize = c
                .iter()
                .map(|x| match x {
                    Inline::Text(t) | Inline::Figure(_, t) => t
                        .chars()
                        // Tenths of a character: a digit is about 0.6 of a CJK one.
                        .map(|ch| if ch.is_ascii() { 6 } else { 10 })
                        .sum::<usize>(),
                })
                .sum();
            // (+1 for the cell margins.)
            weight[k] = weight[k].max((n.div_ceil(10) + 1).clamp(3, 24));
        }
    }
    // The type area holds about 36 characters of 12 pt table text: when the columns want more,
    // the widest give way first (a long 问题 column wraps; a number column does not).
    let avail = (type_area / 240) as usize;
    while weight.iter().sum::<usize>() > avail {
        let Some((k, w)) = weight.iter().enumerate().max_by_key(|(_, w)| **w) else {
            break;
        };
        if *w <= 4 {
            break;
        }
        weight[k] -= 1;
    }
    let total: usize = weight.iter().sum();
    let cols: Vec<u32> = weight
        .iter()
        .map(|w| (type_area as usize * w / total) as u32)
        .collect();
    o.push_str(
        "<w:tbl><w:tblPr><w:tblStyle w:val=\"LedgerTable\"/><w:tblW w:w=\"5000\" w:type=\"pct\"/>\
         <w:tblLayout w:type=\"fixed\"/><w:tblLook w:val=\"04A0\" w:firstRow=\"1\" w:lastRow=\"0\" \
         w:firstColumn=\"0\" w:lastColumn=\"0\" w:noHBand=\"1\" w:noVBand=\"1\"/></w:tblPr><w:tblGrid>",
    );
    for c in &cols {
        let _ = write!(o, "<w:gridCol w:w=\"{c}\"/>");
    }
    o.push_str("</w:tblGrid>");
    let row = |cells: &Vec<Vec<Inline>>, head: bool, o: &mut String| {
        o.push_str("<w:tr><w:trPr><w:cantSplit/>");
        if head {
            // 表头行在每页重复.
            o.push_str("<w:tblHeader/>");
        }
        o.push_str("</w:trPr>");
        for (c, w) in cells.iter().zip(&cols) {
            let _ = write!(
                o,
                "<w:tc><w:tcPr><w:tcW w:w=\"{w}\" w:type=\"dxa\"/></w:tcPr><w:p><w:pPr><w:pStyle w:val=\"TableText\"/>"
            );
            if head {
                o.push_str("<w:jc w:val=\"center\"/>");
            }
            o.push_str("</w:pPr>");
            let rpr = if head {
                run_props(Some(FONT_HEI), None, false)
            } else {
                String::new()
            };
            runs_xml(c, &rpr, o);
            o.push_str("</w:p></w:tc>");
        }
        o.push_str("</w:tr>");
    };
    if let Some(h) = header {
        row(h, true, o);
    }
    for r in rows {
        row(r, false, o);
    }
    // Word wants a paragraph between a table and what follows.
    o.push_str("</w:tbl><w:p><w:pPr><w:pStyle w:val=\"TableText\"/></w:pPr></w:p>");
}

const NS: &str = "xmlns:w=\"http://schemas.openxmlformats.org/wordprocessingml/2006/main\" \
    xmlns:r=\"http://schemas.openxmlformats.org/officeDocument/2006/relationships\"";

fn styles_xml() -> String {
    let body = run_props(Some(FONT_BODY), Some(32), false);
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\n<w:styles {NS}>\
<w:docDefaults><w:rPrDefault><w:rPr><w:rFonts w:ascii=\"{FONT_BODY}\" w:eastAsia=\"{FONT_BODY}\" w:hAnsi=\"{FONT_BODY}\" w:cs=\"{FONT_BODY}\"/>\
<w:spacing w:val=\"{CHAR_CONDENSE}\"/><w:kern w:val=\"2\"/><w:sz w:val=\"32\"/><w:szCs w:val=\"32\"/><w:lang w:val=\"en-US\" w:eastAsia=\"zh-CN\" w:bidi=\"ar-SA\"/></w:rPr></w:rPrDefault>\
<w:pPrDefault><w:pPr><w:widowControl w:val=\"0\"/><w:jc w:val=\"both\"/></w:pPr></w:pPrDefault></w:docDefaults>\
<w:style w:type=\"paragraph\" w:default=\"1\" w:styleId=\"Normal\"><w:name w:val=\"Normal\"/><w:qFormat/>\
<w:pPr><w:spacing w:line=\"{LINE_PITCH}\" w:lineRule=\"exact\"/><w:ind w:firstLineChars=\"200\" w:firstLine=\"640\"/></w:pPr>{body}</w:style>\
<w:style w:type=\"paragraph\" w:styleId=\"Title\"><w:name w:val=\"Title\"/><w:basedOn w:val=\"Normal\"/><w:qFormat/>\
<w:pPr><w:spacing w:before=\"0\" w:after=\"{LINE_PITCH}\" w:line=\"{LINE_PITCH}\" w:lineRule=\"exact\"/><w:ind w:firstLineChars=\"0\" w:firstLine=\"0\"/><w:jc w:val=\"center\"/><w:outlineLvl w:val=\"0\"/></w:pPr>{title}</w:style>\
<w:style w:type=\"paragraph\" w:styleId=\"Heading1\"><w:name w:val=\"heading 1\"/><w:basedOn w:val=\"Normal\"/><w:qFormat/><w:pPr><w:keepNext/><w:outlineLvl w:val=\"1\"/></w:pPr>{hei}</w:style>\
<w:style w:type=\"paragraph\" w:styleId=\"Heading2\"><w:name w:val=\"heading 2\"/><w:basedOn w:val=\"Normal\"/><w:qFormat/><w:pPr><w:keepNext/><w:outlineLvl w:val=\"2\"/></w:pPr>{kai}</w:style>\
<w:style w:type=\"paragraph\" w:styleId=\"Heading3\"><w:name w:val=\"heading 3\"/><w:basedOn w:val=\"Normal\"/><w:qFormat/><w:pPr><w:keepNext/><w:outlineLvl w:val=\"3\"/></w:pPr>{body_bold}</w:style>\
<w:style w:type=\"paragraph\" w:styleId=\"Heading4\"><w:name w:val=\"heading 4\"/><w:basedOn w:val=\"Normal\"/><w:qFormat/><w:pPr><w:keepNext/><w:outlineLvl w:val=\"4\"/></w:pPr>{body}</w:style>\
<w:style w:type=\"paragraph\" w:styleId=\"TableText\"><w:name w:val=\"Table Text\"/><w:basedOn w:val=\"Normal\"/>\
<w:pPr><w:snapToGrid w:val=\"0\"/><w:spacing w:line=\"300\" w:lineRule=\"auto\"/><w:ind w:firstLineChars=\"0\" w:firstLine=\"0\"/><w:jc w:val=\"left\"/></w:pPr>{table}</w:style>\
<w:style w:type=\"paragraph\" w:styleId=\"Footer\"><w:name w:val=\"footer\"/><w:basedOn w:val=\"Normal\"/>\
<w:pPr><w:snapToGrid w:val=\"0\"/><w:spacing w:line=\"240\" w:lineRule=\"auto\"/><w:ind w:firstLineChars=\"0\" w:firstLine=\"0\"/></w:pPr>{page}</w:style>\
<w:style w:type=\"table\" w:default=\"1\" w:styleId=\"TableNormal\"><w:name w:val=\"Normal Table\"/><w:tblPr><w:tblInd w:w=\"0\" w:type=\"dxa\"/>\
<w:tblCellMar><w:top w:w=\"0\" w:type=\"dxa\"/><w:left w:w=\"108\" w:type=\"dxa\"/><w:bottom w:w=\"0\" w:type=\"dxa\"/><w:right w:w=\"108\" w:type=\"dxa\"/></w:tblCellMar></w:tblPr></w:style>\
<w:style w:type=\"table\" w:styleId=\"LedgerTable\"><w:name w:val=\"Ledger Table\"/><w:basedOn w:val=\"TableNormal\"/><w:tblPr><w:jc w:val=\"center\"/><w:tblBorders>\
<w:top w:val=\"single\" w:sz=\"4\" w:space=\"0\" w:color=\"000000\"/><w:left w:val=\"single\" w:sz=\"4\" w:space=\"0\" w:color=\"000000\"/>\
<w:bottom w:val=\"single\" w:sz=\"4\" w:space=\"0\" w:color=\"000000\"/><w:right w:val=\"single\" w:sz=\"4\" w:space=\"0\" w:color=\"000000\"/>\
<w:insideH w:val=\"single\" w:sz=\"4\" w:space=\"0\" w:color=\"000000\"/><w:insideV w:val=\"single\" w:sz=\"4\" w:space=\"0\" w:color=\"000000\"/></w:tblBorders></w:tblPr></w:style>\
</w:styles>",
        title = run_props(Some(FONT_TITLE), Some(44), false),
        hei = run_props(Some(FONT_HEI), Some(32), false),
        kai = run_props(Some(FONT_KAI), Some(32), false),
        body_bold = run_props(Some(FONT_BODY), Some(32), true),
        table = run_props(Some(FONT_BODY), Some(24), false),
        page = run_props(Some(FONT_PAGE), Some(28), false),
    )
}

/// A footer holding "— 1 —": `jc` and an indent of one character from the outer edge.
fn footer_xml(jc: &str, ind: &str) -> String {
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\n<w:ftr {NS}><w:p><w:pPr><w:pStyle w:val=\"Footer\"/>{ind}<w:jc w:val=\"{jc}\"/></w:pPr>\
<w:r><w:t xml:space=\"preserve\">— </w:t></w:r><w:r><w:fldChar w:fldCharType=\"begin\"/></w:r><w:r><w:instrText xml:space=\"preserve\"> PAGE </w:instrText></w:r>\
<w:r><w:fldChar w:fldCharType=\"separate\"/></w:r><w:r><w:t>1</w:t></w:r><w:r><w:fldChar w:fldCharType=\"end\"/></w:r><w:r><w:t xml:space=\"preserve\"> —</w:t></w:r></w:p></w:ftr>"
    )
}

const FONT_TABLE: &str = "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\n\
<w:fonts xmlns:w=\"http://schemas.openxmlformats.org/wordprocessingml/2006/main\">\
<w:font w:name=\"仿宋_GB2312\"><w:altName w:val=\"仿宋\"/><w:charset w:val=\"86\"/><w:family w:val=\"modern\"/><w:pitch w:val=\"fixed\"/></w:font>\
<w:font w:name=\"方正小标宋简体\"><w:altName w:val=\"宋体\"/><w:charset w:val=\"86\"/><w:family w:val=\"script\"/><w:pitch w:val=\"fixed\"/></w:font>\
<w:font w:name=\"楷体_GB2312\"><w:altName w:val=\"楷体\"/><w:charset w:val=\"86\"/><w:family w:val=\"modern\"/><w:pitch w:val=\"fixed\"/></w:font>\
<w:font w:name=\"黑体\"><w:altName w:val=\"SimHei\"/><w:charset w:val=\"86\"/><w:family w:val=\"modern\"/><w:pitch w:val=\"fixed\"/></w:font>\
<w:font w:name=\"宋体\"><w:altName w:val=\"SimSun\"/><w:charset w:val=\"86\"/><w:family w:val=\"auto\"/><w:pitch w:val=\"variable\"/></w:font>\
</w:fonts>";

impl Doc {
    /// `word/document.xml`.
    pub fn document_xml(&self, opts: &DocxOptions) -> String {
        let mut o = String::with_capacity(4096 + self.blocks.len() * 256);
        let _ = write!(
            o,
            "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\n<w:document {NS}><w:body>"
        );
        let mut blocks: Vec<&Block> = self.blocks.iter().collect();
        let notes;
        if opts.data_notes && !self.figures.is_empty() {
            notes = self.notes_blocks();
            blocks.extend(notes.iter());
        }
        for b in blocks {
            match b {
                Block::Title(t) => para_xml("Title", None, false, t, &mut o),
                Block::Heading(level, num, t) => {
                    let mut runs = vec![Inline::Text(num.clone())];
                    runs.extend(t.iter().cloned());
                    para_xml(&format!("Heading{level}"), None, true, &runs, &mut o);
                }
                Block::Para(Align::Body, t) => para_xml("Normal", None, true, t, &mut o),
                Block::Para(Align::Left, t) => para_xml("Normal", None, false, t, &mut o),
                Block::Para(Align::Right, t) => para_xml("Normal", Some("right"), false, t, &mut o),
                Block::Para(Align::Center, t) => {
                    para_xml("Normal", Some("center"), false, t, &mut o)
                }
                Block::Table { header, rows } => table_xml(header.as_ref(), rows, &mut o),
                Block::PageBreak => o.push_str("<w:p><w:r><w:br w:type=\"page\"/></w:r></w:p>"),
            }
        }
        let _ = write!(
            o,
            "<w:sectPr><w:footerReference w:type=\"default\" r:id=\"rIdFooterOdd\"/><w:footerReference w:type=\"even\" r:id=\"rIdFooterEven\"/>\
<w:pgSz w:w=\"{PAGE_W}\" w:h=\"{PAGE_H}\"/><w:pgMar w:top=\"{MARGIN_TOP}\" w:right=\"{MARGIN_RIGHT}\" w:bottom=\"{MARGIN_BOTTOM}\" w:left=\"{MARGIN_LEFT}\" \
w:header=\"851\" w:footer=\"{FOOTER}\" w:gutter=\"0\"/><w:pgNumType w:start=\"1\"/><w:cols w:space=\"425\"/>\
<w:docGrid w:type=\"lines\" w:linePitch=\"{LINE_PITCH}\"/></w:sectPr></w:body></w:document>"
        );
        o
    }

    /// The 数据说明 appendix: every figure, its definition and denominator.
    fn notes_blocks(&self) -> Vec<Block> {
        let t = |s: &str| vec![Inline::Text(s.to_string())];
        let rows = self
            .figures
            .iter()
            .enumerate()
            .map(|(i, f)| {
                vec![
                    t(&(i + 1).to_string()),
                    t(&f.label),
                    t(&f.text),
                    t(&f.definition),
                ]
            })
            .collect();
        vec![
            Block::PageBreak,
            Block::Title(t("数据说明")),
            Block::Para(
                Align::Body,
                t("本报告中的数字均由台账系统按下列口径从记录中计算得出,分母与计算方法列于表中。"),
            ),
            Block::Table {
                header: Some(vec![t("序号"), t("数据项"), t("数值"), t("口径与分母")]),
                rows,
            },
        ]
    }

    /// The report as a .docx: A4, GB/T 9704 margins, 22 lines × 28 characters, fonts named as
    /// users' machines have them (with East-Asian font attributes), "— 1 —" page numbers at
    /// the outer side (or centred), tables with a header row repeated on every page.
    pub fn to_docx(&self, opts: &DocxOptions) -> Vec<u8> {
        let (odd, even) = if opts.page_number_centered {
            (footer_xml("center", ""), footer_xml("center", ""))
        } else {
            // 单页码居右空一字, 双页码居左空一字.
            (
                footer_xml("right", "<w:ind w:right=\"280\"/>"),
                footer_xml("left", "<w:ind w:left=\"280\"/>"),
            )
        };
        let mut core_title = String::new();
        xml_escape(&opts.title, &mut core_title);
        let identifier = match &opts.source {
            Some(src) => {
                let mut x = String::new();
                xml_escape(&format!("{SOURCE_PREFIX}{src}"), &mut x);
                format!("<dc:identifier>{x}</dc:identifier>")
            }
            None => String::new(),
        };
        let parts: [(&str, String); 10] = [
            (
                "[Content_Types].xml",
                "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\n<Types xmlns=\"http://schemas.openxmlformats.org/package/2006/content-types\">\
<Default Extension=\"rels\" ContentType=\"application/vnd.openxmlformats-package.relationships+xml\"/><Default Extension=\"xml\" ContentType=\"application/xml\"/>\
<Override PartName=\"/word/document.xml\" ContentType=\"application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml\"/>\
<Override PartName=\"/word/styles.xml\" ContentType=\"application/vnd.openxmlformats-officedocument.wordprocessingml.styles+xml\"/>\
<Override PartName=\"/word/settings.xml\" ContentType=\"application/vnd.openxmlformats-officedocument.wordprocessingml.settings+xml\"/>\
<Override PartName=\"/word/fontTable.xml\" ContentType=\"application/vnd.openxmlformats-officedocument.wordprocessingml.fontTable+xml\"/>\
<Override PartName=\"/word/footer1.xml\" ContentType=\"application/vnd.openxmlformats-officedocument.wordprocessingml.footer+xml\"/>\
<Override PartName=\"/word/footer2.xml\" ContentType=\"application/vnd.openxmlformats-officedocument.wordprocessingml.footer+xml\"/>\
<Override PartName=\"/docProps/core.xml\" ContentType=\"application/vnd.openxmlformats-package.core-properties+xml\"/>\
<Override PartName=\"/docProps/app.xml\" ContentType=\"application/vnd.openxmlformats-officedocument.extended-properties+xml\"/></Types>".into(),
            ),
            (
                "_rels/.rels",
                "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\n<Relationships xmlns=\"http://schemas.openxmlformats.org/package/2006/relationships\">\
<Relationship Id=\"rId1\" Type=\"http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument\" Target=\"word/document.xml\"/>\
<Relationship Id=\"rId2\" Type=\"http://schemas.openxmlformats.org/package/2006/relationships/metadata/core-properties\" Target=\"docProps/core.xml\"/>\
<Relationship Id=\"rId3\" Type=\"http://schemas.openxmlformats.org/officeDocument/2006/relationships/extended-properties\" Target=\"docProps/app.xml\"/></Relationships>".into(),
            ),
            (
                "docProps/core.xml",
                format!("<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\n<cp:coreProperties xmlns:cp=\"http://schemas.openxmlformats.org/package/2006/metadata/core-properties\" \
xmlns:dc=\"http://purl.org/dc/elements/1.1/\"><dc:title>{core_title}</dc:title>{identifier}<dc:creator>台账 Taizhang</dc:creator><dc:language>zh-CN</dc:language></cp:coreProperties>"),
            ),
            (
                "docProps/app.xml",
                "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\n<Properties xmlns=\"http://schemas.openxmlformats.org/officeDocument/2006/extended-properties\"><Application>Taizhang</Application></Properties>".into(),
            ),
            (
                "word/_rels/document.xml.rels",
                "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\n<Relationships xmlns=\"http://schemas.openxmlformats.org/package/2006/relationships\">\
<Relationship Id=\"rIdStyles\" Type=\"http://schemas.openxmlformats.org/officeDocument/2006/relationships/styles\" Target=\"styles.xml\"/>\
<Relationship Id=\"rIdSettings\" Type=\"http://schemas.openxmlformats.org/officeDocument/2006/relationships/settings\" Target=\"settings.xml\"/>\
<Relationship Id=\"rIdFonts\" Type=\"http://schemas.openxmlformats.org/officeDocument/2006/relationships/fontTable\" Target=\"fontTable.xml\"/>\
<Relationship Id=\"rIdFooterOdd\" Type=\"http://schemas.openxmlformats.org/officeDocument/2006/relationships/footer\" Target=\"footer1.xml\"/>\
<Relationship Id=\"rIdFooterEven\" Type=\"http://schemas.openxmlformats.org/officeDocument/2006/relationships/footer\" Target=\"footer2.xml\"/></Relationships>".into(),
            ),
            ("word/document.xml", self.document_xml(opts)),
            ("word/styles.xml", styles_xml()),
            (
                "word/settings.xml",
                format!("<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\n<w:settings {NS}><w:defaultTabStop w:val=\"420\"/><w:evenAndOddHeaders/>\
<w:characterSpacingControl w:val=\"compressPunctuation\"/><w:compat><w:spaceForUL/><w:balanceSingleByteDoubleByteWidth/>\
<w:doNotLeaveBackslashAlone/><w:ulTrailSpace/><w:doNotExpandShiftReturn/><w:adjustLineHeightInTable/><w:useFELayout/></w:compat>\
<w:themeFontLang w:val=\"en-US\" w:eastAsia=\"zh-CN\"/></w:settings>"),
            ),
            ("word/fontTable.xml", FONT_TABLE.into()),
            ("word/footer1.xml", odd),
        ];
        let mut zip = zip::ZipWriter::new(Cursor::new(Vec::new()));
        let opt = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated)
            .compression_level(Some(1));
        let parts = parts.into_iter().chain([("word/footer2.xml", even)]);
        for (name, body) in parts {
            // Writing to memory cannot fail but for allocation.
            zip.start_file(name, opt).expect("zip entry in memory");
            zip.write_all(body.as_bytes()).expect("zip write in memory");
        }
        zip.finish().expect("zip finish in memory").into_inner()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fig(i: usize, t: &str) -> String {
        format!("{FIG_START}{i}{FIG_MID}{t}{FIG_END}")
    }

    fn notes(n: usize) -> Vec<FigureNote> {
        (0..n)
            .map(|i| FigureNote {
                text: i.to_string(),
                label: format!("数{i}"),
                definition: "口径".into(),
                link: Some(format!("/ledgers/1?state=s{i}")),
            })
            .collect()
    }

    #[test]
    fn headings_are_numbered_by_level_and_reset_below() {
        let md = "# 通报\n\n## 总体情况\n\n### 甲\n\n### 乙\n\n#### 细\n\n## 存在问题\n\n### 丙\n\n##### 深\n";
        let d = parse(md, vec![]).unwrap();
        let nums: Vec<&str> = d
            .blocks
            .iter()
            .filter_map(|b| match b {
                Block::Heading(_, n, _) => Some(n.as_str()),
                _ => None,
            })
            .collect();
        assert_eq!(
            nums,
            [
                "一、",
                "\u{ff08}一\u{ff09}",
                "\u{ff08}二\u{ff09}",
                "1.",
                "二、",
                "\u{ff08}一\u{ff09}",
                "\u{ff08}1\u{ff09}"
            ]
        );
        assert_eq!(chinese_number(10), "十");
        assert_eq!(chinese_number(12), "十二");
        assert_eq!(chinese_number(20), "二十");
        assert_eq!(chinese_number(35), "三十五");
    }

    #[test]
    fn figures_link_in_html_and_print_plain_in_markdown() {
        let md = format!(
            "# 题\n\n共交办问题{}个,已办结{}个。\n",
            fig(0, "85"),
            fig(1, "70")
        );
        let d = parse(&md, notes(2)).unwrap();
        let html = d.to_html_fragment();
        assert!(
            html.contains(
                "<a class=\"fig\" href=\"/ledgers/1?state=s0\" title=\"数0:口径\">85</a>"
            ),
            "{html}"
        );
        assert!(
            d.to_markdown()
                .contains("共交办问题85个\u{ff0c}已办结70个。")
        );
        assert_eq!(d.plain_text(), "题\n共交办问题85个\u{ff0c}已办结70个。\n");
    }

    #[test]
    fn chinese_text_gets_full_width_punctuation() {
        assert_eq!(typeset("各学校:"), "各学校\u{ff1a}");
        assert_eq!(
            typeset("问题(1)已整改,未超期"),
            "问题\u{ff08}1\u{ff09}已整改\u{ff0c}未超期"
        );
        assert_eq!(typeset("::left 附件"), "::left 附件");
        assert_eq!(typeset("10:30, a (b)"), "10:30, a (b)");
    }

    #[test]
    fn tables_keep_their_header_and_reject_ragged_rows() {
        let d = parse(
            "| 编号 | 单位 |\n|---|---|\n| 1 | 甲 |\n| 2 | 乙 |\n",
            vec![],
        )
        .unwrap();
        let Block::Table { header, rows } = &d.blocks[0] else {
            panic!("not a table")
        };
        assert_eq!(header.as_ref().unwrap().len(), 2);
        assert_eq!(rows.len(), 2);
        let e = parse("text\n\n| a | b |\n|---|---|\n| 1 |\n", vec![]).unwrap_err();
        assert_eq!(e.line, 5);
        assert!(e.reason.contains("有1列"), "{}", e.reason);
    }

    #[test]
    fn broken_markers_and_unknown_directives_are_errors_with_lines() {
        let e = parse("a\n\nb\u{E000}9\u{E001}x\u{E002}\n", notes(1)).unwrap_err();
        assert_eq!(e.line, 3);
        let e = parse("::banner x\n", vec![]).unwrap_err();
        assert!(e.reason.contains("::banner"));
        let e = parse("###### 太深\n", vec![]).unwrap_err();
        assert_eq!(e.line, 1);
    }

    #[test]
    fn docx_has_the_gbt9704_page_and_a_repeating_header_row() {
        let d = parse(
            "# 题\n\n## 一\n\n正文\n\n| 编号 | 单位 |\n|---|---|\n| 1 | 甲&乙 |\n",
            notes(0),
        )
        .unwrap();
        let xml = d.document_xml(&DocxOptions::default());
        assert!(xml.contains("<w:pgSz w:w=\"11906\" w:h=\"16838\"/>"));
        assert!(xml.contains("w:top=\"2098\"") && xml.contains("w:left=\"1587\""));
        assert!(xml.contains("<w:docGrid w:type=\"lines\" w:linePitch=\"579\"/>"));
        assert!(xml.contains("<w:tblHeader/>"));
        assert!(xml.contains("甲&amp;乙"));
        assert!(xml.contains("一、"));
        let styles = styles_xml();
        assert!(styles.contains("w:eastAsia=\"仿宋_GB2312\""));
        assert!(styles.contains("w:eastAsia=\"方正小标宋简体\""));
        assert!(footer_xml("right", "").contains(" PAGE "));
        // Schema order Word insists on: w:spacing before w:kern in run properties,
        // w:defaultTabStop before w:evenAndOddHeaders in the settings.
        assert!(
            styles.find("<w:spacing w:val=\"-5\"/>").unwrap() < styles.find("<w:kern ").unwrap()
        );
        let bytes = d.to_docx(&DocxOptions {
            data_notes: true,
            source: Some("ledger:7".into()),
            ..Default::default()
        });
        assert_eq!(crate::text::source_ledger(&bytes).as_deref(), Some("7"));
        assert_eq!(
            crate::text::source_ledger(d.to_markdown_from(Some("ledger:7")).as_bytes()).as_deref(),
            Some("7")
        );
        assert_eq!(
            crate::text::report_source(d.to_html("t", Some("ledger:7")).as_bytes()).as_deref(),
            Some("ledger:7")
        );
        assert_eq!(crate::text::report_source(d.to_markdown().as_bytes()), None);
        let text = crate::text::report_text(&bytes).unwrap();
        assert!(text.contains("正文"), "{text}");
    }
}

#[cfg(test)]
mod props {
    use super::*;
    use proptest::prelude::*;

    /// Lines of report markup, Chinese text, punctuation, markers (broken ones too).
    fn markup() -> impl Strategy<Value = String> {
        let line = prop_oneof![
            "[一二三督办事项,:;()a-z0-9 ]{0,30}",
            "#{1,7} [督办通报]{0,8}",
            "\\|[ 甲乙0-9|-]{0,20}",
            "::(left|right|center|pagebreak|foo) [甲乙]{0,5}",
            Just(format!("问题{FIG_START}0{FIG_MID}85{FIG_END}个")),
            Just(format!("坏{FIG_START}9{FIG_MID}x")),
            Just(String::new()),
        ];
        proptest::collection::vec(line, 0..30).prop_map(|v| v.join("\n"))
    }

    proptest! {
        /// Any markup either parses or names a line inside it, and whatever parses renders to
        /// every format, the .docx reading back with every paragraph's text.
        #[test]
        fn any_markup_parses_or_names_its_line(m in markup()) {
            let notes = vec![FigureNote { text: "85".into(), label: "数".into(), definition: "口径".into(), link: None }];
            match parse(&m, notes) {
                Ok(d) => {
                    let _ = d.to_markdown();
                    let _ = d.to_html("t", None);
                    let bytes = d.to_docx(&DocxOptions { data_notes: true, ..Default::default() });
                    let back = crate::text::report_text(&bytes);
                    let plain = d.plain_text();
                    match back {
                        Ok(text) => {
                            for para in plain.lines().filter(|l| !l.contains('\t') && !l.trim().is_empty()) {
                                prop_assert!(text.contains(para.trim()), "{para:?} missing");
                            }
                        }
                        // An empty document has no text to read back.
                        Err(e) => prop_assert!(plain.trim().is_empty(), "{e}"),
                    }
                }
                Err(e) => prop_assert!(e.line >= 1 && e.line <= m.lines().count().max(1), "line {}", e.line),
            }
        }
    }
}
