//! Schema documents the parser must accept or refuse, one line each.

use serde_json::{Value as Json, json};

use super::super::{Def, Field, Lxm, Permission, RepoAction, RpcAudience};
use super::{doc, main_doc, parse};
use crate::core::syntax::RecordKeyType;

/// Asserts that `json` is refused with a message containing `needle`.
fn refused(json: &Json, needle: &str) {
    match parse(json) {
        Ok(doc) => panic!("accepted {json}: {doc:?}"),
        Err(e) => assert!(e.contains(needle), "{e:?} does not mention {needle:?}"),
    }
}

fn accepted(json: &Json) -> super::super::LexiconDoc {
    parse(json).unwrap_or_else(|e| panic!("refused {json}: {e}"))
}

/// A document whose `defs.x` is `def`.
fn def_doc(def: Json) -> Json {
    doc(json!({ "x": def }))
}

/// A document whose `defs.x` is an object with one property `p` of schema `field`.
fn field_doc(field: Json) -> Json {
    def_doc(json!({"type": "object", "properties": {"p": field}}))
}

#[test]
fn document_level_rules() {
    refused(&json!([1]), "must be an object");
    refused(
        &json!({"lexicon": 1, "defs": {"a": {"type": "token"}}}),
        "id: is required",
    );
    refused(
        &json!({"lexicon": 1, "id": 2, "defs": {}}),
        "id: must be a string",
    );
    refused(
        &json!({"lexicon": 1, "id": "one-two", "defs": {}}),
        "valid nsid",
    );
    refused(&json!({"lexicon": 2, "id": "a.b.c", "defs": {}}), "version");
    refused(
        &json!({"lexicon": "1", "id": "a.b.c", "defs": {}}),
        "lexicon",
    );
    refused(&json!({"id": "a.b.c", "defs": {}}), "lexicon");
    refused(&json!({"lexicon": 1, "id": "a.b.c"}), "defs: is required");
    refused(
        &json!({"lexicon": 1, "id": "a.b.c", "defs": {}}),
        "at least one",
    );
    refused(
        &json!({"lexicon": 1, "id": "a.b.c", "defs": []}),
        "defs: must be an object",
    );
    let token = json!({"type": "token"});
    refused(&doc(json!({ "a.b": token })), "definition name");
    refused(&doc(json!({ "a#b": token })), "definition name");
    refused(&doc(json!({ "": token })), "definition name");
    let mut with_revision = doc(json!({ "a": token }));
    with_revision["revision"] = json!("two");
    refused(&with_revision, "revision");
    with_revision["revision"] = json!(3);
    assert_eq!(accepted(&with_revision).revision(), Some(3));
    let mut float_version = doc(json!({ "a": token }));
    float_version["lexicon"] = json!(1.0);
    accepted(&float_version);
    float_version["description"] = json!(5);
    refused(&float_version, "description: must be a string");
}

#[test]
fn which_types_may_be_named_definitions() {
    for primary in [
        json!({"type": "record", "key": "tid", "record": {"type": "object", "properties": {}}}),
        json!({"type": "query"}),
        json!({"type": "procedure"}),
        json!({"type": "subscription", "message": {"schema": {"type": "union", "refs": []}}}),
        json!({"type": "permission-set", "permissions": []}),
    ] {
        assert!(
            accepted(&main_doc(primary.clone()))
                .main()
                .unwrap()
                .is_primary()
        );
        refused(&def_doc(primary), "must be named \"main\"");
    }
    for not_definable in ["unknown", "null", "params", "permission"] {
        refused(
            &def_doc(json!({ "type": not_definable })),
            "named definition",
        );
    }
    refused(
        &def_doc(json!({"type": "ref", "ref": "#y"})),
        "named definition",
    );
    refused(
        &def_doc(json!({"type": "union", "refs": []})),
        "named definition",
    );
    refused(&def_doc(json!({"type": "float"})), "unknown schema type");
    refused(
        &def_doc(json!({"description": "no type"})),
        "type: is required",
    );
    refused(&def_doc(json!({"type": 5})), "type: must be a string");
    refused(&def_doc(json!("token")), "must be an object");
    for definable in [
        "token", "boolean", "integer", "string", "bytes", "cid-link", "blob",
    ] {
        let parsed = accepted(&def_doc(json!({ "type": definable })));
        assert_eq!(parsed.def("x").unwrap().type_name(), definable);
    }
    accepted(&def_doc(
        json!({"type": "array", "items": {"type": "string"}}),
    ));
    accepted(&main_doc(json!({"type": "string", "format": "did"})));
}

#[test]
fn field_constraints() {
    accepted(&field_doc(
        json!({"type": "integer", "minimum": 1, "maximum": 1}),
    ));
    refused(
        &field_doc(json!({"type": "integer", "minimum": 2, "maximum": 1})),
        "maximum must not be less",
    );
    refused(
        &field_doc(json!({"type": "integer", "minimum": 1.5})),
        "minimum: must be an integer",
    );
    refused(
        &field_doc(json!({"type": "integer", "default": 1, "const": 1})),
        "mutually exclusive",
    );
    refused(
        &field_doc(json!({"type": "integer", "default": 3, "enum": [1, 2]})),
        "default: does not satisfy",
    );
    refused(
        &field_doc(json!({"type": "integer", "const": 30, "maximum": 20})),
        "const: does not satisfy",
    );
    refused(
        &field_doc(json!({"type": "integer", "enum": [1, "2"]})),
        "array of integers",
    );
    refused(
        &field_doc(json!({"type": "boolean", "default": true, "const": true})),
        "mutually exclusive",
    );
    refused(
        &field_doc(json!({"type": "boolean", "default": "yes"})),
        "must be a boolean",
    );
    refused(
        &field_doc(json!({"type": "string", "format": "email"})),
        "unknown string format",
    );
    refused(
        &field_doc(json!({"type": "string", "maxLength": -1})),
        "must not be negative",
    );
    refused(
        &field_doc(json!({"type": "string", "minGraphemes": 3, "maxGraphemes": 2})),
        "maxGraphemes",
    );
    refused(
        &field_doc(json!({"type": "string", "default": "toolong", "maxLength": 3})),
        "default: does not satisfy",
    );
    refused(
        &field_doc(json!({"type": "string", "default": "x", "format": "did"})),
        "default: does not satisfy",
    );
    refused(
        &field_doc(json!({"type": "string", "knownValues": "a"})),
        "must be an array",
    );
    accepted(&field_doc(
        json!({"type": "string", "default": "did:plc:a", "format": "did"}),
    ));
    refused(
        &field_doc(json!({"type": "bytes", "minLength": 5, "maxLength": 4})),
        "maxLength",
    );
    refused(
        &field_doc(json!({"type": "blob", "accept": ["*"]})),
        "accept",
    );
    refused(
        &field_doc(json!({"type": "blob", "accept": ["text/ht*"]})),
        "partial globs",
    );
    refused(
        &field_doc(json!({"type": "blob", "accept": [5]})),
        "array of strings",
    );
    refused(
        &field_doc(json!({"type": "blob", "maxSize": 0})),
        "greater than zero",
    );
    accepted(&field_doc(
        json!({"type": "blob", "accept": ["image/*", "*/*", "video/mp4"], "maxSize": 1}),
    ));
    refused(&field_doc(json!({"type": "array"})), "items: is required");
    refused(
        &field_doc(json!({"type": "array", "items": {"type": "token"}})),
        "named definition",
    );
    refused(
        &field_doc(
            json!({"type": "array", "items": {"type": "integer"}, "minLength": 3, "maxLength": 2}),
        ),
        "maxLength",
    );
    refused(&field_doc(json!({"type": "ref"})), "ref: is required");
    refused(
        &field_doc(json!({"type": "ref", "ref": "not-an-nsid"})),
        "valid nsid",
    );
    refused(
        &field_doc(json!({"type": "ref", "ref": "com.example.a#b#c"})),
        "definition name",
    );
    refused(
        &field_doc(json!({"type": "union", "refs": [], "closed": true})),
        "closed union",
    );
    refused(
        &field_doc(json!({"type": "union", "refs": ["#a", 5]})),
        "array of strings",
    );
    refused(&field_doc(json!({"type": "union"})), "refs: is required");
    refused(&field_doc(json!({"type": "record"})), "\"main\" definition");
    refused(
        &field_doc(json!({"type": "params"})),
        "parameters of an endpoint",
    );
    refused(&field_doc(json!({"type": "permission"})), "permission set");
    refused(
        &field_doc(json!({"type": "integer", "description": 1})),
        "description",
    );
    accepted(&field_doc(json!({"type": "null"})));
    accepted(&field_doc(json!({"type": "union", "refs": []})));
}

#[test]
fn objects_and_params() {
    let object = |extra: Json| {
        let mut o = json!({"type": "object", "properties": {"a": {"type": "string"}}});
        o.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        def_doc(o)
    };
    accepted(&object(json!({"required": ["a"], "nullable": ["a"]})));
    refused(&object(json!({"required": ["b"]})), "required: names \"b\"");
    refused(&object(json!({"nullable": ["b"]})), "nullable: names \"b\"");
    refused(
        &object(json!({"properties": []})),
        "properties: must be an object",
    );
    refused(
        &def_doc(json!({"type": "object", "properties": {"": {"type": "string"}}})),
        "property name",
    );
    accepted(&def_doc(json!({"type": "object"})));
    let parsed = accepted(&object(json!({"required": ["a"]})));
    let Some(Def::Field(Field::Object(o))) = parsed.def("x") else {
        panic!("not an object")
    };
    assert!(o.properties[0].required && !o.properties[0].nullable);

    let query = |params: Json| main_doc(json!({"type": "query", "parameters": params}));
    let params = |props: Json| query(json!({"type": "params", "properties": props}));
    accepted(&params(
        json!({"a": {"type": "string"}, "b": {"type": "array", "items": {"type": "integer"}}, "c": {"type": "unknown"}}),
    ));
    refused(
        &params(json!({"a": {"type": "object"}})),
        "parameter must be",
    );
    refused(
        &params(json!({"a": {"type": "array", "items": {"type": "ref", "ref": "#x"}}})),
        "parameter must be",
    );
    refused(
        &params(json!({"a": {"type": "bytes"}})),
        "parameter must be",
    );
    refused(
        &query(json!({"type": "object", "properties": {}})),
        "\"params\"",
    );
    refused(
        &query(json!({"type": "params", "required": ["zz"], "properties": {}})),
        "required: names",
    );
}

#[test]
fn endpoints_and_records() {
    let body = |schema: Json| {
        main_doc(
            json!({"type": "procedure", "input": {"encoding": "application/json", "schema": schema}}),
        )
    };
    accepted(&body(json!({"type": "object"})));
    accepted(&body(json!({"type": "ref", "ref": "#view"})));
    accepted(&body(json!({"type": "union", "refs": ["#view"]})));
    refused(&body(json!({"type": "string"})), "body schema");
    refused(
        &main_doc(json!({"type": "procedure", "input": {"schema": {"type": "object"}}})),
        "encoding",
    );
    refused(
        &main_doc(json!({"type": "query", "errors": [{"name": "Has Space"}]})),
        "no whitespace",
    );
    refused(&main_doc(json!({"type": "query", "errors": [{}]})), "name");
    refused(
        &main_doc(json!({"type": "subscription"})),
        "message: is required",
    );
    refused(
        &main_doc(json!({"type": "subscription", "message": {"schema": {"type": "object"}}})),
        "must be a union",
    );

    let record =
        |key: Json, record: Json| main_doc(json!({"type": "record", "key": key, "record": record}));
    let object = json!({"type": "object", "properties": {}});
    let parsed = accepted(&record(json!("literal:self"), object.clone()));
    let Some(Def::Record(r)) = parsed.main() else {
        panic!()
    };
    assert_eq!(r.key, RecordKeyType::Literal("self".into()));
    refused(&record(json!("self"), object.clone()), "key");
    refused(&record(json!("literal:"), object.clone()), "key");
    refused(
        &main_doc(json!({"type": "record", "record": object})),
        "key: is required",
    );
    refused(
        &record(json!("tid"), json!({"properties": {}})),
        "type \"object\"",
    );
    refused(
        &record(
            json!("tid"),
            json!({"type": "array", "items": {"type": "string"}}),
        ),
        "type \"object\"",
    );
    refused(
        &main_doc(json!({"type": "record", "key": "tid"})),
        "record: is required",
    );
}

#[test]
fn permission_sets() {
    let set =
        |permission: Json| main_doc(json!({"type": "permission-set", "permissions": [permission]}));
    let parsed = accepted(&set(
        json!({"type": "permission", "resource": "repo", "collection": ["com.example.a"]}),
    ));
    let Some(Def::PermissionSet(p)) = parsed.main() else {
        panic!()
    };
    let Permission::Repo(repo) = &p.permissions[0] else {
        panic!()
    };
    assert_eq!(repo.actions, RepoAction::ALL);
    let parsed = accepted(&set(
        json!({"type": "permission", "resource": "rpc", "lxm": ["*"], "inheritAud": true}),
    ));
    let Some(Def::PermissionSet(p)) = parsed.main() else {
        panic!()
    };
    let Permission::Rpc(rpc) = &p.permissions[0] else {
        panic!()
    };
    assert_eq!(
        (rpc.lxm.as_slice(), rpc.audience),
        ([Lxm::Any].as_slice(), RpcAudience::Inherit)
    );
    let parsed = accepted(&set(
        json!({"type": "permission", "resource": "blob", "accept": ["image/*"]}),
    ));
    let Some(Def::PermissionSet(p)) = parsed.main() else {
        panic!()
    };
    assert!(matches!(&p.permissions[0], Permission::Other { resource, .. } if resource == "blob"));

    refused(
        &set(json!({"type": "permission", "resource": "repo", "collection": []})),
        "collection",
    );
    refused(
        &set(json!({"type": "permission", "resource": "repo", "collection": ["*"]})),
        "wildcard",
    );
    refused(
        &set(json!({"type": "permission", "resource": "repo", "collection": ["a.b.c", "a.b.c"]})),
        "twice",
    );
    refused(
        &set(
            json!({"type": "permission", "resource": "repo", "collection": ["a.b.c"], "action": ["read"]}),
        ),
        "create, update, delete",
    );
    refused(
        &set(json!({"type": "permission", "resource": "rpc", "lxm": ["a.b.c"]})),
        "exactly one",
    );
    refused(
        &set(
            json!({"type": "permission", "resource": "rpc", "lxm": ["a.b.c"], "aud": "*", "inheritAud": true}),
        ),
        "exactly one",
    );
    refused(
        &set(
            json!({"type": "permission", "resource": "rpc", "lxm": ["a.b.c"], "aud": "did:web:x.com"}),
        ),
        "fixed service",
    );
    refused(
        &set(json!({"type": "permission", "resource": "rpc", "lxm": ["*"], "aud": "*"})),
        "both be wildcards",
    );
    refused(
        &set(json!({"type": "permission", "resource": "rpc", "lxm": []})),
        "lxm",
    );
    refused(
        &set(json!({"type": "permission", "resource": ""})),
        "resource",
    );
    refused(
        &set(json!({"type": "permit", "resource": "repo"})),
        "\"permission\"",
    );
    refused(
        &set(json!({"type": "permission", "resource": "x", "f": {"a": 1}})),
        "f: must be a string",
    );
    refused(
        &set(json!({"type": "permission", "resource": "x", "f": 1.5})),
        "f: must be a string",
    );
    refused(
        &main_doc(json!({"type": "permission-set"})),
        "permissions: is required",
    );
    refused(
        &main_doc(
            json!({"type": "permission-set", "permissions": [], "title:lang": {"not a tag": "x"}}),
        ),
        "language tag",
    );
    refused(
        &main_doc(json!({"type": "permission-set", "permissions": [], "detail:lang": {"fr": 1}})),
        "strings",
    );
}

#[test]
fn error_messages_name_the_document_and_path() {
    let err = parse(&field_doc(json!({"type": "string", "maxLength": "x"}))).unwrap_err();
    assert_eq!(
        err,
        "invalid lexicon com.example.test: defs/x/properties/p/maxLength: must be an integer"
    );
    let err = parse(&json!({"lexicon": 1, "id": "bad", "defs": {}})).unwrap_err();
    assert!(
        err.starts_with("invalid lexicon ?: id: must be a valid nsid"),
        "{err}"
    );
}

#[test]
fn deep_nesting_is_refused_not_overflowed() {
    let mut field = json!({"type": "string"});
    for _ in 0..100 {
        field = json!({"type": "array", "items": field});
    }
    refused(&field_doc(field), "nests deeper");
}
