//! Views of records that appear as cards: lists (`listViewBasic`, `listView`), feed generators
//! (`generatorView`), starter packs (`starterPackViewBasic`, `starterPackView`), labeler services
//! (`labelerView`), and threadgates (`threadgateView`).

use serde_json::{Map, Value as Json, json};

use super::{Ctx, datetime, put, self_labels};
use crate::appview::AppviewError;
use crate::appview::kind::Kind;
use crate::appview::read;
use crate::appview::records;
use crate::appview::rows::{self, GeneratorRow, ListRow, RecordRow, RefRow, StarterPackRow};
use crate::core::data;

/// Members shown in a starter pack's sample.
const STARTER_PACK_SAMPLE: usize = 12;

fn record_json(bytes: &[u8]) -> Json {
    data::decode_value(bytes)
        .map(|v| data::to_json(&v))
        .unwrap_or(Json::Null)
}

impl Ctx<'_> {
    fn list_row(&self, list: &RefRow) -> Result<Option<ListRow>, AppviewError> {
        Ok(self
            .t
            .lists
            .table()?
            .get((list.actor, list.rkey.as_str()))?
            .map(|v| rows::decode(v.value()))
            .transpose()?)
    }

    fn list_fields(
        &self,
        list: &RefRow,
        row: &ListRow,
    ) -> Result<Option<Map<String, Json>>, AppviewError> {
        let Some(owner) = self.visible_actor(list.actor)? else {
            return Ok(None);
        };
        let uri = format!("at://{}/{}/{}", owner.row.did, records::LIST, list.rkey);
        let record = data::decode_value(&row.record).ok();
        let mut labels = self.labels_on(&uri)?;
        if self.record_taken_down(&uri, &labels)? {
            return Ok(None);
        }
        if let Some(record) = &record {
            labels.extend(self_labels(
                &owner.row.did,
                &uri,
                &row.cid,
                &records::self_labels(record),
                &datetime(row.sort_at),
            ));
        }
        let count = read::subject_counts(self.t, Kind::List, list.actor, &list.rkey)?;
        let mut out = Map::new();
        out.insert("uri".into(), json!(uri));
        out.insert("cid".into(), json!(row.cid.to_string()));
        out.insert("name".into(), json!(row.name));
        out.insert("purpose".into(), json!(row.purpose));
        if let Some(avatar) = record
            .as_ref()
            .and_then(|r| r.get("avatar"))
            .and_then(|a| data::BlobRef::from_value(a).ok())
        {
            out.insert(
                "avatar".into(),
                json!(self.blob_url(&owner.row, &avatar.cid)),
            );
        }
        out.insert("listItemCount".into(), json!(count.0[rows::LIST_ITEMS]));
        out.insert("labels".into(), Json::Array(labels));
        if let Some(viewer) = &self.viewer {
            let muted = self
                .t
                .list_mutes
                .table()?
                .get((viewer.id, list.actor, list.rkey.as_str()))?
                .is_some();
            let mut state = Map::new();
            state.insert("muted".into(), json!(muted));
            if let Some(rkey) = self.t.actor_list_blocks.table()?.get((
                viewer.id,
                list.actor,
                list.rkey.as_str(),
            ))? {
                state.insert(
                    "blocked".into(),
                    json!(format!(
                        "at://{}/{}/{}",
                        viewer.did,
                        records::LIST_BLOCK,
                        rkey.value()
                    )),
                );
            }
            out.insert("viewer".into(), Json::Object(state));
        }
        out.insert("indexedAt".into(), json!(datetime(row.sort_at)));
        Ok(Some(out))
    }

    /// `listViewBasic`.
    pub fn list_basic(&self, list: &RefRow) -> Result<Option<Json>, AppviewError> {
        let Some(row) = self.list_row(list)? else {
            return Ok(None);
        };
        Ok(self.list_fields(list, &row)?.map(Json::Object))
    }

    /// `listView`.
    pub fn list_view(&self, list: &RefRow) -> Result<Option<Json>, AppviewError> {
        let Some(row) = self.list_row(list)? else {
            return Ok(None);
        };
        let Some(mut out) = self.list_fields(list, &row)? else {
            return Ok(None);
        };
        let Some(creator) = self.profile_view(list.actor)? else {
            return Ok(None);
        };
        out.insert("creator".into(), creator);
        if let Ok(record) = data::decode_value(&row.record) {
            if let Some(d) = record.get("description").and_then(|d| d.as_str()) {
                out.insert("description".into(), json!(d));
            }
            if let Some(f) = record.get("descriptionFacets") {
                out.insert("descriptionFacets".into(), data::to_json(f));
            }
        }
        Ok(Some(Json::Object(out)))
    }

    /// `generatorView`.
    pub fn generator_view(&self, generator: &RefRow) -> Result<Option<Json>, AppviewError> {
        let Some(row) = self
            .t
            .generators
            .table()?
            .get((generator.actor, generator.rkey.as_str()))?
            .map(|v| rows::decode::<GeneratorRow>(v.value()))
            .transpose()?
        else {
            return Ok(None);
        };
        let Some(creator) = self.profile_view(generator.actor)? else {
            return Ok(None);
        };
        let Some(owner) = self.visible_actor(generator.actor)? else {
            return Ok(None);
        };
        let uri = format!(
            "at://{}/{}/{}",
            owner.row.did,
            records::GENERATOR,
            generator.rkey
        );
        let labels = self.labels_on(&uri)?;
        if self.record_taken_down(&uri, &labels)? {
            return Ok(None);
        }
        let record = data::decode_value(&row.record).ok();
        let field = |k: &str| record.as_ref().and_then(|r| r.get(k));
        let counts =
            read::subject_counts(self.t, Kind::Generator, generator.actor, &generator.rkey)?;
        let mut out = Map::new();
        out.insert("uri".into(), json!(uri));
        out.insert("cid".into(), json!(row.cid.to_string()));
        out.insert("did".into(), json!(row.service));
        out.insert("creator".into(), creator);
        out.insert(
            "displayName".into(),
            json!(
                field("displayName")
                    .and_then(|v| v.as_str())
                    .unwrap_or_default()
            ),
        );
        put(
            &mut out,
            "description",
            field("description")
                .and_then(|v| v.as_str())
                .map(str::to_owned),
        );
        put(
            &mut out,
            "descriptionFacets",
            field("descriptionFacets").map(data::to_json),
        );
        if let Some(avatar) = field("avatar").and_then(|a| data::BlobRef::from_value(a).ok()) {
            out.insert(
                "avatar".into(),
                json!(self.blob_url(&owner.row, &avatar.cid)),
            );
        }
        out.insert("likeCount".into(), json!(counts.0[rows::LIKES]));
        put(
            &mut out,
            "acceptsInteractions",
            field("acceptsInteractions").and_then(|v| match v {
                data::Value::Bool(b) => Some(*b),
                _ => None,
            }),
        );
        put(
            &mut out,
            "contentMode",
            field("contentMode")
                .and_then(|v| v.as_str())
                .map(str::to_owned),
        );
        out.insert("labels".into(), Json::Array(labels));
        if let Some(viewer) = &self.viewer {
            let mut state = Map::new();
            if let Some(rkey) = self.t.like_of.table()?.get((
                Kind::Generator.byte(),
                generator.actor,
                generator.rkey.as_str(),
                viewer.id,
            ))? {
                state.insert(
                    "like".into(),
                    json!(format!(
                        "at://{}/{}/{}",
                        viewer.did,
                        records::LIKE,
                        rkey.value()
                    )),
                );
            }
            out.insert("viewer".into(), Json::Object(state));
        }
        out.insert("indexedAt".into(), json!(datetime(row.sort_at)));
        Ok(Some(Json::Object(out)))
    }

    fn starter_pack_row(&self, pack: &RefRow) -> Result<Option<StarterPackRow>, AppviewError> {
        Ok(self
            .t
            .starter_packs
            .table()?
            .get((pack.actor, pack.rkey.as_str()))?
            .map(|v| rows::decode(v.value()))
            .transpose()?)
    }

    fn starter_pack_fields(
        &self,
        pack: &RefRow,
        row: &StarterPackRow,
    ) -> Result<Option<Map<String, Json>>, AppviewError> {
        let Some(creator) = self.profile_basic(pack.actor)? else {
            return Ok(None);
        };
        let Some(did) = read::did_of(self.t, pack.actor)? else {
            return Ok(None);
        };
        let uri = format!("at://{did}/{}/{}", records::STARTER_PACK, pack.rkey);
        let labels = self.labels_on(&uri)?;
        if self.record_taken_down(&uri, &labels)? {
            return Ok(None);
        }
        let mut out = Map::new();
        out.insert("uri".into(), json!(uri));
        out.insert("cid".into(), json!(row.cid.to_string()));
        out.insert("record".into(), record_json(&row.record));
        out.insert("creator".into(), creator);
        out.insert("joinedAllTimeCount".into(), json!(0));
        out.insert("joinedWeekCount".into(), json!(0));
        out.insert("labels".into(), Json::Array(labels));
        out.insert("indexedAt".into(), json!(datetime(row.sort_at)));
        Ok(Some(out))
    }

    /// `starterPackViewBasic`.
    pub fn starter_pack_basic(&self, pack: &RefRow) -> Result<Option<Json>, AppviewError> {
        let Some(row) = self.starter_pack_row(pack)? else {
            return Ok(None);
        };
        let Some(mut out) = self.starter_pack_fields(pack, &row)? else {
            return Ok(None);
        };
        let count = read::subject_counts(self.t, Kind::List, row.list.actor, &row.list.rkey)?;
        out.insert("listItemCount".into(), json!(count.0[rows::LIST_ITEMS]));
        Ok(Some(Json::Object(out)))
    }

    /// `starterPackView`: with the list, a sample of its members, and its feeds.
    pub fn starter_pack_view(&self, pack: &RefRow) -> Result<Option<Json>, AppviewError> {
        let Some(row) = self.starter_pack_row(pack)? else {
            return Ok(None);
        };
        let Some(mut out) = self.starter_pack_fields(pack, &row)? else {
            return Ok(None);
        };
        if let Some(list) = self.list_basic(&row.list)? {
            out.insert("list".into(), list);
            let owner_did = read::did_of(self.t, row.list.actor)?.unwrap_or_default();
            let mut sample = Vec::new();
            for item in self.t.list_members.table()?.range(
                (row.list.actor, row.list.rkey.as_str(), "")
                    ..=(
                        row.list.actor,
                        row.list.rkey.as_str(),
                        crate::appview::index::RKEY_MAX,
                    ),
            )? {
                let (k, v) = item?;
                let member = v.value();
                if let Some(subject) = self.profile_view(member)? {
                    let item_uri =
                        format!("at://{owner_did}/{}/{}", records::LIST_ITEM, k.value().2);
                    sample.push(json!({"uri": item_uri, "subject": subject}));
                }
                if sample.len() >= STARTER_PACK_SAMPLE {
                    break;
                }
            }
            out.insert("listItemsSample".into(), Json::Array(sample));
        }
        let mut feeds = Vec::new();
        if let Ok(record) = data::decode_value(&row.record) {
            for feed in record
                .get("feeds")
                .and_then(|f| f.as_list())
                .unwrap_or_default()
            {
                if let Some(uri) = feed.get("uri").and_then(|u| u.as_str())
                    && let Some((collection, r)) = read::ref_of_uri(self.t, uri)?
                    && collection == records::GENERATOR
                    && let Some(view) = self.generator_view(&r)?
                {
                    feeds.push(view);
                }
            }
        }
        out.insert("feeds".into(), Json::Array(feeds));
        Ok(Some(Json::Object(out)))
    }

    /// `app.bsky.labeler.defs#labelerView` (`detailed` adds the policies).
    pub fn labeler_view(&self, actor: u64, detailed: bool) -> Result<Option<Json>, AppviewError> {
        let Some(row) = self
            .t
            .labeler_services
            .table()?
            .get(actor)?
            .map(|v| rows::decode::<RecordRow>(v.value()))
            .transpose()?
        else {
            return Ok(None);
        };
        let Some(creator) = self.profile_view(actor)? else {
            return Ok(None);
        };
        let Some(did) = read::did_of(self.t, actor)? else {
            return Ok(None);
        };
        let uri = format!("at://{did}/{}/self", records::LABELER);
        let counts = read::subject_counts(self.t, Kind::Labeler, actor, "self")?;
        let mut out = Map::new();
        out.insert("uri".into(), json!(uri));
        out.insert("cid".into(), json!(row.cid.to_string()));
        out.insert("creator".into(), creator);
        out.insert("likeCount".into(), json!(counts.0[rows::LIKES]));
        if let Some(viewer) = &self.viewer {
            let mut state = Map::new();
            if let Some(rkey) =
                self.t
                    .like_of
                    .table()?
                    .get((Kind::Labeler.byte(), actor, "self", viewer.id))?
            {
                state.insert(
                    "like".into(),
                    json!(format!(
                        "at://{}/{}/{}",
                        viewer.did,
                        records::LIKE,
                        rkey.value()
                    )),
                );
            }
            out.insert("viewer".into(), Json::Object(state));
        }
        out.insert("indexedAt".into(), json!(datetime(row.sort_at)));
        out.insert("labels".into(), Json::Array(self.labels_on(&uri)?));
        if detailed {
            let record = data::decode_value(&row.record).ok();
            let policies = record
                .as_ref()
                .and_then(|r| r.get("policies"))
                .map(data::to_json)
                .unwrap_or_else(|| json!({"labelValues": []}));
            out.insert("policies".into(), policies);
            for key in ["reasonTypes", "subjectTypes", "subjectCollections"] {
                if let Some(v) = record.as_ref().and_then(|r| r.get(key)) {
                    out.insert(key.into(), data::to_json(v));
                }
            }
        }
        Ok(Some(Json::Object(out)))
    }

    /// `threadgateView` of the gate on a root post, if any.
    pub fn threadgate_view(&self, post: &RefRow) -> Result<Option<Json>, AppviewError> {
        let Some(row) = self
            .t
            .threadgates
            .table()?
            .get((post.actor, post.rkey.as_str()))?
            .map(|v| rows::decode::<RecordRow>(v.value()))
            .transpose()?
        else {
            return Ok(None);
        };
        let Some(did) = read::did_of(self.t, post.actor)? else {
            return Ok(None);
        };
        let uri = format!("at://{did}/{}/{}", records::THREADGATE, post.rkey);
        let mut lists = Vec::new();
        if let Some(gate) = data::decode_value(&row.record)
            .ok()
            .and_then(|v| records::threadgate(&v))
        {
            for rule in gate.allow.unwrap_or_default() {
                if let records::GateRule::List(list) = rule
                    && let Some(owner) = read::actor_id(self.t, &list.did)?
                    && let Some(view) = self.list_basic(&RefRow {
                        actor: owner,
                        rkey: list.rkey,
                    })?
                {
                    lists.push(view);
                }
            }
        }
        Ok(Some(json!({
            "uri": uri,
            "cid": row.cid.to_string(),
            "record": record_json(&row.record),
            "lists": lists,
        })))
    }
}
