//! Objects resolved in one synchronous walk when everything a query selects
//! on them is already in memory.
//!
//! async-graphql resolves each selected field of each object as its own
//! boxed future, polled through a `FuturesUnordered`, with a context and a
//! path node per field: on a page of 50 rows with a few nested objects,
//! that is most of a request's CPU time. A [`Plain`] object says which of
//! its fields it can give at once; [`Fast`] wraps the value a resolver
//! returns and, when every field selected beneath it is such a field, builds
//! the response in one walk of the selection. Anything else (a field with
//! arguments, one that loads, a fragment on an interface, a response key
//! selected twice, a directive other than `@skip`/`@include`) sends the
//! whole value through the ordinary resolvers, so a query's answer never
//! depends on which path served it (a test runs both on the same queries).
//!
//! `Fast<T>` is `T` to the schema: same name, same type information.

use std::borrow::Cow;

use async_graphql::connection::{Connection, Edge, EmptyFields, PageInfo};
use async_graphql::parser::types::{Field, Selection, SelectionSet};
use async_graphql::registry::Registry;
use async_graphql::{
    ContextSelectionSet, Name, OutputType, Positioned, ScalarType, ServerResult, Value,
};

use super::paging::ConnectionFields;

/// An object some of whose fields are in memory.
pub trait Plain: OutputType {
    /// The value of the argument-free field `name`, or `None` when only its
    /// resolver can give it.
    fn field(&self, name: &str, at: &At<'_, '_>) -> Option<Value>;
}

/// Where a field is being resolved: its nested selection.
pub struct At<'a, 'c> {
    ctx: &'c ContextSelectionSet<'a>,
    field: &'a Positioned<Field>,
}

impl<'a> At<'a, '_> {
    /// The request's data of type `D`.
    pub fn data<D: std::any::Any + Send + Sync>(&self) -> Option<&'a D> {
        self.ctx.data_opt::<D>()
    }

    /// A nested object, through its own fields.
    pub fn object<T: Plain + ?Sized>(&self, value: &T) -> Option<Value> {
        walk(
            &self.ctx.with_selection_set(&self.field.node.selection_set),
            value,
        )
    }

    /// A nested object that may be absent.
    pub fn optional<T: Plain>(&self, value: Option<&T>) -> Option<Value> {
        value.map_or(Some(Value::Null), |v| self.object(v))
    }

    /// A list of nested objects.
    pub fn list<'v, T: Plain + 'v>(&self, items: impl IntoIterator<Item = &'v T>) -> Option<Value> {
        let ctx = self.ctx.with_selection_set(&self.field.node.selection_set);
        items
            .into_iter()
            .map(|v| walk(&ctx, v))
            .collect::<Option<Vec<Value>>>()
            .map(Value::List)
    }
}

/// A scalar's value, as its resolver gives it.
pub fn scalar<T: ScalarType>(value: &T) -> Value {
    value.to_value()
}

/// An optional scalar's value.
pub fn scalar_opt<T: ScalarType>(value: Option<&T>) -> Value {
    value.map_or(Value::Null, ScalarType::to_value)
}

/// A string's value.
pub fn text(value: &str) -> Value {
    Value::String(value.to_owned())
}

/// An optional string's value.
pub fn text_opt(value: Option<&str>) -> Value {
    value.map_or(Value::Null, text)
}

/// `root` as the selection `ctx` asks for, or `None` when some field must
/// go through its resolver.
pub fn walk<T: Plain + ?Sized>(ctx: &ContextSelectionSet<'_>, root: &T) -> Option<Value> {
    let mut out = async_graphql::indexmap::IndexMap::with_capacity(ctx.item.node.items.len());
    collect(ctx, ctx.item, root, &mut out)?;
    Some(if out.is_empty() {
        Value::Null
    } else {
        Value::Object(out)
    })
}

fn collect<'a, T: Plain + ?Sized>(
    ctx: &ContextSelectionSet<'a>,
    set: &'a Positioned<SelectionSet>,
    root: &T,
    out: &mut async_graphql::indexmap::IndexMap<Name, Value>,
) -> Option<()> {
    for selection in &set.node.items {
        match &selection.node {
            Selection::Field(field) => {
                let f = &field.node;
                let directives_plain = f
                    .directives
                    .iter()
                    .all(|d| matches!(d.node.name.node.as_str(), "skip" | "include"));
                let key = &f.response_key().node;
                if !f.arguments.is_empty() || !directives_plain || out.contains_key(key) {
                    return None;
                }
                let value = if f.name.node == "__typename" {
                    Value::String(root.introspection_type_name().into_owned())
                } else {
                    root.field(f.name.node.as_str(), &At { ctx, field })?
                };
                out.insert(key.clone(), value);
            }
            Selection::FragmentSpread(spread) => {
                let fragment = ctx
                    .query_env
                    .fragments
                    .get(&spread.node.fragment_name.node)?;
                if fragment.node.type_condition.node.on.node != *T::type_name() {
                    return None;
                }
                collect(ctx, &fragment.node.selection_set, root, out)?;
            }
            Selection::InlineFragment(fragment) => {
                if let Some(on) = &fragment.node.type_condition
                    && on.node.on.node != *T::type_name()
                {
                    return None;
                }
                collect(ctx, &fragment.node.selection_set, root, out)?;
            }
        }
    }
    Some(())
}

/// Present in a request's data: every [`Fast`] value goes through its
/// resolvers (the tests compare both paths).
pub struct Resolvers;

/// Present in a request's data: counts the [`Fast`] values served by one
/// walk (the tests see which path served a query).
#[derive(Clone, Default)]
pub struct Walks(pub std::sync::Arc<std::sync::atomic::AtomicUsize>);

/// `T`, served by one walk when it can be.
pub struct Fast<T>(pub T);

impl<T: Plain> OutputType for Fast<T> {
    fn type_name() -> Cow<'static, str> {
        T::type_name()
    }

    fn qualified_type_name() -> String {
        T::qualified_type_name()
    }

    fn create_type_info(registry: &mut Registry) -> String {
        T::create_type_info(registry)
    }

    async fn resolve(
        &self,
        ctx: &ContextSelectionSet<'_>,
        field: &Positioned<Field>,
    ) -> ServerResult<Value> {
        if ctx.data_opt::<Resolvers>().is_none()
            && let Some(value) = walk(ctx, &self.0)
        {
            if let Some(walks) = ctx.data_opt::<Walks>() {
                walks.0.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            }
            return Ok(value);
        }
        self.0.resolve(ctx, field).await
    }
}

/// A page of plain nodes.
type Page<T> = Connection<String, T, ConnectionFields, EmptyFields>;

impl<T: Plain> Plain for Page<T> {
    fn field(&self, name: &str, at: &At<'_, '_>) -> Option<Value> {
        match name {
            "totalCount" => Some(scalar(&self.additional_fields.total_count)),
            "edges" => at.list(&self.edges),
            "nodes" => at.list(self.edges.iter().map(|e| &e.node)),
            "pageInfo" => at.object(&PageInfo {
                has_previous_page: self.has_previous_page,
                has_next_page: self.has_next_page,
                start_cursor: self.edges.first().map(|e| e.cursor.clone()),
                end_cursor: self.edges.last().map(|e| e.cursor.clone()),
            }),
            _ => None,
        }
    }
}

impl<T: Plain> Plain for Edge<String, T, EmptyFields> {
    fn field(&self, name: &str, at: &At<'_, '_>) -> Option<Value> {
        match name {
            "cursor" => Some(text(&self.cursor)),
            "node" => at.object(&self.node),
            _ => None,
        }
    }
}

impl Plain for PageInfo {
    fn field(&self, name: &str, _: &At<'_, '_>) -> Option<Value> {
        Some(match name {
            "hasPreviousPage" => Value::Boolean(self.has_previous_page),
            "hasNextPage" => Value::Boolean(self.has_next_page),
            "startCursor" => text_opt(self.start_cursor.as_deref()),
            "endCursor" => text_opt(self.end_cursor.as_deref()),
            _ => return None,
        })
    }
}
