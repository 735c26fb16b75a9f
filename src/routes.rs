//! The route table: which (operation, resource) a request's method and path
//! ask for, and the path normalisation that runs exactly once before it.
//!
//! Pure: the gateway hands in the method and the raw path; nothing here
//! touches the network.

use std::borrow::Cow;
use std::collections::BTreeSet;
use std::fmt;

use percent_encoding::percent_decode_str;
use serde::Deserialize;

use crate::authorize::Request;
use crate::model::{Id, Operation, QueryUse, Resource, ResourceKind};

mod query;

/// The default route table, embedded at build time from `policies/routes.toml`.
pub const DEFAULT_ROUTES: &str = include_str!("../policies/routes.toml");

/// Longest path accepted, in bytes.
const MAX_PATH_BYTES: usize = 2048;
/// Segments a path may have before [`RouteTable::resolve`] keeps them on the heap.
const INLINE_SEGMENTS: usize = 16;

/// Why a route table could not be loaded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RouteTableError {
    /// The TOML does not parse or has the wrong shape.
    #[error("route table is not valid TOML: {0}")]
    Syntax(String),
    /// A path template is not valid.
    #[error("route {index} ({path}): {problem}")]
    BadTemplate {
        /// Position of the route, from 0.
        index: usize,
        /// Its path template.
        path: String,
        /// What is wrong.
        problem: String,
    },
    /// Two routes could match the same request: the later one is unreachable for it.
    #[error("routes {first} ({first_path}) and {second} ({second_path}) overlap on {method}: the later one would be unreachable")]
    Overlap {
        /// The earlier route.
        first: usize,
        /// Its template.
        first_path: String,
        /// The later route.
        second: usize,
        /// Its template.
        second_path: String,
        /// A method both accept.
        method: String,
    },
    /// The table has no route at all.
    #[error("route table is empty")]
    Empty,
}

/// Why a request could not be mapped to an (operation, resource).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum RouteError {
    /// The path is ambiguous or hostile: dot segments, encoded slashes,
    /// empty segments, bad percent-encoding, control characters, too long.
    #[error("the request path is not in canonical form")]
    BadPath,
    /// No route matches the method and path.
    #[error("no route matches this request")]
    NoRoute,
}

impl From<RouteError> for crate::authorize::Reason {
    /// The reason a route refusal is denied with, at the gateway and in
    /// `policy test`.
    fn from(e: RouteError) -> Self {
        match e {
            RouteError::BadPath => crate::authorize::Reason::BadPath,
            RouteError::NoRoute => crate::authorize::Reason::UnknownRoute,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Segment {
    Literal(String),
    Param(String),
}

/// One rule of the table.
#[derive(Debug, Clone)]
struct Route {
    methods: BTreeSet<String>,
    template: String,
    segments: Vec<Segment>,
    operation: Operation,
    resource: ResourceKind,
    query: Vec<query::QueryRule>,
}

/// The loaded, validated route table.
#[derive(Debug, Clone)]
pub struct RouteTable {
    routes: Vec<Route>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RouteFile {
    route: Vec<RouteSpec>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RouteSpec {
    methods: Vec<String>,
    path: String,
    operation: Operation,
    resource: ResourceKind,
    /// Which query parameters sort or filter, and where they name a column.
    #[serde(default)]
    query: Vec<query::QueryRule>,
}

impl RouteTable {
    /// Parses and validates a route table: well-formed templates, a parameter
    /// named after each route's resource, and no two routes overlapping.
    pub fn from_toml(text: &str) -> Result<Self, RouteTableError> {
        let file: RouteFile =
            toml::from_str(text).map_err(|e| RouteTableError::Syntax(e.message().to_owned()))?;
        if file.route.is_empty() {
            return Err(RouteTableError::Empty);
        }
        let mut routes = Vec::with_capacity(file.route.len());
        for (index, spec) in file.route.into_iter().enumerate() {
            let bad = |problem: &str| RouteTableError::BadTemplate {
                index,
                path: spec.path.clone(),
                problem: problem.to_owned(),
            };
            let segments = parse_template(&spec.path).map_err(|p| bad(&p))?;
            let params: Vec<&String> = segments
                .iter()
                .filter_map(|s| match s {
                    Segment::Param(p) => Some(p),
                    Segment::Literal(_) => None,
                })
                .collect();
            if params.iter().collect::<BTreeSet<_>>().len() != params.len() {
                return Err(bad("a parameter name appears twice"));
            }
            if !params.iter().any(|p| p.as_str() == spec.resource.as_str()) {
                return Err(bad(&format!(
                    "the path has no {{{}}} parameter for its resource",
                    spec.resource.as_str()
                )));
            }
            if let Some(problem) = spec.query.iter().find_map(query::QueryRule::problem) {
                return Err(bad(&problem));
            }
            if spec.methods.is_empty() {
                return Err(bad("no methods"));
            }
            let mut methods = BTreeSet::new();
            for m in &spec.methods {
                if m.is_empty() || !m.bytes().all(|b| b.is_ascii_uppercase()) {
                    return Err(bad(&format!(
                        "method {m:?} is not an upper-case HTTP method"
                    )));
                }
                if m == "HEAD" {
                    return Err(bad("HEAD is implied by GET; list GET"));
                }
                methods.insert(m.clone());
            }
            routes.push(Route {
                methods,
                template: spec.path,
                segments,
                operation: spec.operation,
                resource: spec.resource,
                query: spec.query,
            });
        }
        for (i, a) in routes.iter().enumerate() {
            for (j, b) in routes.iter().enumerate().skip(i + 1) {
                if let Some(method) = a.methods.intersection(&b.methods).next() {
                    if templates_overlap(&a.segments, &b.segments) {
                        return Err(RouteTableError::Overlap {
                            first: i,
                            first_path: a.template.clone(),
                            second: j,
                            second_path: b.template.clone(),
                            method: method.clone(),
                        });
                    }
                }
            }
        }
        Ok(RouteTable { routes })
    }

    /// The embedded default table.
    pub fn default_table() -> Result<Self, RouteTableError> {
        RouteTable::from_toml(DEFAULT_ROUTES)
    }

    /// Maps a method and a raw path (query allowed, it is ignored) to the
    /// request it makes. The path is normalised exactly once here.
    pub fn resolve(&self, method: &str, raw_path: &str) -> Result<Request, RouteError> {
        self.matching(method, raw_path).map(|(_, request)| request)
    }

    /// [`RouteTable::resolve`] with the position (from 0, in the table's
    /// order) of the route that matched.
    pub fn resolve_route(
        &self,
        method: &str,
        raw_path: &str,
    ) -> Result<(usize, Request), RouteError> {
        let (route, request) = self.matching(method, raw_path)?;
        let index = self
            .routes
            .iter()
            .position(|r| std::ptr::eq(r, route))
            .unwrap_or_default();
        Ok((index, request))
    }

    /// What the query of a request sorts and filters by, as its route's
    /// `query` rules read it (none when the route has no rules). A query
    /// that cannot be read (bad encoding, control characters, more than
    /// 256 parameters) is [`RouteError::BadPath`].
    pub fn query_uses(&self, method: &str, raw_path: &str) -> Result<Vec<QueryUse>, RouteError> {
        let (route, _) = self.matching(method, raw_path)?;
        query::uses(&route.query, raw_path).ok_or(RouteError::BadPath)
    }

    /// The route a request matches and the request it makes.
    fn matching(&self, method: &str, raw_path: &str) -> Result<(&Route, Request), RouteError> {
        // Checked whole first (any hostile segment refuses the path) into a
        // list on the stack, borrowed from the path unless percent-encoded;
        // then matched against each route.
        let body = path_body(raw_path)?;
        let mut segments: [Cow<'_, str>; INLINE_SEGMENTS] =
            std::array::from_fn(|_| Cow::Borrowed(""));
        let mut count = 0;
        if !body.is_empty() {
            for raw in body.split('/') {
                let segment = checked_segment(raw)?;
                if let Some(slot) = segments.get_mut(count) {
                    *slot = segment;
                }
                count += 1;
            }
        }
        // A path longer than the stack list (rare): the same, on the heap.
        let spilled: Vec<Cow<'_, str>> = if count > INLINE_SEGMENTS {
            body.split('/')
                .map(checked_segment)
                .collect::<Result<_, _>>()?
        } else {
            Vec::new()
        };
        let segments = if count > INLINE_SEGMENTS {
            &spilled[..]
        } else {
            &segments[..count]
        };
        let method = if method == "HEAD" { "GET" } else { method };
        for route in &self.routes {
            if route.segments.len() != count || !route.methods.contains(method) {
                continue;
            }
            let mut resource_id = None;
            let mut matched = true;
            for (seg, value) in route.segments.iter().zip(segments) {
                let value = value.as_ref();
                match seg {
                    Segment::Literal(l) => {
                        if l != value {
                            matched = false;
                            break;
                        }
                    }
                    Segment::Param(name) => {
                        if !Id::is_valid(value) {
                            return Err(RouteError::BadPath);
                        }
                        if name == route.resource.as_str() {
                            resource_id = Some(value);
                        }
                    }
                }
            }
            if matched {
                let id = resource_id.ok_or(RouteError::NoRoute)?;
                let request = Request {
                    operation: route.operation,
                    resource: Resource {
                        kind: route.resource,
                        id: Id::new(id).map_err(|_| RouteError::BadPath)?,
                    },
                };
                return Ok((route, request));
            }
        }
        Err(RouteError::NoRoute)
    }

    /// How many routes the table holds.
    pub fn len(&self) -> usize {
        self.routes.len()
    }

    /// True when the table holds no route (never, once loaded).
    pub fn is_empty(&self) -> bool {
        self.routes.is_empty()
    }
}

impl fmt::Display for RouteTable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for r in &self.routes {
            let methods: Vec<&str> = r.methods.iter().map(String::as_str).collect();
            writeln!(
                f,
                "{:<24} {:<44} {} {}",
                methods.join(","),
                r.template,
                r.operation,
                r.resource.as_str()
            )?;
        }
        Ok(())
    }
}

fn parse_template(path: &str) -> Result<Vec<Segment>, String> {
    let rest = path
        .strip_prefix('/')
        .ok_or_else(|| "a path must start with '/'".to_owned())?;
    rest.split('/')
        .map(|s| {
            if let Some(name) = s.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
                if name.is_empty() || !name.bytes().all(|b| b.is_ascii_lowercase() || b == b'_') {
                    return Err(format!("parameter {{{name}}} must be lower-case letters"));
                }
                Ok(Segment::Param(name.to_owned()))
            } else if !s.is_empty()
                && s.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"-_.~".contains(&b))
                && s != "."
                && s != ".."
            {
                Ok(Segment::Literal(s.to_owned()))
            } else {
                Err(format!(
                    "segment {s:?} is not a plain literal or a {{parameter}}"
                ))
            }
        })
        .collect()
}

fn templates_overlap(a: &[Segment], b: &[Segment]) -> bool {
    a.len() == b.len()
        && a.iter().zip(b).all(|pair| match pair {
            (Segment::Literal(x), Segment::Literal(y)) => x == y,
            _ => true,
        })
}

/// Splits a raw request path into percent-decoded segments, refusing
/// anything another component could read differently: dot segments (also
/// encoded), encoded slashes or backslashes, empty segments (`//`), a
/// decoded `%` (double encoding), control characters, invalid UTF-8. A single
/// trailing slash is dropped. The query string and fragment are ignored.
pub fn normalize_path(raw: &str) -> Result<Vec<String>, RouteError> {
    let body = path_body(raw)?;
    if body.is_empty() {
        return Ok(Vec::new());
    }
    body.split('/')
        .map(|raw_segment| checked_segment(raw_segment).map(Cow::into_owned))
        .collect()
}

/// The path without its query, fragment, leading and trailing slash;
/// refused when too long or not absolute.
fn path_body(raw: &str) -> Result<&str, RouteError> {
    let path = raw.split(['?', '#']).next().unwrap_or("");
    if path.len() > MAX_PATH_BYTES || !path.starts_with('/') {
        return Err(RouteError::BadPath);
    }
    let body = &path[1..];
    Ok(body.strip_suffix('/').unwrap_or(body))
}

/// One raw segment percent-decoded (borrowed when nothing is encoded),
/// refused when empty, a dot segment, or holding a slash, backslash,
/// percent sign or control character once decoded.
fn checked_segment(raw_segment: &str) -> Result<Cow<'_, str>, RouteError> {
    if raw_segment.is_empty() {
        return Err(RouteError::BadPath);
    }
    // Plain ASCII with nothing encoded (the usual path): checked in place.
    if raw_segment
        .bytes()
        .all(|b| b.is_ascii_graphic() && b != b'%' && b != b'\\')
    {
        return match raw_segment {
            "." | ".." => Err(RouteError::BadPath),
            plain => Ok(Cow::Borrowed(plain)),
        };
    }
    let decoded = percent_decode_str(raw_segment)
        .decode_utf8()
        .map_err(|_| RouteError::BadPath)?;
    let hostile = decoded == "."
        || decoded == ".."
        || decoded
            .chars()
            .any(|c| c == '/' || c == '\\' || c == '%' || c.is_control());
    if hostile {
        return Err(RouteError::BadPath);
    }
    Ok(decoded)
}

#[cfg(test)]
mod tests;
