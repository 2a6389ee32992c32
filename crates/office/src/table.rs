//! CSV in, with the same columns, header check, limits and [`Sheet`] as the Excel import, so
//! one import reads either. Chinese Excel saves "CSV" in GBK (GB18030) unless told otherwise;
//! a file that is not UTF-8 is decoded as GB18030, and a UTF-8 byte-order mark is dropped.

use crate::excel::{Column, ExcelError, Limits, Sheet, check_header};

/// Reads a CSV file (comma-separated, quoted as Excel writes it) into a [`Sheet`]; rows are
/// numbered as a spreadsheet shows them (header is row 1).
pub fn read_csv(bytes: &[u8], columns: &[Column], limits: &Limits) -> Result<Sheet, ExcelError> {
    if bytes.len() > limits.max_file_bytes {
        return Err(ExcelError::TooLarge {
            size: bytes.len(),
            limit: limits.max_file_bytes,
        });
    }
    let text: std::borrow::Cow<'_, str> = match std::str::from_utf8(bytes) {
        Ok(s) => s.strip_prefix('\u{feff}').unwrap_or(s).into(),
        Err(_) => {
            let (s, _, bad) = encoding_rs::GB18030.decode(bytes);
            if bad {
                return Err(ExcelError::NotXlsx(
                    "CSV 既不是 UTF-8 也不是 GBK 编码".to_string(),
                ));
            }
            s
        }
    };
    let mut r = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(text.as_bytes());
    let mut header: Option<Vec<String>> = None;
    let mut rows = Vec::new();
    let mut rec = csv::StringRecord::new();
    let bytes_text = text.as_bytes();
    let mut line = 1usize;
    let mut seen = 0usize;
    loop {
        match r.read_record(&mut rec) {
            Ok(false) => break,
            Ok(true) => {}
            Err(e) => return Err(ExcelError::NotXlsx(format!("CSV 格式有误:{e}"))),
        }
        // The line the record starts on, counted from its byte offset (blank lines count, as
        // a spreadsheet opening the file shows them as rows).
        // (csv reports a record after blank lines at the first blank line's offset.)
        let mut at = rec.position().map_or(seen, |p| p.byte() as usize);
        while matches!(bytes_text.get(at), Some(b'\n' | b'\r')) {
            at += 1;
        }
        line += bytes_text[seen..at].iter().filter(|b| **b == b'\n').count();
        seen = at;
        let mut cells: Vec<String> = rec.iter().map(|c| c.trim().to_string()).collect();
        cells.resize(columns.len().max(cells.len()), String::new());
        if header.is_none() {
            check_header(&cells, columns)?;
            header = Some(cells);
            continue;
        }
        cells.truncate(columns.len());
        if cells.iter().all(String::is_empty) {
            continue;
        }
        if rows.len() >= limits.max_rows {
            return Err(ExcelError::TooManyRows {
                rows: rows.len() + 1,
                limit: limits.max_rows,
            });
        }
        rows.push((line, cells));
    }
    if header.is_none() {
        check_header(&[], columns)?;
    }
    Ok(Sheet { rows })
}

/// Writes rows as UTF-8 CSV with a byte-order mark (so Excel opens it as UTF-8).
pub fn write_csv(columns: &[Column], rows: &[Vec<String>]) -> Vec<u8> {
    let mut out = b"\xEF\xBB\xBF".to_vec();
    {
        let mut w = csv::Writer::from_writer(&mut out);
        let _ = w.write_record(columns.iter().map(|c| c.header));
        for r in rows {
            let _ = w.write_record(r);
        }
        let _ = w.flush();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const COLS: &[Column] = &[
        Column {
            header: "学校标识码",
            width: 10.0,
            required: true,
            choices: &[],
            date: false,
        },
        Column {
            header: "学校名称",
            width: 10.0,
            required: true,
            choices: &[],
            date: false,
        },
    ];

    #[test]
    fn utf8_gbk_and_bom_read_the_same() {
        let text =
            "学校标识码,学校名称\n3509230003,\"屏南县第三小学\"\n\n3509230004,牙力古孜铁热克小学\n";
        let (gbk, _, _) = encoding_rs::GBK.encode(text);
        let mut bom = b"\xEF\xBB\xBF".to_vec();
        bom.extend_from_slice(text.as_bytes());
        for bytes in [text.as_bytes().to_vec(), gbk.into_owned(), bom] {
            let s = read_csv(&bytes, COLS, &Limits::default()).expect("read");
            assert_eq!(s.rows.len(), 2);
            assert_eq!(
                s.rows[0],
                (2, vec!["3509230003".into(), "屏南县第三小学".into()])
            );
            assert_eq!(s.rows[1].0, 4, "rows are numbered as the file shows them");
        }
    }

    #[test]
    fn a_wrong_header_names_the_column() {
        let e = read_csv(
            "学校代码,学校名称\n1,2\n".as_bytes(),
            COLS,
            &Limits::default(),
        )
        .expect_err("wrong header");
        assert!(e.to_string().contains("第1列应为“学校标识码”"), "{e}");
    }

    #[test]
    fn written_csv_reads_back() {
        let rows = vec![vec!["1".to_string(), "a,\"b\"".to_string()]];
        let bytes = write_csv(COLS, &rows);
        let s = read_csv(&bytes, COLS, &Limits::default()).expect("read");
        assert_eq!(s.rows[0].1, rows[0]);
    }
}
