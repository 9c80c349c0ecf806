//! The vocabulary shared by authentication and authorization, on Kubernetes'
//! model (`k8s.io/apiserver/pkg/authentication/user` and
//! `.../authorization/authorizer`).
//!
//! Authentication lives in the server stack and yields a [`UserInfo`];
//! authorization takes that user and the request's [`Attributes`] and answers a
//! [`Decision`]. Keeping the types in a crate of their own, with no dependency,
//! lets the server stack, the API server's authorizers and the CLI's `auth can-i`
//! speak the same words without depending on each other; a refusal is worded
//! once, by [`forbidden_message`].
//!
//! # Invariants
//! - An authenticated user is always in [`groups::AUTHENTICATED`]; the anonymous
//!   user is only in [`groups::UNAUTHENTICATED`].
//! - An authorizer that has nothing to say answers [`Decision::NoOpinion`]; only a
//!   chain that ends without an `Allow` refuses.

mod attributes;
mod authorizer;
mod fed;
mod forbidden;
mod user;

pub use attributes::{Attributes, Verb};
pub use authorizer::{AlwaysAllow, Authorizer, Chain, Decision};
pub use fed::{Fed, Feed};
pub use forbidden::forbidden_message;
pub use user::{groups, impersonate, UserInfo, ANONYMOUS, NODE_USER_PREFIX};
