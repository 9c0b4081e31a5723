//! A small XRPC client for end-to-end tests: every call returns the status and the JSON body, so a
//! test can assert errors as easily as answers.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::harness::{Node, http};

pub struct Xrpc {
    pub base: String,
    http: reqwest::Client,
    admin_password: String,
}

async fn answer(request: reqwest::RequestBuilder) -> (StatusCode, Value) {
    let response = request.send().await.unwrap();
    let status = response.status();
    (status, response.json().await.unwrap_or(Value::Null))
}

impl Xrpc {
    /// A client of a node a test started itself.
    pub fn with_base(base: &str, admin_password: &str) -> Xrpc {
        Xrpc {
            base: base.to_owned(),
            http: http(),
            admin_password: admin_password.to_owned(),
        }
    }

    pub fn new(node: &Node) -> Xrpc {
        Xrpc {
            base: node.url.clone(),
            http: http(),
            admin_password: node.admin_password.clone(),
        }
    }

    fn with_token(
        request: reqwest::RequestBuilder,
        token: Option<&str>,
    ) -> reqwest::RequestBuilder {
        match token {
            Some(token) => request.bearer_auth(token),
            None => request,
        }
    }

    /// A procedure with a JSON body.
    pub async fn post(&self, nsid: &str, token: Option<&str>, body: Value) -> (StatusCode, Value) {
        let request = self
            .http
            .post(format!("{}/xrpc/{nsid}", self.base))
            .json(&body);
        answer(Self::with_token(request, token)).await
    }

    /// A procedure with raw bytes.
    pub async fn post_raw(
        &self,
        nsid: &str,
        token: Option<&str>,
        content_type: &str,
        body: Vec<u8>,
    ) -> (StatusCode, Value) {
        let request = self
            .http
            .post(format!("{}/xrpc/{nsid}", self.base))
            .header("content-type", content_type)
            .body(body);
        answer(Self::with_token(request, token)).await
    }

    /// A GET of `path_and_query` (`/xrpc/…?…`).
    pub async fn get(&self, path_and_query: &str, token: Option<&str>) -> (StatusCode, Value) {
        let request = self.http.get(format!("{}{path_and_query}", self.base));
        answer(Self::with_token(request, token)).await
    }

    /// A POST as the admin (basic auth) to a path (`/xrpc/…` or `/admin/…`).
    pub async fn admin_post(&self, path: &str, body: Value) -> (StatusCode, Value) {
        let request = self
            .http
            .post(format!("{}{path}", self.base))
            .basic_auth("admin", Some(&self.admin_password))
            .json(&body);
        answer(request).await
    }

    /// A GET as the admin.
    pub async fn admin_get(&self, path_and_query: &str) -> (StatusCode, Value) {
        let request = self
            .http
            .get(format!("{}{path_and_query}", self.base))
            .basic_auth("admin", Some(&self.admin_password));
        answer(request).await
    }

    /// Creates `handle` with the password `correct horse battery`; returns (DID, access token).
    pub async fn account(&self, handle: &str) -> (String, String) {
        let (status, body) = self
            .post(
                "com.atproto.server.createAccount",
                None,
                json!({"handle": handle, "email": format!("{}@example.com", handle.replace('.', "-")),
                       "password": "correct horse battery"}),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        (
            body["did"].as_str().unwrap().to_owned(),
            body["accessJwt"].as_str().unwrap().to_owned(),
        )
    }
}

/// Asserts an XRPC error with this status and name.
pub fn expect(case: &str, got: (StatusCode, Value), status: u16, error: &str) {
    assert_eq!(got.0.as_u16(), status, "{case}: {}", got.1);
    assert_eq!(got.1["error"], error, "{case}: {}", got.1);
    assert!(
        got.1["message"].is_string(),
        "{case}: no message in {}",
        got.1
    );
}
