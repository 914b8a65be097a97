//! The shipped catalogue: one line per action family or tool. Adding an action is a file in its
//! family's module plus a `register` line there (or here for a new family).

use super::registry::Registry;

/// Registers every shipped action and read-only tool.
pub fn register_all(registry: &mut Registry) {
    super::deployment::register(registry);
    super::pod::register(registry);
    super::read::register(registry);
    super::statefulset::register(registry);
    super::daemonset::register(registry);
    super::job::register(registry);
    super::cronjob::register(registry);
    super::node::register(registry);
    super::hpa::register(registry);
    super::pvc::register(registry);
    super::configmap::register(registry);
}

#[cfg(test)]
mod tests {
    use super::super::registry::ToolFilter;
    use super::*;

    fn registry() -> Registry {
        Registry::standard(&mut prometheus_client::registry::Registry::default())
    }

    #[test]
    fn every_entry_has_a_strict_object_schema_and_a_unique_function_name() {
        let r = registry();
        let tools = r.tools(&ToolFilter::all());
        let mut names: Vec<&str> = tools.iter().map(|t| t.name.as_str()).collect();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), tools.len());
        for t in &tools {
            assert!(
                t.name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_'),
                "{}",
                t.name
            );
            assert_eq!(t.parameters["type"], "object", "{}", t.name);
            assert_eq!(t.parameters["additionalProperties"], false, "{}", t.name);
            assert!(t.parameters["required"].is_array(), "{}", t.name);
            assert!(t.parameters.get("$defs").is_none(), "{}", t.name);
            assert_eq!(r.by_llm_name(&t.name), Some(t.target.as_str()));
        }
        for action in [
            "deployment.scale",
            "deployment.restart",
            "deployment.rollback",
            "deployment.adjust_resources",
            "deployment.delete_pod",
            "pod.delete",
        ] {
            assert!(r.get(action).is_some(), "{action}");
        }
        for tool in ["get", "describe", "logs", "events", "list"] {
            assert!(r.tool(tool).is_some(), "{tool}");
        }
    }

    #[test]
    fn the_filter_offers_only_what_fits_the_incident() {
        let r = registry();
        let pod_tools: Vec<String> = r
            .tools(&ToolFilter::for_kinds(&["Pod"]))
            .into_iter()
            .filter(|t| t.mutating)
            .map(|t| t.target)
            .collect();
        assert_eq!(
            pod_tools,
            [
                "deployment.delete_pod",
                "pod.delete",
                "statefulset.delete_pod"
            ]
        );
        let read_only = ToolFilter {
            read_only: true,
            ..ToolFilter::default()
        };
        assert!(
            r.tools(&read_only)
                .iter()
                .all(|t| !t.mutating && t.risk.is_none())
        );
        let kind_enum = &r.tools(&read_only)[0].parameters["properties"]["kind"]["enum"];
        assert!(kind_enum.as_array().unwrap().iter().all(|k| k != "Secret"));
    }
}
