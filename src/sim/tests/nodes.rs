//! Unit tests of `sim::nodes`.

use super::*;

#[test]
fn problems_parse_from_annotation_text() {
    let set = NodeProblem::parse_list("NotReady, memorypressure,bogus");
    assert_eq!(
        set,
        [NodeProblem::NotReady, NodeProblem::MemoryPressure]
            .into_iter()
            .collect()
    );
    assert_eq!("PIDPressure".parse(), Ok(NodeProblem::PidPressure));
}

#[test]
fn down_node_reports_unknown_conditions() {
    let mut table = NodeTable::new(&[NodeConfig::new("n1")]);
    let n = table.nodes.get_mut("n1").unwrap();
    let problems = [NodeProblem::NotReady].into_iter().collect();
    let rows = conditions(n, &problems, Timestamp::now());
    let ready = rows.iter().find(|r| r["type"] == "Ready").unwrap();
    assert_eq!(ready["status"], "Unknown");
    assert_eq!(ready["message"], "Kubelet stopped posting node status.");
    let problems = [NodeProblem::MemoryPressure].into_iter().collect();
    let rows = conditions(n, &problems, Timestamp::now());
    let mem = rows.iter().find(|r| r["type"] == "MemoryPressure").unwrap();
    assert_eq!(mem["status"], "True");
    assert_eq!(mem["reason"], "KubeletHasInsufficientMemory");
}
