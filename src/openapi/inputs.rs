//! What an OpenAPI document says a route takes: its operations, and each one's query
//! parameters and top-level body properties. Used to hold orb-mock's own document, the table of
//! refused inputs (`http::unhonoured`) and the tests that exercise each honoured input to Orb's
//! document.

use std::collections::BTreeSet;

use serde_json::Value;

const METHODS: [&str; 5] = ["get", "post", "put", "patch", "delete"];

/// Every operation of `document`: its path, method (lower case) and operation object.
pub fn operations(document: &Value) -> Vec<(String, &'static str, &Value)> {
    let paths = document["paths"].as_object().expect("paths is an object");
    let mut operations = Vec::new();
    for (path, item) in paths {
        for method in METHODS {
            if let Some(operation) = item.get(method) {
                operations.push((path.clone(), method, operation));
            }
        }
    }
    operations
}

/// A schema with its `$ref`s followed (local ones, the only kind either document uses), and
/// the name of the last component reached.
pub fn resolve<'a>(document: &'a Value, schema: &'a Value) -> (Option<&'a str>, &'a Value) {
    let mut name = None;
    let mut schema = schema;
    while let Some(reference) = schema.get("$ref").and_then(Value::as_str) {
        name = reference.rsplit('/').next();
        schema = document
            .pointer(reference.trim_start_matches('#'))
            .unwrap_or_else(|| panic!("unresolvable $ref {reference}"));
    }
    (name, schema)
}

/// The top-level properties a request body schema names (through `$ref`, `allOf`, `oneOf` and
/// `anyOf`).
pub fn body_properties(document: &Value, schema: &Value) -> BTreeSet<String> {
    let (_, schema) = resolve(document, schema);
    let mut names: BTreeSet<String> = schema
        .get("properties")
        .and_then(Value::as_object)
        .map(|properties| properties.keys().cloned().collect())
        .unwrap_or_default();
    for combinator in ["allOf", "oneOf", "anyOf"] {
        for part in schema
            .get(combinator)
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            names.extend(body_properties(document, part));
        }
    }
    names
}

/// A route's documented inputs: its query parameters (without `[]`) and body properties.
pub fn inputs(
    document: &Value,
    path: &str,
    operation: &Value,
) -> (BTreeSet<String>, BTreeSet<String>) {
    let query = operation["parameters"]
        .as_array()
        .into_iter()
        .flatten()
        .chain(
            document["paths"][path]["parameters"]
                .as_array()
                .into_iter()
                .flatten(),
        )
        .map(|parameter| resolve(document, parameter).1)
        .filter(|parameter| parameter["in"] == "query")
        .filter_map(|parameter| parameter["name"].as_str())
        .map(|name| name.strip_suffix("[]").unwrap_or(name).to_owned())
        .collect();
    let body = operation
        .get("requestBody")
        .map(|body| resolve(document, body).1)
        .and_then(|body| body.pointer("/content/application~1json/schema"))
        .map(|schema| body_properties(document, schema))
        .unwrap_or_default();
    (query, body)
}
