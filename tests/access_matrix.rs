//! The authorization matrix: docs/ACCESS.md is the specification. Every route of the served
//! OpenAPI document is driven with every role, as a member of the case, as a non-member, and
//! against objects that do not exist, over real HTTP; each answer must be exactly the one the
//! document's tables give, every refusal must be an `access-denied` event, and "hidden" must
//! answer exactly like "absent". A route missing from the tables fails the test.

mod http_support;
use http_support::TestServer;
use std::collections::{BTreeMap, BTreeSet};

const ROLES: [&str; 8] = [
    "administrator",
    "examiner",
    "supervisor",
    "prosecutor",
    "defence",
    "court",
    "auditor",
    "anonymous",
];

type Table = BTreeMap<String, Vec<String>>;

/// The rows of the table under `heading` in docs/ACCESS.md: route -> one cell per role.
fn table(doc: &str, heading: &str) -> Table {
    let start = doc
        .find(heading)
        .unwrap_or_else(|| panic!("docs/ACCESS.md has no '{heading}'"));
    let mut rows = Table::new();
    let mut header_seen = false;
    for line in doc[start + heading.len()..].lines().skip(1) {
        let line = line.trim();
        if line.starts_with("###") || (header_seen && !line.starts_with('|')) {
            break;
        }
        if !line.starts_with('|') {
            continue;
        }
        let cells: Vec<String> = line
            .trim_matches('|')
            .split('|')
            .map(|c| c.trim().to_string())
            .collect();
        if cells[0] == "route" {
            assert_eq!(&cells[1..], ROLES, "column order in '{heading}'");
            header_seen = true;
            continue;
        }
        if cells[0].starts_with("---") {
            continue;
        }
        let route = cells[0].trim_matches('`').to_string();
        assert_eq!(cells.len(), 9, "row {route} in '{heading}' needs 8 cells");
        for c in &cells[1..] {
            assert!(
                ["allow", "401", "403", "404"].contains(&c.as_str()),
                "cell '{c}' of {route}"
            );
        }
        assert!(
            rows.insert(route.clone(), cells[1..].to_vec()).is_none(),
            "{route} twice in '{heading}'"
        );
    }
    assert!(!rows.is_empty(), "no rows under '{heading}'");
    rows
}

/// The served routes: `METHOD /path` from /openapi.json, plus the document itself.
fn served_routes(s: &TestServer) -> BTreeSet<String> {
    let doc: serde_json::Value = s
        .http()
        .get(s.at("/openapi.json"))
        .send()
        .unwrap()
        .json()
        .unwrap();
    let mut out = BTreeSet::from(["GET /openapi.json".to_string()]);
    for (path, ops) in doc["paths"].as_object().unwrap() {
        for method in ops.as_object().unwrap().keys() {
            out.insert(format!("{} {path}", method.to_uppercase()));
        }
    }
    out
}

/// The fixture: a case with an item, accounts in every role inside and outside it.
struct World {
    s: TestServer,
    tokens: BTreeMap<String, String>,
    /// Parties that are not matrix subjects: the item owner, a transfer receiver, a
    /// disclosure requester, an approver and a recipient.
    owner: String,
    req: String,
    boss: String,
    disclosure: String,
    item: String,
    event: u64,
    counter: std::cell::Cell<u32>,
}

const CASE: &str = "M-1";
const NO_CASE: &str = "no-such-case";
const NO_ITEM: &str = "itm_aaaaaaaaaaaaaaaaaaaaaaaaaa";
const NO_TRANSFER: &str = "trf_aaaaaaaaaaaaaaaaaaaaaaaaaa";
const NO_DISCLOSURE: &str = "dsc_aaaaaaaaaaaaaaaaaaaaaaaaaa";

impl World {
    fn new() -> Self {
        let s = TestServer::start();
        let mut tokens = BTreeMap::new();
        s.case(&s.admin, CASE);
        for role in &ROLES[..7] {
            tokens.insert(format!("n-{role}"), s.user(&format!("n-{role}"), role));
            if *role != "administrator" {
                tokens.insert(format!("m-{role}"), s.user(&format!("m-{role}"), role));
                s.member(CASE, &format!("m-{role}"), role);
            }
        }
        let owner = s.user("owner", "examiner");
        s.member(CASE, "owner", "examiner");
        let recv = s.user("recv", "examiner");
        s.member(CASE, "recv", "examiner");
        let req = s.user("req", "prosecutor");
        s.member(CASE, "req", "prosecutor");
        let boss = s.user("boss", "supervisor");
        s.member(CASE, "boss", "supervisor");
        let _recip = s.user("recip", "court");
        let _ = recv;
        let ack = s.upload(&owner, CASE, b"matrix evidence".to_vec());
        let mut w = World {
            item: ack["item"].as_str().unwrap().to_string(),
            event: ack["receipt"]["index"].as_u64().unwrap(),
            s,
            tokens,
            owner,
            req,
            boss,
            disclosure: String::new(),
            counter: std::cell::Cell::new(0),
        };
        w.disclosure = w.new_disclosure(&w.item.clone());
        w.post_ok(
            &w.boss,
            &format!("/v1/disclosures/{}/approve", w.disclosure),
            serde_json::json!({"reason": "fixture"}),
        );
        w
    }

    fn post_ok(&self, token: &str, path: &str, body: serde_json::Value) -> serde_json::Value {
        let r = self
            .s
            .http()
            .post(self.s.at(path))
            .bearer_auth(token)
            .json(&body)
            .send()
            .unwrap();
        let st = r.status();
        let text = r.text().unwrap();
        assert!(st.is_success(), "{path}: {st} {text}");
        serde_json::from_str(&text).unwrap()
    }

    /// A disclosure of `item` requested by the fixture prosecutor for the fixture recipient.
    fn new_disclosure(&self, item: &str) -> String {
        let v = self.post_ok(
            &self.req,
            &format!("/v1/cases/{CASE}/disclosures"),
            serde_json::json!({"items": [item], "recipient": "recip", "recipient_kind": "court",
                "instrument": "order-1", "purpose": "matrix", "view_only": false}),
        );
        v["id"].as_str().unwrap().to_string()
    }

    /// A fresh item of the case, held by the fixture owner.
    fn fresh_item(&self) -> String {
        let ack = self
            .s
            .upload(&self.owner, CASE, self.fresh("item").into_bytes());
        ack["item"].as_str().unwrap().to_string()
    }

    fn fresh(&self, prefix: &str) -> String {
        self.counter.set(self.counter.get() + 1);
        format!("{prefix}-{}", self.counter.get())
    }

    /// A throwaway account created by the first administrator.
    fn throwaway_user(&self) -> String {
        let name = self.fresh("t");
        self.s.user(&name, "court");
        name
    }

    fn denied_events(&self) -> i64 {
        let c = rusqlite::Connection::open(self.s.dir.join("custos.db")).unwrap();
        c.query_row(
            "SELECT COUNT(*) FROM events WHERE action = 'access-denied'",
            [],
            |r| r.get(0),
        )
        .unwrap()
    }

    /// Build and send the request for `route` as `token`; `absent` targets objects that do
    /// not exist instead of the fixture's.
    fn call(&self, route: &str, token: Option<&str>, absent: bool) -> reqwest::blocking::Response {
        let (method, template) = route.split_once(' ').unwrap();
        let mut path = template.to_string();
        let mut body: Option<serde_json::Value> = None;
        let mut raw: Option<Vec<u8>> = None;
        let mut query = String::new();
        let case = if absent { NO_CASE } else { CASE };
        path = path.replace("{case}", case);
        path = path.replace("{item}", if absent { NO_ITEM } else { &self.item });
        path = path.replace(
            "{index}",
            &if absent { 999_999 } else { self.event }.to_string(),
        );
        match route {
            "GET /v1/log/consistency" => query = "?old=1".into(),
            "POST /v1/users" => {
                body = Some(serde_json::json!({"name": self.fresh("u"), "role": "auditor"}))
            }
            "POST /v1/users/{user}/disable" => {
                let u = if absent {
                    "no-such-user".into()
                } else {
                    self.throwaway_user()
                };
                path = path.replace("{user}", &u);
            }
            "POST /v1/users/{user}/unlock" | "POST /v1/users/{user}/tokens" => {
                path = path.replace("{user}", if absent { "no-such-user" } else { "owner" });
                body = Some(serde_json::json!({}));
            }
            "DELETE /v1/tokens/{token}" => {
                let id = if absent {
                    "aaaaaaaaaaaaaaaa".to_string()
                } else {
                    let t = self.s.token(&self.throwaway_user());
                    t[4..20].to_string()
                };
                path = path.replace("{token}", &id);
            }
            "POST /v1/cases" => body = Some(serde_json::json!({"name": self.fresh("case")})),
            "POST /v1/cases/{case}/members" => {
                body = Some(serde_json::json!({"user": self.throwaway_user(), "role": "court"}))
            }
            "DELETE /v1/cases/{case}/members/{user}" => {
                let u = self.throwaway_user();
                self.s.member(CASE, &u, "court");
                path = path.replace("{user}", &u);
            }
            "POST /v1/cases/{case}/items" => {
                query = "?file_name=m.bin".into();
                raw = Some(self.fresh("bytes").into_bytes());
            }
            "GET /v1/items/{item}/content" => query = "?purpose=matrix".into(),
            "POST /v1/items/{item}/transfers" => {
                if !absent {
                    path = format!("/v1/items/{}/transfers", self.fresh_item());
                }
                body = Some(serde_json::json!({"to": "recv", "reason": "matrix"}));
            }
            "POST /v1/transfers/{id}/accept" => {
                let id = if absent {
                    NO_TRANSFER.to_string()
                } else {
                    let item = self.fresh_item();
                    let v = self.post_ok(
                        &self.owner,
                        &format!("/v1/items/{item}/transfers"),
                        serde_json::json!({"to": "recv", "reason": "fixture"}),
                    );
                    v["id"].as_str().unwrap().to_string()
                };
                path = path.replace("{id}", &id);
            }
            "POST /v1/cases/{case}/disclosures" => {
                body = Some(
                    serde_json::json!({"items": [self.item], "recipient": "recip",
                    "recipient_kind": "court", "instrument": "order-2", "purpose": "matrix",
                    "view_only": false}),
                )
            }
            "POST /v1/disclosures/{id}/approve" | "POST /v1/disclosures/{id}/refuse" => {
                let id = if absent {
                    NO_DISCLOSURE.to_string()
                } else {
                    self.new_disclosure(&self.item)
                };
                path = path.replace("{id}", &id);
                body = Some(serde_json::json!({"reason": "matrix"}));
            }
            "GET /v1/disclosures/{id}/items/{item}/content" => {
                query = "?purpose=matrix".into();
            }
            "POST /v1/disclosures/{id}/ack" => body = Some(serde_json::json!({})),
            _ => {}
        }
        if path.contains("{id}") && route.contains("/disclosures/") {
            path = path.replace(
                "{id}",
                if absent {
                    NO_DISCLOSURE
                } else {
                    &self.disclosure
                },
            );
        }
        assert!(
            !path.contains('{'),
            "no request recipe for {route}: add one to tests/access_matrix.rs"
        );
        let c = self.s.http();
        let url = self.s.at(&format!("{path}{query}"));
        let mut req = match method {
            "GET" => c.get(url),
            "POST" => c.post(url),
            "DELETE" => c.delete(url),
            "PUT" => c.put(url),
            m => panic!("method {m}"),
        };
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        if let Some(b) = body {
            req = req.json(&b);
        } else if let Some(r) = raw {
            req = req.body(r);
        } else if method == "POST" {
            req = req.json(&serde_json::json!({}));
        }
        req.send().unwrap()
    }

    fn token_for(&self, role: &str, member: bool) -> Option<String> {
        if role == "anonymous" {
            return None;
        }
        let key = if member && role != "administrator" {
            format!("m-{role}")
        } else {
            format!("n-{role}")
        };
        Some(self.tokens[&key].clone())
    }
}

fn outcome(status: u16) -> &'static str {
    match status {
        200..=299 => "allow",
        401 => "401",
        403 => "403",
        404 => "404",
        _ => "other",
    }
}

/// Replace ids so that answers about different objects can be compared.
fn normalize(detail: &str, w: &World) -> String {
    // Any `itm_`/`trf_`/`dsc_` id (fresh objects are made per call) becomes ID.
    let mut out = String::new();
    let mut rest = detail;
    while let Some(pos) = ["itm_", "trf_", "dsc_"]
        .iter()
        .filter_map(|p| rest.find(p))
        .min()
    {
        out.push_str(&rest[..pos]);
        let tail = &rest[pos + 4..];
        let n = tail
            .bytes()
            .take_while(|b| b.is_ascii_lowercase() || (b'2'..=b'7').contains(b))
            .count();
        out.push_str("ID");
        rest = &tail[n..];
    }
    out.push_str(rest);
    out.replace(&w.item, "ID")
        .replace(NO_ITEM, "ID")
        .replace(CASE, "ID")
        .replace(NO_CASE, "ID")
        .replace(&w.event.to_string(), "ID")
        .replace("999999", "ID")
        .replace(&w.disclosure, "ID")
        .replace(NO_DISCLOSURE, "ID")
        .replace(NO_TRANSFER, "ID")
}

#[test]
fn every_route_answers_every_role_as_docs_access_md_says() {
    let doc =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/ACCESS.md")).unwrap();
    let member = table(&doc, "### As a member of the case");
    let outsider = table(&doc, "### Not a member of the case");
    let w = World::new();

    let served = served_routes(&w.s);
    let documented: BTreeSet<String> = member.keys().cloned().collect();
    let missing: Vec<_> = served.difference(&documented).collect();
    assert!(
        missing.is_empty(),
        "routes missing from docs/ACCESS.md: {missing:?}"
    );
    let stale: Vec<_> = documented.difference(&served).collect();
    assert!(
        stale.is_empty(),
        "docs/ACCESS.md lists routes not served: {stale:?}"
    );
    assert_eq!(
        outsider.keys().collect::<Vec<_>>(),
        member.keys().collect::<Vec<_>>(),
        "both tables list the same routes"
    );

    let mut failures = Vec::new();
    let mut checked = 0;
    for (table_name, tab, is_member) in
        [("member", &member, true), ("non-member", &outsider, false)]
    {
        for (route, cells) in tab {
            for (role, want) in ROLES.iter().zip(cells) {
                let token = w.token_for(role, is_member);
                let before = w.denied_events();
                let r = w.call(route, token.as_deref(), false);
                let status = r.status().as_u16();
                let ct = r
                    .headers()
                    .get("content-type")
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("")
                    .to_string();
                let body = r.text().unwrap_or_default();
                let got = outcome(status);
                checked += 1;
                if got != want {
                    failures.push(format!(
                        "{route} as {role} ({table_name}): expected {want}, got {status} {body}"
                    ));
                    continue;
                }
                if got != "allow" {
                    if ct != "application/problem+json" {
                        failures.push(format!("{route} as {role}: {status} is not problem+json"));
                    }
                    if w.denied_events() <= before {
                        failures.push(format!(
                            "{route} as {role} ({table_name}): refusal {status} was not logged"
                        ));
                    }
                }
            }
        }
    }

    // Absent objects: 404 for every role the route allows; same answer as a hidden object.
    for (route, cells) in &member {
        let scoped = ["{case}", "{item}", "{index}", "{user}", "{token}", "{id}"]
            .iter()
            .any(|p| route.contains(p));
        if !scoped {
            continue;
        }
        for (role, want) in ROLES.iter().zip(cells) {
            if want != "allow" {
                continue;
            }
            let token = w.token_for(role, true);
            let before = w.denied_events();
            let r = w.call(route, token.as_deref(), true);
            let status = r.status().as_u16();
            let absent: serde_json::Value = r.json().unwrap_or_default();
            checked += 1;
            if status != 404 {
                failures.push(format!(
                    "{route} as {role} on an absent object: {status} {absent}"
                ));
                continue;
            }
            let route_is_case_scoped = !route.contains("{user}") && !route.contains("{token}");
            if route_is_case_scoped && w.denied_events() <= before {
                failures.push(format!(
                    "{route} as {role}: the absent-object refusal was not logged"
                ));
            }
            // A hidden object: an outsider whose answer is 404 in the non-member table.
            let hidden_role = ROLES
                .iter()
                .zip(&outsider[route])
                .find(|(r, c)| **r != "anonymous" && c.as_str() == "404")
                .map(|(r, _)| *r);
            if let Some(hr) = hidden_role {
                let h: serde_json::Value = w
                    .call(route, w.token_for(hr, false).as_deref(), false)
                    .json()
                    .unwrap_or_default();
                let (a, b) = (
                    normalize(absent["detail"].as_str().unwrap_or(""), &w),
                    normalize(h["detail"].as_str().unwrap_or(""), &w),
                );
                if a != b || absent["code"] != h["code"] {
                    failures.push(format!(
                        "{route}: hidden ({hr}) and absent ({role}) answers differ: {h} vs {absent}"
                    ));
                }
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {checked} checks failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert!(checked > 400, "only {checked} checks ran");
}
