//! Why an RBAC write is refused, in Kubernetes' words.

/// The crate's one error: what an escalation check refuses.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RbacError {
    /// The writer would grant rules it does not hold (403).
    #[error(
        "{resource} {name:?} is forbidden: user {user:?} (groups={groups}) is attempting to grant RBAC permissions \
         not currently held:\n{missing}"
    )]
    Escalation { resource: String, name: String, user: String, groups: String, missing: String },
    /// A binding names a role that does not exist, and the writer may not
    /// bind it blind (404).
    #[error("{resource} {name:?} not found")]
    RoleNotFound { resource: String, name: String },
}
