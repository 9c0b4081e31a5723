//! How admin commands reach the running server: its URL and the admin password (a flag, the
//! `SKYHOLD_ADMIN_PASSWORD` variable, or the `admin-password` file in the data directory), then
//! plain XRPC calls with HTTP basic auth. Going through the server keeps one writer on the data.

use std::path::PathBuf;

use anyhow::{Context, bail};
use clap::Args;
use serde_json::Value;

/// Where the server is and how to prove being its admin.
#[derive(Args, Clone, Debug)]
pub struct ServerArgs {
    /// The server's URL (default: the address in SKYHOLD_LISTEN, else http://127.0.0.1:2583).
    #[arg(long, env = "SKYHOLD_ADMIN_URL")]
    pub server: Option<String>,
    /// The data directory, where a generated admin password is kept.
    #[arg(long, env = "SKYHOLD_DATA_DIR", default_value = "./skyhold-data")]
    pub data_dir: PathBuf,
    /// The admin password (default: the data directory's `admin-password` file).
    #[arg(long, env = "SKYHOLD_ADMIN_PASSWORD", hide_env_values = true)]
    pub admin_password: Option<String>,
}

/// A connection to the running server's admin API.
pub struct AdminApi {
    base: String,
    password: String,
    http: reqwest::Client,
}

impl AdminApi {
    pub fn connect(args: &ServerArgs) -> anyhow::Result<AdminApi> {
        let base = match &args.server {
            Some(url) => url.trim_end_matches('/').to_owned(),
            None => {
                let listen =
                    std::env::var("SKYHOLD_LISTEN").unwrap_or_else(|_| "127.0.0.1:2583".into());
                let listen = listen
                    .replace("0.0.0.0", "127.0.0.1")
                    .replace("[::]", "[::1]");
                format!("http://{listen}")
            }
        };
        let password = match &args.admin_password {
            Some(p) if !p.is_empty() => p.clone(),
            _ => {
                let path = args.data_dir.join("admin-password");
                std::fs::read_to_string(&path)
                    .with_context(|| {
                        format!(
                            "no admin password given and {} is not readable (pass --admin-password or set SKYHOLD_ADMIN_PASSWORD)",
                            path.display()
                        )
                    })?
                    .trim()
                    .to_owned()
            }
        };
        let http = crate::net::OperatorClient {
            user_agent: concat!("skyhold-cli/", env!("CARGO_PKG_VERSION")),
            timeout: Some(std::time::Duration::from_secs(60)),
            read_timeout: None,
            connect_timeout: std::time::Duration::from_secs(10),
        }
        .build();
        Ok(AdminApi {
            base,
            password,
            http,
        })
    }

    /// A GET of `path` (`/xrpc/…` or `/admin/…`) with query parameters.
    pub async fn get(&self, path: &str, query: &[(&str, String)]) -> anyhow::Result<Value> {
        let query = serde_html_form::to_string(query).context("encoding the query")?;
        let url = if query.is_empty() {
            format!("{}{path}", self.base)
        } else {
            format!("{}{path}?{query}", self.base)
        };
        let request = self.http.get(url).basic_auth("admin", Some(&self.password));
        self.send(path, request).await
    }

    /// A POST of a JSON body to `path`.
    pub async fn post(&self, path: &str, body: &Value) -> anyhow::Result<Value> {
        let request = self
            .http
            .post(format!("{}{path}", self.base))
            .basic_auth("admin", Some(&self.password))
            .json(body);
        self.send(path, request).await
    }

    async fn send(&self, path: &str, request: reqwest::RequestBuilder) -> anyhow::Result<Value> {
        let response = request.send().await.with_context(|| {
            format!(
                "cannot reach the server at {} (is `skyhold serve` running?)",
                self.base
            )
        })?;
        let status = response.status();
        let bytes = response
            .bytes()
            .await
            .context("reading the server's answer")?;
        let body: Value = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes)
                .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned()))
        };
        if !status.is_success() {
            let name = body.get("error").and_then(Value::as_str).unwrap_or("Error");
            let message = body
                .get("message")
                .and_then(Value::as_str)
                .unwrap_or_default();
            if status == reqwest::StatusCode::UNAUTHORIZED && name == "AuthenticationRequired" {
                bail!("the server refused the admin password ({path})");
            }
            bail!("{name}: {message} ({path}, HTTP {})", status.as_u16());
        }
        Ok(body)
    }

    /// The DID for a DID or a handle.
    pub async fn did_of(&self, who: &str) -> anyhow::Result<String> {
        if who.starts_with("did:") {
            return Ok(who.to_owned());
        }
        let answer = self
            .get(
                "/xrpc/com.atproto.identity.resolveHandle",
                &[("handle", who.to_owned())],
            )
            .await?;
        answer
            .get("did")
            .and_then(Value::as_str)
            .map(str::to_owned)
            .with_context(|| format!("no DID for {who}"))
    }
}

/// Runs an async admin command on a small runtime and turns its result into an exit code.
pub fn block_on(work: impl std::future::Future<Output = anyhow::Result<()>>) -> i32 {
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("error: starting the runtime: {e}");
            return 1;
        }
    };
    match runtime.block_on(work) {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("error: {e:#}");
            1
        }
    }
}

/// A random password for accounts the admin creates or resets without giving one.
pub fn generated_password() -> String {
    let mut bytes = [0u8; 15];
    rand_core::RngCore::fill_bytes(&mut rand_core::OsRng, &mut bytes);
    data_encoding::BASE64URL_NOPAD.encode(&bytes)
}
