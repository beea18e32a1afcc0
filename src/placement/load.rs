//! What an instance carries: its projects, its connections, its size.

use serde::Serialize;
use tokio_postgres::GenericClient;

const LOAD: &str = include_str!("../../sql/placement/load.sql");

/// One instance's load, as [`PlacementRule`](super::PlacementRule) and `cotenant status` see it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct InstanceLoad {
    /// The instance's name.
    pub instance: String,
    /// How many projects it has (schemas `x` owned by `x_owner`).
    pub projects: usize,
    /// Client connections open now, all databases.
    pub connections: i64,
    /// The server's `max_connections`.
    pub max_connections: i64,
    /// The size of the shared database, in bytes.
    pub database_bytes: i64,
}

impl InstanceLoad {
    /// A load of `projects` projects, `connections` of `max_connections` in use and
    /// `database_bytes` of data on `instance`.
    pub fn new(
        instance: impl Into<String>,
        projects: usize,
        connections: i64,
        max_connections: i64,
        database_bytes: i64,
    ) -> Self {
        Self {
            instance: instance.into(),
            projects,
            connections,
            max_connections,
            database_bytes,
        }
    }

    /// `max_connections` minus the connections in use.
    pub fn free_connections(&self) -> i64 {
        self.max_connections - self.connections
    }

    /// Reads the load of the instance behind `client`, which has `projects` projects.
    pub(crate) async fn read(
        client: &impl GenericClient,
        instance: &str,
        projects: usize,
    ) -> Result<Self, tokio_postgres::Error> {
        let row = client.query_one(LOAD, &[]).await?;
        Ok(Self::new(
            instance,
            projects,
            row.get("connections"),
            row.get("max_connections"),
            row.get("database_bytes"),
        ))
    }

    /// Counts a project placed here in this run: one more project, its logins' connection
    /// limits taken from what is free.
    pub(crate) fn reserve(&mut self, connections: i64) {
        self.projects += 1;
        self.connections += connections;
    }
}
