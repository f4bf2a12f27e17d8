//! Bounds on a GraphQL document, checked before async-graphql parses or
//! validates it.
//!
//! async-graphql's own checks (recursion depth, validation, complexity)
//! expand every fragment spread where it occurs, so a chain of fragments
//! that each spread the next twice costs 2ⁿ before any limit refuses it. The
//! checks here cost one pass over the text and one over each definition:
//! the text's length and bracket nesting are bounded before the parser runs
//! (its recursion follows the nesting), then every fragment's expanded size
//! is computed once and reused wherever it is spread, with cycles refused.
//! What reaches async-graphql afterwards is small by construction, so its
//! validation is bounded too. The parsed document is handed on, so the text
//! is parsed once.
//!
//! Introspection (`__schema`, `__type`) is for authenticated callers: the
//! schema is published as `schema.graphql` for everyone else. Its fields
//! do not count towards the depth limit (the standard introspection query
//! nests `ofType` deeper than any data query needs), but they count towards
//! the size limits like any field.

use std::collections::HashMap;
use std::sync::Arc;

use async_graphql::extensions::{
    Extension, ExtensionContext, ExtensionFactory, NextPrepareRequest,
};
use async_graphql::parser::types::{
    DocumentOperations, ExecutableDocument, OperationType, Selection, SelectionSet,
};
use async_graphql::parser::{Positioned, parse_query};
use async_graphql::{ErrorExtensionValues, Request, ServerError, ServerResult, Value};

use coplane_domain::auth::Actor;

/// `extensions.code` of a document refused by a limit.
pub const QUERY_TOO_LARGE: &str = "QUERY_TOO_LARGE";

/// The bounds. Defaults fit every query the clients in this repository
/// send, the standard introspection query included, with room to spare.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct QueryLimits {
    /// Longest document text, in bytes.
    pub max_document_bytes: usize,
    /// Deepest nesting of `{`, `(` and `[` in the text.
    pub max_nesting: usize,
    /// Most fragment definitions in one document.
    pub max_fragments: usize,
    /// Most fields in one operation once every fragment is expanded.
    pub max_fields: usize,
    /// Most aliased fields in one operation once expanded.
    pub max_aliases: usize,
    /// Deepest field nesting outside introspection.
    pub max_depth: usize,
}

impl Default for QueryLimits {
    fn default() -> Self {
        Self {
            max_document_bytes: 64 * 1024,
            max_nesting: 48,
            max_fragments: 64,
            max_fields: 1_000,
            max_aliases: 100,
            max_depth: 12,
        }
    }
}

fn refused(message: String) -> ServerError {
    coded(&message, QUERY_TOO_LARGE)
}

fn coded(message: &str, code: &str) -> ServerError {
    let mut e = ServerError::new(message, None);
    let mut ext = ErrorExtensionValues::default();
    ext.set("code", Value::from(code));
    e.extensions = Some(ext);
    e
}

/// The deepest nesting of brackets in `text`, outside strings and comments;
/// stops counting once past `limit`.
fn nesting(text: &str, limit: usize) -> usize {
    let bytes = text.as_bytes();
    let (mut depth, mut deepest, mut i) = (0usize, 0usize, 0usize);
    while i < bytes.len() {
        match bytes[i] {
            // A comment and a string end at any line terminator: `\n`, `\r`.
            b'#' => {
                while i < bytes.len() && bytes[i] != b'\n' && bytes[i] != b'\r' {
                    i += 1;
                }
            }
            b'"' if bytes[i..].starts_with(b"\"\"\"") => {
                i += 3;
                while i < bytes.len() && !bytes[i..].starts_with(b"\"\"\"") {
                    i += if bytes[i] == b'\\' { 2 } else { 1 };
                }
                i += 2;
            }
            b'"' => {
                i += 1;
                while i < bytes.len() && !matches!(bytes[i], b'"' | b'\n' | b'\r') {
                    i += if bytes[i] == b'\\' { 2 } else { 1 };
                }
            }
            b'{' | b'(' | b'[' => {
                depth += 1;
                deepest = deepest.max(depth);
                if deepest > limit {
                    return deepest;
                }
            }
            b'}' | b')' | b']' => depth = depth.saturating_sub(1),
            _ => {}
        }
        i += 1;
    }
    deepest
}

/// The parser recurses once or more per bracket, on the HTTP worker's
/// stack. Brackets inside strings and comments do not nest, and
/// [`nesting`] skips them; this cruder count, which does not, is the
/// backstop should the two ever read a document differently: no real query
/// nests this deep even counting its strings.
const RAW_NESTING: usize = 96;

fn raw_nesting(text: &str) -> usize {
    let (mut depth, mut deepest) = (0usize, 0usize);
    for b in text.bytes() {
        match b {
            b'{' | b'(' | b'[' => {
                depth += 1;
                deepest = deepest.max(depth);
            }
            b'}' | b')' | b']' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    deepest
}

/// What a selection set costs once expanded.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct Cost {
    fields: usize,
    aliases: usize,
    /// Field depth outside introspection.
    depth: usize,
    introspection: bool,
}

impl Cost {
    fn add(&mut self, other: Cost) {
        self.fields = self.fields.saturating_add(other.fields);
        self.aliases = self.aliases.saturating_add(other.aliases);
        self.depth = self.depth.max(other.depth);
        self.introspection |= other.introspection;
    }
}

struct Walker<'a> {
    doc: &'a ExecutableDocument,
    limits: QueryLimits,
    /// Expanded cost of each fragment, once known.
    fragments: HashMap<&'a str, Cost>,
    /// Fragments being expanded, to refuse cycles.
    open: Vec<&'a str>,
}

impl<'a> Walker<'a> {
    fn check(&self, cost: Cost) -> ServerResult<()> {
        let l = &self.limits;
        if cost.fields > l.max_fields {
            return Err(refused(format!(
                "the query selects more than {} fields once its fragments are expanded",
                l.max_fields
            )));
        }
        if cost.aliases > l.max_aliases {
            return Err(refused(format!(
                "the query uses more than {} aliases once its fragments are expanded",
                l.max_aliases
            )));
        }
        if cost.depth > l.max_depth {
            return Err(refused(format!(
                "the query nests fields deeper than {}",
                l.max_depth
            )));
        }
        Ok(())
    }

    fn fragment(&mut self, name: &'a str) -> ServerResult<Cost> {
        if let Some(c) = self.fragments.get(name) {
            return Ok(*c);
        }
        if self.open.contains(&name) {
            return Err(refused(format!("fragment {name} spreads itself")));
        }
        // An unknown fragment is left to validation, which names it.
        let Some(def) = self.doc.fragments.get(name) else {
            return Ok(Cost::default());
        };
        // A fragment on an introspection type (`__Type`…) is introspection.
        let introspection = def.node.type_condition.node.on.node.starts_with("__");
        self.open.push(name);
        let cost = self.selection_set(&def.node.selection_set, introspection)?;
        self.open.pop();
        self.fragments.insert(name, cost);
        Ok(cost)
    }

    fn selection_set(
        &mut self,
        set: &'a Positioned<SelectionSet>,
        in_introspection: bool,
    ) -> ServerResult<Cost> {
        let mut total = Cost::default();
        for item in &set.node.items {
            let cost = match &item.node {
                Selection::Field(f) => {
                    let name = f.node.name.node.as_str();
                    let introspection = in_introspection || name == "__schema" || name == "__type";
                    let inner = self.selection_set(&f.node.selection_set, introspection)?;
                    Cost {
                        fields: inner.fields.saturating_add(1),
                        aliases: inner.aliases + usize::from(f.node.alias.is_some()),
                        depth: if introspection { 0 } else { inner.depth + 1 },
                        introspection: introspection || inner.introspection,
                    }
                }
                Selection::FragmentSpread(s) => {
                    let cost = self.fragment(s.node.fragment_name.node.as_str())?;
                    if in_introspection {
                        Cost { depth: 0, ..cost }
                    } else {
                        cost
                    }
                }
                Selection::InlineFragment(i) => {
                    let on_meta = i
                        .node
                        .type_condition
                        .as_ref()
                        .is_some_and(|t| t.node.on.node.starts_with("__"));
                    self.selection_set(&i.node.selection_set, in_introspection || on_meta)?
                }
            };
            total.add(cost);
            self.check(total)?;
        }
        Ok(total)
    }
}

/// A document within the bounds, parsed.
#[derive(Clone, Debug)]
pub struct Checked {
    /// The parsed document.
    pub doc: ExecutableDocument,
    /// Whether it asks for introspection (`__schema`, `__type`).
    pub introspection: bool,
}

/// Checks `query` against `limits` and parses it, whoever asks.
pub fn check_document(query: &str, limits: &QueryLimits) -> ServerResult<Checked> {
    if query.len() > limits.max_document_bytes {
        return Err(refused(format!(
            "the query is longer than {} bytes",
            limits.max_document_bytes
        )));
    }
    if nesting(query, limits.max_nesting) > limits.max_nesting || raw_nesting(query) > RAW_NESTING {
        return Err(refused(format!(
            "the query nests brackets deeper than {}",
            limits.max_nesting
        )));
    }
    let doc = parse_query(query)?;
    if doc.fragments.len() > limits.max_fragments {
        return Err(refused(format!(
            "the query defines more than {} fragments",
            limits.max_fragments
        )));
    }
    let mut walker = Walker {
        doc: &doc,
        limits: *limits,
        fragments: HashMap::new(),
        open: Vec::new(),
    };
    let mut introspection = false;
    // Every fragment is walked, spread or not, so an unused cycle or an
    // unused giant is refused here rather than expanded by validation.
    for name in doc.fragments.keys() {
        introspection |= walker.fragment(name.as_str())?.introspection;
    }
    // The bounds hold for the whole document, not each operation: a
    // document of many operations is validated whole.
    let mut total = Cost::default();
    for (_, op) in doc.operations.iter() {
        total.add(walker.selection_set(&op.node.selection_set, false)?);
        walker.check(total)?;
    }
    introspection |= total.introspection;
    Ok(Checked { doc, introspection })
}

/// Refuses introspection to a caller that may not introspect.
pub fn admit_introspection(checked: &Checked, may_introspect: bool) -> ServerResult<()> {
    if checked.introspection && !may_introspect {
        return Err(coded(
            "introspection needs a credential; the schema is published as schema.graphql",
            crate::error::code::UNAUTHENTICATED,
        ));
    }
    Ok(())
}

/// Checks `query` against `limits` and parses it. `introspection` says
/// whether the caller may introspect.
pub fn check(
    query: &str,
    limits: &QueryLimits,
    introspection: bool,
) -> ServerResult<ExecutableDocument> {
    let checked = check_document(query, limits)?;
    admit_introspection(&checked, introspection)?;
    Ok(checked.doc)
}

/// The extension that applies [`check`] to every request, over HTTP and
/// over WebSocket.
pub struct Limiter(pub QueryLimits);

impl ExtensionFactory for Limiter {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(LimiterExtension(self.0))
    }
}

struct LimiterExtension(QueryLimits);

#[async_graphql::async_trait::async_trait]
impl Extension for LimiterExtension {
    async fn prepare_request(
        &self,
        ctx: &ExtensionContext<'_>,
        mut request: Request,
        next: NextPrepareRequest<'_>,
    ) -> ServerResult<Request> {
        let anonymous = request
            .data
            .get(&std::any::TypeId::of::<Actor>())
            .and_then(|d| d.downcast_ref::<Actor>())
            .or_else(|| ctx.data_opt::<Actor>())
            .is_none_or(|a| a.principal.is_anonymous());
        let doc = check(&request.query, &self.0, !anonymous)?;
        // Over a WebSocket (its connection carries an admission check),
        // only subscriptions run, and each operation is admitted first:
        // queries and mutations go over POST /graphql, whose every request
        // is authenticated and rate limited.
        if let Some(admission) = ctx.data_opt::<crate::watch::SocketAdmission>() {
            let ty = match (&doc.operations, request.operation_name.as_deref()) {
                (DocumentOperations::Single(op), _) => Some(op.node.ty),
                (DocumentOperations::Multiple(ops), Some(name)) => {
                    ops.get(name).map(|op| op.node.ty)
                }
                (DocumentOperations::Multiple(_), None) => None,
            };
            if ty != Some(OperationType::Subscription) {
                return Err(coded(
                    "the WebSocket carries subscriptions; send queries and mutations to POST /graphql",
                    "SUBSCRIPTIONS_ONLY",
                ));
            }
            (admission.0)().map_err(|m| coded(&m, "RATE_LIMITED"))?;
        }
        request.set_parsed_query(doc);
        next.run(ctx, request).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chain(levels: usize) -> String {
        let mut q = String::from("query { ...F0 }\n");
        for i in 0..levels {
            q.push_str(&format!(
                "fragment F{i} on Query {{ ...F{n} ...F{n} }}\n",
                n = i + 1
            ));
        }
        q.push_str(&format!("fragment F{levels} on Query {{ __typename }}\n"));
        q
    }

    fn code(e: &ServerError) -> Option<String> {
        e.extensions
            .as_ref()
            .and_then(|x| x.get("code"))
            .map(|v| v.to_string())
    }

    #[test]
    fn a_fragment_chain_is_refused_without_expanding_it() {
        let limits = QueryLimits::default();
        let started = std::time::Instant::now();
        let e = check(&chain(60), &limits, true).unwrap_err();
        assert!(e.message.contains("fields"), "{}", e.message);
        assert_eq!(code(&e).as_deref(), Some("\"QUERY_TOO_LARGE\""));
        // 2^60 expansions would never finish; one pass is instant.
        assert!(started.elapsed() < std::time::Duration::from_secs(1));
        assert!(check(&chain(5), &limits, true).is_ok());
    }

    #[test]
    fn aliases_are_bounded() {
        let mut q = String::from("{");
        for i in 0..2_000 {
            q.push_str(&format!(" a{i}: __typename"));
        }
        q.push('}');
        let e = check(&q, &QueryLimits::default(), true).unwrap_err();
        assert!(e.message.contains("aliases"), "{}", e.message);
    }

    #[test]
    fn cycles_and_deep_brackets_are_refused() {
        let q = "{ ...A } fragment A on Query { ...B } fragment B on Query { ...A }";
        assert!(check(q, &QueryLimits::default(), true).is_err());
        let deep = format!("{}{}", "{ a ".repeat(10_000), "}".repeat(10_000));
        let e = check(&deep, &QueryLimits::default(), true).unwrap_err();
        assert!(e.message.contains("brackets"), "{}", e.message);
        // Brackets inside strings and comments do not count towards the
        // limit (only towards the crude backstop, which is far above it).
        let s = format!("{{ a(x: \"{}\") # {}\n }}", "{".repeat(60), "[".repeat(30));
        assert!(check(&s, &QueryLimits::default(), true).is_ok());
    }

    #[test]
    fn depth_skips_introspection_but_not_data() {
        let limits = QueryLimits::default();
        let deep_data = format!("{}{}", "{ a ".repeat(14), "}".repeat(14));
        assert!(check(&deep_data, &limits, true).is_err());
        let types = format!("{}{}", "{ ofType ".repeat(14), "}".repeat(14));
        let deep_types = format!("{{ __schema {{ types {types} }} }}");
        assert!(check(&deep_types, &limits, true).is_ok());
        let e = check(&deep_types, &limits, false).unwrap_err();
        assert_eq!(code(&e).as_deref(), Some("\"UNAUTHENTICATED\""));
        // __typename is not introspection.
        assert!(check("{ __typename }", &limits, false).is_ok());
    }

    #[test]
    fn the_bounds_hold_for_the_whole_document() {
        // 20 operations of 60 fields each: each is small, the document is not.
        let fields: String = (0..60).map(|i| format!(" f{i}")).collect();
        let doc: String = (0..20)
            .map(|i| format!("query Q{i} {{{fields} }}\n"))
            .collect();
        let e = check(&doc, &QueryLimits::default(), true).unwrap_err();
        assert!(e.message.contains("fields"), "{}", e.message);
    }

    #[test]
    fn a_comment_ends_at_a_carriage_return_too() {
        // Hidden behind `#` and a `\r`, these brackets are parsed: they count.
        let q = format!(
            "{{ __typename a(x: #\r{}1{}) }}",
            "[".repeat(400),
            "]".repeat(400)
        );
        let e = check(&q, &QueryLimits::default(), true).unwrap_err();
        assert!(e.message.contains("brackets"), "{}", e.message);
        let q = format!("{{ a(x: \"\r{}\") }}", "[".repeat(400));
        assert!(check(&q, &QueryLimits::default(), true).is_err());
    }
}
