//! The OAuth authorization server against the real binary, driven as an atproto client does it
//! (a loopback public client with its own DPoP key): metadata discovery, PAR with the nonce
//! dance, the sign-in and consent form (no JavaScript: a plain form post with the CSRF cookie),
//! the code exchange with PKCE, refresh rotation and reuse detection, revocation; and the proofs
//! that must be refused (replayed `jti`, stale nonce, wrong `htu`, another DPoP key).

use reqwest::StatusCode;
use reqwest::header::{COOKIE, LOCATION, SET_COOKIE};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use skyhold::core::crypto::{Algorithm, Keypair};
use skyhold::core::jwt;
use skyhold::core::oauth::jwk::Jwk;

use crate::harness::Node;
use crate::xrpc::Xrpc;

const REDIRECT: &str = "http://127.0.0.1/callback";
const CLIENT_ID: &str = "http://localhost?redirect_uri=http%3A%2F%2F127.0.0.1%2Fcallback&scope=atproto%20transition%3Ageneric%20repo%3Aapp.bsky.feed.like";
const VERIFIER: &str = "a-code-verifier-that-is-long-enough-for-pkce-rules-0123456789";

fn client() -> reqwest::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// A form body (this reqwest build has no `form` feature).
fn encode<K: AsRef<str>, V: AsRef<str>>(pairs: &[(K, V)]) -> String {
    let mut out = url::form_urlencoded::Serializer::new(String::new());
    for (k, v) in pairs {
        out.append_pair(k.as_ref(), v.as_ref());
    }
    out.finish()
}

trait Form {
    fn form_body(self, body: String) -> Self;
}

impl Form for reqwest::RequestBuilder {
    fn form_body(self, body: String) -> Self {
        self.header("content-type", "application/x-www-form-urlencoded")
            .body(body)
    }
}

fn b64(bytes: &[u8]) -> String {
    data_encoding::BASE64URL_NOPAD.encode(bytes)
}

/// A client's DPoP key and the nonce it last saw.
struct Dpop {
    key: Keypair,
    nonce: Option<String>,
    counter: u32,
}

impl Dpop {
    fn new() -> Dpop {
        Dpop {
            key: Keypair::generate(Algorithm::P256, &mut rand_core::OsRng),
            nonce: None,
            counter: 0,
        }
    }

    fn proof(&mut self, method: &str, url: &str, token: Option<&str>) -> String {
        self.counter += 1;
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs();
        let mut header = serde_json::Map::new();
        header.insert("typ".into(), "dpop+jwt".into());
        header.insert("jwk".into(), Jwk::public_json(&self.key.public_key()));
        let mut claims = json!({"jti": format!("jti-{}-{now}-{}", self.counter, rand_u32()),
                                "htm": method, "htu": url, "iat": now});
        if let Some(n) = &self.nonce {
            claims["nonce"] = n.clone().into();
        }
        if let Some(t) = token {
            claims["ath"] = b64(&Sha256::digest(t.as_bytes())).into();
        }
        jwt::sign_with_header(header, &claims, &self.key)
    }
}

fn rand_u32() -> u32 {
    use rand_core::RngCore;
    rand_core::OsRng.next_u32()
}

/// Posts a form with a DPoP proof, retrying once when the server asks for its nonce.
async fn post_form(
    http: &reqwest::Client,
    dpop: &mut Dpop,
    url: &str,
    form: &[(&str, &str)],
) -> (StatusCode, Value) {
    for _ in 0..2 {
        let proof = dpop.proof("POST", url, None);
        let response = http
            .post(url)
            .header("DPoP", proof)
            .form_body(encode(form))
            .send()
            .await
            .unwrap();
        if let Some(n) = response.headers().get("dpop-nonce") {
            dpop.nonce = Some(n.to_str().unwrap().to_owned());
        }
        let status = response.status();
        let body: Value = response.json().await.unwrap_or(Value::Null);
        if body["error"] != "use_dpop_nonce" {
            return (status, body);
        }
    }
    panic!("the server kept asking for a nonce");
}

fn challenge() -> String {
    b64(&Sha256::digest(VERIFIER.as_bytes()))
}

/// PAR, the page, the form post: returns the code.
async fn authorize(node: &Node, http: &reqwest::Client, dpop: &mut Dpop, scope: &str) -> String {
    let challenge = challenge();
    let (status, body) = post_form(
        http,
        dpop,
        &format!("{}/oauth/par", node.url),
        &[
            ("client_id", CLIENT_ID),
            ("response_type", "code"),
            ("code_challenge", &challenge),
            ("code_challenge_method", "S256"),
            ("redirect_uri", REDIRECT),
            ("scope", scope),
            ("state", "st-1"),
            ("login_hint", "alice.test"),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let request_uri = body["request_uri"].as_str().unwrap().to_owned();
    assert!(body["expires_in"].as_i64().unwrap() > 0);

    let page = http
        .get(format!(
            "{}/oauth/authorize?{}",
            node.url,
            encode(&[("client_id", CLIENT_ID), ("request_uri", &request_uri)])
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    assert_eq!(page.headers()["x-frame-options"], "DENY");
    assert!(
        page.headers()["content-security-policy"]
            .to_str()
            .unwrap()
            .contains("frame-ancestors 'none'")
    );
    let cookie = page.headers()[SET_COOKIE]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    let html = page.text().await.unwrap();
    assert!(!html.contains("<script"), "the page needs no script");
    assert!(
        html.contains("value=\"alice.test\""),
        "the login hint fills the form"
    );
    let csrf = html
        .split("name=\"csrf\" value=\"")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap()
        .to_owned();
    let form = |password: &'static str, decision: &'static str| {
        vec![
            ("csrf", csrf.clone()),
            ("client_id", CLIENT_ID.to_owned()),
            ("request_uri", request_uri.clone()),
            ("identifier", "alice.test".to_owned()),
            ("password", password.to_owned()),
            ("decision", decision.to_owned()),
        ]
    };
    let submit = format!("{}/oauth/authorize", node.url);

    // Without the cookie (a forged cross-site post) nothing happens.
    let forged = http
        .post(&submit)
        .form_body(encode(&form("correct horse battery", "allow")))
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), StatusCode::BAD_REQUEST);
    // A wrong password shows the page again.
    let wrong = http
        .post(&submit)
        .header(COOKIE, &cookie)
        .form_body(encode(&form("wrong password", "allow")))
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), StatusCode::OK);
    assert!(
        wrong
            .text()
            .await
            .unwrap()
            .contains("Wrong handle or password")
    );

    let allowed = http
        .post(&submit)
        .header(COOKIE, &cookie)
        .form_body(encode(&form("correct horse battery", "allow")))
        .send()
        .await
        .unwrap();
    assert_eq!(allowed.status(), StatusCode::SEE_OTHER);
    let location = url::Url::parse(allowed.headers()[LOCATION].to_str().unwrap()).unwrap();
    assert_eq!(location.host_str(), Some("127.0.0.1"));
    assert_eq!(location.path(), "/callback");
    let query: std::collections::HashMap<_, _> = location.query_pairs().into_owned().collect();
    assert_eq!(query["state"], "st-1");
    assert_eq!(query["iss"], node.url);
    query["code"].clone()
}

#[tokio::test]
async fn oauth_authorization_code_flow_with_dpop_refresh_and_revocation() {
    let node = Node::start(&[]).await;
    let xrpc = Xrpc::new(&node);
    let (did, _) = xrpc.account("alice.test").await;
    let http = client();

    // Discovery, as a client does it: resource → authorization server.
    let resource: Value = http
        .get(format!("{}/.well-known/oauth-protected-resource", node.url))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(resource["authorization_servers"], json!([node.url]));
    let meta: Value = http
        .get(format!(
            "{}/.well-known/oauth-authorization-server",
            node.url
        ))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(meta["issuer"], node.url);
    assert_eq!(meta["require_pushed_authorization_requests"], true);
    assert_eq!(meta["code_challenge_methods_supported"], json!(["S256"]));
    assert_eq!(meta["client_id_metadata_document_supported"], true);
    assert_eq!(
        meta["token_endpoint_auth_methods_supported"],
        json!(["none", "private_key_jwt"])
    );
    assert!(
        meta["dpop_signing_alg_values_supported"]
            .as_array()
            .unwrap()
            .contains(&json!("ES256"))
    );
    let token_url = meta["token_endpoint"].as_str().unwrap().to_owned();
    let revoke_url = meta["revocation_endpoint"].as_str().unwrap().to_owned();

    // PAR without a nonce is told to use one (and given it).
    let mut dpop = Dpop::new();
    let proof = dpop.proof("POST", &format!("{}/oauth/par", node.url), None);
    let first = http
        .post(format!("{}/oauth/par", node.url))
        .header("DPoP", proof)
        .form_body(encode(&[("client_id", CLIENT_ID)]))
        .send()
        .await
        .unwrap();
    assert_eq!(first.status(), StatusCode::BAD_REQUEST);
    assert!(first.headers().contains_key("dpop-nonce"));
    assert_eq!(
        first.json::<Value>().await.unwrap()["error"],
        "use_dpop_nonce"
    );

    let scope = "atproto transition:generic";
    let code = authorize(&node, &http, &mut dpop, scope).await;
    let exchange = |code: String| {
        vec![
            ("grant_type", "authorization_code".to_owned()),
            ("code", code),
            ("code_verifier", VERIFIER.to_owned()),
            ("redirect_uri", REDIRECT.to_owned()),
            ("client_id", CLIENT_ID.to_owned()),
        ]
    };
    let form = exchange(code.clone());
    let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();

    // Another DPoP key cannot redeem the code (and a code is good for one try).
    let mut thief = Dpop::new();
    let (status, body) = post_form(&http, &mut thief, &token_url, &form).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_grant")),
        "{body}"
    );

    let code = authorize(&node, &http, &mut dpop, scope).await;
    let form = exchange(code);
    let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let (status, tokens) = post_form(&http, &mut dpop, &token_url, &form).await;
    assert_eq!(status, StatusCode::OK, "{tokens}");
    assert_eq!(tokens["token_type"], "DPoP");
    assert_eq!(tokens["sub"], did);
    assert_eq!(tokens["scope"], scope);
    assert!(tokens["expires_in"].as_i64().unwrap() <= 30 * 60);
    // The code is spent.
    let (status, body) = post_form(&http, &mut dpop, &token_url, &form).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_grant"))
    );

    // Proofs that must be refused: a replayed one, a stale nonce, a wrong htu.
    let refresh = tokens["refresh_token"].as_str().unwrap().to_owned();
    let refresh_form = |token: &str| {
        vec![
            ("grant_type", "refresh_token".to_owned()),
            ("refresh_token", token.to_owned()),
            ("client_id", CLIENT_ID.to_owned()),
        ]
    };
    let raw = |proof: String, token: String| {
        let http = http.clone();
        let token_url = token_url.clone();
        async move {
            let response = http
                .post(&token_url)
                .header("DPoP", proof)
                .form_body(encode(&refresh_form(&token)))
                .send()
                .await
                .unwrap();
            (response.status(), response.json::<Value>().await.unwrap())
        }
    };
    let wrong_htu = dpop.proof("POST", &format!("{}/oauth/par", node.url), None);
    let (status, body) = raw(wrong_htu, refresh.clone()).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_dpop_proof")),
        "{body}"
    );
    let fresh_nonce = dpop.nonce.clone();
    dpop.nonce = Some("stale-nonce".into());
    let stale = dpop.proof("POST", &token_url, None);
    let (status, body) = raw(stale, refresh.clone()).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("use_dpop_nonce")),
        "{body}"
    );
    dpop.nonce = fresh_nonce;
    let good = dpop.proof("POST", &token_url, None);
    let (status, rotated) = raw(good.clone(), refresh.clone()).await;
    assert_eq!(status, StatusCode::OK, "{rotated}");
    let (status, body) = raw(good, "whatever".into()).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_dpop_proof")),
        "replayed jti: {body}"
    );
    let newer = rotated["refresh_token"].as_str().unwrap().to_owned();
    assert_ne!(newer, refresh, "refresh tokens rotate");

    // Reusing the first refresh token ends the whole session: its successor stops working too.
    let form = refresh_form(&refresh);
    let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let (status, body) = post_form(&http, &mut dpop, &token_url, &form).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_grant")),
        "{body}"
    );
    let form = refresh_form(&newer);
    let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let (status, body) = post_form(&http, &mut dpop, &token_url, &form).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_grant")),
        "{body}"
    );

    // A new session, revoked by its client: its refresh token stops working.
    let code = authorize(&node, &http, &mut dpop, scope).await;
    let form = exchange(code);
    let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let (status, tokens) = post_form(&http, &mut dpop, &token_url, &form).await;
    assert_eq!(status, StatusCode::OK, "{tokens}");
    let refresh = tokens["refresh_token"].as_str().unwrap().to_owned();
    let revoked = http
        .post(&revoke_url)
        .form_body(encode(&[
            ("token", tokens["access_token"].as_str().unwrap()),
            ("client_id", CLIENT_ID),
        ]))
        .send()
        .await
        .unwrap();
    assert_eq!(revoked.status(), StatusCode::OK);
    let form = refresh_form(&refresh);
    let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let (status, body) = post_form(&http, &mut dpop, &token_url, &form).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_grant")),
        "{body}"
    );

    // A scope the client did not declare is refused at PAR; denying sends the app an error.
    let (status, body) = post_form(
        &http,
        &mut dpop,
        &format!("{}/oauth/par", node.url),
        &[
            ("client_id", CLIENT_ID),
            ("response_type", "code"),
            ("code_challenge", &challenge()),
            ("code_challenge_method", "S256"),
            ("redirect_uri", REDIRECT),
            ("scope", "atproto transition:email"),
        ],
    )
    .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_scope")),
        "{body}"
    );
}

/// A full authorization: the token response.
async fn sign_in(node: &Node, http: &reqwest::Client, dpop: &mut Dpop, scope: &str) -> Value {
    let code = authorize(node, http, dpop, scope).await;
    let form = [
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("code_verifier", VERIFIER),
        ("redirect_uri", REDIRECT),
        ("client_id", CLIENT_ID),
    ];
    let (status, tokens) = post_form(http, dpop, &format!("{}/oauth/token", node.url), &form).await;
    assert_eq!(status, StatusCode::OK, "{tokens}");
    tokens
}

/// An XRPC procedure with an OAuth token and a proof made with `dpop`'s key.
async fn dpop_post(
    http: &reqwest::Client,
    dpop: &mut Dpop,
    url: &str,
    token: &str,
    body: &Value,
    proof_url: Option<&str>,
) -> (StatusCode, Value, String) {
    let proof = dpop.proof("POST", proof_url.unwrap_or(url), Some(token));
    let response = http
        .post(url)
        .header("Authorization", format!("DPoP {token}"))
        .header("DPoP", &proof)
        .header("content-type", "application/json")
        .body(body.to_string())
        .send()
        .await
        .unwrap();
    let status = response.status();
    (status, response.json().await.unwrap_or(Value::Null), proof)
}

#[tokio::test]
async fn oauth_tokens_on_xrpc_with_dpop_and_granular_scopes() {
    let node = Node::start(&[]).await;
    let xrpc = Xrpc::new(&node);
    let (did, _) = xrpc.account("alice.test").await;
    let http = client();
    let create = node.xrpc("com.atproto.repo.createRecord");
    let now = "2026-01-01T00:00:00.000Z";
    let post = json!({"repo": did, "collection": "app.bsky.feed.post",
                      "record": {"$type": "app.bsky.feed.post", "text": "hello over OAuth", "createdAt": now}});

    // transition:generic writes any record.
    let mut dpop = Dpop::new();
    let tokens = sign_in(&node, &http, &mut dpop, "atproto transition:generic").await;
    let access = tokens["access_token"].as_str().unwrap().to_owned();
    let generic_refresh = tokens["refresh_token"].as_str().unwrap().to_owned();
    let (status, body, proof) = dpop_post(&http, &mut dpop, &create, &access, &post, None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let subject = json!({"uri": body["uri"], "cid": body["cid"]});
    // The same proof again is a replay.
    let replayed = http
        .post(&create)
        .header("Authorization", format!("DPoP {access}"))
        .header("DPoP", proof)
        .header("content-type", "application/json")
        .body(post.to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(replayed.status(), StatusCode::UNAUTHORIZED);
    assert!(
        replayed.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .contains("invalid_dpop_proof")
    );
    // A proof for another URL (htu) is refused.
    let (status, _, _) = dpop_post(
        &http,
        &mut dpop,
        &create,
        &access,
        &post,
        Some(&node.xrpc("com.atproto.repo.putRecord")),
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    // Another key cannot use the token.
    let mut thief = Dpop::new();
    thief.nonce = dpop.nonce.clone();
    let (status, body, _) = dpop_post(&http, &mut thief, &create, &access, &post, None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    assert_eq!(body["error"], "InvalidToken");
    // A stale nonce is answered with a fresh one to retry with.
    let kept = dpop.nonce.replace("stale".into());
    let (status, body, _) = dpop_post(&http, &mut dpop, &create, &access, &post, None).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("use_dpop_nonce")),
        "{body}"
    );
    dpop.nonce = kept;
    // Without its proof the token is not a bearer token.
    let (status, _) = xrpc
        .post("com.atproto.repo.createRecord", Some(&access), post.clone())
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);

    // Granted only likes: likes work, posts are refused naming the permission.
    let mut liker = Dpop::new();
    let tokens = sign_in(&node, &http, &mut liker, "atproto repo:app.bsky.feed.like").await;
    assert_eq!(tokens["scope"], "atproto repo:app.bsky.feed.like");
    let like_token = tokens["access_token"].as_str().unwrap().to_owned();
    let like = json!({"repo": did, "collection": "app.bsky.feed.like",
                      "record": {"$type": "app.bsky.feed.like", "subject": subject, "createdAt": now}});
    let (status, body, _) = dpop_post(&http, &mut liker, &create, &like_token, &like, None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, body, _) = dpop_post(&http, &mut liker, &create, &like_token, &post, None).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains("repo:app.bsky.feed.post?action=create"),
        "{body}"
    );
    let blob = http
        .post(node.xrpc("com.atproto.repo.uploadBlob"))
        .header("Authorization", format!("DPoP {like_token}"))
        .header(
            "DPoP",
            liker.proof(
                "POST",
                &node.xrpc("com.atproto.repo.uploadBlob"),
                Some(&like_token),
            ),
        )
        .header("content-type", "image/png")
        .body(vec![0x89, b'P', b'N', b'G'])
        .send()
        .await
        .unwrap();
    assert_eq!(blob.status(), StatusCode::FORBIDDEN);
    // Account settings are not for OAuth apps without a permission.
    let (status, body, _) = dpop_post(
        &http,
        &mut liker,
        &node.xrpc("com.atproto.server.updateEmail"),
        &like_token,
        &json!({"email": "new@example.com"}),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");

    // Revoked: the access token stops working at once.
    let revoked = http
        .post(format!("{}/oauth/revoke", node.url))
        .form_body(encode(&[
            ("token", like_token.as_str()),
            ("client_id", CLIENT_ID),
        ]))
        .send()
        .await
        .unwrap();
    assert_eq!(revoked.status(), StatusCode::OK);
    let (status, body, _) = dpop_post(&http, &mut liker, &create, &like_token, &like, None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    assert_eq!(body["error"], "InvalidToken");

    // Deactivation ends every app session.
    let (status, body) = xrpc
        .post(
            "com.atproto.server.deactivateAccount",
            Some(&xrpc_login(&xrpc).await),
            json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, _, _) = dpop_post(&http, &mut dpop, &create, &access, &post, None).await;
    assert_ne!(status, StatusCode::OK);
    let refresh = [
        ("grant_type", "refresh_token"),
        ("refresh_token", generic_refresh.as_str()),
        ("client_id", CLIENT_ID),
    ];
    let (status, body) = post_form(
        &http,
        &mut dpop,
        &format!("{}/oauth/token", node.url),
        &refresh,
    )
    .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_grant")),
        "{body}"
    );
}

async fn xrpc_login(xrpc: &Xrpc) -> String {
    let (status, body) = xrpc
        .post(
            "com.atproto.server.createSession",
            None,
            json!({"identifier": "alice.test", "password": "correct horse battery"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["accessJwt"].as_str().unwrap().to_owned()
}

/// The official `@atproto/oauth-client-node` (tests/peers/oauth-client.mjs) signs in as a loopback
/// public client through the node's page, posts with DPoP through `Agent`, refreshes, signs out,
/// and the revoked tokens are refused.
#[tokio::test]
async fn official_oauth_client_node_signs_in_posts_refreshes_and_is_revoked() {
    let node = Node::start(&[]).await;
    let xrpc = Xrpc::new(&node);
    let (did, _) = xrpc.account("alice.test").await;
    let mut command = crate::harness::peer_command("oauth-client.mjs");
    command.args([node.url.as_str(), "alice.test", "correct horse battery"]);
    let summary = crate::harness::run_peer(
        "oauth-client.mjs",
        command,
        std::time::Duration::from_secs(120),
    )
    .await;
    assert_eq!(summary["did"], did.as_str(), "{summary}");
    assert_eq!(summary["ok"], true);
    println!("oauth-client-node: {summary}");
}

/// The member lists and disconnects their apps over XRPC (`blue.skyhold.oauth.*`), the admin
/// does it for them from the command line (`skyhold account apps`, `revoke-app`); each time the
/// app's tokens stop working at once.
#[tokio::test]
async fn members_and_admins_see_and_disconnect_apps() {
    let node = Node::start(&[]).await;
    let xrpc = Xrpc::new(&node);
    let (did, _) = xrpc.account("alice.test").await;
    let password_session = xrpc_login(&xrpc).await;
    let http = client();
    let create = node.xrpc("com.atproto.repo.createRecord");
    let like = json!({"repo": did, "collection": "app.bsky.feed.like",
                      "record": {"$type": "app.bsky.feed.like", "createdAt": "2026-01-01T00:00:00.000Z",
                                 "subject": {"uri": format!("at://{did}/app.bsky.feed.post/3jzfcijpj2z2a"),
                                             "cid": "bafyreidfayvfuwqa7qlnopdjiqrxzs6blmoeu4rujcjtnci5beludirz2a"}}});
    let cli = |args: &[&str]| {
        crate::harness::skyhold()
            .args(args)
            .args([
                "--server",
                &node.url,
                "--admin-password",
                &node.admin_password,
            ])
            .output()
            .unwrap()
    };

    let mut dpop = Dpop::new();
    let tokens = sign_in(&node, &http, &mut dpop, "atproto repo:app.bsky.feed.like").await;
    let access = tokens["access_token"].as_str().unwrap().to_owned();
    let (status, body) = xrpc
        .get("/xrpc/blue.skyhold.oauth.listApps", Some(&password_session))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let app = &body["apps"][0];
    assert_eq!(app["clientId"], CLIENT_ID, "{body}");
    assert_eq!(app["loopback"], true);
    assert_eq!(app["scope"], "atproto repo:app.bsky.feed.like");
    assert_eq!(app["sessions"], 1);
    let words = app["permissions"].to_string();
    assert!(words.contains("like"), "the permission in words: {words}");
    // An OAuth app may not look at the member's apps, even with its own token.
    let (status, _, _) = dpop_post(
        &http,
        &mut dpop,
        &node.xrpc("blue.skyhold.oauth.revokeApp"),
        &access,
        &json!({"clientId": CLIENT_ID}),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    // The admin's view, and the disconnect, from the command line.
    let listed = cli(&["account", "apps", "alice.test"]);
    let printed = String::from_utf8_lossy(&listed.stdout);
    assert!(listed.status.success(), "{printed}");
    assert!(printed.contains(CLIENT_ID), "{printed}");
    assert!(printed.contains("like"), "{printed}");
    let revoked = cli(&["account", "revoke-app", "alice.test", CLIENT_ID]);
    assert!(
        revoked.status.success(),
        "{}",
        String::from_utf8_lossy(&revoked.stderr)
    );
    let (status, body, _) = dpop_post(&http, &mut dpop, &create, &access, &like, None).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("InvalidToken")),
        "{body}"
    );
    let again = cli(&["account", "revoke-app", "alice.test", CLIENT_ID]);
    assert!(!again.status.success(), "nothing left to disconnect");

    // The member disconnects a new session themselves; its refresh token is refused too.
    let mut dpop = Dpop::new();
    let tokens = sign_in(&node, &http, &mut dpop, "atproto transition:generic").await;
    let (status, body) = xrpc
        .post(
            "blue.skyhold.oauth.revokeApp",
            Some(&password_session),
            json!({"clientId": CLIENT_ID}),
        )
        .await;
    assert_eq!(
        (status, &body["revoked"]),
        (StatusCode::OK, &json!(1)),
        "{body}"
    );
    let refresh = [
        ("grant_type", "refresh_token"),
        ("refresh_token", tokens["refresh_token"].as_str().unwrap()),
        ("client_id", CLIENT_ID),
    ];
    let (status, body) = post_form(
        &http,
        &mut dpop,
        &format!("{}/oauth/token", node.url),
        &refresh,
    )
    .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_grant")),
        "{body}"
    );
    let (_, body) = xrpc
        .get("/xrpc/blue.skyhold.oauth.listApps", Some(&password_session))
        .await;
    assert_eq!(body["apps"], json!([]));
}

/// A web app's server on this machine (`https://app.localhost:PORT`, fetched by a node in local
/// mode over http from 127.0.0.1): client metadata documents under `/{name}/`, each naming the
/// logo `/{name}/logo`, and the logos themselves, one per kind of answer the node must judge.
async fn app_server() -> String {
    use axum::extract::Path;
    use axum::http::header::CONTENT_TYPE;
    use axum::response::IntoResponse;
    use axum::routing::get;

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let origin = format!(
        "https://app.localhost:{}",
        listener.local_addr().unwrap().port()
    );
    let metadata_origin = origin.clone();
    let app = axum::Router::new()
        .route(
            "/{name}/client-metadata.json",
            get(move |Path(name): Path<String>| {
                let origin = metadata_origin.clone();
                async move {
                    axum::Json(json!({
                        "client_id": format!("{origin}/{name}/client-metadata.json"),
                        "client_name": format!("App {name}"),
                        "logo_uri": format!("{origin}/{name}/logo"),
                        "redirect_uris": [format!("{origin}/callback")],
                        "scope": "atproto",
                        "grant_types": ["authorization_code", "refresh_token"],
                        "response_types": ["code"],
                        "application_type": "web",
                        "token_endpoint_auth_method": "none",
                        "dpop_bound_access_tokens": true,
                    }))
                }
            }),
        )
        .route(
            "/{name}/logo",
            get(|Path(name): Path<String>| async move {
                let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
                png.extend_from_slice(&[7u8; 200]);
                let (content_type, body) = match name.as_str() {
                    "png" => ("image/png", png),
                    "svg" => (
                        "image/svg+xml",
                        br#"<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>"#
                            .to_vec(),
                    ),
                    // A PNG's first bytes, declared as HTML: refused, not served as an image.
                    "html" => ("text/html", png),
                    // Over 256 KiB.
                    "big" => {
                        png.resize(300 * 1024, 0);
                        ("image/png", png)
                    }
                    _ => return axum::http::StatusCode::NOT_FOUND.into_response(),
                };
                ([(CONTENT_TYPE, content_type)], body).into_response()
            }),
        );
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    origin
}

#[tokio::test]
async fn app_logos_are_fetched_checked_and_served_by_the_node() {
    let node = Node::start(&[]).await;
    let origin = app_server().await;
    let http = client();
    let client_id = |name: &str| format!("{origin}/{name}/client-metadata.json");
    let logo = |name: &str| {
        format!(
            "{}/oauth/client-logo?{}",
            node.url,
            encode(&[("client_id", client_id(name))])
        )
    };

    // A PNG: served from the node's own origin, typed, not sniffable, cacheable.
    let served = http.get(logo("png")).send().await.unwrap();
    assert_eq!(served.status(), StatusCode::OK);
    assert_eq!(served.headers()["content-type"], "image/png");
    assert_eq!(served.headers()["x-content-type-options"], "nosniff");
    assert!(
        served.headers()["cache-control"]
            .to_str()
            .unwrap()
            .contains("max-age=")
    );
    let bytes = served.bytes().await.unwrap();
    assert!(bytes.starts_with(b"\x89PNG\r\n\x1a\n"));
    assert_eq!(bytes.len(), 208);

    // SVG (it can carry script), an image declared as HTML, an oversized one, a missing one, an
    // unknown client: no logo, so the page shows the app's initial.
    for name in ["svg", "html", "big", "missing"] {
        let refused = http.get(logo(name)).send().await.unwrap();
        assert_eq!(refused.status(), StatusCode::NOT_FOUND, "{name}");
        assert!(
            !refused.headers()["content-type"]
                .to_str()
                .unwrap()
                .starts_with("image/"),
            "{name}"
        );
    }
    let unknown = http
        .get(format!(
            "{}/oauth/client-logo?client_id=https%3A%2F%2Fexample.invalid%2Fnope",
            node.url
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(unknown.status(), StatusCode::NOT_FOUND);
    let without = http
        .get(format!("{}/oauth/client-logo", node.url))
        .send()
        .await
        .unwrap();
    assert_eq!(without.status(), StatusCode::BAD_REQUEST);

    // The consent page shows the logo from the node's origin, and allows no other for images;
    // an app whose logo was refused gets no image at all.
    for (name, shown) in [("png", true), ("svg", false)] {
        let mut dpop = Dpop::new();
        let (status, par) = post_form(
            &http,
            &mut dpop,
            &format!("{}/oauth/par", node.url),
            &[
                ("client_id", &client_id(name)),
                ("response_type", "code"),
                ("code_challenge", &challenge()),
                ("code_challenge_method", "S256"),
                ("redirect_uri", &format!("{origin}/callback")),
                ("scope", "atproto"),
                ("state", "st-logo"),
            ],
        )
        .await;
        assert_eq!(status, StatusCode::CREATED, "{par}");
        let page = http
            .get(format!(
                "{}/oauth/authorize?{}",
                node.url,
                encode(&[
                    ("client_id", client_id(name).as_str()),
                    ("request_uri", par["request_uri"].as_str().unwrap()),
                ])
            ))
            .send()
            .await
            .unwrap();
        assert_eq!(page.status(), StatusCode::OK);
        let csp = page.headers()["content-security-policy"]
            .to_str()
            .unwrap()
            .to_owned();
        assert!(csp.contains("img-src 'self';"), "{csp}");
        assert!(!csp.contains("https:"), "{csp}");
        let html = page.text().await.unwrap();
        let img = format!(
            "<img src=\"/oauth/client-logo?{}\"",
            encode(&[("client_id", client_id(name))]).replace('&', "&amp;")
        );
        assert_eq!(html.contains(&img), shown, "{name}: {html}");
        assert!(!html.contains(&format!("{origin}/{name}/logo")), "{name}");
        assert!(html.contains(&format!("App {name} wants to use your account")));
    }
}

/// The built-in web UI is a client of its own node: its metadata document is served to anyone,
/// and the node takes its client id (an http URL in local mode, which no spec form allows) without
/// fetching itself, while the same form on another origin is refused.
#[tokio::test]
async fn the_web_ui_is_an_oauth_client_of_its_own_node() {
    let node = Node::start(&[]).await;
    let http = client();
    let doc: Value = http
        .get(format!("{}/oauth/client-metadata.json", node.url))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let client_id = format!("{}/oauth/client-metadata.json", node.url);
    let redirect = format!("{}/signin/callback", node.url);
    assert_eq!(doc["client_id"], client_id);
    assert_eq!(doc["redirect_uris"], json!([redirect]));
    assert_eq!(doc["token_endpoint_auth_method"], "none");
    assert_eq!(doc["dpop_bound_access_tokens"], true);
    let scope = doc["scope"].as_str().unwrap();
    let challenge = challenge();
    let par = |client: &str| {
        [
            ("client_id", client.to_owned()),
            ("response_type", "code".to_owned()),
            ("code_challenge", challenge.clone()),
            ("code_challenge_method", "S256".to_owned()),
            ("redirect_uri", redirect.clone()),
            ("scope", scope.to_owned()),
        ]
    };
    let mut dpop = Dpop::new();
    let url = format!("{}/oauth/par", node.url);
    let fields = par(&client_id);
    let form: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let (status, body) = post_form(&http, &mut dpop, &url, &form).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let fields = par("http://localhost:1/oauth/client-metadata.json");
    let form: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let (status, body) = post_form(&http, &mut dpop, &url, &form).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(body["error"], "invalid_client", "{body}");
}
