//! A supplier's or the staff's own system calling `/api/v1` with a token, for the test
//! binaries that exercise the API.

use serde_json::Value;

use super::app::TestApp;
use super::Browser;

/// A token created on the team page by `admin`, with the scope fields ticked.
pub async fn token(admin: &Browser, name: &str, scopes: &[&str]) -> String {
    let mut form = vec![
        ("supplier", ""),
        ("name", name),
        ("expires_in_days", ""),
        ("idempotency_key", ""),
    ];
    form.extend(scopes.iter().map(|s| (*s, "on")));
    let r = admin.post("/api/tokens/create", &form).await;
    assert_eq!(r.status(), 200, "{:?}", r.text().await);
    let created: Value = r.json().await.unwrap();
    created["secret"].as_str().unwrap().to_string()
}

pub const ALL: [&str; 4] = [
    "orders_read",
    "orders_write",
    "shipments_read",
    "shipments_write",
];

/// A system calling the API with a token.
pub struct Machine {
    pub http: reqwest::Client,
    pub base: String,
    pub token: String,
}

impl Machine {
    pub fn new(app: &TestApp, token: &str) -> Self {
        Machine {
            http: reqwest::Client::new(),
            base: format!("{}/api/v1", app.url),
            token: token.to_string(),
        }
    }

    pub async fn get(&self, path: &str) -> (u16, Value) {
        let r = self
            .http
            .get(format!("{}{path}", self.base))
            .bearer_auth(&self.token)
            .send()
            .await
            .unwrap();
        let status = r.status().as_u16();
        (status, r.json().await.unwrap_or(Value::Null))
    }

    pub async fn post(&self, path: &str, key: Option<&str>, body: Value) -> (u16, Value) {
        let mut req = self
            .http
            .post(format!("{}{path}", self.base))
            .bearer_auth(&self.token)
            .json(&body);
        if let Some(k) = key {
            req = req.header("Idempotency-Key", k);
        }
        let r = req.send().await.unwrap();
        let status = r.status().as_u16();
        if status >= 400 {
            assert_eq!(
                r.headers()["content-type"],
                "application/problem+json",
                "errors are problems"
            );
        }
        (status, r.json().await.unwrap_or(Value::Null))
    }
}

/// The id of the supplier's order `name`, from the API's change feed.
pub async fn order_in_feed(m: &Machine, name: &str) -> i64 {
    let mut after = String::new();
    loop {
        let (status, page) = m.get(&format!("/orders?limit=20&after={after}")).await;
        assert_eq!(status, 200, "{page}");
        if let Some(o) = page["orders"]
            .as_array()
            .unwrap()
            .iter()
            .find(|o| o["number"] == name)
        {
            return o["id"].as_i64().unwrap();
        }
        assert_eq!(page["has_more"], true, "{name} is not in the feed");
        after = page["next_cursor"].as_str().unwrap().to_string();
    }
}
