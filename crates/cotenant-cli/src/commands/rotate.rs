//! `cotenant rotate <project>`: new passwords for a project's logins, staging first, without
//! downtime for the services using them.

use cotenant::ProjectName;
use cotenant::rotate::{Rotation, Strategy};
use cotenant::secret::Login;
use serde::Serialize;

use super::output::{PlanJson, emit, emit_json, statements};
use super::{Failure, open};
use crate::Global;

/// `cotenant rotate <project> [--login app|migrator] [--strategy ...] [--dry-run]`.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// The project whose credentials to rotate.
    project: ProjectName,

    /// Rotate only this login (`app` or `migrator`); default: both.
    #[arg(long, value_name = "LOGIN")]
    login: Option<Login>,

    /// `alternating-users` (default: the new password goes to the login's other user, the old
    /// one keeps working until the next rotation) or `single-user` (the login's password is
    /// replaced; the old one stops working at once).
    #[arg(long, default_value_t = Strategy::AlternatingUsers, value_name = "STRATEGY")]
    strategy: Strategy,

    /// Print what would change on each environment and change nothing.
    #[arg(long)]
    dry_run: bool,
}

#[derive(Serialize)]
struct RotationJson {
    environment: String,
    project: String,
    login: String,
    strategy: String,
    from_user: String,
    to_user: String,
    resumed: bool,
    plan: PlanJson,
}

impl RotationJson {
    fn new(rotation: &Rotation) -> Self {
        Self {
            environment: rotation.environment().to_owned(),
            project: rotation.project().to_string(),
            login: rotation.login().to_string(),
            strategy: rotation.strategy().to_string(),
            from_user: rotation.from_user().to_owned(),
            to_user: rotation.to_user().to_owned(),
            resumed: rotation.resumed(),
            plan: PlanJson::new(rotation.environment(), rotation.plan()),
        }
    }
}

pub(super) async fn run(args: Args, global: &Global) -> Result<(), Failure> {
    let cotenant = open(global).await?;
    let logins: Vec<Login> = args.login.map_or(Login::ALL.to_vec(), |l| vec![l]);
    if args.dry_run {
        return dry_run(&cotenant, &args, &logins, global).await;
    }
    let mut done: Vec<Rotation> = Vec::new();
    // Environment by environment in promotion order; the first failure stops the run.
    for environment in cotenant.environments() {
        for login in &logins {
            match environment
                .rotate(&args.project, *login, args.strategy)
                .await
            {
                Ok(rotation) => done.push(rotation),
                Err(error) => {
                    let mut message = crate::chain(&error);
                    if !done.is_empty() {
                        let finished: Vec<String> = done
                            .iter()
                            .map(|r| format!("{} on `{}`", r.login(), r.environment()))
                            .collect();
                        message.push_str(&format!(
                            "\nnote: rotated before the failure: {}; nothing after it was touched",
                            finished.join(", ")
                        ));
                    }
                    return Err(Failure::operation(message));
                }
            }
        }
    }
    if global.json {
        return emit_json(&done.iter().map(RotationJson::new).collect::<Vec<_>>());
    }
    let mut out = String::new();
    for rotation in &done {
        out.push_str(&format!("{rotation}\n"));
    }
    emit(&out)
}

async fn dry_run(
    cotenant: &cotenant::Cotenant,
    args: &Args,
    logins: &[Login],
    global: &Global,
) -> Result<(), Failure> {
    let mut plans = Vec::new();
    for environment in cotenant.environments() {
        for login in logins {
            let plan = environment
                .plan_rotation(&args.project, *login, args.strategy)
                .await
                .map_err(|e| Failure::operation(crate::chain(&e)))?;
            plans.push((environment.name().to_owned(), *login, plan));
        }
    }
    if global.json {
        let json: Vec<PlanJson> = plans
            .iter()
            .map(|(environment, _, plan)| PlanJson::new(environment, plan))
            .collect();
        return emit_json(&json);
    }
    let mut out = String::from(
        "dry run: nothing is changed (a rotation also stages the new password AWSPENDING, logs in with it, then promotes it to AWSCURRENT)\n",
    );
    for (environment, login, plan) in &plans {
        out.push_str(&format!(
            "{environment}: rotating the {login} credential of `{}` ({}) would apply {} statement(s)\n",
            args.project,
            args.strategy,
            plan.len()
        ));
        out.push_str(&statements(plan));
    }
    emit(&out)
}
