//! Lexicon: the schema language of atproto, and validation of data against it.
//!
//! Owns the schema model ([`LexiconDoc`], [`Def`], [`Field`] and the per-type schemas), the parser
//! that turns a schema document (JSON) into that model while enforcing every rule of the schema
//! language, the [`Catalog`] that holds loaded documents and resolves references between them, and
//! validation of records, objects and XRPC bodies and parameters against the catalog.
//!
//! Schemas are parsed once, into a model whose references are already split into NSID and name,
//! whose required/nullable flags sit on each property and whose MIME patterns are pre-compiled, so
//! validating a record costs map look-ups and the checks themselves. Validation never mutates the
//! data (defaults are not filled in), never allocates on the success path except where a string
//! format check must copy the string, and builds the error path only when it fails.
//!
//! Does not do: fetching or resolving schemas over the network (`_lexicon` DNS), generic data-model
//! checks (see [`crate::core::data`]), or coercing XRPC query strings into typed values.
//! Nothing here does I/O or panics on any schema or data.
//!
//! Spec: <https://atproto.com/specs/lexicon>

mod catalog;
mod error;
mod formats;
mod mime;
mod parse;
mod permission;
mod ref_check;
mod reference;
mod schema;
mod validate;

pub use catalog::Catalog;
pub use error::{LexiconError, ValidationError, Violation};
pub use formats::StringFormat;
pub use mime::MimePattern;
pub use parse::MAX_SCHEMA_DEPTH;
pub use permission::{Lxm, Permission, RepoAction, RepoPermission, RpcAudience, RpcPermission};
pub use reference::DefRef;
pub use schema::{
    ArraySchema, BlobSchema, Body, BooleanSchema, BytesSchema, Def, Field, IntegerSchema,
    LexiconDoc, MessageSchema, ObjectSchema, ParamsSchema, PermissionSetDef, ProcedureDef,
    Property, QueryDef, RecordDef, StringSchema, SubscriptionDef, UnionSchema, XrpcErrorDef,
};
pub use validate::MAX_DEPTH as MAX_VALIDATION_DEPTH;

#[cfg(test)]
mod tests;
