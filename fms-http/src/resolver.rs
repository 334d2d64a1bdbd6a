//! A DNS resolver for reqwest that refuses names resolving to forbidden addresses, so a
//! public-looking name cannot smuggle a request to a private, loopback or metadata address.

use std::net::SocketAddr;

use reqwest::dns::{Addrs, Name, Resolve, Resolving};

use crate::guard::check_resolved;

/// Resolves with the system resolver (`tokio::net::lookup_host`), then refuses the whole
/// answer if any address is forbidden (see [`forbidden_reason`](crate::forbidden_reason)).
/// The refusal is a [`UrlError`](crate::UrlError) inside reqwest's error chain;
/// [`ReqwestSender`](crate::ReqwestSender) turns it into `SendError::Refused`.
///
/// Because the checked addresses are exactly the ones reqwest connects to, a second lookup
/// returning a different answer (DNS rebinding) cannot slip past the check.
#[derive(Debug, Clone, Copy, Default)]
pub struct GuardedResolver;

impl GuardedResolver {
    /// Looks `name` up and checks the answer.
    pub async fn lookup(
        name: Name,
    ) -> Result<Vec<SocketAddr>, Box<dyn std::error::Error + Send + Sync>> {
        let addrs: Vec<SocketAddr> = tokio::net::lookup_host((name.as_str(), 0)).await?.collect();
        check_resolved(&name, &addrs)?;
        Ok(addrs)
    }
}

impl Resolve for GuardedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        Box::pin(async move {
            let addrs = Self::lookup(name).await?;
            let addrs: Addrs = Box::new(addrs.into_iter());
            Ok(addrs)
        })
    }
}
