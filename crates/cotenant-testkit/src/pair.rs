//! Prod and staging: the two environments every cotenant operation spans.

use std::sync::OnceLock;
use std::thread;
use std::time::Instant;

use crate::{Cluster, Flavor, PgVersion, TestkitError, external, test_flavor, test_version};

/// A prod and a staging server of the same version and [`Flavor`], each with passwords of its own.
///
/// ```no_run
/// use cotenant_testkit::{Pair, PgVersion};
///
/// let pair = Pair::start(PgVersion::V15)?;
/// for (environment, cluster) in pair.environments() {
///     println!("{environment}: {}:{}", cluster.host(), cluster.port());
/// }
/// # Ok::<(), cotenant_testkit::TestkitError>(())
/// ```
#[derive(Debug)]
pub struct Pair {
    /// The production server.
    pub prod: Cluster,
    /// The staging server, which must mirror prod.
    pub staging: Cluster,
}

impl Pair {
    /// Starts two servers of `version` set up as the flavour `COTENANT_TEST_FLAVOR` names
    /// ([`test_flavor`]: Supabase by default); see [`start_flavor`](Self::start_flavor).
    pub fn start(version: PgVersion) -> Result<Pair, TestkitError> {
        Pair::start_flavor(version, test_flavor())
    }

    /// Starts two servers of `version` set up as `flavor` in parallel, or uses the existing
    /// servers named by `COTENANT_TEST_PROD_URL` and `COTENANT_TEST_STAGING_URL` when both are set
    /// (whose flavour is what they are: see [`Cluster::external`]).
    ///
    /// Blocking, safe inside a tokio runtime; see [`Cluster::start_flavor`].
    pub fn start_flavor(version: PgVersion, flavor: Flavor) -> Result<Pair, TestkitError> {
        if let Some(pair) = external::pair_from_env(version)? {
            return Ok(pair);
        }
        let started = Instant::now();
        let (prod, staging) = thread::scope(|scope| {
            let staging = scope.spawn(|| Cluster::start_flavor(version, flavor));
            let prod = Cluster::start_flavor(version, flavor);
            let staging = staging
                .join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
            (prod, staging)
        });
        // On an error the other server, if started, is dropped (and removed) here.
        let pair = Pair {
            prod: prod?,
            staging: staging?,
        };
        tracing::info!(
            target: "cotenant_testkit",
            version = %version,
            flavor = %flavor,
            elapsed = ?started.elapsed(),
            "started a prod+staging pair"
        );
        Ok(pair)
    }

    /// One pair for the whole test process, started on first use with [`test_version`] and
    /// [`test_flavor`]; tests sharing it keep apart by using project names of their own.
    ///
    /// It is never dropped: the servers' watchdogs remove them when the test process exits.
    ///
    /// # Panics
    /// When the pair cannot be started, with the reason: every test using it fails the same way.
    pub fn shared() -> &'static Pair {
        static SHARED: OnceLock<Pair> = OnceLock::new();
        SHARED.get_or_init(|| {
            Pair::start_flavor(test_version(), test_flavor())
                .unwrap_or_else(|error| panic!("starting the shared test pair: {error}"))
        })
    }

    /// The pair's flavour (both servers have the same).
    pub fn flavor(&self) -> Flavor {
        self.prod.flavor()
    }

    /// Staging, then prod: the order cotenant applies changes in.
    pub fn environments(&self) -> [(&'static str, &Cluster); 2] {
        [("staging", &self.staging), ("prod", &self.prod)]
    }
}
