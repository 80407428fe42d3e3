//! A small PDF 1.4 writer for the text of a [`Document`]: A4 pages, the standard Type 1 fonts
//! Helvetica, Helvetica-Bold and Courier with `WinAnsiEncoding`, automatic line wrapping,
//! tables whose header row repeats on every page, and "page i of n" footers.
//!
//! Why our own writer: the crates that lay out text (`printpdf`, 132 crates with its
//! dependencies; `genpdf`, 52, and it needs font files) cost far more than the few hundred
//! lines below, and `pdf-writer` (6 crates) only serialises objects, which is the easy part.
//! The standard 14 fonts need no embedding (Adobe PDF Reference 1.4 §5.5.1); their advance
//! widths, which wrapping needs, are the tables below (Adobe Core 14 metrics, as in the
//! metric-compatible URW Nimbus Sans AFM files).
//!
//! Text is encoded in WinAnsiEncoding (PDF Reference 1.4, Appendix D: Windows code page 1252).
//! A character it cannot show is written visibly as `[U+XXXX]`, never dropped. Literal strings
//! escape `(`, `)` and `\` and write every byte outside printable ASCII as an octal escape
//! (PDF Reference 1.4 §3.2.3), so the file is 7-bit apart from its binary marker comment.

use super::doc::{Block, Column, Document, Field, TextStyle};
use std::fmt::Write as _;

/// A4 page width in points (210 mm).
pub const PAGE_WIDTH: f32 = 595.276;
/// A4 page height in points (297 mm).
pub const PAGE_HEIGHT: f32 = 841.89;
const MARGIN_X: f32 = 50.0;
const MARGIN_TOP: f32 = 56.0;
/// Lowest y that body text may reach; the footer lives below.
const BOTTOM: f32 = 62.0;
const CONTENT_WIDTH: f32 = PAGE_WIDTH - 2.0 * MARGIN_X;
const CELL_PAD: f32 = 2.5;
/// Table text size; monospaced cells are smaller so a 64-digit hash fits in half a page width.
const TABLE_SIZE: f32 = 7.5;
const TABLE_MONO_SIZE: f32 = 6.8;

/// Document information written into the PDF's Info dictionary.
#[derive(Debug, Clone)]
pub struct PdfInfo {
    /// `/Title`.
    pub title: String,
    /// `/Producer`, e.g. `custos 0.1.0`.
    pub producer: String,
    /// `/CreationDate` as a PDF date string without the `D:` prefix, e.g. `20261125030405Z`.
    pub creation_date: String,
}

/// The three fonts a report uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Font {
    /// Helvetica.
    Regular,
    /// Helvetica-Bold.
    Bold,
    /// Courier (hashes, commands).
    Mono,
}

impl Font {
    fn resource(self) -> &'static str {
        match self {
            Font::Regular => "F1",
            Font::Bold => "F2",
            Font::Mono => "F3",
        }
    }

    fn base_font(self) -> &'static str {
        match self {
            Font::Regular => "Helvetica",
            Font::Bold => "Helvetica-Bold",
            Font::Mono => "Courier",
        }
    }

    /// Advance width of WinAnsi code `b` in 1/1000 em.
    pub fn width(self, b: u8) -> u32 {
        let table = match self {
            Font::Mono => return 600,
            Font::Regular => &HELVETICA_WIDTHS,
            Font::Bold => &HELVETICA_BOLD_WIDTHS,
        };
        // Codes below 32 never occur: `encode_winansi` replaces controls.
        usize::from(b)
            .checked_sub(32)
            .and_then(|i| table.get(i))
            .map_or(0, |w| u32::from(*w))
    }

    /// Width of encoded text at `size` points.
    pub fn text_width(self, text: &[u8], size: f32) -> f32 {
        let units: u32 = text.iter().map(|b| self.width(*b)).sum();
        units as f32 * size / 1000.0
    }
}

/// Helvetica advance widths for WinAnsi codes 32 to 255 (0 for undefined codes).
const HELVETICA_WIDTHS: [u16; 224] = [
    278, 278, 355, 556, 556, 889, 667, 191, 333, 333, 389, 584, 278, 333, 278, 278, //
    556, 556, 556, 556, 556, 556, 556, 556, 556, 556, 278, 278, 584, 584, 584, 556, //
    1015, 667, 667, 722, 722, 667, 611, 778, 722, 278, 500, 667, 556, 833, 722, 778, //
    667, 778, 722, 667, 611, 722, 667, 944, 667, 667, 611, 278, 278, 278, 469, 556, //
    333, 556, 556, 500, 556, 556, 278, 556, 556, 222, 222, 500, 222, 833, 556, 556, //
    556, 556, 333, 500, 278, 556, 500, 722, 500, 500, 500, 334, 260, 334, 584, 0, //
    556, 0, 222, 556, 333, 1000, 556, 556, 333, 1000, 667, 333, 1000, 0, 611, 0, //
    0, 222, 222, 333, 333, 350, 556, 1000, 333, 1000, 500, 333, 944, 0, 500, 667, //
    278, 333, 556, 556, 556, 556, 260, 556, 333, 737, 370, 556, 584, 333, 737, 333, //
    400, 584, 333, 333, 333, 556, 537, 278, 333, 333, 365, 556, 834, 834, 834, 611, //
    667, 667, 667, 667, 667, 667, 1000, 722, 667, 667, 667, 667, 278, 278, 278, 278, //
    722, 722, 778, 778, 778, 778, 778, 584, 778, 722, 722, 722, 722, 667, 667, 611, //
    556, 556, 556, 556, 556, 556, 889, 500, 556, 556, 556, 556, 278, 278, 278, 278, //
    556, 556, 556, 556, 556, 556, 556, 584, 611, 556, 556, 556, 556, 500, 556, 500, //
];

/// Helvetica-Bold advance widths for WinAnsi codes 32 to 255 (0 for undefined codes).
const HELVETICA_BOLD_WIDTHS: [u16; 224] = [
    278, 333, 474, 556, 556, 889, 722, 238, 333, 333, 389, 584, 278, 333, 278, 278, //
    556, 556, 556, 556, 556, 556, 556, 556, 556, 556, 333, 333, 584, 584, 584, 611, //
    975, 722, 722, 722, 722, 667, 611, 778, 722, 278, 556, 722, 611, 833, 722, 778, //
    667, 778, 722, 667, 611, 722, 667, 944, 667, 667, 611, 333, 278, 333, 584, 556, //
    333, 556, 611, 556, 611, 556, 333, 611, 611, 278, 278, 556, 278, 889, 611, 611, //
    611, 611, 389, 556, 333, 611, 556, 778, 556, 556, 500, 389, 280, 389, 584, 0, //
    556, 0, 278, 556, 500, 1000, 556, 556, 333, 1000, 667, 333, 1000, 0, 611, 0, //
    0, 278, 278, 500, 500, 350, 556, 1000, 333, 1000, 556, 333, 944, 0, 500, 667, //
    278, 333, 556, 556, 556, 556, 280, 556, 333, 737, 370, 556, 584, 333, 737, 333, //
    400, 584, 333, 333, 333, 611, 556, 278, 333, 333, 365, 556, 834, 834, 834, 611, //
    722, 722, 722, 722, 722, 722, 1000, 722, 667, 667, 667, 667, 278, 278, 278, 278, //
    722, 722, 778, 778, 778, 778, 778, 584, 778, 722, 722, 722, 722, 667, 667, 611, //
    556, 556, 556, 556, 556, 556, 889, 556, 556, 556, 556, 556, 278, 278, 278, 278, //
    611, 611, 611, 611, 611, 611, 611, 584, 611, 611, 611, 611, 611, 556, 611, 556, //
];

/// The characters Windows-1252 puts at 0x80 to 0x9F (PDF Reference 1.4 Appendix D, WinAnsi).
const CP1252_HIGH: [(char, u8); 27] = [
    ('\u{20AC}', 0x80),
    ('\u{201A}', 0x82),
    ('\u{0192}', 0x83),
    ('\u{201E}', 0x84),
    ('\u{2026}', 0x85),
    ('\u{2020}', 0x86),
    ('\u{2021}', 0x87),
    ('\u{02C6}', 0x88),
    ('\u{2030}', 0x89),
    ('\u{0160}', 0x8A),
    ('\u{2039}', 0x8B),
    ('\u{0152}', 0x8C),
    ('\u{017D}', 0x8E),
    ('\u{2018}', 0x91),
    ('\u{2019}', 0x92),
    ('\u{201C}', 0x93),
    ('\u{201D}', 0x94),
    ('\u{2022}', 0x95),
    ('\u{2013}', 0x96),
    ('\u{2014}', 0x97),
    ('\u{02DC}', 0x98),
    ('\u{2122}', 0x99),
    ('\u{0161}', 0x9A),
    ('\u{203A}', 0x9B),
    ('\u{0153}', 0x9C),
    ('\u{017E}', 0x9E),
    ('\u{0178}', 0x9F),
];

/// Encodes one line of text (no line breaks expected) in WinAnsiEncoding. A tab becomes a
/// space; every other character WinAnsi cannot show, controls included, becomes the visible
/// ASCII text `[U+XXXX]`.
pub fn encode_winansi(text: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\t' => out.push(b' '),
            ' '..='~' | '\u{A0}'..='\u{FF}' => out.push(c as u8),
            _ => match CP1252_HIGH.iter().find(|(u, _)| *u == c) {
                Some((_, b)) => out.push(*b),
                None => out.extend_from_slice(format!("[U+{:04X}]", u32::from(c)).as_bytes()),
            },
        }
    }
    out
}

/// Writes `bytes` as a PDF literal string `( … )`, escaping `(`, `)` and `\` and writing every
/// byte outside printable ASCII as a three-digit octal escape.
pub fn literal_string(bytes: &[u8]) -> String {
    let mut s = String::with_capacity(bytes.len() + 2);
    s.push('(');
    for &b in bytes {
        match b {
            b'(' | b')' | b'\\' => {
                s.push('\\');
                s.push(char::from(b));
            }
            0x20..=0x7E => s.push(char::from(b)),
            _ => {
                let _ = write!(s, "\\{b:03o}");
            }
        }
    }
    s.push(')');
    s
}

/// Breaks `text` into lines no wider than `width` points: at line feeds, then greedily at
/// spaces; a word wider than a line is cut between characters. Returns encoded lines; an
/// empty text gives one empty line.
pub fn wrap(text: &str, font: Font, size: f32, width: f32) -> Vec<Vec<u8>> {
    let mut lines = Vec::new();
    for para in text.split('\n') {
        let encoded = encode_winansi(para);
        let mut line: Vec<u8> = Vec::new();
        for word in encoded.split(|b| *b == b' ') {
            let joined = if line.is_empty() {
                font.text_width(word, size)
            } else {
                font.text_width(&line, size)
                    + font.text_width(b" ", size)
                    + font.text_width(word, size)
            };
            if joined <= width {
                if !line.is_empty() {
                    line.push(b' ');
                }
                line.extend_from_slice(word);
                continue;
            }
            if !line.is_empty() {
                lines.push(std::mem::take(&mut line));
            }
            // The word starts a new line; cut it if it alone is too wide.
            for &b in word {
                let w = font.text_width(&line, size) + font.text_width(&[b], size);
                if w > width && !line.is_empty() {
                    lines.push(std::mem::take(&mut line));
                }
                line.push(b);
            }
        }
        lines.push(line);
    }
    lines
}

/// One drawing operation on a page.
#[derive(Debug, Clone)]
enum Op {
    Text {
        x: f32,
        y: f32,
        font: Font,
        size: f32,
        text: Vec<u8>,
    },
    Line {
        x1: f32,
        y1: f32,
        x2: f32,
        y2: f32,
        width: f32,
    },
    Fill {
        x: f32,
        y: f32,
        w: f32,
        h: f32,
        gray: f32,
    },
}

/// A grid column as laid out: x offset, width, font.
#[derive(Debug, Clone, Copy)]
struct GridCol {
    x: f32,
    width: f32,
    font: Font,
    size: f32,
}

/// Lays out blocks top to bottom, starting new pages as needed.
struct Layout {
    pages: Vec<Vec<Op>>,
    /// Top of the free space on the current page.
    y: f32,
}

impl Layout {
    fn new() -> Self {
        Layout {
            pages: vec![Vec::new()],
            y: PAGE_HEIGHT - MARGIN_TOP,
        }
    }

    fn page(&mut self) -> &mut Vec<Op> {
        if self.pages.is_empty() {
            self.pages.push(Vec::new());
        }
        let last = self.pages.len() - 1;
        &mut self.pages[last]
    }

    fn page_is_empty(&self) -> bool {
        self.pages.last().is_none_or(Vec::is_empty)
    }

    fn new_page(&mut self) {
        self.pages.push(Vec::new());
        self.y = PAGE_HEIGHT - MARGIN_TOP;
    }

    /// Starts a new page unless `h` points still fit on this one.
    fn ensure(&mut self, h: f32) {
        if self.y - h < BOTTOM && !self.page_is_empty() {
            self.new_page();
        }
    }

    fn text(&mut self, x: f32, baseline: f32, font: Font, size: f32, text: Vec<u8>) {
        if !text.is_empty() {
            self.page().push(Op::Text {
                x,
                y: baseline,
                font,
                size,
                text,
            });
        }
    }

    /// Wrapped text at `indent`, split across pages line by line.
    fn lines(&mut self, text: &str, font: Font, size: f32, indent: f32) {
        let leading = size * 1.3;
        for line in wrap(text, font, size, CONTENT_WIDTH - indent) {
            self.ensure(leading);
            let baseline = self.y - size;
            self.text(MARGIN_X + indent, baseline, font, size, line);
            self.y -= leading;
        }
    }

    fn block(&mut self, block: &Block) {
        match block {
            Block::Heading { level, text } => self.heading(*level, text),
            Block::Para { text, style } => {
                let (font, size) = match style {
                    TextStyle::Normal => (Font::Regular, 9.5),
                    TextStyle::Small => (Font::Regular, 8.0),
                    TextStyle::Strong => (Font::Bold, 9.5),
                };
                self.lines(text, font, size, 0.0);
                self.y -= 4.0;
            }
            Block::Code { text } => {
                self.y -= 2.0;
                self.lines(text, Font::Mono, 8.0, 10.0);
                self.y -= 5.0;
            }
            Block::Fields(fields) => self.fields(fields),
            Block::Table { columns, rows } => self.table(columns, rows),
            Block::Signature { statement, labels } => self.signature(statement, labels),
        }
    }

    fn heading(&mut self, level: u8, text: &str) {
        let size = match level {
            1 => 17.0,
            2 => 12.5,
            _ => 10.5,
        };
        // Keep a heading with at least a few lines of what follows it.
        self.ensure(size * 1.6 + 48.0);
        if !self.page_is_empty() {
            self.y -= size * 0.6;
        }
        self.lines(text, Font::Bold, size, 0.0);
        self.y -= size * 0.35;
        if level == 1 {
            let y = self.y;
            self.page().push(Op::Line {
                x1: MARGIN_X,
                y1: y,
                x2: PAGE_WIDTH - MARGIN_X,
                y2: y,
                width: 0.8,
            });
            self.y -= 8.0;
        }
    }

    fn fields(&mut self, fields: &[Field]) {
        let label_w = 128.0;
        let cols = [
            GridCol {
                x: MARGIN_X,
                width: label_w,
                font: Font::Bold,
                size: 8.5,
            },
            GridCol {
                x: MARGIN_X + label_w,
                width: CONTENT_WIDTH - label_w,
                font: Font::Regular,
                size: 8.5,
            },
        ];
        for f in fields {
            let mut c = cols;
            if f.mono {
                c[1].font = Font::Mono;
                c[1].size = 8.0;
            }
            let cells = [f.label.as_str(), f.value.as_str()];
            self.grid_row(&c, &cells, 8.5 * 1.25, None, false);
        }
        self.y -= 6.0;
    }

    fn table(&mut self, columns: &[Column], rows: &[Vec<String>]) {
        let total: u32 = columns.iter().map(|c| c.weight.max(1)).sum::<u32>().max(1);
        let mut x = MARGIN_X;
        let cols: Vec<GridCol> = columns
            .iter()
            .map(|c| {
                let width = CONTENT_WIDTH * c.weight.max(1) as f32 / total as f32;
                let (font, size) = if c.mono {
                    (Font::Mono, TABLE_MONO_SIZE)
                } else {
                    (Font::Regular, TABLE_SIZE)
                };
                let g = GridCol {
                    x,
                    width,
                    font,
                    size,
                };
                x += width;
                g
            })
            .collect();
        let header: Vec<&str> = columns.iter().map(|c| c.title.as_str()).collect();
        let header_cols: Vec<GridCol> = cols
            .iter()
            .map(|c| GridCol {
                font: Font::Bold,
                size: TABLE_SIZE,
                ..*c
            })
            .collect();
        let leading = TABLE_SIZE * 1.25;
        // Header plus one line of the first row must fit, or the header moves to a new page.
        self.ensure(2.0 * (leading + 2.0 * CELL_PAD));
        self.grid_header(&header_cols, &header, leading);
        for row in rows {
            let cells: Vec<&str> = row.iter().map(String::as_str).collect();
            self.grid_row(&cols, &cells, leading, Some((&header_cols, &header)), true);
        }
        self.y -= 8.0;
    }

    fn grid_header(&mut self, cols: &[GridCol], titles: &[&str], leading: f32) {
        let (x0, x1) = grid_extent(cols);
        let top = self.y;
        let wrapped = wrap_cells(cols, titles);
        let n = wrapped.iter().map(Vec::len).max().unwrap_or(1);
        let h = n as f32 * leading + 2.0 * CELL_PAD;
        self.page().push(Op::Fill {
            x: x0,
            y: top - h,
            w: x1 - x0,
            h,
            gray: 0.88,
        });
        self.draw_cells(cols, &wrapped, 0, n, leading, top);
        self.rules(cols, top, h);
        self.y -= h;
    }

    /// One row of a grid, split across pages when taller than the space left; `header` is
    /// repeated at the top of each new page.
    fn grid_row(
        &mut self,
        cols: &[GridCol],
        cells: &[&str],
        leading: f32,
        header: Option<(&[GridCol], &[&str])>,
        ruled: bool,
    ) {
        let wrapped = wrap_cells(cols, cells);
        let n = wrapped.iter().map(Vec::len).max().unwrap_or(1).max(1);
        let full_h = n as f32 * leading + 2.0 * CELL_PAD;
        let fresh_room = PAGE_HEIGHT - MARGIN_TOP - BOTTOM - 3.0 * leading - 4.0 * CELL_PAD;
        if self.y - full_h < BOTTOM && full_h <= fresh_room {
            self.continue_on_new_page(header, leading);
        }
        let mut start = 0;
        while start < n {
            let room = ((self.y - BOTTOM - 2.0 * CELL_PAD) / leading).floor();
            let fit = if room >= 1.0 { room as usize } else { 0 };
            if fit == 0 {
                self.continue_on_new_page(header, leading);
                let room = ((self.y - BOTTOM - 2.0 * CELL_PAD) / leading).floor();
                if room < 1.0 {
                    // Cannot happen with the page constants above; never loop forever.
                    return;
                }
                continue;
            }
            let end = n.min(start + fit);
            let h = (end - start) as f32 * leading + 2.0 * CELL_PAD;
            let top = self.y;
            self.draw_cells(cols, &wrapped, start, end, leading, top);
            if ruled {
                self.rules(cols, top, h);
            }
            self.y -= h;
            start = end;
            if start < n {
                self.continue_on_new_page(header, leading);
            }
        }
    }

    fn continue_on_new_page(&mut self, header: Option<(&[GridCol], &[&str])>, leading: f32) {
        self.new_page();
        if let Some((cols, titles)) = header {
            self.grid_header(cols, titles, leading);
        }
    }

    fn draw_cells(
        &mut self,
        cols: &[GridCol],
        wrapped: &[Vec<Vec<u8>>],
        start: usize,
        end: usize,
        leading: f32,
        top: f32,
    ) {
        for (c, lines) in cols.iter().zip(wrapped) {
            for (i, line) in lines.iter().enumerate().take(end).skip(start) {
                let baseline = top - CELL_PAD - leading * 0.8 - (i - start) as f32 * leading;
                self.text(c.x + CELL_PAD, baseline, c.font, c.size, line.clone());
            }
        }
    }

    /// The box rules of one grid row part.
    fn rules(&mut self, cols: &[GridCol], top: f32, h: f32) {
        let (x0, x1) = grid_extent(cols);
        let bottom = top - h;
        let w = 0.4;
        let page = self.page();
        page.push(Op::Line {
            x1: x0,
            y1: top,
            x2: x1,
            y2: top,
            width: w,
        });
        page.push(Op::Line {
            x1: x0,
            y1: bottom,
            x2: x1,
            y2: bottom,
            width: w,
        });
        for c in cols {
            page.push(Op::Line {
                x1: c.x,
                y1: top,
                x2: c.x,
                y2: bottom,
                width: w,
            });
        }
        page.push(Op::Line {
            x1,
            y1: top,
            x2: x1,
            y2: bottom,
            width: w,
        });
    }

    /// The statement and blank lines in two columns, kept together on one page.
    fn signature(&mut self, statement: &str, labels: &[String]) {
        let size = 9.5;
        let statement_h =
            wrap(statement, Font::Regular, size, CONTENT_WIDTH).len() as f32 * size * 1.3;
        let row_h = 34.0;
        self.ensure(statement_h + 4.0 + labels.len().div_ceil(2) as f32 * row_h);
        self.lines(statement, Font::Regular, size, 0.0);
        self.y -= 4.0;
        let half = CONTENT_WIDTH / 2.0;
        for pair in labels.chunks(2) {
            self.y -= 24.0;
            let y = self.y;
            for (k, label) in pair.iter().enumerate() {
                let x = MARGIN_X + k as f32 * (half + 15.0);
                self.page().push(Op::Line {
                    x1: x,
                    y1: y,
                    x2: x + half - 15.0,
                    y2: y,
                    width: 0.7,
                });
                self.text(x, y - 9.0, Font::Regular, 7.5, encode_winansi(label));
            }
            self.y -= row_h - 24.0;
        }
        self.y -= 6.0;
    }
}

fn wrap_cells(cols: &[GridCol], cells: &[&str]) -> Vec<Vec<Vec<u8>>> {
    cols.iter()
        .zip(cells)
        .map(|(c, t)| wrap(t, c.font, c.size, c.width - 2.0 * CELL_PAD))
        .collect()
}

fn grid_extent(cols: &[GridCol]) -> (f32, f32) {
    let x0 = cols.first().map_or(MARGIN_X, |c| c.x);
    let x1 = cols.last().map_or(MARGIN_X, |c| c.x + c.width);
    (x0, x1)
}

/// Cuts `text` to fit `width`, ending in "..." when cut.
fn fit(text: &str, font: Font, size: f32, width: f32) -> Vec<u8> {
    let mut t = encode_winansi(text);
    if font.text_width(&t, size) <= width {
        return t;
    }
    while !t.is_empty() && font.text_width(&t, size) + font.text_width(b"...", size) > width {
        t.pop();
    }
    t.extend_from_slice(b"...");
    t
}

/// Lays out `doc` on A4 pages and writes the PDF file's bytes.
pub fn render(doc: &Document, info: &PdfInfo) -> Vec<u8> {
    let mut layout = Layout::new();
    for (i, section) in doc.sections.iter().enumerate() {
        if i > 0 && section.new_page && !layout.page_is_empty() {
            layout.new_page();
        }
        for block in &section.blocks {
            layout.block(block);
        }
    }
    let total = layout.pages.len();
    let streams: Vec<Vec<u8>> = layout
        .pages
        .iter()
        .enumerate()
        .map(|(i, ops)| {
            let mut ops = ops.clone();
            footer(&mut ops, &doc.footer, i + 1, total);
            content_stream(&ops)
        })
        .collect();
    write_file(&streams, info)
}

fn footer(ops: &mut Vec<Op>, text: &str, page: usize, total: usize) {
    let size = 7.0;
    let y = BOTTOM - 22.0;
    ops.push(Op::Line {
        x1: MARGIN_X,
        y1: y + 10.0,
        x2: PAGE_WIDTH - MARGIN_X,
        y2: y + 10.0,
        width: 0.4,
    });
    let right = encode_winansi(&format!("Page {page} of {total}"));
    let right_w = Font::Regular.text_width(&right, size);
    ops.push(Op::Text {
        x: PAGE_WIDTH - MARGIN_X - right_w,
        y,
        font: Font::Regular,
        size,
        text: right,
    });
    ops.push(Op::Text {
        x: MARGIN_X,
        y,
        font: Font::Regular,
        size,
        text: fit(text, Font::Regular, size, CONTENT_WIDTH - right_w - 12.0),
    });
}

/// A page's content stream (PDF Reference 1.4 §4.4 path operators, §5.3 text objects).
fn content_stream(ops: &[Op]) -> Vec<u8> {
    let mut s = String::new();
    for op in ops {
        match op {
            Op::Text {
                x,
                y,
                font,
                size,
                text,
            } => {
                let _ = writeln!(
                    s,
                    "BT /{} {size:.2} Tf {x:.2} {y:.2} Td {} Tj ET",
                    font.resource(),
                    literal_string(text)
                );
            }
            Op::Line {
                x1,
                y1,
                x2,
                y2,
                width,
            } => {
                let _ = writeln!(s, "{width:.2} w {x1:.2} {y1:.2} m {x2:.2} {y2:.2} l S");
            }
            Op::Fill { x, y, w, h, gray } => {
                let _ = writeln!(s, "{gray:.2} g {x:.2} {y:.2} {w:.2} {h:.2} re f 0 g");
            }
        }
    }
    s.into_bytes()
}

/// Serialises the objects, cross-reference table and trailer (PDF Reference 1.4 §3.4).
/// Objects: 1 catalog, 2 page tree, 3-5 fonts, 6 info, then each page and its contents.
fn write_file(streams: &[Vec<u8>], info: &PdfInfo) -> Vec<u8> {
    let mut w = ObjectWriter::new();
    let first_page = 7;
    let kids: Vec<String> = (0..streams.len())
        .map(|i| format!("{} 0 R", first_page + 2 * i))
        .collect();
    w.object(b"<< /Type /Catalog /Pages 2 0 R >>");
    w.object(
        format!(
            "<< /Type /Pages /Kids [{}] /Count {} >>",
            kids.join(" "),
            streams.len()
        )
        .as_bytes(),
    );
    for font in [Font::Regular, Font::Bold, Font::Mono] {
        w.object(
            format!(
                "<< /Type /Font /Subtype /Type1 /BaseFont /{} /Encoding /WinAnsiEncoding >>",
                font.base_font()
            )
            .as_bytes(),
        );
    }
    w.object(
        format!(
            "<< /Title {} /Producer {} /Creator {} /CreationDate {} >>",
            literal_string(&encode_winansi(&info.title)),
            literal_string(&encode_winansi(&info.producer)),
            literal_string(&encode_winansi(&info.producer)),
            literal_string(format!("D:{}", info.creation_date).as_bytes()),
        )
        .as_bytes(),
    );
    for (i, stream) in streams.iter().enumerate() {
        let contents = first_page + 2 * i + 1;
        w.object(
            format!(
                "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 {PAGE_WIDTH} {PAGE_HEIGHT}] \
                 /Resources << /Font << /F1 3 0 R /F2 4 0 R /F3 5 0 R >> >> /Contents {contents} 0 R >>"
            )
            .as_bytes(),
        );
        let mut body = format!("<< /Length {} >>\nstream\n", stream.len()).into_bytes();
        body.extend_from_slice(stream);
        body.extend_from_slice(b"\nendstream");
        w.object(&body);
    }
    w.finish(6)
}

/// Writes numbered objects in order, remembering their byte offsets for the xref table.
struct ObjectWriter {
    buf: Vec<u8>,
    offsets: Vec<usize>,
}

impl ObjectWriter {
    fn new() -> Self {
        // The comment of four bytes above 127 marks the file as binary (§3.4.1).
        ObjectWriter {
            buf: b"%PDF-1.4\n%\xE2\xE3\xCF\xD3\n".to_vec(),
            offsets: Vec::new(),
        }
    }

    fn object(&mut self, body: &[u8]) {
        self.offsets.push(self.buf.len());
        let id = self.offsets.len();
        self.buf
            .extend_from_slice(format!("{id} 0 obj\n").as_bytes());
        self.buf.extend_from_slice(body);
        self.buf.extend_from_slice(b"\nendobj\n");
    }

    /// The xref table (every entry exactly 20 bytes, §3.4.3) and the trailer.
    fn finish(mut self, info_id: usize) -> Vec<u8> {
        let xref = self.buf.len();
        let count = self.offsets.len() + 1;
        let mut t = format!("xref\n0 {count}\n0000000000 65535 f \n");
        for off in &self.offsets {
            let _ = writeln!(t, "{off:010} 00000 n ");
        }
        let _ = write!(
            t,
            "trailer\n<< /Size {count} /Root 1 0 R /Info {info_id} 0 R >>\nstartxref\n{xref}\n%%EOF\n"
        );
        self.buf.extend_from_slice(t.as_bytes());
        self.buf
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::doc::Section;

    #[test]
    fn winansi_keeps_latin1_and_cp1252_and_shows_the_rest() {
        assert_eq!(encode_winansi("Zoë Ågren"), b"Zo\xEB \xC5gren");
        assert_eq!(encode_winansi("a\u{2014}b \u{20AC}"), b"a\x97b \x80");
        assert_eq!(encode_winansi("\u{4E2D}x"), b"[U+4E2D]x");
        assert_eq!(encode_winansi("\u{1F600}"), b"[U+1F600]");
        // Controls, C1 controls and bidi overrides are shown, not passed through.
        assert_eq!(
            encode_winansi("\u{7}\u{85}\u{202E}"),
            b"[U+0007][U+0085][U+202E]"
        );
        assert_eq!(encode_winansi("a\tb"), b"a b");
    }

    #[test]
    fn literal_strings_escape_delimiters_and_non_ascii() {
        assert_eq!(literal_string(b"a(b)c\\d"), "(a\\(b\\)c\\\\d)");
        assert_eq!(literal_string(b"\xEB\n\r"), "(\\353\\012\\015)");
        assert_eq!(literal_string(b"((("), "(\\(\\(\\()");
    }

    #[test]
    fn widths_follow_the_helvetica_metrics() {
        // Known Helvetica AFM values: space 278, 'W' 944, '@' 1015, 'i' 222, Bold 'i' 278.
        assert_eq!(Font::Regular.width(b' '), 278);
        assert_eq!(Font::Regular.width(b'W'), 944);
        assert_eq!(Font::Regular.width(b'@'), 1015);
        assert_eq!(Font::Regular.width(b'i'), 222);
        assert_eq!(Font::Bold.width(b'i'), 278);
        assert_eq!(Font::Mono.width(b'i'), 600);
        assert_eq!(Font::Regular.width(0x97), 1000); // em dash
        assert!((Font::Mono.text_width(b"abcd", 10.0) - 24.0).abs() < 1e-4);
    }

    #[test]
    fn wrap_breaks_at_spaces_and_cuts_long_words() {
        let lines = wrap("aaa bbb ccc", Font::Mono, 10.0, 6.0 * 7.0);
        assert_eq!(lines, vec![b"aaa bbb".to_vec(), b"ccc".to_vec()]);
        let lines = wrap(&"x".repeat(25), Font::Mono, 10.0, 60.0);
        assert_eq!(lines.len(), 3);
        assert!(lines.iter().all(|l| l.len() <= 10));
        assert_eq!(wrap("a\nb", Font::Mono, 10.0, 100.0).len(), 2);
        assert_eq!(wrap("", Font::Mono, 10.0, 100.0), vec![Vec::<u8>::new()]);
        // Nothing is lost.
        let text = "the quick brown fox jumps over the lazy dog ".repeat(20);
        let joined: Vec<u8> = wrap(&text, Font::Regular, 9.0, 100.0).join(&b' ');
        assert_eq!(
            String::from_utf8(joined)
                .unwrap()
                .split_whitespace()
                .count(),
            text.split_whitespace().count()
        );
    }

    /// Every xref entry points at its `N 0 obj`, and startxref at the xref table. Works on
    /// bytes: the binary marker comment is not UTF-8.
    fn check_structure(pdf: &[u8]) -> usize {
        assert!(pdf.starts_with(b"%PDF-1.4\n%\xE2\xE3\xCF\xD3\n"));
        assert!(pdf.ends_with(b"%%EOF\n"));
        let sx = pdf.windows(10).rposition(|w| w == b"startxref\n").unwrap();
        let tail = std::str::from_utf8(&pdf[sx + 10..]).unwrap();
        let xref: usize = tail.lines().next().unwrap().parse().unwrap();
        let table = std::str::from_utf8(&pdf[xref..sx]).unwrap();
        assert!(table.starts_with("xref\n0 "));
        let mut lines = table.lines().skip(1);
        let count: usize = lines
            .next()
            .unwrap()
            .split(' ')
            .nth(1)
            .unwrap()
            .parse()
            .unwrap();
        let entries: Vec<&str> = lines.take(count).collect();
        assert_eq!(entries.len(), count);
        assert_eq!(entries[0], "0000000000 65535 f ");
        for (id, e) in entries.iter().enumerate().skip(1) {
            assert_eq!(e.len(), 19, "{e:?}"); // plus the newline: 20 bytes
            let off: usize = e[..10].parse().unwrap();
            assert!(pdf[off..].starts_with(format!("{id} 0 obj\n").as_bytes()));
        }
        count
    }

    #[test]
    fn long_documents_paginate_and_the_structure_is_consistent() {
        let rows: Vec<Vec<String>> = (0..300)
            .map(|i| {
                vec![
                    i.to_string(),
                    format!("row {i} (with parens) and \\ backslash"),
                ]
            })
            .collect();
        let doc = Document {
            title: "t".into(),
            footer: "footer".into(),
            sections: vec![Section {
                new_page: false,
                blocks: vec![
                    Block::Heading {
                        level: 1,
                        text: "Heading".into(),
                    },
                    Block::Table {
                        columns: vec![
                            Column {
                                title: "#".into(),
                                weight: 1,
                                mono: false,
                            },
                            Column {
                                title: "Text".into(),
                                weight: 5,
                                mono: false,
                            },
                        ],
                        rows,
                    },
                    // A cell taller than a page must split, not loop or vanish.
                    Block::Fields(vec![Field {
                        label: "long".into(),
                        value: "word ".repeat(4000),
                        mono: false,
                    }]),
                ],
            }],
        };
        let info = PdfInfo {
            title: "T".into(),
            producer: "custos test".into(),
            creation_date: "20261125030405Z".into(),
        };
        let pdf = render(&doc, &info);
        let objects = check_structure(&pdf) - 1;
        let pages = (objects - 6) / 2;
        assert!(pages >= 8, "{pages} pages");
        let text = String::from_utf8_lossy(&pdf);
        assert!(text.contains(&format!("/Count {pages} ")));
        assert!(text.contains(&format!("(Page {pages} of {pages})")));
        assert!(text.contains("(row 299 \\(with parens\\) and \\\\ backslash)"));
        // The header row repeats on the pages the table spans.
        assert!(text.matches("/F2 7.50 Tf").count() >= 2 * 4);
        // Deterministic.
        assert_eq!(pdf, render(&doc, &info));
    }
}
