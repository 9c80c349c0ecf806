//! Store keys: `/registry/<resource>/<namespace>/<name>`, or
//! `/registry/<resource>/<name>` for cluster-scoped kinds, as DESIGN.md fixes
//! them; and the continue tokens of paginated lists.

use crate::error::ApiError;
use base64::Engine;
use capstan_proto::KindInfo;

pub fn object_key(info: &KindInfo, namespace: &str, name: &str) -> String {
    if info.namespaced {
        format!("/registry/{}/{}/{}", info.resource, namespace, name)
    } else {
        format!("/registry/{}/{}", info.resource, name)
    }
}

/// The prefix of every object of a kind, or of one namespace's.
pub fn list_prefix(info: &KindInfo, namespace: &str) -> String {
    if info.namespaced && !namespace.is_empty() {
        format!("/registry/{}/{}/", info.resource, namespace)
    } else {
        format!("/registry/{}/", info.resource)
    }
}

/// A continue token carries the last key returned; the next page starts
/// after it.
pub fn encode_continue(last_key: &str, revision: i64) -> String {
    let text = format!("{revision}\n{last_key}");
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(text)
}

pub fn decode_continue(token: &str, prefix: &str) -> Result<String, ApiError> {
    let bad = || ApiError::BadRequest(format!("continue token {token:?} is not valid: list again without it"));
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(token).map_err(|_| bad())?;
    let text = String::from_utf8(bytes).map_err(|_| bad())?;
    let (_, key) = text.split_once('\n').ok_or_else(bad)?;
    if !key.starts_with(prefix) {
        return Err(bad());
    }
    Ok(key.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use capstan_proto::kinds::{NODE, POD};

    #[test]
    fn keys_follow_the_registry_layout() {
        assert_eq!(object_key(&POD, "default", "web"), "/registry/pods/default/web");
        assert_eq!(object_key(&NODE, "", "n1"), "/registry/nodes/n1");
        assert_eq!(list_prefix(&POD, ""), "/registry/pods/");
        assert_eq!(list_prefix(&POD, "shop"), "/registry/pods/shop/");
    }

    #[test]
    fn continue_tokens_round_trip_and_stay_in_their_prefix() {
        let token = encode_continue("/registry/pods/a/b", 7);
        assert_eq!(decode_continue(&token, "/registry/pods/").expect("valid"), "/registry/pods/a/b");
        assert!(decode_continue(&token, "/registry/nodes/").is_err());
        assert!(decode_continue("!!", "/registry/pods/").is_err());
    }
}
