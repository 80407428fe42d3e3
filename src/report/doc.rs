//! The human-readable custody report as a small document model, built once from the verified
//! log records and rendered twice ([`super::html`], [`super::pdf`]), so the HTML and the PDF
//! always say the same thing.
//!
//! Every string here that comes from the log is the log's text; renderers escape it (HTML) or
//! encode it (PDF). Timelines and certificates show what the signed events record and nothing
//! the log does not: where a fact is missing from the log (the hash of an exported copy), the
//! report says so.

use super::ItemRecord;
use custos_core::Sha256Hash;
use custos_core::event::{Action, Event, Timestamp};
use custos_core::jcs::Value;

/// Longest details summary shown in a timeline cell; the bundle carries the full event.
const MAX_DETAILS_CHARS: usize = 1500;

/// A report: sections of blocks, a title and a footer line for every page.
#[derive(Debug, Clone)]
pub struct Document {
    /// Document title.
    pub title: String,
    /// Footer text printed on every page (the PDF adds page numbers).
    pub footer: String,
    /// The sections in order.
    pub sections: Vec<Section>,
}

/// A run of blocks; `new_page` starts it on a fresh page when printed.
#[derive(Debug, Clone)]
pub struct Section {
    /// Start on a new page.
    pub new_page: bool,
    /// The content.
    pub blocks: Vec<Block>,
}

/// Paragraph styles.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TextStyle {
    /// Body text.
    Normal,
    /// Notes.
    Small,
    /// Emphasised body text.
    Strong,
}

/// A labelled value, e.g. "SHA-256" and the hash.
#[derive(Debug, Clone)]
pub struct Field {
    /// The label.
    pub label: String,
    /// The value.
    pub value: String,
    /// Show the value in a monospaced font (hashes, ids).
    pub mono: bool,
}

/// A table column.
#[derive(Debug, Clone)]
pub struct Column {
    /// Header text.
    pub title: String,
    /// Relative width.
    pub weight: u32,
    /// Monospaced cells.
    pub mono: bool,
}

/// A unit of content.
#[derive(Debug, Clone)]
pub enum Block {
    /// A heading of level 1 to 3.
    Heading {
        /// 1 (document), 2 (section) or 3.
        level: u8,
        /// The text.
        text: String,
    },
    /// A paragraph; line feeds are line breaks.
    Para {
        /// The text.
        text: String,
        /// The style.
        style: TextStyle,
    },
    /// Preformatted monospaced text (commands, signed notes).
    Code {
        /// The text.
        text: String,
    },
    /// Label/value rows.
    Fields(Vec<Field>),
    /// A table with a header row.
    Table {
        /// The columns.
        columns: Vec<Column>,
        /// Rows of cells, one per column.
        rows: Vec<Vec<String>>,
    },
    /// A closing statement and blank lines to fill in by hand, each with its label; printed
    /// together on one page.
    Signature {
        /// The statement above the lines.
        statement: String,
        /// The labels of the blank lines.
        labels: Vec<String>,
    },
}

/// What the report says about the log and the bundle.
#[derive(Debug, Clone)]
pub struct ReportMeta {
    /// When the report was generated.
    pub generated_at: Timestamp,
    /// The software version.
    pub software_version: String,
    /// The log's origin (checkpoint origin and key name).
    pub origin: String,
    /// The C2SP verifier key string.
    pub verifier_key: String,
    /// SHA-256 of the verifier key string, hex.
    pub fingerprint: String,
    /// The exact signed checkpoint note.
    pub checkpoint: String,
    /// Its tree size.
    pub checkpoint_size: u64,
    /// Its root hash.
    pub checkpoint_root: Sha256Hash,
    /// File name of the bundle delivered with the report.
    pub bundle_file: String,
    /// The earlier checkpoint a consistency proof was included for (size, root).
    pub since: Option<(u64, Sha256Hash)>,
}

/// One item: its database record and its verified events in log order.
#[derive(Debug, Clone, Copy)]
pub struct ItemView<'a> {
    /// The item row.
    pub record: &'a ItemRecord,
    /// The item's events up to the checkpoint, verified.
    pub events: &'a [Event],
}

fn field(label: &str, value: impl Into<String>) -> Field {
    Field {
        label: label.into(),
        value: value.into(),
        mono: false,
    }
}

fn mono(label: &str, value: impl Into<String>) -> Field {
    Field {
        label: label.into(),
        value: value.into(),
        mono: true,
    }
}

fn para(text: impl Into<String>) -> Block {
    Block::Para {
        text: text.into(),
        style: TextStyle::Normal,
    }
}

fn small(text: impl Into<String>) -> Block {
    Block::Para {
        text: text.into(),
        style: TextStyle::Small,
    }
}

fn heading(level: u8, text: impl Into<String>) -> Block {
    Block::Heading {
        level,
        text: text.into(),
    }
}

fn col(title: &str, weight: u32) -> Column {
    Column {
        title: title.into(),
        weight,
        mono: false,
    }
}

fn mono_col(title: &str, weight: u32) -> Column {
    Column {
        title: title.into(),
        weight,
        mono: true,
    }
}

/// A time as shown in tables: `YYYY-MM-DD HH:MM:SS.ffffff` (UTC, as recorded).
pub fn show_time(t: Timestamp) -> String {
    t.to_rfc3339().replacen('T', " ", 1).replace('Z', "")
}

/// A byte count with thousands separators and a binary unit.
pub fn show_size(n: u64) -> String {
    let digits = n.to_string();
    let mut grouped = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            grouped.push(',');
        }
        grouped.push(c);
    }
    let units = ["KiB", "MiB", "GiB", "TiB", "PiB", "EiB"];
    let mut v = n as f64;
    let mut unit = None;
    for u in units {
        if v < 1024.0 {
            break;
        }
        v /= 1024.0;
        unit = Some(u);
    }
    match unit {
        Some(u) => format!("{grouped} bytes ({v:.2} {u})"),
        None => format!("{grouped} bytes"),
    }
}

/// The exact `custos-verify` command line for a bundle (and, when given, one evidence copy),
/// one option per line with shell continuations so it can be typed or pasted as printed.
pub fn verify_command(bundle_file: &str, fingerprint: &str, evidence: Option<&str>) -> String {
    let mut cmd = format!("custos-verify {bundle_file} \\\n    --fingerprint {fingerprint}");
    if let Some(e) = evidence {
        cmd.push_str(" \\\n    --evidence ");
        cmd.push_str(e);
    }
    cmd
}

/// A JSON value in one line, for summaries: strings bare, objects `{a: 1, b: x}`.
fn show_value(v: &Value, out: &mut String) {
    match v {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Int(n) => out.push_str(&n.to_string()),
        Value::String(s) => out.push_str(s),
        Value::Array(a) => {
            out.push('[');
            for (i, x) in a.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                show_value(x, out);
            }
            out.push(']');
        }
        Value::Object(m) => {
            out.push('{');
            for (i, (k, x)) in m.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                out.push_str(k);
                out.push_str(": ");
                show_value(x, out);
            }
            out.push('}');
        }
    }
}

/// The details summary of a timeline row: every member as `name: value`, one per line, cut
/// at [`MAX_DETAILS_CHARS`]; exports also show the source hash.
pub fn details_summary(ev: &Event) -> String {
    let mut out = String::new();
    if let Some(m) = ev.details.as_object() {
        for (i, (k, v)) in m.iter().enumerate() {
            if i > 0 {
                out.push('\n');
            }
            out.push_str(k);
            out.push_str(": ");
            show_value(v, &mut out);
        }
    }
    if ev.action == Action::Export
        && let Some(item) = &ev.item
    {
        if !out.is_empty() {
            out.push('\n');
        }
        out.push_str("source SHA-256: ");
        out.push_str(&item.sha256.to_hex());
        out.push_str("\ncopy hash: ");
        out.push_str(&copy_hash_result(ev, &item.sha256).0);
    }
    cut(out, MAX_DETAILS_CHARS)
}

fn cut(s: String, max: usize) -> String {
    let n = s.chars().count();
    if n <= max {
        return s;
    }
    let mut t: String = s.chars().take(max).collect();
    t.push_str(&format!(
        " ... ({} more characters: see the event in the bundle)",
        n - max
    ));
    t
}

/// The string member `name` of an event's details.
fn detail_str<'e>(ev: &'e Event, name: &str) -> Option<&'e str> {
    ev.details.as_object()?.get(name)?.as_str()
}

/// For a copy (export or disclosure): the copy's hash as the log records it and the result of
/// comparing it with the source hash. The log records a copy hash only when the event's
/// details carry one (`sha256`, `copy_sha256` or `output_sha256`).
pub fn copy_hash_result(ev: &Event, source: &Sha256Hash) -> (String, String) {
    let recorded = ["copy_sha256", "output_sha256", "sha256"]
        .iter()
        .find_map(|k| detail_str(ev, k));
    if let Some(h) = recorded {
        let result = if h.eq_ignore_ascii_case(&source.to_hex()) {
            "match"
        } else {
            "DIFFERENT from the source hash"
        };
        return (h.to_string(), result.to_string());
    }
    if let Some(range) = ev.details.as_object().and_then(|m| m.get("range")) {
        let mut r = String::new();
        show_value(range, &mut r);
        return (
            "not applicable".into(),
            format!("partial copy {r}: not comparable with the item hash"),
        );
    }
    (
        "not recorded in the log".into(),
        "not recorded (see note)".into(),
    )
}

fn actor_cell(ev: &Event) -> String {
    format!("{} ({})", ev.actor.name, ev.actor.role)
}

/// Whether an event is a copy, transfer or disclosure of the item (certificate table).
fn is_copy_or_disclosure(a: &Action) -> bool {
    matches!(
        a,
        Action::Export
            | Action::TransferInitiate
            | Action::TransferAccept
            | Action::DisclosureRequest
            | Action::DisclosureApprove
            | Action::DisclosureRefuse
            | Action::DisclosureFetch
            | Action::DisclosureAck
    )
}

/// Builds the report for `items` (each with its verified events) under `meta`.
pub fn build(meta: &ReportMeta, items: &[ItemView<'_>]) -> Document {
    let mut sections = vec![summary_section(meta, items), how_to_verify_section(meta)];
    for item in items {
        sections.push(item_section(meta, item));
        sections.push(certificate_section(meta, item));
    }
    Document {
        title: "Chain-of-custody report".into(),
        footer: format!(
            "Custos chain-of-custody report - log {} - checkpoint size {} - generated {} UTC",
            meta.origin,
            meta.checkpoint_size,
            show_time(meta.generated_at)
        ),
        sections,
    }
}

fn checkpoint_fields(meta: &ReportMeta) -> Vec<Field> {
    vec![
        mono("Log origin", meta.origin.clone()),
        field(
            "Checkpoint size",
            format!("{} events", meta.checkpoint_size),
        ),
        mono("Checkpoint root", meta.checkpoint_root.to_base64()),
        mono("Log key fingerprint", meta.fingerprint.clone()),
    ]
}

fn summary_section(meta: &ReportMeta, items: &[ItemView<'_>]) -> Section {
    let mut fields = vec![
        field("Generated", format!("{} UTC", show_time(meta.generated_at))),
        field("Software", format!("custos {}", meta.software_version)),
    ];
    fields.extend(checkpoint_fields(meta));
    fields.push(mono("Log verifier key", meta.verifier_key.clone()));
    fields.push(mono("Bundle file", meta.bundle_file.clone()));
    if let Some((size, root)) = &meta.since {
        fields.push(field(
            "Consistent with",
            format!(
                "the earlier checkpoint of size {size}, root {}: a consistency proof is in the bundle and was verified",
                root.to_base64()
            ),
        ));
    }
    let rows = items
        .iter()
        .map(|i| {
            vec![
                i.record.id.to_string(),
                i.record.case.clone(),
                i.record.sha256.to_hex(),
                i.events.len().to_string(),
            ]
        })
        .collect();
    Section {
        new_page: false,
        blocks: vec![
            heading(1, "Chain-of-custody report"),
            para(
                "This report was generated by the Custos evidence vault from its signed custody \
                 log. Every act on an evidence item (acquisition, access, export, transfer, \
                 disclosure, integrity check) is recorded as an event signed with the log key \
                 and appended to a Merkle-tree log (RFC 6962) whose state is signed as a \
                 checkpoint. The bundle file delivered with this report carries, for every event \
                 shown, its exact signed bytes, its signature and its proof of inclusion in the \
                 checkpoint below, so the report can be checked without access to the vault.",
            ),
            Block::Fields(fields),
            heading(2, "Items in this report"),
            Block::Table {
                columns: vec![
                    mono_col("Item", 131),
                    col("Case", 63),
                    mono_col("SHA-256", 266),
                    col("Events", 35),
                ],
                rows,
            },
            heading(3, "Signed checkpoint (exact text)"),
            Block::Code {
                text: meta.checkpoint.trim_end_matches('\n').to_string(),
            },
            small(format!(
                "The bundle covers the log up to this checkpoint (events 0 to {}). Producing this \
                 report is itself recorded in the custody log, as one \"report\" event per item \
                 appended after this checkpoint; those events appear in later reports, not in this \
                 one. Characters the PDF fonts cannot show are written there as [U+XXXX]; the HTML \
                 version and the bundle carry the exact text.",
                meta.checkpoint_size.saturating_sub(1)
            )),
        ],
    }
}

fn how_to_verify_section(meta: &ReportMeta) -> Section {
    Section {
        new_page: false,
        blocks: vec![
            heading(2, "How to verify this report independently"),
            para(format!(
                "1. Obtain the log key fingerprint from a source other than this report (for \
                 example, as published by the agency or served in advance) and compare it with: {}",
                meta.fingerprint
            )),
            para(
                "2. Run the offline verifier on the bundle. It checks the checkpoint signature, \
                 every event's signature and canonical form, every inclusion proof against the \
                 checkpoint root, each item's chain of events, and any consistency proof:",
            ),
            Block::Code {
                text: verify_command(&meta.bundle_file, &meta.fingerprint, None),
            },
            para(
                "3. To check a copy of the evidence against the acquisition hash, add it with \
                 --evidence (the command for each item is in its section). The verifier hashes \
                 the file with SHA-256 and compares it with the item's recorded hash.",
            ),
            small(
                "The bundle's format is described in the Custos documentation (custody report \
                 bundle, version 1); events are RFC 8785 canonical JSON signed with Ed25519, the \
                 checkpoint is a C2SP signed note, and proofs follow RFC 9162 section 2.1, so the \
                 checks can also be written independently of Custos.",
            ),
        ],
    }
}

/// The acquisition (first ingest) event of an item, if the events start with one.
fn acquisition(events: &[Event]) -> Option<&Event> {
    events.first().filter(|e| e.action == Action::Ingest)
}

fn acquisition_rows(item: &ItemView<'_>) -> Vec<Vec<String>> {
    let r = item.record;
    let ingest = acquisition(item.events);
    let expected = ingest
        .and_then(|e| e.details.as_object())
        .and_then(|m| m.get("expected"))
        .and_then(Value::as_object);
    let recorded = |name: &str| ingest.and_then(|e| detail_str(e, name)).map(str::to_string);
    let rows = [
        ("SHA-256", recorded("sha256").or(Some(r.sha256.to_hex()))),
        ("SHA-1", recorded("sha1").or(r.sha1.map(hex::encode))),
        ("MD5", recorded("md5").or(r.md5.map(hex::encode))),
    ];
    rows.into_iter()
        .filter_map(|(algo, value)| {
            let key = algo.to_ascii_lowercase().replace('-', "");
            let stated = expected.and_then(|m| m.get(&key)).and_then(Value::as_str);
            if value.is_none() && stated.is_none() {
                return None;
            }
            let agreement = match (&value, stated) {
                (Some(v), Some(s)) if v.eq_ignore_ascii_case(s) => "match".to_string(),
                (Some(_), Some(_)) => "DIFFERENT".to_string(),
                (None, Some(_)) => "not computed".to_string(),
                (_, None) => "no value stated".to_string(),
            };
            Some(vec![
                algo.to_string(),
                format!(
                    "recorded {}\nstated   {}",
                    value.unwrap_or_else(|| "not computed".into()),
                    stated.unwrap_or("-")
                ),
                agreement,
            ])
        })
        .collect()
}

fn item_fields(item: &ItemView<'_>) -> Vec<Field> {
    let r = item.record;
    let mut f = vec![
        mono("Item", r.id.to_string()),
        field("Case", r.case.clone()),
    ];
    if let Some(n) = &r.original_name {
        f.push(field("Original file name", n.clone()));
    }
    if let Some(d) = &r.description {
        f.push(field("Description", d.clone()));
    }
    f.push(field("Size", show_size(r.size)));
    f.push(mono("SHA-256 (identity)", r.sha256.to_hex()));
    if let Some(h) = r.sha1 {
        f.push(mono("SHA-1", hex::encode(h)));
    }
    if let Some(h) = r.md5 {
        f.push(mono("MD5", hex::encode(h)));
    }
    if let Some(ev) = acquisition(item.events) {
        f.push(field(
            "Acquired",
            format!(
                "{} UTC by {}, event {}",
                show_time(ev.time),
                actor_cell(ev),
                ev.seq
            ),
        ));
        for (label, key) in [("Tool", "tool"), ("Method", "method")] {
            if let Some(v) = detail_str(ev, key) {
                f.push(field(label, v));
            }
        }
    }
    f
}

fn timeline_rows(item: &ItemView<'_>) -> Vec<Vec<String>> {
    item.events
        .iter()
        .map(|ev| {
            vec![
                ev.seq.to_string(),
                show_time(ev.time),
                actor_cell(ev),
                ev.action.as_str().to_string(),
                ev.reason.clone().unwrap_or_else(|| "-".into()),
                details_summary(ev),
            ]
        })
        .collect()
}

fn item_section(meta: &ReportMeta, item: &ItemView<'_>) -> Section {
    let r = item.record;
    let indices: Vec<String> = item.events.iter().map(|e| e.seq.to_string()).collect();
    Section {
        new_page: true,
        blocks: vec![
            heading(1, format!("Item {}", r.id)),
            Block::Fields(item_fields(item)),
            heading(2, "Acquisition hashes"),
            Block::Table {
                columns: vec![
                    col("Algorithm", 55),
                    mono_col(
                        "Value recorded at acquisition, and the value the examiner stated",
                        303,
                    ),
                    col("Agreement", 137),
                ],
                rows: acquisition_rows(item),
            },
            heading(2, "Custody timeline"),
            Block::Table {
                columns: vec![
                    col("#", 22),
                    col("Time (UTC)", 64),
                    col("Actor (role)", 62),
                    col("Action", 62),
                    col("Reason", 76),
                    col("Details", 209),
                ],
                rows: timeline_rows(item),
            },
            heading(2, "Verification summary"),
            para(format!(
                "The {} events above (log indices {}) are each signed by the log key and \
                 included in the checkpoint below. Before writing this report, Custos verified \
                 every signature, every inclusion proof, and the item's chain of events \
                 (each event names the hash of the item's previous one).",
                item.events.len(),
                indices.join(", ")
            )),
            Block::Fields(checkpoint_fields(meta)),
            heading(3, "Verify this item and a copy of its content"),
            para(format!(
                "Replace COPY-OF-{} with the path of the copy to check:",
                r.id
            )),
            Block::Code {
                text: verify_command(
                    &meta.bundle_file,
                    &meta.fingerprint,
                    Some(&format!("COPY-OF-{}", r.id)),
                ),
            },
        ],
    }
}

fn certificate_fields(meta: &ReportMeta, item: &ItemView<'_>) -> Vec<Field> {
    let r = item.record;
    let mut f = vec![
        mono("Evidence item", r.id.to_string()),
        field("Case", r.case.clone()),
    ];
    if let Some(n) = &r.original_name {
        f.push(field("Original file name", n.clone()));
    }
    f.push(field("Size", show_size(r.size)));
    let acquired = acquisition(item.events);
    let acq_hash = acquired
        .and_then(|e| e.item.as_ref())
        .map(|i| i.sha256)
        .unwrap_or(r.sha256);
    f.push(mono("Acquisition hash (SHA-256)", acq_hash.to_hex()));
    for (label, key) in [("Acquisition SHA-1", "sha1"), ("Acquisition MD5", "md5")] {
        if let Some(v) = acquired.and_then(|e| detail_str(e, key)) {
            f.push(mono(label, v));
        }
    }
    if let Some(ev) = acquired {
        f.push(field(
            "Acquired",
            format!(
                "{} UTC by {}; log event {}",
                show_time(ev.time),
                actor_cell(ev),
                ev.seq
            ),
        ));
    }
    f.push(mono("Current hash (SHA-256)", r.sha256.to_hex()));
    f.push(field(
        "Current vs acquisition",
        if r.sha256 == acq_hash {
            "match: the vault's record of the item has the acquisition hash"
        } else {
            "DIFFERENT: the vault's record does not have the acquisition hash"
        },
    ));
    let last_check = item
        .events
        .iter()
        .rev()
        .find(|e| e.action == Action::IntegrityCheck);
    f.push(field(
        "Last integrity check",
        match last_check {
            Some(e) => format!(
                "{} UTC by {}: {} (log event {}; the stored content was decrypted and its SHA-256 recomputed)",
                show_time(e.time),
                actor_cell(e),
                detail_str(e, "result").unwrap_or("result not recorded"),
                e.seq
            ),
            None => "none recorded up to this checkpoint".into(),
        },
    ));
    f.push(mono("Log key fingerprint", meta.fingerprint.clone()));
    f.push(field(
        "Checkpoint",
        format!(
            "size {}, root {}",
            meta.checkpoint_size,
            meta.checkpoint_root.to_base64()
        ),
    ));
    f
}

fn copies_rows(item: &ItemView<'_>) -> Vec<Vec<String>> {
    item.events
        .iter()
        .filter(|e| is_copy_or_disclosure(&e.action))
        .map(|e| {
            let source = e.item.as_ref().map_or(item.record.sha256, |i| i.sha256);
            let (copy, result) = copy_hash_result(e, &source);
            let (copy, result) = if e.action == Action::Export {
                (copy, result)
            } else {
                (
                    if copy == "not recorded in the log" {
                        "-".into()
                    } else {
                        copy
                    },
                    if result == "not recorded (see note)" {
                        "-".into()
                    } else {
                        result
                    },
                )
            };
            vec![
                format!("{}\n{}", e.seq, e.action.as_str()),
                show_time(e.time),
                actor_cell(e),
                format!("source {}\ncopy   {copy}\nresult {result}", source.to_hex()),
            ]
        })
        .collect()
}

fn certificate_section(meta: &ReportMeta, item: &ItemView<'_>) -> Section {
    let r = item.record;
    let copies = copies_rows(item);
    let mut blocks = vec![
        heading(1, "Certificate of authenticity"),
        Block::Para {
            text: "Records generated by an electronic process or system, and data copied from an \
                   electronic device, storage medium or file: Federal Rules of Evidence 902(13) \
                   and 902(14)"
                .into(),
            style: TextStyle::Strong,
        },
        small(format!(
            "Item {} in case {}. This certificate is filled from the custody log by custos {} on \
             {} UTC, up to checkpoint size {}; the qualified person completes and signs it. \
             Review the wording with counsel before serving it.",
            r.id,
            r.case,
            meta.software_version,
            show_time(meta.generated_at),
            meta.checkpoint_size
        )),
        para(
            "I, the undersigned, certify:\n\
             1. I am a custodian of the records described below, or another person qualified by \
             my knowledge of the Custos evidence vault and its operation, to make this \
             certification.\n\
             2. The custody records of this item were generated by Custos, an electronic process \
             that records each act on an evidence item when it is done, as an event signed with \
             the log key identified below and appended to a Merkle-tree log whose signed \
             checkpoint is identified below. The process produces an accurate result: a change \
             to, or removal of, any recorded event makes its signature or its proof of inclusion \
             fail, which anyone can check with the bundle delivered with this certificate.\n\
             3. The evidence item was identified at acquisition by the hash value below. Each \
             copy listed below is authenticated by comparing its hash value, computed with the \
             stated algorithm, with that acquisition hash.",
        ),
        Block::Fields(certificate_fields(meta, item)),
        heading(2, "Copies, exports and disclosures"),
    ];
    if copies.is_empty() {
        blocks.push(para(format!(
            "No copy, export, transfer or disclosure of this item is recorded up to checkpoint \
             size {}.",
            meta.checkpoint_size
        )));
    } else {
        blocks.push(Block::Table {
            columns: vec![
                col("Event and act", 50),
                col("Time (UTC)", 64),
                col("Actor (role)", 64),
                mono_col("Hashes (algorithm SHA-256) and result", 317),
            ],
            rows: copies,
        });
        blocks.push(small(
            "Note: an export event is recorded before the copy is written, so the log does not \
             hold the copy's own hash unless the event records it. `custos get` writes a full \
             copy only after its SHA-256 equals the item's; confirm any copy by hashing it (or \
             with custos-verify --evidence) and comparing with the source hash.",
        ));
    }
    blocks.push(Block::Signature {
        statement: "I declare under penalty of perjury that the foregoing is true and correct \
                    (28 U.S.C. 1746)."
            .into(),
        labels: [
            "Name",
            "Title",
            "Organisation",
            "Place",
            "Signature",
            "Date",
        ]
        .map(String::from)
        .to_vec(),
    });
    Section {
        new_page: true,
        blocks,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use custos_core::event::{Actor, ItemRef};

    fn event(seq: u64, action: Action, details: Value) -> Event {
        Event {
            seq,
            time: Timestamp::from_unix_micros(1_795_575_845_123_456).unwrap(),
            clock: "system-utc".into(),
            log: "custos.test/vault".into(),
            actor: Actor {
                name: "alice".into(),
                role: "examiner".into(),
                auth: "local-config".into(),
            },
            action,
            case: Some("c1".into()),
            item: Some(ItemRef {
                id: "itm_aaaaaaaaaaaaaaaaaaaaaaaaaa".into(),
                sha256: Sha256Hash::digest(b"abc"),
            }),
            reason: None,
            details,
            salt: [0; 16],
            prev: None,
            item_prev: None,
            extra: Vec::new(),
        }
    }

    #[test]
    fn sizes_and_times_read_well() {
        assert_eq!(show_size(0), "0 bytes");
        assert_eq!(show_size(999), "999 bytes");
        assert_eq!(show_size(1_234_567), "1,234,567 bytes (1.18 MiB)");
        assert_eq!(
            show_time(Timestamp::from_unix_micros(1_795_575_845_123_456).unwrap()),
            "2026-11-25 03:04:05.123456"
        );
    }

    #[test]
    fn export_copy_results_say_what_the_log_records() {
        let src = Sha256Hash::digest(b"abc");
        let full = event(
            1,
            Action::Export,
            Value::object([("output", Value::String("x".into()))]),
        );
        assert_eq!(copy_hash_result(&full, &src).0, "not recorded in the log");
        let ranged = event(
            2,
            Action::Export,
            Value::object([(
                "range",
                Value::object([("start", Value::Int(0)), ("end", Value::Int(9))]),
            )]),
        );
        assert!(
            copy_hash_result(&ranged, &src)
                .1
                .starts_with("partial copy")
        );
        let same = event(
            3,
            Action::Export,
            Value::object([("sha256", Value::String(src.to_hex()))]),
        );
        assert_eq!(copy_hash_result(&same, &src).1, "match");
        let other = event(
            4,
            Action::Export,
            Value::object([("copy_sha256", Value::String("00".repeat(32)))]),
        );
        assert!(copy_hash_result(&other, &src).1.starts_with("DIFFERENT"));
        assert!(details_summary(&full).contains(&format!("source SHA-256: {}", src.to_hex())));
    }

    #[test]
    fn huge_details_are_cut_with_a_pointer_to_the_bundle() {
        let ev = event(
            0,
            Action::parse("note").unwrap(),
            Value::object([("text", Value::String("x".repeat(10_000)))]),
        );
        let s = details_summary(&ev);
        assert!(s.chars().count() < MAX_DETAILS_CHARS + 100);
        assert!(s.ends_with("see the event in the bundle)"));
    }
}
