//! The table of routes that the real Orb API has, used by the router's fallback.
//!
//! orb-mock emulates only part of Orb. When a request matches none of its own
//! routes, the fallback must answer the way Orb would for the missing piece:
//!
//! * a path Orb has, but orb-mock does not emulate, answers
//!   400 `404-feature-not-available` (the client is talking to a real Orb
//!   endpoint that this emulator simply does not implement);
//! * a path Orb does not have at all answers 404 `url-not-found`.
//!
//! To tell these apart we need Orb's route list. It lives in `orb_routes.txt`,
//! generated from Orb's OpenAPI document by `scripts/gen-orb-routes.py`
//! (method + path pairs only), embedded at compile time and parsed once.
//! The test `the_route_table_matches_orbs_openapi_document` keeps the table in
//! step with the document.

use std::sync::LazyLock;

use axum::http::Method;

/// How a request's method and path relate to Orb's real API.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OrbRoute {
    /// Orb has this method on this path.
    Known,
    /// Orb has the path, but not with this method.
    OtherMethod,
    /// Orb has no such path.
    Unknown,
}

/// The generated table: `METHOD /path/{template}` lines, `#` comments.
const TABLE: &str = include_str!("orb_routes.txt");

/// Routes the pinned SDKs (`orb-billing` 4.90.0 and npm 6.11.0) call that are newer than the
/// document the table is generated from; the SDKs' types are the reference for them.
const NEWER_THAN_THE_DOCUMENT: &str = "
POST /webhook_endpoints
GET /webhook_endpoints
GET /webhook_endpoints/{webhook_endpoint_id}
PUT /webhook_endpoints/{webhook_endpoint_id}
DELETE /webhook_endpoints/{webhook_endpoint_id}
POST /webhook_endpoints/{webhook_endpoint_id}/disable
POST /webhook_endpoints/{webhook_endpoint_id}/enable
";

/// One parsed line of the table.
struct Route {
    method: Method,
    /// The path exactly as written in the table (and in Orb's document).
    #[cfg_attr(not(test), allow(dead_code))]
    path: &'static str,
    /// Path segments after the leading `/`; `None` is a `{param}` segment.
    segments: Vec<Option<&'static str>>,
}

static ROUTES: LazyLock<Vec<Route>> = LazyLock::new(|| {
    let mut routes = parse_table(TABLE);
    routes.extend(parse_table(NEWER_THAN_THE_DOCUMENT));
    routes
});

fn parse_table(table: &'static str) -> Vec<Route> {
    table
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
        .map(|line| {
            let (method, path) = line
                .split_once(' ')
                .unwrap_or_else(|| panic!("orb_routes.txt: malformed line {line:?}"));
            let path = path.trim();
            let method = Method::from_bytes(method.as_bytes())
                .unwrap_or_else(|_| panic!("orb_routes.txt: bad method in {line:?}"));
            let segments = path
                .strip_prefix('/')
                .unwrap_or_else(|| panic!("orb_routes.txt: path must start with '/': {line:?}"))
                .split('/')
                .map(|seg| {
                    if seg.len() >= 2 && seg.starts_with('{') && seg.ends_with('}') {
                        None
                    } else {
                        Some(seg)
                    }
                })
                .collect();
            Route {
                method,
                path,
                segments,
            }
        })
        .collect()
}

/// Does the request path (leading `/` and one trailing `/` already removed)
/// match this route's segments? Walks the path without allocating.
fn path_matches(segments: &[Option<&str>], path: &str) -> bool {
    let mut parts = path.split('/');
    for segment in segments {
        let Some(part) = parts.next() else {
            return false;
        };
        match segment {
            Some(literal) if part != *literal => return false,
            None if part.is_empty() => return false,
            _ => {}
        }
    }
    parts.next().is_none()
}

/// Classify an Orb resource path (without the `/v1` prefix and without the
/// query string, e.g. `/customers/abc/costs`) against Orb's real API.
///
/// A `{param}` segment matches exactly one non-empty segment, literal segments
/// must match exactly, and a trailing slash is ignored. `HEAD` counts as known
/// wherever `GET` is.
/// Every route Orb's API has, as `(method, path template)`.
pub fn routes() -> impl Iterator<Item = (&'static Method, &'static str)> {
    ROUTES.iter().map(|route| (&route.method, route.path))
}

pub fn classify(method: &Method, path: &str) -> OrbRoute {
    let path = path.strip_suffix('/').unwrap_or(path);
    let path = path.strip_prefix('/').unwrap_or(path);

    let mut path_known = false;
    for route in ROUTES.iter() {
        if !path_matches(&route.segments, path) {
            continue;
        }
        if route.method == *method || (*method == Method::HEAD && route.method == Method::GET) {
            return OrbRoute::Known;
        }
        path_known = true;
    }
    if path_known {
        OrbRoute::OtherMethod
    } else {
        OrbRoute::Unknown
    }
}

/// The routes orb-mock models: its own OpenAPI document's, which a test holds equal to the
/// router's.
static MODELLED: LazyLock<Vec<Route>> = LazyLock::new(|| {
    let document = crate::openapi::document();
    let mut table = String::new();
    for (path, operations) in document["paths"].as_object().into_iter().flatten() {
        for method in operations.as_object().into_iter().flatten().map(|(m, _)| m) {
            table.push_str(&format!("{} {path}\n", method.to_uppercase()));
        }
    }
    // Built once per process; the table's paths live as long as it.
    parse_table(Box::leak(table.into_boxed_str()))
});

/// Whether orb-mock's own handlers answer `method` on this Orb resource path (not the `--spec`
/// document). A literal Orb path such as `/invoices/upcoming` is never read as an id.
pub fn is_modelled(method: &Method, path: &str) -> bool {
    let literal = is_literal(method, path);
    let path = path.strip_suffix('/').unwrap_or(path);
    let path = path.strip_prefix('/').unwrap_or(path);
    MODELLED.iter().any(|route| {
        route.method == *method
            && (!literal || route.segments.iter().all(Option::is_some))
            && path_matches(&route.segments, path)
    })
}

/// Whether Orb has `method` on exactly this path, spelled out with no path parameter (such as
/// `GET /invoices/upcoming`). Such a path must not be read as an id by an emulated
/// `/invoices/{invoice_id}` route: it is an Orb route of its own.
pub fn is_literal(method: &Method, path: &str) -> bool {
    let path = path.strip_prefix('/').unwrap_or(path);
    ROUTES.iter().any(|route| {
        route.method == *method
            && route.segments.iter().all(Option::is_some)
            && path_matches(&route.segments, path)
    })
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;

    #[test]
    fn a_route_with_a_path_parameter_is_known() {
        assert_eq!(
            classify(&Method::GET, "/customers/abc/costs"),
            OrbRoute::Known
        );
        assert_eq!(
            classify(&Method::DELETE, "/customers/cus_123"),
            OrbRoute::Known
        );
    }

    #[test]
    fn a_fixed_path_beside_an_id_route_is_literal_and_an_id_is_not() {
        assert!(is_literal(&Method::GET, "/invoices/upcoming"));
        assert!(!is_literal(&Method::GET, "/invoices/abc123"));
        assert!(!is_literal(&Method::DELETE, "/invoices/upcoming"));
    }

    #[test]
    fn a_literal_route_is_known() {
        assert_eq!(classify(&Method::GET, "/customers"), OrbRoute::Known);
        assert_eq!(classify(&Method::POST, "/customers"), OrbRoute::Known);
        assert_eq!(classify(&Method::GET, "/ping"), OrbRoute::Known);
    }

    #[test]
    fn a_known_path_with_the_wrong_method_is_other_method() {
        assert_eq!(
            classify(&Method::POST, "/customers/abc"),
            OrbRoute::OtherMethod
        );
        assert_eq!(classify(&Method::DELETE, "/ping"), OrbRoute::OtherMethod);
    }

    #[test]
    fn head_is_known_wherever_get_is() {
        assert_eq!(classify(&Method::HEAD, "/customers/abc"), OrbRoute::Known);
        assert_eq!(
            classify(&Method::HEAD, "/customers/abc/costs"),
            OrbRoute::Known
        );
    }

    #[test]
    fn a_path_orb_does_not_have_is_unknown() {
        assert_eq!(classify(&Method::GET, "/nope"), OrbRoute::Unknown);
        assert_eq!(classify(&Method::GET, "/"), OrbRoute::Unknown);
        assert_eq!(classify(&Method::GET, ""), OrbRoute::Unknown);
        assert_eq!(
            classify(&Method::GET, "/customers/abc/nope"),
            OrbRoute::Unknown
        );
    }

    #[test]
    fn a_trailing_slash_is_treated_like_no_trailing_slash() {
        assert_eq!(classify(&Method::GET, "/customers/"), OrbRoute::Known);
        assert_eq!(
            classify(&Method::GET, "/customers/abc/costs/"),
            OrbRoute::Known
        );
        assert_eq!(
            classify(&Method::POST, "/customers/abc/"),
            OrbRoute::OtherMethod
        );
    }

    #[test]
    fn an_extra_segment_does_not_match() {
        assert_eq!(
            classify(&Method::GET, "/customers/abc/costs/extra"),
            OrbRoute::Unknown
        );
        assert_eq!(classify(&Method::GET, "/ping/extra"), OrbRoute::Unknown);
    }

    #[test]
    fn an_empty_segment_does_not_match_a_path_parameter() {
        assert_eq!(
            classify(&Method::GET, "/customers//costs"),
            OrbRoute::Unknown
        );
        assert_eq!(classify(&Method::GET, "/customers//"), OrbRoute::Unknown);
        assert_eq!(classify(&Method::GET, "/customers///"), OrbRoute::Unknown);
    }

    #[test]
    fn the_route_table_is_non_empty_and_has_no_duplicates() {
        let pairs: BTreeSet<(String, &str)> = ROUTES
            .iter()
            .map(|r| (r.method.to_string(), r.path))
            .collect();
        assert!(!ROUTES.is_empty());
        assert_eq!(
            pairs.len(),
            ROUTES.len(),
            "duplicate lines in orb_routes.txt"
        );
    }

    #[test]
    fn the_route_table_matches_orbs_openapi_document() {
        const HTTP_METHODS: [&str; 7] =
            ["get", "put", "post", "delete", "patch", "head", "options"];

        let Some(doc) = crate::test_env::orb_openapi("the route table check") else {
            return;
        };
        let paths = doc["paths"]
            .as_object()
            .expect("Orb's OpenAPI document has no `paths` object");

        let from_document: BTreeSet<(String, String)> = paths
            .iter()
            .filter_map(|(path, item)| Some((path, item.as_object()?)))
            .flat_map(|(path, item)| {
                item.keys()
                    .filter(|key| HTTP_METHODS.contains(&key.to_ascii_lowercase().as_str()))
                    .map(move |key| (key.to_ascii_uppercase(), path.clone()))
            })
            .collect();
        let from_table: BTreeSet<(String, String)> = parse_table(TABLE)
            .iter()
            .map(|r| (r.method.to_string(), r.path.to_string()))
            .collect();

        let missing: Vec<_> = from_document.difference(&from_table).collect();
        let extra: Vec<_> = from_table.difference(&from_document).collect();
        assert!(
            missing.is_empty() && extra.is_empty(),
            "src/http/orb_routes.txt is out of date; run `python3 scripts/gen-orb-routes.py`.\n\
             in the document but not the table: {missing:#?}\n\
             in the table but not the document: {extra:#?}"
        );
    }
}
