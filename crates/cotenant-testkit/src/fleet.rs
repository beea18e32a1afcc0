//! Several instances per environment: what placement, moves and imports are tested on.

use std::sync::{Arc, OnceLock};
use std::thread;
use std::time::Instant;

use cotenant::Cotenant;
use cotenant::config::Config;
use cotenant::secret::{DbSecret, SecretError, SecretSource, Stage};

use crate::{Cluster, Flavor, PgVersion, TestkitError, test_flavor, test_version};

/// The instance names a fleet's servers get, in order: `a`, `b`, `c`, …
const NAMES: [&str; 8] = ["a", "b", "c", "d", "e", "f", "g", "h"];

/// A staging and a prod environment with the same number of instances each (named `a`, `b`,
/// `c`, …), every instance a server of its own of the same version and [`Flavor`].
///
/// ```no_run
/// use cotenant_testkit::{Fleet, Flavor, PgVersion};
///
/// let fleet = Fleet::start(PgVersion::V17, Flavor::Plain, 3)?;
/// let b = fleet.instance("prod", "b");
/// println!("prod's b: {}:{}", b.host(), b.port());
/// # Ok::<(), cotenant_testkit::TestkitError>(())
/// ```
#[derive(Debug)]
pub struct Fleet {
    /// Staging's instances, by name.
    pub staging: Vec<(String, Cluster)>,
    /// Prod's instances, by name.
    pub prod: Vec<(String, Cluster)>,
}

impl Fleet {
    /// Starts `instances` servers (at most 8) per environment, `2 × instances` in all, of
    /// `version` set up as `flavor`, in parallel. Blocking, safe inside a tokio runtime.
    pub fn start(
        version: PgVersion,
        flavor: Flavor,
        instances: usize,
    ) -> Result<Fleet, TestkitError> {
        assert!(
            (1..=NAMES.len()).contains(&instances),
            "a fleet has 1 to {} instances per environment",
            NAMES.len()
        );
        let started = Instant::now();
        let servers: Vec<Result<Cluster, TestkitError>> = thread::scope(|scope| {
            let handles: Vec<_> = (0..2 * instances)
                .map(|_| scope.spawn(move || Cluster::start_flavor(version, flavor)))
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().unwrap_or_else(|p| std::panic::resume_unwind(p)))
                .collect()
        });
        let mut servers = servers
            .into_iter()
            .collect::<Result<Vec<_>, _>>()?
            .into_iter();
        let mut take = || -> Vec<(String, Cluster)> {
            NAMES[..instances]
                .iter()
                .map(|n| ((*n).to_owned(), servers.next().expect("two per instance")))
                .collect()
        };
        let staging = take();
        let prod = take();
        tracing::info!(
            target: "cotenant_testkit",
            version = %version,
            flavor = %flavor,
            instances,
            elapsed = ?started.elapsed(),
            "started a fleet"
        );
        Ok(Fleet { staging, prod })
    }

    /// One fleet of three instances per environment for the whole test process, with
    /// [`test_version`] and [`test_flavor`]; never dropped (the watchdogs remove the servers when
    /// the process exits).
    ///
    /// # Panics
    /// When the fleet cannot be started, with the reason.
    pub fn shared() -> &'static Fleet {
        static SHARED: OnceLock<Fleet> = OnceLock::new();
        SHARED.get_or_init(|| {
            Fleet::start(test_version(), test_flavor(), 3)
                .unwrap_or_else(|error| panic!("starting the shared test fleet: {error}"))
        })
    }

    /// The fleet's flavour.
    pub fn flavor(&self) -> Flavor {
        self.prod[0].1.flavor()
    }

    /// The instance names, in order.
    pub fn instance_names(&self) -> Vec<&str> {
        self.prod.iter().map(|(n, _)| n.as_str()).collect()
    }

    /// Staging's instances, then prod's: the order cotenant applies changes in.
    pub fn environments(&self) -> [(&'static str, &[(String, Cluster)]); 2] {
        [("staging", &self.staging), ("prod", &self.prod)]
    }

    /// The server of instance `name` of `environment` (`staging` or `prod`).
    ///
    /// # Panics
    /// On another environment or instance name.
    pub fn instance(&self, environment: &str, name: &str) -> &Cluster {
        let instances = match environment {
            "staging" => &self.staging,
            "prod" => &self.prod,
            other => panic!("a fleet has staging and prod, not `{other}`"),
        };
        instances
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, c)| c)
            .unwrap_or_else(|| panic!("the fleet has no instance `{name}`"))
    }

    /// The id of the admin secret of `environment`'s instance `instance` under `prefix`:
    /// `<prefix>/<environment>/<instance>/admin`.
    pub fn admin_secret_id(prefix: &str, environment: &str, instance: &str) -> String {
        format!("{prefix}/{environment}/{instance}/admin")
    }

    /// Writes every instance's admin credential to `secrets`, as
    /// [`admin_secret_id`](Self::admin_secret_id) names it.
    pub async fn write_admin_secrets(
        &self,
        prefix: &str,
        secrets: &dyn SecretSource,
    ) -> Result<(), SecretError> {
        for (environment, instances) in self.environments() {
            for (name, cluster) in instances {
                let secret = DbSecret::new(
                    cluster.host(),
                    cluster.port(),
                    cluster.admin_user(),
                    cluster.admin_password().clone(),
                    cluster.database(),
                );
                let id = Self::admin_secret_id(prefix, environment, name);
                secrets.put(&id, &secret, Stage::Current).await?;
            }
        }
        Ok(())
    }

    /// The `[environments.<env>.instances.<name>]` tables of a cotenant.toml for this fleet, the
    /// admin secrets named under `prefix`: what a CLI test appends to its `[secrets]` section.
    pub fn environments_toml(&self, prefix: &str) -> String {
        let mut toml = String::new();
        for (environment, instances) in self.environments() {
            for (name, cluster) in instances {
                toml.push_str(&format!(
                    "\n[environments.{environment}.instances.{name}]\nhost = \"{}\"\nport = {}\ndatabase = \"{}\"\nadmin_secret = \"{}\"\ntls = \"disable\"\n",
                    cluster.host(),
                    cluster.port(),
                    cluster.database(),
                    Self::admin_secret_id(prefix, environment, name),
                ));
            }
        }
        toml
    }

    /// Writes the admin secrets and returns a [`Cotenant`] over the fleet configured by
    /// `[secrets] prefix = "<prefix>"`, the environment tables and `extra` (e.g. `[placement]` and
    /// `[projects.<p>]` tables).
    ///
    /// ```no_run
    /// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
    /// use cotenant_testkit::{Fleet, MotoServer};
    ///
    /// let secrets = std::sync::Arc::new(MotoServer::shared().secrets_manager());
    /// let cotenant = Fleet::shared()
    ///     .cotenant("fleet", secrets, "[projects.reli]\ninstance = \"b\"\n")
    ///     .await?;
    /// # Ok(()) }
    /// ```
    pub async fn cotenant(
        &self,
        prefix: &str,
        secrets: Arc<dyn SecretSource>,
        extra: &str,
    ) -> Result<Cotenant, SecretError> {
        self.write_admin_secrets(prefix, secrets.as_ref()).await?;
        let config = self.config(prefix, extra);
        Ok(Cotenant::with_secrets(&config, secrets))
    }

    /// The configuration [`cotenant`](Self::cotenant) uses.
    ///
    /// # Panics
    /// When `extra` makes it invalid.
    pub fn config(&self, prefix: &str, extra: &str) -> Config {
        let toml = format!(
            "[secrets]\nprefix = \"{prefix}\"\n{}\n{extra}",
            self.environments_toml(prefix)
        );
        Config::from_toml_str(&toml)
            .unwrap_or_else(|e| panic!("the generated fleet config is invalid: {e}\n{toml}"))
    }
}
