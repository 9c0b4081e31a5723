//! [`DefRef`]: a fully qualified reference to one definition (`nsid#name`), as `ref` and `union`
//! schemas hold it after loading, and as data names a type in `$type`.
//!
//! In a schema a reference is written `#name` (a definition in the same document), `nsid` (the
//! document's `main` definition) or `nsid#name`. Loading resolves the relative form against the
//! document's id, so a `DefRef` is always absolute. `nsid#main` is read as `nsid`.
//!
//! Spec: <https://atproto.com/specs/lexicon#lexicon-files>, <https://atproto.com/specs/lexicon#ref>

use std::fmt;

use crate::core::syntax::Nsid;

/// The name of the definition a bare NSID refers to.
pub const MAIN: &str = "main";

/// A reference to one definition in one schema document.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct DefRef {
    nsid: Nsid,
    name: String,
}

impl DefRef {
    /// Parses a reference as a schema writes it; `base` is the id of the document it appears in,
    /// used for the relative `#name` form (`None` where there is no enclosing document).
    pub fn parse(input: &str, base: Option<&Nsid>) -> Result<Self, &'static str> {
        let (nsid_part, name) = match input.split_once('#') {
            Some((nsid, name)) => (nsid, name),
            None if input.is_empty() => return Err("reference must not be empty"),
            None => (input, MAIN),
        };
        if !is_valid_def_name(name) {
            return Err("definition name must be non-empty and contain no '#' or '.'");
        }
        let nsid = if nsid_part.is_empty() {
            base.cloned()
                .ok_or("a relative reference needs an enclosing document")?
        } else {
            Nsid::parse(nsid_part).map_err(|_| "reference does not start with a valid nsid")?
        };
        Ok(Self {
            nsid,
            name: name.to_owned(),
        })
    }

    /// A reference to definition `name` of document `nsid`.
    pub fn new(nsid: Nsid, name: &str) -> Result<Self, &'static str> {
        if !is_valid_def_name(name) {
            return Err("definition name must be non-empty and contain no '#' or '.'");
        }
        Ok(Self {
            nsid,
            name: name.to_owned(),
        })
    }

    /// The id of the document the definition is in.
    pub fn nsid(&self) -> &Nsid {
        &self.nsid
    }

    /// The name of the definition within its document (`main` for a bare NSID).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Whether a `$type` value in data names this definition. `nsid` and `nsid#main` both name a
    /// `main` definition (the spec says data must use the bare form; the reference validator
    /// accepts both inside unions, and so does this).
    pub fn matches_type(&self, type_name: &str) -> bool {
        let (nsid, name) = type_name.split_once('#').unwrap_or((type_name, MAIN));
        nsid == self.nsid.as_str() && name == self.name
    }
}

/// Whether `name` can name a definition: non-empty, with no `#` (the fragment separator) and no
/// `.` (which would make references ambiguous with NSIDs).
pub(crate) fn is_valid_def_name(name: &str) -> bool {
    !name.is_empty() && !name.contains(['#', '.'])
}

impl fmt::Display for DefRef {
    /// The canonical form: `nsid` for `main`, `nsid#name` otherwise.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.name == MAIN {
            f.write_str(self.nsid.as_str())
        } else {
            write!(f, "{}#{}", self.nsid, self.name)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn base() -> Nsid {
        Nsid::parse("com.example.base").unwrap()
    }

    fn check(input: &str, expected: Option<&str>) {
        let parsed = DefRef::parse(input, Some(&base()))
            .ok()
            .map(|r| r.to_string());
        assert_eq!(parsed.as_deref(), expected, "{input:?}");
    }

    #[test]
    fn parse_forms() {
        check("#view", Some("com.example.base#view"));
        check("com.example.other", Some("com.example.other"));
        check("com.example.other#main", Some("com.example.other"));
        check("#main", Some("com.example.base"));
        check("com.example.other#view", Some("com.example.other#view"));
        check("", None);
        check("#", None);
        check("com.example.other#", None);
        check("com.example.other#a#b", None);
        check("com.example.other#a.b", None);
        check("lex:com.example.other", None);
        check("other", None);
        assert!(DefRef::parse("#view", None).is_err());
    }

    #[test]
    fn type_matching() {
        let main = DefRef::parse("com.example.post", None).unwrap();
        assert!(main.matches_type("com.example.post"));
        assert!(main.matches_type("com.example.post#main"));
        assert!(!main.matches_type("com.example.post#view"));
        assert!(!main.matches_type("com.example.postx"));
        let view = DefRef::parse("com.example.defs#view", None).unwrap();
        assert!(view.matches_type("com.example.defs#view"));
        assert!(!view.matches_type("com.example.defs"));
        assert!(!view.matches_type("#view"));
    }
}
