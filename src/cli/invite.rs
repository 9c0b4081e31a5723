//! `skyhold invite …`: invite codes, through the running server's admin API.

use clap::Subcommand;
use serde_json::{Value, json};

use super::admin_api::{AdminApi, ServerArgs, block_on};

#[derive(Subcommand)]
pub enum InviteCommand {
    /// Create invite codes.
    Create {
        /// How many codes.
        #[arg(long, default_value_t = 1)]
        count: u32,
        /// How many accounts each code may create.
        #[arg(long, default_value_t = 1)]
        uses: u32,
        /// Issue the codes to this account (DID) instead of the admin.
        #[arg(long = "for")]
        for_account: Option<String>,
        #[command(flatten)]
        server: ServerArgs,
    },
    /// List every code, most recent first, with its uses.
    List {
        #[command(flatten)]
        server: ServerArgs,
    },
    /// Disable codes.
    Disable {
        #[arg(required = true)]
        codes: Vec<String>,
        #[command(flatten)]
        server: ServerArgs,
    },
}

pub fn run(command: InviteCommand) -> i32 {
    block_on(async move {
        match command {
            InviteCommand::Create {
                count,
                uses,
                for_account,
                server,
            } => {
                let api = AdminApi::connect(&server)?;
                let mut input = json!({"codeCount": count, "useCount": uses});
                if let Some(account) = for_account {
                    input["forAccounts"] = json!([api.did_of(&account).await?]);
                }
                let created = api
                    .post("/xrpc/com.atproto.server.createInviteCodes", &input)
                    .await?;
                for group in created
                    .get("codes")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                {
                    for code in group
                        .get("codes")
                        .and_then(Value::as_array)
                        .into_iter()
                        .flatten()
                    {
                        println!("{}", code.as_str().unwrap_or_default());
                    }
                }
                Ok(())
            }
            InviteCommand::List { server } => {
                let api = AdminApi::connect(&server)?;
                let mut cursor: Option<String> = None;
                loop {
                    let mut params = vec![("limit", "500".to_owned())];
                    if let Some(c) = &cursor {
                        params.push(("cursor", c.clone()));
                    }
                    let page = api
                        .get("/xrpc/com.atproto.admin.getInviteCodes", &params)
                        .await?;
                    for code in page
                        .get("codes")
                        .and_then(Value::as_array)
                        .into_iter()
                        .flatten()
                    {
                        let used = code
                            .get("uses")
                            .and_then(Value::as_array)
                            .map_or(0, Vec::len);
                        let available = code.get("available").and_then(Value::as_u64).unwrap_or(0);
                        let disabled = code.get("disabled").and_then(Value::as_bool) == Some(true);
                        println!(
                            "{}  used {used}/{available}{}  for {}  created {}",
                            code.get("code").and_then(Value::as_str).unwrap_or("-"),
                            if disabled { " (disabled)" } else { "" },
                            code.get("forAccount")
                                .and_then(Value::as_str)
                                .unwrap_or("-"),
                            code.get("createdAt").and_then(Value::as_str).unwrap_or("-"),
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
            InviteCommand::Disable { codes, server } => {
                let api = AdminApi::connect(&server)?;
                api.post(
                    "/xrpc/com.atproto.admin.disableInviteCodes",
                    &json!({"codes": codes}),
                )
                .await?;
                println!("disabled {} code(s)", codes.len());
                Ok(())
            }
        }
    })
}
