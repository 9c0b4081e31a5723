//! `skyhold report …`: the reports members filed (`com.atproto.moderation.createReport`), through
//! the running server's admin API (`/admin/reports`).

use clap::{Subcommand, ValueEnum};
use serde_json::{Value, json};

use super::admin_api::{AdminApi, ServerArgs, block_on};

#[derive(Clone, Copy, ValueEnum)]
pub enum StateArg {
    Open,
    Resolved,
    All,
}

#[derive(Subcommand)]
pub enum ReportCommand {
    /// List reports, newest first (open ones by default).
    List {
        #[arg(long, value_enum, default_value = "open")]
        state: StateArg,
        /// Only reports about this account (DID or handle) or record (at:// URI).
        #[arg(long)]
        subject: Option<String>,
        /// Only reports filed by this account (DID or handle).
        #[arg(long)]
        by: Option<String>,
        #[command(flatten)]
        server: ServerArgs,
    },
    /// Show one report in full (JSON).
    Show {
        id: u64,
        #[command(flatten)]
        server: ServerArgs,
    },
    /// Mark a report resolved, with a note of what was done.
    Resolve {
        id: u64,
        #[arg(long)]
        note: Option<String>,
        #[command(flatten)]
        server: ServerArgs,
    },
}

fn text<'a>(report: &'a Value, field: &str) -> &'a str {
    report.get(field).and_then(Value::as_str).unwrap_or("-")
}

/// One line per report: id, state, when, who, about what, why.
fn line(report: &Value) -> String {
    let subject = &report["subject"];
    let about = subject
        .get("uri")
        .or_else(|| subject.get("did"))
        .and_then(Value::as_str)
        .unwrap_or("-");
    let reason_type = text(report, "reasonType");
    let reason_type = reason_type.rsplit('#').next().unwrap_or(reason_type);
    let mut out = format!(
        "#{}  {}  {}  by {}  about {}  {}",
        report["id"],
        text(report, "state"),
        text(report, "createdAt"),
        text(report, "reportedBy"),
        about,
        reason_type,
    );
    if let Some(reason) = report.get("reason").and_then(Value::as_str) {
        out.push_str(&format!(": {reason}"));
    }
    out
}

pub fn run(command: ReportCommand) -> i32 {
    block_on(async move {
        match command {
            ReportCommand::List {
                state,
                subject,
                by,
                server,
            } => {
                let api = AdminApi::connect(&server)?;
                let state = match state {
                    StateArg::Open => "open",
                    StateArg::Resolved => "resolved",
                    StateArg::All => "all",
                };
                let mut params = vec![("state", state.to_owned()), ("limit", "100".to_owned())];
                if let Some(subject) = subject {
                    let subject = if subject.starts_with("at://") {
                        subject
                    } else {
                        api.did_of(&subject).await?
                    };
                    params.push(("subject", subject));
                }
                if let Some(by) = by {
                    params.push(("reportedBy", api.did_of(&by).await?));
                }
                let mut cursor: Option<String> = None;
                loop {
                    let mut query = params.clone();
                    if let Some(c) = &cursor {
                        query.push(("cursor", c.clone()));
                    }
                    let page = api.get("/admin/reports", &query).await?;
                    for report in page
                        .get("reports")
                        .and_then(Value::as_array)
                        .into_iter()
                        .flatten()
                    {
                        println!("{}", line(report));
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
            ReportCommand::Show { id, server } => {
                let api = AdminApi::connect(&server)?;
                let report = api.get(&format!("/admin/reports/{id}"), &[]).await?;
                println!("{}", serde_json::to_string_pretty(&report)?);
                Ok(())
            }
            ReportCommand::Resolve { id, note, server } => {
                let api = AdminApi::connect(&server)?;
                let body = match note {
                    Some(note) => json!({"note": note}),
                    None => json!({}),
                };
                let report = api
                    .post(&format!("/admin/reports/{id}/resolve"), &body)
                    .await?;
                println!("{}", line(&report));
                Ok(())
            }
        }
    })
}
