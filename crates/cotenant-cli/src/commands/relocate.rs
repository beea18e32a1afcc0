//! `cotenant relocate <project>`: move a project's existing objects out of `public` into its
//! schema on every environment, staging first — metadata only, verified.

use std::time::Duration;

use cotenant::ProjectName;
use cotenant::relocate::{
    ForeignKeyChoice, FunctionChoice, PolicyChoice, PublicationChoice, Relocated, Relocation,
    RelocationPlan, SearchPathChoice, Selection, SharedChoice, SignupTriggerChoice, Verification,
    ViewChoice,
};
use serde::Serialize;

use super::output::{emit, emit_json};
use super::{Failure, open};
use crate::Global;

/// `cotenant relocate <project> (--tables a,b | --prefix p_ [--strip-prefix] | --pattern g | --all)
/// [--dry-run] [--verify-data]` and a choice for each kind of blocker.
#[derive(Debug, clap::Args)]
#[command(group(clap::ArgGroup::new("selection").required(true)))]
pub(crate) struct Args {
    /// The project: its schema is where the objects go.
    project: ProjectName,

    /// These relations of public (tables, views, sequences), by name; what they need comes
    /// along.
    #[arg(long, value_delimiter = ',', value_name = "NAME", group = "selection")]
    tables: Vec<String>,

    /// Every relation, type and routine of public whose name starts with this prefix.
    #[arg(long, value_name = "PREFIX", group = "selection")]
    prefix: Option<String>,

    /// Remove the prefix from the moved objects' names (`reli_items` becomes `reli.items`).
    #[arg(long, requires = "prefix", conflicts_with_all = ["tables", "pattern", "all"])]
    strip_prefix: bool,

    /// Every relation, type and routine of public whose name matches a glob (`*`, `?`).
    #[arg(long, value_name = "GLOB", group = "selection")]
    pattern: Option<String>,

    /// Everything in public the admin can act on.
    #[arg(long, group = "selection")]
    all: bool,

    /// Print the dependency report and the SQL on each environment; change nothing.
    #[arg(long)]
    dry_run: bool,

    /// Also checksum every moved table's rows before and after (reads every row twice).
    #[arg(long, conflicts_with = "metadata_only")]
    verify_data: bool,

    /// Do not count rows: check relfilenodes, owners and grants only (time independent of size).
    #[arg(long)]
    metadata_only: bool,

    /// How long each attempt may wait for a lock, in milliseconds.
    #[arg(long, default_value_t = 2000, value_name = "MS")]
    lock_timeout_ms: u64,

    /// How many attempts before a lock timeout is reported with the sessions holding the locks.
    #[arg(long, default_value_t = 5, value_name = "N")]
    attempts: u32,

    /// What to do with each kind of blocker.
    #[command(flatten)]
    choices: Choices,
}

/// A choice for each kind of blocker the dependency analysis finds: shared with `import`,
/// which runs the same analysis on its source.
#[derive(Debug, clap::Args)]
pub(super) struct Choices {
    /// Routines whose body names a moved table: `rewrite` moves them along and restates the
    /// bodies with `public.<name>` qualified by the project (shown as a diff in --dry-run).
    #[arg(long, value_enum, value_name = "CHOICE")]
    functions: Option<Functions>,

    /// Moved routines pinned to `search_path = public` (or SECURITY DEFINER without one).
    #[arg(long, value_enum, value_name = "CHOICE")]
    search_paths: Option<SearchPaths>,

    /// Views reading moved and unmoved relations.
    #[arg(long, value_enum, value_name = "CHOICE")]
    views: Option<Views>,

    /// Foreign keys between moved and unmoved tables.
    #[arg(long, value_enum, value_name = "CHOICE")]
    foreign_keys: Option<ForeignKeys>,

    /// Moved tables that publications publish.
    #[arg(long, value_enum, value_name = "CHOICE")]
    publications: Option<Publications>,

    /// Policies that apply only to roles outside the project.
    #[arg(long, value_enum, value_name = "CHOICE")]
    policies: Option<Policies>,

    /// Types, sequences and trigger functions shared with objects that stay.
    #[arg(long, value_enum, value_name = "CHOICE")]
    shared: Option<Shared>,

    /// Trigger functions fired by a trigger on auth.users (every project's signups): `hook`
    /// makes one the project's signup hook, declared as `signup_hook` in its platform access.
    #[arg(long, value_enum, value_name = "CHOICE")]
    signup_triggers: Option<SignupTriggers>,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum SignupTriggers {
    Hook,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum Functions {
    MoveAlong,
    /// Move along, and qualify the moved names a body spells `public.<name>`.
    Rewrite,
    Ignore,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum SearchPaths {
    Repoint,
    Keep,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum Views {
    MoveAlong,
    Leave,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum ForeignKeys {
    MoveAlong,
    Keep,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum Publications {
    Keep,
    Drop,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum Policies {
    ToApp,
    Keep,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum Shared {
    MoveAlong,
    Leave,
}

impl Args {
    fn relocation(&self) -> Relocation {
        let selection = if self.all {
            Selection::All
        } else if let Some(prefix) = &self.prefix {
            Selection::Prefix {
                prefix: prefix.clone(),
                strip: self.strip_prefix,
            }
        } else if let Some(glob) = &self.pattern {
            Selection::Pattern(glob.clone())
        } else {
            Selection::tables(self.tables.iter().cloned())
        };
        let verification = if self.verify_data {
            Verification::Checksums
        } else if self.metadata_only {
            Verification::Metadata
        } else {
            Verification::RowCounts
        };
        let relocation = Relocation::new(selection)
            .verification(verification)
            .lock_timeout(Duration::from_millis(self.lock_timeout_ms))
            .attempts(self.attempts);
        self.choices.apply(relocation)
    }
}

impl Choices {
    /// `relocation` with these choices.
    pub(super) fn apply(&self, mut relocation: Relocation) -> Relocation {
        if let Some(choice) = self.functions {
            relocation = relocation.functions(match choice {
                Functions::MoveAlong => FunctionChoice::MoveAlong,
                Functions::Rewrite => FunctionChoice::Rewrite,
                Functions::Ignore => FunctionChoice::Ignore,
            });
        }
        if let Some(choice) = self.search_paths {
            relocation = relocation.search_paths(match choice {
                SearchPaths::Repoint => SearchPathChoice::Repoint,
                SearchPaths::Keep => SearchPathChoice::Keep,
            });
        }
        if let Some(choice) = self.views {
            relocation = relocation.views(match choice {
                Views::MoveAlong => ViewChoice::MoveAlong,
                Views::Leave => ViewChoice::Leave,
            });
        }
        if let Some(choice) = self.foreign_keys {
            relocation = relocation.foreign_keys(match choice {
                ForeignKeys::MoveAlong => ForeignKeyChoice::MoveAlong,
                ForeignKeys::Keep => ForeignKeyChoice::Keep,
            });
        }
        if let Some(choice) = self.publications {
            relocation = relocation.publications(match choice {
                Publications::Keep => PublicationChoice::Keep,
                Publications::Drop => PublicationChoice::Drop,
            });
        }
        if let Some(choice) = self.policies {
            relocation = relocation.policies(match choice {
                Policies::ToApp => PolicyChoice::ToApp,
                Policies::Keep => PolicyChoice::Keep,
            });
        }
        if let Some(choice) = self.shared {
            relocation = relocation.shared(match choice {
                Shared::MoveAlong => SharedChoice::MoveAlong,
                Shared::Leave => SharedChoice::Leave,
            });
        }
        if let Some(SignupTriggers::Hook) = self.signup_triggers {
            relocation = relocation.signup_triggers(SignupTriggerChoice::Hook);
        }
        relocation
    }
}

pub(super) async fn run(args: Args, global: &Global) -> Result<(), Failure> {
    let cotenant = open(global).await?;
    let relocation = args.relocation();
    if args.dry_run {
        let plans = cotenant
            .plan_relocation(&args.project, &relocation)
            .await
            .map_err(Failure::operation)?;
        if global.json {
            let json: Vec<PlanJson> = plans
                .iter()
                .map(|(env, plan)| PlanJson::new(env, plan, None))
                .collect();
            return emit_json(&json);
        }
        let mut out = String::from("dry run: nothing is changed\n");
        for (environment, plan) in &plans {
            out.push_str(&format!("{environment}: {plan}{}", plan.to_sql()));
        }
        emit(&out)?;
        return match plans.iter().find(|(_, plan)| plan.is_blocked()) {
            Some((environment, _)) => Err(Failure::operation(format!(
                "relocating into `{}` is blocked on `{environment}`: choose how to handle each finding marked BLOCKS (the options are named after it), or resolve it as it says",
                args.project
            ))),
            None => Ok(()),
        };
    }
    // Every environment is planned before any is changed; then staging, then prod.
    let done = cotenant
        .relocate(&args.project, &relocation)
        .await
        .map_err(|error| Failure::operation(crate::chain(&error)))?;
    if global.json {
        let json: Vec<PlanJson> = done
            .iter()
            .map(|(env, relocated)| PlanJson::new(env, relocated.plan(), Some(relocated)))
            .collect();
        return emit_json(&json);
    }
    let mut out = String::new();
    for (environment, relocated) in &done {
        out.push_str(&summary(environment, &args.project, relocated));
    }
    emit(&out)
}

fn summary(environment: &str, project: &ProjectName, relocated: &Relocated) -> String {
    let plan = relocated.plan();
    if plan.is_empty() {
        return format!("{environment}: nothing left to move into `{project}`\n");
    }
    let verified = relocated.verified();
    let mut out = format!(
        "{environment}: moved {} object(s) into `{project}` in {} attempt(s); {} relation file(s) unchanged\n",
        plan.moves().len(),
        relocated.attempts(),
        verified.files()
    );
    for m in plan.moves() {
        out.push_str(&format!("  {} {} → {}\n", m.kind(), m.from(), m.to()));
    }
    for table in verified.tables() {
        if let Some(rows) = table.rows() {
            out.push_str(&format!("  verified {}: {rows} rows", table.table()));
            if let Some(sum) = table.checksum() {
                out.push_str(&format!(", checksum {sum}"));
            }
            out.push_str(" before and after\n");
        }
    }
    out
}

/// A plan (and, once applied, its verification) on one environment, as `--json` shows it.
#[derive(Serialize)]
struct PlanJson {
    environment: String,
    project: String,
    blocked: bool,
    moves: Vec<MoveJson>,
    findings: Vec<FindingJson>,
    skipped: Vec<String>,
    already_moved: Vec<String>,
    /// Routines `--functions rewrite` restates: where each ends up and its changed lines.
    rewrites: Vec<RewriteJson>,
    /// The whole plan as one SQL script.
    script: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    verified: Option<Vec<TableJson>>,
}

#[derive(Serialize)]
struct RewriteJson {
    function: String,
    diff: String,
}

#[derive(Serialize)]
struct MoveJson {
    kind: String,
    from: String,
    to: String,
    why: String,
}

#[derive(Serialize)]
struct FindingJson {
    kind: String,
    object: String,
    reason: String,
    remedy: String,
    resolution: Option<String>,
}

#[derive(Serialize)]
struct TableJson {
    table: String,
    rows: Option<i64>,
    checksum: Option<String>,
}

impl PlanJson {
    fn new(environment: &str, plan: &RelocationPlan, relocated: Option<&Relocated>) -> Self {
        Self {
            environment: environment.to_owned(),
            project: plan.project().to_string(),
            blocked: plan.is_blocked(),
            moves: plan
                .moves()
                .iter()
                .map(|m| MoveJson {
                    kind: m.kind().to_string(),
                    from: m.from().to_owned(),
                    to: m.to().to_owned(),
                    why: m.why().to_owned(),
                })
                .collect(),
            rewrites: plan
                .rewrites()
                .iter()
                .map(|r| RewriteJson {
                    function: r.function().to_owned(),
                    diff: r.diff(),
                })
                .collect(),
            findings: plan
                .blockers()
                .iter()
                .map(|b| FindingJson {
                    kind: format!("{:?}", b.kind()),
                    object: b.object().to_owned(),
                    reason: b.reason().to_owned(),
                    remedy: b.remedy().to_owned(),
                    resolution: b.resolution().map(str::to_owned),
                })
                .collect(),
            skipped: plan.skipped().to_vec(),
            already_moved: plan.already_moved().to_vec(),
            script: plan.to_sql(),
            verified: relocated.map(|r| {
                r.verified()
                    .tables()
                    .iter()
                    .map(|t| TableJson {
                        table: t.table().to_owned(),
                        rows: t.rows(),
                        checksum: t.checksum().map(str::to_owned),
                    })
                    .collect()
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;

    #[derive(Debug, Parser)]
    struct Cli {
        #[command(flatten)]
        args: Args,
    }

    fn parse(line: &[&str]) -> Result<Relocation, clap::Error> {
        Cli::try_parse_from(std::iter::once("relocate").chain(line.iter().copied()))
            .map(|cli| cli.args.relocation())
    }

    #[test]
    fn exactly_one_selection_is_taken() {
        assert_eq!(
            parse(&["crm", "--tables", "contacts,deals"])
                .unwrap()
                .get_selection(),
            &Selection::tables(["contacts", "deals"])
        );
        assert_eq!(
            parse(&["reli", "--prefix", "reli_", "--strip-prefix"])
                .unwrap()
                .get_selection(),
            &Selection::Prefix {
                prefix: "reli_".into(),
                strip: true
            }
        );
        assert!(parse(&["crm"]).is_err(), "a selection is required");
        assert!(parse(&["crm", "--all", "--tables", "a"]).is_err());
        assert!(parse(&["crm", "--all", "--strip-prefix"]).is_err());
    }

    #[test]
    fn verification_and_choices_reach_the_library() {
        let relocation = parse(&[
            "crm",
            "--all",
            "--verify-data",
            "--policies",
            "to-app",
            "--lock-timeout-ms",
            "500",
        ])
        .unwrap();
        assert_eq!(relocation.get_verification(), Verification::Checksums);
        assert_eq!(relocation.get_lock_timeout(), Duration::from_millis(500));
        assert_eq!(
            relocation,
            Relocation::new(Selection::All)
                .verification(Verification::Checksums)
                .lock_timeout(Duration::from_millis(500))
                .policies(PolicyChoice::ToApp)
        );
        assert!(parse(&["crm", "--all", "--verify-data", "--metadata-only"]).is_err());
    }
}
