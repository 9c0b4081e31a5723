//! The built-in App View against a running node: `@atproto/api` drives a social scenario and
//! checks timelines, threads, profiles and notifications field by field
//! (`tests/peers/appview-client.mjs`); every view is validated against the official lexicons with
//! skyhold's own validator; deleting and taking down content removes it from every view; calls
//! with bad service-auth tokens are refused.

use std::future::Future;
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::{Value, json};
use skyhold::core::data;
use skyhold::core::lexicon::Catalog;
use skyhold::core::syntax::Nsid;

use crate::fixtures;
use crate::harness::{Node, http, peer_command};

/// The peer script bounds itself at 150 s; this only catches a hung Node process.
const PEER_TIMEOUT: Duration = Duration::from_secs(200);

/// An account on a node.
#[derive(Clone, Debug)]
pub struct Account {
    pub did: String,
    pub handle: String,
    pub token: String,
}

/// XRPC calls against one node.
pub struct Client {
    pub url: String,
    http: reqwest::Client,
}

impl Client {
    pub fn new(url: &str) -> Client {
        Client {
            url: url.to_owned(),
            http: http(),
        }
    }

    pub async fn get(
        &self,
        nsid: &str,
        query: &[(&str, &str)],
        token: Option<&str>,
    ) -> (StatusCode, Value) {
        let query = serde_html_form::to_string(query).unwrap();
        let mut request = self.http.get(format!("{}/xrpc/{nsid}?{query}", self.url));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        let response = request.send().await.unwrap();
        let status = response.status();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    /// A query that must succeed.
    pub async fn ok(&self, nsid: &str, query: &[(&str, &str)], token: Option<&str>) -> Value {
        let (status, body) = self.get(nsid, query, token).await;
        assert_eq!(status, StatusCode::OK, "{nsid} {query:?}: {body}");
        body
    }

    pub async fn post(&self, nsid: &str, body: &Value, token: Option<&str>) -> (StatusCode, Value) {
        let mut request = self
            .http
            .post(format!("{}/xrpc/{nsid}", self.url))
            .json(body);
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        let response = request.send().await.unwrap();
        let status = response.status();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    pub async fn account(&self, name: &str) -> Account {
        let handle = format!("{name}.test");
        let (status, body) = self
            .post(
                "com.atproto.server.createAccount",
                &json!({"handle": handle, "email": format!("{name}@example.com"), "password": "a long password"}),
                None,
            )
            .await;
        assert_eq!(status, StatusCode::OK, "createAccount {name}: {body}");
        Account {
            did: body["did"].as_str().unwrap().to_owned(),
            handle,
            token: body["accessJwt"].as_str().unwrap().to_owned(),
        }
    }

    /// Creates a record (with `$type` and, unless given, `createdAt` filled in); returns (uri, cid).
    pub async fn create(
        &self,
        who: &Account,
        collection: &str,
        mut record: Value,
    ) -> (String, String) {
        record["$type"] = json!(collection);
        if record.get("createdAt").is_none() {
            record["createdAt"] = json!(now());
        }
        let (status, body) = self
            .post(
                "com.atproto.repo.createRecord",
                &json!({"repo": who.did, "collection": collection, "record": record}),
                Some(&who.token),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "createRecord {collection}: {body}");
        // Distinct creation times keep "newest first" orders unambiguous.
        tokio::time::sleep(Duration::from_millis(3)).await;
        (
            body["uri"].as_str().unwrap().to_owned(),
            body["cid"].as_str().unwrap().to_owned(),
        )
    }

    /// Creates a record under a chosen rkey.
    pub async fn put(
        &self,
        who: &Account,
        collection: &str,
        rkey: &str,
        mut record: Value,
    ) -> (String, String) {
        record["$type"] = json!(collection);
        let (status, body) = self
            .post(
                "com.atproto.repo.putRecord",
                &json!({"repo": who.did, "collection": collection, "rkey": rkey, "record": record}),
                Some(&who.token),
            )
            .await;
        assert_eq!(
            status,
            StatusCode::OK,
            "putRecord {collection}/{rkey}: {body}"
        );
        (
            body["uri"].as_str().unwrap().to_owned(),
            body["cid"].as_str().unwrap().to_owned(),
        )
    }

    pub async fn delete(&self, who: &Account, uri: &str) {
        let mut parts = uri.trim_start_matches("at://").split('/');
        let (_, collection, rkey) = (parts.next(), parts.next().unwrap(), parts.next().unwrap());
        let (status, body) = self
            .post(
                "com.atproto.repo.deleteRecord",
                &json!({"repo": who.did, "collection": collection, "rkey": rkey}),
                Some(&who.token),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "deleteRecord {uri}: {body}");
    }

    pub async fn post_text(&self, who: &Account, text: &str) -> (String, String) {
        self.create(who, "app.bsky.feed.post", json!({"text": text}))
            .await
    }
}

pub fn now() -> String {
    let micros = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_micros() as i64;
    skyhold::core::syntax::Datetime::from_unix_millis(micros / 1000)
        .unwrap()
        .as_str()
        .to_owned()
}

pub fn strong_ref(uri_cid: &(String, String)) -> Value {
    json!({"uri": uri_cid.0, "cid": uri_cid.1})
}

/// Retries `check` until it returns `Ok`, for up to 20 s (indexing is asynchronous).
pub async fn eventually<T, F, Fut>(what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, String>>,
{
    let start = Instant::now();
    loop {
        match check().await {
            Ok(v) => return v,
            Err(e) if start.elapsed() > Duration::from_secs(20) => panic!("{what}: {e}"),
            Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
        }
    }
}

/// The official lexicons, through skyhold's own validator.
pub struct Lexicons {
    catalog: Catalog,
    pub checked: std::collections::BTreeMap<String, usize>,
}

impl Lexicons {
    pub fn load() -> Lexicons {
        let mut catalog = Catalog::new();
        let mut pending = vec![fixtures::shared_dir().join("lexicons")];
        while let Some(dir) = pending.pop() {
            for entry in std::fs::read_dir(&dir).unwrap() {
                let path = entry.unwrap().path();
                if path.is_dir() {
                    pending.push(path);
                } else if path.extension().is_some_and(|e| e == "json") {
                    let json: Value =
                        serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
                    catalog.add_json(&json).unwrap();
                }
            }
        }
        assert!(catalog.len() > 300, "the official lexicons did not load");
        Lexicons {
            catalog,
            checked: Default::default(),
        }
    }

    /// Asserts that `body` is a valid output of `nsid`, and returns it.
    pub fn output(&mut self, nsid: &str, body: Value) -> Value {
        let value = data::from_json(&body)
            .unwrap_or_else(|e| panic!("{nsid}: the answer is not atproto JSON ({e}): {body}"));
        if let Err(e) = self
            .catalog
            .validate_output(&Nsid::parse(nsid).unwrap(), &value)
        {
            panic!("{nsid}: the answer does not validate: {e}\n{body:#}");
        }
        *self.checked.entry(nsid.to_owned()).or_default() += 1;
        body
    }
}

#[tokio::test]
async fn atproto_api_social_scenario() {
    let mut command = peer_command("appview-client.mjs");
    let node = Node::start(&[]).await;
    command
        .arg(&node.url)
        .arg(fixtures::shared_dir().join("lexicons"));
    let output = tokio::time::timeout(PEER_TIMEOUT, command.output())
        .await
        .expect("appview-client.mjs did not finish within the timeout")
        .expect("running Node 22");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "appview-client.mjs failed ({}):\n--- stdout\n{stdout}\n--- stderr\n{stderr}",
        output.status
    );
    let summary: Value = serde_json::from_str(stdout.trim())
        .unwrap_or_else(|e| panic!("appview-client.mjs printed no JSON summary ({e}): {stdout}"));
    assert_eq!(summary["ok"], true, "{summary}");
    let validated = summary["validated"].as_object().unwrap();
    for nsid in [
        "app.bsky.feed.getTimeline",
        "app.bsky.feed.getPostThread",
        "app.bsky.actor.getProfile",
        "app.bsky.notification.listNotifications",
        "app.bsky.feed.searchPosts",
    ] {
        assert!(
            validated.contains_key(nsid),
            "{nsid} was never validated: {summary}"
        );
    }
    println!(
        "@atproto/api App View scenario against {}: {summary}",
        node.url
    );
}
