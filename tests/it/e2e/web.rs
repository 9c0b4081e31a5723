//! The built-in web UI as the server delivers it: the page shell with its security headers and
//! config, versioned assets (ETag, 304, brotli and gzip, a year of caching), which paths are the
//! UI's and which stay the protocol's, and the OpenGraph meta of public profiles and posts, absent
//! for accounts that self-label `!no-unauthenticated`. The UI itself is driven in Chromium by
//! `tests/web/` (run by tests/run-all.sh).

use std::io::Read;
use std::time::Duration;

use reqwest::StatusCode;
use reqwest::header::{
    ACCEPT_ENCODING, CACHE_CONTROL, CONTENT_ENCODING, CONTENT_SECURITY_POLICY, CONTENT_TYPE, ETAG,
    IF_NONE_MATCH, X_FRAME_OPTIONS,
};
use serde_json::json;

use crate::harness::{Node, http};
use crate::xrpc::Xrpc;

async fn page(
    client: &reqwest::Client,
    url: &str,
) -> (StatusCode, reqwest::header::HeaderMap, String) {
    let response = client.get(url).send().await.unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    (status, headers, response.text().await.unwrap())
}

fn meta<'a>(html: &'a str, property: &str) -> Option<&'a str> {
    let start = html
        .find(&format!("property=\"{property}\" content=\""))
        .or_else(|| html.find(&format!("name=\"{property}\" content=\"")))?;
    let rest = &html[start..];
    let value = &rest[rest.find("content=\"")? + 9..];
    Some(&value[..value.find('"')?])
}

#[tokio::test]
async fn shell_assets_and_routes() {
    let node = Node::start(&[]).await;
    let client = http();

    let (status, headers, html) = page(&client, &format!("{}/", node.url)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers[CONTENT_TYPE], "text/html; charset=utf-8");
    assert_eq!(headers[X_FRAME_OPTIONS], "DENY");
    let csp = headers[CONTENT_SECURITY_POLICY].to_str().unwrap();
    assert!(
        csp.contains("frame-ancestors 'none'") && csp.contains("default-src 'none'"),
        "{csp}"
    );
    assert!(!csp.contains("unsafe") && !csp.contains("http"), "{csp}");
    assert_eq!(headers[CACHE_CONTROL], "no-cache");
    let port = node.url.rsplit(':').next().unwrap();
    assert!(
        html.contains(&format!("\"serviceDid\":\"did:web:localhost%3A{port}\"")),
        "{html}"
    );
    assert!(html.contains(&format!(
        "\"appviewProxy\":\"did:web:localhost%3A{port}#bsky_appview\""
    )));

    // The entry module under the versioned prefix.
    let start = html.find("src=\"/assets/").unwrap() + 5;
    let app = &html[start..start + html[start..].find('"').unwrap()];
    assert!(app.ends_with("/app.js"), "{app}");
    let url = format!("{}{app}", node.url);
    let response = client
        .get(&url)
        .header(ACCEPT_ENCODING, "gzip, deflate, br")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()[CONTENT_ENCODING], "br");
    assert_eq!(
        response.headers()[CACHE_CONTROL],
        "public, max-age=31536000, immutable"
    );
    assert_eq!(
        response.headers()[CONTENT_TYPE],
        "text/javascript; charset=utf-8"
    );
    let etag = response.headers()[ETAG].to_str().unwrap().to_owned();
    let compressed = response.bytes().await.unwrap();
    let mut decoded = Vec::new();
    brotli::Decompressor::new(&compressed[..], 4096)
        .read_to_end(&mut decoded)
        .unwrap();
    let identity = client.get(&url).send().await.unwrap();
    assert!(identity.headers().get(CONTENT_ENCODING).is_none());
    assert_eq!(
        decoded,
        identity.bytes().await.unwrap(),
        "brotli decodes to the file"
    );
    let revalidated = client
        .get(&url)
        .header(ACCEPT_ENCODING, "br")
        .header(IF_NONE_MATCH, &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(revalidated.status(), StatusCode::NOT_MODIFIED);
    let gzip = client
        .get(&url)
        .header(ACCEPT_ENCODING, "gzip")
        .send()
        .await
        .unwrap();
    assert_eq!(gzip.headers()[CONTENT_ENCODING], "gzip");
    // Another version's URL still works, but is revalidated.
    let old = client
        .get(format!("{}/assets/000000000000/app.js", node.url))
        .send()
        .await
        .unwrap();
    assert_eq!(old.status(), StatusCode::OK);
    assert_eq!(old.headers()[CACHE_CONTROL], "no-cache");
    let missing = client
        .get(format!("{}{}", node.url, app.replace("app.js", "nope.js")))
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);

    // Client routes get the shell; unknown pages too, with 404; protocol paths never do.
    for (path, expected) in [
        ("/search", StatusCode::OK),
        ("/notifications", StatusCode::OK),
        ("/settings/app-passwords", StatusCode::OK),
        ("/invite/abc-def", StatusCode::OK),
        ("/no-such-page", StatusCode::NOT_FOUND),
        ("/a/b/c", StatusCode::NOT_FOUND),
    ] {
        let (status, headers, _) = page(&client, &format!("{}{path}", node.url)).await;
        assert_eq!(status, expected, "{path}");
        assert_eq!(headers[CONTENT_TYPE], "text/html; charset=utf-8", "{path}");
    }
    for path in [
        "/.well-known/nothing",
        "/plc/nothing/here",
        "/admin/nothing",
        "/oauth/x",
    ] {
        let (status, headers, _) = page(&client, &format!("{}{path}", node.url)).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{path}");
        assert_ne!(
            headers.get(CONTENT_TYPE).map(|v| v.to_str().unwrap()),
            Some("text/html; charset=utf-8"),
            "{path}"
        );
    }
    let (status, body) = Xrpc::new(&node)
        .get("/xrpc/com.atproto.server.describeServer", None)
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");

    // The embedded PLC directory still answers at the root for did:plc.
    let (did, _) = Xrpc::new(&node).account("dora.test").await;
    let document: serde_json::Value = client
        .get(format!("{}/{did}", node.url))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(document["id"], did.as_str());
}

#[tokio::test]
async fn public_pages_unfurl_unless_the_account_opts_out() {
    let node = Node::start(&[]).await;
    let xrpc = Xrpc::new(&node);
    let client = http();
    let (did, token) = xrpc.account("rosa.test").await;
    let profile = |labels: Option<serde_json::Value>| {
        let mut record = json!({"$type": "app.bsky.actor.profile", "displayName": "Rosa <Roses>",
                                "description": "Growing roses & \"peonies\""});
        if let Some(labels) = labels {
            record["labels"] = labels;
        }
        json!({"repo": did, "collection": "app.bsky.actor.profile", "rkey": "self", "record": record})
    };
    let (status, body) = xrpc
        .post("com.atproto.repo.putRecord", Some(&token), profile(None))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, post) = xrpc
        .post(
            "com.atproto.repo.createRecord",
            Some(&token),
            json!({"repo": did, "collection": "app.bsky.feed.post",
                   "record": {"$type": "app.bsky.feed.post", "text": "The first rose opened today",
                              "createdAt": "2026-06-01T10:00:00.000Z"}}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{post}");
    let rkey = post["uri"]
        .as_str()
        .unwrap()
        .rsplit('/')
        .next()
        .unwrap()
        .to_owned();
    let profile_url = format!("{}/profile/rosa.test", node.url);
    let post_url = format!("{profile_url}/post/{rkey}");

    // The App View indexes asynchronously.
    let mut html = String::new();
    for _ in 0..100 {
        html = page(&client, &post_url).await.2;
        if meta(&html, "og:description").is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(
        meta(&html, "og:title"),
        Some("Rosa &lt;Roses&gt; (@rosa.test)"),
        "{html}"
    );
    assert_eq!(
        meta(&html, "og:description"),
        Some("The first rose opened today")
    );
    assert_eq!(meta(&html, "og:url"), Some(post_url.as_str()));
    assert_eq!(meta(&html, "twitter:card"), Some("summary"));
    assert!(html.contains(&format!(
        "<link rel=\"alternate\" href=\"at://{did}/app.bsky.feed.post/{rkey}\">"
    )));
    assert!(html.contains("<noscript>"));
    let (status, _, html) = page(&client, &profile_url).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        meta(&html, "og:description"),
        Some("Growing roses &amp; &quot;peonies&quot;")
    );
    assert_eq!(meta(&html, "og:type"), Some("profile"));

    // Unknown accounts and posts are 404 pages without meta.
    let (status, _, html) = page(&client, &format!("{}/profile/nobody.test", node.url)).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(meta(&html, "og:title").is_none());
    let (status, _, _) = page(&client, &format!("{profile_url}/post/3aaaaaaaaaaaa")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // The account asks not to be shown to signed-out viewers: no meta at all.
    let labels = json!({"$type": "com.atproto.label.defs#selfLabels", "values": [{"val": "!no-unauthenticated"}]});
    let (status, body) = xrpc
        .post(
            "com.atproto.repo.putRecord",
            Some(&token),
            profile(Some(labels)),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let mut hidden = false;
    for _ in 0..100 {
        let html = page(&client, &profile_url).await.2;
        if meta(&html, "og:title").is_none() {
            hidden = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(hidden, "the profile page still carries meta tags");
    let (status, _, html) = page(&client, &post_url).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        meta(&html, "og:description").is_none() && !html.contains("first rose"),
        "{html}"
    );
}
