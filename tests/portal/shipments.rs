//! Shipment notices: checked in full, prefilled into Odoo's receipt, documents, late
//! notices, and receipts that differ from the notice.

use super::*;
use millrace::model::exceptions::ExceptionsView;
use millrace::model::shipments::{OpenLine, ShipmentSummary};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_shipment_notice_is_checked_in_full_then_prefills_the_odoo_receipt() {
    let app = spawn_app().await;
    let ana = signed_in(&app, "ana@gemini.example", "gemini-demo-pass").await;
    synced_orders(&ana, 1).await;
    let lines: Vec<OpenLine> = ana
        .json_as("/api/shipments/open-lines", &[("orders", "")])
        .await;
    let lot_line = lines
        .iter()
        .find(|l| l.tracking == "lot")
        .expect("a lot-tracked open line")
        .clone();
    let plain = lines
        .iter()
        .find(|l| l.tracking == "none" && l.order_id == lot_line.order_id)
        .or_else(|| lines.iter().find(|l| l.tracking == "none"))
        .unwrap()
        .clone();
    let open: rust_decimal::Decimal = lot_line.open_quantity.parse().unwrap();
    let lot_id = lot_line.line_id.to_string();
    let plain_id = plain.line_id.to_string();

    // Everything wrong at once: each problem named, nothing stored.
    let too_many = (open + rust_decimal::Decimal::ONE).to_string();
    let r = ana
        .post_owned(
            "/api/shipments/submit",
            &asn_form(
                &[(lot_id.clone(), &too_many, ""), (plain_id.clone(), "1", "")],
                " ",
            ),
        )
        .await;
    assert_eq!(r.status(), 422);
    let body = r.text().await.unwrap();
    assert!(
        body.contains("Carrier: say who carries the goods"),
        "{body}"
    );
    assert!(body.contains("may still be shipped"), "{body}");
    let (n,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM shipment_notices")
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert_eq!(n, 0);
    let r = ana
        .post_owned(
            "/api/shipments/submit",
            &asn_form(&[(lot_id.clone(), "1", "")], "DHL"),
        )
        .await;
    assert!(r.text().await.unwrap().contains("give a lot number"));

    // Another supplier cannot ship Ana's lines.
    let tom = signed_in(&app, "tom@woodcorner.example", "woodcorner-demo-pass").await;
    let r = tom
        .post_owned(
            "/api/shipments/submit",
            &asn_form(&[(plain_id.clone(), "1", "")], "DHL"),
        )
        .await;
    assert_eq!(r.status(), 404);

    let r = ana
        .post_owned(
            "/api/shipments/submit",
            &asn_form(
                &[
                    (lot_id.clone(), "2", "LOT-2026-11"),
                    (plain_id.clone(), "1", ""),
                ],
                "DHL",
            ),
        )
        .await;
    assert_eq!(r.status(), 200, "{:?}", r.text().await);
    let list: Vec<ShipmentSummary> = ana.json_as("/api/shipments/list", &[]).await;
    assert_eq!(list[0].number, "ASN-000001");
    let toms: Vec<ShipmentSummary> = tom.json_as("/api/shipments/list", &[]).await;
    assert!(toms.is_empty(), "{toms:?}");

    let line_odoo: (i64,) =
        sqlx::query_as("SELECT odoo_id FROM purchase_order_lines WHERE id = $1")
            .bind(lot_line.line_id)
            .fetch_one(&app.db)
            .await
            .unwrap();
    // What "Odoo" holds for the line's receipt: tracking ref, state, (quantity, lot) per move line.
    let receipt = |env: &mut millrace::odoo_double::Env| {
        let mv = *env
            .ids_where("stock.move", "purchase_line_id", &json!(line_odoo.0))
            .first()?;
        let picking = env.value("stock.move", mv, "picking_id").as_i64()?;
        let mut mls: Vec<(f64, Value)> = env
            .ids_where("stock.move.line", "move_id", &json!(mv))
            .into_iter()
            .map(|ml| {
                (
                    env.value("stock.move.line", ml, "quantity")
                        .as_f64()
                        .unwrap_or(0.0),
                    env.value("stock.move.line", ml, "lot_name"),
                )
            })
            .collect();
        mls.sort_by(|a, b| a.0.total_cmp(&b.0));
        let demand = env.value("stock.move", mv, "product_uom_qty").as_f64()?;
        Some((
            env.value("stock.picking", picking, "carrier_tracking_ref"),
            env.value("stock.picking", picking, "state"),
            mls,
            demand,
        ))
    };
    eventually(
        "the receipt holds the lot and the tracking number, not validated",
        || {
            let got = app.double.with_env(receipt);
            async move {
                got.is_some_and(|(tracking, state, mls, _)| {
                    tracking == json!("DHL 1Z999AA10123456784")
                        && state == json!("assigned")
                        && mls == vec![(2.0, json!("LOT-2026-11"))]
                })
            }
        },
    )
    .await;

    // Cancelling puts Odoo's receipt back as it was.
    let id = list[0].id.to_string();
    assert_eq!(
        tom.post("/api/shipments/cancel", &[("id", &id)])
            .await
            .status(),
        404
    );
    assert_eq!(
        ana.post("/api/shipments/cancel", &[("id", &id)])
            .await
            .status(),
        200
    );
    eventually("the move line is back to the demand, without a lot", || {
        let got = app.double.with_env(receipt);
        async move {
            got.is_some_and(|(tracking, _, mls, demand)| {
                tracking == json!(false) && mls == vec![(demand, json!(false))]
            })
        }
    })
    .await;
    // Cancelling again changes nothing and says so.
    let r = ana.post("/api/shipments/cancel", &[("id", &id)]).await;
    assert_eq!(r.status(), 200);
    assert!(r.text().await.unwrap().contains("cancelled already"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_document_attached_to_a_notice_reaches_odoo_once_and_only_its_supplier_can_download_it() {
    let app = spawn_app().await;
    let ana = signed_in(&app, "ana@gemini.example", "gemini-demo-pass").await;
    let (_, notice) = one_line_notice(&ana).await;
    let upload = |b: &Browser, token: Option<String>, name: &str, bytes: Vec<u8>| {
        let mut form = reqwest::multipart::Form::new();
        if let Some(t) = token {
            form = form.text("csrf_token", t);
        }
        form = form.part(
            "file",
            reqwest::multipart::Part::bytes(bytes).file_name(name.to_string()),
        );
        b.http
            .post(format!("{}/shipments/{notice}/documents", b.base))
            .multipart(form)
            .send()
    };
    let pdf = b"%PDF-1.7\n% certificate of conformance\n".to_vec();

    let r = upload(&ana, None, "coc.pdf", pdf.clone()).await.unwrap();
    assert_eq!(r.status(), 403, "no token, no upload");
    let r = upload(
        &ana,
        Some(ana.csrf.clone()),
        "coc.pdf",
        b"MZ\x90 not a pdf".to_vec(),
    )
    .await
    .unwrap();
    assert!(
        r.headers()["location"].to_str().unwrap().contains("error="),
        "a disguised file is refused"
    );
    let r = upload(&ana, Some(ana.csrf.clone()), "../coc.pdf", pdf.clone())
        .await
        .unwrap();
    assert!(
        r.headers()["location"]
            .to_str()
            .unwrap()
            .contains("uploaded="),
        "{:?}",
        r.headers()
    );
    let list: Vec<ShipmentSummary> = ana.json_as("/api/shipments/list", &[]).await;
    assert_eq!(list[0].documents[0].file_name, "coc.pdf");
    let doc = list[0].documents[0].id;

    let got = ana
        .http
        .get(format!("{}/shipments/{notice}/documents/{doc}", app.url))
        .send()
        .await
        .unwrap();
    assert_eq!(got.status(), 200);
    assert_eq!(got.bytes().await.unwrap().to_vec(), pdf);
    let tom = signed_in(&app, "tom@woodcorner.example", "woodcorner-demo-pass").await;
    let r = tom
        .http
        .get(format!("{}/shipments/{notice}/documents/{doc}", app.url))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    let r = upload(&tom, Some(tom.csrf.clone()), "x.pdf", pdf.clone())
        .await
        .unwrap();
    assert_eq!(
        r.status(),
        404,
        "another supplier cannot attach to the notice"
    );

    eventually(
        "the document is an attachment on the receipt in Odoo",
        || {
            let atts = app.double.with_env(|env| {
                env.ids_where(
                    "ir.attachment",
                    "name",
                    &json!(format!("ASN-000001 coc.pdf")),
                )
                .into_iter()
                .map(|id| {
                    (
                        env.value("ir.attachment", id, "res_model"),
                        env.value("ir.attachment", id, "datas"),
                    )
                })
                .collect::<Vec<_>>()
            });
            async move {
                atts.len() == 1
                    && atts[0].0 == json!("stock.picking")
                    && atts[0].1 == json!("JVBERi0xLjcKJSBjZXJ0aWZpY2F0ZSBvZiBjb25mb3JtYW5jZQo=")
            }
        },
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn late_notices_show_as_at_risk_and_the_screen_exports_as_csv_for_staff_only() {
    let app = spawn_app().await;
    let ana = signed_in(&app, "ana@gemini.example", "gemini-demo-pass").await;
    let line = open_line(&ana, "none").await;
    // The open-lines view shows times in Ana's zone; the rule works on the stored UTC date.
    let (requested,): (String,) =
        sqlx::query_as("SELECT date_planned FROM purchase_order_lines WHERE id = $1")
            .bind(line.line_id)
            .fetch_one(&app.db)
            .await
            .unwrap();
    let requested = chrono::NaiveDate::parse_from_str(&requested[..10], "%Y-%m-%d").unwrap();
    let mut form = asn_form(&[(line.line_id.to_string(), "1", "")], "DHL");
    form[1].1 = (requested + chrono::Duration::days(5)).to_string();
    assert_eq!(
        ana.post_owned("/api/shipments/submit", &form)
            .await
            .status(),
        200
    );

    let mut buyer = Browser::open(&app.url).await;
    buyer
        .sign_in("buyer@millrace.example", "buyer-demo-pass")
        .await;
    let x: ExceptionsView = buyer
        .json_as("/api/buyer/exceptions", &[("supplier", ""), ("buyer", "")])
        .await;
    let risk = x
        .at_risk
        .iter()
        .find(|r| r.order_name == line.order_name)
        .expect("the late line is at risk");
    assert_eq!(risk.why, "arrives 5 day(s) after the requested date");

    let csv = buyer
        .http
        .get(format!("{}/buyer/exceptions.csv", app.url))
        .send()
        .await
        .unwrap();
    assert_eq!(csv.status(), 200);
    assert!(csv.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/csv"));
    let body = csv.text().await.unwrap();
    assert!(
        body.starts_with("category,order,supplier,detail,since\r\n"),
        "{body}"
    );
    assert!(
        body.contains(&format!(
            "at-risk delivery,{},Gemini Furniture,",
            line.order_name
        )),
        "{body}"
    );
    let r = ana
        .http
        .get(format!("{}/buyer/exceptions.csv", app.url))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_receipt_that_differs_from_the_notice_shows_for_the_buyer_and_the_supplier() {
    let app = spawn_app().await;
    let ana = signed_in(&app, "ana@gemini.example", "gemini-demo-pass").await;
    synced_orders(&ana, 1).await;
    let line = open_line(&ana, "lot").await;
    let (line_id, order_id) = (line.line_id, line.order_id);
    let r = ana
        .post_owned(
            "/api/shipments/submit",
            &asn_form(&[(line_id.to_string(), "2", "LOT-A")], "DHL"),
        )
        .await;
    assert_eq!(r.status(), 200, "{:?}", r.text().await);
    let (line_odoo,): (i64,) =
        sqlx::query_as("SELECT odoo_id FROM purchase_order_lines WHERE id = $1")
            .bind(line_id)
            .fetch_one(&app.db)
            .await
            .unwrap();
    // The prefill reached the receipt; the warehouse books 1 of lot LOT-B and validates.
    let prefilled = |env: &mut millrace::odoo_double::Env| {
        let mv = *env
            .ids_where("stock.move", "purchase_line_id", &json!(line_odoo))
            .first()?;
        let ml = *env
            .ids_where("stock.move.line", "move_id", &json!(mv))
            .first()?;
        (env.value("stock.move.line", ml, "lot_name") == json!("LOT-A")).then(|| {
            (
                env.value("stock.move", mv, "picking_id").as_i64().unwrap(),
                ml,
            )
        })
    };
    eventually("the receipt is prefilled", || {
        let got = app.double.with_env(prefilled);
        async move { got.is_some() }
    })
    .await;
    app.double.with_env(|env| {
        let (picking, ml) = prefilled(env).unwrap();
        let admin = env.users[0].clone();
        let mut vals = serde_json::Map::new();
        vals.insert("vals".into(), json!({"quantity": 1.0, "lot_name": "LOT-B"}));
        env.execute(&admin, "stock.move.line", "write", Some(vec![ml]), vals)
            .unwrap();
        env.execute(
            &admin,
            "stock.picking",
            "button_validate",
            Some(vec![picking]),
            serde_json::Map::new(),
        )
        .unwrap();
    });

    // The buyer sees it among the exceptions; the supplier on its order, and in its history.
    let buyer = signed_in(&app, "buyer@millrace.example", "buyer-demo-pass").await;
    let mut found = None;
    for _ in 0..100 {
        let v: ExceptionsView = buyer
            .json_as("/api/buyer/exceptions", &[("supplier", ""), ("buyer", "")])
            .await;
        found = v.discrepancies.into_iter().find(|d| d.line_id == line_id);
        if found.is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let found = found.expect("the buyer sees the line's discrepancy");
    assert_eq!(found.kind, "short", "{found:?}");
    assert_eq!(found.detail, "short: 2 announced, 1 received");
    let detail = ana.order_detail(&order_id.to_string()).await;
    assert!(
        detail
            .discrepancies
            .iter()
            .any(|d| d.line_id == line_id && d.kind == "short"),
        "{:?}",
        detail.discrepancies
    );
    assert!(detail
        .events
        .iter()
        .any(|e| e.kind == "discrepancy" && e.detail.contains("short: 2 announced, 1 received")));
    let (lot,): (String,) =
        sqlx::query_as("SELECT lot_name FROM received_lots WHERE line_odoo_id = $1")
            .bind(line_odoo)
            .fetch_one(&app.db)
            .await
            .unwrap();
    assert_eq!(lot, "LOT-B", "the lot the warehouse booked is kept");
    let csv = buyer
        .get("/buyer/exceptions.csv", &[("supplier", ""), ("buyer", "")])
        .await
        .text()
        .await
        .unwrap();
    assert!(csv.contains("shipment vs receipt"), "{csv}");
}
