//! `cotenant status --instances`: each environment's instances, the projects on each and its
//! load (projects, connections in use of max_connections, database size), from one catalog
//! read per instance.

use cotenant::Cotenant;
use cotenant::placement::{EnvironmentSurvey, InstanceLoad};
use serde::Serialize;

use super::Failure;
use super::output::{emit, emit_json};

/// One environment's instances, as `--json` shows them.
#[derive(Serialize)]
struct EnvironmentJson {
    environment: String,
    instances: Vec<InstanceJson>,
}

#[derive(Serialize)]
struct InstanceJson {
    instance: String,
    host: String,
    port: u16,
    projects: Vec<String>,
    load: InstanceLoad,
}

pub(super) async fn run(cotenant: &Cotenant, json: bool) -> Result<(), Failure> {
    let mut environments = Vec::new();
    for env in cotenant.environments() {
        let survey = EnvironmentSurvey::read(env, &[])
            .await
            .map_err(Failure::operation)?;
        let instances = survey
            .instances()
            .iter()
            .map(|i| InstanceJson {
                instance: i.instance().to_owned(),
                host: i.environment().config().host.clone(),
                port: i.environment().config().port,
                projects: i.state().found_projects().to_vec(),
                load: i.load().clone(),
            })
            .collect();
        environments.push(EnvironmentJson {
            environment: env.name().to_owned(),
            instances,
        });
    }
    if json {
        return emit_json(&environments);
    }
    let mut out = String::new();
    for env in &environments {
        out.push_str(&format!("{}:\n", env.environment));
        for i in &env.instances {
            out.push_str(&format!(
                "  instance {} ({}:{}): {} project(s), {}/{} connections, {}\n",
                i.instance,
                i.host,
                i.port,
                i.load.projects,
                i.load.connections,
                i.load.max_connections,
                size(i.load.database_bytes),
            ));
            if !i.projects.is_empty() {
                out.push_str(&format!("    {}\n", i.projects.join(", ")));
            }
        }
    }
    emit(&out)
}

/// `bytes` in the largest binary unit that keeps a number of at least one.
fn size(bytes: i64) -> String {
    let mut value = bytes as f64;
    for unit in ["B", "KiB", "MiB", "GiB"] {
        if value < 1024.0 {
            return format!("{value:.1} {unit}");
        }
        value /= 1024.0;
    }
    format!("{value:.1} TiB")
}
