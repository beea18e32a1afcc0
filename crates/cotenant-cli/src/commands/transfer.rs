//! `cotenant move <project> --to <instance>`: moves a project to another instance of every
//! selected environment, online (see the library's `transfer` module), staging first and prod
//! last so that placement keeps mirroring; `--resume`, `--abort` and `--finish` act on the move
//! each environment recorded.

use std::time::Duration;

use cotenant::placement::Located;
use cotenant::transfer::{self, Instance, MoveOptions, MoveReport, TransferPlan, Verification};
use cotenant::{Cotenant, Environment, ProjectName};
use serde::Serialize;

use super::Failure;
use super::migration_files::{FilesArgs, open_whole};
use super::output::{emit, emit_json};
use crate::Global;

/// `cotenant move <project> (--to <INSTANCE> [--dry-run] [--verify WHERE] | --resume | --abort |
/// --finish [--unverified]) [--dir DIR]`.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// The project to move.
    project: ProjectName,

    /// The instance to move it to, on every selected environment.
    #[arg(long, value_name = "INSTANCE", required_unless_present_any = ["resume", "abort", "finish"])]
    to: Option<String>,

    /// The project's migrations (re-run on the target, checksums compared with the source's).
    #[command(flatten)]
    files: FilesArgs,

    /// Print each environment's plan (mechanism and why, the estimated write pause) and change
    /// nothing.
    #[arg(long, conflicts_with_all = ["resume", "abort", "finish"])]
    dry_run: bool,

    /// Continue the recorded move after the last step it completed.
    #[arg(long, conflicts_with_all = ["abort", "finish"])]
    resume: bool,

    /// Undo the recorded move (before its flip): the source serves again, the only copy.
    #[arg(long, conflicts_with = "finish")]
    abort: bool,

    /// Drop the source's copy of a completed move (once its checksums matched).
    #[arg(long)]
    finish: bool,

    /// With `--finish`: drop the source's copy even though the checksums after the flip
    /// differed or could not be completed. Rows the target lacks are then lost for good.
    #[arg(long, requires = "finish")]
    unverified: bool,

    /// Where the copies are compared: `checksums-after-flip` (counts in the write pause,
    /// checksums after the flip in snapshots of both copies: the short pause), `checksums-in-fence`
    /// (everything before the flip: a longer pause) or `counts` (no checksums). A resumed move
    /// keeps the one it was started with.
    #[arg(long, value_name = "WHERE", value_parser = parse_verification, default_value = "checksums-after-flip", conflicts_with_all = ["resume", "abort", "finish"])]
    verify: Verification,
}

fn parse_verification(text: &str) -> Result<Verification, String> {
    Verification::from_name(text).ok_or_else(|| {
        format!(
            "`{text}` is not a verification: checksums-after-flip, checksums-in-fence or counts"
        )
    })
}

/// What was done on one environment, as `--json` shows it.
#[derive(Serialize)]
struct Outcome {
    environment: String,
    from: String,
    to: String,
    /// `planned`, `moved`, `resumed`, `aborted`, `finished`, or `nothing-to-do`.
    action: &'static str,
    mechanism: Option<String>,
    verification: Option<String>,
    reasons: Vec<String>,
    estimated_fence_ms: Option<u128>,
    fenced_for_ms: Option<u128>,
    /// How the checksums after the flip ended: `matched`, `differ`, `incomplete`, ...
    checksums: Option<String>,
    steps: Vec<String>,
    note: Option<String>,
}

impl Outcome {
    fn new(env: &str, from: &str, to: &str, action: &'static str) -> Self {
        Outcome {
            environment: env.to_owned(),
            from: from.to_owned(),
            to: to.to_owned(),
            action,
            mechanism: None,
            verification: None,
            reasons: Vec::new(),
            estimated_fence_ms: None,
            fenced_for_ms: None,
            checksums: None,
            steps: Vec::new(),
            note: None,
        }
    }

    fn planned(mut self, plan: &TransferPlan) -> Self {
        self.mechanism = Some(plan.mechanism.to_string());
        self.verification = Some(plan.verification.to_string());
        self.reasons.clone_from(&plan.reasons);
        self.estimated_fence_ms = Some(plan.estimated_fence.as_millis());
        self.steps = plan
            .steps
            .iter()
            .map(|(step, what)| format!("{step}: {what}"))
            .collect();
        self
    }

    fn ran(mut self, report: &MoveReport) -> Self {
        self = self.planned(&report.plan);
        self.fenced_for_ms = report.fenced_for.map(|d| d.as_millis());
        self.checksums = report.checksums.as_ref().map(|c| c.name().to_owned());
        self.steps = report
            .steps
            .iter()
            .map(|(step, took)| format!("{step} ({})", ms(*took)))
            .collect();
        self
    }

    fn text(&self) -> String {
        let mut out = format!(
            "{}: {} `{}` → `{}`",
            self.environment, self.action, self.from, self.to
        );
        if let Some(mechanism) = &self.mechanism {
            out.push_str(&format!(" by {mechanism}"));
        }
        out.push('\n');
        for reason in &self.reasons {
            out.push_str(&format!("  because {reason}\n"));
        }
        if self.action == "planned"
            && let Some(verification) = &self.verification
        {
            out.push_str(&format!("  verification: {verification}\n"));
        }
        if self.action == "planned"
            && let Some(fence) = self.estimated_fence_ms
        {
            out.push_str(&format!("  writes refused for about {fence} ms\n"));
        }
        for step in &self.steps {
            out.push_str(&format!("  {step}\n"));
        }
        if let Some(fenced) = self.fenced_for_ms {
            out.push_str(&format!("  writes were refused for {fenced} ms\n"));
        }
        if let Some(checksums) = &self.checksums {
            out.push_str(&format!("  checksums after the flip: {checksums}\n"));
        }
        if let Some(note) = &self.note {
            out.push_str(&format!("  {note}\n"));
        }
        out
    }
}

fn ms(d: Duration) -> String {
    format!("{} ms", d.as_millis())
}

pub(super) async fn run(args: Args, global: &Global) -> Result<(), Failure> {
    let (cotenant, _, declarations) = open_whole(global).await?;
    let selected = if global.environments.is_empty() {
        cotenant.clone()
    } else {
        cotenant
            .select(&global.environments)
            .map_err(Failure::usage)?
    };
    let p = &args.project;
    let placement = selected.placement(p).await.map_err(Failure::operation)?;
    let migrations = args.files.load(std::slice::from_ref(p), &declarations)?;
    let options = MoveOptions::new(migrations).verification(args.verify);
    // Staging first, prod last (promotion order): an abort goes the other way.
    let mut order: Vec<&Located> = placement.environments.iter().collect();
    if args.abort {
        order.reverse();
    }
    let mut outcomes = Vec::new();
    for located in order {
        let env = environment(&selected, &located.environment)?;
        let outcome = one(&args, &env, located, &options).await;
        match outcome {
            Ok(outcome) => {
                if !global.json {
                    emit(&outcome.text())?;
                }
                outcomes.push(outcome);
            }
            Err(failure) => {
                if !global.json {
                    for done in &outcomes {
                        eprintln!("note: `{}` was done before the failure", done.environment);
                    }
                } else {
                    emit_json(&outcomes)?;
                }
                return Err(failure);
            }
        }
    }
    if global.json {
        emit_json(&outcomes)?;
    }
    Ok(())
}

fn environment(cotenant: &Cotenant, name: &str) -> Result<Environment, Failure> {
    cotenant.environment(name).cloned().map_err(Failure::usage)
}

fn instance(env: &Environment, name: &str) -> Result<Instance, Failure> {
    Ok(Instance::new(name, env.on(name).map_err(Failure::usage)?))
}

/// Does what `args` ask on one environment, where `located` says the project is.
async fn one(
    args: &Args,
    env: &Environment,
    located: &Located,
    options: &MoveOptions,
) -> Result<Outcome, Failure> {
    let name = env.name();
    let p = &args.project;
    let fail = |e: transfer::TransferError| Failure::operation(crate::chain(&e));
    if args.resume || args.abort || args.finish {
        let Some(moving) = &located.moving else {
            let mut outcome =
                Outcome::new(name, &located.instance, &located.instance, "nothing-to-do");
            outcome.note = Some(format!("no move of `{p}` is recorded here"));
            return Ok(outcome);
        };
        let (source, target) = (
            instance(env, &moving.source)?,
            instance(env, &moving.target)?,
        );
        let (from, to) = (moving.source.as_str(), moving.target.as_str());
        if args.finish {
            if moving.in_progress() {
                return Err(Failure::usage(format!(
                    "{name}: the move of `{p}` from `{from}` to `{to}` is not complete (last step: {}): `cotenant move {p} --resume` first",
                    moving.step
                )));
            }
            if args.unverified {
                transfer::finish_unverified(&source, p)
                    .await
                    .map_err(fail)?;
            } else {
                transfer::finish(&source, p).await.map_err(fail)?;
            }
            let mut outcome = Outcome::new(name, from, to, "finished");
            outcome.note = Some(format!("the copy on `{from}` is dropped"));
            return Ok(outcome);
        }
        if args.abort {
            transfer::abort(&source, &target, p).await.map_err(fail)?;
            let mut outcome = Outcome::new(name, from, to, "aborted");
            outcome.note = Some(format!("`{from}` serves `{p}` again, its only copy"));
            return Ok(outcome);
        }
        if !moving.in_progress() {
            let mut outcome = Outcome::new(name, from, to, "nothing-to-do");
            outcome.note = Some(format!(
                "complete: `cotenant move {p} --finish` drops the copy on `{from}`"
            ));
            return Ok(outcome);
        }
        let report = transfer::resume(&source, &target, p, options)
            .await
            .map_err(fail)?;
        return Ok(Outcome::new(name, from, to, "resumed").ran(&report));
    }
    let to = args.to.as_deref().expect("clap requires --to here");
    let target = instance(env, to)?;
    if let Some(moving) = &located.moving {
        if moving.target == to && !moving.in_progress() {
            let mut outcome = Outcome::new(name, &moving.source, to, "nothing-to-do");
            outcome.note = Some(format!(
                "already moved: `cotenant move {p} --finish` drops the copy on `{}`",
                moving.source
            ));
            return Ok(outcome);
        }
        return Err(Failure::operation(format!(
            "{name}: a move of `{p}` from `{}` to `{}` is recorded (last step: {}): continue it with `cotenant move {p} --resume` or undo it with `--abort`",
            moving.source, moving.target, moving.step
        )));
    }
    if !located.found {
        return Err(Failure::usage(format!(
            "{name}: project `{p}` is not provisioned here: nothing to move (provision it, it lands on its declared instance)"
        )));
    }
    if located.instance == to {
        return Ok(Outcome::new(name, to, to, "nothing-to-do"));
    }
    let source = instance(env, &located.instance)?;
    if args.dry_run {
        let plan = transfer::plan(&source, &target, p, options)
            .await
            .map_err(fail)?;
        return Ok(Outcome::new(name, &located.instance, to, "planned").planned(&plan));
    }
    eprintln!(
        "{name}: moving `{p}` from `{}` to `{to}`…",
        located.instance
    );
    let report = transfer::run(&source, &target, p, options)
        .await
        .map_err(fail)?;
    let mut outcome = Outcome::new(name, &located.instance, to, "moved").ran(&report);
    outcome.note = Some(format!(
        "`cotenant move {p} --finish` drops the copy on `{}` once you are satisfied",
        located.instance
    ));
    Ok(outcome)
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

    fn parse(line: &[&str]) -> Result<Args, clap::Error> {
        Cli::try_parse_from(std::iter::once("move").chain(line.iter().copied())).map(|c| c.args)
    }

    #[test]
    fn checksums_after_the_flip_by_default_and_the_override_only_with_finish() {
        let args = parse(&["reli", "--to", "b"]).unwrap();
        assert_eq!(args.verify, Verification::ChecksumsAfterFlip);
        let args = parse(&["reli", "--to", "b", "--verify", "checksums-in-fence"]).unwrap();
        assert_eq!(args.verify, Verification::ChecksumsInFence);
        assert!(parse(&["reli", "--to", "b", "--verify", "maybe"]).is_err());
        assert!(
            parse(&["reli", "--resume", "--verify", "counts"]).is_err(),
            "a resumed move keeps its verification"
        );
        assert!(
            parse(&["reli", "--finish", "--unverified"])
                .unwrap()
                .unverified
        );
        assert!(parse(&["reli", "--to", "b", "--unverified"]).is_err());
    }
}
