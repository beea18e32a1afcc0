//! A [`Pair`] as a cotenant deployment: its admin credentials in a secret store, and a
//! [`Cotenant`] configured for its staging and prod.

use std::sync::Arc;

use cotenant::Cotenant;
use cotenant::config::Config;
use cotenant::secret::{DbSecret, SecretError, SecretSource, Stage};

use crate::Pair;

impl Pair {
    /// Writes the admin credentials of both servers to `secrets` (as `<prefix>/<env>/admin`) and
    /// returns a [`Cotenant`] whose environments are this pair's staging and prod, with the
    /// projects' secrets named `<prefix>/<env>/<project>/<login>` in the same store.
    ///
    /// ```no_run
    /// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
    /// use cotenant_testkit::{MotoServer, Pair};
    ///
    /// let pair = Pair::shared();
    /// let secrets = std::sync::Arc::new(MotoServer::shared().secrets_manager());
    /// let cotenant = pair.cotenant("test", secrets).await?;
    /// # Ok(()) }
    /// ```
    pub async fn cotenant(
        &self,
        prefix: &str,
        secrets: Arc<dyn SecretSource>,
    ) -> Result<Cotenant, SecretError> {
        let mut toml = format!("[secrets]\nprefix = \"{prefix}\"\n");
        for (name, cluster) in self.environments() {
            let admin_secret = format!("{prefix}/{name}/admin");
            let secret = DbSecret::new(
                cluster.host(),
                cluster.port(),
                cluster.admin_user(),
                cluster.admin_password().clone(),
                cluster.database(),
            );
            secrets.put(&admin_secret, &secret, Stage::Current).await?;
            toml.push_str(&format!(
                "[environments.{name}]\nhost = \"{}\"\nport = {}\ndatabase = \"{}\"\nadmin_secret = \"{admin_secret}\"\ntls = \"disable\"\n",
                cluster.host(),
                cluster.port(),
                cluster.database(),
            ));
        }
        let config = Config::from_toml_str(&toml).expect("the generated config is valid");
        Ok(Cotenant::with_secrets(&config, secrets))
    }
}
