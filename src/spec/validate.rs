//! A request checked against its operation: path parameters, query parameters and the JSON
//! body, each problem reported once, naming its field.
//!
//! Parameters arrive as text, so each value is first read as the JSON its schema expects (an
//! integer, a boolean, an array for `status[]=a&status[]=b`), then the whole request is checked
//! in one pass as `{"path": {...}, "query": {...}, "body": ...}` against a schema that refers
//! into the document. `oneOf`/`anyOf` failures are reported through the branch that came
//! closest (for a discriminated union, the branch its discriminator picked), not as one opaque
//! "matches none".

use jsonschema::error::ValidationErrorKind;
use jsonschema::paths::LocationSegment;
use jsonschema::{ValidationError, Validator};
use serde_json::{json, Map, Value};

use super::{Location, Operation, Spec, ROOT_URI};

/// What one operation needs to check requests and its own answers.
pub(crate) struct Validators {
    request: Validator,
    response: Option<Validator>,
    params: Vec<Shape>,
}

/// How a parameter's text becomes JSON.
struct Shape {
    name: String,
    location: Location,
    /// A list (`status[]=a&status[]=b`), and the types its items (or its value) may take.
    array: bool,
    types: Types,
}

#[derive(Default, Clone, Copy)]
struct Types {
    integer: bool,
    number: bool,
    boolean: bool,
}

/// A request, as far as validation needs it.
pub struct Request<'a> {
    pub path_params: &'a [(String, String)],
    pub query: Option<&'a str>,
    pub body: &'a [u8],
}

impl Validators {
    pub(crate) fn compile(spec: &Spec, operation: &Operation) -> Result<Validators, String> {
        let reference =
            |pointer: &str| json!({"$ref": format!("{ROOT_URI}#{}", fragment(pointer))});
        let mut groups = Map::new();
        for (location, key) in [(Location::Path, "path"), (Location::Query, "query")] {
            let params = operation
                .parameters
                .iter()
                .filter(|parameter| parameter.location == location);
            let properties: Map<String, Value> = params
                .clone()
                .map(|parameter| (parameter.name.clone(), reference(&parameter.schema)))
                .collect();
            let required: Vec<&str> = params
                .filter(|parameter| parameter.required)
                .map(|parameter| parameter.name.as_str())
                .collect();
            groups.insert(
                key.to_owned(),
                json!({"type": "object", "properties": properties, "required": required}),
            );
        }
        if let Some((pointer, _)) = &operation.body {
            groups.insert("body".to_owned(), reference(pointer));
        }
        let request = json!({"type": "object", "properties": groups});
        let request = build(spec, &request)?;
        let response = match &operation.success {
            Some((_, Some(pointer))) => Some(build(spec, &reference(pointer))?),
            _ => None,
        };
        let params = operation
            .parameters
            .iter()
            .map(|parameter| {
                let schema = spec
                    .document()
                    .pointer(&parameter.schema)
                    .unwrap_or(&Value::Null);
                let (array, types) = shape(spec, schema);
                Shape {
                    name: parameter.name.clone(),
                    location: parameter.location,
                    array,
                    types,
                }
            })
            .collect();
        Ok(Validators {
            request,
            response,
            params,
        })
    }

    /// Every problem with the request, each as `field: problem`; empty when it is valid.
    pub fn check(&self, operation: &Operation, request: &Request<'_>) -> Vec<String> {
        let mut problems = Vec::new();
        let mut instance = Map::new();
        let path: Map<String, Value> = request
            .path_params
            .iter()
            .map(|(name, value)| {
                let types = self.shape(Location::Path, name).map(|s| s.types);
                (name.clone(), coerce(value, types.unwrap_or_default()))
            })
            .collect();
        instance.insert("path".to_owned(), Value::Object(path));
        instance.insert(
            "query".to_owned(),
            Value::Object(self.query(request.query.unwrap_or(""), &mut problems)),
        );
        if let Some((_, required)) = &operation.body {
            if request.body.iter().all(u8::is_ascii_whitespace) {
                if *required {
                    instance.insert("body".to_owned(), json!({}));
                }
            } else {
                match serde_json::from_slice::<Value>(request.body) {
                    Ok(body) => {
                        instance.insert("body".to_owned(), body);
                    }
                    Err(err) => problems.push(format!("body: is not valid JSON ({err})")),
                }
            }
        }
        let instance = Value::Object(instance);
        for error in self.request.iter_errors(&instance) {
            report(&error, &mut problems);
        }
        problems.dedup();
        problems
    }

    /// The problems of a generated answer against the success schema.
    pub fn response_errors(&self, body: &Value) -> Vec<String> {
        match &self.response {
            Some(validator) => validator
                .iter_errors(body)
                .map(|error| format!("{}: {}", error.instance_path(), error.masked()))
                .collect(),
            None => Vec::new(),
        }
    }

    fn shape(&self, location: Location, name: &str) -> Option<&Shape> {
        self.params
            .iter()
            .find(|shape| shape.location == location && shape.name == name)
    }

    /// The query string as JSON, by parameter; unknown or repeated parameters are problems.
    /// `status[]=a` and `status=a` both name a list parameter `status[]` (or `status`).
    fn query(&self, query: &str, problems: &mut Vec<String>) -> Map<String, Value> {
        let mut values = Map::new();
        for (name, value) in form_urlencoded::parse(query.as_bytes()) {
            let shape = self.shape(Location::Query, &name).or_else(|| {
                let other = match name.strip_suffix("[]") {
                    Some(bare) => bare.to_owned(),
                    None => format!("{name}[]"),
                };
                self.shape(Location::Query, &other)
                    .filter(|shape| shape.array)
            });
            let Some(shape) = shape else {
                problems.push(format!("{name}: is not a query parameter of this route"));
                continue;
            };
            let value = coerce(&value, shape.types);
            if shape.array {
                let list = values
                    .entry(shape.name.clone())
                    .or_insert_with(|| Value::Array(Vec::new()));
                if let Value::Array(list) = list {
                    list.push(value);
                }
            } else if values.insert(shape.name.clone(), value).is_some() {
                problems.push(format!("{name}: is given more than once"));
            }
        }
        values
    }
}

fn build(spec: &Spec, schema: &Value) -> Result<Validator, String> {
    jsonschema::draft202012::options()
        .with_registry(&spec.registry)
        .should_validate_formats(true)
        .build(schema)
        .map_err(|err| format!("cannot compile a schema of the document: {err}"))
}

/// A JSON pointer written as a URI fragment.
fn fragment(pointer: &str) -> String {
    let mut out = String::with_capacity(pointer.len());
    for byte in pointer.bytes() {
        if byte.is_ascii_alphanumeric() || b"/~-._".contains(&byte) {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// Whether a parameter's schema is a list, and the scalar types its values may take.
fn shape(spec: &Spec, schema: &Value) -> (bool, Types) {
    let mut array = false;
    let mut types = Types::default();
    let mut visit = vec![(schema, false)];
    let mut steps = 0;
    while let Some((schema, in_items)) = visit.pop() {
        steps += 1;
        if steps > 64 {
            break;
        }
        let schema = spec.resolve(schema);
        let declared: Vec<&str> = match schema.get("type") {
            Some(Value::String(kind)) => vec![kind.as_str()],
            Some(Value::Array(kinds)) => kinds.iter().filter_map(Value::as_str).collect(),
            _ => Vec::new(),
        };
        for kind in declared {
            match kind {
                "integer" => types.integer = true,
                "number" => types.number = true,
                "boolean" => types.boolean = true,
                "array" if !in_items => {
                    array = true;
                    if let Some(items) = schema.get("items") {
                        visit.push((items, true));
                    }
                }
                _ => {}
            }
        }
        for keyword in ["oneOf", "anyOf", "allOf"] {
            if let Some(branches) = schema.get(keyword).and_then(Value::as_array) {
                visit.extend(branches.iter().map(|branch| (branch, in_items)));
            }
        }
    }
    (array, types)
}

/// A parameter's text as the JSON its schema expects; text that is not that stays a string,
/// so that the validator names the problem.
fn coerce(text: &str, types: Types) -> Value {
    if types.integer {
        if let Ok(integer) = text.parse::<i64>() {
            return Value::from(integer);
        }
    }
    if types.number {
        if let Some(number) = text
            .parse::<f64>()
            .ok()
            .and_then(serde_json::Number::from_f64)
        {
            return Value::Number(number);
        }
    }
    if types.boolean && (text == "true" || text == "false") {
        return Value::Bool(text == "true");
    }
    Value::String(text.to_owned())
}

/// Adds one `field: problem` line per failure; a failed `oneOf`/`anyOf` reports the closest
/// branch's problems.
fn report(error: &ValidationError<'_>, problems: &mut Vec<String>) {
    match error.kind() {
        ValidationErrorKind::OneOfNotValid { context } | ValidationErrorKind::AnyOf { context }
            if !context.is_empty() =>
        {
            if let Some(closest) = context.iter().min_by_key(|branch| branch.len()) {
                if !closest.is_empty() {
                    closest.iter().for_each(|error| report(error, problems));
                    return;
                }
            }
            problems.push(format!(
                "{}: matches none of the allowed shapes",
                field(error)
            ));
        }
        ValidationErrorKind::Required { property } => {
            let name = property
                .as_str()
                .map_or_else(|| property.to_string(), str::to_owned);
            let parent = field(error);
            let field = match parent.as_str() {
                "body" | "path" | "query" => name,
                _ => format!("{parent}.{name}"),
            };
            problems.push(format!("{field}: is required"));
        }
        _ => problems.push(format!("{}: {}", field(error), error.masked())),
    }
}

/// The field an error is about: a parameter's name (`limit`, `status[]`, `plan_id`), a body
/// field's path (`price.model_type`, `prices[0].cadence`), or `body`.
fn field(error: &ValidationError<'_>) -> String {
    let mut segments = error.instance_path().iter();
    let group = segments.next().map(|segment| segment.to_string());
    let mut field = String::new();
    for segment in segments {
        match segment {
            LocationSegment::Property(name) => {
                if !field.is_empty() {
                    if group.as_deref() != Some("body") {
                        break;
                    }
                    field.push('.');
                }
                field.push_str(&name);
            }
            LocationSegment::Index(index) if group.as_deref() == Some("body") => {
                field.push_str(&format!("[{index}]"));
            }
            LocationSegment::Index(_) => {}
        }
    }
    match (group, field.is_empty()) {
        (_, false) => field,
        (Some(group), true) => group,
        (None, true) => "request".to_owned(),
    }
}
