//! `cotenant api <project>`: what an operator sets up outside cotenant so that clients reach the
//! project through PostgREST (exposed schema, JWT role claims), from cotenant.toml alone.

use cotenant::ProjectName;
use cotenant::api::OperatorSetup;
use cotenant::config::Config;

use super::Failure;
use super::output::{emit, emit_json};
use crate::Global;

/// `cotenant api <project>`.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// The project: the name of its schema and the prefix of its roles.
    project: ProjectName,
}

#[derive(serde::Serialize)]
struct SetupJson {
    project: String,
    enabled: bool,
    exposed_schema: String,
    accept_profile: String,
    role_claims: Vec<RoleJson>,
}

#[derive(serde::Serialize)]
struct RoleJson {
    kind: String,
    role: String,
}

pub(super) async fn run(args: Args, global: &Global) -> Result<(), Failure> {
    let config = Config::load(&global.config).map_err(Failure::usage)?;
    let api = config.api.api_of(&args.project);
    let setup = OperatorSetup::new(&args.project, &api);
    if global.json {
        return emit_json(&SetupJson {
            project: args.project.to_string(),
            enabled: api.enabled,
            exposed_schema: setup.exposed_schema().to_owned(),
            accept_profile: setup.exposed_schema().to_owned(),
            role_claims: setup
                .role_claims()
                .into_iter()
                .map(|(kind, role)| RoleJson {
                    kind: kind.to_string(),
                    role,
                })
                .collect(),
        });
    }
    emit(&format!("{setup}\n"))
}
