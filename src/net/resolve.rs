//! Name resolution for public destinations in production: the system resolver's answer with every
//! non-public address removed (see `address`). reqwest connects only to the addresses returned
//! here, so the address checked is the address connected to; a name whose every address is refused
//! fails with [`RefusedName`].

use std::net::SocketAddr;
use std::sync::Arc;

use reqwest::dns::{Addrs, Name, Resolve, Resolving};

use super::address;
use super::outbound::{Counters, check_public_name};

/// Most addresses tried for one name.
const MAX_ADDRESSES: usize = 8;

/// A name whose every address is refused (or that is refused itself).
#[derive(Debug, thiserror::Error)]
#[error("{name} is not a public destination ({why})")]
pub struct RefusedName {
    pub name: String,
    pub why: String,
}

/// The resolver of the guarded client.
pub struct GuardedResolver {
    counters: Arc<Counters>,
}

impl GuardedResolver {
    pub fn new(counters: Arc<Counters>) -> GuardedResolver {
        GuardedResolver { counters }
    }
}

impl Resolve for GuardedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let name = name.as_str().to_owned();
        let counters = self.counters.clone();
        Box::pin(async move {
            let addresses = public_addresses(&name, 0).await.inspect_err(|_| {
                counters.refused();
            })?;
            Ok(Box::new(addresses.into_iter()) as Addrs)
        })
    }
}

/// The public addresses of `name` (port `port`), or why there are none.
pub async fn public_addresses(name: &str, port: u16) -> Result<Vec<SocketAddr>, RefusedName> {
    let refused = |why: String| RefusedName {
        name: name.to_owned(),
        why,
    };
    check_public_name(name).map_err(|why| refused(why.to_owned()))?;
    let found: Vec<SocketAddr> = tokio::net::lookup_host((name, port))
        .await
        .map_err(|e| refused(format!("lookup failed: {e}")))?
        .take(64)
        .collect();
    let mut why = String::from("no addresses");
    let mut public = Vec::new();
    for address in found {
        match address::refusal(address.ip()) {
            None if public.len() < MAX_ADDRESSES => public.push(address),
            None => {}
            Some(reason) => why = format!("{} is {reason}", address.ip()),
        }
    }
    if public.is_empty() {
        return Err(refused(why));
    }
    Ok(public)
}
