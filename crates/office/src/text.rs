//! Report text in: plain text (UTF-8 or GBK), Markdown, or the paragraphs of a .docx, with
//! the guards the checker's users need (empty, binary, too large, not a real .docx).

use std::io::{Cursor, Read};

/// Largest input the checker reads (a report is rarely over a megabyte).
pub const MAX_BYTES: usize = 20 << 20;

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum TextError {
    #[error("文件为空 / the file is empty")]
    Empty,
    #[error("文件过大:{0}字节,上限{MAX_BYTES}字节 / the file is too large")]
    TooLarge(usize),
    #[error("不是文本文件(含二进制内容)/ not a text file: binary content")]
    Binary,
    #[error("无法识别编码:应为 UTF-8 或 GBK / unknown encoding: expected UTF-8 or GBK")]
    Encoding,
    #[error("不是有效的 .docx 文件:{0} / not a valid .docx file")]
    NotDocx(String),
}

/// The text of an uploaded report: a .docx (a zip with word/document.xml) by its content,
/// otherwise text in UTF-8 (with or without BOM) or GBK/GB18030.
pub fn report_text(bytes: &[u8]) -> Result<String, TextError> {
    if bytes.is_empty() {
        return Err(TextError::Empty);
    }
    if bytes.len() > MAX_BYTES {
        return Err(TextError::TooLarge(bytes.len()));
    }
    if bytes.starts_with(b"PK\x03\x04") {
        return docx_text(bytes);
    }
    if bytes.contains(&0) {
        return Err(TextError::Binary);
    }
    let text = match std::str::from_utf8(bytes) {
        Ok(s) => s.strip_prefix('\u{feff}').unwrap_or(s).to_string(),
        Err(_) => {
            let (s, _, bad) = encoding_rs::GB18030.decode(bytes);
            if bad {
                return Err(TextError::Encoding);
            }
            s.into_owned()
        }
    };
    if text.trim().is_empty() {
        return Err(TextError::Empty);
    }
    Ok(text)
}

/// The paragraphs of a .docx as lines of text.
pub fn docx_text(bytes: &[u8]) -> Result<String, TextError> {
    let mut zip =
        zip::ZipArchive::new(Cursor::new(bytes)).map_err(|e| TextError::NotDocx(e.to_string()))?;
    let mut xml = String::new();
    zip.by_name("word/document.xml")
        .map_err(|_| TextError::NotDocx("没有 word/document.xml".into()))?
        .take(MAX_BYTES as u64 * 4)
        .read_to_string(&mut xml)
        .map_err(|e| TextError::NotDocx(e.to_string()))?;
    let mut out = String::new();
    let mut rest = xml.as_str();
    while let Some(i) = rest.find('<') {
        let Some(j) = rest[i..].find('>') else { break };
        let tag = &rest[i + 1..i + j];
        rest = &rest[i + j + 1..];
        if tag == "/w:p" {
            out.push('\n');
        } else if tag == "w:tab/" {
            out.push('\t');
        } else if tag.starts_with("w:t")
            && !tag.ends_with('/')
            && (tag == "w:t" || tag.starts_with("w:t "))
        {
            let end = rest.find("</w:t>").unwrap_or(rest.len());
            out.push_str(
                &rest[..end]
                    .replace("&lt;", "<")
                    .replace("&gt;", ">")
                    .replace("&quot;", "\"")
                    .replace("&apos;", "'")
                    .replace("&amp;", "&"),
            );
            rest = &rest[end..];
        }
    }
    if out.trim().is_empty() {
        return Err(TextError::Empty);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_inputs_say_what_is_wrong() {
        assert_eq!(report_text(b""), Err(TextError::Empty));
        assert_eq!(report_text(b"  \n"), Err(TextError::Empty));
        assert_eq!(report_text(b"abc\0def"), Err(TextError::Binary));
        assert!(matches!(
            report_text(b"PK\x03\x04broken"),
            Err(TextError::NotDocx(_))
        ));
        let (gbk, _, _) = encoding_rs::GBK.encode("学生共526名");
        assert_eq!(report_text(&gbk).as_deref(), Ok("学生共526名"));
    }

    #[test]
    fn a_docx_reads_as_paragraphs() {
        let mut buf = Cursor::new(Vec::new());
        {
            let mut w = zip::ZipWriter::new(&mut buf);
            w.start_file::<_, ()>(
                "word/document.xml",
                zip::write::SimpleFileOptions::default(),
            )
            .expect("entry");
            std::io::Write::write_all(
                &mut w,
                "<w:document><w:body><w:p><w:r><w:t>学生共526名,</w:t></w:r><w:r><w:t xml:space=\"preserve\">其中402名 &amp; 更多</w:t></w:r></w:p><w:p><w:r><w:t>第二段</w:t></w:r></w:p></w:body></w:document>".as_bytes(),
            )
            .expect("write");
            w.finish().expect("finish");
        }
        let text = report_text(buf.get_ref()).expect("docx");
        assert_eq!(text, "学生共526名,其中402名 & 更多\n第二段\n");
    }
}
