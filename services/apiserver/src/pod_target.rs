//! Which container of a pod a `pods/log` or `pods/exec` request means, and
//! why a container has no log to show, in kube-apiserver's and the kubelet's
//! words. Kubernetes checks the container name in the API server, before any
//! kubelet is dialled, so a typo is a 400 naming the choices whatever the
//! node's state; both faces (gRPC and REST) pass through here.
//!
//! Pure functions of the pod, table-tested.

use crate::error::ApiError;
use capstan_proto::core::v1::{ContainerStatus, Pod};

/// The container `requested` names in `pod`, or the pod's only one when it
/// names none. Init containers count, as in kube-apiserver.
pub fn container_for(pod: &Pod, requested: &str) -> Result<String, ApiError> {
    let name = pod.metadata.as_ref().map(|m| m.name.as_str()).unwrap_or_default();
    let spec = pod.spec.clone().unwrap_or_default();
    let all: Vec<&str> = spec.init_containers.iter().chain(&spec.containers).map(|c| c.name.as_str()).collect();
    if !requested.is_empty() {
        return match all.contains(&requested) {
            true => Ok(requested.to_string()),
            false => Err(ApiError::BadRequest(format!("container {requested} is not valid for pod {name}"))),
        };
    }
    match spec.containers.as_slice() {
        [only] => Ok(only.name.clone()),
        [] => Err(ApiError::BadRequest(format!("pod {name} does not have a container"))),
        _ => Err(ApiError::BadRequest(format!(
            "a container name must be specified for pod {name}, choose one of: [{}]",
            all.join(" ")
        ))),
    }
}

/// Why `container` of `pod` has no log to read (the current one, or the
/// `previous` instance), as the kubelet words it from the pod's status; `None`
/// when the status says there is one (the kubelet's own answer then stands).
pub fn why_no_log(pod: &Pod, container: &str, previous: bool) -> Option<String> {
    let pod_name = pod.metadata.as_ref().map(|m| m.name.as_str()).unwrap_or_default();
    let status = pod.status.clone().unwrap_or_default();
    let found: Option<&ContainerStatus> =
        status.container_statuses.iter().chain(&status.init_container_statuses).find(|s| s.name == container);
    let in_pod = format!("container {container:?} in pod {pod_name:?}");
    let Some(found) = found else {
        return Some(format!("{in_pod} is waiting to start: ContainerCreating"));
    };
    let state = found.state.clone().unwrap_or_default();
    let last_terminated = found.last_state.as_ref().and_then(|s| s.terminated.as_ref());
    if previous {
        return match last_terminated {
            Some(t) if !t.container_id.is_empty() => None,
            _ => Some(format!("previous terminated {in_pod} not found")),
        };
    }
    if state.running.is_some() || state.terminated.is_some() || last_terminated.is_some() {
        return None;
    }
    let reason = state.waiting.map(|w| w.reason).unwrap_or_default();
    Some(match reason.as_str() {
        "ErrImagePull" => format!("{in_pod} is waiting to start: image can't be pulled"),
        "ImagePullBackOff" => format!("{in_pod} is waiting to start: trying and failing to pull image"),
        "" => format!("{in_pod} is waiting to start - no logs yet"),
        reason => format!("{in_pod} is waiting to start: {reason}"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use capstan_proto::core::v1::{
        Container, ContainerState, ContainerStateRunning, ContainerStateTerminated, ContainerStateWaiting, PodSpec,
        PodStatus,
    };
    use capstan_proto::meta::v1::ObjectMeta;

    fn pod(init: &[&str], containers: &[&str], statuses: Vec<ContainerStatus>) -> Pod {
        let container = |name: &&str| Container { name: name.to_string(), ..Default::default() };
        Pod {
            metadata: Some(ObjectMeta { name: "web".into(), ..Default::default() }),
            spec: Some(PodSpec {
                init_containers: init.iter().map(container).collect(),
                containers: containers.iter().map(container).collect(),
                ..Default::default()
            }),
            status: Some(PodStatus { container_statuses: statuses, ..Default::default() }),
            ..Default::default()
        }
    }

    #[test]
    fn the_container_is_named_or_the_only_one() {
        // init containers, containers, the container asked for, the answer
        type Case<'a> = (&'a [&'a str], &'a [&'a str], &'a str, Result<&'a str, &'a str>);
        let cases: [Case; 6] = [
            (&[], &["app"], "", Ok("app")),
            (&[], &["app"], "app", Ok("app")),
            (&["setup"], &["app"], "setup", Ok("setup")),
            (&[], &["a", "b"], "", Err("a container name must be specified for pod web, choose one of: [a b]")),
            (&["i"], &["a", "b"], "", Err("a container name must be specified for pod web, choose one of: [i a b]")),
            (&[], &["app"], "nope", Err("container nope is not valid for pod web")),
        ];
        for (init, containers, requested, want) in cases {
            let got = container_for(&pod(init, containers, vec![]), requested).map_err(|e| e.to_string());
            assert_eq!(got.as_deref().map_err(String::as_str), want, "{containers:?} {requested:?}");
        }
    }

    fn status(state: ContainerState, last: Option<ContainerState>) -> ContainerStatus {
        ContainerStatus { name: "app".into(), state: Some(state), last_state: last, ..Default::default() }
    }

    fn waiting(reason: &str) -> ContainerState {
        ContainerState {
            waiting: Some(ContainerStateWaiting { reason: reason.into(), ..Default::default() }),
            ..Default::default()
        }
    }

    fn terminated(id: &str) -> ContainerState {
        ContainerState {
            terminated: Some(ContainerStateTerminated { container_id: id.into(), ..Default::default() }),
            ..Default::default()
        }
    }

    #[test]
    fn a_container_without_a_log_says_why() {
        let running = ContainerState { running: Some(ContainerStateRunning::default()), ..Default::default() };
        let cases = [
            (vec![], false, Some("container \"app\" in pod \"web\" is waiting to start: ContainerCreating")),
            (vec![status(running.clone(), None)], false, None),
            (
                vec![status(waiting("ContainerCreating"), None)],
                false,
                Some("container \"app\" in pod \"web\" is waiting to start: ContainerCreating"),
            ),
            (
                vec![status(waiting("ErrImagePull"), None)],
                false,
                Some("container \"app\" in pod \"web\" is waiting to start: image can't be pulled"),
            ),
            (vec![status(waiting("CrashLoopBackOff"), Some(terminated("docker://1")))], false, None),
            (
                vec![status(running.clone(), None)],
                true,
                Some("previous terminated container \"app\" in pod \"web\" not found"),
            ),
            (vec![status(running, Some(terminated("docker://1")))], true, None),
        ];
        for (statuses, previous, want) in cases {
            let got = why_no_log(&pod(&[], &["app"], statuses.clone()), "app", previous);
            assert_eq!(got.as_deref(), want, "{statuses:?} previous={previous}");
        }
    }
}
