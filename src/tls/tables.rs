//! The TLS module's redb tables (private to `tls`). Rows are JSON: they are few and small, and an
//! operator reading a backup can make sense of them.

use redb::TableDefinition;

/// ACME directory URL → the account's credentials (instant-acme `AccountCredentials`, JSON). Keyed
/// by directory so moving between a CA's staging and production keeps both accounts.
pub const ACCOUNTS: TableDefinition<&str, &[u8]> = TableDefinition::new("tls.accounts");

/// Certificate name (`example.com`, `alice.example.com`, `*.example.com`) → `CertRow` (JSON): the
/// chain, its private key, and when to renew it.
pub const CERTS: TableDefinition<&str, &[u8]> = TableDefinition::new("tls.certs");

/// Certificate name → `AttemptRow` (JSON): failed issuance attempts and when the next one may run.
/// A row exists only while a name is failing; a success removes it.
pub const ATTEMPTS: TableDefinition<&str, &[u8]> = TableDefinition::new("tls.attempts");
