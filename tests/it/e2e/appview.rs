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
        let mut pending = vec![fixtures::lexicons_dir()];
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
    command.arg(&node.url).arg(fixtures::lexicons_dir());
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

/// The App View's service DID on a local node.
fn service_did(node: &Node) -> String {
    format!("did:web:localhost%3A{}", node.port)
}

/// Every view, over lists, starter packs, feeds, gates and labelers as well as posts, validates
/// against the official lexicons with skyhold's own validator, and says what the lexicons mean.
#[tokio::test]
async fn every_view_validates_against_the_official_lexicons() {
    let node = Node::start(&[]).await;
    let c = Client::new(&node.url);
    let mut lex = Lexicons::load();
    let alice = c.account("alice").await;
    let bob = c.account("bob").await;
    let carol = c.account("carol").await;
    let own = service_did(&node);

    c.put(
        &alice,
        "app.bsky.actor.profile",
        "self",
        json!({"displayName": "Alice"}),
    )
    .await;
    c.create(&bob, "app.bsky.graph.follow", json!({"subject": alice.did}))
        .await;
    c.create(&carol, "app.bsky.graph.follow", json!({"subject": bob.did}))
        .await;
    let p1 = c.post_text(&alice, "gated thread about rust").await;
    let rkey1 = p1.0.rsplit('/').next().unwrap().to_owned();
    c.put(
        &alice,
        "app.bsky.feed.threadgate",
        &rkey1,
        json!({"post": p1.0, "allow": [{"$type": "app.bsky.feed.threadgate#followerRule"}], "createdAt": now()}),
    )
    .await;
    c.put(
        &alice,
        "app.bsky.feed.postgate",
        &rkey1,
        json!({"post": p1.0, "embeddingRules": [{"$type": "app.bsky.feed.postgate#disableRule"}], "createdAt": now()}),
    )
    .await;
    // Bob follows alice: his reply is allowed. Carol does not: hers violates the gate.
    let r_bob = c
        .create(&bob, "app.bsky.feed.post", json!({"text": "allowed reply", "reply": {"root": strong_ref(&p1), "parent": strong_ref(&p1)}}))
        .await;
    let r_carol = c
        .create(&carol, "app.bsky.feed.post", json!({"text": "gated out", "reply": {"root": strong_ref(&p1), "parent": strong_ref(&p1)}}))
        .await;
    // A quote the postgate forbids, with an external link as media.
    let quote = c
        .create(
            &carol,
            "app.bsky.feed.post",
            json!({"text": "quoting anyway", "embed": {
                "$type": "app.bsky.embed.recordWithMedia",
                "record": {"$type": "app.bsky.embed.record", "record": strong_ref(&p1)},
                "media": {"$type": "app.bsky.embed.external", "external": {"uri": "https://example.com/a", "title": "A", "description": "a page"}}
            }}),
        )
        .await;
    // Lists, a starter pack, feeds served by this App View, a labeler service.
    let curate = c
        .create(&alice, "app.bsky.graph.list", json!({"name": "friends", "purpose": "app.bsky.graph.defs#curatelist", "description": "people"}))
        .await;
    c.create(
        &alice,
        "app.bsky.graph.listitem",
        json!({"subject": bob.did, "list": curate.0}),
    )
    .await;
    let modlist = c
        .create(
            &alice,
            "app.bsky.graph.list",
            json!({"name": "trolls", "purpose": "app.bsky.graph.defs#modlist"}),
        )
        .await;
    c.create(
        &alice,
        "app.bsky.graph.listitem",
        json!({"subject": carol.did, "list": modlist.0}),
    )
    .await;
    c.create(
        &bob,
        "app.bsky.graph.listblock",
        json!({"subject": modlist.0}),
    )
    .await;
    let everyone = c
        .put(&alice, "app.bsky.feed.generator", "everyone", json!({"did": own, "displayName": "Everyone", "description": "all posts", "createdAt": now()}))
        .await;
    let liked = c
        .put(
            &alice,
            "app.bsky.feed.generator",
            "follows-liked",
            json!({"did": own, "displayName": "Liked", "createdAt": now()}),
        )
        .await;
    let pack = c
        .create(
            &alice,
            "app.bsky.graph.starterpack",
            json!({"name": "start here", "list": curate.0, "feeds": [{"uri": everyone.0}]}),
        )
        .await;
    c.create(
        &bob,
        "app.bsky.feed.like",
        json!({"subject": strong_ref(&everyone)}),
    )
    .await;
    c.create(
        &bob,
        "app.bsky.feed.like",
        json!({"subject": strong_ref(&p1)}),
    )
    .await;
    c.put(
        &carol,
        "app.bsky.labeler.service",
        "self",
        json!({"policies": {"labelValues": ["spam"]}, "createdAt": now()}),
    )
    .await;
    let pinned = c.post_text(&alice, "pinned words").await;
    c.put(
        &alice,
        "app.bsky.actor.profile",
        "self",
        json!({"displayName": "Alice", "pinnedPost": strong_ref(&pinned)}),
    )
    .await;

    // Wait for the last write to be indexed.
    eventually("indexing", || async {
        let p = c
            .ok("app.bsky.actor.getProfile", &[("actor", &alice.did)], None)
            .await;
        if p["pinnedPost"]["uri"] == pinned.0 && p["handle"] == "alice.test" {
            Ok(())
        } else {
            Err(format!("{p}"))
        }
    })
    .await;
    let (a, b) = (Some(alice.token.as_str()), Some(bob.token.as_str()));
    let cc = Some(carol.token.as_str());

    // Private state goes through the viewer's own calls.
    for (nsid, body, token) in [
        ("app.bsky.graph.muteActorList", json!({"list": curate.0}), b),
        ("app.bsky.graph.muteThread", json!({"root": p1.0}), b),
        ("app.bsky.graph.muteActor", json!({"actor": carol.did}), a),
        (
            "app.bsky.notification.registerPush",
            json!({"serviceDid": own, "token": "t", "platform": "web", "appId": "x"}),
            a,
        ),
        (
            "app.bsky.notification.updateSeen",
            json!({"seenAt": "2000-01-01T00:00:00.000Z"}),
            a,
        ),
    ] {
        let (status, answer) = c.post(nsid, &body, token).await;
        assert_eq!(status, StatusCode::OK, "{nsid}: {answer}");
    }

    let mut check = async |nsid: &str, query: &[(&str, &str)], token: Option<&str>| {
        let body = c.ok(nsid, query, token).await;
        lex.output(nsid, body)
    };

    // Threads: the gated reply is left out; the viewer sees the gate.
    let thread = check("app.bsky.feed.getPostThread", &[("uri", &p1.0)], a).await;
    let replies: Vec<&str> = thread["thread"]["replies"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["post"]["uri"].as_str().unwrap())
        .collect();
    assert_eq!(
        replies,
        vec![r_bob.0.as_str()],
        "the gated reply is left out"
    );
    let as_carol = check("app.bsky.feed.getPostThread", &[("uri", &p1.0)], cc).await;
    assert_eq!(
        as_carol["thread"]["replies"][0]["$type"], "app.bsky.feed.defs#blockedPost",
        "bob blocks carol through the moderation list"
    );
    let thread = as_carol;
    assert_eq!(
        thread["thread"]["post"]["viewer"]["replyDisabled"], true,
        "carol may not reply"
    );
    assert_eq!(
        thread["thread"]["post"]["viewer"]["embeddingDisabled"], true,
        "carol may not quote"
    );
    assert_eq!(
        thread["threadgate"]["uri"],
        format!("at://{}/app.bsky.feed.threadgate/{rkey1}", alice.did)
    );
    assert_eq!(
        thread["thread"]["post"]["replyCount"], 1,
        "the gated reply is not counted"
    );
    let as_bob = check("app.bsky.feed.getPostThread", &[("uri", &p1.0)], b).await;
    assert_eq!(
        as_bob["thread"]["post"]["viewer"]["replyDisabled"], false,
        "a follower may reply"
    );
    assert_eq!(
        as_bob["thread"]["post"]["viewer"]["threadMuted"], true,
        "bob muted the thread"
    );
    let gated = check("app.bsky.feed.getPostThread", &[("uri", &r_carol.0)], a).await;
    assert!(
        gated["thread"].get("parent").is_none(),
        "a gate-violating reply has no parent shown"
    );
    // The forbidden quote shows its embed detached.
    let posts = check("app.bsky.feed.getPosts", &[("uris", &quote.0)], a).await;
    let embed = &posts["posts"][0]["embed"];
    assert_eq!(embed["$type"], "app.bsky.embed.recordWithMedia#view");
    assert_eq!(
        embed["record"]["record"]["$type"],
        "app.bsky.embed.record#viewDetached"
    );
    assert_eq!(embed["media"]["external"]["uri"], "https://example.com/a");

    // Lists, list blocks and mutes.
    let list = check("app.bsky.graph.getList", &[("list", &curate.0)], b).await;
    assert_eq!(list["list"]["listItemCount"], 1);
    assert_eq!(list["list"]["viewer"]["muted"], true);
    assert_eq!(list["items"][0]["subject"]["did"], bob.did);
    let lists = check("app.bsky.graph.getLists", &[("actor", &alice.did)], b).await;
    assert_eq!(lists["lists"].as_array().unwrap().len(), 2);
    let curated = check(
        "app.bsky.graph.getLists",
        &[("actor", &alice.did), ("purposes", "curatelist")],
        b,
    )
    .await;
    assert_eq!(curated["lists"][0]["uri"], curate.0);
    let blocked = check("app.bsky.graph.getListBlocks", &[], b).await;
    assert_eq!(blocked["lists"][0]["uri"], modlist.0);
    check("app.bsky.graph.getListMutes", &[], b).await;
    let carol_for_bob = check("app.bsky.actor.getProfile", &[("actor", &carol.did)], b).await;
    assert_eq!(
        carol_for_bob["viewer"]["blockingByList"]["uri"], modlist.0,
        "bob blocks carol through the list"
    );
    let rel = check(
        "app.bsky.graph.getRelationships",
        &[
            ("actor", &bob.did),
            ("others", &carol.did),
            ("others", "nobody.test"),
        ],
        None,
    )
    .await;
    assert_eq!(rel["relationships"][0]["blockingByList"], modlist.0);
    assert_eq!(
        rel["relationships"][1]["$type"],
        "app.bsky.graph.defs#notFoundActor"
    );
    check("app.bsky.feed.getListFeed", &[("list", &curate.0)], a).await;
    let mutes = check("app.bsky.graph.getMutes", &[], a).await;
    assert_eq!(mutes["mutes"][0]["did"], carol.did);

    // Starter packs and feeds.
    let sp = check(
        "app.bsky.graph.getStarterPack",
        &[("starterPack", &pack.0)],
        a,
    )
    .await;
    assert_eq!(sp["starterPack"]["list"]["uri"], curate.0);
    assert_eq!(
        sp["starterPack"]["listItemsSample"][0]["subject"]["did"],
        bob.did
    );
    assert_eq!(sp["starterPack"]["feeds"][0]["uri"], everyone.0);
    check("app.bsky.graph.getStarterPacks", &[("uris", &pack.0)], a).await;
    check(
        "app.bsky.graph.getActorStarterPacks",
        &[("actor", &alice.did)],
        a,
    )
    .await;
    let generator = check(
        "app.bsky.feed.getFeedGenerator",
        &[("feed", &everyone.0)],
        b,
    )
    .await;
    assert_eq!(
        (generator["isOnline"].clone(), generator["isValid"].clone()),
        (json!(true), json!(true))
    );
    assert_eq!(generator["view"]["likeCount"], 1);
    assert!(generator["view"]["viewer"]["like"].is_string());
    check(
        "app.bsky.feed.getFeedGenerators",
        &[("feeds", &everyone.0), ("feeds", &liked.0)],
        b,
    )
    .await;
    check("app.bsky.feed.getActorFeeds", &[("actor", &alice.did)], b).await;
    let described = check("app.bsky.feed.describeFeedGenerator", &[], None).await;
    assert_eq!(described["did"], own);
    let all = check(
        "app.bsky.feed.getFeed",
        &[("feed", &everyone.0), ("limit", "2")],
        b,
    )
    .await;
    assert_eq!(
        all["feed"][0]["post"]["uri"], pinned.0,
        "everyone: newest top-level post first"
    );
    let next = check(
        "app.bsky.feed.getFeed",
        &[
            ("feed", &everyone.0),
            ("cursor", all["cursor"].as_str().unwrap()),
        ],
        b,
    )
    .await;
    assert!(
        next["feed"]
            .as_array()
            .unwrap()
            .iter()
            .all(|i| i["reply"].is_null()),
        "everyone holds no replies"
    );
    let synthetic = format!("at://{own}/app.bsky.feed.generator/everyone");
    check("app.bsky.feed.getFeed", &[("feed", &synthetic)], None).await;
    let skeleton = check(
        "app.bsky.feed.getFeedSkeleton",
        &[("feed", &everyone.0)],
        None,
    )
    .await;
    assert!(!skeleton["feed"].as_array().unwrap().is_empty());
    let liked_feed = check("app.bsky.feed.getFeed", &[("feed", &liked.0)], cc).await;
    let liked_uris: Vec<&str> = liked_feed["feed"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["post"]["uri"].as_str().unwrap())
        .collect();
    assert_eq!(
        liked_uris,
        vec![p1.0.as_str()],
        "carol follows bob, who liked p1"
    );
    let (status, body) = c
        .get(
            "app.bsky.feed.getFeed",
            &[(
                "feed",
                &format!("at://{}/app.bsky.feed.generator/nope", alice.did),
            )],
            b,
        )
        .await;
    assert_eq!(
        (status.as_u16(), body["error"].as_str()),
        (400, Some("UnknownFeed")),
        "{body}"
    );
    let services = check(
        "app.bsky.labeler.getServices",
        &[("dids", &carol.did), ("detailed", "true")],
        a,
    )
    .await;
    assert_eq!(
        services["views"][0]["$type"],
        "app.bsky.labeler.defs#labelerViewDetailed"
    );

    // Everything else a client calls.
    let profile = check("app.bsky.actor.getProfile", &[("actor", "alice.test")], b).await;
    assert_eq!(profile["associated"]["lists"], 2);
    assert_eq!(profile["associated"]["feedgens"], 2);
    assert_eq!(profile["associated"]["starterPacks"], 1);
    check(
        "app.bsky.actor.getProfiles",
        &[("actors", &alice.did), ("actors", &bob.did)],
        b,
    )
    .await;
    check("app.bsky.actor.getSuggestions", &[], b).await;
    check("app.bsky.actor.searchActors", &[("q", "ali")], b).await;
    check("app.bsky.actor.searchActorsTypeahead", &[("q", "bo")], None).await;
    check("app.bsky.feed.getTimeline", &[], b).await;
    let pins = check(
        "app.bsky.feed.getAuthorFeed",
        &[("actor", &alice.did), ("includePins", "true")],
        b,
    )
    .await;
    assert_eq!(
        pins["feed"][0]["reason"]["$type"],
        "app.bsky.feed.defs#reasonPin"
    );
    assert_eq!(pins["feed"][0]["post"]["uri"], pinned.0);
    assert_eq!(
        pins["feed"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|i| i["post"]["uri"] == pinned.0)
            .count(),
        1
    );
    check("app.bsky.feed.getLikes", &[("uri", &everyone.0)], b).await;
    check("app.bsky.feed.getRepostedBy", &[("uri", &p1.0)], b).await;
    let quotes = check("app.bsky.feed.getQuotes", &[("uri", &p1.0)], b).await;
    assert_eq!(
        quotes["posts"].as_array().unwrap().len(),
        0,
        "a detached quote is not listed"
    );
    check("app.bsky.feed.getActorLikes", &[("actor", &bob.did)], b).await;
    let found = check(
        "app.bsky.feed.searchPosts",
        &[("q", "rust"), ("sort", "top")],
        b,
    )
    .await;
    assert_eq!(found["posts"][0]["uri"], p1.0);
    check("app.bsky.graph.getFollows", &[("actor", &bob.did)], b).await;
    check("app.bsky.graph.getFollowers", &[("actor", &alice.did)], b).await;
    check(
        "app.bsky.graph.getKnownFollowers",
        &[("actor", &alice.did)],
        cc,
    )
    .await;
    check("app.bsky.graph.getBlocks", &[], b).await;
    let notes = check("app.bsky.notification.listNotifications", &[], a).await;
    assert!(
        notes["notifications"]
            .as_array()
            .unwrap()
            .iter()
            .all(|n| n["author"]["did"] != carol.did),
        "muted carol"
    );
    check("app.bsky.notification.getUnreadCount", &[], a).await;
    // Bookmarks, notification preferences and reports (the web UI's calls).
    for (uri, cid) in [&p1, &quote] {
        let (status, body) = c
            .post(
                "app.bsky.bookmark.createBookmark",
                &json!({"uri": uri, "cid": cid}),
                b,
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
    }
    let marks = check("app.bsky.bookmark.getBookmarks", &[], b).await;
    assert_eq!(marks["bookmarks"][0]["subject"]["uri"], quote.0);
    assert_eq!(marks["bookmarks"][1]["item"]["bookmarkCount"], 1);
    check("app.bsky.notification.getPreferences", &[], a).await;
    let (status, put) = c
        .post(
            "app.bsky.notification.putPreferencesV2",
            &json!({"quote": {"include": "follows", "list": true, "push": false}}),
            a,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{put}");
    lex.output("app.bsky.notification.putPreferencesV2", put);
    let (status, report) = c
        .post(
            "com.atproto.moderation.createReport",
            &json!({"reasonType": "com.atproto.moderation.defs#reasonRude", "reason": "rude",
                    "subject": {"$type": "com.atproto.repo.strongRef", "uri": quote.0, "cid": quote.1}}),
            a,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{report}");
    lex.output("com.atproto.moderation.createReport", report);
    let admin = http()
        .post(node.xrpc("com.atproto.admin.updateSubjectStatus"))
        .basic_auth("admin", Some(&node.admin_password))
        .json(&json!({"subject": {"$type": "com.atproto.admin.defs#repoRef", "did": carol.did}, "takedown": {"applied": false}}))
        .send()
        .await
        .unwrap();
    assert_eq!(admin.status(), StatusCode::OK);
    lex.output(
        "com.atproto.admin.updateSubjectStatus",
        admin.json().await.unwrap(),
    );
    let status = http()
        .get(format!(
            "{}?did={}",
            node.xrpc("com.atproto.admin.getSubjectStatus"),
            carol.did
        ))
        .basic_auth("admin", Some(&node.admin_password))
        .send()
        .await
        .unwrap();
    lex.output(
        "com.atproto.admin.getSubjectStatus",
        status.json().await.unwrap(),
    );

    // The validator is not a rubber stamp: a broken answer fails.
    let broken = json!({"feed": [{"post": {"uri": "not a uri"}}]});
    let value = data::from_json(&broken).unwrap();
    assert!(
        lex.catalog
            .validate_output(&Nsid::parse("app.bsky.feed.getTimeline").unwrap(), &value)
            .is_err()
    );
    println!(
        "App View outputs validated against the official lexicons: {:?}",
        lex.checked
    );
    assert!(lex.checked.len() >= 39, "{:?}", lex.checked);
}

/// Polls a view until `pred` holds on it.
async fn wait_view(
    c: &Client,
    what: &str,
    nsid: &str,
    query: &[(&str, &str)],
    token: Option<&str>,
    pred: impl Fn(&Value) -> bool,
) {
    eventually(what, || async {
        let (status, body) = c.get(nsid, query, token).await;
        if pred(&json!({"status": status.as_u16(), "body": body})) {
            Ok(())
        } else {
            Err(format!("{status} {body}"))
        }
    })
    .await;
}

fn uris(feed: &Value, key: &str) -> Vec<String> {
    feed[key]
        .as_array()
        .map(|items| {
            items
                .iter()
                .map(|i| {
                    i["post"]["uri"]
                        .as_str()
                        .or_else(|| i["uri"].as_str())
                        .unwrap_or_default()
                        .to_owned()
                })
                .collect()
        })
        .unwrap_or_default()
}

/// Deleting a post, taking a post down, and taking an account down remove the content from every
/// view; lifting the takedowns brings it back.
#[tokio::test]
async fn deletes_and_takedowns_remove_content_from_every_view() {
    let node = Node::start(&[]).await;
    let c = Client::new(&node.url);
    let alice = c.account("alice").await;
    let bob = c.account("bob").await;
    let own = service_did(&node);
    let everyone = format!("at://{own}/app.bsky.feed.generator/everyone");
    c.create(&bob, "app.bsky.graph.follow", json!({"subject": alice.did}))
        .await;
    let p1 = c.post_text(&alice, "taken down soon").await;
    let p2 = c.post_text(&alice, "deleted soon").await;
    c.create(
        &bob,
        "app.bsky.feed.like",
        json!({"subject": strong_ref(&p1)}),
    )
    .await;
    c.create(
        &bob,
        "app.bsky.feed.repost",
        json!({"subject": strong_ref(&p1)}),
    )
    .await;
    let reply = c
        .create(&bob, "app.bsky.feed.post", json!({"text": "a reply", "reply": {"root": strong_ref(&p1), "parent": strong_ref(&p1)}}))
        .await;
    c.create(
        &alice,
        "app.bsky.feed.like",
        json!({"subject": strong_ref(&reply)}),
    )
    .await;
    let b = Some(bob.token.as_str());
    let a = Some(alice.token.as_str());
    wait_view(&c, "indexed", "app.bsky.feed.getTimeline", &[], b, |v| {
        uris(&v["body"], "feed").len() == 4
    })
    .await;

    /// Where a post shows up, as (view, present) pairs.
    async fn presence(
        c: &Client,
        bob: &Account,
        alice: &Account,
        post: &str,
        everyone: &str,
    ) -> Vec<(&'static str, bool)> {
        let b = Some(bob.token.as_str());
        let a = Some(alice.token.as_str());
        let has = |v: &Value, key: &str| uris(v, key).iter().any(|u| u == post);
        let timeline = c.ok("app.bsky.feed.getTimeline", &[], b).await;
        let author = c
            .get("app.bsky.feed.getAuthorFeed", &[("actor", &alice.did)], b)
            .await
            .1;
        let posts = c.ok("app.bsky.feed.getPosts", &[("uris", post)], b).await;
        let thread = c
            .get("app.bsky.feed.getPostThread", &[("uri", post)], b)
            .await;
        let search = c.ok("app.bsky.feed.searchPosts", &[("q", "soon")], b).await;
        let feed = c
            .ok("app.bsky.feed.getFeed", &[("feed", everyone)], b)
            .await;
        // Alice's own notifications; while her account is taken down her token reads nothing.
        let (status, notes) = c
            .get("app.bsky.notification.listNotifications", &[], a)
            .await;
        let noted = match status.as_u16() {
            200 => notes["notifications"]
                .as_array()
                .unwrap()
                .iter()
                .any(|n| n["reasonSubject"] == post),
            401 if notes["error"] == "AccountTakedown" => false,
            other => panic!("listNotifications answered {other}: {notes}"),
        };
        let actor_likes = c
            .ok("app.bsky.feed.getActorLikes", &[("actor", &bob.did)], b)
            .await;
        vec![
            ("timeline", has(&timeline, "feed")),
            ("author feed", has(&author, "feed")),
            ("getPosts", has(&posts, "posts")),
            ("thread", thread.0 == StatusCode::OK),
            ("search", has(&search, "posts")),
            ("everyone feed", has(&feed, "feed")),
            ("notifications", noted),
            ("actor likes", has(&actor_likes, "feed")),
        ]
    }
    let shown = presence(&c, &bob, &alice, &p1.0, &everyone).await;
    assert!(
        shown.iter().all(|(_, p)| *p),
        "p1 should show everywhere: {shown:?}"
    );

    let admin = |body: Value| {
        let node_url = node.xrpc("com.atproto.admin.updateSubjectStatus");
        let password = node.admin_password.clone();
        async move {
            let r = http()
                .post(node_url)
                .basic_auth("admin", Some(&password))
                .json(&body)
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), StatusCode::OK, "{}", r.text().await.unwrap());
        }
    };
    // A post takedown.
    admin(json!({"subject": {"$type": "com.atproto.repo.strongRef", "uri": p1.0, "cid": p1.1}, "takedown": {"applied": true, "ref": "t1"}})).await;
    let hidden = presence(&c, &bob, &alice, &p1.0, &everyone).await;
    assert!(
        hidden.iter().all(|(_, p)| !*p),
        "a taken-down post shows nowhere: {hidden:?}"
    );
    let thread = c
        .ok("app.bsky.feed.getPostThread", &[("uri", &reply.0)], b)
        .await;
    assert_eq!(
        thread["thread"]["parent"]["$type"], "app.bsky.feed.defs#notFoundPost",
        "the reply's parent is gone"
    );
    admin(json!({"subject": {"$type": "com.atproto.repo.strongRef", "uri": p1.0, "cid": p1.1}, "takedown": {"applied": false}})).await;
    let back = presence(&c, &bob, &alice, &p1.0, &everyone).await;
    assert!(
        back.iter().all(|(_, p)| *p),
        "lifting the takedown brings p1 back: {back:?}"
    );

    // An account takedown.
    admin(json!({"subject": {"$type": "com.atproto.admin.defs#repoRef", "did": alice.did}, "takedown": {"applied": true}})).await;
    let gone = presence(&c, &bob, &alice, &p1.0, &everyone).await;
    assert!(
        gone.iter().all(|(_, p)| !*p),
        "a taken-down account's posts show nowhere: {gone:?}"
    );
    let (status, body) = c
        .get("app.bsky.actor.getProfile", &[("actor", &alice.did)], b)
        .await;
    assert_eq!(
        (status.as_u16(), body["error"].as_str()),
        (400, Some("AccountTakedown")),
        "{body}"
    );
    let found = c
        .ok("app.bsky.actor.searchActors", &[("q", "alice")], b)
        .await;
    assert_eq!(
        found["actors"].as_array().unwrap().len(),
        0,
        "a taken-down account is not found"
    );
    let bob_notes = c
        .ok("app.bsky.notification.listNotifications", &[], b)
        .await;
    assert_eq!(
        bob_notes["notifications"].as_array().unwrap().len(),
        0,
        "alice's like of bob's reply is hidden"
    );
    let followers = c
        .ok("app.bsky.graph.getFollows", &[("actor", &bob.did)], b)
        .await;
    assert_eq!(followers["follows"].as_array().unwrap().len(), 0);
    admin(json!({"subject": {"$type": "com.atproto.admin.defs#repoRef", "did": alice.did}, "takedown": {"applied": false}})).await;
    // The PDS also took the account down and now restores it: its #account events reach the App View
    // through the relay, after the admin call returns.
    eventually("the account is back", || async {
        let back = presence(&c, &bob, &alice, &p1.0, &everyone).await;
        if back.iter().all(|(_, p)| *p) {
            Ok(())
        } else {
            Err(format!("{back:?}"))
        }
    })
    .await;

    // A deletion.
    c.delete(&alice, &p2.0).await;
    wait_view(
        &c,
        "p2 deleted",
        "app.bsky.feed.getPosts",
        &[("uris", &p2.0)],
        b,
        |v| uris(&v["body"], "posts").is_empty(),
    )
    .await;
    let deleted = presence(&c, &bob, &alice, &p2.0, &everyone).await;
    assert!(
        deleted.iter().all(|(_, p)| !*p),
        "a deleted post shows nowhere: {deleted:?}"
    );
    let profile = c
        .ok("app.bsky.actor.getProfile", &[("actor", &alice.did)], a)
        .await;
    assert_eq!(profile["postsCount"], 1);
    // Deleting the like and the repost updates the counts.
    let p1_view = c.ok("app.bsky.feed.getPosts", &[("uris", &p1.0)], b).await;
    let like = p1_view["posts"][0]["viewer"]["like"]
        .as_str()
        .unwrap()
        .to_owned();
    let repost = p1_view["posts"][0]["viewer"]["repost"]
        .as_str()
        .unwrap()
        .to_owned();
    c.delete(&bob, &like).await;
    c.delete(&bob, &repost).await;
    wait_view(
        &c,
        "counts",
        "app.bsky.feed.getPosts",
        &[("uris", &p1.0)],
        b,
        |v| {
            v["body"]["posts"][0]["likeCount"] == 0
                && v["body"]["posts"][0]["repostCount"] == 0
                && v["body"]["posts"][0]["viewer"]["like"].is_null()
        },
    )
    .await;
    let timeline = c.ok("app.bsky.feed.getTimeline", &[], b).await;
    assert!(
        timeline["feed"]
            .as_array()
            .unwrap()
            .iter()
            .all(|i| i["reason"].is_null()),
        "the repost left the timeline"
    );
}

/// Calls proxied by a PDS carry an inter-service token: the App View checks its audience, method,
/// expiry and signature.
#[tokio::test]
async fn service_auth_tokens_are_checked() {
    let node = Node::start(&[]).await;
    let c = Client::new(&node.url);
    let alice = c.account("alice").await;
    c.post_text(&alice, "hello").await;
    let own = service_did(&node);
    let token = |aud: String, lxm: &'static str| {
        let c = &c;
        let alice = &alice;
        async move {
            let body = c
                .ok(
                    "com.atproto.server.getServiceAuth",
                    &[("aud", &aud), ("lxm", lxm)],
                    Some(&alice.token),
                )
                .await;
            body["token"].as_str().unwrap().to_owned()
        }
    };
    let good = token(format!("{own}#bsky_appview"), "app.bsky.feed.getTimeline").await;
    wait_view(
        &c,
        "timeline by service auth",
        "app.bsky.feed.getTimeline",
        &[],
        Some(&good),
        |v| v["status"] == 200 && !uris(&v["body"], "feed").is_empty(),
    )
    .await;
    let bare = token(own.clone(), "app.bsky.feed.getTimeline").await;
    assert_eq!(
        c.get("app.bsky.feed.getTimeline", &[], Some(&bare)).await.0,
        StatusCode::OK,
        "the bare DID audience"
    );
    let wrong_method = token(format!("{own}#bsky_appview"), "app.bsky.actor.getProfile").await;
    let (status, body) = c
        .get("app.bsky.feed.getTimeline", &[], Some(&wrong_method))
        .await;
    assert_eq!(
        (status.as_u16(), body["error"].as_str()),
        (401, Some("BadJwtLexiconMethod")),
        "{body}"
    );
    let wrong_aud = token(
        "did:web:elsewhere.example#bsky_appview".into(),
        "app.bsky.feed.getTimeline",
    )
    .await;
    let (status, body) = c
        .get("app.bsky.feed.getTimeline", &[], Some(&wrong_aud))
        .await;
    assert_eq!(
        (status.as_u16(), body["error"].as_str()),
        (401, Some("BadJwtAudience")),
        "{body}"
    );
    let mut forged = good.clone();
    forged.truncate(forged.len() - 4);
    forged.push_str("AAAA");
    let (status, body) = c.get("app.bsky.feed.getTimeline", &[], Some(&forged)).await;
    assert_eq!(
        (status.as_u16(), body["error"].as_str()),
        (401, Some("BadJwtSignature")),
        "{body}"
    );
    let (status, body) = c.get("app.bsky.feed.getTimeline", &[], None).await;
    assert_eq!(
        (status.as_u16(), body["error"].as_str()),
        (401, Some("AuthMissing")),
        "{body}"
    );
    let (status, body) = c
        .get("app.bsky.unspecced.getConfig", &[], Some(&alice.token))
        .await;
    assert_eq!(
        (status.as_u16(), body["error"].as_str()),
        (501, Some("MethodNotImplemented")),
        "{body}"
    );
    let (status, body) = c
        .get(
            "app.bsky.feed.getPostThread",
            &[("uri", "at://did:plc:nobody/app.bsky.feed.post/x")],
            None,
        )
        .await;
    assert_eq!(
        (status.as_u16(), body["error"].as_str()),
        (400, Some("NotFound")),
        "{body}"
    );
    let (status, body) = c
        .get(
            "app.bsky.feed.getTimeline",
            &[("cursor", "garbage")],
            Some(&alice.token),
        )
        .await;
    assert_eq!(
        (status.as_u16(), body["error"].as_str()),
        (400, Some("InvalidRequest")),
        "{body}"
    );
}
