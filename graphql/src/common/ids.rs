//! Global ids: `base64url("<Kind>:<uuid>")`, opaque to clients.

use async_graphql::ID;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use uuid::Uuid;

/// The global id of the `kind` object `id`.
pub fn global_id(kind: &str, id: impl Into<Uuid>) -> ID {
    let id: Uuid = id.into();
    ID(URL_SAFE_NO_PAD.encode(format!("{kind}:{id}")))
}

/// The kind and uuid inside a global id.
pub fn decode(id: &str) -> Option<(String, Uuid)> {
    let raw = String::from_utf8(URL_SAFE_NO_PAD.decode(id).ok()?).ok()?;
    let (kind, uuid) = raw.split_once(':')?;
    Some((kind.to_owned(), uuid.parse().ok()?))
}

/// The uuid inside a global id of `kind`; `None` for anything else.
pub fn decode_as(id: &ID, kind: &str) -> Option<Uuid> {
    decode(id).filter(|(k, _)| k == kind).map(|(_, u)| u)
}

/// A mutation input's global id of `kind`: anything else reads as an object
/// not found, reported on `field`.
pub fn input_id<T: From<Uuid>>(
    id: &ID,
    kind: &str,
    field: &'static str,
) -> coplane_domain::Result<T> {
    decode_as(id, kind)
        .map(T::from)
        .ok_or(coplane_domain::Error::NotFound {
            field,
            entity: entity(kind),
        })
}

/// An optional input id: absent stays absent, a wrong one is not found.
pub fn optional_id<T: From<Uuid>>(
    id: Option<&ID>,
    kind: &str,
    field: &'static str,
) -> coplane_domain::Result<Option<T>> {
    id.map(|id| input_id(id, kind, field)).transpose()
}

/// A kind as its not-found message names it.
fn entity(kind: &str) -> &'static str {
    match kind {
        "Member" => "member",
        "Reseller" => "reseller",
        "Customer" => "customer",
        "Tenant" => "tenant",
        "Plan" => "plan",
        "App" => "app",
        "AppVersion" => "app version",
        "AppInstall" => "app install",
        "Order" => "order",
        "Invoice" => "invoice",
        "ApiToken" => "API token",
        _ => "object",
    }
}

/// A tenant reference as the domain takes it (its id or slug): a global id
/// becomes its uuid, anything else is passed on.
pub fn tenant_ref(s: &str) -> String {
    match decode(s) {
        Some((kind, id)) if kind == "Tenant" => id.to_string(),
        _ => s.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_global_id_decodes_to_its_kind_and_uuid() {
        let id = Uuid::new_v4();
        let global = global_id("Tenant", id);
        assert_eq!(decode(&global), Some(("Tenant".to_owned(), id)));
        assert_eq!(decode_as(&global, "Tenant"), Some(id));
        assert_eq!(decode_as(&global, "Customer"), None);
        assert_eq!(tenant_ref(&global), id.to_string());
        assert_eq!(tenant_ref("shop"), "shop");
    }

    #[test]
    fn an_input_id_of_another_kind_is_not_found() {
        let global = global_id("Tenant", Uuid::new_v4());
        match input_id::<Uuid>(&global, "AppInstall", "installId") {
            Err(coplane_domain::Error::NotFound { field, entity }) => {
                assert_eq!((field, entity), ("installId", "app install"));
            }
            other => panic!("{other:?}"),
        }
    }
}
