//! RBAC subjects, as Kubernetes' rbac/v1 defaults them: a User or Group
//! subject written without `apiGroup` means the RBAC group, so manifests that
//! leave it out (most do) bind what they say.

use capstan_proto::rbac::v1::Subject;

const GROUP: &str = "rbac.authorization.k8s.io";

pub fn subjects(subjects: &mut [Subject]) {
    for subject in subjects {
        if subject.api_group.is_empty() && matches!(subject.kind.as_str(), "User" | "Group") {
            subject.api_group = GROUP.to_string();
        }
    }
}
