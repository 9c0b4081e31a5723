//! The HTML shell: `web/index.html` with its placeholders filled. Every client route answers with
//! it; the UI's modules then render the page in the browser.
//!
//! Filled once at start: `{{assets}}` (the versioned asset prefix), `{{importmap}}` (where the
//! vendored modules' bare specifiers resolve) and `{{config}}` (the node's identity as JSON in a
//! `<script type="application/json">` block, which is data, never run). Filled per page:
//! `<!--skyhold:head-->` (title, OpenGraph and Twitter meta of a public profile or post, so links
//! unfurl in chat apps) and `<!--skyhold:body-->` (a `<noscript>` summary of the same).
//!
//! The Content-Security-Policy allows scripts from this origin only, plus the import map by its
//! SHA-256 (an import map is an inline `<script>` of JSON; browsers have no external form yet).
//! Nothing inline runs. Pattern: bskyweb's `templates/post.html`, `profile.html`.

use serde_json::json;
use sha2::{Digest, Sha256};

use super::meta::Meta;

/// What the page's script learns about the node it runs on.
#[derive(Clone, Debug)]
pub struct ShellConfig {
    /// `did:web:<host>`: the PDS's service DID and the built-in App View's.
    pub service_did: String,
    /// The `atproto-proxy` value for app.bsky calls (`<did>#bsky_appview`).
    pub appview_proxy: String,
    /// Without a trailing slash.
    pub public_url: String,
    pub hostname: String,
}

/// One page: what the server knows about it before any script runs.
#[derive(Debug, Default)]
pub struct Page {
    /// Meta tags of a public profile or post; `None` for every other page (and for accounts that
    /// ask not to be shown to signed-out visitors).
    pub meta: Option<Meta>,
    /// The page talks to another server (moving an account in signs in to the old one from the
    /// browser), so its policy lets scripts connect to other origins. Nothing is loaded from them.
    pub remote_connect: bool,
}

pub struct Shell {
    /// The template with the start-time placeholders filled.
    html: String,
    csp: String,
    /// The same policy with connections to other origins allowed ([`Page::remote_connect`]).
    csp_remote: String,
    title: String,
}

const HEAD: &str = "<!--skyhold:head-->";
const BODY: &str = "<!--skyhold:body-->";

/// Text safe inside an element or a quoted attribute.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

/// JSON safe inside a `<script>` element: no `<`, `>` or `&` can close it or open a comment.
fn script_json(value: &serde_json::Value) -> String {
    value
        .to_string()
        .replace('<', "\\u003c")
        .replace('>', "\\u003e")
        .replace('&', "\\u0026")
}

impl Shell {
    pub fn new(template: &str, assets: &str, config: ShellConfig) -> Shell {
        let import_map = script_json(&json!({
            "imports": {
                "preact": format!("{assets}vendor/preact.mjs"),
                "preact/hooks": format!("{assets}vendor/preact-hooks.mjs"),
                "htm": format!("{assets}vendor/htm.mjs"),
                "@preact/signals-core": format!("{assets}vendor/signals-core.mjs"),
                "@preact/signals": format!("{assets}vendor/signals.mjs"),
            }
        }));
        let config_json = script_json(&json!({
            "assets": assets,
            "serviceDid": config.service_did,
            "appviewProxy": config.appview_proxy,
            "everyoneFeed": format!(
                "at://{}/app.bsky.feed.generator/everyone",
                config.service_did
            ),
            "publicUrl": config.public_url,
            "hostname": config.hostname,
            "version": env!("CARGO_PKG_VERSION"),
        }));
        let html = template
            .replace("{{assets}}", assets)
            .replace("{{importmap}}", &import_map)
            .replace("{{config}}", &config_json);
        let map_hash = data_encoding::BASE64.encode(&Sha256::digest(import_map.as_bytes()));
        let policy = |connect: &str| {
            format!(
                "default-src 'none'; script-src 'self' 'sha256-{map_hash}'; style-src 'self'; \
                 img-src 'self' blob: data:; connect-src {connect}; font-src 'self'; \
                 manifest-src 'self'; media-src 'self' blob:; base-uri 'none'; form-action 'self'; \
                 frame-ancestors 'none'; object-src 'none'"
            )
        };
        // A node on a LAN (plain http) may move accounts in from other plain-http nodes; a public
        // node only from https servers.
        let remote = if config.public_url.starts_with("http://") {
            "'self' https: http:"
        } else {
            "'self' https:"
        };
        Shell {
            html,
            csp: policy("'self'"),
            csp_remote: policy(remote),
            title: config.hostname,
        }
    }

    /// The policy of `page`.
    pub fn content_security_policy(&self, page: &Page) -> &str {
        if page.remote_connect {
            &self.csp_remote
        } else {
            &self.csp
        }
    }

    pub fn render(&self, page: &Page) -> String {
        let (head, body) = match &page.meta {
            Some(meta) => (meta.head_tags(&self.title), meta.noscript()),
            None => (
                format!("<title>{}</title>", escape(&self.title)),
                String::new(),
            ),
        };
        self.html.replacen(HEAD, &head, 1).replacen(BODY, &body, 1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shell() -> Shell {
        Shell::new(
            "<head><!--skyhold:head--><script type=\"importmap\">{{importmap}}</script>\
             <script type=\"application/json\" id=\"config\">{{config}}</script>\
             <script type=\"module\" src=\"{{assets}}app.js\"></script></head>\
             <body><!--skyhold:body--></body>",
            "/assets/abc/",
            ShellConfig {
                service_did: "did:web:example.com".into(),
                appview_proxy: "did:web:example.com#bsky_appview".into(),
                public_url: "https://example.com".into(),
                hostname: "example.com</script>".into(),
            },
        )
    }

    #[test]
    fn fills_the_placeholders_and_escapes() {
        let html = shell().render(&Page::default());
        assert!(html.contains("<title>example.com&lt;/script&gt;</title>"));
        assert!(html.contains("src=\"/assets/abc/app.js\""));
        assert!(html.contains("\"preact\":\"/assets/abc/vendor/preact.mjs\""));
        assert!(html.contains("\"serviceDid\":\"did:web:example.com\""));
        assert!(
            html.contains("at://did:web:example.com/app.bsky.feed.generator/everyone"),
            "{html}"
        );
        // The hostname cannot close the config block.
        assert_eq!(html.matches("</script>").count(), 3, "{html}");
        assert!(html.contains("example.com\\u003c/script\\u003e"));
    }

    #[test]
    fn the_policy_allows_exactly_the_import_map() {
        let shell = shell();
        let html = shell.render(&Page::default());
        let start = html.find("importmap\">").unwrap() + "importmap\">".len();
        let end = start + html[start..].find("</script>").unwrap();
        let hash = data_encoding::BASE64.encode(&Sha256::digest(&html.as_bytes()[start..end]));
        let csp = shell.content_security_policy(&Page::default());
        assert!(csp.contains(&format!("'sha256-{hash}'")), "{csp}");
        for directive in [
            "default-src 'none'",
            "frame-ancestors 'none'",
            "connect-src 'self'",
            "object-src 'none'",
            "base-uri 'none'",
        ] {
            assert!(csp.contains(directive), "{directive} missing in {csp}");
        }
        assert!(!csp.contains("unsafe"), "{csp}");
        assert!(!csp.contains("http"), "no external origin: {csp}");
        // Moving an account in connects to the old server (https only for a public node); every
        // other directive stays as strict.
        let remote = shell.content_security_policy(&Page {
            remote_connect: true,
            ..Page::default()
        });
        assert!(remote.contains("connect-src 'self' https:;"), "{remote}");
        assert_eq!(
            remote.replace("connect-src 'self' https:;", "connect-src 'self';"),
            csp
        );
    }

    #[test]
    fn escapes_markup() {
        assert_eq!(
            escape("<a href=\"x\">'&'</a>"),
            "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;"
        );
    }
}
