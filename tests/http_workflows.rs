//! The custody workflows over real HTTP on loopback: custody transfers, disclosures (download,
//! view-only, expiry, refusal, acknowledgement) and the item report, each step checked in the
//! item's custody chain; refusals checked to be recorded as `access-denied` events.

mod http_support;
use http_support::{TestServer, assert_problem};
use reqwest::blocking::Response;
use serde_json::{Value, json};

fn get(s: &TestServer, token: &str, path: &str) -> Response {
    s.http().get(s.at(path)).bearer_auth(token).send().unwrap()
}

fn post(s: &TestServer, token: &str, path: &str, body: Value) -> Response {
    s.http()
        .post(s.at(path))
        .bearer_auth(token)
        .json(&body)
        .send()
        .unwrap()
}

fn ok_json(r: Response, status: u16) -> Value {
    let got = r.status().as_u16();
    let text = r.text().unwrap();
    assert_eq!(got, status, "{text}");
    serde_json::from_str(&text).unwrap()
}

/// The item's custody chain: the parsed events, oldest first.
fn chain(s: &TestServer, token: &str, item: &str) -> Vec<Value> {
    let evs = ok_json(get(s, token, &format!("/v1/items/{item}/events")), 200);
    evs.as_array()
        .unwrap()
        .iter()
        .map(|e| e["event"].clone())
        .collect()
}

fn actions(events: &[Value]) -> Vec<String> {
    events
        .iter()
        .map(|e| e["action"].as_str().unwrap().to_string())
        .collect()
}

/// Every event of the log, read as an auditor.
fn whole_log(s: &TestServer, auditor: &str) -> Vec<Value> {
    let mut out: Vec<Value> = Vec::new();
    loop {
        let page = ok_json(
            get(s, auditor, &format!("/v1/log/events?from={}", out.len())),
            200,
        );
        let page = page.as_array().unwrap();
        if page.is_empty() {
            return out;
        }
        out.extend(page.iter().map(|e| e["event"].clone()));
    }
}

/// The `access-denied` events recorded for `user` on `route`.
fn denials<'a>(log: &'a [Value], user: &str, route: &str) -> Vec<&'a Value> {
    log.iter()
        .filter(|e| {
            e["action"] == "access-denied"
                && e["actor"]["name"] == user
                && e["details"]["route"] == route
        })
        .collect()
}

fn custodian(s: &TestServer, token: &str, item: &str) -> String {
    ok_json(get(s, token, &format!("/v1/items/{item}")), 200)["custodian"]
        .as_str()
        .unwrap()
        .to_string()
}

const ACCEPT_ROUTE: &str = "POST /v1/transfers/{id}/accept";

#[test]
fn transfer_moves_custody_only_on_accept_and_only_for_the_receiver() {
    let s = TestServer::start();
    let eve = s.user("eve", "examiner");
    let frank = s.user("frank", "examiner");
    let mal = s.user("mal", "examiner");
    let sam = s.user("sam", "supervisor");
    let aud = s.user("aud", "auditor");
    let olga = s.user("olga", "examiner");
    s.case(&eve, "C-T");
    s.member("C-T", "frank", "examiner");
    s.member("C-T", "mal", "examiner");
    s.member("C-T", "sam", "supervisor");
    s.member("C-T", "aud", "auditor");
    let item = s.upload(&eve, "C-T", b"seized phone image".to_vec())["item"]
        .as_str()
        .unwrap()
        .to_string();
    let offer = format!("/v1/items/{item}/transfers");
    assert_eq!(custodian(&s, &eve, &item), "eve");

    // Who may offer: not an outsider (404, as if no such item), not a member without the
    // transfer permission, not a member who is neither custodian nor supervisor (403).
    let body = json!({"to": "frank", "reason": "lab hand-over"});
    assert_problem(post(&s, &olga, &offer, body.clone()), 404, "not-found");
    assert_problem(post(&s, &aud, &offer, body.clone()), 403, "forbidden");
    assert_problem(post(&s, &mal, &offer, body.clone()), 403, "forbidden");
    // To whom: a member whose case role allows transfer, other than the custodian.
    for to in ["olga", "aud", "eve", "nobody"] {
        let b = json!({"to": to, "reason": "x"});
        assert_problem(post(&s, &eve, &offer, b), 400, "invalid-parameter");
    }
    assert_problem(
        post(&s, &eve, &offer, json!({"to": "frank", "reason": " "})),
        400,
        "invalid-parameter",
    );

    let t = ok_json(post(&s, &eve, &offer, body.clone()), 201);
    let tid = t["id"].as_str().unwrap().to_string();
    assert!(tid.starts_with("trf_") && tid.len() == 30, "{tid}");
    assert_eq!(
        (&t["from"], &t["to"], &t["state"]),
        (&json!("eve"), &json!("frank"), &json!("pending"))
    );
    assert_eq!(
        custodian(&s, &eve, &item),
        "eve",
        "custody moves only on accept"
    );
    // One pending transfer per item.
    let b = json!({"to": "mal", "reason": "second offer"});
    assert_problem(post(&s, &eve, &offer, b), 409, "conflict");

    // Nobody but the receiver learns the transfer exists: the same 404 as a made-up id.
    let accept = format!("/v1/transfers/{tid}/accept");
    for token in [&mal, &eve, &sam, &olga] {
        assert_problem(post(&s, token, &accept, json!(null)), 404, "not-found");
    }
    let made_up = "/v1/transfers/trf_aaaaaaaaaaaaaaaaaaaaaaaaaa/accept";
    let p1 = assert_problem(post(&s, &mal, made_up, json!(null)), 404, "not-found");
    assert!(p1["detail"].as_str().unwrap().contains("not found"));
    assert_problem(
        post(&s, &mal, "/v1/transfers/bogus/accept", json!(null)),
        404,
        "not-found",
    );
    assert_eq!(custodian(&s, &eve, &item), "eve");
    // Each refused accept is in the log, with who, the route and the answer.
    let log = whole_log(&s, &aud);
    let mal_denied = denials(&log, "mal", ACCEPT_ROUTE);
    assert_eq!(mal_denied.len(), 3, "{mal_denied:?}");
    assert!(mal_denied.iter().all(|e| e["details"]["status"] == 404));
    // The one about the real transfer names its item (so it is in the item's chain too).
    assert_eq!(mal_denied[0]["item"]["id"], item.as_str());
    assert_eq!(denials(&log, "olga", ACCEPT_ROUTE).len(), 1);

    // Lists: the parties see it, others do not.
    let listed = ok_json(get(&s, &frank, "/v1/transfers"), 200);
    assert_eq!(listed.as_array().unwrap().len(), 1);
    assert_eq!(listed[0]["id"], tid.as_str());
    assert_eq!(
        ok_json(get(&s, &eve, "/v1/transfers"), 200)[0]["id"],
        tid.as_str()
    );
    assert_eq!(ok_json(get(&s, &mal, "/v1/transfers"), 200), json!([]));

    let done = ok_json(post(&s, &frank, &accept, json!(null)), 200);
    assert_eq!(done["state"], "accepted");
    assert_eq!(custodian(&s, &eve, &item), "frank");
    assert_problem(post(&s, &frank, &accept, json!(null)), 409, "conflict");

    // The chain: ingest, the offer, the refused accept attempts on it, the accept.
    let ev = chain(&s, &eve, &item);
    let acts = actions(&ev);
    assert_eq!(acts.first().map(String::as_str), Some("ingest"));
    let init = ev
        .iter()
        .find(|e| e["action"] == "transfer-initiate")
        .unwrap();
    assert_eq!(init["seq"], t["initiate_event"]);
    assert_eq!(
        init["details"],
        json!({"transfer": tid, "from": "eve", "to": "frank"})
    );
    assert_eq!(init["reason"], "lab hand-over");
    assert_eq!(init["actor"]["name"], "eve");
    let acc = ev.last().unwrap();
    assert_eq!(acc["action"], "transfer-accept");
    assert_eq!(acc["actor"]["name"], "frank");
    assert_eq!(acc["seq"], done["accept_event"]);
    assert_eq!(
        acc["details"],
        json!({"transfer": tid, "from": "eve", "to": "frank"})
    );
    assert_eq!(
        ev.iter()
            .filter(|e| e["action"] == "access-denied" && e["details"]["route"] == ACCEPT_ROUTE)
            .count(),
        4,
        "mal, eve, sam, olga on the real transfer: {acts:?}"
    );

    // The former custodian may no longer hand it over; a case supervisor may.
    assert_problem(
        post(&s, &eve, &offer, json!({"to": "mal", "reason": "x"})),
        403,
        "forbidden",
    );
    let t2 = ok_json(
        post(
            &s,
            &sam,
            &offer,
            json!({"to": "eve", "reason": "reassigned"}),
        ),
        201,
    );
    assert_eq!(
        t2["from"], "frank",
        "from is the custodian, not the supervisor"
    );
    let accept2 = format!("/v1/transfers/{}/accept", t2["id"].as_str().unwrap());
    ok_json(post(&s, &eve, &accept2, json!(null)), 200);
    assert_eq!(custodian(&s, &eve, &item), "eve");
    let listed = ok_json(get(&s, &frank, "/v1/transfers"), 200);
    assert_eq!(listed.as_array().unwrap().len(), 2);
}

/// A case with a prosecutor, a supervisor, an examiner, an outsider, an auditor (log reader)
/// and defence counsel who is not a member; two items.
struct DisclosureCase {
    s: TestServer,
    eve: String,
    pat: String,
    sam: String,
    dan: String,
    olga: String,
    aud: String,
    items: Vec<String>,
    data: Vec<Vec<u8>>,
}

fn disclosure_case() -> DisclosureCase {
    let s = TestServer::start();
    let eve = s.user("eve", "examiner");
    let pat = s.user("pat", "prosecutor");
    let sam = s.user("sam", "supervisor");
    let dan = s.user("dan", "defence");
    let olga = s.user("olga", "examiner");
    let aud = s.user("aud", "auditor");
    s.case(&eve, "C-D");
    s.member("C-D", "pat", "prosecutor");
    s.member("C-D", "sam", "supervisor");
    let data: Vec<Vec<u8>> = (0..2u8)
        .map(|k| {
            (0..200_000u32)
                .map(|i| (i * 13 + u32::from(k)) as u8)
                .collect()
        })
        .collect();
    let items = data
        .iter()
        .map(|d| {
            s.upload(&eve, "C-D", d.clone())["item"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    DisclosureCase {
        s,
        eve,
        pat,
        sam,
        dan,
        olga,
        aud,
        items,
        data,
    }
}

fn request_body(items: &[&str], view_only: bool, expires: u64, max: u32) -> Value {
    json!({
        "items": items,
        "recipient": "dan",
        "recipient_kind": "defence",
        "instrument": "Order 2026/17, Crown Court",
        "purpose": "trial preparation",
        "view_only": view_only,
        "expires_secs": expires,
        "max_downloads": max,
    })
}

#[test]
fn disclosure_request_approval_counted_downloads_view_and_acknowledgement() {
    let DisclosureCase {
        s,
        eve,
        pat,
        sam,
        dan,
        olga,
        aud,
        items,
        data,
    } = disclosure_case();
    let (a, b) = (items[0].as_str(), items[1].as_str());
    let create = "/v1/cases/C-D/disclosures";

    // Requests: prosecutors may, examiners may not; outsiders do not see the case.
    let req = request_body(&[a, b], false, 3600, 2);
    assert_problem(post(&s, &eve, create, req.clone()), 403, "forbidden");
    assert_problem(post(&s, &olga, create, req.clone()), 404, "not-found");
    let mut to_examiner = req.clone();
    to_examiner["recipient"] = json!("olga");
    assert_problem(
        post(&s, &pat, create, to_examiner),
        400,
        "invalid-parameter",
    );
    let mut foreign_item = req.clone();
    foreign_item["items"] = json!(["itm_aaaaaaaaaaaaaaaaaaaaaaaaaa"]);
    assert_problem(
        post(&s, &pat, create, foreign_item),
        400,
        "invalid-parameter",
    );
    let mut no_instrument = req.clone();
    no_instrument["instrument"] = json!("");
    assert_problem(
        post(&s, &pat, create, no_instrument),
        400,
        "invalid-parameter",
    );
    let mut bad_kind = req.clone();
    bad_kind["recipient_kind"] = json!("press");
    assert_problem(post(&s, &pat, create, bad_kind), 400, "invalid-json");

    let d = ok_json(post(&s, &pat, create, req), 201);
    let id = d["id"].as_str().unwrap().to_string();
    assert!(id.starts_with("dsc_") && id.len() == 30, "{id}");
    assert_eq!(d["state"], "requested");
    assert_eq!(d["items"].as_array().unwrap().len(), 2);
    assert_eq!(
        d["events"].as_array().unwrap().len(),
        2,
        "one event per item"
    );
    let base = format!("/v1/disclosures/{id}");
    let content_a = format!("{base}/items/{a}/content");

    // Nothing is readable before approval.
    assert_problem(get(&s, &dan, &content_a), 403, "forbidden");
    // Deciding: not the requester (even though it can see it), not an examiner, not the
    // recipient; an outsider gets the 404 of a disclosure that does not exist.
    let why = json!({"reason": "order verified"});
    let p = assert_problem(
        post(&s, &pat, &format!("{base}/approve"), why.clone()),
        403,
        "forbidden",
    );
    assert!(
        p["detail"].as_str().unwrap().contains("you requested"),
        "{p}"
    );
    assert_problem(
        post(&s, &eve, &format!("{base}/approve"), why.clone()),
        403,
        "forbidden",
    );
    assert_problem(
        post(&s, &dan, &format!("{base}/approve"), why.clone()),
        403,
        "forbidden",
    );
    assert_problem(
        post(&s, &olga, &format!("{base}/approve"), why.clone()),
        404,
        "not-found",
    );
    assert_problem(get(&s, &olga, &base), 404, "not-found");
    assert_problem(
        get(&s, &olga, "/v1/disclosures/dsc_aaaaaaaaaaaaaaaaaaaaaaaaaa"),
        404,
        "not-found",
    );
    let log = whole_log(&s, &aud);
    assert_eq!(
        denials(&log, "pat", "POST /v1/disclosures/{id}/approve").len(),
        1
    );
    assert_eq!(denials(&log, "olga", "GET /v1/disclosures/{id}").len(), 2);

    let ok = ok_json(post(&s, &sam, &format!("{base}/approve"), why.clone()), 200);
    assert_eq!(ok["state"], "approved");
    assert_eq!(ok["decided_by"], "sam");
    assert!(ok["expires_at"].as_str().is_some());
    assert_problem(
        post(&s, &sam, &format!("{base}/refuse"), why),
        409,
        "conflict",
    );

    // Counted downloads: whole, then a range; the third is gone. Per item.
    let r = get(&s, &dan, &content_a);
    assert_eq!(r.status(), 200);
    assert!(r.headers().contains_key("repr-digest"));
    assert!(
        r.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .starts_with("attachment")
    );
    assert_eq!(r.bytes().unwrap().as_ref(), &data[0][..]);
    let r = s
        .http()
        .get(s.at(&content_a))
        .bearer_auth(&dan)
        .header("Range", "bytes=100-199")
        .send()
        .unwrap();
    assert_eq!(r.status(), 206);
    assert_eq!(r.bytes().unwrap().as_ref(), &data[0][100..200]);
    let p = assert_problem(get(&s, &dan, &content_a), 410, "gone");
    assert!(
        p["detail"].as_str().unwrap().contains("downloaded 2 times"),
        "{p}"
    );
    let content_b = format!("{base}/items/{b}/content");
    assert_eq!(
        get(&s, &dan, &content_b).bytes().unwrap().as_ref(),
        &data[1][..]
    );
    // Only the recipient reads through the disclosure.
    assert_problem(get(&s, &eve, &content_b), 403, "forbidden");
    assert_problem(get(&s, &olga, &content_b), 404, "not-found");
    let not_in = format!("{base}/items/itm_aaaaaaaaaaaaaaaaaaaaaaaaaa/content");
    assert_problem(get(&s, &dan, &not_in), 404, "not-found");
    // Reading in place is not counted.
    let r = get(&s, &dan, &format!("{base}/items/{a}/view"));
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-disposition"], "inline");
    assert_eq!(r.bytes().unwrap().as_ref(), &data[0][..]);
    let now = ok_json(get(&s, &dan, &base), 200);
    let downloads: Vec<u64> = now["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["downloads"].as_u64().unwrap())
        .collect();
    let a_first = now["items"][0]["item"] == a;
    assert_eq!(downloads, if a_first { [2, 1] } else { [1, 2] });

    // Lists.
    let ids = |token: &str| -> Vec<String> {
        ok_json(get(&s, token, "/v1/disclosures"), 200)
            .as_array()
            .unwrap()
            .iter()
            .map(|d| d["id"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(ids(&dan), std::slice::from_ref(&id));
    assert_eq!(ids(&pat), std::slice::from_ref(&id));
    assert_eq!(ids(&sam), std::slice::from_ref(&id));
    assert!(
        ids(&eve).is_empty(),
        "an examiner neither requests nor decides"
    );
    assert!(ids(&olga).is_empty());
    // Case members who see the case see the disclosure.
    ok_json(get(&s, &eve, &base), 200);

    // Acknowledgement by the recipient only; items stay readable until expiry.
    assert_problem(
        post(&s, &pat, &format!("{base}/ack"), json!({})),
        403,
        "forbidden",
    );
    let acked = ok_json(
        post(
            &s,
            &dan,
            &format!("{base}/ack"),
            json!({"note": "2 items received"}),
        ),
        200,
    );
    assert_eq!(acked["state"], "acknowledged");
    assert_problem(
        post(&s, &dan, &format!("{base}/ack"), json!({})),
        409,
        "conflict",
    );
    assert_eq!(get(&s, &dan, &content_b).status(), 200);

    // Every step is in item a's chain, in order.
    let ev = chain(&s, &eve, a);
    let steps: Vec<&Value> = ev
        .iter()
        .filter(|e| e["action"] != "access-denied")
        .collect();
    let acts: Vec<&str> = steps
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        acts,
        [
            "ingest",
            "disclosure-request",
            "disclosure-approve",
            "disclosure-fetch",
            "disclosure-fetch",
            "disclosure-fetch",
            "disclosure-ack"
        ]
    );
    let req_ev = steps[1];
    assert_eq!(req_ev["actor"]["name"], "pat");
    assert_eq!(req_ev["reason"], "trial preparation");
    assert_eq!(
        req_ev["details"],
        json!({"disclosure": id, "recipient": "dan", "recipient_kind": "defence",
               "instrument": "Order 2026/17, Crown Court", "view_only": false,
               "expires_secs": 3600, "max_downloads": 2})
    );
    assert_eq!(steps[2]["actor"]["name"], "sam");
    assert_eq!(steps[2]["reason"], "order verified");
    assert_eq!(steps[3]["details"]["delivery"], "download");
    assert_eq!(steps[3]["details"]["download"], 1);
    assert_eq!(steps[4]["details"]["download"], 2);
    assert_eq!(
        steps[4]["details"]["range"],
        json!({"start": 100, "end": 199})
    );
    assert_eq!(steps[5]["details"]["delivery"], "view");
    assert!(steps[5]["details"].get("download").is_none());
    assert_eq!(steps[6]["actor"]["name"], "dan");
    assert_eq!(steps[6]["reason"], "2 items received");
    // The refusals on item a (before approval, and past the download limit) are there too.
    let denied: Vec<i64> = ev
        .iter()
        .filter(|e| e["action"] == "access-denied")
        .map(|e| e["details"]["status"].as_i64().unwrap())
        .collect();
    assert!(denied.contains(&403) && denied.contains(&410), "{denied:?}");
}

#[test]
fn view_only_expiry_and_refusal() {
    let DisclosureCase {
        s,
        pat,
        sam,
        dan,
        aud,
        items,
        data,
        ..
    } = disclosure_case();
    let a = items[0].as_str();
    let create = "/v1/cases/C-D/disclosures";
    let why = json!({"reason": "ok"});

    // View-only: no download, ever; reading in place works, ranges too, never cached.
    let d = ok_json(
        post(&s, &pat, create, request_body(&[a], true, 3600, 5)),
        201,
    );
    assert_eq!(d["view_only"], true);
    assert_eq!(d["max_downloads"], 0, "ignored for a view-only disclosure");
    let base = format!("/v1/disclosures/{}", d["id"].as_str().unwrap());
    ok_json(post(&s, &sam, &format!("{base}/approve"), why.clone()), 200);
    let p = assert_problem(
        get(&s, &dan, &format!("{base}/items/{a}/content")),
        403,
        "forbidden",
    );
    let detail = p["detail"].as_str().unwrap();
    assert!(
        detail.contains("view-only") && detail.contains("/view"),
        "{detail}"
    );
    for _ in 0..3 {
        let r = get(&s, &dan, &format!("{base}/items/{a}/view"));
        assert_eq!(r.status(), 200);
        assert_eq!(r.headers()["cache-control"], "no-store");
        assert_eq!(r.headers()["content-disposition"], "inline");
        assert_eq!(r.bytes().unwrap().as_ref(), &data[0][..]);
    }
    let r = s
        .http()
        .get(s.at(&format!("{base}/items/{a}/view")))
        .bearer_auth(&dan)
        .header("Range", "bytes=-10")
        .send()
        .unwrap();
    assert_eq!(r.status(), 206);
    assert_eq!(r.bytes().unwrap().as_ref(), &data[0][data[0].len() - 10..]);
    let log = whole_log(&s, &aud);
    let refused = denials(&log, "dan", "GET /v1/disclosures/{id}/items/{item}/content");
    assert_eq!(refused.len(), 1);
    assert_eq!(refused[0]["item"]["id"], a);

    // Expiry: 1 s after approval, neither download nor view.
    let d = ok_json(post(&s, &pat, create, request_body(&[a], false, 1, 3)), 201);
    let base = format!("/v1/disclosures/{}", d["id"].as_str().unwrap());
    ok_json(post(&s, &sam, &format!("{base}/approve"), why.clone()), 200);
    std::thread::sleep(std::time::Duration::from_millis(1300));
    let p = assert_problem(
        get(&s, &dan, &format!("{base}/items/{a}/content")),
        410,
        "gone",
    );
    assert!(p["detail"].as_str().unwrap().contains("expired"), "{p}");
    assert_problem(
        get(&s, &dan, &format!("{base}/items/{a}/view")),
        410,
        "gone",
    );
    let expired_id = d["id"].as_str().unwrap().to_string();

    // Refusal: recorded, and nothing is readable.
    let d = ok_json(
        post(&s, &pat, create, request_body(&[a], false, 3600, 3)),
        201,
    );
    let base = format!("/v1/disclosures/{}", d["id"].as_str().unwrap());
    assert_problem(
        post(&s, &sam, &format!("{base}/refuse"), json!({})),
        400,
        "invalid-json",
    );
    let r = ok_json(
        post(
            &s,
            &sam,
            &format!("{base}/refuse"),
            json!({"reason": "order not served"}),
        ),
        200,
    );
    assert_eq!(r["state"], "refused");
    assert_problem(
        get(&s, &dan, &format!("{base}/items/{a}/content")),
        403,
        "forbidden",
    );
    assert_problem(
        get(&s, &dan, &format!("{base}/items/{a}/view")),
        403,
        "forbidden",
    );
    assert_problem(
        post(&s, &dan, &format!("{base}/ack"), json!({})),
        409,
        "conflict",
    );
    assert_problem(
        post(&s, &sam, &format!("{base}/approve"), why),
        409,
        "conflict",
    );

    let ev = chain(&s, &pat, a);
    let refuse = ev
        .iter()
        .find(|e| e["action"] == "disclosure-refuse")
        .unwrap();
    assert_eq!(refuse["reason"], "order not served");
    assert_eq!(refuse["actor"]["name"], "sam");
    let views = ev
        .iter()
        .filter(|e| e["action"] == "disclosure-fetch" && e["details"]["delivery"] == "view")
        .count();
    assert_eq!(views, 4);
    assert!(
        !ev.iter().any(|e| e["action"] == "disclosure-fetch"
            && e["details"]["disclosure"] == expired_id.as_str())
    );
    let gone = ev
        .iter()
        .filter(|e| e["action"] == "access-denied" && e["details"]["status"] == 410)
        .count();
    assert_eq!(gone, 2, "the expired download and view");
}

#[test]
fn item_report_verifies_with_the_pinned_log_key_and_is_recorded() {
    use custos_core::Sha256Hash;
    use custos_core::bundle::{EvidenceDigest, Outcome, Pin, Verdict, VerifyOptions, verify_bytes};
    use custos_core::note::NoteVerifier;

    let s = TestServer::start();
    let eve = s.user("eve", "examiner");
    let frank = s.user("frank", "examiner");
    let olga = s.user("olga", "examiner");
    let aud = s.user("aud", "auditor");
    s.case(&eve, "C-R");
    s.member("C-R", "frank", "examiner");
    s.member("C-R", "aud", "auditor");
    let data: Vec<u8> = (0..50_000u32).map(|i| (i % 241) as u8).collect();
    let item = s.upload(&eve, "C-R", data.clone())["item"]
        .as_str()
        .unwrap()
        .to_string();
    let t = ok_json(
        post(
            &s,
            &eve,
            &format!("/v1/items/{item}/transfers"),
            json!({"to": "frank", "reason": "lab"}),
        ),
        201,
    );
    ok_json(
        post(
            &s,
            &frank,
            &format!("/v1/transfers/{}/accept", t["id"].as_str().unwrap()),
            json!(null),
        ),
        200,
    );
    let report = format!("/v1/items/{item}/report");
    // An outsider is refused as if the item did not exist (the refusal joins the chain).
    assert_problem(get(&s, &olga, &report), 404, "not-found");
    let before = chain(&s, &eve, &item);
    // An auditor member sees custody, so may have the report.
    let r = get(&s, &aud, &format!("{report}?purpose=annual%20audit"));
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], "application/json");
    assert!(
        r.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .contains(&format!("{item}.custos-bundle.json"))
    );
    let bytes = r.bytes().unwrap().to_vec();

    let key = s
        .http()
        .get(s.at("/v1/log/key"))
        .send()
        .unwrap()
        .text()
        .unwrap();
    let pinned = NoteVerifier::parse(key.trim()).unwrap();
    let opts = |pin: Pin, evidence: Vec<EvidenceDigest>| VerifyOptions {
        pin,
        witnesses: vec![],
        since: None,
        evidence,
    };
    let evidence = |d: &[u8]| EvidenceDigest {
        name: "evidence.bin".into(),
        size: d.len() as u64,
        sha256: Sha256Hash::digest(d),
        md5: None,
        sha1: None,
    };
    let rep = verify_bytes(
        &bytes,
        &opts(Pin::Key(pinned.clone()), vec![evidence(&data)]),
    );
    let failed: Vec<_> = rep
        .checks
        .iter()
        .filter(|c| !matches!(c.outcome, Outcome::Pass))
        .map(|c| &c.message)
        .collect();
    assert_eq!(rep.verdict, Verdict::Verified, "{failed:?}");
    // The bundle holds the whole chain up to the report (transfer included).
    let bundle: Value = serde_json::from_slice(&bytes).unwrap();
    let bundled = bundle["items"][0]["events"].as_array().unwrap();
    assert_eq!(bundled.len(), before.len());
    // A wrong evidence file fails.
    let mut wrong = data.clone();
    wrong[7] ^= 1;
    let rep = verify_bytes(&bytes, &opts(Pin::Key(pinned), vec![evidence(&wrong)]));
    assert_eq!(rep.verdict, Verdict::Failed);

    // Producing it was recorded, after the bundle's checkpoint, with the bundle's hash.
    let after = chain(&s, &eve, &item);
    let last = after.last().unwrap();
    assert_eq!(last["action"], "report");
    assert_eq!(last["actor"]["name"], "aud");
    assert_eq!(last["reason"], "annual audit");
    assert_eq!(
        last["details"]["bundle_sha256"],
        Sha256Hash::digest(&bytes).to_hex()
    );
    assert_eq!(
        last["details"]["bundle"],
        format!("{item}.custos-bundle.json")
    );
    // The next report holds the first one's event.
    let again = get(&s, &eve, &report).bytes().unwrap();
    let b2: Value = serde_json::from_slice(&again).unwrap();
    assert_eq!(
        b2["items"][0]["events"].as_array().unwrap().len(),
        after.len()
    );
}
