//! Office formats, bytes in and bytes out (no IO of its own): Excel (.xlsx) export and import
//! with the guards users' files need. Report rendering (DOCX/Markdown/HTML) and the report
//! checker will live here too.

pub mod excel;
pub mod report;
pub mod table;
pub mod text;
