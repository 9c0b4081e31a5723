//! The built-in web UI's files: the top-level `web/` folder, embedded with rust-embed and read
//! once at start (content type, ETag), plus the HTML shell every client route answers with
//! ([`shell`]).
//!
//! The UI is an atproto client of this same server (it calls `/xrpc/*` like any app); this module
//! only serves its files. It knows nothing of the services: `http::web` asks them for what a public
//! page's meta tags need and hands the result to [`shell`].
//!
//! Each file is compressed (gzip and brotli, densest settings) once, when it is first asked for:
//! a node nobody opens in a browser (an API-only server, the many nodes of the test suite) never
//! spends the CPU, and every later request gets the stored bodies.
//!
//! Every asset is addressed as `/assets/<version>/<path>`, where the version is a hash of all
//! files: a new binary with changed files gets new URLs, so assets can be cached for a year, and
//! ES modules importing each other by relative path all share the prefix. Release builds carry
//! the files in the binary; debug builds read the same folder by its absolute path (rust-embed's
//! folder is `$CARGO_MANIFEST_DIR/web`), whatever the working directory.

pub mod meta;
pub mod shell;

use std::collections::HashMap;
use std::io::Write;
use std::sync::{Arc, OnceLock};

use bytes::Bytes;
use sha2::{Digest, Sha256};

pub use meta::Meta;
pub use shell::{Page, ShellConfig};

/// First path segments of the UI's client routes (`web/lib/router.js` lists the full patterns; a
/// test below checks the two agree). Other paths get the shell with a 404 status, and the UI
/// says the page does not exist.
pub const CLIENT_ROUTES: &[&str] = &[
    "",
    "search",
    "notifications",
    "profile",
    "hashtag",
    "settings",
    "signin",
    "signup",
    "invite",
    "reset-password",
    "moderation",
    "saved",
    "console",
    "move-in",
];

#[derive(rust_embed::RustEmbed)]
#[folder = "$CARGO_MANIFEST_DIR/web"]
struct Files;

/// The shell template (not served as an asset).
const SHELL_FILE: &str = "index.html";
/// Smallest file worth compressing: below this the headers cost more than the bytes saved.
const MIN_COMPRESS: usize = 256;
/// Brotli quality and window: the densest setting, paid once at start for a few hundred KB.
const BROTLI_QUALITY: u32 = 11;
const BROTLI_WINDOW: u32 = 22;

/// One embedded file, ready to send.
pub struct Asset {
    pub body: Bytes,
    /// The gzip and brotli bodies (each only when smaller), made once by [`Asset::compress`]
    /// before the file is first served.
    compressed: OnceLock<Compressed>,
    pub content_type: &'static str,
    /// Strong ETag of the identity body (quoted); compressed variants append `-gz`/`-br`.
    pub etag: String,
}

#[derive(Default)]
struct Compressed {
    gzip: Option<Bytes>,
    brotli: Option<Bytes>,
}

/// The whole UI, prepared once.
pub struct WebUi {
    assets: HashMap<String, Arc<Asset>>,
    version: String,
    shell: shell::Shell,
}

/// A content type for each kind of file the UI ships; anything else is served as bytes.
fn content_type(path: &str) -> &'static str {
    match path.rsplit_once('.').map(|(_, ext)| ext) {
        Some("html") => "text/html; charset=utf-8",
        Some("js" | "mjs") => "text/javascript; charset=utf-8",
        Some("css") => "text/css; charset=utf-8",
        Some("json") => "application/json",
        Some("svg") => "image/svg+xml",
        Some("png") => "image/png",
        Some("webp") => "image/webp",
        Some("woff2") => "font/woff2",
        Some("txt") | None => "text/plain; charset=utf-8",
        Some(_) => "application/octet-stream",
    }
}

fn compressible(content_type: &str) -> bool {
    content_type.starts_with("text/")
        || content_type == "application/json"
        || content_type == "image/svg+xml"
}

fn gzip(data: &[u8]) -> Option<Bytes> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    encoder.write_all(data).ok()?;
    encoder.finish().ok().map(Bytes::from)
}

fn brotli(data: &[u8]) -> Option<Bytes> {
    let mut out = Vec::new();
    let params = brotli::enc::BrotliEncoderParams {
        quality: BROTLI_QUALITY as i32,
        lgwin: BROTLI_WINDOW as i32,
        ..Default::default()
    };
    brotli::BrotliCompress(&mut &data[..], &mut out, &params).ok()?;
    Some(Bytes::from(out))
}

/// A compressed body, kept only when it is smaller than the original.
fn smaller(original: usize, compressed: Option<Bytes>) -> Option<Bytes> {
    compressed.filter(|c| c.len() < original)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

impl Asset {
    fn new(path: &str, data: Vec<u8>, hash: [u8; 32]) -> Asset {
        Asset {
            body: Bytes::from(data),
            compressed: OnceLock::new(),
            content_type: content_type(path),
            etag: format!("\"{}\"", &hex(&hash)[..32]),
        }
    }

    /// Whether the compressed bodies are ready.
    pub fn compressed(&self) -> bool {
        self.compressed.get().is_some()
    }

    /// Makes the gzip and brotli bodies (once; CPU work of milliseconds per file in a release
    /// build: call it on the blocking pool).
    pub fn compress(&self) {
        if self.compressed() {
            return;
        }
        let data = &self.body;
        let compressed = if compressible(self.content_type) && data.len() >= MIN_COMPRESS {
            Compressed {
                gzip: smaller(data.len(), gzip(data)),
                brotli: smaller(data.len(), brotli(data)),
            }
        } else {
            Compressed::default()
        };
        let _ = self.compressed.set(compressed);
    }

    pub fn gzip(&self) -> Option<&Bytes> {
        self.compressed.get().and_then(|c| c.gzip.as_ref())
    }

    pub fn brotli(&self) -> Option<&Bytes> {
        self.compressed.get().and_then(|c| c.brotli.as_ref())
    }

    /// The body for a client that accepts `encoding` (`br`, `gzip` or identity), with its ETag.
    pub fn variant(&self, encoding: Encoding) -> (Bytes, Option<&'static str>, String) {
        let tagged = |suffix: &str| format!("{}-{suffix}\"", self.etag.trim_end_matches('"'));
        match (encoding, self.brotli(), self.gzip()) {
            (Encoding::Brotli, Some(brotli), _) => (brotli.clone(), Some("br"), tagged("br")),
            (Encoding::Brotli | Encoding::Gzip, _, Some(gzip)) => {
                (gzip.clone(), Some("gzip"), tagged("gz"))
            }
            _ => (self.body.clone(), None, self.etag.clone()),
        }
    }
}

/// The best encoding a client accepts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Encoding {
    Brotli,
    Gzip,
    Identity,
}

impl Encoding {
    /// From an `Accept-Encoding` header: brotli first, then gzip; `q=0` refuses a coding.
    pub fn negotiate(accept: Option<&str>) -> Encoding {
        let accepts = |name: &str| {
            accept.is_some_and(|header| {
                header.split(',').any(|item| {
                    let mut parts = item.split(';').map(str::trim);
                    let coding = parts.next().unwrap_or_default();
                    let refused = parts.any(|p| {
                        p.strip_prefix("q=")
                            .and_then(|q| q.parse::<f32>().ok())
                            .is_some_and(|q| q <= 0.0)
                    });
                    coding.eq_ignore_ascii_case(name) && !refused
                })
            })
        };
        if accepts("br") {
            Encoding::Brotli
        } else if accepts("gzip") {
            Encoding::Gzip
        } else {
            Encoding::Identity
        }
    }
}

impl WebUi {
    /// Reads every file of `web/` and hashes it (milliseconds); [`WebUi::compress`] then
    /// prepares the compressed bodies.
    pub fn load(config: ShellConfig) -> WebUi {
        let mut names: Vec<String> = Files::iter().map(|name| name.into_owned()).collect();
        names.sort();
        let mut version_hash = Sha256::new();
        let mut assets = HashMap::new();
        let mut template = String::new();
        for name in names {
            let Some(file) = Files::get(&name) else {
                continue;
            };
            let hash = file.metadata.sha256_hash();
            version_hash.update(name.as_bytes());
            version_hash.update(hash);
            if name == SHELL_FILE {
                template = String::from_utf8_lossy(&file.data).into_owned();
                continue;
            }
            let asset = Asset::new(&name, file.data.into_owned(), hash);
            assets.insert(name.clone(), Arc::new(asset));
        }
        let version = hex(&version_hash.finalize())[..12].to_owned();
        let shell = shell::Shell::new(&template, &format!("/assets/{version}/"), config);
        WebUi {
            assets,
            version,
            shell,
        }
    }

    /// Compresses every file (for tests; the server compresses each file when it is first asked
    /// for).
    #[cfg(test)]
    pub fn compress(&self) {
        for asset in self.assets.values() {
            asset.compress();
        }
    }

    /// Files, and their total size raw, gzipped and as served to a brotli client (the smallest
    /// body of each), for the start-up log.
    pub fn sizes(&self) -> (usize, usize, usize, usize) {
        self.assets
            .values()
            .fold((0, 0, 0, 0), |(n, raw, gz, br), a| {
                let gzip = a.gzip().map_or(a.body.len(), Bytes::len);
                let brotli = a.brotli().map_or(gzip, Bytes::len);
                (n + 1, raw + a.body.len(), gz + gzip, br + brotli)
            })
    }

    pub fn version(&self) -> &str {
        &self.version
    }

    pub fn asset(&self, path: &str) -> Option<Arc<Asset>> {
        self.assets.get(path).cloned()
    }

    /// The HTML of one page.
    pub fn render(&self, page: &Page) -> String {
        self.shell.render(page)
    }

    /// The Content-Security-Policy of `page`.
    pub fn content_security_policy(&self, page: &Page) -> &str {
        self.shell.content_security_policy(page)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ui() -> WebUi {
        let ui = WebUi::load(ShellConfig {
            service_did: "did:web:localhost%3A2583".into(),
            appview_proxy: "did:web:localhost%3A2583#bsky_appview".into(),
            public_url: "http://localhost:2583".into(),
            hostname: "localhost".into(),
        });
        ui.compress();
        ui
    }

    #[test]
    fn negotiates_encodings() {
        let check = |header: Option<&str>, expected| {
            assert_eq!(Encoding::negotiate(header), expected, "{header:?}");
        };
        check(None, Encoding::Identity);
        check(Some("gzip, deflate, br, zstd"), Encoding::Brotli);
        check(Some("gzip"), Encoding::Gzip);
        check(Some("br;q=0, gzip;q=0.5"), Encoding::Gzip);
        check(Some("BR"), Encoding::Brotli);
        check(Some("identity"), Encoding::Identity);
        check(Some("gzip;q=0"), Encoding::Identity);
    }

    #[test]
    fn every_file_is_prepared_and_compressed_once() {
        let ui = ui();
        assert_eq!(ui.version().len(), 12);
        let app = ui.asset("app.js").expect("web/app.js is embedded");
        assert_eq!(app.content_type, "text/javascript; charset=utf-8");
        let gzip = app.gzip().expect("app.js has a gzip body");
        let brotli = app.brotli().expect("app.js has a brotli body");
        assert!(brotli.len() < app.body.len() && gzip.len() < app.body.len());
        let (_, encoding, etag) = app.variant(Encoding::Brotli);
        assert_eq!(encoding, Some("br"));
        assert!(etag.ends_with("-br\"") && etag.starts_with('"'));
        assert!(
            ui.asset(SHELL_FILE).is_none(),
            "the shell is rendered, not served"
        );
        // The brotli body decodes to the file.
        let mut decoded = Vec::new();
        brotli::BrotliDecompress(&mut &brotli[..], &mut decoded).unwrap();
        assert_eq!(decoded, app.body);
    }

    #[test]
    fn the_server_knows_every_client_route() {
        let router = Files::get("lib/router.js").expect("web/lib/router.js");
        let router = String::from_utf8_lossy(&router.data);
        let mut firsts: Vec<&str> = router
            .split("path: '")
            .skip(1)
            .filter_map(|rest| rest.split('\'').next())
            .filter(|path| *path != "*")
            .map(|path| {
                path.trim_start_matches('/')
                    .split('/')
                    .next()
                    .unwrap_or_default()
            })
            .collect();
        firsts.sort_unstable();
        firsts.dedup();
        assert!(firsts.len() > 5, "no routes found in router.js");
        let mut known: Vec<&str> = CLIENT_ROUTES.to_vec();
        known.sort_unstable();
        assert_eq!(
            firsts, known,
            "CLIENT_ROUTES and web/lib/router.js disagree"
        );
    }

    #[test]
    fn files_are_served_as_they_are_until_compressed() {
        let fresh = WebUi::load(ShellConfig {
            service_did: "did:web:x".into(),
            appview_proxy: "did:web:x#bsky_appview".into(),
            public_url: "http://x".into(),
            hostname: "x".into(),
        });
        let app = fresh.asset("app.js").unwrap();
        assert_eq!(app.variant(Encoding::Brotli).1, None);
        app.compress();
        assert_eq!(app.variant(Encoding::Brotli).1, Some("br"));
        assert_eq!(
            fresh.version(),
            ui().version(),
            "the version depends on the files only"
        );
    }
}
