//! The report as one self-contained HTML file: no script, no external resource (a
//! Content-Security-Policy forbids both), print styles for A4 and Letter (`@page` sets margins,
//! not a paper size, so the reader's paper is used).
//!
//! Every string is escaped ([`escape`]); control characters and Unicode bidirectional
//! formatting characters, which could make displayed text differ from the recorded text, are
//! shown as `[U+XXXX]` instead of being passed to the browser.

use super::doc::{Block, Column, Document, Field, TextStyle};
use std::fmt::Write as _;

/// The style sheet. Widths fit both A4 (210 mm) and Letter (215.9 mm) paper within the margins.
const CSS: &str = r#"
@page { margin: 16mm 14mm 18mm 14mm; }
html { font: 10pt/1.35 "Helvetica Neue", Helvetica, Arial, "Liberation Sans", sans-serif; color: #000; background: #fff; }
body { margin: 0 auto; max-width: 182mm; padding: 10mm 6mm; }
h1 { font-size: 17pt; margin: 0 0 3mm; padding-bottom: 1.5mm; border-bottom: 0.8pt solid #000; }
h2 { font-size: 12.5pt; margin: 5mm 0 2mm; }
h3 { font-size: 10.5pt; margin: 4mm 0 1.5mm; }
h1, h2, h3 { break-after: avoid; page-break-after: avoid; }
p { margin: 0 0 2mm; white-space: pre-line; }
p.small { font-size: 8pt; }
p.strong { font-weight: bold; }
pre, .mono { font-family: "DejaVu Sans Mono", Menlo, Consolas, "Liberation Mono", "Courier New", monospace; font-size: 8pt; }
pre { white-space: pre-wrap; overflow-wrap: anywhere; word-break: break-all; margin: 1mm 0 3mm; padding: 1.5mm 2.5mm; border-left: 1.5pt solid #777; background: #f4f4f4; }
table { width: 100%; border-collapse: collapse; table-layout: fixed; margin: 1mm 0 4mm; }
th, td { text-align: left; vertical-align: top; padding: 0.8mm 1.2mm; overflow-wrap: anywhere; white-space: pre-wrap; }
table.grid { font-size: 7.5pt; }
table.grid .mono { font-size: 6.8pt; }
table.grid th, table.grid td { border: 0.4pt solid #888; }
table.grid th { background: #e0e0e0; }
table.fields th { width: 45mm; font-weight: bold; }
table.fields th, table.fields td { padding: 0.6mm 1.2mm 0.6mm 0; font-size: 8.5pt; }
thead { display: table-header-group; }
tr { break-inside: avoid; page-break-inside: avoid; }
section.new-page { break-before: page; page-break-before: always; margin-top: 12mm; }
.signature { margin: 2mm 0 1mm; break-inside: avoid; page-break-inside: avoid; }
.signature .blanks { display: grid; grid-template-columns: 1fr 1fr; column-gap: 10mm; }
.signature .line { height: 9mm; border-bottom: 0.7pt solid #000; }
.signature .label { font-size: 7.5pt; }
footer { margin-top: 8mm; font-size: 7.5pt; color: #333; border-top: 0.4pt solid #888; padding-top: 1mm; }
@media print {
  body { max-width: none; padding: 0; }
  section.new-page { margin-top: 0; }
  th, pre { -webkit-print-color-adjust: exact; print-color-adjust: exact; }
}
"#;

/// Escapes text for HTML element content and attribute values, and shows control and
/// bidirectional formatting characters as `[U+XXXX]` (line feed and tab are kept).
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            '\n' | '\t' => out.push(c),
            c if is_hidden(c) => {
                let _ = write!(out, "[U+{:04X}]", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out
}

/// Controls (C0, DEL, C1) and the bidirectional formatting characters of Unicode UAX #9
/// (the same set the event text rule forbids, docs/FORMATS.md §3.3).
fn is_hidden(c: char) -> bool {
    matches!(c,
        '\u{0}'..='\u{1F}' | '\u{7F}'..='\u{9F}'
        | '\u{061C}' | '\u{200E}' | '\u{200F}'
        | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

fn fields(out: &mut String, fields: &[Field]) {
    out.push_str("<table class=\"fields\"><tbody>\n");
    for f in fields {
        let class = if f.mono { " class=\"mono\"" } else { "" };
        let _ = writeln!(
            out,
            "<tr><th scope=\"row\">{}</th><td{class}>{}</td></tr>",
            escape(&f.label),
            escape(&f.value)
        );
    }
    out.push_str("</tbody></table>\n");
}

fn table(out: &mut String, columns: &[Column], rows: &[Vec<String>]) {
    let total: u32 = columns.iter().map(|c| c.weight.max(1)).sum::<u32>().max(1);
    out.push_str("<table class=\"grid\"><colgroup>");
    for c in columns {
        let pct = f64::from(c.weight.max(1)) * 100.0 / f64::from(total);
        let _ = write!(out, "<col style=\"width:{pct:.2}%\">");
    }
    out.push_str("</colgroup>\n<thead><tr>");
    for c in columns {
        let _ = write!(out, "<th scope=\"col\">{}</th>", escape(&c.title));
    }
    out.push_str("</tr></thead>\n<tbody>\n");
    for row in rows {
        out.push_str("<tr>");
        for (i, cell) in row.iter().enumerate() {
            let class = if columns.get(i).is_some_and(|c| c.mono) {
                " class=\"mono\""
            } else {
                ""
            };
            let _ = write!(out, "<td{class}>{}</td>", escape(cell));
        }
        out.push_str("</tr>\n");
    }
    out.push_str("</tbody></table>\n");
}

fn block(out: &mut String, b: &Block) {
    match b {
        Block::Heading { level, text } => {
            let l = (*level).clamp(1, 3);
            let _ = writeln!(out, "<h{l}>{}</h{l}>", escape(text));
        }
        Block::Para { text, style } => {
            let class = match style {
                TextStyle::Normal => "",
                TextStyle::Small => " class=\"small\"",
                TextStyle::Strong => " class=\"strong\"",
            };
            let _ = writeln!(out, "<p{class}>{}</p>", escape(text));
        }
        Block::Code { text } => {
            let _ = writeln!(out, "<pre>{}</pre>", escape(text));
        }
        Block::Fields(f) => fields(out, f),
        Block::Table { columns, rows } => table(out, columns, rows),
        Block::Signature { statement, labels } => {
            let _ = writeln!(
                out,
                "<div class=\"signature\">\n<p>{}</p>\n<div class=\"blanks\">",
                escape(statement)
            );
            for l in labels {
                let _ = writeln!(
                    out,
                    "<div><div class=\"line\"></div><div class=\"label\">{}</div></div>",
                    escape(l)
                );
            }
            out.push_str("</div>\n</div>\n");
        }
    }
}

/// The whole HTML file.
pub fn render(doc: &Document) -> String {
    let mut out = String::with_capacity(64 * 1024);
    out.push_str("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n");
    out.push_str(
        "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\">\n",
    );
    out.push_str("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n");
    let _ = writeln!(out, "<title>{}</title>", escape(&doc.title));
    let _ = writeln!(out, "<style>{CSS}</style>\n</head>\n<body>");
    for s in &doc.sections {
        out.push_str(if s.new_page {
            "<section class=\"new-page\">\n"
        } else {
            "<section>\n"
        });
        for b in &s.blocks {
            block(&mut out, b);
        }
        out.push_str("</section>\n");
    }
    let _ = writeln!(out, "<footer>{}</footer>", escape(&doc.footer));
    out.push_str("</body>\n</html>\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::doc::Section;

    #[test]
    fn escaping_neutralises_markup_and_hidden_characters() {
        assert_eq!(
            escape("<script>alert('x')</script> & \"q\""),
            "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &quot;q&quot;"
        );
        assert_eq!(
            escape("a\u{202E}b\u{0}c\u{85}"),
            "a[U+202E]b[U+0000]c[U+0085]"
        );
        assert_eq!(escape("Zoë\nline\ttab 中"), "Zoë\nline\ttab 中");
    }

    #[test]
    fn every_block_kind_is_escaped() {
        let evil = "<script>x</script>";
        let doc = Document {
            title: evil.into(),
            footer: evil.into(),
            sections: vec![Section {
                new_page: true,
                blocks: vec![
                    Block::Heading {
                        level: 9,
                        text: evil.into(),
                    },
                    Block::Para {
                        text: evil.into(),
                        style: TextStyle::Small,
                    },
                    Block::Code { text: evil.into() },
                    Block::Fields(vec![Field {
                        label: evil.into(),
                        value: evil.into(),
                        mono: true,
                    }]),
                    Block::Table {
                        columns: vec![Column {
                            title: evil.into(),
                            weight: 0,
                            mono: false,
                        }],
                        rows: vec![vec![evil.into()]],
                    },
                    Block::Signature {
                        statement: evil.into(),
                        labels: vec![evil.into()],
                    },
                ],
            }],
        };
        let html = render(&doc);
        assert!(!html.to_ascii_lowercase().contains("<script"));
        assert_eq!(html.matches("&lt;script&gt;").count(), 11);
        assert!(html.contains("<h3>"));
        assert!(html.contains("<col style=\"width:100.00%\">"));
    }
}
