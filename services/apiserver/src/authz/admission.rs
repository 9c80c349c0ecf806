//! Validating admission of writes by who makes them: what the authorizers
//! cannot judge from a request's attributes because it depends on the body.
//!
//! - RBAC escalation (with `RBAC` in the modes): nobody creates or changes a
//!   Role or binding that grants more than they hold, unless granted
//!   `escalate` or `bind` (`capstan_rbac::escalation`).
//! - NodeRestriction (with `Node` in the modes): a kubelet writes only its
//!   own Node and Lease and never the `node-restriction.kubernetes.io/`
//!   labels (`capstan_node_authorizer::admission`).
//!
//! The registry calls [`Admission::admit`] with the object a write would
//! store, after defaulting, merging and validation, so a patch is judged by
//! its result and a dry run is refused exactly as the real write would be.

use crate::error::ApiError;
use capstan_auth::{Authorizer, UserInfo};
use capstan_proto::api::v1::Object;
use capstan_rbac::Rbac;
use std::sync::Arc;

/// The admission checks in force, from the authorization modes.
#[derive(Clone)]
pub struct Admission {
    /// the RBAC index, for the rules a writer holds (RBAC mode only)
    rbac: Option<Rbac>,
    /// whether kubelets' writes are restricted (Node mode only)
    node_restriction: bool,
    /// the server's whole chain: `escalate` and `bind` are asked of it, as
    /// Kubernetes asks its authorizer
    authorizer: Arc<dyn Authorizer>,
}

impl Admission {
    pub fn new(rbac: Option<Rbac>, node_restriction: bool, authorizer: Arc<dyn Authorizer>) -> Admission {
        Admission { rbac, node_restriction, authorizer }
    }

    /// No checks: a server whose modes include neither RBAC nor Node.
    pub fn none(authorizer: Arc<dyn Authorizer>) -> Admission {
        Admission::new(None, false, authorizer)
    }

    /// Judges `user`'s write of `new` over `old` (`None`: a create).
    pub fn admit(&self, user: &UserInfo, new: &Object, old: Option<&Object>) -> Result<(), ApiError> {
        if self.node_restriction {
            capstan_node_authorizer::admit(user, new, old)?;
        }
        if let Some(rbac) = &self.rbac {
            capstan_rbac::escalation::admit(rbac, self.authorizer.as_ref(), user, new, old)?;
        }
        Ok(())
    }
}
