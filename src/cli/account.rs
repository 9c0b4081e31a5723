//! `skyhold account …`: the admin's account tools, through the running server's admin API.

use anyhow::Context;
use clap::Subcommand;
use serde_json::{Value, json};

use super::admin_api::{AdminApi, ServerArgs, block_on, generated_password};

#[derive(Subcommand)]
pub enum AccountCommand {
    /// Create an account (with an invite the command makes itself when invites are required).
    Create {
        #[arg(long)]
        handle: String,
        #[arg(long)]
        email: String,
        /// Default: a generated password, printed once.
        #[arg(long)]
        password: Option<String>,
        #[command(flatten)]
        server: ServerArgs,
    },
    /// List accounts, optionally those whose handle or email contains TEXT.
    List {
        text: Option<String>,
        #[command(flatten)]
        server: ServerArgs,
    },
    /// Everything the admin knows about one account (DID or handle).
    Info {
        account: String,
        #[command(flatten)]
        server: ServerArgs,
    },
    /// Take an account down (its repo and blobs stop being served), or restore it with --undo.
    Takedown {
        account: String,
        /// A reference kept with the takedown (a ticket, a reason).
        #[arg(long = "ref", default_value = "takedown")]
        reference: String,
        #[arg(long)]
        undo: bool,
        #[command(flatten)]
        server: ServerArgs,
    },
    /// Suspend an account for some days; it comes back by itself.
    Suspend {
        account: String,
        #[arg(long)]
        days: u32,
        #[arg(long = "ref", default_value = "suspension")]
        reference: String,
        #[command(flatten)]
        server: ServerArgs,
    },
    /// Set a new password (all sessions end).
    ResetPassword {
        account: String,
        /// Default: a generated password, printed once.
        #[arg(long)]
        password: Option<String>,
        #[command(flatten)]
        server: ServerArgs,
    },
    /// One-time codes (email confirmation, password reset, PLC operations, deletion) waiting to be
    /// used: without SMTP, members get their codes from the admin.
    Codes {
        #[command(flatten)]
        server: ServerArgs,
    },
    /// The apps an account authorized with OAuth (name, address, permissions, last use).
    Apps {
        account: String,
        #[command(flatten)]
        server: ServerArgs,
    },
    /// Disconnect an app from an account (by its client id, as `apps` prints it): its sessions
    /// and tokens end at once.
    RevokeApp {
        account: String,
        client_id: String,
        #[command(flatten)]
        server: ServerArgs,
    },
    /// Delete an account and all its data for good.
    Delete {
        account: String,
        /// Required: deletion cannot be undone.
        #[arg(long)]
        yes: bool,
        #[command(flatten)]
        server: ServerArgs,
    },
}

pub fn run(command: AccountCommand) -> i32 {
    block_on(async move {
        match command {
            AccountCommand::Create {
                handle,
                email,
                password,
                server,
            } => create(&AdminApi::connect(&server)?, &handle, &email, password).await,
            AccountCommand::List { text, server } => list(&AdminApi::connect(&server)?, text).await,
            AccountCommand::Info { account, server } => {
                info(&AdminApi::connect(&server)?, &account).await
            }
            AccountCommand::Takedown {
                account,
                reference,
                undo,
                server,
            } => {
                let api = AdminApi::connect(&server)?;
                let did = api.did_of(&account).await?;
                let takedown = if undo {
                    json!({"applied": false})
                } else {
                    json!({"applied": true, "ref": reference})
                };
                api.post(
                    "/xrpc/com.atproto.admin.updateSubjectStatus",
                    &json!({"subject": {"$type": "com.atproto.admin.defs#repoRef", "did": did}, "takedown": takedown}),
                )
                .await?;
                println!("{did} {}", if undo { "restored" } else { "taken down" });
                Ok(())
            }
            AccountCommand::Suspend {
                account,
                days,
                reference,
                server,
            } => {
                let api = AdminApi::connect(&server)?;
                let did = api.did_of(&account).await?;
                let until_micros =
                    crate::clock::now_micros() + i64::from(days) * 86_400 * 1_000_000;
                let until = crate::core::syntax::Datetime::from_unix_micros(until_micros)
                    .context("computing the end of the suspension")?;
                api.post(
                    &format!("/admin/accounts/{did}/suspend"),
                    &json!({"until": until.as_str(), "ref": reference}),
                )
                .await?;
                println!("{did} suspended until {}", until.as_str());
                Ok(())
            }
            AccountCommand::ResetPassword {
                account,
                password,
                server,
            } => {
                let api = AdminApi::connect(&server)?;
                let did = api.did_of(&account).await?;
                let generated = password.is_none();
                let password = password.unwrap_or_else(generated_password);
                api.post(
                    "/xrpc/com.atproto.admin.updateAccountPassword",
                    &json!({"did": did, "password": password}),
                )
                .await?;
                if generated {
                    println!("new password for {did}: {password}");
                } else {
                    println!("password changed for {did}");
                }
                Ok(())
            }
            AccountCommand::Codes { server } => {
                let api = AdminApi::connect(&server)?;
                let answer = api.get("/admin/codes", &[]).await?;
                let codes = answer
                    .get("codes")
                    .and_then(Value::as_array)
                    .cloned()
                    .unwrap_or_default();
                if codes.is_empty() {
                    println!("no codes waiting");
                }
                for code in codes {
                    println!(
                        "{}  {:<15} {}  (expires {})",
                        text(&code, "token"),
                        text(&code, "purpose"),
                        text(&code, "did"),
                        text(&code, "expiresAt")
                    );
                }
                Ok(())
            }
            AccountCommand::Apps { account, server } => {
                apps(&AdminApi::connect(&server)?, &account).await
            }
            AccountCommand::RevokeApp {
                account,
                client_id,
                server,
            } => revoke_app(&AdminApi::connect(&server)?, &account, &client_id).await,
            AccountCommand::Delete {
                account,
                yes,
                server,
            } => {
                if !yes {
                    anyhow::bail!("deleting an account cannot be undone; add --yes to go ahead");
                }
                let api = AdminApi::connect(&server)?;
                let did = api.did_of(&account).await?;
                api.post(
                    "/xrpc/com.atproto.admin.deleteAccount",
                    &json!({"did": did}),
                )
                .await?;
                println!("{did} deleted");
                Ok(())
            }
        }
    })
}

fn text<'a>(value: &'a Value, field: &str) -> &'a str {
    value.get(field).and_then(Value::as_str).unwrap_or("-")
}

async fn create(
    api: &AdminApi,
    handle: &str,
    email: &str,
    password: Option<String>,
) -> anyhow::Result<()> {
    let description = api
        .get("/xrpc/com.atproto.server.describeServer", &[])
        .await?;
    let mut input = json!({"handle": handle, "email": email});
    if description
        .get("inviteCodeRequired")
        .and_then(Value::as_bool)
        == Some(true)
    {
        let invite = api
            .post(
                "/xrpc/com.atproto.server.createInviteCode",
                &json!({"useCount": 1}),
            )
            .await?;
        input["inviteCode"] = invite.get("code").cloned().unwrap_or(Value::Null);
    }
    let generated = password.is_none();
    let password = password.unwrap_or_else(generated_password);
    input["password"] = json!(password);
    let created = api
        .post("/xrpc/com.atproto.server.createAccount", &input)
        .await?;
    println!(
        "created {} ({})",
        text(&created, "handle"),
        text(&created, "did")
    );
    if generated {
        println!("password: {password}");
    }
    Ok(())
}

async fn list(api: &AdminApi, query: Option<String>) -> anyhow::Result<()> {
    let mut cursor: Option<String> = None;
    loop {
        let mut params = vec![("limit", "100".to_owned())];
        if let Some(q) = &query {
            params.push(("email", q.clone()));
        }
        if let Some(c) = &cursor {
            params.push(("cursor", c.clone()));
        }
        let page = api
            .get("/xrpc/com.atproto.admin.searchAccounts", &params)
            .await?;
        for account in page
            .get("accounts")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let did = text(account, "did");
            let status = api
                .get(
                    "/xrpc/com.atproto.sync.getRepoStatus",
                    &[("did", did.to_owned())],
                )
                .await
                .ok()
                .map(|s| {
                    s.get("status")
                        .and_then(Value::as_str)
                        .unwrap_or("active")
                        .to_owned()
                })
                .unwrap_or_else(|| "no repo".into());
            println!(
                "{did}  {:<30} {:<30} {status}",
                text(account, "handle"),
                text(account, "email")
            );
        }
        cursor = page
            .get("cursor")
            .and_then(Value::as_str)
            .map(str::to_owned);
        if cursor.is_none() {
            return Ok(());
        }
    }
}

async fn info(api: &AdminApi, account: &str) -> anyhow::Result<()> {
    let did = api.did_of(account).await?;
    let mut view = api
        .get(
            "/xrpc/com.atproto.admin.getAccountInfo",
            &[("did", did.clone())],
        )
        .await?;
    let subject = api
        .get(
            "/xrpc/com.atproto.admin.getSubjectStatus",
            &[("did", did.clone())],
        )
        .await?;
    view["takedown"] = subject.get("takedown").cloned().unwrap_or(Value::Null);
    if let Ok(repo) = api
        .get(
            "/xrpc/com.atproto.sync.getRepoStatus",
            &[("did", did.clone())],
        )
        .await
    {
        view["repo"] = repo;
    }
    println!(
        "{}",
        serde_json::to_string_pretty(&view).context("rendering")?
    );
    Ok(())
}

async fn apps(api: &AdminApi, account: &str) -> anyhow::Result<()> {
    let answer = api
        .get(
            "/xrpc/blue.skyhold.admin.listAccountApps",
            &[("account", account.to_owned())],
        )
        .await?;
    let apps = answer
        .get("apps")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    if apps.is_empty() {
        println!("{} has no connected apps", text(&answer, "did"));
    }
    for app in apps {
        let name = app
            .get("clientName")
            .and_then(Value::as_str)
            .unwrap_or("(no name)");
        println!("{name}  {}", text(&app, "clientId"));
        println!(
            "  since {}, last used {}, ends {}",
            text(&app, "createdAt"),
            text(&app, "lastUsedAt"),
            text(&app, "expiresAt")
        );
        for permission in app
            .get("permissions")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
        {
            println!("  - {permission}");
        }
    }
    Ok(())
}

async fn revoke_app(api: &AdminApi, account: &str, client_id: &str) -> anyhow::Result<()> {
    let answer = api
        .post(
            "/xrpc/blue.skyhold.admin.revokeAccountApp",
            &json!({"account": account, "clientId": client_id}),
        )
        .await?;
    match answer.get("revoked").and_then(Value::as_u64) {
        Some(0) | None => anyhow::bail!("{account} has not authorized {client_id}"),
        Some(n) => println!("{client_id} disconnected from {account} ({n} sessions ended)"),
    }
    Ok(())
}
