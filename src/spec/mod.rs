//! An OpenAPI document as a mock (`--spec`): the operations orb-mock does not model are
//! answered from the document, as a stateless spec mock would answer them.
//!
//! The document (JSON or YAML, OpenAPI 3.0 or 3.1) is read once, at start. Its operations are
//! indexed for matching; its schemas are compiled into validators lazily, per operation, by the
//! `jsonschema` crate, with the whole document registered once as the root resource so that
//! every `#/components/...` reference resolves against it. This module knows nothing of HTTP
//! beyond methods and paths: `http::spec` puts it on the wire.
//!
//! - [`validate`] checks a request's path, query and JSON body against its operation;
//! - [`generate`] writes a deterministic, schema-valid body for its success response.

pub mod generate;
pub mod validate;

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use axum::http::Method;
use serde_json::Value;

/// Where the document is registered, so that `$ref`s into it resolve.
pub(crate) const ROOT_URI: &str = "urn:orb-mock:spec";

/// Why a document cannot be used. The message names the file.
#[derive(Debug, thiserror::Error)]
pub enum SpecError {
    #[error("cannot read the OpenAPI document {path}: {reason}")]
    Read { path: PathBuf, reason: String },
    #[error("the OpenAPI document {path} is not valid JSON or YAML: {reason}")]
    Parse { path: PathBuf, reason: String },
    #[error("the OpenAPI document {path} is not usable: {reason}")]
    Invalid { path: PathBuf, reason: String },
}

/// A loaded document: its operations and the shared schema registry.
pub struct Spec {
    document: Value,
    registry: jsonschema::Registry<'static>,
    operations: Vec<Operation>,
    seed: u64,
}

/// One operation of the document (a method on a path template).
pub struct Operation {
    pub method: Method,
    /// The path template as the document writes it, e.g. `/plans/{plan_id}`.
    pub template: String,
    segments: Vec<Segment>,
    /// JSON pointer to the operation object within the document.
    pointer: String,
    pub(crate) parameters: Vec<Parameter>,
    /// Pointer to the JSON request body's schema, and whether a body is required.
    pub(crate) body: Option<(String, bool)>,
    /// The status of the first documented 2xx, and a pointer to its JSON schema if any.
    pub success: Option<(u16, Option<String>)>,
    validators: OnceLock<Result<validate::Validators, String>>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Segment {
    Literal(String),
    Param(String),
}

/// Where a parameter travels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Location {
    Path,
    Query,
}

#[derive(Debug, Clone)]
pub(crate) struct Parameter {
    pub name: String,
    pub location: Location,
    pub required: bool,
    /// Pointer to the parameter's schema.
    pub schema: String,
}

/// A request matched to an operation, with its path parameters.
pub struct Matched<'a> {
    pub operation: &'a Operation,
    pub path_params: Vec<(String, String)>,
}

impl Spec {
    /// Reads and indexes the document at `path`; `seed` varies every generated body.
    pub fn load(path: &Path, seed: u64) -> Result<Spec, SpecError> {
        let text = std::fs::read_to_string(path).map_err(|err| SpecError::Read {
            path: path.to_owned(),
            reason: err.to_string(),
        })?;
        let document = parse(&text).map_err(|reason| SpecError::Parse {
            path: path.to_owned(),
            reason,
        })?;
        Spec::from_document(document, seed).map_err(|reason| SpecError::Invalid {
            path: path.to_owned(),
            reason,
        })
    }

    /// Indexes an already parsed document.
    pub fn from_document(mut document: Value, seed: u64) -> Result<Spec, String> {
        let version = document
            .get("openapi")
            .and_then(Value::as_str)
            .ok_or("it has no `openapi` version field")?
            .to_owned();
        if version.starts_with("3.0") {
            upgrade_3_0(&mut document);
        } else if !version.starts_with("3.1") {
            return Err(format!(
                "OpenAPI {version} is not supported (3.0 and 3.1 are)"
            ));
        }
        let operations = index_operations(&document)?;
        let registry = jsonschema::Registry::new()
            .draft(jsonschema::Draft::Draft202012)
            .add(ROOT_URI, document.clone())
            .and_then(|builder| builder.prepare())
            .map_err(|err| format!("its schemas cannot be registered: {err}"))?;
        Ok(Spec {
            document,
            registry,
            operations,
            seed,
        })
    }

    pub fn document(&self) -> &Value {
        &self.document
    }

    pub fn seed(&self) -> u64 {
        self.seed
    }

    pub fn operations(&self) -> &[Operation] {
        &self.operations
    }

    /// The operation for `method` on an Orb resource path (without `/v1`), preferring the
    /// template with the most literal segments (`/invoices/upcoming` over
    /// `/invoices/{invoice_id}`). `HEAD` is served by `GET`.
    pub fn find(&self, method: &Method, path: &str) -> Option<Matched<'_>> {
        let method = if method == Method::HEAD {
            &Method::GET
        } else {
            method
        };
        let parts: Vec<&str> = path.strip_prefix('/').unwrap_or(path).split('/').collect();
        self.operations
            .iter()
            .filter(|operation| operation.method == *method)
            .filter_map(|operation| {
                let params = operation.match_path(&parts)?;
                let literals = operation.segments.len() - params.len();
                Some((literals, operation, params))
            })
            .max_by_key(|(literals, _, _)| *literals)
            .map(|(_, operation, path_params)| Matched {
                operation,
                path_params,
            })
    }

    /// The validators of `operation`, compiled on first use.
    pub(crate) fn validators<'a>(
        &self,
        operation: &'a Operation,
    ) -> Result<&'a validate::Validators, String> {
        operation
            .validators
            .get_or_init(|| validate::Validators::compile(self, operation))
            .as_ref()
            .map_err(Clone::clone)
    }

    /// The schema a pointer into the document names, following `$ref`s.
    pub(crate) fn resolve<'a>(&'a self, schema: &'a Value) -> &'a Value {
        resolve(&self.document, schema)
    }
}

impl Operation {
    fn match_path(&self, parts: &[&str]) -> Option<Vec<(String, String)>> {
        if parts.len() != self.segments.len() {
            return None;
        }
        let mut params = Vec::new();
        for (segment, part) in self.segments.iter().zip(parts) {
            match segment {
                Segment::Literal(literal) if literal != part => return None,
                Segment::Param(_) if part.is_empty() => return None,
                Segment::Param(name) => params.push((name.clone(), decode(part))),
                Segment::Literal(_) => {}
            }
        }
        Some(params)
    }

    /// Whether the operation documents `status`.
    pub fn documents(&self, spec: &Spec, status: u16) -> bool {
        spec.document
            .pointer(&format!("{}/responses", self.pointer))
            .and_then(Value::as_object)
            .is_some_and(|responses| {
                responses.contains_key(&status.to_string())
                    || responses.contains_key(&format!("{}XX", status / 100))
                    || responses.contains_key("default")
            })
    }
}

/// A percent-decoded path segment.
fn decode(part: &str) -> String {
    form_urlencoded::parse(format!("x={}", part.replace('+', "%2B")).as_bytes())
        .next()
        .map(|(_, value)| value.into_owned())
        .unwrap_or_else(|| part.to_owned())
}

/// JSON first (the usual form, and a strict subset of YAML), then YAML.
fn parse(text: &str) -> Result<Value, String> {
    match serde_json::from_str(text) {
        Ok(value) => Ok(value),
        Err(json) if text.trim_start().starts_with('{') => Err(json.to_string()),
        Err(_) => serde_norway::from_str(text).map_err(|err| err.to_string()),
    }
}

/// Follows `$ref`s (local ones, `#/...`) from `schema` to the schema they name.
pub(crate) fn resolve<'a>(document: &'a Value, mut schema: &'a Value) -> &'a Value {
    for _ in 0..32 {
        let Some(reference) = schema.get("$ref").and_then(Value::as_str) else {
            return schema;
        };
        let Some(target) = reference
            .strip_prefix('#')
            .and_then(|pointer| document.pointer(pointer))
        else {
            return schema;
        };
        schema = target;
    }
    schema
}

/// `~` and `/` escaped for a JSON pointer segment.
fn escape(segment: &str) -> String {
    segment.replace('~', "~0").replace('/', "~1")
}

const METHODS: [&str; 7] = ["get", "put", "post", "delete", "patch", "head", "options"];

fn index_operations(document: &Value) -> Result<Vec<Operation>, String> {
    let paths = document
        .get("paths")
        .and_then(Value::as_object)
        .ok_or("it has no `paths` object")?;
    let mut operations = Vec::new();
    for (template, item) in paths {
        let Some(item) = item.as_object() else {
            continue;
        };
        let item_pointer = format!("/paths/{}", escape(template));
        let shared = item
            .get("parameters")
            .map(|_| format!("{item_pointer}/parameters"));
        for (method, operation) in item {
            if !METHODS.contains(&method.as_str()) {
                continue;
            }
            let pointer = format!("{item_pointer}/{method}");
            let method = Method::from_bytes(method.to_ascii_uppercase().as_bytes())
                .map_err(|_| format!("bad method {method} on {template}"))?;
            let mut parameters = Vec::new();
            for list in [shared.clone(), Some(format!("{pointer}/parameters"))]
                .into_iter()
                .flatten()
            {
                collect_parameters(document, &list, &mut parameters);
            }
            let body = body_of(document, operation, &pointer);
            let success = success_of(document, operation, &pointer);
            let segments = template
                .strip_prefix('/')
                .unwrap_or(template)
                .split('/')
                .map(
                    |segment| match segment.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
                        Some(name) => Segment::Param(name.to_owned()),
                        None => Segment::Literal(segment.to_owned()),
                    },
                )
                .collect();
            operations.push(Operation {
                method,
                template: template.clone(),
                segments,
                pointer,
                parameters,
                body,
                success,
                validators: OnceLock::new(),
            });
        }
    }
    Ok(operations)
}

/// The parameters at `list` (a pointer to a `parameters` array), `$ref`s followed; a later
/// definition of the same name and location replaces an earlier one.
fn collect_parameters(document: &Value, list: &str, into: &mut Vec<Parameter>) {
    let Some(items) = document.pointer(list).and_then(Value::as_array) else {
        return;
    };
    for (index, mut parameter) in items.iter().enumerate() {
        let mut pointer = format!("{list}/{index}");
        if let Some(target) = parameter
            .get("$ref")
            .and_then(Value::as_str)
            .and_then(|r| r.strip_prefix('#'))
        {
            pointer = target.to_owned();
            parameter = document.pointer(target).unwrap_or(&Value::Null);
        }
        let (Some(name), Some(location)) = (
            parameter.get("name").and_then(Value::as_str),
            parameter.get("in").and_then(Value::as_str),
        ) else {
            continue;
        };
        let location = match location {
            "path" => Location::Path,
            "query" => Location::Query,
            _ => continue,
        };
        let schema = if parameter.get("schema").is_some() {
            format!("{pointer}/schema")
        } else {
            continue;
        };
        into.retain(|p: &Parameter| !(p.name == name && p.location == location));
        into.push(Parameter {
            name: name.to_owned(),
            location,
            required: location == Location::Path
                || parameter.get("required").and_then(Value::as_bool) == Some(true),
            schema,
        });
    }
}

fn body_of(document: &Value, operation: &Value, pointer: &str) -> Option<(String, bool)> {
    let mut body_pointer = format!("{pointer}/requestBody");
    let mut body = operation.get("requestBody")?;
    if let Some(target) = body
        .get("$ref")
        .and_then(Value::as_str)
        .and_then(|r| r.strip_prefix('#'))
    {
        body_pointer = target.to_owned();
        body = document.pointer(target)?;
    }
    body.get("content")?
        .get("application/json")?
        .get("schema")?;
    let required = body.get("required").and_then(Value::as_bool) == Some(true);
    Some((
        format!("{body_pointer}/content/application~1json/schema"),
        required,
    ))
}

fn success_of(document: &Value, operation: &Value, pointer: &str) -> Option<(u16, Option<String>)> {
    let responses = operation.get("responses")?.as_object()?;
    let (status, response) = responses
        .iter()
        .filter_map(|(code, response)| Some((code.parse::<u16>().ok()?, response)))
        .filter(|(status, _)| (200..300).contains(status))
        .min_by_key(|(status, _)| *status)?;
    let mut response_pointer = format!("{pointer}/responses/{status}");
    let mut response = response;
    if let Some(target) = response
        .get("$ref")
        .and_then(Value::as_str)
        .and_then(|r| r.strip_prefix('#'))
    {
        response_pointer = target.to_owned();
        response = document.pointer(target)?;
    }
    let schema = response
        .get("content")
        .and_then(|content| content.get("application/json"))
        .and_then(|json| json.get("schema"))
        .map(|_| format!("{response_pointer}/content/application~1json/schema"));
    Some((status, schema))
}

/// Rewrites OpenAPI 3.0's schema dialect into JSON Schema 2020-12 (3.1's), so one validator
/// and one generator serve both: `nullable: true` becomes a `null` alternative, and boolean
/// `exclusiveMinimum`/`exclusiveMaximum` become numeric bounds.
fn upgrade_3_0(value: &mut Value) {
    match value {
        Value::Array(items) => items.iter_mut().for_each(upgrade_3_0),
        Value::Object(map) => {
            map.values_mut().for_each(upgrade_3_0);
            for (flag, bound) in [
                ("exclusiveMinimum", "minimum"),
                ("exclusiveMaximum", "maximum"),
            ] {
                if let Some(Value::Bool(exclusive)) = map.get(flag).cloned() {
                    map.remove(flag);
                    if exclusive {
                        if let Some(limit) = map.remove(bound) {
                            map.insert(flag.to_owned(), limit);
                        }
                    }
                }
            }
            if map.remove("nullable") == Some(Value::Bool(true)) {
                let inner = Value::Object(std::mem::take(map));
                map.insert(
                    "anyOf".to_owned(),
                    Value::Array(vec![inner, serde_json::json!({"type": "null"})]),
                );
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn spec() -> Spec {
        Spec::from_document(
            json!({
                "openapi": "3.1.0",
                "paths": {
                    "/invoices/{invoice_id}": {"get": {"responses": {"200": {"description": "ok"}}}},
                    "/invoices/upcoming": {"get": {"responses": {"204": {"description": "ok"}}}}
                }
            }),
            0,
        )
        .unwrap()
    }

    #[test]
    fn a_literal_template_wins_over_a_parameter() {
        let spec = spec();
        let matched = spec.find(&Method::GET, "/invoices/upcoming").unwrap();
        assert_eq!(matched.operation.template, "/invoices/upcoming");
        let matched = spec.find(&Method::GET, "/invoices/inv%201").unwrap();
        assert_eq!(matched.operation.template, "/invoices/{invoice_id}");
        assert_eq!(
            matched.path_params,
            vec![("invoice_id".into(), "inv 1".into())]
        );
        assert!(spec.find(&Method::POST, "/invoices/upcoming").is_none());
        assert!(spec.find(&Method::GET, "/invoices//").is_none());
    }

    #[test]
    fn openapi_3_0_nullable_becomes_a_null_alternative() {
        let mut schema =
            json!({"type": "integer", "nullable": true, "minimum": 1, "exclusiveMinimum": true});
        upgrade_3_0(&mut schema);
        assert_eq!(
            schema,
            json!({"anyOf": [{"type": "integer", "exclusiveMinimum": 1}, {"type": "null"}]})
        );
    }

    #[test]
    fn a_document_of_another_version_is_refused() {
        let error = Spec::from_document(json!({"openapi": "2.0", "paths": {}}), 0)
            .err()
            .unwrap();
        assert!(error.contains("2.0"), "{error}");
    }
}
