//! orb-mock's document against Orb's: every route it describes is one of Orb's, with Orb's
//! success statuses, only statuses Orb declares, only parameters Orb has, and every key Orb's
//! response schemas require also required here, all the way down. Orb's document is read at
//! test time from where `ORB_OPENAPI` names it, never copied into the repository.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::OnceLock;

use serde_json::Value;

use super::inputs::{inputs, operations, resolve};

/// Shapes orb-mock sends on purpose although Orb's schema has no such arm (README, "Deleting a customer": a customer
/// being deleted reads as `{"id", "deleted": true}`).
const DELIBERATE_EXTRAS: [&str; 1] = ["DeletedCustomerObject"];

/// Orb's document, or `None` when the check `what` is skipped (see `crate::test_env`).
fn orb(what: &str) -> Option<&'static Value> {
    crate::test_env::orb_openapi(what)
}

fn ours() -> &'static Value {
    static DOCUMENT: OnceLock<Value> = OnceLock::new();
    DOCUMENT.get_or_init(super::document)
}

fn statuses(operation: &Value) -> BTreeSet<String> {
    operation["responses"]
        .as_object()
        .map(|responses| responses.keys().cloned().collect())
        .unwrap_or_default()
}

fn success(statuses: &BTreeSet<String>) -> BTreeSet<String> {
    statuses
        .iter()
        .filter(|s| s.starts_with('2'))
        .cloned()
        .collect()
}

#[test]
fn the_document_is_openapi_3_1_under_the_v1_server_like_orbs() {
    let ours = ours();
    assert_eq!(ours["openapi"], "3.1.0");
    assert_eq!(ours["servers"][0]["url"], "/v1");
    assert_eq!(
        ours["components"]["securitySchemes"]["APIKeyAuth"]["scheme"],
        "bearer"
    );
    assert_eq!(ours["security"][0]["APIKeyAuth"], Value::Array(Vec::new()));
    let Some(orb) = orb("the server and security comparison") else {
        return;
    };
    let server = orb["servers"][0]["url"]
        .as_str()
        .expect("Orb names a server");
    assert!(
        server.ends_with("/v1"),
        "Orb's server {server} no longer ends in /v1"
    );
    assert_eq!(
        orb["components"]["securitySchemes"]["APIKeyAuth"]["scheme"],
        "bearer"
    );
}

#[test]
fn the_document_describes_every_emulated_route() {
    let described: BTreeSet<String> = operations(ours())
        .into_iter()
        .map(|(path, method, _)| format!("{} {path}", method.to_uppercase()))
        .collect();
    let emulated = [
        "POST /customers",
        "GET /customers",
        "GET /customers/{customer_id}",
        "PUT /customers/{customer_id}",
        "DELETE /customers/{customer_id}",
        "GET /customers/external_customer_id/{external_customer_id}",
        "PUT /customers/external_customer_id/{external_customer_id}",
        "POST /invoices",
        "GET /invoices",
        "GET /invoices/{invoice_id}",
        "POST /invoices/{invoice_id}/issue",
        "POST /invoices/{invoice_id}/void",
        "POST /invoices/{invoice_id}/mark_paid",
        "POST /subscriptions",
        "GET /subscriptions",
        "GET /subscriptions/{subscription_id}",
        "POST /subscriptions/{subscription_id}/cancel",
        "POST /webhook_endpoints",
        "GET /webhook_endpoints",
        "GET /webhook_endpoints/{webhook_endpoint_id}",
        "PUT /webhook_endpoints/{webhook_endpoint_id}",
        "DELETE /webhook_endpoints/{webhook_endpoint_id}",
        "POST /webhook_endpoints/{webhook_endpoint_id}/disable",
        "POST /webhook_endpoints/{webhook_endpoint_id}/enable",
    ];
    let emulated: BTreeSet<String> = emulated.iter().map(|s| s.to_string()).collect();
    assert_eq!(described, emulated);
}

#[test]
fn every_described_route_is_one_of_orbs_with_orbs_statuses_and_parameters() {
    let Some(orb) = orb("the route comparison") else {
        return;
    };
    let mut problems = Vec::new();
    for (path, method, operation) in operations(ours()) {
        let route = format!("{} {path}", method.to_uppercase());
        let Some(theirs) = orb["paths"].get(&path).and_then(|item| item.get(method)) else {
            // The webhook endpoint routes are newer than the document; the SDKs' types are
            // their reference (tests/sdk checks them).
            if !path.starts_with("/webhook_endpoints") {
                problems.push(format!("{route}: not in Orb's document"));
            }
            continue;
        };
        let (our_statuses, orb_statuses) = (statuses(operation), statuses(theirs));
        if success(&our_statuses) != success(&orb_statuses) {
            problems.push(format!(
                "{route}: success statuses {:?}, Orb's {:?}",
                success(&our_statuses),
                success(&orb_statuses)
            ));
        }
        for status in our_statuses.difference(&orb_statuses) {
            problems.push(format!("{route}: status {status} is not declared by Orb"));
        }
        let orb_parameters: BTreeSet<(String, String)> = theirs["parameters"]
            .as_array()
            .into_iter()
            .flatten()
            .chain(
                orb["paths"][&path]["parameters"]
                    .as_array()
                    .into_iter()
                    .flatten(),
            )
            .map(|p| (p["name"].to_string(), p["in"].to_string()))
            .collect();
        for parameter in operation["parameters"].as_array().into_iter().flatten() {
            let key = (parameter["name"].to_string(), parameter["in"].to_string());
            if !orb_parameters.contains(&key) {
                problems.push(format!("{route}: parameter {key:?} is not one of Orb's"));
            }
        }
        if operation.get("requestBody").is_some() && theirs.get("requestBody").is_none() {
            problems.push(format!("{route}: takes a body, Orb's does not"));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn every_key_orbs_responses_require_is_required_here_all_the_way_down() {
    let Some(orb) = orb("the response schema comparison") else {
        return;
    };
    let ours = ours();
    let mut problems = Vec::new();
    let mut compared = 0;
    for (path, method, operation) in operations(ours) {
        let theirs = &orb["paths"][&path][method];
        for (status, response) in operation["responses"].as_object().into_iter().flatten() {
            let our_schema = &response["content"]["application/json"]["schema"];
            let orb_schema = &theirs["responses"][status]["content"]["application/json"]["schema"];
            if our_schema.is_null() || orb_schema.is_null() {
                continue;
            }
            compared += 1;
            let at = format!("{} {path} {status}", method.to_uppercase());
            let pair = Pair { orb, ours };
            problems.extend(pair.check(orb_schema, our_schema, &at, 0));
        }
    }
    // 17 routes, 16 with a success body, each with seven error bodies.
    assert!(
        compared >= 16 * 8,
        "only {compared} response schemas compared"
    );
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// The two documents, for resolving each side's `$ref`s.
struct Pair<'a> {
    orb: &'a Value,
    ours: &'a Value,
}

/// Deeper than any real object; stops a recursive schema from looping.
const MAX_DEPTH: usize = 16;

impl<'a> Pair<'a> {
    /// The problems with `ours` as a stand-in for `orb`: each shape orb-mock can send must
    /// satisfy one of the shapes Orb allows there.
    fn check(&self, orb: &'a Value, ours: &'a Value, at: &str, depth: usize) -> Vec<String> {
        if depth > MAX_DEPTH {
            return Vec::new();
        }
        let orb_arms = arms(self.orb, orb);
        let mut problems = Vec::new();
        for (name, our_arm) in arms(self.ours, ours) {
            if is_never(our_arm) || name.is_some_and(|name| DELIBERATE_EXTRAS.contains(&name)) {
                continue;
            }
            let attempts: Vec<Vec<String>> = orb_arms
                .iter()
                .map(|(_, orb_arm)| self.compare(orb_arm, our_arm, at, depth))
                .collect();
            if !attempts.iter().any(Vec::is_empty) {
                // Report against the closest of Orb's arms.
                problems.extend(
                    attempts
                        .into_iter()
                        .min_by_key(Vec::len)
                        .unwrap_or_default(),
                );
            }
        }
        problems
    }

    /// One of orb-mock's shapes against one of Orb's: Orb's required keys are required here,
    /// and the values under them compare in turn.
    fn compare(&self, orb: &'a Value, ours: &'a Value, at: &str, depth: usize) -> Vec<String> {
        if let (Some(orb_items), Some(our_items)) = (items(orb), items(ours)) {
            return self.check(orb_items, our_items, &format!("{at}[]"), depth + 1);
        }
        let (orb_properties, orb_required) = merged(self.orb, orb);
        let (our_properties, our_required) = merged(self.ours, ours);
        let mut problems = Vec::new();
        for key in &orb_required {
            if !our_required.contains(key) {
                problems.push(format!("{at}: Orb requires `{key}`, orb-mock does not"));
                continue;
            }
            if let (Some(orb_value), Some(our_value)) =
                (orb_properties.get(key), our_properties.get(key))
            {
                problems.extend(self.check(
                    orb_value,
                    our_value,
                    &format!("{at}.{key}"),
                    depth + 1,
                ));
            }
        }
        problems
    }
}

/// The non-null alternatives a schema allows (`oneOf`/`anyOf` arms, flattened), each with its
/// component name when it has one.
fn arms<'a>(document: &'a Value, schema: &'a Value) -> Vec<(Option<&'a str>, &'a Value)> {
    let (name, schema) = resolve(document, schema);
    let alternatives = schema
        .get("oneOf")
        .or_else(|| schema.get("anyOf"))
        .and_then(Value::as_array);
    match alternatives {
        Some(alternatives) => alternatives
            .iter()
            .filter(|arm| arm.get("type").and_then(Value::as_str) != Some("null"))
            .flat_map(|arm| arms(document, arm))
            .collect(),
        None => vec![(name, schema)],
    }
}

/// orb-mock's schema for a value it never sends (`{"enum": []}`).
fn is_never(schema: &Value) -> bool {
    schema
        .get("enum")
        .and_then(Value::as_array)
        .is_some_and(Vec::is_empty)
}

/// The item schema of an array schema.
fn items(schema: &Value) -> Option<&Value> {
    let is_array = match &schema["type"] {
        Value::String(kind) => kind == "array",
        Value::Array(kinds) => kinds.iter().any(|kind| kind == "array"),
        _ => false,
    };
    is_array.then(|| schema.get("items")).flatten()
}

/// An object schema's properties and required keys, with `allOf` parts merged in.
fn merged<'a>(
    document: &'a Value,
    schema: &'a Value,
) -> (BTreeMap<&'a str, &'a Value>, BTreeSet<&'a str>) {
    let (_, schema) = resolve(document, schema);
    let mut properties = BTreeMap::new();
    let mut required = BTreeSet::new();
    for part in schema
        .get("allOf")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let (more_properties, more_required) = merged(document, part);
        properties.extend(more_properties);
        required.extend(more_required);
    }
    for (key, value) in schema
        .get("properties")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
    {
        properties.insert(key.as_str(), value);
    }
    required.extend(
        schema
            .get("required")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(Value::as_str),
    );
    (properties, required)
}

/// The checker itself: a key Orb requires that orb-mock leaves optional is caught, nested or
/// not, and orb-mock's deliberate extra shape is let through.
#[test]
fn the_comparison_catches_a_missing_required_key() {
    let orb = serde_json::json!({"components": {"schemas": {
        "Outer": {"type": "object", "required": ["inner"], "properties": {"inner": {"$ref": "#/components/schemas/Inner"}}},
        "Inner": {"type": "object", "required": ["a", "b"], "properties": {}},
    }}});
    let ours = serde_json::json!({"components": {"schemas": {
        "Outer": {"type": "object", "required": ["inner"], "properties": {"inner": {"oneOf": [{"type": "null"}, {"$ref": "#/components/schemas/Inner"}]}}},
        "Inner": {"type": "object", "required": ["a"], "properties": {}},
        "DeletedCustomerObject": {"type": "object", "required": ["id"]},
        "View": {"oneOf": [{"$ref": "#/components/schemas/Outer"}, {"$ref": "#/components/schemas/DeletedCustomerObject"}]},
    }}});
    let pair = Pair {
        orb: &orb,
        ours: &ours,
    };
    let outer = serde_json::json!({"$ref": "#/components/schemas/Outer"});
    let view = serde_json::json!({"$ref": "#/components/schemas/View"});
    let problems = pair.check(&outer, &outer, "x", 0);
    assert_eq!(problems, ["x.inner: Orb requires `b`, orb-mock does not"]);
    assert_eq!(pair.check(&outer, &view, "x", 0), problems);
}

/// The comparison reaches deep into the real documents: dropping a key from a schema three
/// objects down (an invoice line's price's unit config) is caught.
#[test]
fn the_comparison_reaches_nested_objects_of_the_real_documents() {
    let Some(orb) = orb("the nested comparison") else {
        return;
    };
    let mut ours = ours().clone();
    let required = ours["components"]["schemas"]["UnitConfigObject"]["required"]
        .as_array_mut()
        .expect("UnitConfigObject lists its required keys");
    required.retain(|key| key != "unit_amount");
    let pair = Pair { orb, ours: &ours };
    let path = "/paths/~1invoices~1{invoice_id}/get/responses/200/content/application~1json/schema";
    let problems = pair.check(
        orb.pointer(path)
            .expect("Orb describes GET /invoices/{invoice_id}"),
        ours.pointer(path)
            .expect("orb-mock describes GET /invoices/{invoice_id}"),
        "invoice",
        0,
    );
    assert_eq!(
        problems,
        ["invoice.line_items[].price.unit_config: Orb requires `unit_amount`, orb-mock does not"]
    );
}

/// README, "What is emulated, and what is not": every query parameter and request property
/// Orb documents on a modelled route is honoured (orb-mock's document describes it) or
/// refused (`http::unhonoured`), never dropped; and nothing is both, or refused without Orb
/// documenting it.
#[test]
fn every_documented_input_is_honoured_or_refused() {
    use crate::http::unhonoured::UNHONOURED;
    let Some(orb) = orb("the honoured-or-refused comparison") else {
        return;
    };
    let mut problems = Vec::new();
    for (path, method, operation) in operations(ours()) {
        let Some(theirs) = orb["paths"].get(&path).and_then(|item| item.get(method)) else {
            continue;
        };
        let (our_query, our_body) = inputs(ours(), &path, operation);
        let (orb_query, orb_body) = inputs(orb, &path, theirs);
        let refused = UNHONOURED.iter().find(|entry| {
            entry.method.as_str().eq_ignore_ascii_case(method) && entry.route == path
        });
        let (refused_query, refused_body): (BTreeSet<String>, BTreeSet<String>) = refused
            .map(|entry| {
                (
                    entry.query.iter().map(|name| name.to_string()).collect(),
                    entry.body.iter().map(|name| name.to_string()).collect(),
                )
            })
            .unwrap_or_default();
        let route = format!("{} {path}", method.to_uppercase());
        for (what, ours, refused, orbs) in [
            ("query parameter", &our_query, &refused_query, &orb_query),
            ("body property", &our_body, &refused_body, &orb_body),
        ] {
            for name in orbs.difference(&ours.union(refused).cloned().collect()) {
                problems.push(format!(
                    "{route}: {what} `{name}` is neither honoured nor refused"
                ));
            }
            for name in ours.intersection(refused) {
                problems.push(format!(
                    "{route}: {what} `{name}` is both honoured and refused"
                ));
            }
            for name in refused.difference(orbs) {
                problems.push(format!("{route}: refused {what} `{name}` is not Orb's"));
            }
        }
    }
    assert!(problems.is_empty(), "{problems:#?}");
}

/// The tax id countries and types orb-mock accepts are exactly Orb's (`http::tax_ids`).
#[test]
fn tax_id_countries_and_types_are_orbs_lists() {
    use crate::http::tax_ids::{TAX_ID_COUNTRIES, TAX_ID_TYPES};
    let Some(orb) = orb("the tax id lists") else {
        return;
    };
    let (_, tax_id) = resolve(orb, &orb["components"]["schemas"]["CustomerTaxId"]);
    for (property, ours) in [
        ("country", &TAX_ID_COUNTRIES[..]),
        ("type", &TAX_ID_TYPES[..]),
    ] {
        let (_, schema) = resolve(orb, &tax_id["properties"][property]);
        let theirs: BTreeSet<&str> = schema["enum"]
            .as_array()
            .unwrap_or_else(|| panic!("CustomerTaxId.{property} has an enum"))
            .iter()
            .filter_map(Value::as_str)
            .collect();
        let ours: BTreeSet<&str> = ours.iter().copied().collect();
        assert_eq!(ours, theirs, "CustomerTaxId.{property}");
    }
}
