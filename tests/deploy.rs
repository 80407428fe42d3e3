//! Checks of the deployment files in `deploy/`: the annotated configuration example parses and
//! documents the code's real defaults, the systemd unit carries its hardening, the compose file
//! is well-formed and wired as documented, the container build copies what cargo needs, and no
//! deployment file names an environment variable the service does not read.

use custos::config::{Config, ConfigError, ServerSection, StorageUrl};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Every `CUSTOS_*` variable the service reads (`custos serve --help`); deployment files may
/// name no other, so a misspelt variable fails here instead of being silently ignored.
const DOCUMENTED_VARS: &[&str] = &[
    "CUSTOS_DIR",
    "CUSTOS_BIND",
    "CUSTOS_TLS_CERT",
    "CUSTOS_TLS_KEY",
    "CUSTOS_LOG_FORMAT",
    "CUSTOS_STORAGE_URL",
    "CUSTOS_S3_ENDPOINT",
    "CUSTOS_S3_REGION",
    "CUSTOS_S3_ALLOW_HTTP",
];

fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn deploy_file(name: &str) -> String {
    let path = repo().join("deploy").join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

// ---------------------------------------------------------------------------------------------
// custos.example.toml
// ---------------------------------------------------------------------------------------------

const EXAMPLE: &str = "custos.example.toml";

fn example() -> (String, Config) {
    let text = deploy_file(EXAMPLE);
    let cfg = Config::parse(&text, Path::new(EXAMPLE))
        .unwrap_or_else(|e| panic!("deploy/{EXAMPLE} is refused by Config::parse: {e}"));
    (text, cfg)
}

#[test]
fn example_config_parses_with_the_values_it_shows() {
    let (_, cfg) = example();
    assert_eq!(cfg.vault.origin, "custos.example.org/agency-x");
    assert_eq!(cfg.vault.examiner, "evidence-intake");
    assert_eq!(cfg.vault.clock, "system-utc");
    assert_eq!(cfg.storage.url, "s3://evidence-bucket/agency-x");
    assert_eq!(
        StorageUrl::parse(&cfg.storage.url),
        Ok(StorageUrl::S3 {
            bucket: "evidence-bucket".into(),
            prefix: "agency-x".into()
        })
    );
    assert_eq!(
        cfg.storage.endpoint.as_deref(),
        Some("https://s3.example.org")
    );
    assert_eq!(cfg.storage.region.as_deref(), Some("eu-west-1"));
    assert!(
        !cfg.storage.allow_http,
        "the example must not allow plain HTTP to S3"
    );
    assert_eq!(cfg.storage.timeout_secs, 30);
    assert_eq!(cfg.storage.max_retries, 3);
    assert_eq!(cfg.keys.dir, "keys");
    // The [server] section shows every default: it must equal the code's defaults exactly.
    assert_eq!(cfg.server, ServerSection::default());
    assert_eq!(cfg.server.bind, "127.0.0.1:8080");
    assert_eq!(cfg.server.tls_cert, None);
    assert_eq!(cfg.server.tls_key, None);
    assert_eq!(cfg.server.log_format, "text");
    assert_eq!(cfg.server.token_idle_secs, 1800);
    assert_eq!(cfg.server.token_ttl_secs, 2_592_000);
    assert_eq!(cfg.server.lockout_attempts, 5);
    assert_eq!(cfg.server.lockout_secs, 900);
    assert_eq!(cfg.server.max_json_bytes, 65_536);
    assert_eq!(cfg.server.max_upload_bytes, 1 << 40);
    assert_eq!(cfg.server.shutdown_grace_secs, 30);
}

/// What a field's comment block says about leaving it out.
#[derive(Debug, Clone, PartialEq)]
enum Documented {
    /// "Required.": the file is refused without it.
    Required,
    /// "Default: `VALUE`": left out, the field takes VALUE (TOML syntax).
    Default(toml::Value),
    /// "Default: none": left out, the field is absent.
    NoDefault,
}

/// One field line of the example, active (`key = v`) or shown commented out (`#key = v`).
#[derive(Debug)]
struct ExampleField {
    section: String,
    key: String,
    line_no: usize,
    active: bool,
    documented: Documented,
}

/// Reads the example's sections, field lines and the comment block above each field. Prose
/// comments have a space after `#`; a field shown commented out has none (`#tls_cert = ...`).
fn example_fields(text: &str) -> Vec<ExampleField> {
    let mut fields = Vec::new();
    let mut section = String::new();
    let mut comments: Vec<&str> = Vec::new();
    for (idx, raw) in text.lines().enumerate() {
        let line_no = idx + 1;
        let line = raw.trim();
        if line.is_empty() {
            continue;
        }
        if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            section = name.to_string();
            comments.clear();
            continue;
        }
        let (body, active) = match line.strip_prefix('#') {
            Some(rest) if rest.starts_with(|c: char| c.is_ascii_lowercase()) => (rest, false),
            Some(rest) => {
                comments.push(rest);
                continue;
            }
            None => (line, true),
        };
        let (key, _) = body
            .split_once('=')
            .unwrap_or_else(|| panic!("{EXAMPLE}:{line_no}: not a field line: {raw}"));
        let block = comments.join("\n");
        let documented = documented(&block).unwrap_or_else(|| {
            panic!(
                "{EXAMPLE}:{line_no}: the comment above `{}` has no \"Required.\", \
                 \"Default: `VALUE`\" or \"Default: none\"",
                key.trim()
            )
        });
        fields.push(ExampleField {
            section: section.clone(),
            key: key.trim().to_string(),
            line_no,
            active,
            documented,
        });
        comments.clear();
    }
    fields
}

fn documented(block: &str) -> Option<Documented> {
    if block.contains("Required.") {
        return Some(Documented::Required);
    }
    let rest = &block[block.find("Default: ")? + "Default: ".len()..];
    if rest.starts_with("none") {
        return Some(Documented::NoDefault);
    }
    let value = rest.strip_prefix('`')?.split('`').next()?;
    let table: toml::Table = toml::from_str(&format!("v = {value}")).ok()?;
    table.get("v").cloned().map(Documented::Default)
}

/// The config as a TOML table, the way the file spells it (absent options are left out).
fn as_toml(cfg: &Config) -> toml::Table {
    toml::from_str(&toml::to_string(cfg).expect("config serializes")).expect("round trip")
}

fn without_line(text: &str, line_no: usize) -> String {
    text.lines()
        .enumerate()
        .filter(|(i, _)| i + 1 != line_no)
        .map(|(_, l)| format!("{l}\n"))
        .collect()
}

#[test]
fn example_config_documents_every_field_and_the_true_default() {
    let (text, cfg) = example();
    let fields = example_fields(&text);

    // Completeness: exactly the fields the code has, options included (JSON keeps them as null).
    let json = serde_json::to_value(&cfg).expect("config serializes");
    let mut in_code = BTreeSet::new();
    for (section, body) in json.as_object().expect("config is an object") {
        for key in body.as_object().expect("section is an object").keys() {
            in_code.insert(format!("{section}.{key}"));
        }
    }
    let in_example: BTreeSet<String> = fields
        .iter()
        .map(|f| format!("{}.{}", f.section, f.key))
        .collect();
    assert_eq!(
        in_example, in_code,
        "deploy/{EXAMPLE} must show every configuration field, and no other"
    );
    assert_eq!(in_example.len(), fields.len(), "a field is shown twice");

    let shown = as_toml(&cfg);
    let field =
        |t: &toml::Table, f: &ExampleField| t.get(&f.section).and_then(|s| s.get(&f.key)).cloned();
    for f in &fields {
        let here = format!("{EXAMPLE}:{} `{}.{}`", f.line_no, f.section, f.key);
        if !f.active {
            // Shown commented out: the example really leaves it out.
            assert_eq!(
                f.documented,
                Documented::NoDefault,
                "{here}: commented-out fields must be optional"
            );
            assert_eq!(field(&shown, f), None, "{here}");
            continue;
        }
        let reduced = without_line(&text, f.line_no);
        let parsed = Config::parse(&reduced, Path::new(EXAMPLE));
        match &f.documented {
            Documented::Required => assert!(
                matches!(parsed, Err(ConfigError::Parse { .. })),
                "{here} is documented as required, yet the file parses without it: {parsed:?}"
            ),
            Documented::NoDefault => {
                let cfg = parsed
                    .unwrap_or_else(|e| panic!("{here}: optional, yet refused when left out: {e}"));
                assert_eq!(
                    field(&as_toml(&cfg), f),
                    None,
                    "{here}: documented without default"
                );
            }
            Documented::Default(want) => {
                let cfg = parsed.unwrap_or_else(|e| {
                    panic!("{here}: has a default, yet refused when left out: {e}")
                });
                let got = field(&as_toml(&cfg), f);
                assert_eq!(
                    got.as_ref(),
                    Some(want),
                    "{here}: the documented default is not the code's"
                );
            }
        }
    }
}

#[test]
fn example_field_reader_rejects_undocumented_fields() {
    // The checker itself: a field without a Required/Default note, and a wrong default, are caught.
    assert_eq!(documented("Some prose."), None);
    assert_eq!(documented("Required."), Some(Documented::Required));
    assert_eq!(
        documented("Default: none (plain HTTP)."),
        Some(Documented::NoDefault)
    );
    assert_eq!(
        documented("x\nDefault: `30`"),
        Some(Documented::Default(toml::Value::Integer(30)))
    );
    let undocumented = std::panic::catch_unwind(|| example_fields("[a]\n# prose\nk = 1\n"));
    assert!(undocumented.is_err());
}

// ---------------------------------------------------------------------------------------------
// custos.service and custos.sysusers.conf
// ---------------------------------------------------------------------------------------------

/// `(section, key, value)` for every assignment of a systemd unit file, in order.
fn unit_assignments(text: &str) -> Vec<(String, String, String)> {
    let mut out = Vec::new();
    let mut section = String::new();
    for (idx, raw) in text.lines().enumerate() {
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') || line.starts_with(';') {
            continue;
        }
        assert!(
            !line.ends_with('\\'),
            "custos.service:{}: keep directives on one line",
            idx + 1
        );
        if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            section = name.to_string();
            continue;
        }
        let (key, value) = line
            .split_once('=')
            .unwrap_or_else(|| panic!("custos.service:{}: not key=value: {raw}", idx + 1));
        out.push((
            section.clone(),
            key.trim().to_string(),
            value.trim().to_string(),
        ));
    }
    out
}

/// The effective value of a single-valued `[Service]` directive: the last assignment wins.
fn effective<'a>(units: &'a [(String, String, String)], key: &str) -> Option<&'a str> {
    units
        .iter()
        .rev()
        .find(|(s, k, _)| s == "Service" && k == key)
        .map(|(_, _, v)| v.as_str())
}

/// Seconds of a systemd time span of the simple forms `45`, `45s`, `2min`, `1min 30s`.
fn timespan_secs(v: &str) -> u64 {
    v.split_whitespace()
        .map(|part| {
            let digits: String = part.chars().take_while(char::is_ascii_digit).collect();
            let n: u64 = digits.parse().unwrap_or_else(|_| panic!("time span {v:?}"));
            match &part[digits.len()..] {
                "" | "s" | "sec" => n,
                "m" | "min" => n * 60,
                "h" => n * 3600,
                unit => panic!("unexpected time unit {unit:?} in {v:?}"),
            }
        })
        .sum()
}

#[test]
fn systemd_unit_is_hardened_as_documented() {
    let text = deploy_file("custos.service");
    let units = unit_assignments(&text);
    let required: &[(&str, &str)] = &[
        ("Type", "exec"),
        ("User", "custos"),
        ("Group", "custos"),
        ("ExecStart", "/usr/local/bin/custos serve"),
        ("StateDirectory", "custos"),
        ("StateDirectoryMode", "0700"),
        ("UMask", "0077"),
        ("NoNewPrivileges", "yes"),
        ("ProtectSystem", "strict"),
        ("ProtectHome", "yes"),
        ("PrivateTmp", "yes"),
        ("PrivateDevices", "yes"),
        ("CapabilityBoundingSet", ""),
        ("AmbientCapabilities", ""),
        ("RestrictAddressFamilies", "AF_INET AF_INET6 AF_UNIX"),
        ("MemoryDenyWriteExecute", "yes"),
        ("LockPersonality", "yes"),
        ("RestrictNamespaces", "yes"),
        ("ProtectKernelTunables", "yes"),
        ("ProtectKernelModules", "yes"),
        ("ProtectKernelLogs", "yes"),
        ("ProtectControlGroups", "yes"),
        ("SystemCallArchitectures", "native"),
        ("KillSignal", "SIGTERM"),
        ("Restart", "on-failure"),
    ];
    for (key, want) in required {
        assert_eq!(
            effective(&units, key),
            Some(*want),
            "custos.service: {key}={want} missing or overridden"
        );
    }
    assert_ne!(
        effective(&units, "DynamicUser"),
        Some("yes"),
        "the service has its own user"
    );

    // Only the state folder is writable.
    let rw: Vec<&str> = units
        .iter()
        .filter(|(s, k, _)| s == "Service" && k == "ReadWritePaths")
        .map(|(_, _, v)| v.as_str())
        .collect();
    assert_eq!(
        rw,
        ["/var/lib/custos"],
        "ReadWritePaths must be the state folder only"
    );

    // System call filter: the service set, never reset later by an empty assignment.
    let filters: Vec<&str> = units
        .iter()
        .filter(|(s, k, _)| s == "Service" && k == "SystemCallFilter")
        .map(|(_, _, v)| v.as_str())
        .collect();
    assert!(
        filters.contains(&"@system-service"),
        "SystemCallFilter=@system-service missing"
    );
    let allow_at = filters
        .iter()
        .position(|f| *f == "@system-service")
        .unwrap_or(0);
    assert!(
        !filters[allow_at..].contains(&""),
        "SystemCallFilter reset after @system-service"
    );

    let envs: Vec<&str> = units
        .iter()
        .filter(|(s, k, _)| s == "Service" && k == "Environment")
        .map(|(_, _, v)| v.as_str())
        .collect();
    assert!(
        envs.contains(&"CUSTOS_DIR=/var/lib/custos/vault"),
        "Environment={envs:?}"
    );

    // The stop timeout outlasts the graceful shutdown, in the code's default and in the example.
    let stop = timespan_secs(effective(&units, "TimeoutStopSec").expect("TimeoutStopSec is set"));
    let (_, example_cfg) = example();
    let grace = ServerSection::default()
        .shutdown_grace_secs
        .max(example_cfg.server.shutdown_grace_secs);
    assert!(
        stop > grace,
        "TimeoutStopSec={stop}s must exceed shutdown_grace_secs={grace}s"
    );
}

#[test]
fn unit_reader_sees_overrides_and_time_spans() {
    let units = unit_assignments("[Service]\nProtectSystem=strict\nProtectSystem=full\n");
    assert_eq!(effective(&units, "ProtectSystem"), Some("full"));
    assert_eq!(timespan_secs("45s"), 45);
    assert_eq!(timespan_secs("1min 30s"), 90);
    assert_eq!(timespan_secs("30"), 30);
}

#[test]
fn sysusers_file_creates_a_system_account_without_login() {
    let text = deploy_file("custos.sysusers.conf");
    let entries: Vec<Vec<&str>> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(|l| l.split_whitespace().collect())
        .collect();
    assert_eq!(entries.len(), 1, "one account: {entries:?}");
    let e = &entries[0];
    assert_eq!(e.first(), Some(&"u"));
    assert_eq!(e.get(1), Some(&"custos"));
    assert_eq!(
        e.get(2),
        Some(&"-"),
        "the id is allocated by systemd-sysusers"
    );
    assert_eq!(e.last(), Some(&"/usr/sbin/nologin"));
    assert!(e.contains(&"/var/lib/custos"));
}

/// Runs `systemd-analyze` when the machine has it: `verify` must print nothing (unknown
/// directives, bad values and missing targets are all reported there), and the offline
/// security score must stay at or below 2.0 (the unit scores 1.1).
#[test]
fn systemd_analyze_accepts_the_unit() {
    if std::process::Command::new("systemd-analyze")
        .arg("--version")
        .output()
        .is_err()
    {
        eprintln!("systemd-analyze is not installed: static checks only");
        return;
    }
    let dir = tempfile::tempdir().expect("temp dir");
    // verify checks that ExecStart exists: point it at the binary cargo built for this test.
    let text = deploy_file("custos.service").replace(
        "ExecStart=/usr/local/bin/custos",
        &format!("ExecStart={}", env!("CARGO_BIN_EXE_custos")),
    );
    let unit = dir.path().join("custos.service");
    std::fs::write(&unit, text).expect("write unit");
    let verify = std::process::Command::new("systemd-analyze")
        .arg("verify")
        .arg(&unit)
        .output()
        .expect("run systemd-analyze verify");
    let report = String::from_utf8_lossy(&verify.stderr).into_owned()
        + &String::from_utf8_lossy(&verify.stdout);
    assert!(
        verify.status.success() && report.trim().is_empty(),
        "systemd-analyze verify: {report}"
    );

    let security = std::process::Command::new("systemd-analyze")
        .args(["security", "--offline=yes", "--threshold=20", "--no-pager"])
        .arg(&unit)
        .output()
        .expect("run systemd-analyze security");
    assert!(
        security.status.success(),
        "exposure above 2.0: {}",
        String::from_utf8_lossy(&security.stdout)
    );
}

// ---------------------------------------------------------------------------------------------
// compose.yaml: a small YAML reader for the subset compose files use
// ---------------------------------------------------------------------------------------------

/// A YAML node of the block subset compose files use. Scalars keep their text.
#[derive(Debug, Clone, PartialEq)]
enum Yaml {
    Map(Vec<(String, Yaml)>),
    Seq(Vec<Yaml>),
    Str(String),
}

impl Yaml {
    fn get(&self, key: &str) -> Option<&Yaml> {
        match self {
            Yaml::Map(entries) => entries.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }
    fn at(&self, path: &[&str]) -> &Yaml {
        path.iter().fold(self, |node, key| {
            node.get(key)
                .unwrap_or_else(|| panic!("compose.yaml has no {}", path.join(".")))
        })
    }
    fn str(&self) -> &str {
        match self {
            Yaml::Str(s) => s,
            other => panic!("expected a scalar, got {other:?}"),
        }
    }
    fn keys(&self) -> Vec<&str> {
        match self {
            Yaml::Map(entries) => entries.iter().map(|(k, _)| k.as_str()).collect(),
            _ => Vec::new(),
        }
    }
    fn items(&self) -> Vec<&Yaml> {
        match self {
            Yaml::Seq(items) => items.iter().collect(),
            _ => Vec::new(),
        }
    }
}

struct Line {
    no: usize,
    indent: usize,
    text: String,
}

/// Parses block mappings and sequences, plain/quoted scalars and flow sequences of scalars;
/// refuses tabs, duplicate keys, bad indentation, anchors, tags and block scalars.
fn parse_yaml(text: &str) -> Result<Yaml, String> {
    let mut lines = Vec::new();
    for (idx, raw) in text.lines().enumerate() {
        let no = idx + 1;
        if raw.contains('\t') {
            return Err(format!("line {no}: tab character"));
        }
        let content = strip_comment(raw).trim_end().to_string();
        if content.trim().is_empty() {
            continue;
        }
        let indent = content.len() - content.trim_start().len();
        lines.push(Line {
            no,
            indent,
            text: content.trim_start().to_string(),
        });
    }
    let mut i = 0;
    let doc = parse_block(&mut lines, &mut i, 0)?;
    match lines.get(i) {
        Some(l) => Err(format!("line {}: unexpected indentation", l.no)),
        None => Ok(doc),
    }
}

fn strip_comment(line: &str) -> &str {
    let (mut single, mut double, mut prev_space) = (false, false, true);
    for (pos, c) in line.char_indices() {
        match c {
            '\'' if !double => single = !single,
            '"' if !single => double = !double,
            '#' if !single && !double && prev_space => return &line[..pos],
            _ => {}
        }
        prev_space = c == ' ';
    }
    line
}

fn parse_block(lines: &mut Vec<Line>, i: &mut usize, indent: usize) -> Result<Yaml, String> {
    let is_item = |t: &str| t == "-" || t.starts_with("- ");
    let Some(first) = lines.get(*i) else {
        return Ok(Yaml::Str(String::new()));
    };
    if is_item(&first.text) {
        let mut items = Vec::new();
        while let Some(line) = lines.get(*i) {
            if line.indent < indent || (line.indent == indent && !is_item(&line.text)) {
                break; // the sequence ends; the caller judges what follows
            }
            if line.indent > indent {
                return Err(format!("line {}: bad sequence indentation", line.no));
            }
            let rest = line.text[1..].trim_start().to_string();
            let no = line.no;
            if rest.is_empty() {
                *i += 1;
                let child_indent = lines.get(*i).map_or(indent + 2, |l| l.indent);
                if child_indent <= indent {
                    return Err(format!("line {no}: empty sequence item"));
                }
                items.push(parse_block(lines, i, child_indent)?);
            } else if split_key(&rest).is_some() {
                // "- key: value" opens a mapping whose entries align with "key".
                let inner = indent + (line.text.len() - rest.len());
                lines[*i] = Line {
                    no,
                    indent: inner,
                    text: rest,
                };
                items.push(parse_block(lines, i, inner)?);
            } else {
                items.push(scalar(&rest, no)?);
                *i += 1;
            }
        }
        return Ok(Yaml::Seq(items));
    }
    let mut entries: Vec<(String, Yaml)> = Vec::new();
    while let Some(line) = lines.get(*i) {
        if line.indent < indent {
            break;
        }
        if line.indent > indent || is_item(&line.text) {
            return Err(format!("line {}: bad mapping indentation", line.no));
        }
        let no = line.no;
        let (key, rest) =
            split_key(&line.text).ok_or(format!("line {no}: expected `key: value`"))?;
        if entries.iter().any(|(k, _)| *k == key) {
            return Err(format!("line {no}: duplicate key {key:?}"));
        }
        *i += 1;
        let value = if !rest.is_empty() {
            scalar(&rest, no)?
        } else {
            match lines.get(*i) {
                Some(next) if next.indent > indent => {
                    let child = next.indent;
                    parse_block(lines, i, child)?
                }
                Some(next) if next.indent == indent && is_item(&next.text) => {
                    parse_block(lines, i, indent)?
                }
                _ => Yaml::Str(String::new()),
            }
        };
        entries.push((key, value));
    }
    Ok(Yaml::Map(entries))
}

/// Splits `key: value` (or `key:`) outside quotes; the key may be quoted.
fn split_key(text: &str) -> Option<(String, String)> {
    let (mut single, mut double) = (false, false);
    let bytes = text.as_bytes();
    for (pos, c) in text.char_indices() {
        match c {
            '\'' if !double => single = !single,
            '"' if !single => double = !double,
            ':' if !single && !double && matches!(bytes.get(pos + 1), None | Some(b' ')) => {
                let key = unquote(text[..pos].trim())?;
                if key.is_empty() || text.starts_with(['[', '{']) {
                    return None;
                }
                return Some((key, text[pos + 1..].trim().to_string()));
            }
            _ => {}
        }
    }
    None
}

fn unquote(s: &str) -> Option<String> {
    if let Some(inner) = s.strip_prefix('"').and_then(|r| r.strip_suffix('"')) {
        let mut out = String::new();
        let mut chars = inner.chars();
        while let Some(c) = chars.next() {
            match c {
                '\\' => out.push(chars.next()?),
                '"' => return None,
                c => out.push(c),
            }
        }
        Some(out)
    } else if let Some(inner) = s.strip_prefix('\'').and_then(|r| r.strip_suffix('\'')) {
        Some(inner.replace("''", "'"))
    } else if s.starts_with(['"', '\'']) {
        None
    } else {
        Some(s.to_string())
    }
}

fn scalar(text: &str, no: usize) -> Result<Yaml, String> {
    if let Some(inner) = text.strip_prefix('[') {
        let inner = inner
            .strip_suffix(']')
            .ok_or(format!("line {no}: unclosed flow sequence"))?;
        let mut items = Vec::new();
        for part in split_flow(inner) {
            items.push(scalar(part.trim(), no)?);
        }
        return Ok(Yaml::Seq(items));
    }
    if text == "{}" {
        return Ok(Yaml::Map(Vec::new()));
    }
    if text.starts_with(['{', '&', '*', '!', '|', '>', '%', '@', '`', ']', '}']) {
        return Err(format!("line {no}: unsupported YAML construct {text:?}"));
    }
    if text.starts_with(['"', '\'']) {
        return unquote(text)
            .map(Yaml::Str)
            .ok_or(format!("line {no}: badly quoted scalar {text:?}"));
    }
    if text.contains(": ") || text.ends_with(':') {
        return Err(format!("line {no}: a plain scalar cannot contain \": \""));
    }
    Ok(Yaml::Str(text.to_string()))
}

fn split_flow(inner: &str) -> Vec<&str> {
    let (mut single, mut double, mut start) = (false, false, 0);
    let mut parts = Vec::new();
    for (pos, c) in inner.char_indices() {
        match c {
            '\'' if !double => single = !single,
            '"' if !single => double = !double,
            ',' if !single && !double => {
                parts.push(&inner[start..pos]);
                start = pos + 1;
            }
            _ => {}
        }
    }
    if !inner[start..].trim().is_empty() {
        parts.push(&inner[start..]);
    }
    parts
}

#[test]
fn yaml_reader_reads_the_subset_and_refuses_broken_files() {
    let doc = parse_yaml(
        "a:\n  b: \"x: y\" # comment\n  c:\n    - 1\n    - k: v\n      l: w\n  d: [\"CMD\", 'e']\ne: {}\n",
    )
    .expect("valid");
    assert_eq!(doc.at(&["a", "b"]).str(), "x: y");
    assert_eq!(doc.at(&["a", "c"]).items().len(), 2);
    assert_eq!(doc.at(&["a", "c"]).items()[1].at(&["l"]).str(), "w");
    assert_eq!(doc.at(&["a", "d"]).items()[1].str(), "e");
    assert_eq!(doc.at(&["e"]), &Yaml::Map(Vec::new()));
    for broken in [
        "a: 1\na: 2\n",        // duplicate key
        "a:\n\tb: 1\n",        // tab
        "a:\n  b: 1\n c: 2\n", // bad indentation
        "a: b: c\n",           // plain scalar with ": "
        "a: [1, 2\n",          // unclosed flow sequence
        "a: \"open\n",         // unclosed quote
        "a: &anchor 1\n",      // anchors are not in the subset
        "- a\nb: 1\n",         // sequence then mapping at one level
    ] {
        assert!(parse_yaml(broken).is_err(), "accepted: {broken:?}");
    }
}

/// `NAME=value` lines of compose.env.example.
fn env_example() -> BTreeMap<String, String> {
    deploy_file("compose.env.example")
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(|l| {
            let (k, v) = l
                .split_once('=')
                .unwrap_or_else(|| panic!("compose.env.example: {l}"));
            (k.to_string(), v.to_string())
        })
        .collect()
}

/// Names in `${NAME}`, `${NAME:-default}` and `${NAME:?message}` interpolations.
fn interpolated_names(text: &str) -> BTreeSet<String> {
    text.match_indices("${")
        .map(|(pos, _)| {
            text[pos + 2..]
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect()
        })
        .collect()
}

/// Compose interpolation against the example env file (defaults after `:-`).
fn interpolate(value: &str, env: &BTreeMap<String, String>) -> String {
    let mut out = String::new();
    let mut rest = value;
    while let Some(start) = rest.find("${") {
        out.push_str(&rest[..start]);
        let end = rest[start..].find('}').expect("closed interpolation") + start;
        let inner = &rest[start + 2..end];
        let (name, default) = inner.split_once(":-").unwrap_or((inner, ""));
        let name = name.split(":?").next().unwrap_or(name);
        out.push_str(env.get(name).map_or(default, String::as_str));
        rest = &rest[end + 1..];
    }
    out + rest
}

fn compose() -> Yaml {
    parse_yaml(&deploy_file("compose.yaml")).unwrap_or_else(|e| panic!("deploy/compose.yaml: {e}"))
}

#[test]
fn compose_file_is_wellformed_and_consistent() {
    let doc = compose();
    let allowed_top = [
        "name", "services", "networks", "volumes", "secrets", "configs",
    ];
    for key in doc.keys() {
        assert!(allowed_top.contains(&key), "unknown top-level key {key}");
    }
    let services = doc.at(&["services"]);
    assert_eq!(services.keys(), ["custos", "minio", "minio-init"]);
    let volumes = doc.at(&["volumes"]).keys();
    let networks = doc.at(&["networks"]).keys();
    for name in services.keys() {
        let svc = services.at(&[name]);
        assert!(svc.get("image").is_some(), "{name}: no image");
        if let Some(deps) = svc.get("depends_on") {
            for dep in deps.keys() {
                assert!(
                    services.get(dep).is_some(),
                    "{name} depends on unknown service {dep}"
                );
                let condition = deps.at(&[dep, "condition"]).str();
                assert!(
                    [
                        "service_started",
                        "service_healthy",
                        "service_completed_successfully"
                    ]
                    .contains(&condition),
                    "{name}: condition {condition}"
                );
            }
        }
        for v in svc.get("volumes").map(Yaml::items).unwrap_or_default() {
            let source = v.str().split(':').next().unwrap_or_default();
            if source.starts_with('.') || source.starts_with('/') {
                let path = repo().join("deploy").join(source);
                assert!(
                    path.exists(),
                    "{name}: bind-mounted {} does not exist",
                    path.display()
                );
            } else {
                assert!(
                    volumes.contains(&source),
                    "{name}: undeclared volume {source}"
                );
            }
        }
        for n in svc.get("networks").map(Yaml::items).unwrap_or_default() {
            assert!(
                networks.contains(&n.str()),
                "{name}: undeclared network {}",
                n.str()
            );
        }
        let one_shot = svc.get("restart").map(Yaml::str) == Some("no");
        assert!(
            one_shot || svc.get("healthcheck").is_some(),
            "{name}: no healthcheck"
        );
    }
    assert_eq!(doc.at(&["networks", "storage", "internal"]).str(), "true");
    assert!(
        services.at(&["minio"]).get("ports").is_none(),
        "the object store must not be published"
    );
}

#[test]
fn compose_runs_the_vault_as_documented() {
    let doc = compose();
    let env = env_example();
    let custos = doc.at(&["services", "custos"]);
    assert_eq!(custos.at(&["build", "context"]).str(), "..");
    assert_eq!(
        custos.at(&["build", "dockerfile"]).str(),
        "deploy/Containerfile"
    );
    let ports: Vec<&str> = custos
        .at(&["ports"])
        .items()
        .into_iter()
        .map(Yaml::str)
        .collect();
    assert_eq!(ports, ["127.0.0.1:8080:8080"], "published on loopback only");
    let vars = custos.at(&["environment"]);
    assert_eq!(vars.at(&["CUSTOS_BIND"]).str(), "0.0.0.0:8080");
    assert_eq!(vars.at(&["CUSTOS_DIR"]).str(), "/var/lib/custos/vault");
    assert_eq!(vars.at(&["CUSTOS_S3_ENDPOINT"]).str(), "http://minio:9000");
    assert_eq!(vars.at(&["CUSTOS_S3_ALLOW_HTTP"]).str(), "1");
    assert!(!vars.at(&["CUSTOS_S3_REGION"]).str().is_empty());
    let url = interpolate(vars.at(&["CUSTOS_STORAGE_URL"]).str(), &env);
    assert_eq!(
        StorageUrl::parse(&url),
        Ok(StorageUrl::S3 {
            bucket: env["S3_BUCKET"].clone(),
            prefix: env["S3_PREFIX"].clone()
        })
    );
    for secret in ["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"] {
        let v = vars.at(&[secret]).str();
        assert!(
            v.starts_with("${") && v.contains(":?"),
            "{secret} must come from compose.env and be required: {v}"
        );
    }
    assert!(
        custos
            .at(&["volumes"])
            .items()
            .iter()
            .any(|v| v.str() == "custos-data:/var/lib/custos")
    );
    assert_eq!(custos.at(&["read_only"]).str(), "true");
    let caps: Vec<&str> = custos
        .at(&["cap_drop"])
        .items()
        .into_iter()
        .map(Yaml::str)
        .collect();
    assert_eq!(caps, ["ALL"]);
    let stop = timespan_secs(custos.at(&["stop_grace_period"]).str());
    assert!(stop > ServerSection::default().shutdown_grace_secs);
    let test: Vec<&str> = custos
        .at(&["healthcheck", "test"])
        .items()
        .into_iter()
        .map(Yaml::str)
        .collect();
    assert_eq!(test, ["CMD", "/usr/local/bin/custos-healthcheck"]);
}

#[test]
fn compose_env_example_defines_every_interpolation_and_holds_no_secret() {
    let text = deploy_file("compose.yaml");
    let env = env_example();
    for name in interpolated_names(&text) {
        assert!(
            env.contains_key(&name),
            "compose.yaml uses ${{{name}}}, undocumented in compose.env.example"
        );
    }
    for (k, v) in &env {
        if k.contains("PASSWORD") || k.contains("SECRET") {
            assert_eq!(
                v, "CHANGE-ME",
                "compose.env.example must not carry a real secret in {k}"
            );
        }
        assert!(
            !k.starts_with("AWS_"),
            "{k}: shells set AWS_* names; use VAULT_S3_* in the env file"
        );
    }
    let init = deploy_file("minio-init.sh");
    assert!(
        init.contains("*CHANGE-ME*"),
        "minio-init.sh must refuse the placeholder secrets"
    );
}

// ---------------------------------------------------------------------------------------------
// Environment variable names, Containerfile, README
// ---------------------------------------------------------------------------------------------

/// Every `CUSTOS_NAME` in `text` (upper-case letters, digits and `_` after the prefix).
fn custos_vars(text: &str) -> BTreeSet<String> {
    text.match_indices("CUSTOS_")
        .filter_map(|(pos, _)| {
            let tail: String = text[pos + 7..]
                .chars()
                .take_while(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || *c == '_')
                .collect();
            let preceded = text[..pos]
                .chars()
                .next_back()
                .is_some_and(|c| c.is_ascii_alphanumeric());
            (!tail.is_empty() && !preceded).then(|| format!("CUSTOS_{tail}"))
        })
        .collect()
}

fn deploy_files() -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(repo().join("deploy"))
        .expect("deploy/ exists")
        .map(|e| e.expect("dir entry").path())
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    files
}

#[test]
fn deployment_files_name_only_documented_variables() {
    let mut seen = BTreeSet::new();
    for path in deploy_files() {
        let text = std::fs::read_to_string(&path).expect("deploy files are text");
        for var in custos_vars(&text) {
            assert!(
                DOCUMENTED_VARS.contains(&var.as_str()),
                "{} names {var}, which the service does not read (documented: {DOCUMENTED_VARS:?})",
                path.display()
            );
            seen.insert(var);
        }
    }
    // Every documented variable is explained somewhere in deploy/.
    let documented: BTreeSet<String> = DOCUMENTED_VARS.iter().map(|v| v.to_string()).collect();
    assert_eq!(seen, documented);
    // The scanner itself catches a typo and stops at punctuation.
    assert_eq!(
        custos_vars("CUSTOS_BINDD=1 $CUSTOS_DIR, CUSTOS_*"),
        BTreeSet::from(["CUSTOS_BINDD".to_string(), "CUSTOS_DIR".to_string()])
    );
}

#[test]
fn containerfile_builds_from_the_right_paths() {
    let text = deploy_file("Containerfile");
    for needle in [
        "ARG RUST_IMAGE=docker.io/library/rust:1.95-bookworm",
        "ARG RUNTIME_IMAGE=docker.io/library/debian:bookworm-slim",
        "cargo build --release --locked --bin custos",
        "-p custos-verify --bin custos-verify",
        "USER 10001:10001",
        "VOLUME [\"/var/lib/custos\"]",
        "EXPOSE 8080",
        "STOPSIGNAL SIGTERM",
        "HEALTHCHECK",
        "CUSTOS_DIR=/var/lib/custos/vault",
        "CUSTOS_BIND=0.0.0.0:8080",
    ] {
        assert!(text.contains(needle), "Containerfile lacks {needle:?}");
    }
    assert!(deploy_file("healthcheck.sh").contains("/healthz"));

    // Sources copied into the build stage (COPY without --from), relative to the repository.
    let copied: Vec<String> = text
        .lines()
        .filter_map(|l| l.strip_prefix("COPY "))
        .filter(|l| !l.starts_with("--from"))
        .flat_map(|l| {
            let words: Vec<&str> = l
                .split_whitespace()
                .filter(|w| !w.starts_with("--"))
                .collect();
            let n = words.len().saturating_sub(1);
            words[..n]
                .iter()
                .map(|w| w.trim_end_matches('/').to_string())
                .collect::<Vec<_>>()
        })
        .collect();
    for path in &copied {
        assert!(
            repo().join(path).exists(),
            "Containerfile copies {path}, which does not exist"
        );
    }
    // `rel` is relative to the repository root.
    let is_copied = |rel: &Path| copied.iter().any(|c| rel.starts_with(c));
    let root = std::fs::canonicalize(repo()).expect("repository path");
    // Every file compiled into a binary by include_str!/include_bytes! is in the build context.
    for dir in ["src", "crates"] {
        for file in rust_files(&repo().join(dir)) {
            let code = std::fs::read_to_string(&file).expect("source is text");
            for m in ["include_str!(\"", "include_bytes!(\""] {
                for (pos, _) in code.match_indices(m) {
                    let rel = code[pos + m.len()..].split('"').next().unwrap_or_default();
                    if file.components().any(|c| c.as_os_str() == "tests") {
                        continue; // test-only fixtures are not built into the image
                    }
                    let target = file.parent().expect("file has a folder").join(rel);
                    let target = std::fs::canonicalize(&target).unwrap_or_else(|e| {
                        panic!("{} includes {}: {e}", file.display(), target.display())
                    });
                    let inside = target.strip_prefix(&root).unwrap_or_else(|_| {
                        panic!(
                            "{} includes {}, outside the repository",
                            file.display(),
                            target.display()
                        )
                    });
                    assert!(
                        is_copied(inside),
                        "{} includes {}, which the Containerfile does not copy",
                        file.display(),
                        inside.display()
                    );
                }
            }
        }
    }
    // Targets the root manifest declares explicitly must exist in the build context.
    let manifest: toml::Table =
        toml::from_str(&std::fs::read_to_string(repo().join("Cargo.toml")).expect("Cargo.toml"))
            .expect("Cargo.toml parses");
    for (kind, dir) in [
        ("bench", "benches"),
        ("test", "tests"),
        ("example", "examples"),
    ] {
        for target in manifest
            .get(kind)
            .and_then(toml::Value::as_array)
            .into_iter()
            .flatten()
        {
            let name = target
                .get("name")
                .and_then(toml::Value::as_str)
                .unwrap_or_default();
            let path = target
                .get("path")
                .and_then(toml::Value::as_str)
                .map_or_else(|| format!("{dir}/{name}.rs"), str::to_string);
            assert!(
                is_copied(Path::new(&path)),
                "Cargo.toml declares {kind} {path}, which the Containerfile does not copy"
            );
        }
    }
}

fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return out;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() && path.file_name().is_some_and(|n| n != "target") {
            out.extend(rust_files(&path));
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
    out
}

#[test]
fn shell_scripts_parse() {
    for script in ["healthcheck.sh", "minio-init.sh"] {
        let out = std::process::Command::new("sh")
            .arg("-n")
            .arg(repo().join("deploy").join(script))
            .output()
            .expect("run sh -n");
        assert!(
            out.status.success(),
            "{script}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

#[test]
fn readme_covers_every_deployment_file() {
    let readme = deploy_file("README.md");
    for path in deploy_files() {
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default();
        if name != "README.md" {
            assert!(
                readme.contains(name),
                "deploy/README.md does not mention {name}"
            );
        }
    }
}
