//! `skyhold admin …`: who may use the admin console with their own account (the admin role),
//! and the audit log of admin actions, through the running server's admin API with the admin
//! password (`blue.skyhold.admin.*`). Only the admin password grants or revokes the role.

use clap::Subcommand;
use serde_json::{Value, json};

use super::admin_api::{AdminApi, ServerArgs, block_on};

#[derive(Subcommand)]
pub enum AdminCommand {
    /// Give an account the admin role: signed in with its password (never an app password), it
    /// can use the admin console at /console.
    Grant {
        /// The account's handle or DID.
        account: String,
        #[command(flatten)]
        server: ServerArgs,
    },
    /// Take the admin role away.
    Revoke {
        account: String,
        #[command(flatten)]
        server: ServerArgs,
    },
    /// List the accounts with the admin role.
    List {
        #[command(flatten)]
        server: ServerArgs,
    },
    /// Show the audit log: every admin action, newest first.
    Audit {
        /// Only actions on this account (handle or DID), record (at:// URI), code or host.
        #[arg(long)]
        subject: Option<String>,
        /// How many entries.
        #[arg(long, default_value_t = 50)]
        limit: usize,
        #[command(flatten)]
        server: ServerArgs,
    },
}

fn text<'a>(value: &'a Value, field: &str) -> &'a str {
    value.get(field).and_then(Value::as_str).unwrap_or("-")
}

async fn set_role(server: &ServerArgs, account: &str, admin: bool) -> anyhow::Result<()> {
    let api = AdminApi::connect(server)?;
    let answer = api
        .post(
            "/xrpc/blue.skyhold.admin.updateRole",
            &json!({"account": account, "admin": admin}),
        )
        .await?;
    let changed = answer.get("changed").and_then(Value::as_bool) == Some(true);
    let did = text(&answer, "did");
    match (admin, changed) {
        (true, true) => println!("{account} ({did}) is now an admin: sign in at /console"),
        (true, false) => println!("{account} ({did}) was already an admin"),
        (false, true) => println!("{account} ({did}) is no longer an admin"),
        (false, false) => println!("{account} ({did}) was not an admin"),
    }
    Ok(())
}

pub fn run(command: AdminCommand) -> i32 {
    block_on(async move {
        match command {
            AdminCommand::Grant { account, server } => set_role(&server, &account, true).await,
            AdminCommand::Revoke { account, server } => set_role(&server, &account, false).await,
            AdminCommand::List { server } => {
                let api = AdminApi::connect(&server)?;
                let answer = api.get("/xrpc/blue.skyhold.admin.listAdmins", &[]).await?;
                let admins = answer.get("admins").and_then(Value::as_array);
                if admins.is_none_or(|a| a.is_empty()) {
                    println!("no account has the admin role (skyhold admin grant HANDLE)");
                }
                for admin in admins.into_iter().flatten() {
                    println!(
                        "{}  {}  since {}  {}",
                        text(admin, "handle"),
                        text(admin, "did"),
                        text(admin, "grantedAt"),
                        text(admin, "status")
                    );
                }
                Ok(())
            }
            AdminCommand::Audit {
                subject,
                limit,
                server,
            } => {
                let api = AdminApi::connect(&server)?;
                let mut params = vec![("limit", limit.clamp(1, 100).to_string())];
                if let Some(subject) = subject {
                    // A handle becomes its DID; URIs, DIDs, codes and host names stay as given.
                    let subject = if subject.starts_with("at://") || subject.starts_with("did:") {
                        subject
                    } else {
                        match api.did_of(&subject).await {
                            Ok(did) => did,
                            Err(_) => subject,
                        }
                    };
                    params.push(("subject", subject));
                }
                let answer = api
                    .get("/xrpc/blue.skyhold.admin.getAuditLog", &params)
                    .await?;
                let handles = answer.get("handles").cloned().unwrap_or(Value::Null);
                let name = |did: &str| -> String {
                    match handles.get(did).and_then(Value::as_str) {
                        Some(handle) => format!("@{handle}"),
                        None => did.to_owned(),
                    }
                };
                for entry in answer
                    .get("entries")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                {
                    let mut line = format!(
                        "{}  {}  {}",
                        text(entry, "at"),
                        name(text(entry, "actor")),
                        text(entry, "action")
                    );
                    if let Some(subject) = entry.get("subject").and_then(Value::as_str) {
                        line.push_str(&format!("  {}", name(subject)));
                    }
                    if let Some(detail) = entry.get("detail").and_then(Value::as_str) {
                        line.push_str(&format!("  ({detail})"));
                    }
                    println!("{line}");
                }
                Ok(())
            }
        }
    })
}
