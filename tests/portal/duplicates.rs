//! Doubled and retried submissions (a double click, a browser or proxy retrying): for each
//! state-changing action, ten at once and ten in a row, without a key, with one key, and
//! with a key each. Exactly one acts (one outbox message, one chatter note in the double,
//! one audit entry); the others answer that it was done already, or repeat the first
//! answer when they carry its key; none answers 5xx.

use super::*;
use futures::future::join_all;
use millrace::domain::order::{LineAnswerState, OrderStatus};
use millrace::model::sync::DeadLetterView;

const TIMES: usize = 10;

/// What the ten submissions carry in `idempotency_key`.
#[derive(Clone, Copy, Debug)]
enum Keys {
    Absent,
    /// One key, as one form sent ten times.
    Same,
    /// A key each, as ten forms.
    Different,
}

fn new_key() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}

fn keys(k: Keys) -> Vec<Option<String>> {
    let one = new_key();
    (0..TIMES)
        .map(|_| match k {
            Keys::Absent => None,
            Keys::Same => Some(one.clone()),
            Keys::Different => Some(new_key()),
        })
        .collect()
}

/// Posts `form` once per key, all at once; the status and body of each.
async fn storm(
    b: &Browser,
    path: &str,
    form: &[(&str, &str)],
    keys: &[Option<String>],
) -> Vec<(u16, String)> {
    join_all(keys.iter().map(|k| async move {
        let mut fields = form.to_vec();
        if let Some(k) = k {
            fields.push(("idempotency_key", k.as_str()));
        }
        let r = b.post(path, &fields).await;
        (r.status().as_u16(), r.text().await.unwrap())
    }))
    .await
}

/// Posts `form` once per key, one after another.
async fn in_a_row(
    b: &Browser,
    path: &str,
    form: &[(&str, &str)],
    keys: &[Option<String>],
) -> Vec<(u16, String)> {
    let mut out = Vec::new();
    for k in keys {
        out.extend(storm(b, path, form, std::slice::from_ref(k)).await);
    }
    out
}

/// Every answer a success; with one key all repeat the first answer, otherwise exactly one
/// acted and the others say it was done already.
fn acted_once(answers: &[(u16, String)], k: Keys) {
    assert!(answers.iter().all(|(s, _)| *s == 200), "{answers:#?}");
    let fresh = answers
        .iter()
        .filter(|(_, b)| b.contains("\"already\":false"))
        .count();
    match k {
        Keys::Same => {
            assert!(answers.iter().all(|a| a.1 == answers[0].1), "{answers:#?}");
            assert_eq!(fresh, answers.len(), "{answers:#?}");
        }
        Keys::Absent | Keys::Different => assert_eq!(fresh, 1, "{answers:#?}"),
    }
}

/// Sends `form` ten times at once with keys `k`; exactly one acts (see [`acted_once`]).
async fn storm_acts_once(b: &Browser, path: &str, form: &[(&str, &str)], k: Keys) {
    acted_once(&storm(b, path, form, &keys(k)).await, k);
}

/// All answers say it was done already.
fn all_already(answers: &[(u16, String)]) {
    assert!(
        answers
            .iter()
            .all(|(s, b)| *s == 200 && b.contains("\"already\":true")),
        "{answers:#?}"
    );
}

/// Outbox messages of `kind` for the order named `name`.
async fn queued(app: &TestApp, name: &str, kind: &str) -> i64 {
    let (n,): (i64,) = sqlx::query_as(
        "SELECT COUNT(*) FROM outbox_messages m JOIN purchase_orders o ON o.odoo_id = m.order_odoo_id WHERE o.name = $1 AND m.kind = $2",
    )
    .bind(name)
    .bind(kind)
    .fetch_one(&app.db)
    .await
    .unwrap();
    n
}

async fn count(app: &TestApp, sql: &str, arg: &str) -> i64 {
    let (n,): (i64,) = sqlx::query_as(sql)
        .bind(arg)
        .fetch_one(&app.db)
        .await
        .unwrap();
    n
}

async fn audits(app: &TestApp, action: &str) -> i64 {
    count(
        app,
        "SELECT COUNT(*) FROM audit_log WHERE action = $1",
        action,
    )
    .await
}

/// Waits until the outbox has delivered everything, then the portal's notes in the
/// double's chatter of `name` (each quotes the correlation id of its message).
async fn notes_once_delivered(app: &TestApp, name: &str) -> Vec<String> {
    eventually("the outbox delivered everything", || async {
        count(
            app,
            "SELECT COUNT(*) FROM outbox_messages WHERE status <> $1",
            "delivered",
        )
        .await
            == 0
    })
    .await;
    let (_, _, notes) = odoo_order(&app.double, name);
    notes
        .into_iter()
        .filter(|n| n.contains("Millrace ref"))
        .collect()
}

/// How many of `notes` mention `needle`.
fn mentioning(notes: &[String], needle: &str) -> usize {
    notes.iter().filter(|n| n.contains(needle)).count()
}

/// The supplier's orders still new, with at least `lines` lines: (id, name).
async fn new_orders(b: &Browser, lines: i64) -> Vec<(String, String)> {
    let page = synced_orders(b, 3).await;
    page.orders
        .iter()
        .filter(|o| o.status == OrderStatus::New && o.line_count >= lines)
        .map(|o| (o.id.to_string(), o.name.clone()))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_order_acknowledged_ten_times_at_once_or_in_a_row_is_acknowledged_once() {
    let app = spawn_app().await;
    let ana = signed_in(&app, "ana@gemini.example", "gemini-demo-pass").await;
    let orders = new_orders(&ana, 1).await;
    assert!(orders.len() >= 3, "{orders:?}");
    for ((order_id, name), k) in orders
        .iter()
        .zip([Keys::Absent, Keys::Same, Keys::Different])
    {
        let form = [("order_id", order_id.as_str())];
        let keys = keys(k);
        let first = storm(&ana, "/api/orders/acknowledge", &form, &keys).await;
        acted_once(&first, k);
        // Sent again later: each key gets its first answer again, no key "already".
        let again = in_a_row(&ana, "/api/orders/acknowledge", &form, &keys).await;
        match k {
            Keys::Absent => all_already(&again),
            Keys::Same | Keys::Different => assert_eq!(again, first, "{k:?}"),
        }
        all_already(&in_a_row(&ana, "/api/orders/acknowledge", &form, &[None]).await);
        assert_eq!(queued(&app, name, "acknowledge").await, 1, "{k:?}");
        let events = count(
            &app,
            "SELECT COUNT(*) FROM order_events e JOIN purchase_orders o ON o.id = e.order_id WHERE o.name = $1 AND e.kind = 'acknowledged'",
            name,
        )
        .await;
        assert_eq!(events, 1, "{k:?}");
    }
    for (_, name) in orders.iter().take(3) {
        let notes = notes_once_delivered(&app, name).await;
        let acks = mentioning(&notes, "Acknowledged by");
        assert_eq!(acks, 1, "{name}: {notes:#?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_same_answer_to_a_line_ten_times_is_recorded_and_sent_once() {
    let app = spawn_app().await;
    let ana = signed_in(&app, "ana@gemini.example", "gemini-demo-pass").await;
    let (order_id, name) = new_orders(&ana, 3).await.remove(0);
    let detail = ana.order_detail(&order_id).await;
    let line = |i: usize| {
        let l = &detail.lines[i];
        let requested = chrono::NaiveDate::parse_from_str(
            &l.date_planned.as_deref().unwrap()[..10],
            "%Y-%m-%d",
        )
        .unwrap();
        (l.id.to_string(), requested)
    };
    // Outside tolerance (a note, the buyer decides), inside (the date goes to Odoo), accept.
    let (far_line, requested) = line(0);
    let far = (requested + chrono::Duration::days(30)).to_string();
    let (near_line, requested) = line(1);
    let near = (requested + chrono::Duration::days(2)).to_string();
    let (accept_line, _) = line(2);
    let far_form = [
        ("order_id", order_id.as_str()),
        ("line_id", far_line.as_str()),
        ("answer", "propose"),
        ("proposed_date", far.as_str()),
        ("reason", "steel shortage"),
    ];
    let near_form = [
        ("order_id", order_id.as_str()),
        ("line_id", near_line.as_str()),
        ("answer", "propose"),
        ("proposed_date", near.as_str()),
        ("reason", "furnace maintenance"),
    ];
    let accept_form = [
        ("order_id", order_id.as_str()),
        ("line_id", accept_line.as_str()),
        ("answer", "accept"),
    ];
    let path = "/api/orders/answer-line";
    acted_once(
        &storm(&ana, path, &far_form, &keys(Keys::Absent)).await,
        Keys::Absent,
    );
    let near_keys = keys(Keys::Same);
    let first = storm(&ana, path, &near_form, &near_keys).await;
    acted_once(&first, Keys::Same);
    acted_once(
        &storm(&ana, path, &accept_form, &keys(Keys::Different)).await,
        Keys::Different,
    );
    // Once the new date is in Odoo and read back, the same proposal is still the same answer.
    eventually("the proposed date is read back from Odoo", || async {
        let d = ana.order_detail(&order_id).await;
        d.lines
            .get(1)
            .and_then(|l| l.date_planned.as_deref())
            .is_some_and(|p| p.starts_with(&near))
    })
    .await;
    // One after another, identical answers are no-ops that say so.
    for form in [&far_form[..], &near_form[..], &accept_form[..]] {
        let again = in_a_row(&ana, path, form, &keys(Keys::Absent)).await;
        all_already(&again);
        assert!(again[0].1.contains("recorded already"), "{again:?}");
    }
    let replayed = in_a_row(&ana, path, &near_form, &near_keys[..3]).await;
    assert!(replayed.iter().all(|a| *a == first[0]), "{replayed:#?}");
    // The key of the near answer, sent with another reason: refused, nothing stored.
    let mut other = near_form.to_vec();
    other[4] = ("reason", "another reason");
    let r = in_a_row(&ana, path, &other, &near_keys[..1]).await;
    assert_eq!(r[0].0, 422, "{r:?}");
    assert!(r[0].1.contains("already sent with other values"), "{r:?}");

    assert_eq!(queued(&app, &name, "note").await, 1);
    assert_eq!(queued(&app, &name, "update_line").await, 1);
    let answered = count(
        &app,
        "SELECT COUNT(*) FROM order_events e JOIN purchase_orders o ON o.id = e.order_id WHERE o.name = $1 AND e.kind = 'line_answered'",
        &name,
    )
    .await;
    assert_eq!(answered, 3);
    let notes = notes_once_delivered(&app, &name).await;
    assert_eq!(mentioning(&notes, "steel shortage"), 1, "{notes:#?}");
    assert_eq!(mentioning(&notes, "furnace maintenance"), 1, "{notes:#?}");
}

/// Ana proposes a quantity of 1 (outside tolerance) on the first `n` lines of `order_id`.
async fn proposals(ana: &Browser, order_id: &str, n: usize) -> Vec<String> {
    let detail = ana.order_detail(order_id).await;
    let mut ids = Vec::new();
    for l in detail.lines.iter().take(n) {
        let id = l.id.to_string();
        let r = ana
            .post(
                "/api/orders/answer-line",
                &[
                    ("order_id", order_id),
                    ("line_id", &id),
                    ("answer", "propose"),
                    ("proposed_quantity", "1"),
                    ("reason", "short of stock"),
                ],
            )
            .await;
        assert_eq!(r.status(), 200, "{:?}", r.text().await);
        ids.push(id);
    }
    let d = ana.order_detail(order_id).await;
    for i in 0..n {
        assert_eq!(
            d.lines[i].answer,
            Some(LineAnswerState::ProposalPending),
            "{d:?}"
        );
    }
    ids
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_buyers_decision_sent_ten_times_is_taken_once_and_bulk_approval_too() {
    let app = spawn_app().await;
    let ana = signed_in(&app, "ana@gemini.example", "gemini-demo-pass").await;
    let orders = new_orders(&ana, 2).await;
    let (one_id, one) = &orders[0];
    let (two_id, two) = &orders[1];
    let single = proposals(&ana, one_id, 2).await;
    let bulk = proposals(&ana, two_id, 2).await;
    let buyer = signed_in(&app, "buyer@millrace.example", "buyer-demo-pass").await;
    let notes_before = queued(&app, one, "note").await;

    let approve = [("line_id", single[0].as_str()), ("decision", "approve")];
    storm_acts_once(&buyer, "/api/buyer/decide", &approve, Keys::Absent).await;
    let reject = [
        ("line_id", single[1].as_str()),
        ("decision", "reject"),
        ("reason", "we need all of it"),
    ];
    let reject_keys = keys(Keys::Same);
    acted_once(
        &storm(&buyer, "/api/buyer/decide", &reject, &reject_keys).await,
        Keys::Same,
    );
    all_already(
        &in_a_row(
            &buyer,
            "/api/buyer/decide",
            &approve,
            &keys(Keys::Different),
        )
        .await,
    );
    all_already(&in_a_row(&buyer, "/api/buyer/decide", &reject, &[None, None]).await);
    // The rejection's key, sent to approve: another request, refused.
    let r = in_a_row(&buyer, "/api/buyer/decide", &approve, &reject_keys[..1]).await;
    assert_eq!(r[0].0, 422, "{r:?}");
    assert_eq!(queued(&app, one, "update_line").await, 1);
    assert_eq!(queued(&app, one, "note").await, notes_before + 1);

    // Bulk approval is a plain form: ten at once with its key, then once more without.
    let key = new_key();
    let bulk_form = |b: &Browser, key: Option<&str>| {
        let mut f = vec![
            ("line_id", bulk[0].clone()),
            ("line_id", bulk[1].clone()),
            ("csrf_token", b.csrf.clone()),
        ];
        if let Some(k) = key {
            f.push(("idempotency_key", k.to_string()));
        }
        f
    };
    let answers = join_all((0..TIMES).map(|_| {
        buyer
            .http
            .post(format!("{}/buyer/proposals/approve", app.url))
            .form(&bulk_form(&buyer, Some(&key)))
            .send()
    }))
    .await;
    for r in answers {
        let r = r.unwrap();
        assert!(r.status().is_redirection(), "{}", r.status());
        assert_eq!(r.headers()["location"], "/buyer/exceptions?bulk=2");
    }
    let r = buyer
        .http
        .post(format!("{}/buyer/proposals/approve", app.url))
        .form(&bulk_form(&buyer, None))
        .send()
        .await
        .unwrap();
    assert_eq!(r.headers()["location"], "/buyer/exceptions?bulk=0");
    assert_eq!(queued(&app, two, "update_line").await, 2);

    let notes = notes_once_delivered(&app, one).await;
    assert_eq!(mentioning(&notes, "we need all of it"), 1, "{notes:#?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_shipment_notice_sent_ten_times_is_announced_once_and_cancelled_once() {
    let app = spawn_app().await;
    let ana = signed_in(&app, "ana@gemini.example", "gemini-demo-pass").await;
    synced_orders(&ana, 1).await;
    let line = open_line(&ana, "none").await;
    let form = asn_form(&[(line.line_id.to_string(), "1", "")], "DHL");
    let fields: Vec<(&str, &str)> = form.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let submit_keys = keys(Keys::Same);
    let answers = storm(&ana, "/api/shipments/submit", &fields, &submit_keys).await;
    assert!(
        answers.iter().all(|a| a.0 == 200 && a.1 == answers[0].1),
        "{answers:#?}"
    );
    let again = in_a_row(&ana, "/api/shipments/submit", &fields, &submit_keys[..2]).await;
    assert!(again.iter().all(|a| *a == answers[0]), "{again:#?}");
    let list: Vec<ShipmentSummary> = ana.json_as("/api/shipments/list", &[]).await;
    assert_eq!(list.len(), 1, "{list:?}");
    let name = line.order_name.as_str();
    assert_eq!(queued(&app, name, "asn_prefill").await, 1);

    let id = list[0].id.to_string();
    let cancel = [("id", id.as_str())];
    storm_acts_once(&ana, "/api/shipments/cancel", &cancel, Keys::Absent).await;
    all_already(
        &in_a_row(
            &ana,
            "/api/shipments/cancel",
            &cancel,
            &keys(Keys::Different),
        )
        .await,
    );
    assert_eq!(queued(&app, name, "asn_prefill").await, 2);
    let cancelled = count(
        &app,
        "SELECT COUNT(*) FROM order_events WHERE kind = $1",
        "shipment_cancelled",
    )
    .await;
    assert_eq!(cancelled, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_document_uploaded_ten_times_is_attached_once() {
    let app = spawn_app().await;
    let ana = signed_in(&app, "ana@gemini.example", "gemini-demo-pass").await;
    let (line, notice) = one_line_notice(&ana).await;
    let upload = |key: Option<String>| {
        let mut form = reqwest::multipart::Form::new().text("csrf_token", ana.csrf.clone());
        if let Some(k) = key {
            form = form.text("idempotency_key", k);
        }
        form = form.part(
            "file",
            reqwest::multipart::Part::bytes(b"%PDF-1.7\n% packing list\n".to_vec())
                .file_name("packing.pdf"),
        );
        ana.http
            .post(format!("{}/shipments/{notice}/documents", ana.base))
            .multipart(form)
            .send()
    };
    for k in [Keys::Absent, Keys::Same, Keys::Different] {
        for r in join_all(keys(k).into_iter().map(upload)).await {
            let r = r.unwrap();
            assert!(r.status().is_redirection(), "{k:?}: {}", r.status());
            let to = r.headers()["location"].to_str().unwrap().to_string();
            assert!(to.starts_with("/shipments?uploaded="), "{k:?}: {to}");
        }
    }
    let (documents,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM shipment_documents")
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert_eq!(documents, 1);
    let name = line.order_name.as_str();
    assert_eq!(queued(&app, name, "attach_document").await, 1);
    notes_once_delivered(&app, name).await;
    let attachments = app.double.with_env(|env| {
        env.table("ir.attachment")
            .filter(|(_, a)| {
                a["name"]
                    .as_str()
                    .is_some_and(|n| n.contains("packing.pdf"))
            })
            .count()
    });
    assert_eq!(attachments, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dead_letter_replayed_or_discarded_ten_times_is_settled_once() {
    let app = spawn_app().await;
    let ana = signed_in(&app, "ana@gemini.example", "gemini-demo-pass").await;
    let orders = new_orders(&ana, 1).await;
    let key = app
        .double
        .with_env(|env| std::mem::replace(&mut env.users[0].api_keys, vec!["revoked".into()]));
    for (order_id, _) in orders.iter().take(2) {
        let r = ana
            .post("/api/orders/acknowledge", &[("order_id", order_id)])
            .await;
        assert_eq!(r.status(), 200);
    }
    eventually("both are dead-lettered", || async {
        count(
            &app,
            "SELECT COUNT(*) FROM outbox_messages WHERE status = $1",
            "dead",
        )
        .await
            == 2
    })
    .await;
    app.double.with_env(|env| env.users[0].api_keys = key);
    let buyer = signed_in(&app, "buyer@millrace.example", "buyer-demo-pass").await;
    let letters: Vec<DeadLetterView> = buyer.json_as("/api/sync/dead-letters", &[]).await;
    let replay_id = letters[0].id.to_string();
    let discard_id = letters[1].id.to_string();

    let replay = [("id", replay_id.as_str())];
    storm_acts_once(&buyer, "/api/sync/replay", &replay, Keys::Absent).await;
    let discard = [("id", discard_id.as_str()), ("reason", "sent by hand")];
    storm_acts_once(&buyer, "/api/sync/discard", &discard, Keys::Same).await;
    all_already(
        &in_a_row(
            &buyer,
            "/api/sync/discard",
            &discard,
            &keys(Keys::Different),
        )
        .await,
    );
    assert_eq!(audits(&app, "outbox_replay").await, 1);
    assert_eq!(audits(&app, "outbox_discard").await, 1);
    let name = letters[0].order_name.as_deref().unwrap();
    eventually("the replayed acknowledgment is delivered", || async {
        count(
            &app,
            "SELECT COUNT(*) FROM outbox_messages WHERE status = $1",
            "pending",
        )
        .await
            == 0
    })
    .await;
    let (_, acknowledged, notes) = odoo_order(&app.double, name);
    assert!(acknowledged);
    assert_eq!(mentioning(&notes, "Acknowledged by"), 1, "{notes:#?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_conflict_resolved_ten_times_is_resolved_once() {
    let app = spawn_app().await;
    let ana = signed_in(&app, "ana@gemini.example", "gemini-demo-pass").await;
    let conflict = write_back_conflict(&app, &ana).await;
    let buyer = signed_in(&app, "buyer@millrace.example", "buyer-demo-pass").await;
    eventually("the write-back conflict shows", || async {
        conflicts_of(&buyer)
            .await
            .iter()
            .any(|c| c.kind == "write_back")
    })
    .await;
    let open = conflicts_of(&buyer).await;
    let write_back = open.iter().find(|c| c.kind == "write_back").unwrap();
    let key = write_back.key.clone();
    let form = [("key", key.as_str()), ("resolution", "apply")];
    let same = keys(Keys::Same);
    let answers = storm(&buyer, "/api/buyer/resolve-conflict", &form, &same).await;
    acted_once(&answers, Keys::Same);
    let again = in_a_row(&buyer, "/api/buyer/resolve-conflict", &form, &same[..2]).await;
    assert!(again.iter().all(|a| *a == answers[0]), "{again:#?}");
    // Without the key, a later click finds the conflict gone: a clear 404, never a 5xx.
    let late = in_a_row(&buyer, "/api/buyer/resolve-conflict", &form, &[None]).await;
    assert_eq!(late[0].0, 404, "{late:?}");
    assert_eq!(audits(&app, "conflict_resolved").await, 1);
    assert_eq!(queued(&app, &conflict.name, "update_line").await, 1);
    let notes = notes_once_delivered(&app, &conflict.name).await;
    assert_eq!(mentioning(&notes, "furnace maintenance"), 1, "{notes:#?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invitations_and_settings_sent_ten_times_act_once() {
    let app = spawn_app().await;
    let admin = signed_in(&app, "admin@millrace.example", "admin-demo-pass").await;
    let (gemini,): (i64,) = sqlx::query_as("SELECT id FROM suppliers WHERE name = $1")
        .bind("Gemini Furniture")
        .fetch_one(&app.db)
        .await
        .unwrap();
    let gemini = gemini.to_string();

    // One invitation form sent ten times: one account, one mail, the same answer.
    let invite = |email: &'static str| {
        [
            ("supplier", gemini.clone()),
            ("email", email.to_string()),
            ("display_name", "Noor".to_string()),
            ("role", "supplier_user".to_string()),
        ]
    };
    let form = invite("noor@gemini.example");
    let fields: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let answers = storm(&admin, "/api/team/invite", &fields, &keys(Keys::Same)).await;
    assert!(
        answers.iter().all(|a| a.0 == 200 && a.1 == answers[0].1),
        "{answers:#?}"
    );
    // Ten forms at once: one account; the others say it exists, never a 5xx.
    let form = invite("omar@gemini.example");
    let fields: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let answers = storm(&admin, "/api/team/invite", &fields, &keys(Keys::Different)).await;
    assert_eq!(
        answers.iter().filter(|a| a.0 == 200).count(),
        1,
        "{answers:#?}"
    );
    assert!(
        answers
            .iter()
            .all(|a| a.0 == 200 || (a.0 == 422 && a.1.contains("has an account already"))),
        "{answers:#?}"
    );
    for to in ["noor@gemini.example", "omar@gemini.example"] {
        let mails = count(
            &app,
            "SELECT COUNT(*) FROM mail_outbox WHERE to_address = $1",
            to,
        )
        .await;
        assert_eq!(mails, 1, "{to}");
    }
    assert_eq!(audits(&app, "user_invited").await, 2);

    let (lea,): (i64,) = sqlx::query_as("SELECT id FROM users WHERE email = $1")
        .bind("lea@gemini.example")
        .fetch_one(&app.db)
        .await
        .unwrap();
    let lea = lea.to_string();
    let deactivate = [("user_id", lea.as_str()), ("active", "false")];
    storm_acts_once(&admin, "/api/team/set-active", &deactivate, Keys::Absent).await;
    assert_eq!(audits(&app, "user_deactivated").await, 1);

    let settings = [
        ("supplier_id", gemini.as_str()),
        ("ack_window_hours", "12"),
        ("date_tolerance_days", "3"),
        ("quantity_tolerance_percent", "5"),
        ("over_delivery_percent", "2"),
    ];
    storm_acts_once(
        &admin,
        "/api/admin/supplier-settings",
        &settings,
        Keys::Different,
    )
    .await;
    assert_eq!(audits(&app, "supplier_settings_changed").await, 1);

    let mail = [
        ("supplier", gemini.as_str()),
        ("copy_to", "orders@gemini.example"),
    ];
    storm_acts_once(&admin, "/api/team/mail", &mail, Keys::Absent).await;
    all_already(&in_a_row(&admin, "/api/team/mail", &mail, &keys(Keys::Absent)[..2]).await);
    assert_eq!(audits(&app, "organisation_mail_changed").await, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_odoo_connection_saved_ten_times_is_one_revision() {
    use millrace::server::secrets::SealingKeys;
    let sealing = SealingKeys::parse(&SealingKeys::generate(), &[]).unwrap();
    let app = spawn_app_with(|s| s.sealing = Some(sealing.clone())).await;
    let admin = signed_in(&app, "admin@millrace.example", "admin-demo-pass").await;
    let c = &app.double.config;
    let form = [
        ("url", app.double.url.as_str()),
        ("database", c.database.as_str()),
        ("login", c.login.as_str()),
        ("api_key", c.api_key.as_str()),
        ("intent", "save"),
    ];
    let same = keys(Keys::Same);
    let answers = storm(&admin, "/api/admin/odoo/apply", &form, &same).await;
    assert!(
        answers
            .iter()
            .all(|a| a.0 == 200 && a.1 == answers[0].1 && a.1.contains("\"saved_revision\":1")),
        "{answers:#?}"
    );
    let again = in_a_row(&admin, "/api/admin/odoo/apply", &form, &same[..2]).await;
    assert!(again.iter().all(|a| *a == answers[0]), "{again:#?}");
    let (revision,): (i64,) = sqlx::query_as("SELECT revision FROM odoo_connection")
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert_eq!(revision, 1);
    assert_eq!(audits(&app, "odoo_connection_saved").await, 1);
}
