//! Where a pool's connections go: the environment's server, or a transaction-mode pooler.

use crate::connect::Endpoint;
use crate::secret::{DbSecret, Login};
use crate::{Environment, ProjectName};

use super::{PoolError, PoolOptions, SecretField};

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

/// Where a connection made with `secret` goes: the instance the secret names (its `host` and
/// `port`, checked by [`Credential::verify`](super::credential::Credential::verify) against the
/// environment's instances), or the pooler that stands for it when `options` go through one.
/// After a move the secret names the target, so a pool built on the source reconnects there.
pub(crate) fn address(
    environment: &Environment,
    options: &PoolOptions,
    secret: &DbSecret,
) -> (String, u16, String) {
    let config = environment.config();
    let on = config
        .instance_at(&secret.host, secret.port)
        .and_then(|instance| config.on(&instance.name))
        .unwrap_or_else(|| config.clone());
    let (host, port) = options
        .pooler_for(&on)
        .map(|(host, port)| (host.to_owned(), port))
        .unwrap_or((on.host.clone(), on.port));
    (host, port, on.database)
}

/// `environment` seen on the instance that `project`'s `login` secret names (its `host` and
/// `port`), so that a pool connects where provisioning (or a move) put the project: the secret
/// is the placement a service reads. An environment with one instance, or one already seen on
/// a chosen instance, is kept as it is (the secret is then checked against it as always).
pub(crate) async fn on_secret_instance(
    environment: &Environment,
    project: &ProjectName,
    login: Login,
) -> Result<Environment, PoolError> {
    if environment.is_routed() {
        return Ok(environment.clone());
    }
    let secret = environment
        .login_secret(project, login)
        .await
        .map_err(|source| PoolError::Secret {
            environment: environment.name().to_owned(),
            project: project.clone(),
            source: Box::new(source),
        })?;
    let config = environment.config();
    match config.instance_at(&secret.host, secret.port) {
        Some(instance) => Ok(environment
            .on(&instance.name)
            .expect("an instance of the environment's own list")),
        None => Err(PoolError::SecretMismatch {
            environment: environment.name().to_owned(),
            project: project.clone(),
            login,
            secret: environment.secret_id(project, login),
            field: SecretField::Host,
            found: format!("{}:{}", secret.host, secret.port),
            expected: format!(
                "one of the environment's instances: {}",
                config
                    .instances()
                    .iter()
                    .map(|i| format!("`{}:{}` ({})", i.host, i.port, i.name))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        }),
    }
}
