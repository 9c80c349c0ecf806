//! A Deployment being reconciled, with its ReplicaSets and their pods, and
//! the writes a reconcile makes: finding or creating the new ReplicaSet,
//! scaling ReplicaSets, deleting old ones, and writing the Deployment's
//! annotations and status.
//!
//! Every write replaces the local copy with what the API server returned,
//! so later writes in the same reconcile build on it (and the Deployment's
//! pinned resourceVersion stays current).

use super::conditions::{self, FAILED_RS_CREATE, FOUND_NEW_RS, NEW_RS_CREATED, PROGRESSING};
use super::fenceposts::Params;
use super::hash::{equal_ignore_hash, pod_template_hash, POD_TEMPLATE_HASH};
use super::revision::{self, DESIRED_REPLICAS, MAX_REPLICAS};
use super::rolling;
use super::view::RsView;
use super::Controller;
use crate::error::ControllerError;
use crate::ownership::{controller_reference, is_controlled_by};
use capstan_client::{Api, DeleteParams, PropagationPolicy};
use capstan_proto::apps::v1::{Deployment, DeploymentStatus, ReplicaSet, ReplicaSetSpec};
use capstan_proto::core::v1::{Pod, PodTemplateSpec};
use capstan_proto::kinds::Resource;
use capstan_proto::meta::v1::{ObjectMeta, Time};
use capstan_runtime::events::{NORMAL, WARNING};
use std::collections::HashMap;
use std::sync::Arc;

/// One reconcile's view of a Deployment and what it owns.
pub(super) struct Rollout<'a> {
    pub controller: &'a Controller,
    pub key: &'a str,
    pub d: Deployment,
    pub params: Params,
    /// the ReplicaSets the Deployment controls
    pub sets: Vec<ReplicaSet>,
    /// pods by the uid of the ReplicaSet controlling them
    pub pods: HashMap<String, Vec<Arc<Pod>>>,
    /// which of `sets` runs the current template
    pub new: Option<usize>,
    pub now: Time,
}

impl Rollout<'_> {
    fn namespace(&self) -> &str {
        self.d.metadata.as_ref().map(|m| m.namespace.as_str()).unwrap_or("")
    }

    fn rs_api(&self) -> Api<ReplicaSet> {
        self.controller.ctx.client.api(Some(self.namespace()))
    }

    fn deployment_api(&self) -> Api<Deployment> {
        self.controller.ctx.client.api(Some(self.namespace()))
    }

    pub fn template(&self) -> PodTemplateSpec {
        self.d.spec.as_ref().and_then(|s| s.template.clone()).unwrap_or_default()
    }

    pub fn min_ready_seconds(&self) -> i32 {
        self.d.spec.as_ref().map(|s| s.min_ready_seconds).unwrap_or(0)
    }

    pub fn is_recreate(&self) -> bool {
        self.d.spec.as_ref().and_then(|s| s.strategy.as_ref()).is_some_and(|s| s.r#type == "Recreate")
    }

    /// The view of `sets[i]` with its pods.
    pub fn view(&self, i: usize) -> RsView {
        let rs = &self.sets[i];
        let pods = self.pods.get(&rs.meta().uid).map(Vec::as_slice).unwrap_or(&[]);
        RsView::new(rs, pods, self.min_ready_seconds(), self.now)
    }

    /// Views of the old ReplicaSets (all but the new one).
    pub fn old_views(&self) -> Vec<RsView> {
        (0..self.sets.len()).filter(|i| Some(*i) != self.new).map(|i| self.view(i)).collect()
    }

    pub fn new_view(&self) -> Option<RsView> {
        self.new.map(|i| self.view(i))
    }

    fn index(&self, name: &str) -> Option<usize> {
        self.sets.iter().position(|rs| rs.meta().name == name)
    }

    /// The ReplicaSet running the current template: the oldest whose
    /// template equals it but for the hash label.
    fn find_new(&self) -> Option<usize> {
        let template = self.template();
        (0..self.sets.len())
            .filter(|i| {
                let rs_template = self.sets[*i].spec.as_ref().and_then(|s| s.template.as_ref());
                rs_template.is_some_and(|t| equal_ignore_hash(t, &template))
            })
            .min_by_key(|i| {
                let meta = self.sets[*i].meta();
                let created = meta.creation_timestamp.unwrap_or_default();
                (created.seconds, created.nanos, meta.name.clone())
            })
    }

    /// Find the new ReplicaSet (creating it when `create`) and bring the
    /// revisions up to date (Kubernetes' `getAllReplicaSetsAndSyncRevision`).
    pub async fn sync_revision(&mut self, create: bool) -> Result<(), ControllerError> {
        self.new = self.find_new();
        let max_old = revision::max_revision(
            self.sets.iter().enumerate().filter(|(i, _)| Some(*i) != self.new).map(|(_, rs)| rs.meta()),
        );
        let new_revision = max_old + 1;
        let created = match self.new {
            Some(i) => {
                self.sync_new_rs(i, new_revision).await?;
                false
            }
            None if create => self.create_new_rs(new_revision).await?,
            None => return Ok(()),
        };
        let Some(i) = self.new else { return Ok(()) };
        let rs_revision = self.sets[i].meta().annotations.get(revision::REVISION).cloned().unwrap_or_default();
        let mut d = self.d.clone();
        if revision::set_deployment_revision(d.metadata_mut(), &rs_revision) {
            self.d = self
                .deployment_api()
                .update(&d)
                .await
                .map_err(ControllerError::api(format!("record revision {rs_revision} on Deployment {}", self.key)))?;
        }
        if conditions::progress_deadline(&self.d).is_some() {
            let mut status = self.d.status.clone().unwrap_or_default();
            let name = self.sets[i].meta().name.clone();
            if created {
                let message = format!("Created new replica set {name:?}");
                conditions::set(
                    &mut status,
                    conditions::new_condition(PROGRESSING, "True", NEW_RS_CREATED, message, self.now),
                );
                self.write_status(status).await?;
            } else if conditions::get(&status, PROGRESSING).is_none() {
                let message = format!("Found new replica set {name:?}");
                conditions::set(
                    &mut status,
                    conditions::new_condition(PROGRESSING, "True", FOUND_NEW_RS, message, self.now),
                );
                self.write_status(status).await?;
            }
        }
        Ok(())
    }

    /// Bring an existing new ReplicaSet's annotations (revision, the
    /// Deployment's own) and `minReadySeconds` up to date.
    async fn sync_new_rs(&mut self, i: usize, new_revision: i64) -> Result<(), ControllerError> {
        let rs = &self.sets[i];
        let mut meta = rs.meta().clone();
        let annotations_changed =
            revision::set_new_rs_annotations(self.d.meta(), &mut meta, new_revision, true, (0, 0));
        let min_ready = self.min_ready_seconds();
        let min_ready_changed = rs.spec.as_ref().map(|s| s.min_ready_seconds) != Some(min_ready);
        if !annotations_changed && !min_ready_changed {
            return Ok(());
        }
        let patch = serde_json::json!({
            "metadata": { "annotations": meta.annotations },
            "spec": { "minReadySeconds": min_ready },
        });
        let name = meta.name.clone();
        self.sets[i] = self
            .rs_api()
            .patch_merge(&name, patch)
            .await
            .map_err(ControllerError::api(format!("update revision of ReplicaSet {}/{name}", meta.namespace)))?;
        Ok(())
    }

    /// Create the ReplicaSet of the current template; true if this call
    /// created it (false: it already existed, the cache had not seen it).
    async fn create_new_rs(&mut self, new_revision: i64) -> Result<bool, ControllerError> {
        let template = self.template();
        let collisions = self.d.status.as_ref().and_then(|s| s.collision_count);
        let hash = pod_template_hash(&template, collisions);
        let rs = self.new_rs(&template, &hash, new_revision);
        let name = rs.meta().name.clone();
        let replicas = rs.spec.as_ref().and_then(|s| s.replicas).unwrap_or(0);
        match self.rs_api().create(&rs).await {
            Ok(created) => {
                if replicas > 0 {
                    let message = format!("Scaled up replica set {name} from 0 to {replicas}");
                    self.controller.recorder.emit(&self.d, NORMAL, "ScalingReplicaSet", &message).await;
                }
                self.sets.push(created);
                self.new = Some(self.sets.len() - 1);
                Ok(true)
            }
            Err(error) if error.is_already_exists() => {
                let existing = self
                    .rs_api()
                    .get(&name)
                    .await
                    .map_err(ControllerError::api(format!("read ReplicaSet {}/{name}", self.namespace())))?;
                let ours = is_controlled_by(existing.meta(), &self.d.meta().uid);
                let same = existing
                    .spec
                    .as_ref()
                    .and_then(|s| s.template.as_ref())
                    .is_some_and(|t| equal_ignore_hash(t, &template));
                if ours && same {
                    self.sets.push(existing);
                    self.new = Some(self.sets.len() - 1);
                    return Ok(false);
                }
                // A foreign ReplicaSet holds the name: another hash next time.
                let mut status = self.d.status.clone().unwrap_or_default();
                let count = status.collision_count.unwrap_or(0).saturating_add(1);
                status.collision_count = Some(count);
                self.write_status(status).await?;
                Err(ControllerError::Invalid(format!(
                    "ReplicaSet {}/{name} exists and does not belong to Deployment {}; retrying with collisionCount {count}",
                    self.namespace(),
                    self.key
                )))
            }
            Err(error) => {
                let message = format!("Failed to create new replica set {name:?}: {error}");
                if conditions::progress_deadline(&self.d).is_some() {
                    let mut status = self.d.status.clone().unwrap_or_default();
                    let condition =
                        conditions::new_condition(PROGRESSING, "False", FAILED_RS_CREATE, message.clone(), self.now);
                    conditions::set(&mut status, condition);
                    if let Err(status_error) = self.write_status(status).await {
                        tracing::debug!(key = self.key, error = %status_error, "recording the failed create");
                    }
                }
                self.controller.recorder.emit(&self.d, WARNING, "FailedCreate", &message).await;
                Err(ControllerError::Api {
                    action: format!("create ReplicaSet {}/{name}", self.namespace()),
                    source: error,
                })
            }
        }
    }

    /// The ReplicaSet for `template` with `hash`: the hash in its name,
    /// labels, selector and template; sized as the strategy allows a start.
    fn new_rs(&self, template: &PodTemplateSpec, hash: &str, new_revision: i64) -> ReplicaSet {
        let d_meta = self.d.meta();
        let mut template = template.clone();
        let template_meta = template.metadata.get_or_insert_with(ObjectMeta::default);
        template_meta.labels.insert(POD_TEMPLATE_HASH.into(), hash.into());
        let labels = template_meta.labels.clone();
        let mut selector = self.d.spec.as_ref().and_then(|s| s.selector.clone()).unwrap_or_default();
        selector.match_labels.insert(POD_TEMPLATE_HASH.into(), hash.into());
        let p = self.params;
        let replicas = if self.is_recreate() { p.replicas } else { rolling::surge_limited(&p, &self.old_views(), 0) };
        let mut meta = ObjectMeta {
            name: format!("{}-{hash}", d_meta.name),
            namespace: d_meta.namespace.clone(),
            labels,
            owner_references: vec![controller_reference(&self.d)],
            ..Default::default()
        };
        revision::set_new_rs_annotations(
            d_meta,
            &mut meta,
            new_revision,
            false,
            (p.replicas, p.replicas + p.max_surge),
        );
        ReplicaSet {
            metadata: Some(meta),
            spec: Some(ReplicaSetSpec {
                replicas: Some(replicas),
                min_ready_seconds: self.min_ready_seconds(),
                selector: Some(selector),
                template: Some(template),
            }),
            ..Default::default()
        }
    }

    /// Scale the ReplicaSet `name` to `size`, recording the Deployment's
    /// size and ceiling on it; true when its size changed.
    pub async fn scale(&mut self, name: &str, size: i32) -> Result<bool, ControllerError> {
        let Some(i) = self.index(name) else { return Ok(false) };
        let rs = &self.sets[i];
        let current = rs.spec.as_ref().and_then(|s| s.replicas).unwrap_or(1);
        let (desired, max) = (self.params.replicas, self.params.replicas + self.params.max_surge);
        let resize = current != size;
        if !resize && !revision::replicas_annotations_need_update(rs.meta(), desired, max) {
            return Ok(false);
        }
        let patch = serde_json::json!({
            "metadata": { "annotations": { DESIRED_REPLICAS: desired.to_string(), MAX_REPLICAS: max.to_string() } },
            "spec": { "replicas": size },
        });
        self.sets[i] = self
            .rs_api()
            .patch_merge(name, patch)
            .await
            .map_err(ControllerError::api(format!("scale ReplicaSet {}/{name} to {size}", self.namespace())))?;
        if resize {
            let direction = if size > current { "up" } else { "down" };
            let message = format!("Scaled {direction} replica set {name} from {current} to {size}");
            self.controller.recorder.emit(&self.d, NORMAL, "ScalingReplicaSet", &message).await;
        }
        Ok(resize)
    }

    /// Delete the old ReplicaSet `name` (history cleanup).
    pub async fn delete(&mut self, name: &str) -> Result<(), ControllerError> {
        let Some(i) = self.index(name) else { return Ok(()) };
        let uid = self.sets[i].meta().uid.clone();
        let params = DeleteParams {
            precondition_uid: Some(uid),
            propagation_policy: Some(PropagationPolicy::Background),
            ..Default::default()
        };
        tracing::info!(
            deployment = self.key,
            replica_set = name,
            "deleting old ReplicaSet beyond revisionHistoryLimit"
        );
        match self.rs_api().delete(name, &params).await {
            Ok(_) => Ok(()),
            Err(error) if error.is_not_found() => Ok(()),
            Err(error) => Err(ControllerError::Api {
                action: format!("delete ReplicaSet {}/{name}", self.namespace()),
                source: error,
            }),
        }
    }

    /// Write `status` through the status subresource if it differs.
    pub async fn write_status(&mut self, status: DeploymentStatus) -> Result<(), ControllerError> {
        if self.d.status.as_ref() == Some(&status) {
            return Ok(());
        }
        let mut d = self.d.clone();
        d.status = Some(status);
        self.d = self
            .deployment_api()
            .update_status(&d)
            .await
            .map_err(ControllerError::api(format!("update status of Deployment {}", self.key)))?;
        Ok(())
    }
}
