//! What one WebSocket connection may cost: the bytes it sends in all, and
//! how many connections one address holds at once. async-graphql's adapter
//! joins continuation frames without a cap, so the cap is on the payload
//! stream it reads: past it, the stream fails and the connection closes.

use std::collections::HashMap;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use actix_web::error::PayloadError;
use actix_web::web::Bytes;
use futures::Stream;

/// Bytes a connection may send over its whole life: subscriptions, pings
/// and acknowledgements are small.
pub const MAX_INBOUND_BYTES: usize = 4 << 20;

/// Connections one client address holds at once.
pub const MAX_PER_ADDRESS: usize = 32;

/// The open connections per address.
#[derive(Clone, Default)]
pub struct Connections(Arc<Mutex<HashMap<String, usize>>>);

impl Connections {
    /// A slot for one more connection from `address`, or `None` when it
    /// holds [`MAX_PER_ADDRESS`] already. The slot frees itself when dropped.
    pub fn open(&self, address: &str) -> Option<Slot> {
        let mut open = self.0.lock().unwrap_or_else(|p| p.into_inner());
        let n = open.entry(address.to_owned()).or_default();
        if *n >= MAX_PER_ADDRESS {
            return None;
        }
        *n += 1;
        Some(Slot {
            connections: self.clone(),
            address: address.to_owned(),
        })
    }
}

/// One open connection's place in [`Connections`].
pub struct Slot {
    connections: Connections,
    address: String,
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut open = self.connections.0.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(n) = open.get_mut(&self.address) {
            *n -= 1;
            if *n == 0 {
                open.remove(&self.address);
            }
        }
    }
}

/// The connection's payload, failing past [`MAX_INBOUND_BYTES`], holding
/// its [`Slot`] for as long as the connection reads.
pub struct Capped<S> {
    inner: S,
    remaining: usize,
    _slot: Slot,
}

impl<S> Capped<S> {
    /// Caps `inner`.
    pub fn new(inner: S, slot: Slot) -> Self {
        Self {
            inner,
            remaining: MAX_INBOUND_BYTES,
            _slot: slot,
        }
    }
}

impl<S> Stream for Capped<S>
where
    S: Stream<Item = Result<Bytes, PayloadError>> + Unpin,
{
    type Item = Result<Bytes, PayloadError>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        match Pin::new(&mut self.inner).poll_next(cx) {
            Poll::Ready(Some(Ok(bytes))) => {
                if bytes.len() > self.remaining {
                    self.remaining = 0;
                    return Poll::Ready(Some(Err(PayloadError::Overflow)));
                }
                self.remaining -= bytes.len();
                Poll::Ready(Some(Ok(bytes)))
            }
            other => other,
        }
    }
}

#[cfg(test)]
mod tests {
    use futures::StreamExt;

    use super::*;

    #[test]
    fn an_address_holds_a_bounded_number_of_connections() {
        let c = Connections::default();
        let slots: Vec<Slot> = (0..MAX_PER_ADDRESS).map(|_| c.open("a").unwrap()).collect();
        assert!(c.open("a").is_none());
        assert!(c.open("b").is_some());
        drop(slots);
        assert!(c.open("a").is_some());
    }

    #[tokio::test]
    async fn a_connection_that_sends_too_much_fails() {
        let c = Connections::default();
        let chunk = Bytes::from(vec![b'x'; 1 << 20]);
        let chunks = futures::stream::iter((0..5).map(move |_| Ok(chunk.clone())));
        let mut capped = Capped::new(chunks, c.open("a").unwrap());
        for _ in 0..4 {
            assert!(capped.next().await.unwrap().is_ok());
        }
        assert!(matches!(
            capped.next().await,
            Some(Err(PayloadError::Overflow))
        ));
    }
}
