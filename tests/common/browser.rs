//! A browser-like client for the black-box tests.
//!
//! The server functions answer the view structs the pages receive (`millrace::api::*`,
//! `millrace::model::*`); the typed helpers (`json_as`, `order_detail`, `order_page`)
//! deserialize into them, so a test reads `detail.deliveries[0].status` and a renamed field
//! fails to compile instead of comparing `Null`. The untyped helpers (`json`, `order`,
//! `orders`) stay for answers that are not view structs: problem+json error bodies, and the
//! versioned REST API under `/api/v1`, whose documented JSON is itself the contract a third
//! party codes against.

use millrace::api::orders::{OrderDetail, OrderPage};
use serde::de::DeserializeOwned;
use serde_json::Value;

/// A browser-like client: cookie jar, no automatic redirects.
pub struct Browser {
    pub http: reqwest::Client,
    /// Where requests go; tests with several instances switch it.
    pub base: String,
    pub csrf: String,
}

impl Browser {
    pub async fn open(base: &str) -> Self {
        let http = reqwest::Client::builder()
            .cookie_store(true)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        let mut b = Browser {
            http,
            base: base.to_string(),
            csrf: String::new(),
        };
        b.refresh_csrf().await;
        b
    }

    pub async fn refresh_csrf(&mut self) {
        let html = self
            .http
            .get(format!("{}/login", self.base))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        let start = html
            .find("name=\"csrf-token\" content=\"")
            .expect("csrf meta")
            + "name=\"csrf-token\" content=\"".len();
        self.csrf = html[start..start + 64].to_string();
    }

    /// GET `path` as a browser asks for a page: its status and HTML.
    pub async fn page(&self, path: &str) -> (u16, String) {
        let r = self
            .http
            .get(format!("{}{path}", self.base))
            .send()
            .await
            .unwrap();
        (r.status().as_u16(), r.text().await.unwrap())
    }

    pub async fn post(&self, path: &str, form: &[(&str, &str)]) -> reqwest::Response {
        let mut fields: Vec<(&str, &str)> = form.to_vec();
        fields.push(("csrf_token", &self.csrf));
        self.http
            .post(format!("{}{}", self.base, path))
            .header("Accept", "application/json")
            .form(&fields)
            .send()
            .await
            .unwrap()
    }

    /// `post` with owned field names and values (forms built in a loop).
    pub async fn post_owned(&self, path: &str, form: &[(String, String)]) -> reqwest::Response {
        let fields: Vec<(&str, &str)> =
            form.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        self.post(path, &fields).await
    }

    pub async fn sign_in(&mut self, email: &str, password: &str) -> reqwest::Response {
        let r = self
            .post("/api/login", &[("email", email), ("password", password)])
            .await;
        self.refresh_csrf().await;
        r
    }

    pub async fn get(&self, path: &str, query: &[(&str, &str)]) -> reqwest::Response {
        self.http
            .get(format!("{}{}", self.base, path))
            .header("Accept", "application/json")
            .query(query)
            .send()
            .await
            .unwrap()
    }

    /// GET `path` answered 200, as JSON.
    pub async fn json(&self, path: &str, query: &[(&str, &str)]) -> Value {
        let r = self.get(path, query).await;
        assert_eq!(r.status(), 200, "{path}: {:?}", r.text().await);
        r.json().await.unwrap()
    }

    /// GET `path` answered 200, deserialized into the view struct `T` the endpoint answers.
    pub async fn json_as<T: DeserializeOwned>(&self, path: &str, query: &[(&str, &str)]) -> T {
        let r = self.get(path, query).await;
        let status = r.status();
        let body = r.text().await.unwrap();
        assert_eq!(status, 200, "{path}: {body}");
        serde_json::from_str(&body)
            .unwrap_or_else(|e| panic!("{path}: not a {}: {e}: {body}", std::any::type_name::<T>()))
    }

    /// The order `id` as its page receives it (answered 200).
    pub async fn order_detail(&self, id: &str) -> OrderDetail {
        self.json_as("/api/orders/get", &[("id", id)]).await
    }

    /// The first page of the orders list matching `q`, as the list page receives it.
    pub async fn order_page(&self, q: &str) -> OrderPage {
        self.json_as(
            "/api/orders/list",
            &[
                ("filter[q]", q),
                ("filter[status]", ""),
                ("filter[due_before]", ""),
                ("filter[page]", "1"),
            ],
        )
        .await
    }

    pub async fn order(&self, id: &str) -> reqwest::Response {
        self.get("/api/orders/get", &[("id", id)]).await
    }

    /// The first page of the orders list matching `q` and `status`, as answered.
    pub async fn orders_page(&self, q: &str, status: &str) -> reqwest::Response {
        self.get(
            "/api/orders/list",
            &[
                ("filter[q]", q),
                ("filter[status]", status),
                ("filter[due_before]", ""),
                ("filter[page]", "1"),
            ],
        )
        .await
    }

    pub async fn orders(&self, q: &str) -> Value {
        let r = self.orders_page(q, "").await;
        assert_eq!(r.status(), 200, "{:?}", r.text().await);
        r.json().await.unwrap()
    }
}
