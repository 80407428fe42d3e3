//! The service end to end over real HTTP on loopback: first start, accounts, a case, an
//! upload with its custody receipt, a download and a range, and the public log routes.

mod http_support;
use http_support::{TestServer, assert_problem};

#[test]
fn first_start_upload_download_and_public_log() {
    let s = TestServer::start();
    assert!(
        s.admin.starts_with("cst_"),
        "first start prints the admin token"
    );
    let c = s.http();
    assert_eq!(c.get(s.at("/healthz")).send().unwrap().status(), 200);
    let eve = s.user("eve", "examiner");
    s.case(&eve, "C-1");
    let data: Vec<u8> = (0..3_000_000u32).map(|i| (i * 7 % 251) as u8).collect();
    let ack = s.upload(&eve, "C-1", data.clone());
    let item = ack["item"].as_str().unwrap();
    assert_eq!(ack["size"], 3_000_000);
    assert!(
        ack["receipt"]["checkpoint"]
            .as_str()
            .unwrap()
            .contains('\u{2014}')
    );
    assert!(ack["receipt"]["index"].as_u64().unwrap() > 0);

    let r = c
        .get(s.at(&format!("/v1/items/{item}/content?purpose=examination")))
        .bearer_auth(&eve)
        .send()
        .unwrap();
    assert_eq!(r.status(), 200);
    assert!(r.headers().contains_key("repr-digest"));
    assert_eq!(r.bytes().unwrap().as_ref(), &data[..]);

    let r = c
        .get(s.at(&format!("/v1/items/{item}/content?purpose=seek")))
        .header("Range", "bytes=1000-1999")
        .bearer_auth(&eve)
        .send()
        .unwrap();
    assert_eq!(r.status(), 206);
    assert_eq!(
        r.headers()["content-range"].to_str().unwrap(),
        "bytes 1000-1999/3000000"
    );
    assert_eq!(r.bytes().unwrap().as_ref(), &data[1000..2000]);

    let r = c
        .get(s.at(&format!("/v1/items/{item}/content")))
        .bearer_auth(&eve)
        .send()
        .unwrap();
    assert_problem(r, 400, "purpose-required");

    // The custody chain: ingest, then two access events, each with the stated purpose.
    let ev: Vec<serde_json::Value> = c
        .get(s.at(&format!("/v1/items/{item}/events")))
        .bearer_auth(&eve)
        .send()
        .unwrap()
        .json()
        .unwrap();
    let actions: Vec<&str> = ev
        .iter()
        .map(|e| e["event"]["action"].as_str().unwrap())
        .collect();
    assert_eq!(actions, ["ingest", "access", "access"]);
    assert_eq!(ev[1]["event"]["reason"], "examination");

    let cp = c
        .get(s.at("/v1/log/checkpoint"))
        .send()
        .unwrap()
        .text()
        .unwrap();
    let size: u64 = cp.lines().nth(1).unwrap().parse().unwrap();
    let p: serde_json::Value = c
        .get(s.at(&format!("/v1/log/consistency?old=1&new={size}")))
        .send()
        .unwrap()
        .json()
        .unwrap();
    assert_eq!(p["tree_size"], size);
    let key = c.get(s.at("/v1/log/key")).send().unwrap().text().unwrap();
    custos_core::note::NoteVerifier::parse(key.trim()).expect("a C2SP verifier key");
    let metrics = c.get(s.at("/metrics")).send().unwrap().text().unwrap();
    assert!(metrics.contains("custos_uploads_total 1"), "{metrics}");
    assert!(!metrics.contains("C-1"), "metrics name no case");
}
