//! Running requests: queries and mutations from `POST /graphql`,
//! subscriptions from `/graphql/ws`.
//!
//! A query's work that does not depend on the caller is done once per
//! document text: the bounds of [`limits`] and the parse are cached
//! ([`Documents`]), and the schema that serves `POST` has no extensions, so
//! async-graphql resolves each field directly instead of through an
//! extension chain (a registry lookup and a boxed future per field). The
//! request's span is the HTTP middleware's, with the request id and the
//! tenant. Subscriptions go through a schema with the [`limits::Limiter`]
//! extension, which also admits each operation of a WebSocket.

use std::num::NonZeroUsize;
use std::sync::{Arc, Mutex, PoisonError};

use async_graphql::{Request, Response};
use coplane_domain::auth::Actor;
use sea_orm::DatabaseConnection;

use async_graphql::Schema;
use coplane_domain::Clock;
use coplane_domain::tenancy::Platform;

use crate::limits::{self, Checked, QueryLimits};
use crate::loaders::with_request_data;
use crate::{CoplaneSchema, Limits, Mutation, Query, Subscription};

/// async-graphql's own depth limit, behind [`QueryLimits::max_depth`]:
/// it counts introspection too, which the standard introspection query nests
/// deeper than data queries may.
const BACKSTOP_DEPTH: usize = 32;

/// Directives on one field or fragment (`@skip`, `@include`).
const MAX_DIRECTIVES: usize = 4;

/// Documents kept, checked and parsed, by their text.
const CACHED_DOCUMENTS: usize = 512;
/// Longer documents are checked and parsed at each request, never kept, so
/// the cache holds at most `CACHED_DOCUMENTS × CACHED_TEXT` of text.
const CACHED_TEXT: usize = 16 * 1024;

/// Checked, parsed documents by their text, least recently used first out.
pub struct Documents {
    cache: Mutex<lru::LruCache<Box<str>, Arc<Checked>>>,
}

impl Default for Documents {
    fn default() -> Self {
        let size = NonZeroUsize::new(CACHED_DOCUMENTS).unwrap_or(NonZeroUsize::MIN);
        Self {
            cache: Mutex::new(lru::LruCache::new(size)),
        }
    }
}

impl Documents {
    /// `query` checked against `limits` and parsed, from the cache when it
    /// was seen before. Refusals are not kept.
    pub fn check(
        &self,
        query: &str,
        limits: &QueryLimits,
    ) -> async_graphql::ServerResult<Arc<Checked>> {
        let cacheable = query.len() <= CACHED_TEXT;
        if cacheable
            && let Some(hit) = self
                .cache
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .get(query)
        {
            return Ok(hit.clone());
        }
        let checked = Arc::new(limits::check_document(query, limits)?);
        if cacheable {
            self.cache
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .put(query.into(), checked.clone());
        }
        Ok(checked)
    }

    /// Documents held.
    pub fn len(&self) -> usize {
        self.cache
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
    }

    /// Whether none is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Builds the API: the schema with its shared data, once without
/// extensions for `POST /graphql` and once with the document limiter for
/// subscriptions ([`executor`]).
pub fn build_schema(
    db: DatabaseConnection,
    clock: Arc<dyn Clock>,
    platform: Platform,
    limits: Limits,
) -> Api {
    let schema = || {
        Schema::build(
            Query::default(),
            Mutation::default(),
            Subscription::default(),
        )
        .data(db.clone())
        .data(clock.clone())
        .data(platform.clone())
        .limit_depth(BACKSTOP_DEPTH)
        .limit_complexity(limits.max_complexity)
        .limit_directives(MAX_DIRECTIVES)
    };
    let http = schema().finish();
    let socket = schema().extension(limits::Limiter(limits.query)).finish();
    Api::new(http, socket, limits.query, db)
}

/// The API: its two schemas, the document cache and the database.
pub struct Api {
    http: CoplaneSchema,
    socket: CoplaneSchema,
    documents: Documents,
    limits: QueryLimits,
    db: DatabaseConnection,
}

impl Api {
    fn new(
        http: CoplaneSchema,
        socket: CoplaneSchema,
        limits: QueryLimits,
        db: DatabaseConnection,
    ) -> Self {
        Self {
            http,
            socket,
            documents: Documents::default(),
            limits,
            db,
        }
    }

    /// Runs a query or mutation for `actor`.
    pub async fn execute(&self, mut request: Request, actor: Actor) -> Response {
        let checked = match self.documents.check(&request.query, &self.limits) {
            Ok(checked) => checked,
            Err(e) => return Response::from_errors(vec![e]),
        };
        if let Err(e) = limits::admit_introspection(&checked, !actor.principal.is_anonymous()) {
            return Response::from_errors(vec![e]);
        }
        request.set_parsed_query(checked.doc.clone());
        let request = with_request_data(request, &self.db, actor);
        self.http.execute(request).await
    }

    /// The schema subscriptions run on.
    pub fn subscriptions(&self) -> &CoplaneSchema {
        &self.socket
    }

    /// The document cache.
    pub fn documents(&self) -> &Documents {
        &self.documents
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_document_is_parsed_once_and_refusals_are_not_kept() {
        let documents = Documents::default();
        let limits = QueryLimits::default();
        let a = documents.check("{ viewer { id } }", &limits).unwrap();
        let b = documents.check("{ viewer { id } }", &limits).unwrap();
        assert!(Arc::ptr_eq(&a, &b), "the second check is the cached one");
        assert_eq!(documents.len(), 1);
        let deep = format!("{}{}", "{ a ".repeat(60), "}".repeat(60));
        assert!(documents.check(&deep, &limits).is_err());
        assert!(documents.check("{ viewer {", &limits).is_err());
        assert_eq!(documents.len(), 1, "refusals are not kept");
        let long = format!("{{ viewer {{ id }} }}{}", " ".repeat(CACHED_TEXT));
        documents.check(&long, &limits).unwrap();
        assert_eq!(documents.len(), 1, "long documents are not kept");
    }

    #[test]
    fn the_cache_is_bounded() {
        let documents = Documents::default();
        let limits = QueryLimits::default();
        for i in 0..CACHED_DOCUMENTS + 10 {
            documents
                .check(&format!("{{ a{i}: viewer {{ id }} }}"), &limits)
                .unwrap();
        }
        assert_eq!(documents.len(), CACHED_DOCUMENTS);
    }
}
