//! The question every authorizer answers, and the chain that asks several in turn
//! (`--authorization-mode Node,RBAC`).

use crate::{Attributes, UserInfo};

/// An authorizer's answer. `Deny` ends the chain; `NoOpinion` passes to the next.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Decision {
    Allow,
    Deny { reason: String },
    NoOpinion,
}

impl Decision {
    pub fn is_allowed(&self) -> bool {
        matches!(self, Decision::Allow)
    }
}

/// Decides whether `user` may do what `attributes` describe. Called on every
/// request, so implementations answer from memory (an index), never from the store.
pub trait Authorizer: Send + Sync {
    fn authorize(&self, user: &UserInfo, attributes: &Attributes) -> Decision;
}

/// Allows everything: only when asked for (`--authorization-mode AlwaysAllow`).
#[derive(Clone, Copy, Debug, Default)]
pub struct AlwaysAllow;

impl Authorizer for AlwaysAllow {
    fn authorize(&self, _user: &UserInfo, _attributes: &Attributes) -> Decision {
        Decision::Allow
    }
}

/// Asks each authorizer in order: the first `Allow` or `Deny` is the answer; if all
/// have no opinion, the answer is no opinion (which the caller refuses).
#[derive(Default)]
pub struct Chain {
    authorizers: Vec<Box<dyn Authorizer>>,
}

impl Chain {
    pub fn new(authorizers: Vec<Box<dyn Authorizer>>) -> Chain {
        Chain { authorizers }
    }
}

impl Authorizer for Chain {
    fn authorize(&self, user: &UserInfo, attributes: &Attributes) -> Decision {
        for authorizer in &self.authorizers {
            match authorizer.authorize(user, attributes) {
                Decision::NoOpinion => continue,
                decided => return decided,
            }
        }
        Decision::NoOpinion
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Verb;

    struct Fixed(Decision);

    impl Authorizer for Fixed {
        fn authorize(&self, _: &UserInfo, _: &Attributes) -> Decision {
            self.0.clone()
        }
    }

    #[test]
    fn the_first_decided_answer_wins_and_an_empty_chain_has_no_opinion() {
        let user = UserInfo::anonymous();
        let attrs = Attributes::new(Verb::Get, "", "pods");
        let deny = || Box::new(Fixed(Decision::Deny { reason: "no".into() })) as Box<dyn Authorizer>;
        let none = || Box::new(Fixed(Decision::NoOpinion)) as Box<dyn Authorizer>;
        let allow = || Box::new(Fixed(Decision::Allow)) as Box<dyn Authorizer>;
        assert_eq!(Chain::new(vec![none(), allow(), deny()]).authorize(&user, &attrs), Decision::Allow);
        assert!(matches!(Chain::new(vec![deny(), allow()]).authorize(&user, &attrs), Decision::Deny { .. }));
        assert_eq!(Chain::new(vec![none()]).authorize(&user, &attrs), Decision::NoOpinion);
        assert_eq!(Chain::default().authorize(&user, &attrs), Decision::NoOpinion);
    }
}
