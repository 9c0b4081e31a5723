//! OpenGraph and Twitter meta tags (and a `<noscript>` summary) for the public pages
//! `/profile/HANDLE` and `/profile/HANDLE/post/RKEY`, built from the App View's lexicon views so a
//! link pasted in a chat app unfurls with the name, the text and a picture.
//!
//! An account that self-labels `!no-unauthenticated` asks not to be shown to signed-out viewers:
//! [`Meta::profile`] and [`Meta::post`] give nothing for it, and the page carries only the generic
//! title. Pattern: bskyweb's `templates/profile.html` and `post.html`; <https://ogp.me/>.

use serde_json::Value;

use super::shell::escape;

/// The self-label of accounts hidden from signed-out viewers.
pub const NO_UNAUTHENTICATED: &str = "!no-unauthenticated";
/// Longest description in the meta tags (chat apps cut them anyway).
const MAX_DESCRIPTION: usize = 300;

/// What a public page says about itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Meta {
    pub title: String,
    pub description: String,
    /// A picture and its alt text.
    pub image: Option<(String, String)>,
    /// The picture is the content (a post's image), not an avatar.
    pub large_image: bool,
    /// The page's own address.
    pub url: String,
    /// The `at://` URI of the profile or post.
    pub at_uri: String,
    /// OpenGraph type: `profile` or `article`.
    pub kind: &'static str,
    /// When a post was written (RFC 3339).
    pub published: Option<String>,
}

fn text(value: &Value) -> &str {
    value.as_str().unwrap_or_default()
}

/// At most `max` characters, cut at a character boundary with an ellipsis.
fn shorten(text: &str, max: usize) -> String {
    let text = text.trim();
    match text.char_indices().nth(max) {
        Some((cut, _)) => format!("{}…", text[..cut].trim_end()),
        None => text.to_owned(),
    }
}

/// Whether a profile view (any of `profileView*`) carries the `!no-unauthenticated` label.
pub fn hidden_from_signed_out(profile: &Value) -> bool {
    profile["labels"].as_array().is_some_and(|labels| {
        labels
            .iter()
            .any(|l| l["val"] == NO_UNAUTHENTICATED && l["neg"] != true)
    })
}

/// "Display Name (@handle)", or "@handle" without a display name.
fn name_of(profile: &Value) -> String {
    let handle = text(&profile["handle"]);
    match text(&profile["displayName"]).trim() {
        "" => format!("@{handle}"),
        name => format!("{name} (@{handle})"),
    }
}

/// The first image of a post view's embed (images, or the media of a record with media).
fn first_image(embed: &Value) -> Option<(String, String)> {
    let images = match text(&embed["$type"]) {
        "app.bsky.embed.images#view" => &embed["images"],
        "app.bsky.embed.recordWithMedia#view" => &embed["media"]["images"],
        _ => return None,
    };
    let image = images.as_array()?.first()?;
    let url = text(&image["fullsize"]);
    (!url.is_empty()).then(|| (url.to_owned(), text(&image["alt"]).to_owned()))
}

fn avatar(profile: &Value) -> Option<(String, String)> {
    let url = text(&profile["avatar"]);
    (!url.is_empty()).then(|| (url.to_owned(), format!("Avatar of {}", name_of(profile))))
}

impl Meta {
    /// Tags for `/profile/HANDLE` from an `app.bsky.actor.defs#profileViewDetailed`.
    pub fn profile(profile: &Value, public_url: &str) -> Option<Meta> {
        if hidden_from_signed_out(profile) {
            return None;
        }
        let handle = text(&profile["handle"]);
        Some(Meta {
            title: name_of(profile),
            description: shorten(text(&profile["description"]), MAX_DESCRIPTION),
            image: avatar(profile),
            large_image: false,
            url: format!("{public_url}/profile/{handle}"),
            at_uri: format!("at://{}", text(&profile["did"])),
            kind: "profile",
            published: None,
        })
    }

    /// Tags for `/profile/HANDLE/post/RKEY` from an `app.bsky.feed.defs#postView`.
    pub fn post(post: &Value, public_url: &str) -> Option<Meta> {
        let author = &post["author"];
        if hidden_from_signed_out(author) {
            return None;
        }
        let uri = text(&post["uri"]);
        let rkey = uri.rsplit('/').next().unwrap_or_default();
        let content = first_image(&post["embed"]);
        Some(Meta {
            title: name_of(author),
            description: shorten(text(&post["record"]["text"]), MAX_DESCRIPTION),
            large_image: content.is_some(),
            image: content.or_else(|| avatar(author)),
            url: format!(
                "{public_url}/profile/{}/post/{rkey}",
                text(&author["handle"])
            ),
            at_uri: uri.to_owned(),
            kind: "article",
            published: post["record"]["createdAt"].as_str().map(str::to_owned),
        })
    }

    /// The `<head>` tags: title, description, canonical and `at://` alternate links, OpenGraph,
    /// Twitter.
    pub fn head_tags(&self, site: &str) -> String {
        let mut tags = vec![
            format!("<title>{} — {}</title>", escape(&self.title), escape(site)),
            format!(
                "<meta name=\"description\" content=\"{}\">",
                escape(&self.description)
            ),
            format!("<link rel=\"canonical\" href=\"{}\">", escape(&self.url)),
            format!("<link rel=\"alternate\" href=\"{}\">", escape(&self.at_uri)),
        ];
        let mut property = |name: &str, value: &str| {
            tags.push(format!(
                "<meta property=\"{name}\" content=\"{}\">",
                escape(value)
            ));
        };
        property("og:site_name", site);
        property("og:type", self.kind);
        property("og:title", &self.title);
        property("og:description", &self.description);
        property("og:url", &self.url);
        if let Some(published) = &self.published {
            property("article:published_time", published);
        }
        if let Some((url, alt)) = &self.image {
            property("og:image", url);
            property("og:image:alt", alt);
        }
        let card = if self.large_image {
            "summary_large_image"
        } else {
            "summary"
        };
        let mut name = |name: &str, value: &str| {
            tags.push(format!(
                "<meta name=\"{name}\" content=\"{}\">",
                escape(value)
            ));
        };
        name("twitter:card", card);
        name("twitter:title", &self.title);
        name("twitter:description", &self.description);
        if let Some((url, alt)) = &self.image {
            name("twitter:image", url);
            name("twitter:image:alt", alt);
        }
        tags.join("\n")
    }

    /// What a browser without scripts shows.
    pub fn noscript(&self) -> String {
        format!(
            "<noscript><article class=\"noscript\"><h1>{}</h1><p>{}</p></article></noscript>",
            escape(&self.title),
            escape(&self.description)
        )
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn alice(labels: Value) -> Value {
        json!({
            "did": "did:plc:alice",
            "handle": "alice.test",
            "displayName": "Alice <3",
            "description": "Gardener & \"baker\"",
            "avatar": "http://localhost:2583/xrpc/com.atproto.sync.getBlob?did=did:plc:alice&cid=bafy",
            "labels": labels,
        })
    }

    #[test]
    fn profile_tags_are_escaped() {
        let meta = Meta::profile(&alice(json!([])), "http://localhost:2583").unwrap();
        assert_eq!(meta.title, "Alice <3 (@alice.test)");
        let head = meta.head_tags("localhost");
        assert!(
            head.contains("<meta property=\"og:title\" content=\"Alice &lt;3 (@alice.test)\">")
        );
        assert!(head.contains("content=\"Gardener &amp; &quot;baker&quot;\""));
        assert!(head.contains("<meta name=\"twitter:card\" content=\"summary\">"));
        assert!(head.contains("og:image\" content=\"http://localhost:2583/xrpc/com.atproto.sync.getBlob?did=did:plc:alice&amp;cid=bafy\""));
        assert!(head.contains("<link rel=\"alternate\" href=\"at://did:plc:alice\">"));
        assert!(head.contains("href=\"http://localhost:2583/profile/alice.test\""));
    }

    #[test]
    fn posts_with_images_get_a_large_card() {
        let post = json!({
            "uri": "at://did:plc:alice/app.bsky.feed.post/3kabc",
            "author": alice(json!([])),
            "record": {"text": "First bloom of the year", "createdAt": "2026-05-01T10:00:00Z"},
            "embed": {"$type": "app.bsky.embed.images#view", "images": [
                {"fullsize": "http://x/full", "thumb": "http://x/thumb", "alt": "A red tulip"}
            ]},
        });
        let meta = Meta::post(&post, "http://localhost:2583").unwrap();
        assert_eq!(
            meta.url,
            "http://localhost:2583/profile/alice.test/post/3kabc"
        );
        assert_eq!(
            meta.image,
            Some(("http://x/full".into(), "A red tulip".into()))
        );
        let head = meta.head_tags("localhost");
        assert!(head.contains("summary_large_image"));
        assert!(head.contains("content=\"First bloom of the year\""));
        assert!(head.contains("article:published_time"));
        assert!(meta.noscript().contains("First bloom of the year"));
    }

    #[test]
    fn self_labelled_accounts_get_no_tags() {
        let hidden = alice(json!([{"src": "did:plc:alice", "val": "!no-unauthenticated"}]));
        assert!(Meta::profile(&hidden, "http://h").is_none());
        let post = json!({"uri": "at://did:plc:alice/app.bsky.feed.post/1", "author": hidden});
        assert!(Meta::post(&post, "http://h").is_none());
        let negated = alice(json!([{"val": "!no-unauthenticated", "neg": true}]));
        assert!(Meta::profile(&negated, "http://h").is_some());
    }

    #[test]
    fn long_text_is_shortened() {
        let long = "é".repeat(400);
        let short = shorten(&long, MAX_DESCRIPTION);
        assert_eq!(short.chars().count(), MAX_DESCRIPTION + 1);
        assert!(short.ends_with('…'));
    }
}
