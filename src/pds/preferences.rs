//! `app.bsky.actor.getPreferences` / `putPreferences`: the account's app preferences, stored on the
//! PDS.
//!
//! Behaviour follows the reference: every preference has a `$type` in the `app.bsky` namespace;
//! `personalDetailsPref` is visible and writable only with a full session; `declaredAgePref` is
//! computed on read (from a birth date) and dropped on write; a put replaces the preferences the
//! caller may see and keeps the others.

use redb::TableDefinition;
use serde_json::{Value, json};

use super::{Pds, PdsError};
use crate::core::syntax::Did;
use crate::store::{Reads, StoreError, WriteTransaction};

/// did → preferences JSON (array of preference objects).
const PREFERENCES: TableDefinition<&str, &[u8]> = TableDefinition::new("pds.preferences");

const PERSONAL_DETAILS: &str = "app.bsky.actor.defs#personalDetailsPref";
const DECLARED_AGE: &str = "app.bsky.actor.defs#declaredAgePref";
/// Largest stored preferences document.
const MAX_PREFERENCES_LEN: usize = 100 * 1024;

fn type_of(pref: &Value) -> Option<&str> {
    pref.get("$type").and_then(Value::as_str)
}

/// Whole years between a `YYYY-MM-DD…` birth date and `today` (`YYYY-MM-DD`).
fn age_on(birth: &str, today: &str) -> Option<i64> {
    let parse = |s: &str| -> Option<(i64, i64, i64)> {
        let d = s.get(0..10)?;
        Some((
            d.get(0..4)?.parse().ok()?,
            d.get(5..7)?.parse().ok()?,
            d.get(8..10)?.parse().ok()?,
        ))
    };
    let (by, bm, bd) = parse(birth)?;
    let (ty, tm, td) = parse(today)?;
    let mut age = ty - by;
    if (tm, td) < (bm, bd) {
        age -= 1;
    }
    Some(age)
}

impl Pds {
    async fn stored_preferences(&self, did: &Did) -> Result<Vec<Value>, PdsError> {
        let did = did.clone();
        self.store()
            .read(move |txn| {
                let Some(table) = txn.table(PREFERENCES)? else {
                    return Ok(Vec::new());
                };
                match table.get(did.as_str())? {
                    None => Ok(Vec::new()),
                    Some(bytes) => serde_json::from_slice(bytes.value())
                        .map_err(|e| PdsError::Internal(format!("stored preferences: {e}"))),
                }
            })
            .await
    }

    /// The preferences the caller may see.
    pub async fn get_preferences(
        &self,
        did: &Did,
        full_access: bool,
    ) -> Result<Vec<Value>, PdsError> {
        let stored = self.stored_preferences(did).await?;
        let today = self.clock().now_datetime();
        let mut out: Vec<Value> = Vec::with_capacity(stored.len() + 1);
        let mut declared = None;
        for pref in stored {
            if type_of(&pref) == Some(PERSONAL_DETAILS) {
                if let Some(age) = pref
                    .get("birthDate")
                    .and_then(Value::as_str)
                    .and_then(|b| age_on(b, &today))
                {
                    declared = Some(json!({
                        "$type": DECLARED_AGE,
                        "isOverAge13": age >= 13,
                        "isOverAge16": age >= 16,
                        "isOverAge18": age >= 18,
                    }));
                }
                if !full_access {
                    continue;
                }
            }
            out.push(pref);
        }
        out.extend(declared);
        Ok(out)
    }

    /// Replaces the preferences the caller may see.
    pub async fn put_preferences(
        &self,
        did: &Did,
        preferences: Vec<Value>,
        full_access: bool,
    ) -> Result<(), PdsError> {
        let mut kept: Vec<Value> = Vec::new();
        for pref in &preferences {
            let Some(kind) = type_of(pref) else {
                return Err(PdsError::InvalidRequest(
                    "Preference is missing a $type".into(),
                ));
            };
            if kind != "app.bsky" && !kind.starts_with("app.bsky.") {
                return Err(PdsError::InvalidRequest(
                    "Some preferences are not in the app.bsky namespace".into(),
                ));
            }
            if kind == PERSONAL_DETAILS && !full_access {
                return Err(PdsError::InvalidRequest(format!(
                    "Do not have authorization to set preferences: {PERSONAL_DETAILS}"
                )));
            }
        }
        if !full_access {
            // Keep what this caller cannot see.
            kept = self
                .stored_preferences(did)
                .await?
                .into_iter()
                .filter(|p| type_of(p) == Some(PERSONAL_DETAILS))
                .collect();
        }
        kept.extend(
            preferences
                .into_iter()
                .filter(|p| type_of(p) != Some(DECLARED_AGE)),
        );
        let bytes = serde_json::to_vec(&kept).map_err(|e| PdsError::Internal(e.to_string()))?;
        if bytes.len() > MAX_PREFERENCES_LEN {
            return Err(PdsError::InvalidRequest("Preferences are too large".into()));
        }
        let did = did.clone();
        self.store()
            .write(move |txn| {
                txn.open_table(PREFERENCES)?
                    .insert(did.as_str(), bytes.as_slice())?;
                Ok(Ok::<_, PdsError>(()))
            })
            .await
    }
}

/// Removes `did`'s preferences (a deleted account).
pub(super) fn purge(txn: &WriteTransaction, did: &str) -> Result<(), StoreError> {
    txn.open_table(PREFERENCES)?.remove(did)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::age_on;

    #[test]
    fn ages() {
        assert_eq!(age_on("2000-06-15", "2026-06-14"), Some(25));
        assert_eq!(age_on("2000-06-15T00:00:00.000Z", "2026-06-15"), Some(26));
        assert_eq!(age_on("nonsense", "2026-06-15"), None);
    }
}
