use serde_json::json;

use super::*;

fn scale() -> ToolSpec {
    ToolSpec::new(
        "scale_deployment",
        "Set a Deployment's replicas.",
        json!({"type": "object", "properties": {
            "namespace": {"type": "string"},
            "name": {"type": "string"},
            "replicas": {"type": "integer", "minimum": 1, "maximum": 20},
            "mode": {"enum": ["now", "gradual"]}},
          "required": ["namespace", "name", "replicas"]}),
    )
}

fn set() -> ToolSet {
    ToolSet::new([scale(), control_tools().remove(0)]).unwrap()
}

fn call(name: &str, arguments: &str) -> ToolCall {
    ToolCall {
        id: "call_1".into(),
        name: name.into(),
        arguments: arguments.into(),
    }
}

fn refusal(name: &str, arguments: &str) -> String {
    set()
        .validate(&call(name, arguments))
        .unwrap_err()
        .to_string()
}

#[test]
fn a_valid_call_passes_with_its_arguments() {
    let ok = set()
        .validate(&call(
            "scale_deployment",
            r#"{"namespace":"shop","name":"web","replicas":3}"#,
        ))
        .unwrap();
    assert_eq!(ok.name, "scale_deployment");
    assert_eq!(ok.arguments["replicas"], json!(3));
    #[derive(serde::Deserialize)]
    struct Params {
        replicas: u32,
    }
    assert_eq!(ok.parse::<Params>().unwrap().replicas, 3);
}

#[test]
fn an_unknown_tool_is_named_with_the_available_ones() {
    assert_eq!(
        refusal("kubectl_exec", "{}"),
        "error: unknown tool `kubectl_exec`; available: scale_deployment, wait_and_observe. \
         Nothing was run."
    );
}

#[test]
fn malformed_json_and_non_objects_are_refused() {
    let text = refusal("scale_deployment", r#"{"namespace": "shop", "replicas": 3"#);
    assert!(text.starts_with("error: the arguments for `scale_deployment` are not valid JSON ("));
    assert!(text.contains("Nothing was run"), "{text}");

    let text = refusal("scale_deployment", "[1, 2]");
    assert!(
        text.contains("must be a JSON object, not an array"),
        "{text}"
    );
    assert!(
        text.contains("scale_deployment(namespace: string, name: string, replicas: integer"),
        "{text}"
    );
}

#[test]
fn schema_violations_are_listed_for_the_model() {
    // Missing field, wrong type, unknown field, out of range, not in the enum.
    let missing = refusal("scale_deployment", r#"{"namespace":"shop","replicas":3}"#);
    assert!(
        missing.contains(r#""name" is a required property"#),
        "{missing}"
    );

    let wrong_type = refusal(
        "scale_deployment",
        r#"{"namespace":"shop","name":"web","replicas":"three"}"#,
    );
    assert!(
        wrong_type.contains(r#"/replicas: "three" is not of type "integer""#),
        "{wrong_type}"
    );

    let extra = refusal(
        "scale_deployment",
        r#"{"namespace":"shop","name":"web","replicas":2,"force":true}"#,
    );
    assert!(extra.contains("'force' was unexpected"), "{extra}");

    let range = refusal(
        "scale_deployment",
        r#"{"namespace":"shop","name":"web","replicas":500}"#,
    );
    assert!(
        range.contains("500 is greater than the maximum of 20"),
        "{range}"
    );

    let enumerated = refusal(
        "scale_deployment",
        r#"{"namespace":"shop","name":"web","replicas":2,"mode":"yolo"}"#,
    );
    assert!(
        enumerated.contains(r#"/mode: "yolo" is not one of"#),
        "{enumerated}"
    );

    // Several problems at once, each said once, all within one compact message.
    let many = refusal("scale_deployment", r#"{"replicas":0,"x":1}"#);
    assert!(many.matches(';').count() >= 2, "{many}");
    assert!(many.len() < 800, "{many}");
}

#[test]
fn huge_values_are_clipped_in_the_reply() {
    let big = "x".repeat(10_000);
    let text = refusal(
        "scale_deployment",
        &format!(r#"{{"namespace":"shop","name":"web","replicas":"{big}"}}"#),
    );
    assert!(text.len() < 600, "{}", text.len());
}

#[test]
fn empty_arguments_mean_an_empty_object() {
    let text = refusal("wait_and_observe", "");
    assert!(
        text.contains(r#""seconds" is a required property"#),
        "{text}"
    );
}

#[test]
fn schemas_are_closed_and_strict_when_possible() {
    let s = scale();
    assert_eq!(s.parameters["additionalProperties"], json!(false));
    // `mode` is optional, so OpenAI's strict mode cannot take it.
    assert!(!s.strict_compatible());
    assert!(control_tools().iter().all(ToolSpec::strict_compatible));
    assert_eq!(
        s.signature(),
        r#"scale_deployment(namespace: string, name: string, replicas: integer 1..=20, mode?: "now"|"gradual")"#
    );
}

#[test]
fn bad_definitions_are_caught_when_the_set_is_built() {
    assert!(matches!(
        ToolSet::new([ToolSpec::new("no spaces", "", json!({"type":"object"}))]),
        Err(ToolSpecError::BadName(_))
    ));
    assert!(matches!(
        ToolSet::new([scale(), scale()]),
        Err(ToolSpecError::Duplicate(_))
    ));
    assert!(matches!(
        ToolSet::new([ToolSpec::new("t", "", json!({"type":"string"}))]),
        Err(ToolSpecError::BadSchema { .. })
    ));
    assert!(matches!(
        ToolSet::new([ToolSpec::new(
            "t",
            "",
            json!({"type":"object","properties":{"a":{"type":"nonsense"}}})
        )]),
        Err(ToolSpecError::BadSchema { .. })
    ));
}
