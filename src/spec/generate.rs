//! A deterministic, schema-valid example of a schema: the body of a generated answer.
//!
//! Written here rather than taken from a crate: the Rust crates that fake JSON from a schema
//! (`json_schema_faker`-style ports) either draw from the thread's random source, so the same
//! request would not give the same body, or do not follow `$ref`s into an OpenAPI document,
//! `oneOf` discriminators and `allOf` merges. The walk is small; the seed makes it repeatable;
//! the caller checks the result against the schema with `jsonschema` and tries another seed in
//! the rare case a union's branches overlap.
//!
//! Shapes are believable rather than random noise: every documented property is present,
//! enums take a documented value, `date-time`/`date`/`email`/`uri` are well formed, ids look
//! like Orb's, amounts (strings in Orb's API) look like amounts, and a list holds one item.

use serde_json::{Map, Value};

use super::resolve;

/// Past this depth of nesting, only what is required is generated (nullable becomes null,
/// lists become empty), so that recursive schemas end.
const DEEP: usize = 8;

/// Generates an example of `schema` (within `document`) from `seed`.
pub fn example(document: &Value, schema: &Value, seed: u64) -> Value {
    let mut generator = Generator {
        document,
        state: seed ^ 0x9E37_79B9_7F4A_7C15,
    };
    generator.value(schema, None, 0)
}

struct Generator<'a> {
    document: &'a Value,
    state: u64,
}

impl Generator<'_> {
    /// splitmix64: tiny, fast and stable across versions (a body must not change when a
    /// dependency is upgraded).
    fn next(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, bound: usize) -> usize {
        if bound == 0 {
            0
        } else {
            (self.next() % bound as u64) as usize
        }
    }

    fn value(&mut self, schema: &Value, key: Option<&str>, depth: usize) -> Value {
        let schema = resolve(self.document, schema);
        let Some(object) = schema.as_object() else {
            // `true` or `{}`-like: anything goes.
            return Value::String(self.word(key));
        };
        if let Some(constant) = object.get("const") {
            return constant.clone();
        }
        if let Some(Value::Array(options)) = object.get("enum") {
            return self.pick(options, depth).cloned().unwrap_or(Value::Null);
        }
        if let Some(Value::Array(parts)) = object.get("allOf") {
            return self.all_of(object, parts, key, depth);
        }
        for keyword in ["oneOf", "anyOf"] {
            if let Some(Value::Array(branches)) = object.get(keyword) {
                let branch = self.branch(branches, depth);
                let mut value = self.value(branch, key, depth);
                // Sibling properties (beside the union) still apply.
                if object.contains_key("properties") {
                    if let Value::Object(extra) = self.object(object, depth) {
                        merge(&mut value, extra);
                    }
                }
                return value;
            }
        }
        match self.kind(object, depth) {
            "null" => Value::Null,
            "boolean" => Value::Bool(self.next().is_multiple_of(2)),
            "integer" => Value::from(self.integer(object)),
            "number" => self.number(object),
            "array" => self.array(object, key, depth),
            "object" => self.object(object, depth),
            _ => self.string(object, key),
        }
    }

    /// The type to generate: the declared one (the first not `null`, unless deep), or the one
    /// the keywords imply.
    fn kind<'s>(&mut self, object: &'s Map<String, Value>, depth: usize) -> &'s str {
        match object.get("type") {
            Some(Value::String(kind)) => kind,
            Some(Value::Array(kinds)) => {
                let kinds: Vec<&str> = kinds.iter().filter_map(Value::as_str).collect();
                if depth >= DEEP && kinds.contains(&"null") {
                    return "null";
                }
                kinds
                    .iter()
                    .copied()
                    .find(|kind| *kind != "null")
                    .or_else(|| kinds.first().copied())
                    .unwrap_or("null")
            }
            _ if object.contains_key("properties") => "object",
            _ if object.contains_key("items") => "array",
            _ => "string",
        }
    }

    /// An enum value; `null` only when nothing else is offered, or when deep.
    fn pick<'v>(&mut self, options: &'v [Value], depth: usize) -> Option<&'v Value> {
        let non_null: Vec<&Value> = options.iter().filter(|v| !v.is_null()).collect();
        if non_null.is_empty() || (depth >= DEEP && non_null.len() < options.len()) {
            return options.iter().find(|v| v.is_null()).or(options.first());
        }
        let index = self.below(non_null.len());
        Some(non_null[index])
    }

    /// A union's branch: not the `null` one unless deep (or it is the only one).
    fn branch<'v>(&mut self, branches: &'v [Value], depth: usize) -> &'v Value {
        let is_null = |branch: &Value| {
            resolve(self.document, branch)
                .get("type")
                .and_then(Value::as_str)
                == Some("null")
        };
        let non_null: Vec<&Value> = branches.iter().filter(|b| !is_null(b)).collect();
        if depth >= DEEP || non_null.is_empty() {
            if let Some(null) = branches.iter().find(|b| is_null(b)) {
                return null;
            }
        }
        if non_null.is_empty() {
            return &branches[0];
        }
        let index = self.below(non_null.len());
        non_null[index]
    }

    fn all_of(
        &mut self,
        object: &Map<String, Value>,
        parts: &[Value],
        key: Option<&str>,
        depth: usize,
    ) -> Value {
        let mut merged = Value::Object(Map::new());
        for part in parts {
            match self.value(part, key, depth) {
                Value::Object(fields) => merge(&mut merged, fields),
                other if parts.len() == 1 => return other,
                _ => {}
            }
        }
        if object.contains_key("properties") {
            if let Value::Object(extra) = self.object(object, depth) {
                merge(&mut merged, extra);
            }
        }
        merged
    }

    fn object(&mut self, object: &Map<String, Value>, depth: usize) -> Value {
        let required: Vec<&str> = object
            .get("required")
            .and_then(Value::as_array)
            .map(|names| names.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        let mut out = Map::new();
        if let Some(Value::Object(properties)) = object.get("properties") {
            for (name, schema) in properties {
                if depth >= DEEP && !required.contains(&name.as_str()) {
                    continue;
                }
                let value = self.value(schema, Some(name), depth + 1);
                out.insert(name.clone(), value);
            }
        }
        // A free-form map (`metadata`, an event's `properties`) gets the entries it must have.
        let min = object
            .get("minProperties")
            .and_then(Value::as_u64)
            .unwrap_or(0) as usize;
        let extra = match object.get("additionalProperties") {
            Some(Value::Bool(false)) => None,
            Some(schema @ Value::Object(_)) => Some(schema.clone()),
            _ => Some(Value::Bool(true)),
        };
        if let Some(extra) = extra {
            let mut index = 0;
            while out.len() < min {
                index += 1;
                let value = self.value(&extra, Some("key"), depth + 1);
                out.insert(format!("key_{index}"), value);
            }
        }
        Value::Object(out)
    }

    fn array(&mut self, object: &Map<String, Value>, key: Option<&str>, depth: usize) -> Value {
        let min = object.get("minItems").and_then(Value::as_u64).unwrap_or(0) as usize;
        let max = object
            .get("maxItems")
            .and_then(Value::as_u64)
            .map_or(usize::MAX, |max| max as usize);
        let count = if depth >= DEEP { min } else { min.max(1) }.min(max);
        let items = object.get("items").cloned().unwrap_or(Value::Bool(true));
        let mut out = Vec::with_capacity(count);
        for _ in 0..count {
            let item = self.value(&items, key, depth + 1);
            let unique = object.get("uniqueItems") != Some(&Value::Bool(true));
            if unique || !out.contains(&item) {
                out.push(item);
            }
        }
        Value::Array(out)
    }

    fn integer(&mut self, object: &Map<String, Value>) -> i64 {
        let mut low = object
            .get("minimum")
            .and_then(Value::as_f64)
            .unwrap_or(0.0)
            .ceil() as i64;
        if let Some(bound) = object.get("exclusiveMinimum").and_then(Value::as_f64) {
            low = low.max(bound.floor() as i64 + 1);
        }
        let mut high = object
            .get("maximum")
            .and_then(Value::as_f64)
            .map_or(low.saturating_add(100), |max| max.floor() as i64);
        if let Some(bound) = object.get("exclusiveMaximum").and_then(Value::as_f64) {
            high = high.min(bound.ceil() as i64 - 1);
        }
        if high <= low {
            return low;
        }
        let span = (high - low).min(1000) as u64 + 1;
        low + (self.next() % span) as i64
    }

    fn number(&mut self, object: &Map<String, Value>) -> Value {
        let integer = self.integer(object);
        let fraction = (self.next() % 100) as f64 / 100.0;
        let mut value = integer as f64 + fraction;
        let over = |limit: &str, value: f64| {
            object
                .get(limit)
                .and_then(Value::as_f64)
                .is_some_and(|bound| value >= bound)
        };
        if over("maximum", value + f64::EPSILON) || over("exclusiveMaximum", value) {
            value = integer as f64;
        }
        serde_json::Number::from_f64(value).map_or(Value::from(integer), Value::Number)
    }

    fn string(&mut self, object: &Map<String, Value>, key: Option<&str>) -> Value {
        let text = match object.get("format").and_then(Value::as_str) {
            Some("date-time") => self.date_time(),
            Some("date") => self.date_time()[..10].to_owned(),
            Some("email") => format!("user{}@example.com", self.below(1000)),
            Some("uri" | "url") => format!("https://example.com/{}", self.token(12)),
            Some("uuid") => self.uuid(),
            _ => self.word(key),
        };
        let min = object.get("minLength").and_then(Value::as_u64).unwrap_or(0) as usize;
        let max = object
            .get("maxLength")
            .and_then(Value::as_u64)
            .map_or(usize::MAX, |max| max as usize);
        let mut text = text;
        while text.chars().count() < min {
            text.push('x');
        }
        Value::String(text.chars().take(max).collect())
    }

    /// A plain string that suits its property name.
    fn word(&mut self, key: Option<&str>) -> String {
        let key = key.unwrap_or("value");
        if key == "id" || key.ends_with("_id") || key.ends_with("_ids") {
            return self.token(22);
        }
        if key == "currency" || key.ends_with("_currency") {
            return "USD".to_owned();
        }
        let amount_like = [
            "amount", "balance", "total", "subtotal", "quantity", "price", "cost", "credits",
            "rate",
        ];
        if amount_like.iter().any(|word| key.contains(word)) {
            return format!("{}.{:02}", self.below(1000), self.below(100));
        }
        if key.ends_with("url") {
            return format!("https://example.com/{}", self.token(12));
        }
        if key == "timezone" {
            return "UTC".to_owned();
        }
        format!("{}_{}", key.trim_end_matches('s'), self.token(6))
    }

    /// Lowercase letters and digits, like Orb's ids.
    fn token(&mut self, length: usize) -> String {
        const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ";
        (0..length)
            .map(|_| ALPHABET[self.below(ALPHABET.len())] as char)
            .collect()
    }

    fn uuid(&mut self) -> String {
        let a = self.next();
        let b = self.next();
        format!(
            "{:08x}-{:04x}-4{:03x}-8{:03x}-{:012x}",
            a >> 32,
            (a >> 16) & 0xffff,
            a & 0xfff,
            b >> 52,
            b & 0xffff_ffff_ffff
        )
    }

    /// A moment in 2025, to the second, in Orb's `+00:00` form.
    fn date_time(&mut self) -> String {
        const START: i64 = 1_735_689_600; // 2025-01-01T00:00:00Z
        let offset = (self.next() % (365 * 24 * 3600)) as i64;
        chrono::DateTime::from_timestamp(START + offset, 0)
            .unwrap_or_default()
            .format("%Y-%m-%dT%H:%M:%S+00:00")
            .to_string()
    }
}

fn merge(into: &mut Value, fields: Map<String, Value>) {
    if let Value::Object(into) = into {
        into.extend(fields);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_same_seed_gives_the_same_example_and_another_seed_another() {
        let document = json!({});
        let schema = json!({"type": "object", "properties": {
            "id": {"type": "string"},
            "count": {"type": "integer", "minimum": 5, "maximum": 7},
            "at": {"type": "string", "format": "date-time"}
        }});
        let one = example(&document, &schema, 1);
        assert_eq!(one, example(&document, &schema, 1));
        assert_ne!(one, example(&document, &schema, 2));
        let count = one["count"].as_i64().unwrap();
        assert!((5..=7).contains(&count), "{one}");
        assert!(one["at"].as_str().unwrap().ends_with("+00:00"));
    }

    #[test]
    fn a_recursive_schema_ends() {
        let document = json!({"components": {"schemas": {"Node": {
            "type": "object",
            "required": ["name"],
            "properties": {
                "name": {"type": "string"},
                "child": {"anyOf": [{"$ref": "#/components/schemas/Node"}, {"type": "null"}]}
            }
        }}}});
        let value = example(&document, &json!({"$ref": "#/components/schemas/Node"}), 3);
        assert!(value["name"].is_string(), "{value}");
    }
}
