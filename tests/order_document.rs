//! Black-box tests of the order as a supplier needs it (issue 16): the header (who buys,
//! where to ship, on what terms), the supplier's own reference and its write-back, the
//! order as a PDF, and the company and plant filters. SQLite by default, PostgreSQL with
//! `MILLRACE_TEST_DATABASE=postgres`.

mod common;

use std::io::Read;
use std::time::Duration;

use common::app::{eventually, spawn, TestApp};
use common::Browser;
use millrace::api::admin::TeamView;
use millrace::api::order_document::OrderHeaderView;
use millrace::api::orders::OrderPage;
use millrace::api::performance::PerformanceView;
use millrace::domain::order::LineAnswerState;
use millrace::model::exceptions::ExceptionsView;
use millrace::model::order_document::{DestinationGroup, FilterOption, OriginOptions};
use millrace::model::shipments::OpenLine;
use millrace::odoo_double::{DoubleConfig, Modules, Seed};
use serde_json::{json, Value};

const ANA: (&str, &str) = ("ana@gemini.example", "gemini-demo-pass");
const TOM: (&str, &str) = ("tom@woodcorner.example", "woodcorner-demo-pass");

async fn demo_app(version: u8, modules: Modules) -> TestApp {
    spawn(DoubleConfig {
        version,
        modules: Some(modules),
        ..Default::default()
    })
    .await
}

/// The portal id of the order named `name` among the user's, once synced.
async fn order_id(b: &Browser, name: &str) -> String {
    for _ in 0..100 {
        let page = b.order_page(name).await;
        if let Some(o) = page.orders.iter().find(|o| o.name == name) {
            return o.id.to_string();
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("{name} never synced");
}

async fn header(b: &Browser, id: &str) -> OrderHeaderView {
    b.json_as("/api/orders/header", &[("id", id)]).await
}

async fn history(b: &Browser, id: &str) -> Vec<String> {
    b.order_detail(id)
        .await
        .events
        .into_iter()
        .map(|e| e.detail)
        .collect()
}

/// How many entries of the order's history read exactly `detail`.
async fn times_in_history(b: &Browser, id: &str, detail: &str) -> usize {
    history(b, id).await.iter().filter(|e| *e == detail).count()
}

/// Writes `vals` on the order in the double as a buyer in Odoo would (a second later, so
/// its write_date moves on).
async fn write_in_odoo(app: &TestApp, name: &str, vals: Value) {
    tokio::time::sleep(Duration::from_millis(1100)).await;
    app.double.with_env(|env| {
        let id = env.ids_where("purchase.order", "name", &json!(name))[0];
        let admin = env.users[0].clone();
        let mut p = serde_json::Map::new();
        p.insert("vals".into(), vals);
        env.execute(&admin, "purchase.order", "write", Some(vec![id]), p)
            .unwrap();
    });
}

/// The text of a PDF's content streams (inflated where compressed).
fn pdf_text(bytes: &[u8]) -> String {
    let mut out = String::new();
    let mut rest = bytes;
    while let Some(start) = find(rest, b"stream") {
        let mut body = &rest[start + 6..];
        if body.starts_with(b"\r\n") {
            body = &body[2..];
        } else if body.starts_with(b"\n") {
            body = &body[1..];
        }
        let Some(end) = find(body, b"endstream") else {
            break;
        };
        let raw = &body[..end];
        let mut inflated = Vec::new();
        if flate2::read::ZlibDecoder::new(raw)
            .read_to_end(&mut inflated)
            .is_ok()
        {
            out.push_str(&String::from_utf8_lossy(&inflated));
        } else {
            out.push_str(&String::from_utf8_lossy(raw));
        }
        rest = &body[end + 9..];
    }
    // Strings printpdf writes in hex (those with characters beyond plain ASCII words).
    let mut decoded = String::new();
    for l in out.lines() {
        match l.strip_prefix('<').and_then(|l| l.strip_suffix("> Tj")) {
            Some(hex) => {
                let bytes: Vec<u8> = (0..hex.len() / 2)
                    .filter_map(|i| u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).ok())
                    .collect();
                decoded.push('(');
                decoded.extend(bytes.iter().map(|b| *b as char));
                decoded.push_str(") Tj");
            }
            None => decoded.push_str(l),
        }
        decoded.push('\n');
    }
    decoded
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_header_shows_who_buys_where_to_ship_and_on_what_terms_and_changes_reach_the_history() {
    let app = demo_app(19, Modules::PURCHASE_STOCK_DELIVERY).await;
    let ana = app.signed_in(ANA.0, ANA.1).await;

    // P00001: received at the main company's warehouse, with the vendor's reference.
    let p1 = order_id(&ana, "P00031").await;
    let h = header(&ana, &p1).await;
    assert_eq!(
        h.company_name.as_deref(),
        Some("My Company (San Francisco)"),
        "{h:?}"
    );
    assert!(
        h.company_address
            .as_deref()
            .unwrap()
            .contains("94134 San Francisco"),
        "{h:?}"
    );
    assert_eq!(h.company_vat.as_deref(), Some("US12345671"));
    assert_eq!(h.ship_to_kind.as_deref(), Some("warehouse"));
    assert_eq!(h.ship_to_name.as_deref(), Some("YourCompany"));
    assert!(
        h.ship_to_address
            .as_deref()
            .unwrap()
            .contains("250 Executive Park Blvd"),
        "{h:?}"
    );
    assert_eq!(h.buyer_name, "Mitchell Admin");
    assert_eq!(
        h.buyer_email.as_deref(),
        Some("admin@yourcompany.example.com")
    );
    assert_eq!(h.buyer_phone.as_deref(), Some("+1 555-555-5555"));
    assert_eq!(h.payment_terms.as_deref(), Some("30 Days"));
    assert_eq!(h.incoterm.as_deref(), Some("[FCA] FREE CARRIER"));
    assert_eq!(h.incoterm_location.as_deref(), Some("Antwerp port"));
    assert_eq!(h.partner_ref.as_deref(), Some("SO-7030"));
    assert!(
        h.notes
            .as_deref()
            .unwrap()
            .starts_with("Deliveries Monday to Friday"),
        "{h:?}"
    );
    assert_eq!(h.amount_tax.as_deref(), Some("0"));
    assert!(h.can_set_reference);

    // P00007: drop-shipped to a customer, with a section and a note between its lines.
    let p7 = order_id(&ana, "P00007").await;
    let h7 = header(&ana, &p7).await;
    assert_eq!(h7.ship_to_kind.as_deref(), Some("dropship"), "{h7:?}");
    assert_eq!(h7.ship_to_name.as_deref(), Some("Deco Addict"));
    assert!(h7
        .ship_to_address
        .as_deref()
        .unwrap()
        .contains("Pleasant Hill"));
    let notes = &h7.note_lines;
    assert_eq!(notes.len(), 2, "{h7:?}");
    assert_eq!(notes[0].text, "Workshop B");
    assert!(notes[0].section);
    assert_eq!(notes[0].after_line, None);
    assert_eq!(notes[1].text, "Deliver on pallets, 1.2 m high at most");
    let detail = ana.order_detail(&p7).await;
    let lines = &detail.lines;
    assert_eq!(
        notes[1].after_line,
        Some(lines.last().unwrap().id),
        "the note follows the last goods line"
    );

    // P00201: the second company's, received at its own warehouse.
    let p201 = order_id(&ana, "P00201").await;
    let h201 = header(&ana, &p201).await;
    assert_eq!(
        h201.company_name.as_deref(),
        Some("My Company (Chicago)"),
        "{h201:?}"
    );
    assert_eq!(h201.ship_to_name.as_deref(), Some("My Company (Chicago)"));
    assert!(h201.ship_to_address.as_deref().unwrap().contains("Chicago"));

    // Another supplier's order is not found, like a missing one.
    let tom = app.signed_in(TOM.0, TOM.1).await;
    assert_eq!(
        tom.get("/api/orders/header", &[("id", &p1)]).await.status(),
        404
    );
    assert_eq!(
        tom.get("/api/orders/header", &[("id", "999999")])
            .await
            .status(),
        404
    );

    // The buyer changes the terms in Odoo: the page shows the new ones, the history says so.
    write_in_odoo(
        &app,
        "P00031",
        json!({"payment_term_id": 1, "incoterm_location": "Rotterdam"}),
    )
    .await;
    eventually("the new terms", || async {
        header(&ana, &p1).await.payment_terms.as_deref() == Some("Immediate Payment")
    })
    .await;
    let h = header(&ana, &p1).await;
    assert_eq!(h.incoterm_location.as_deref(), Some("Rotterdam"));
    let events = history(&ana, &p1).await;
    assert!(
        events
            .iter()
            .any(|e| e.contains("payment terms: 30 Days → Immediate Payment")
                && e.contains("incoterm location: Antwerp port → Rotterdam")),
        "{events:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_odoo_17_without_inventory_shows_what_it_has_and_the_rest_as_not_set() {
    // Odoo 17 names the terms `notes`; without purchase_stock there is no receipt type and
    // no incoterm location, so goods go to the company unless the order is drop-shipped.
    let app = demo_app(17, Modules::PURCHASE).await;
    let ana = app.signed_in(ANA.0, ANA.1).await;
    let p1 = order_id(&ana, "P00031").await;
    let h = header(&ana, &p1).await;
    assert_eq!(h.ship_to_kind.as_deref(), Some("company"), "{h:?}");
    assert_eq!(
        h.ship_to_name.as_deref(),
        Some("My Company (San Francisco)")
    );
    assert_eq!(h.incoterm.as_deref(), Some("[FCA] FREE CARRIER"));
    assert_eq!(
        h.incoterm_location, None,
        "purchase_stock's field is not there"
    );
    assert!(
        h.notes.as_deref().unwrap().starts_with("Deliveries"),
        "17's `notes`: {h:?}"
    );
    let p7 = order_id(&ana, "P00007").await;
    assert_eq!(
        header(&ana, &p7).await.ship_to_kind.as_deref(),
        Some("dropship")
    );

    // An order with no payment terms and no incoterm set (Wood Corner's P00020).
    let tom = app.signed_in(TOM.0, TOM.1).await;
    let p20 = order_id(&tom, "P00020").await;
    let h20 = header(&tom, &p20).await;
    assert_eq!(h20.payment_terms, None, "{h20:?}");
    assert_eq!(h20.incoterm, None);
    let page = tom
        .get(&format!("/orders/{p20}"), &[])
        .await
        .text()
        .await
        .unwrap();
    assert!(page.contains("Not set"), "the page says so");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_supplier_sets_its_reference_and_odoo_gets_it_once() {
    let app = demo_app(19, Modules::PURCHASE_STOCK).await;
    let ana = app.signed_in(ANA.0, ANA.1).await;
    let p2 = order_id(&ana, "P00013").await; // Gemini's, no reference yet
    assert_eq!(header(&ana, &p2).await.partner_ref, None);

    let too_long = "X".repeat(65);
    let r = ana
        .post(
            "/api/orders/reference",
            &[("order_id", &p2), ("reference", &too_long)],
        )
        .await;
    assert_eq!(r.status(), 422);
    assert!(r.text().await.unwrap().contains("at most 64"));
    let tom = app.signed_in(TOM.0, TOM.1).await;
    let r = tom
        .post(
            "/api/orders/reference",
            &[("order_id", &p2), ("reference", "WC-1")],
        )
        .await;
    assert_eq!(r.status(), 404, "another supplier's order");

    let r = ana
        .post(
            "/api/orders/reference",
            &[("order_id", &p2), ("reference", " GF-SO-555 ")],
        )
        .await;
    assert_eq!(r.status(), 200, "{:?}", r.text().await);
    assert_eq!(
        header(&ana, &p2).await.partner_ref.as_deref(),
        Some("GF-SO-555"),
        "shown at once"
    );
    let odoo_ref = |app: &TestApp| {
        app.double.with_env(|env| {
            let id = env.ids_where("purchase.order", "name", &json!("P00013"))[0];
            let notes = env
                .table("mail.message")
                .filter(|(_, m)| m["model"] == "purchase.order" && m["res_id"] == id)
                .filter(|(_, m)| {
                    m["body"]
                        .as_str()
                        .unwrap_or_default()
                        .contains("Vendor reference set to GF-SO-555")
                })
                .count();
            (env.value("purchase.order", id, "partner_ref"), notes)
        })
    };
    eventually("the reference in Odoo", || async {
        odoo_ref(&app).0 == json!("GF-SO-555")
    })
    .await;
    // Polls read it back: no change by the buyer, one note only.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(odoo_ref(&app).1, 1);
    let events = history(&ana, &p2).await;
    assert!(
        events.iter().any(|e| e == "set its reference to GF-SO-555"),
        "{events:?}"
    );
    assert!(
        !events.iter().any(|e| e.contains("your reference")),
        "{events:?}"
    );
    assert_eq!(
        header(&ana, &p2).await.partner_ref.as_deref(),
        Some("GF-SO-555")
    );

    // The same again (another form, or a request without a key) does nothing more and
    // says so, as any action done already answers.
    let r = ana
        .post(
            "/api/orders/reference",
            &[("order_id", &p2), ("reference", "GF-SO-555")],
        )
        .await;
    assert_eq!(r.status(), 200);
    let again: Value = r.json().await.unwrap();
    assert_eq!(again["already"], true, "{again}");
    assert_eq!(
        again["message"],
        "Your reference on P00013 is GF-SO-555 already."
    );
    assert_eq!(
        times_in_history(&ana, &p2, "set its reference to GF-SO-555").await,
        1
    );

    // A buyer corrects it in Odoo: that is a change, shown in the history.
    write_in_odoo(&app, "P00013", json!({"partner_ref": "GF-SO-556"})).await;
    eventually("the buyer's correction", || async {
        header(&ana, &p2).await.partner_ref.as_deref() == Some("GF-SO-556")
    })
    .await;
    let events = history(&ana, &p2).await;
    assert!(
        events
            .iter()
            .any(|e| e.contains("your reference: GF-SO-555 → GF-SO-556")),
        "{events:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reference_form_sent_twice_at_once_sets_it_once_and_answers_both() {
    let app = demo_app(19, Modules::PURCHASE_STOCK).await;
    let ana = app.signed_in(ANA.0, ANA.1).await;
    let p13 = order_id(&ana, "P00013").await;
    let form = |reference: &'static str, key: &'static str| {
        let p13 = p13.clone();
        let ana = &ana;
        async move {
            ana.post(
                "/api/orders/reference",
                &[
                    ("order_id", p13.as_str()),
                    ("reference", reference),
                    ("idempotency_key", key),
                ],
            )
            .await
        }
    };
    // A double click: the same form (one key) twice at once. Both get the first's answer.
    let (a, b) = tokio::join!(form("GF-SO-777", "dbl-1"), form("GF-SO-777", "dbl-1"));
    assert_eq!(a.status(), 200, "{:?}", a.text().await);
    assert_eq!(b.status(), 200, "{:?}", b.text().await);
    // And once more later, as a browser retry would.
    assert_eq!(form("GF-SO-777", "dbl-1").await.status(), 200);
    let set = history(&ana, &p13)
        .await
        .into_iter()
        .filter(|e| e == "set its reference to GF-SO-777")
        .count();
    assert_eq!(set, 1, "one change in the history");
    let (queued,): (i64,) = sqlx::query_as(
        "SELECT COUNT(*) FROM outbox_messages WHERE kind = 'vendor_reference' AND payload LIKE '%GF-SO-777%'",
    )
    .fetch_one(&app.db)
    .await
    .unwrap();
    assert_eq!(queued, 1, "one write for Odoo");

    // The same key with another reference is another request: refused, nothing changes.
    let r = form("GF-SO-778", "dbl-1").await;
    assert_eq!(r.status(), 422);
    assert!(r
        .text()
        .await
        .unwrap()
        .contains("already sent with other values"));
    assert_eq!(
        header(&ana, &p13).await.partner_ref.as_deref(),
        Some("GF-SO-777")
    );
    // Two different forms with the same reference at once: one sets it, the other is told
    // it is set already (checked under the order's lock, not before it).
    let (a, b) = tokio::join!(form("GF-SO-779", "dbl-2"), form("GF-SO-779", "dbl-3"));
    assert_eq!((a.status().as_u16(), b.status().as_u16()), (200, 200));
    let (a, b): (Value, Value) = (a.json().await.unwrap(), b.json().await.unwrap());
    let mut already = [a["already"].as_bool(), b["already"].as_bool()];
    already.sort();
    assert_eq!(already, [Some(false), Some(true)], "{a} {b}");
    assert_eq!(
        times_in_history(&ana, &p13, "set its reference to GF-SO-779").await,
        1
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_order_pdf_has_the_header_and_lines_and_only_its_supplier_gets_it() {
    let app = demo_app(19, Modules::PURCHASE_STOCK_DELIVERY).await;
    let ana = app.signed_in(ANA.0, ANA.1).await;
    let p7 = order_id(&ana, "P00007").await;
    let r = ana.get(&format!("/orders/{p7}/pdf"), &[]).await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], "application/pdf");
    assert_eq!(
        r.headers()["content-disposition"],
        "attachment; filename=\"P00007.pdf\""
    );
    let bytes = r.bytes().await.unwrap();
    assert!(bytes.starts_with(b"%PDF-"));
    let text = pdf_text(&bytes);
    if std::env::var("KEEP_PDF").is_ok() {
        std::fs::write("/tmp/order-p7.txt", &text).unwrap();
    }
    for expected in [
        "Purchase Order P00007",
        "Millrace supplier portal",
        "My Company (San Francisco)",
        "DROP-SHIP TO",
        "Deco Addict",
        "30 Days",
        "[FCA] FREE CARRIER,",
        "Antwerp port",
        "Workshop B",
        "Deliver on pallets, 1.2 m high at most",
        "TERMS AND CONDITIONS",
        "Page 1 of 1",
        "last changed in Odoo",
        "Mitchell Admin",
    ] {
        assert!(
            text.contains(expected),
            "{expected} is missing from the PDF"
        );
    }
    let detail = ana.order_detail(&p7).await;
    for l in &detail.lines {
        let d = l.description.as_str();
        assert!(text.contains(d), "line {d} is missing from the PDF");
    }

    // Scoped like the order: another supplier's answers 404, a visitor signs in first.
    let tom = app.signed_in(TOM.0, TOM.1).await;
    assert_eq!(
        tom.get(&format!("/orders/{p7}/pdf"), &[]).await.status(),
        404
    );
    assert_eq!(tom.get("/orders/abc/pdf", &[]).await.status(), 404);
    let anonymous = Browser::open(&app.url).await;
    assert!(anonymous
        .get(&format!("/orders/{p7}/pdf"), &[])
        .await
        .status()
        .is_redirection());
    // Staff may print any.
    let buyer = app
        .signed_in("buyer@millrace.example", "buyer-demo-pass")
        .await;
    assert_eq!(
        buyer.get(&format!("/orders/{p7}/pdf"), &[]).await.status(),
        200
    );
    // The order page and the list link to it.
    let page = ana
        .get(&format!("/orders/{p7}"), &[])
        .await
        .text()
        .await
        .unwrap();
    assert!(page.contains(&format!("href=\"/orders/{p7}/pdf\"")));
    let list = ana
        .get("/orders", &[("q", "P00007")])
        .await
        .text()
        .await
        .unwrap();
    assert!(list.contains(&format!("action=\"/orders/{p7}/pdf\"")));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_200_line_order_prints_on_several_numbered_pages() {
    let app = spawn(DoubleConfig {
        seed: Seed::Bulk {
            orders: 1,
            lines: 200,
        },
        ..Default::default()
    })
    .await;
    let ana = app.signed_in(ANA.0, ANA.1).await;
    let id = order_id(&ana, "B000001").await;
    let started = std::time::Instant::now();
    let r = ana.get(&format!("/orders/{id}/pdf"), &[]).await;
    assert_eq!(r.status(), 200);
    let bytes = r.bytes().await.unwrap();
    eprintln!(
        "200-line order: {} bytes in {:?}",
        bytes.len(),
        started.elapsed()
    );
    let text = pdf_text(&bytes);
    let pages = (1..20)
        .take_while(|n| text.contains(&format!("Page {n} of ")))
        .count();
    assert!(pages >= 4, "{pages} pages");
    assert!(text.contains(&format!("Page {pages} of {pages}")));
    assert!(text.contains("(200)"), "the 200th line is printed");
    if std::env::var("KEEP_PDF").is_ok() {
        std::fs::write("/tmp/order-200.pdf", &bytes).unwrap();
        std::fs::write("/tmp/order-200.txt", &text).unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn orders_filter_by_company_and_by_ship_to_plant() {
    let app = demo_app(19, Modules::PURCHASE_STOCK).await;
    let ana = app.signed_in(ANA.0, ANA.1).await;
    order_id(&ana, "P00207").await;
    let origins: OriginOptions = ana.json_as("/api/orders/origins", &[]).await;
    let labels = |options: &[FilterOption]| -> Vec<String> {
        options.iter().map(|o| o.label.clone()).collect()
    };
    assert_eq!(
        labels(&origins.companies),
        ["My Company (Chicago)", "My Company (San Francisco)"]
    );
    assert_eq!(
        labels(&origins.plants),
        ["My Company (Chicago)", "YourCompany"],
        "drop-ship addresses are no plants"
    );
    let list = |company: &'static str, plant: &'static str| {
        let ana = &ana;
        async move {
            let r = ana
                .get(
                    "/api/orders/list",
                    &[
                        ("filter[q]", ""),
                        ("filter[status]", ""),
                        ("filter[due_before]", ""),
                        ("filter[page]", "1"),
                        ("filter[company]", company),
                        ("filter[plant]", plant),
                    ],
                )
                .await;
            assert_eq!(r.status(), 200);
            r.json::<OrderPage>().await.unwrap()
        }
    };
    let chicago = list("3", "").await;
    let names: Vec<&str> = chicago.orders.iter().map(|o| o.name.as_str()).collect();
    assert_eq!(
        names,
        ["P00207", "P00205", "P00203", "P00201"],
        "Gemini's orders of the second company"
    );
    assert_eq!(
        chicago.orders[0].company_name.as_deref(),
        Some("My Company (Chicago)")
    );
    assert_eq!(list("", "warehouse:2").await.total, 4);
    let all = list("", "").await.total;
    let sf = list("1", "").await.total;
    assert_eq!(sf, all - 4);
    assert_eq!(list("3", "warehouse:1").await.total, 0);
    // The page offers the filters.
    let page = ana
        .get("/orders", &[("company", "3")])
        .await
        .text()
        .await
        .unwrap();
    assert!(page.contains("id=\"company\"") && page.contains("id=\"plant\""));
    assert!(page.contains("P00201") && !page.contains("P00031"));
}

/// A shipment notice form with one unit of each line.
fn notice_form(lines: &[String]) -> Vec<(String, String)> {
    let today = chrono::Utc::now().date_naive();
    let mut f = vec![
        ("shipment[ship_date]".to_string(), today.to_string()),
        (
            "shipment[expected_arrival]".to_string(),
            (today + chrono::Duration::days(3)).to_string(),
        ),
        ("shipment[carrier]".to_string(), "DHL".to_string()),
        ("shipment[tracking_number]".to_string(), "1Z999".to_string()),
        ("shipment[package_count]".to_string(), "1".to_string()),
    ];
    for (i, line) in lines.iter().enumerate() {
        f.push((format!("shipment[lines][{i}][line_id]"), line.clone()));
        f.push((format!("shipment[lines][{i}][quantity]"), "1".to_string()));
        f.push((format!("shipment[lines][{i}][lots]"), String::new()));
    }
    f
}

async fn post_form(b: &Browser, path: &str, form: &[(String, String)]) -> reqwest::Response {
    let fields: Vec<(&str, &str)> = form.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    b.post(path, &fields).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_shipment_notice_goes_to_one_destination_and_the_form_offers_to_split() {
    let app = demo_app(19, Modules::PURCHASE_STOCK).await;
    let ana = app.signed_in(ANA.0, ANA.1).await;
    let sf = order_id(&ana, "P00031").await; // received at the San Francisco warehouse
    let chicago = order_id(&ana, "P00207").await; // the Chicago company's warehouse
    let first_line = |order: String| {
        let ana = &ana;
        async move {
            let lines: Vec<OpenLine> = ana
                .json_as("/api/shipments/open-lines", &[("orders", order.as_str())])
                .await;
            lines[0].line_id.to_string()
        }
    };
    let (l1, l2) = (
        first_line(sf.clone()).await,
        first_line(chicago.clone()).await,
    );

    let both = format!("{sf},{chicago}");
    let groups: Vec<DestinationGroup> = ana
        .json_as("/api/shipments/destinations", &[("orders", both.as_str())])
        .await;
    assert_eq!(groups.len(), 2, "{groups:?}");
    assert_eq!(groups[0].order_names, ["P00031"]);
    assert_eq!(groups[0].label, "YourCompany (My Company (San Francisco))");
    assert_eq!(groups[1].label, "My Company (Chicago)");
    let page = ana
        .get(
            "/shipments/new",
            &[("order", sf.as_str()), ("order", chicago.as_str())],
        )
        .await
        .text()
        .await
        .unwrap();
    assert!(
        page.contains("data-testid=\"split-notice\""),
        "the form says why"
    );
    assert!(
        page.contains(&format!("href=\"/shipments/new?order={chicago}\"")),
        "and offers to split"
    );

    let r = post_form(
        &ana,
        "/api/shipments/submit",
        &notice_form(&[l1.clone(), l2.clone()]),
    )
    .await;
    assert_eq!(r.status(), 422);
    let body = r.text().await.unwrap();
    assert!(
        body.contains("a shipment notice goes to one destination, and these orders go to 2"),
        "{body}"
    );
    let (notices,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM shipment_notices")
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert_eq!(notices, 0, "nothing was stored");

    // One destination per notice goes through.
    for line in [l1, l2] {
        let r = post_form(&ana, "/api/shipments/submit", &notice_form(&[line])).await;
        assert_eq!(r.status(), 200, "{:?}", r.text().await);
    }
    // A page with one destination offers no split.
    let page = ana
        .get("/shipments/new", &[("order", sf.as_str())])
        .await
        .text()
        .await
        .unwrap();
    assert!(!page.contains("data-testid=\"split-notice\""));
}

const ADMIN: (&str, &str) = ("admin@millrace.example", "admin-demo-pass");
const BUYER: (&str, &str) = ("buyer@millrace.example", "buyer-demo-pass");

/// Ana proposes a quantity of 1 (outside tolerance) on the first line of `order_id`.
async fn propose(ana: &Browser, order_id: &str) -> String {
    let detail = ana.order_detail(order_id).await;
    let line = detail.lines[0].id.to_string();
    let r = ana
        .post(
            "/api/orders/answer-line",
            &[
                ("order_id", order_id),
                ("line_id", &line),
                ("answer", "propose"),
                ("proposed_quantity", "1"),
                ("reason", "short of stock"),
            ],
        )
        .await;
    assert_eq!(r.status(), 200, "{:?}", r.text().await);
    line
}

/// The order names of the proposals on the buyer's exceptions screen.
async fn proposal_orders(b: &Browser) -> Vec<String> {
    let v: ExceptionsView = b
        .json_as("/api/buyer/exceptions", &[("supplier", ""), ("buyer", "")])
        .await;
    v.proposals.into_iter().map(|p| p.order_name).collect()
}

/// The admin's staff form; answers where it sends the admin back to.
async fn limit_companies(admin: &Browser, user_id: &str, companies: &[&str]) -> String {
    let mut form = vec![("user_id", user_id)];
    form.extend(companies.iter().map(|c| ("company", *c)));
    let r = admin.post("/admin/staff-companies", &form).await;
    assert_eq!(r.status(), 303, "{:?}", r.text().await);
    r.headers()["location"].to_str().unwrap().to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_buyer_limited_to_one_company_sees_and_decides_only_that_companys_orders() {
    let app = demo_app(19, Modules::PURCHASE_STOCK).await;
    let ana = app.signed_in(ANA.0, ANA.1).await;
    let sf = order_id(&ana, "P00031").await;
    let chicago = order_id(&ana, "P00207").await;
    let sf_line = propose(&ana, &sf).await;
    let chicago_line = propose(&ana, &chicago).await;
    let admin = app.signed_in(ADMIN.0, ADMIN.1).await;
    let buyer = app.signed_in(BUYER.0, BUYER.1).await;
    let before = proposal_orders(&buyer).await;
    assert!(
        before.contains(&"P00031".to_string()) && before.contains(&"P00207".to_string()),
        "{before:?}"
    );
    let all_orders = buyer.order_page("").await.total;

    // The admin's staff page offers the companies of synced orders for buyers.
    let team: TeamView = admin.json_as("/api/team/list", &[("supplier", "")]).await;
    assert_eq!(
        team.companies,
        [
            (3, "My Company (Chicago)".to_string()),
            (1, "My Company (San Francisco)".to_string())
        ]
    );
    let buyer_id = team
        .members
        .iter()
        .find(|m| m.email == BUYER.0)
        .unwrap()
        .id
        .to_string();
    let back = limit_companies(&admin, &buyer_id, &["3"]).await;
    assert!(back.starts_with("/admin/staff?companies_saved="), "{back}");

    // At once: only the Chicago company's orders, exceptions, documents.
    let list = buyer.order_page("").await;
    assert_eq!(list.total, 8, "both suppliers' Chicago orders: {list:?}");
    assert!(list
        .orders
        .iter()
        .all(|o| o.company_name.as_deref() == Some("My Company (Chicago)")));
    assert!(all_orders > 8);
    assert_eq!(buyer.order(&sf).await.status(), 404);
    assert_eq!(buyer.order(&chicago).await.status(), 200);
    assert_eq!(
        buyer.get(&format!("/orders/{sf}/pdf"), &[]).await.status(),
        404
    );
    assert_eq!(proposal_orders(&buyer).await, ["P00207"]);
    let csv = buyer
        .get("/buyer/exceptions.csv", &[])
        .await
        .text()
        .await
        .unwrap();
    assert!(csv.contains("P00207") && !csv.contains("P00031"), "{csv}");
    // Another company's proposal cannot be decided: as if it did not exist, still pending.
    let r = buyer
        .post(
            "/api/buyer/decide",
            &[("line_id", sf_line.as_str()), ("decision", "approve")],
        )
        .await;
    assert_eq!(r.status(), 404, "{:?}", r.text().await);
    let d = ana.order_detail(&sf).await;
    assert_eq!(d.lines[0].answer, Some(LineAnswerState::ProposalPending));
    let r = buyer
        .post(
            "/api/buyer/decide",
            &[("line_id", chicago_line.as_str()), ("decision", "approve")],
        )
        .await;
    assert_eq!(r.status(), 200, "{:?}", r.text().await);
    // Performance counts the Chicago company's released orders only.
    let scored =
        |v: PerformanceView| -> u64 { v.scores.iter().map(|s| u64::from(s.card.orders)).sum() };
    let perf = [("supplier", ""), ("from", ""), ("to", "")];
    let limited = scored(buyer.json_as("/api/performance", &perf).await);
    let everything = scored(admin.json_as("/api/performance", &perf).await);
    assert!(
        limited > 0 && limited < everything,
        "{limited} of {everything}"
    );
    // The admin still sees every company.
    assert_eq!(admin.order(&sf).await.status(), 200);
    assert!(proposal_orders(&admin)
        .await
        .contains(&"P00031".to_string()));

    // Only admins set limits; a company nobody knows is refused with a reason.
    let r = buyer
        .post(
            "/admin/staff-companies",
            &[("user_id", &buyer_id), ("company", "1")],
        )
        .await;
    assert_eq!(r.status(), 403);
    let back = limit_companies(&admin, &buyer_id, &["999"]).await;
    assert!(back.starts_with("/admin/staff?companies_error="), "{back}");
    assert_eq!(buyer.order(&sf).await.status(), 404, "nothing changed");
    let page = admin.get(&back, &[]).await.text().await.unwrap();
    assert!(
        page.contains("Company 999 is not among the companies"),
        "the page says why"
    );

    // No company ticked: every company again.
    let back = limit_companies(&admin, &buyer_id, &[]).await;
    assert!(back.starts_with("/admin/staff?companies_saved="), "{back}");
    assert_eq!(buyer.order(&sf).await.status(), 200);
    let (audited,): (i64,) =
        sqlx::query_as("SELECT COUNT(*) FROM audit_log WHERE action = 'staff_companies_set'")
            .fetch_one(&app.db)
            .await
            .unwrap();
    assert_eq!(audited, 2);
}
