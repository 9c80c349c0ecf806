//! How the CLI names kinds and objects: resolving what the user typed
//! (`po`, `deployments.apps`, `pod/web-1`) and printing names the way
//! kubectl does (`deployment.apps/web`, `pods "x"`).

use crate::errors::CliError;
use capstan_proto::{kinds, KindInfo};

/// The stored kind `name` names, or kubectl's "doesn't have a resource type".
pub fn resolve_kind(name: &str) -> Result<&'static KindInfo, CliError> {
    kinds::lookup(name).ok_or_else(|| CliError::UnknownKind(name.to_string()))
}

/// `.apps` for grouped kinds, "" for the core group.
fn group_suffix(info: &KindInfo) -> String {
    match info.group() {
        "" => String::new(),
        group => format!(".{group}"),
    }
}

/// `pods`, `deployments.apps`: how error messages name a resource.
pub fn resource_group(info: &KindInfo) -> String {
    format!("{}{}", info.resource, group_suffix(info))
}

/// `Pod`, `Deployment.apps`: how validation errors name a kind.
pub fn kind_group(info: &KindInfo) -> String {
    format!("{}{}", info.kind, group_suffix(info))
}

/// `pod`, `deployment.apps`: how results and `-o name` name a kind.
pub fn singular_group(info: &KindInfo) -> String {
    format!("{}{}", info.kind.to_ascii_lowercase(), group_suffix(info))
}

/// `deployment.apps/web`
pub fn object_name(info: &KindInfo, name: &str) -> String {
    format!("{}/{}", singular_group(info), name)
}

/// The objects named on a command line: `KIND[,KIND...] [NAME...]`, or
/// `KIND/NAME...` (where every argument carries its kind).
pub fn targets(kind: &str, names: &[String]) -> Result<Vec<(&'static KindInfo, Option<String>)>, CliError> {
    if !kind.contains('/') {
        let mut out = Vec::new();
        for kind in kind.split(',').filter(|k| !k.is_empty()) {
            let info = resolve_kind(kind)?;
            if names.is_empty() {
                out.push((info, None));
            }
            out.extend(names.iter().map(|n| (info, Some(n.clone()))));
        }
        if out.is_empty() {
            return Err(CliError::Usage("a resource type is required".to_string()));
        }
        return Ok(out);
    }
    std::iter::once(kind)
        .chain(names.iter().map(String::as_str))
        .map(|arg| match arg.split_once('/') {
            Some((k, n)) if !k.is_empty() && !n.is_empty() => Ok((resolve_kind(k)?, Some(n.to_string()))),
            _ => Err(CliError::Usage(format!(
                "there is no need to specify a resource type as a separate argument when passing arguments \
                 in resource/name form (e.g. 'capstan get resource/<resource_name>' instead of \
                 'capstan get resource resource/<resource_name>'): {arg:?}"
            ))),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use capstan_proto::kinds::{DEPLOYMENT, LEASE, POD};

    #[test]
    fn names_print_like_kubectl() {
        assert_eq!(resource_group(&POD), "pods");
        assert_eq!(resource_group(&DEPLOYMENT), "deployments.apps");
        assert_eq!(kind_group(&DEPLOYMENT), "Deployment.apps");
        assert_eq!(object_name(&DEPLOYMENT, "web"), "deployment.apps/web");
        assert_eq!(object_name(&POD, "web-1"), "pod/web-1");
        assert_eq!(object_name(&LEASE, "n1"), "lease.coordination.k8s.io/n1");
    }

    #[test]
    fn targets_accept_kind_names_and_type_slash_name() {
        let t = targets("po", &["a".into(), "b".into()]).expect("targets");
        assert_eq!(
            t.iter().map(|(i, n)| (i.kind, n.as_deref())).collect::<Vec<_>>(),
            [("Pod", Some("a")), ("Pod", Some("b"))]
        );
        let t = targets("deploy", &[]).expect("collection");
        assert_eq!((t[0].0.kind, t[0].1.as_deref()), ("Deployment", None));
        let t = targets("svc,deploy", &[]).expect("several kinds");
        assert_eq!(
            t.iter().map(|(i, n)| (i.kind, n.is_none())).collect::<Vec<_>>(),
            [("Service", true), ("Deployment", true)]
        );
        let t = targets("pod/a", &["svc/b".into()]).expect("slash form");
        assert_eq!(
            t.iter().map(|(i, n)| (i.kind, n.as_deref())).collect::<Vec<_>>(),
            [("Pod", Some("a")), ("Service", Some("b"))]
        );
        assert!(matches!(targets("pod/a", &["b".into()]), Err(CliError::Usage(_))));
        assert_eq!(
            targets("widgets", &[]).expect_err("unknown").to_string(),
            "error: the server doesn't have a resource type \"widgets\""
        );
    }
}
