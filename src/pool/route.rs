//! Where a pool's connections go: the environment's server, or a transaction-mode pooler.

use crate::Environment;
use crate::connect::Endpoint;

use super::PoolOptions;

/// The environment's endpoint, with the pooler's address in place of the server's when
/// `options` go through one ([`PoolOptions::pooler_for`]). TLS, the CA file and the database
/// stay the environment's: a pooler is reached like the server it stands for.
pub(crate) fn endpoint(environment: &Environment, options: &PoolOptions) -> Endpoint {
    let mut endpoint = environment.endpoint();
    if let Some((host, port)) = options.pooler_for(environment.config()) {
        endpoint.host = host.to_owned();
        endpoint.port = port;
    }
    endpoint
}
