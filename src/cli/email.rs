//! `skyhold email test ADDRESS`: checks the SMTP settings by sending a message through the running
//! server.

use clap::Subcommand;
use serde_json::json;

use super::admin_api::{AdminApi, ServerArgs, block_on};

#[derive(Subcommand)]
pub enum EmailCommand {
    /// Send a test message to ADDRESS.
    Test {
        address: String,
        #[command(flatten)]
        server: ServerArgs,
    },
}

pub fn run(command: EmailCommand) -> i32 {
    block_on(async move {
        match command {
            EmailCommand::Test { address, server } => {
                let api = AdminApi::connect(&server)?;
                api.post("/admin/email/test", &json!({"to": address}))
                    .await?;
                println!("sent a test message to {address}");
                Ok(())
            }
        }
    })
}
