//! Batch loaders, one set per request, so a list of N tenants with their
//! customers and resellers costs one query per kind, not N, and a list's
//! children (an invoice's lines, a tenant's installs) one query per kind
//! for the whole page, whatever its size or depth. They load through the
//! domain, so the caller's reach applies to what they return.

use coplane_domain::ids::{CustomerId, ResellerId};
use std::any::{Any, TypeId};
use std::collections::HashMap;
use std::future::Future;
use std::hash::Hash;
use std::marker::PhantomData;
use std::sync::{Arc, Mutex, PoisonError};

use async_graphql::Context;
use async_graphql::dataloader::{DataLoader, Loader};
use coplane_domain::auth::Actor;
use coplane_domain::entity::{customer, reseller};
use coplane_domain::tenancy::{customers, resellers};
use sea_orm::DatabaseConnection;

/// How long a loader waits for the keys of sibling fields before its one
/// statement goes out: the fields of a page register theirs in the same
/// poll, so this only covers a multi-threaded runtime's head start.
const BATCH_WINDOW: std::time::Duration = std::time::Duration::from_millis(1);

/// A kind of child rows, loaded for many parents in one statement.
pub trait Children: Send + Sync + 'static {
    /// The parent's id.
    type Parent: Copy + Hash + Eq + Send + Sync + Into<uuid::Uuid> + 'static;
    /// A child row.
    type Child: Send + Sync + 'static;
    /// The children of `parents`, in their order within each parent.
    fn fetch(
        db: &DatabaseConnection,
        actor: &Actor,
        parents: &[Self::Parent],
    ) -> impl Future<Output = coplane_domain::Result<Vec<Self::Child>>> + Send;
    /// A child's parent.
    fn parent(child: &Self::Child) -> Self::Parent;
}

/// The [`Loader`] of a kind of children.
pub struct ChildLoader<K> {
    db: DatabaseConnection,
    actor: Actor,
    kind: PhantomData<fn() -> K>,
}

impl<K: Children> Loader<K::Parent> for ChildLoader<K> {
    type Value = Arc<Vec<K::Child>>;
    type Error = Arc<coplane_domain::Error>;

    async fn load(
        &self,
        keys: &[K::Parent],
    ) -> Result<HashMap<K::Parent, Self::Value>, Self::Error> {
        let mut grouped: HashMap<K::Parent, Vec<K::Child>> = HashMap::new();
        for child in allowed(K::fetch(&self.db, &self.actor, keys).await)? {
            grouped.entry(K::parent(&child)).or_default().push(child);
        }
        Ok(grouped.into_iter().map(|(k, v)| (k, Arc::new(v))).collect())
    }
}

/// The request's child loaders, each made when first used.
pub struct ChildLoaders {
    db: DatabaseConnection,
    actor: Actor,
    made: Mutex<HashMap<TypeId, Arc<dyn Any + Send + Sync>>>,
}

impl ChildLoaders {
    fn new(db: &DatabaseConnection, actor: &Actor) -> Self {
        Self {
            db: db.clone(),
            actor: actor.clone(),
            made: Mutex::new(HashMap::new()),
        }
    }

    fn loader<K: Children>(&self) -> Arc<DataLoader<ChildLoader<K>>> {
        let mut made = self.made.lock().unwrap_or_else(PoisonError::into_inner);
        let any = made
            .entry(TypeId::of::<K>())
            .or_insert_with(|| {
                Arc::new(Arc::new(
                    DataLoader::new(
                        ChildLoader::<K> {
                            db: self.db.clone(),
                            actor: self.actor.clone(),
                            kind: PhantomData,
                        },
                        tokio::spawn,
                    )
                    .delay(BATCH_WINDOW),
                ))
            })
            .clone();
        any.downcast_ref::<Arc<DataLoader<ChildLoader<K>>>>()
            .cloned()
            .unwrap_or_else(|| unreachable!("the map is keyed by the loader's kind"))
    }
}

/// The children of kind `K` of one parent, fetched ahead with its page.
pub struct Fetched<K: Children>(pub Arc<Vec<K::Child>>);

/// Fetches ahead, in one statement, the children of kind `K` of a page's
/// `parents`, for the rows to find without awaiting ([`Ahead`]).
pub async fn children_ahead<K: Children>(
    ctx: &Context<'_>,
    parents: &[K::Parent],
) -> async_graphql::Result<()> {
    let Some(ahead) = ctx.data_opt::<Ahead>() else {
        return Ok(());
    };
    let loaders = ctx.data::<ChildLoaders>()?;
    let mut grouped: HashMap<K::Parent, Vec<K::Child>> = HashMap::new();
    let fetched = allowed(K::fetch(&loaders.db, &loaders.actor, parents).await)
        .map_err(|e| crate::error::internal(&*e))?;
    for child in fetched {
        grouped.entry(K::parent(&child)).or_default().push(child);
    }
    for parent in parents {
        let children = grouped.remove(parent).unwrap_or_default();
        ahead.put((*parent).into(), Some(Fetched::<K>(Arc::new(children))));
    }
    Ok(())
}

/// `parent`'s children of kind `K` when they were fetched ahead.
pub fn fetched<K: Children>(ahead: &Ahead, parent: K::Parent) -> Option<Arc<Fetched<K>>> {
    ahead.get::<Fetched<K>>(parent.into()).flatten()
}

/// `parent`'s children of kind `K`: those fetched ahead with its page, or
/// else batched with every other parent's of the same request.
pub async fn children_of<K: Children>(
    ctx: &Context<'_>,
    parent: K::Parent,
) -> async_graphql::Result<Arc<Vec<K::Child>>> {
    if let Some(found) = ctx
        .data_opt::<Ahead>()
        .and_then(|a| fetched::<K>(a, parent))
    {
        return Ok(found.0.clone());
    }
    let loader = ctx.data::<ChildLoaders>()?.loader::<K>();
    Ok(loader
        .load_one(parent)
        .await
        .map_err(|e| crate::error::internal(&*e))?
        .unwrap_or_default())
}

/// Loads customers by id.
pub struct CustomerLoader {
    db: DatabaseConnection,
    actor: Actor,
}

/// Loads resellers by id.
pub struct ResellerLoader {
    db: DatabaseConnection,
    actor: Actor,
}

fn allowed<T>(r: coplane_domain::Result<Vec<T>>) -> Result<Vec<T>, Arc<coplane_domain::Error>> {
    match r {
        Ok(v) => Ok(v),
        // Without the permission to read this kind, nothing is loaded.
        Err(coplane_domain::Error::Forbidden(_) | coplane_domain::Error::Unauthenticated) => {
            Ok(Vec::new())
        }
        Err(e) => Err(Arc::new(e)),
    }
}

impl Loader<CustomerId> for CustomerLoader {
    type Value = customer::Model;
    type Error = Arc<coplane_domain::Error>;

    async fn load(
        &self,
        keys: &[CustomerId],
    ) -> Result<HashMap<CustomerId, Self::Value>, Self::Error> {
        let found = allowed(customers::load_many(&self.db, &self.actor, keys).await)?;
        Ok(found.into_iter().map(|m| (m.id, m)).collect())
    }
}

impl Loader<ResellerId> for ResellerLoader {
    type Value = reseller::Model;
    type Error = Arc<coplane_domain::Error>;

    async fn load(
        &self,
        keys: &[ResellerId],
    ) -> Result<HashMap<ResellerId, Self::Value>, Self::Error> {
        let found = allowed(resellers::load_many(&self.db, &self.actor, keys).await)?;
        Ok(found.into_iter().map(|m| (m.id, m)).collect())
    }
}

/// Objects a resolver fetched ahead for the rows of its page (a page of
/// tenants' customers and resellers, say), by kind and id, so the rows'
/// fields find them without awaiting: `None` for an id fetched and not
/// found, or outside the caller's reach. One per request (never per
/// socket: what it holds is as of the request).
#[derive(Default)]
pub struct Ahead(Mutex<HashMap<(TypeId, uuid::Uuid), Option<Shared>>>);

/// An object fetched ahead, of any kind.
type Shared = Arc<dyn Any + Send + Sync>;

impl Ahead {
    /// Keeps what was fetched for `id`.
    pub fn put<T: Any + Send + Sync>(&self, id: uuid::Uuid, found: Option<T>) {
        let found = found.map(|v| Arc::new(v) as Shared);
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert((TypeId::of::<T>(), id), found);
    }

    /// Whether something (or nothing) was fetched for `id`.
    pub fn has<T: Any + Send + Sync>(&self, id: uuid::Uuid) -> bool {
        let held = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        held.contains_key(&(TypeId::of::<T>(), id))
    }

    /// What was fetched for `id`; `None` if it was not fetched.
    pub fn get<T: Any + Send + Sync>(&self, id: uuid::Uuid) -> Option<Option<Arc<T>>> {
        let held = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        let found = held.get(&(TypeId::of::<T>(), id))?;
        Some(found.clone().and_then(|v| v.downcast::<T>().ok()))
    }
}

/// Adds the caller and its loaders to a request.
pub fn with_request_data(
    request: async_graphql::Request,
    db: &DatabaseConnection,
    actor: Actor,
) -> async_graphql::Request {
    let (customers, resellers) = loaders(db, &actor);
    let children = ChildLoaders::new(db, &actor);
    request
        .data(actor)
        .data(customers)
        .data(resellers)
        .data(children)
        .data(Ahead::default())
}

/// The caller and its loaders, for a subscription's connection, with the
/// connection's subscription slots and the check each operation passes.
pub fn connection_data(
    db: &DatabaseConnection,
    actor: Actor,
    admission: crate::watch::SocketAdmission,
) -> async_graphql::Data {
    let (customers, resellers) = loaders(db, &actor);
    let mut data = async_graphql::Data::default();
    data.insert(ChildLoaders::new(db, &actor));
    data.insert(actor);
    data.insert(customers);
    data.insert(resellers);
    data.insert(crate::watch::SubscriptionSlots::default());
    data.insert(admission);
    data
}

fn loaders(
    db: &DatabaseConnection,
    actor: &Actor,
) -> (DataLoader<CustomerLoader>, DataLoader<ResellerLoader>) {
    // A few milliseconds of batching window, so the sibling fields of a page
    // register their keys before the batch goes out.
    let customers = DataLoader::new(
        CustomerLoader {
            db: db.clone(),
            actor: actor.clone(),
        },
        tokio::spawn,
    )
    .delay(BATCH_WINDOW);
    let resellers = DataLoader::new(
        ResellerLoader {
            db: db.clone(),
            actor: actor.clone(),
        },
        tokio::spawn,
    )
    .delay(BATCH_WINDOW);
    (customers, resellers)
}

/// Declares a kind of [`Children`]: its parent id, its row, the row's field
/// naming the parent, and the domain call that fetches them for many parents.
macro_rules! children {
    ($(#[$doc:meta])* $name:ident: $parent:ty => $child:ty, by $field:ident, |$db:ident, $actor:pat_param, $ids:ident| $fetch:expr) => {
        $(#[$doc])*
        pub struct $name;

        impl $crate::loaders::Children for $name {
            type Parent = $parent;
            type Child = $child;
            fn fetch(
                $db: &sea_orm::DatabaseConnection,
                $actor: &coplane_domain::auth::Actor,
                $ids: &[$parent],
            ) -> impl std::future::Future<Output = coplane_domain::Result<Vec<$child>>> + Send {
                $fetch
            }
            fn parent(child: &$child) -> $parent {
                child.$field
            }
        }
    };
}
pub(crate) use children;
