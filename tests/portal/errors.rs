//! One error model: plain handlers answer `application/problem+json` with a stable `code`,
//! as the request guard and the argument middleware do.

use super::*;

async fn problem(r: reqwest::Response, status: u16, code: &str) -> Value {
    assert_eq!(r.status(), status);
    assert_eq!(r.headers()["content-type"], "application/problem+json");
    let p: Value = r.json().await.unwrap();
    assert_eq!(p["code"], code, "{p}");
    assert_eq!(p["status"], status, "{p}");
    p
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plain_handlers_answer_missing_and_forbidden_as_problems() {
    let app = spawn_app().await;
    let ana = signed_in(&app, "ana@gemini.example", "gemini-demo-pass").await;
    let p = problem(ana.get("/orders/999999/pdf", &[]).await, 404, "not_found").await;
    assert_eq!(p["detail"], "No such order among yours.");
    problem(
        ana.get("/shipments/999999/documents/1", &[]).await,
        404,
        "not_found",
    )
    .await;
    let buyer = signed_in(&app, "buyer@millrace.example", "buyer-demo-pass").await;
    let r = buyer
        .http
        .post(format!("{}/shipments/999999/documents", app.url))
        .header("Origin", &app.url)
        .multipart(reqwest::multipart::Form::new().text("csrf_token", buyer.csrf.clone()))
        .send()
        .await
        .unwrap();
    problem(r, 403, "forbidden").await;
}
