//! PURE: what changed between two revisions of a Deployment — the question after "it broke
//! right after a rollout".

use super::model::RevisionFacts;

/// Changes from `previous` to `current`, per container in the current spec order, then
/// containers that went away: `app image shop/web:1.4.2 -> shop/web:1.5.0`,
/// `app resources limits memory=256Mi -> limits memory=128Mi`, `sidecar added (envoy:1.30)`.
pub fn diff(previous: &RevisionFacts, current: &RevisionFacts) -> Vec<String> {
    let find = |list: &[(String, String)], name: &str| {
        list.iter().find(|(c, _)| c == name).map(|(_, v)| v.clone())
    };
    let mut out = Vec::new();
    for (name, image) in &current.images {
        match find(&previous.images, name) {
            None => out.push(format!("{name} added ({image})")),
            Some(old) if old != *image => out.push(format!("{name} image {old} -> {image}")),
            Some(_) => {}
        }
        let old = find(&previous.resources, name).unwrap_or_default();
        let new = find(&current.resources, name).unwrap_or_default();
        if old != new && find(&previous.images, name).is_some() {
            let show = |r: &str| {
                if r.is_empty() {
                    "none".to_string()
                } else {
                    r.to_string()
                }
            };
            out.push(format!("{name} resources {} -> {}", show(&old), show(&new)));
        }
    }
    for (name, _) in &previous.images {
        if find(&current.images, name).is_none() {
            out.push(format!("{name} removed"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rev(images: &[(&str, &str)], resources: &[(&str, &str)]) -> RevisionFacts {
        let pairs = |l: &[(&str, &str)]| {
            l.iter()
                .map(|(a, b)| (a.to_string(), b.to_string()))
                .collect()
        };
        RevisionFacts {
            revision: 1,
            replicaset: "web-1".into(),
            created: None,
            replicas: 1,
            ready: 1,
            images: pairs(images),
            resources: pairs(resources),
            change_cause: None,
        }
    }

    #[test]
    fn images_resources_and_containers_that_come_and_go() {
        let old = rev(
            &[("app", "web:1"), ("proxy", "envoy:1.29")],
            &[("app", "limits memory=256Mi")],
        );
        let new = rev(
            &[("app", "web:2"), ("log", "fluent-bit:3")],
            &[("app", "limits memory=128Mi")],
        );
        assert_eq!(
            diff(&old, &new),
            [
                "app image web:1 -> web:2",
                "app resources limits memory=256Mi -> limits memory=128Mi",
                "log added (fluent-bit:3)",
                "proxy removed",
            ]
        );
        assert!(diff(&old, &old).is_empty());
    }
}
