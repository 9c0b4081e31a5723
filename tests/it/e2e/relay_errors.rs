//! Bad input against a node's relay listener: every case gets the right XRPC error (status and
//! name, with a message), never a 5xx.

use serde_json::{Value, json};

use crate::harness::{Node, http};

struct Relay {
    url: String,
    client: reqwest::Client,
    cases: usize,
}

impl Relay {
    /// Sends `GET` (no body) or `POST` (a JSON body) and asserts the XRPC error.
    async fn expect(&mut self, case: &str, path: &str, body: Option<Value>, want: (u16, &str)) {
        let url = format!("{}/xrpc/{path}", self.url);
        let request = match body {
            Some(body) => self.client.post(&url).json(&body),
            None => self.client.get(&url),
        };
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        let body: Value = response.json().await.unwrap_or(Value::Null);
        assert_eq!(
            (status, body["error"].as_str()),
            (want.0, Some(want.1)),
            "{case}: {body}"
        );
        assert!(body["message"].is_string(), "{case}: no message in {body}");
        self.cases += 1;
    }
}

#[tokio::test]
async fn relay_routes_answer_bad_input_with_xrpc_errors() {
    let node = Node::start(&[]).await;
    let mut relay = Relay {
        url: node.relay().to_owned(),
        client: http(),
        cases: 0,
    };
    let bad = (400, "InvalidRequest");
    let not_found = (400, "RepoNotFound");
    let unknown = "did:plc:aaaaaaaaaaaaaaaaaaaaaaaa";
    // A host the relay never heard of (nothing listens on port 1).
    let unused = "localhost:1";
    let sync = |q: &str| format!("com.atproto.sync.{q}");

    relay
        .expect(
            "getRepo of a non-DID",
            &sync("getRepo?did=notadid"),
            None,
            bad,
        )
        .await;
    let path = sync(&format!("getRepo?did={unknown}"));
    relay
        .expect("getRepo of an unknown DID", &path, None, not_found)
        .await;
    let path = sync("getRepoStatus?did=at%3A%2F%2Fx");
    relay
        .expect("getRepoStatus of a non-DID", &path, None, bad)
        .await;
    let path = sync(&format!("getRepoStatus?did={unknown}"));
    relay
        .expect("getRepoStatus of an unknown DID", &path, None, not_found)
        .await;
    let path = sync("getLatestCommit?did=x");
    relay
        .expect("getLatestCommit of a non-DID", &path, None, bad)
        .await;
    let path = sync(&format!("getLatestCommit?did={unknown}"));
    relay
        .expect("getLatestCommit of an unknown DID", &path, None, not_found)
        .await;
    let path = sync("getLatestCommit");
    relay
        .expect("getLatestCommit without did", &path, None, bad)
        .await;
    relay
        .expect("listRepos limit 0", &sync("listRepos?limit=0"), None, bad)
        .await;
    relay
        .expect("listHosts limit 0", &sync("listHosts?limit=0"), None, bad)
        .await;
    relay
        .expect(
            "listHosts limit 1001",
            &sync("listHosts?limit=1001"),
            None,
            bad,
        )
        .await;
    let path = sync("listReposByCollection?collection=posts");
    relay
        .expect("listReposByCollection of a non-NSID", &path, None, bad)
        .await;
    let path = sync("listReposByCollection?collection=app.bsky.feed.post&limit=2001");
    relay
        .expect("listReposByCollection limit 2001", &path, None, bad)
        .await;
    let path = sync(&format!("getHostStatus?hostname={unused}"));
    let host_not_found = (404, "HostNotFound");
    relay
        .expect(
            "getHostStatus of an unknown host",
            &path,
            None,
            host_not_found,
        )
        .await;
    let crawl = sync("requestCrawl");
    let body = Some(json!({"hostname": unused}));
    relay
        .expect("requestCrawl of a silent host", &crawl, body, bad)
        .await;
    let body = Some(json!({"hostname": "not a host"}));
    relay
        .expect("requestCrawl of a non-hostname", &crawl, body, bad)
        .await;
    let body = Some(json!({}));
    relay
        .expect("requestCrawl without hostname", &crawl, body, bad)
        .await;
    let path = sync("subscribeRepos");
    let no_upgrade = (426, "UpgradeRequired");
    relay
        .expect("subscribeRepos without an upgrade", &path, None, no_upgrade)
        .await;
    let not_get = (405, "MethodNotAllowed");
    relay
        .expect("subscribeRepos over POST", &path, Some(json!({})), not_get)
        .await;

    // Host administration needs the admin password.
    let client = http();
    let ban = client.post(format!("{}/admin/hosts/{unused}/ban", relay.url));
    assert_eq!(ban.send().await.unwrap().status().as_u16(), 401);
    let stats = client
        .get(format!("{}/admin/stats", relay.url))
        .basic_auth("admin", Some(node.admin_password.as_str()));
    assert!(stats.send().await.unwrap().status().is_success());
    println!("relay errors: {}/{} cases", relay.cases, relay.cases);
}
