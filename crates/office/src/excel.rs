//! Excel (.xlsx) in and out, from one column definition per list: the export, the import
//! template (Chinese headers, dropdowns bound to the code lists, dates yyyy-MM-dd, a frozen
//! header row) and the import's header check all come from the same [`Column`]s.
//!
//! Imports are guarded: the file's size, the bytes its zip entries actually decompress to (a
//! zip bomb stops at the limit, whatever the archive claims), the number of entries, and rows.

use calamine::{Data, Reader, Xlsx};
use rust_xlsxwriter::{DataValidation, Format, FormatAlign, Workbook};
use std::io::{Cursor, Read};

/// One column of a list as it appears in Excel.
#[derive(Debug, Clone, Copy)]
pub struct Column {
    /// Chinese header, e.g. 事项名称; a trailing `*` in the template marks required columns.
    pub header: &'static str,
    pub width: f64,
    pub required: bool,
    /// Allowed values (a dropdown in the template), empty for free text.
    pub choices: &'static [&'static str],
    /// A date column (yyyy-MM-dd).
    pub date: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum ExcelError {
    #[error("文件过大:{size}字节,上限{limit}字节 / file too large: {size} bytes, limit {limit}")]
    TooLarge { size: usize, limit: usize },
    #[error(
        "文件解压后超过{limit}字节,疑似压缩炸弹 / the file expands beyond {limit} bytes when unzipped"
    )]
    ExpandsTooMuch { limit: u64 },
    #[error("不是有效的 .xlsx 文件:{0} / not a valid .xlsx file")]
    NotXlsx(String),
    #[error("工作簿中没有工作表 / the workbook has no worksheet")]
    NoSheet,
    #[error("行数{rows}超过上限{limit} / {rows} rows exceed the limit of {limit}")]
    TooManyRows { rows: usize, limit: usize },
    #[error(
        "表头与模板不符:第{column}列应为“{expected}”,实为“{found}”。请使用系统下载的导入模板 / the header does not match the template: column {column} should be '{expected}', found '{found}'"
    )]
    WrongTemplate {
        column: usize,
        expected: String,
        found: String,
    },
    #[error("写入 Excel 失败:{0} / could not write the workbook")]
    Write(String),
}

/// Import limits.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Size of the uploaded file.
    pub max_file_bytes: usize,
    /// Total bytes the archive may decompress to.
    pub max_unzipped_bytes: u64,
    pub max_entries: usize,
    pub max_rows: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_file_bytes: 50 << 20,
            max_unzipped_bytes: 500 << 20,
            max_entries: 2000,
            max_rows: 200_000,
        }
    }
}

/// A read sheet: data rows with the row number Excel shows (header is row 1).
#[derive(Debug, Clone)]
pub struct Sheet {
    pub rows: Vec<(usize, Vec<String>)>,
}

/// Writes a sheet: Chinese headers, bold frozen header row, widths, dropdowns for coded columns.
/// `rows` hold display labels (never codes). Every value is written as a string in a text-format
/// cell, so text starting with = + - @, tab or CR never becomes a formula (formula-injection
/// defence), and re-editing the cell in Excel keeps it text.
pub fn write(
    sheet_name: &str,
    columns: &[Column],
    rows: &[Vec<String>],
    template: bool,
) -> Result<Vec<u8>, ExcelError> {
    let w = |e: rust_xlsxwriter::XlsxError| ExcelError::Write(e.to_string());
    let mut wb = Workbook::new();
    let ws = wb.add_worksheet();
    ws.set_name(sheet_name).map_err(w)?;
    let head = Format::new()
        .set_bold()
        .set_align(FormatAlign::Center)
        .set_background_color("#F2F2F2");
    let text = Format::new().set_num_format("@");
    for (c, col) in columns.iter().enumerate() {
        let c = c as u16;
        let title = if template && col.required {
            format!("{}*", col.header)
        } else {
            col.header.to_string()
        };
        ws.write_string_with_format(0, c, &title, &head)
            .map_err(w)?;
        ws.set_column_width(c, col.width).map_err(w)?;
        if template && !col.choices.is_empty() {
            let dv = DataValidation::new()
                .allow_list_strings(col.choices)
                .map_err(w)?;
            ws.add_data_validation(1, c, 10_000, c, &dv).map_err(w)?;
        }
    }
    ws.set_freeze_panes(1, 0).map_err(w)?;
    for (r, row) in rows.iter().enumerate() {
        for (c, v) in row.iter().enumerate() {
            if !v.is_empty() {
                ws.write_string_with_format(r as u32 + 1, c as u16, v, &text)
                    .map_err(w)?;
            }
        }
    }
    wb.save_to_buffer().map_err(w)
}

/// Decompresses every entry once, counting real bytes, so that a zip bomb is stopped at the
/// limit however small its declared sizes are.
fn check_archive(bytes: &[u8], limits: &Limits) -> Result<(), ExcelError> {
    let mut zip =
        zip::ZipArchive::new(Cursor::new(bytes)).map_err(|e| ExcelError::NotXlsx(e.to_string()))?;
    if zip.len() > limits.max_entries {
        return Err(ExcelError::NotXlsx(format!("{} entries", zip.len())));
    }
    let mut total: u64 = 0;
    let mut buf = vec![0u8; 64 * 1024];
    for i in 0..zip.len() {
        let mut f = zip
            .by_index(i)
            .map_err(|e| ExcelError::NotXlsx(e.to_string()))?;
        loop {
            let n = f
                .read(&mut buf)
                .map_err(|e| ExcelError::NotXlsx(e.to_string()))?;
            if n == 0 {
                break;
            }
            total += n as u64;
            if total > limits.max_unzipped_bytes {
                return Err(ExcelError::ExpandsTooMuch {
                    limit: limits.max_unzipped_bytes,
                });
            }
        }
    }
    Ok(())
}

/// Excel's serial date (days since 1899-12-30) as yyyy-MM-dd.
fn serial_date(v: f64) -> Option<String> {
    let base = chrono::NaiveDate::from_ymd_opt(1899, 12, 30)?;
    let d = base.checked_add_signed(chrono::Duration::days(v.floor() as i64))?;
    Some(d.format("%Y-%m-%d").to_string())
}

fn cell_text(d: &Data) -> String {
    match d {
        Data::Empty => String::new(),
        Data::String(s) => s.trim().to_string(),
        Data::Int(i) => i.to_string(),
        Data::Float(f) if f.fract() == 0.0 && f.abs() < 1e15 => format!("{}", *f as i64),
        Data::Float(f) => f.to_string(),
        Data::Bool(b) => if *b { "是" } else { "否" }.to_string(),
        Data::DateTime(dt) => serial_date(dt.as_f64()).unwrap_or_default(),
        Data::DateTimeIso(s) => s.chars().take(10).collect(),
        Data::DurationIso(s) => s.clone(),
        Data::Error(e) => format!("#{e:?}"),
    }
}

pub(crate) fn check_header(header: &[String], columns: &[Column]) -> Result<(), ExcelError> {
    for (i, col) in columns.iter().enumerate() {
        // A template from before an optional trailing column was added still reads.
        if i > 0
            && !col.required
            && columns[i..].iter().all(|c| !c.required)
            && header[i.min(header.len())..].iter().all(String::is_empty)
        {
            break;
        }
        let found = header
            .get(i)
            .map(|h| h.trim_end_matches('*').trim().to_string())
            .unwrap_or_default();
        if found != col.header {
            return Err(ExcelError::WrongTemplate {
                column: i + 1,
                expected: col.header.to_string(),
                found,
            });
        }
    }
    Ok(())
}

fn cell_text_ref(d: &calamine::DataRef<'_>) -> String {
    use calamine::DataRef;
    match d {
        DataRef::SharedString(s) => s.trim().to_string(),
        DataRef::String(s) => s.trim().to_string(),
        DataRef::Empty => String::new(),
        DataRef::Int(i) => i.to_string(),
        DataRef::Float(f) => cell_text(&Data::Float(*f)),
        DataRef::Bool(b) => cell_text(&Data::Bool(*b)),
        DataRef::DateTime(dt) => serial_date(dt.as_f64()).unwrap_or_default(),
        DataRef::DateTimeIso(s) => s.chars().take(10).collect(),
        DataRef::DurationIso(s) => s.clone(),
        DataRef::Error(e) => format!("#{e:?}"),
    }
}

/// Reads the first sheet, checks its header row against `columns` (a trailing `*` ignored),
/// and returns the non-empty data rows as text.
pub fn read(bytes: &[u8], columns: &[Column], limits: &Limits) -> Result<Sheet, ExcelError> {
    if bytes.len() > limits.max_file_bytes {
        return Err(ExcelError::TooLarge {
            size: bytes.len(),
            limit: limits.max_file_bytes,
        });
    }
    check_archive(bytes, limits)?;
    // Streamed cell by cell (rows in order), so that only the text of the template's columns
    // is ever held — never the whole sheet as calamine values.
    let mut wb: Xlsx<_> = calamine::open_workbook_from_rs(Cursor::new(bytes))
        .map_err(|e: calamine::XlsxError| ExcelError::NotXlsx(e.to_string()))?;
    let first = wb
        .sheet_names()
        .first()
        .cloned()
        .ok_or(ExcelError::NoSheet)?;
    let mut cells = wb
        .worksheet_cells_reader(&first)
        .map_err(|e| ExcelError::NotXlsx(e.to_string()))?;
    let width = columns.len();
    let mut header: Option<Vec<String>> = None;
    let mut out = Vec::new();
    let mut current: Option<(u32, Vec<String>)> = None;
    let flush = |row: Option<(u32, Vec<String>)>,
                 header: &mut Option<Vec<String>>,
                 out: &mut Vec<(usize, Vec<String>)>|
     -> Result<(), ExcelError> {
        let Some((r, cells)) = row else {
            return Ok(());
        };
        if header.is_none() {
            *header = Some(cells);
            return check_header(header.as_deref().unwrap_or_default(), columns);
        }
        if cells.iter().all(String::is_empty) {
            return Ok(());
        }
        if out.len() >= limits.max_rows {
            return Err(ExcelError::TooManyRows {
                rows: out.len() + 1,
                limit: limits.max_rows,
            });
        }
        out.push((r as usize + 1, cells));
        Ok(())
    };
    while let Some(cell) = cells
        .next_cell()
        .map_err(|e| ExcelError::NotXlsx(e.to_string()))?
    {
        let (r, c) = cell.get_position();
        if current.as_ref().is_none_or(|(cur, _)| *cur != r) {
            flush(current.take(), &mut header, &mut out)?;
            current = Some((r, vec![String::new(); width]));
        }
        if let Some((_, row)) = current.as_mut()
            && let Some(slot) = row.get_mut(c as usize)
        {
            *slot = cell_text_ref(cell.get_value());
        }
    }
    flush(current.take(), &mut header, &mut out)?;
    if header.is_none() {
        check_header(&[], columns)?;
    }
    Ok(Sheet { rows: out })
}

/// Reads the first sheet with calamine and nothing else, visiting every cell: the floor the
/// import benchmark compares [`read`] plus the import against. Gives the number of cells.
pub fn calamine_only(bytes: &[u8]) -> Result<usize, ExcelError> {
    let mut wb: Xlsx<_> = calamine::open_workbook_from_rs(Cursor::new(bytes))
        .map_err(|e: calamine::XlsxError| ExcelError::NotXlsx(e.to_string()))?;
    let range = wb
        .worksheet_range_at(0)
        .ok_or(ExcelError::NoSheet)?
        .map_err(|e| ExcelError::NotXlsx(e.to_string()))?;
    Ok(range
        .rows()
        .map(|r| {
            r.iter()
                .filter(|c| !matches!(c, calamine::Data::Empty))
                .count()
        })
        .sum())
}

#[cfg(test)]
mod tests {
    use super::*;

    const COLS: &[Column] = &[
        Column {
            header: "事项名称",
            width: 30.0,
            required: true,
            choices: &[],
            date: false,
        },
        Column {
            header: "紧急程度",
            width: 10.0,
            required: false,
            choices: &["一般", "紧急"],
            date: false,
        },
        Column {
            header: "办结时限",
            width: 12.0,
            required: false,
            choices: &[],
            date: true,
        },
    ];

    #[test]
    fn round_trip_keeps_text_and_skips_blank_rows() {
        let rows = vec![
            vec![
                "=HYPERLINK(\"x\")".to_string(),
                "紧急".into(),
                "2026-05-06".into(),
            ],
            vec![String::new(), String::new(), String::new()],
            vec!["第二项".into(), String::new(), "2026/5/7".into()],
        ];
        let bytes = write("事项", COLS, &rows, true).unwrap();
        let s = read(&bytes, COLS, &Limits::default()).unwrap();
        assert_eq!(s.rows.len(), 2);
        assert_eq!(s.rows[0], (2, rows[0].clone()));
        assert_eq!(s.rows[1].0, 4, "Excel row numbers count the blank row");
        assert_eq!(s.rows[1].1[0], "第二项");
    }

    #[test]
    fn wrong_template_names_the_column() {
        let other = [Column {
            header: "名称",
            width: 10.0,
            required: true,
            choices: &[],
            date: false,
        }];
        let bytes = write("x", &other, &[], false).unwrap();
        match read(&bytes, COLS, &Limits::default()) {
            Err(ExcelError::WrongTemplate {
                column,
                expected,
                found,
            }) => {
                assert_eq!(
                    (column, expected.as_str(), found.as_str()),
                    (1, "事项名称", "名称")
                );
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn limits_refuse_big_files_bombs_and_junk() {
        let bytes = write(
            "x",
            COLS,
            &[vec!["a".repeat(2000), String::new(), String::new()]],
            false,
        )
        .unwrap();
        let tiny = Limits {
            max_file_bytes: 100,
            ..Limits::default()
        };
        assert!(matches!(
            read(&bytes, COLS, &tiny),
            Err(ExcelError::TooLarge { .. })
        ));
        let bomb = Limits {
            max_unzipped_bytes: 1000,
            ..Limits::default()
        };
        assert!(matches!(
            read(&bytes, COLS, &bomb),
            Err(ExcelError::ExpandsTooMuch { .. })
        ));
        assert!(matches!(
            read(b"not a zip at all", COLS, &Limits::default()),
            Err(ExcelError::NotXlsx(_))
        ));
        let rows: Vec<Vec<String>> = (0..5)
            .map(|i| vec![format!("项{i}"), String::new(), String::new()])
            .collect();
        let bytes = write("x", COLS, &rows, false).unwrap();
        let few = Limits {
            max_rows: 3,
            ..Limits::default()
        };
        assert!(matches!(
            read(&bytes, COLS, &few),
            Err(ExcelError::TooManyRows { .. })
        ));
    }

    #[test]
    fn a_real_zip_bomb_is_stopped_by_decompressed_bytes() {
        // 200 MB of zeros deflates to ~200 KB: the archive is small, its content is not.
        use std::io::Write;
        let mut out = Cursor::new(Vec::new());
        {
            let mut z = zip::ZipWriter::new(&mut out);
            z.start_file(
                "xl/worksheets/sheet1.xml",
                zip::write::SimpleFileOptions::default(),
            )
            .unwrap();
            let zeros = vec![0u8; 1 << 20];
            for _ in 0..200 {
                z.write_all(&zeros).unwrap();
            }
            z.finish().unwrap();
        }
        let bytes = out.into_inner();
        assert!(
            bytes.len() < 1 << 20,
            "the bomb itself is small: {}",
            bytes.len()
        );
        let r = read(
            &bytes,
            COLS,
            &Limits {
                max_unzipped_bytes: 50 << 20,
                ..Limits::default()
            },
        );
        assert!(matches!(r, Err(ExcelError::ExpandsTooMuch { .. })), "{r:?}");
    }
}
