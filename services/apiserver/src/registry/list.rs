//! List with label and field selectors and `limit`/`continue` pagination.
//!
//! Lists read the store, so a client always sees its own writes. A page is
//! filled up to `limit` matching objects; the continue token names the last
//! key returned, and the next page reads the store as it is then (Kubernetes
//! pins later pages to the first page's revision; Capstan's embedded store
//! keeps no old versions to read).

use super::{set_revision, Registry};
use crate::error::ApiError;
use crate::keys::{decode_continue, encode_continue, list_prefix};
use capstan_proto::api::v1::Object;
use capstan_proto::meta::v1::ListMeta;
use capstan_proto::object::decode_body;
use capstan_proto::{KindInfo, ObjectExt};
use capstan_selectors::{object_field, FieldSelector, LabelSelector};

/// How many keys one store read fetches while filling a filtered page.
const CHUNK: usize = 500;

#[derive(Debug, Clone, Default)]
pub struct ListParams {
    pub label_selector: String,
    pub field_selector: String,
    pub limit: i64,
    pub continue_token: String,
}

/// The label and field selectors of a list or watch, parsed once.
pub struct Filter {
    namespace: String,
    labels: LabelSelector,
    fields: FieldSelector,
}

impl Filter {
    pub fn new(
        info: &KindInfo,
        namespace: &str,
        label_selector: &str,
        field_selector: &str,
    ) -> Result<Filter, ApiError> {
        let labels = LabelSelector::parse(label_selector)
            .map_err(|e| ApiError::BadRequest(format!("unable to parse requirement: {e}")))?;
        let fields = FieldSelector::parse(field_selector)
            .map_err(|e| ApiError::BadRequest(format!("invalid field selector: {e}")))?;
        fields.validate_for(info.kind).map_err(|e| ApiError::BadRequest(e.to_string()))?;
        let namespace = if info.namespaced { namespace.to_string() } else { String::new() };
        Ok(Filter { namespace, labels, fields })
    }

    pub fn matches(&self, object: &Object) -> bool {
        let meta = object.meta();
        (self.namespace.is_empty() || meta.namespace == self.namespace)
            && self.labels.matches(&meta.labels)
            && self.fields.matches(&|field| object_field(object, field))
    }
}

impl Registry {
    #[tracing::instrument(name = "registry.list", skip_all, fields(resource = info.resource, namespace))]
    pub async fn list(
        &self,
        info: &'static KindInfo,
        namespace: &str,
        params: &ListParams,
    ) -> Result<(Vec<Object>, ListMeta), ApiError> {
        let filter = Filter::new(info, namespace, &params.label_selector, &params.field_selector)?;
        let prefix = list_prefix(info, namespace);
        let mut start_after = if params.continue_token.is_empty() {
            None
        } else {
            Some(decode_continue(&params.continue_token, &prefix)?)
        };
        let limit = usize::try_from(params.limit.max(0)).unwrap_or(usize::MAX);
        let mut items = Vec::new();
        let mut revision = None;
        let mut last_key = None;
        loop {
            let chunk = if limit == 0 { 0 } else { CHUNK.max(limit) };
            let page = self
                .store
                .list(&prefix, start_after.as_deref(), chunk)
                .await
                .map_err(|e| ApiError::from_store(e, info, ""))?;
            revision.get_or_insert(page.revision);
            let mut cut_short = false;
            for kv in &page.items {
                if limit != 0 && items.len() == limit {
                    cut_short = true;
                    break;
                }
                let mut object = decode_body(info, &kv.value).map_err(|e| ApiError::Internal(e.to_string()))?;
                set_revision(&mut object, kv.mod_revision);
                last_key = Some(kv.key.clone());
                if filter.matches(&object) {
                    items.push(object);
                }
            }
            let more = cut_short || page.more;
            if !more || (limit != 0 && items.len() == limit) {
                let revision = revision.unwrap_or(0);
                let continue_token = match (more, &last_key) {
                    (true, Some(key)) => encode_continue(key, revision),
                    _ => String::new(),
                };
                let meta = ListMeta {
                    resource_version: revision.to_string(),
                    r#continue: continue_token,
                    ..Default::default()
                };
                return Ok((items, meta));
            }
            start_after = last_key.clone();
        }
    }
}
