//! The `binding` subresource of pods (the scheduler's one write) and the
//! `scale` subresource of deployments and replica sets (what `capstan scale`
//! and the autoscaler use; `kubectl scale` patches it).

use super::apply::Book;
use super::update::{prepare, Part};
use super::{parse_revision, Registry, Target, Write};
use crate::error::ApiError;
use capstan_proto::api::v1::{object::Kind, Object};
use capstan_proto::autoscaling::v1::{Scale, ScaleSpec, ScaleStatus};
use capstan_proto::core::v1::{Binding, PodCondition};
use capstan_proto::meta::v1::{ObjectMeta, Time};
use capstan_proto::{ObjectExt, Resource};
use capstan_selectors::LabelSelector;

impl Registry {
    /// Assigns a pod to a node, once: a pod already bound is a conflict.
    #[tracing::instrument(name = "registry.bind", skip_all, fields(pod = %target.name))]
    pub async fn bind(&self, target: &Target, binding: &Binding, write: Write<'_>) -> Result<Object, ApiError> {
        if target.info.kind != "Pod" {
            return Err(ApiError::BadRequest(format!("{} have no binding subresource", target.info.resource)));
        }
        let node = binding.target.as_ref().map(|t| t.name.clone()).unwrap_or_default();
        if node.is_empty() {
            return Err(ApiError::BadRequest("binding.target.name is required: the node to bind to".into()));
        }
        let annotations = binding.metadata.as_ref().map(|m| m.annotations.clone()).unwrap_or_default();
        let mutate = |current: &Object| {
            let mut next = current.clone();
            let Some(Kind::Pod(pod)) = &mut next.kind else {
                return Err(ApiError::Internal("stored pod is not a pod".into()));
            };
            let conflict = |reason: String| ApiError::conflict(&capstan_proto::kinds::POD, &target.name, reason);
            if pod.metadata.as_ref().is_some_and(|m| m.deletion_timestamp.is_some()) {
                return Err(conflict("the pod is being deleted".into()));
            }
            let spec = pod.spec.get_or_insert_with(Default::default);
            if !spec.node_name.is_empty() {
                return Err(conflict(format!("pod {} is already assigned to node {:?}", target.name, spec.node_name)));
            }
            spec.node_name = node.clone();
            pod.metadata_mut().annotations.extend(annotations.clone());
            let status = pod.status.get_or_insert_with(Default::default);
            status.conditions.retain(|c| c.r#type != "PodScheduled");
            status.conditions.push(PodCondition {
                r#type: "PodScheduled".into(),
                status: "True".into(),
                last_transition_time: Some(Time::now()),
                ..Default::default()
            });
            Ok(next)
        };
        let precondition =
            parse_revision(binding.metadata.as_ref().map(|m| m.resource_version.as_str()).unwrap_or(""))?;
        self.guarded_update(target, precondition, write, Book::Update { subresource: "binding" }, &mutate).await
    }

    pub async fn get_scale(&self, target: &Target) -> Result<Scale, ApiError> {
        scale_of(&self.get(target).await?)
    }

    #[tracing::instrument(name = "registry.scale", skip_all, fields(resource = target.info.resource, name = %target.name))]
    pub async fn update_scale(&self, target: &Target, scale: &Scale, write: Write<'_>) -> Result<Scale, ApiError> {
        let replicas = scale.spec.as_ref().map(|s| s.replicas).unwrap_or(0);
        if replicas < 0 {
            return Err(ApiError::BadRequest("spec.replicas must not be negative".into()));
        }
        let precondition = parse_revision(scale.metadata.as_ref().map(|m| m.resource_version.as_str()).unwrap_or(""))?;
        let mutate = |current: &Object| {
            let mut next = current.clone();
            match &mut next.kind {
                Some(Kind::Deployment(d)) => d.spec.get_or_insert_with(Default::default).replicas = Some(replicas),
                Some(Kind::ReplicaSet(r)) => r.spec.get_or_insert_with(Default::default).replicas = Some(replicas),
                _ => return Err(ApiError::BadRequest(format!("{} have no scale subresource", target.info.resource))),
            }
            Ok(prepare(current, &next, Part::Main))
        };
        let updated =
            self.guarded_update(target, precondition, write, Book::Update { subresource: "scale" }, &mutate).await?;
        scale_of(&updated)
    }

    /// A JSON merge patch of the Scale (`kubectl scale` sends
    /// `{"spec":{"replicas":N}}`), applied to the current Scale and written
    /// as [`Registry::update_scale`] writes one. Only a resourceVersion the
    /// patch itself names is a precondition.
    pub async fn patch_scale(
        &self,
        target: &Target,
        patch_type: &str,
        patch: &[u8],
        write: Write<'_>,
    ) -> Result<Scale, ApiError> {
        if !matches!(patch_type, "" | "application/merge-patch+json" | "merge") {
            return Err(ApiError::BadRequest(format!(
                "patch type {patch_type:?} is not supported: use application/merge-patch+json"
            )));
        }
        let patch: serde_json::Value = serde_json::from_slice(patch)
            .map_err(|e| ApiError::BadRequest(format!("the patch is not valid JSON: {e}")))?;
        let mut json = self.get_scale(target).await?.into_object().to_sparse_json();
        if let Some(meta) = json.get_mut("metadata").and_then(|m| m.as_object_mut()) {
            meta.remove("resourceVersion");
        }
        json_patch::merge(&mut json, &patch);
        let patched = capstan_proto::object::from_json("patch", json)
            .map_err(|e| ApiError::BadRequest(format!("the patched Scale is not valid: {e}")))?;
        let Some(Kind::Scale(scale)) = patched.kind else {
            return Err(ApiError::BadRequest("the patch must leave a Scale (autoscaling/v1)".into()));
        };
        self.update_scale(target, &scale, write).await
    }
}

/// The Scale view of a deployment or replica set.
fn scale_of(object: &Object) -> Result<Scale, ApiError> {
    let (spec_replicas, status_replicas, selector) = match &object.kind {
        Some(Kind::Deployment(d)) => {
            let spec = d.spec.clone().unwrap_or_default();
            (spec.replicas.unwrap_or(1), d.status.as_ref().map(|s| s.replicas).unwrap_or(0), spec.selector)
        }
        Some(Kind::ReplicaSet(r)) => {
            let spec = r.spec.clone().unwrap_or_default();
            (spec.replicas.unwrap_or(1), r.status.as_ref().map(|s| s.replicas).unwrap_or(0), spec.selector)
        }
        _ => return Err(ApiError::BadRequest(format!("{} have no scale subresource", object.kind_name()))),
    };
    let selector =
        selector.map(|s| LabelSelector::from_proto(&s).map(|s| s.to_string()).unwrap_or_default()).unwrap_or_default();
    let meta = object.meta();
    let mut scale = Scale {
        metadata: Some(ObjectMeta {
            name: meta.name.clone(),
            namespace: meta.namespace.clone(),
            uid: meta.uid.clone(),
            resource_version: meta.resource_version.clone(),
            creation_timestamp: meta.creation_timestamp,
            ..Default::default()
        }),
        spec: Some(ScaleSpec { replicas: spec_replicas }),
        status: Some(ScaleStatus { replicas: status_replicas, selector }),
        ..Default::default()
    };
    scale.set_type_meta();
    Ok(scale)
}
