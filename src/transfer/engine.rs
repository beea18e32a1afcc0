//! Running a move: each step idempotent, the last one completed recorded on the source.

use std::time::{Duration, Instant};

use tokio_postgres::Client;

use super::catalog::{self, Privileges, Table};
use super::data::Snapshot;
use super::plan::{self, Mechanism, TransferPlan};
use super::replication::{self, Publisher};
use super::state::{self, Checksums, MoveRecord};
use super::{Instance, MoveOptions, Step, TransferError, Verification, data, fence};
use crate::ProjectName;
use crate::api::Api;
use crate::migrate::{self, Gate, ParityReport, Runner, Summary};
use crate::platform::Access;
use crate::provision::{self, DropObjects};
use crate::secret::{DbSecret, Login, Stage};

/// What a run (or resume) of a move did.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct MoveReport {
    /// The plan it followed.
    pub plan: TransferPlan,
    /// The last step completed.
    pub reached: Step,
    /// True when it stopped at [`MoveOptions::stop_after`] before the end.
    pub stopped: bool,
    /// How long the project's logins were refused: from the fence on the source to the unfence
    /// on the target, when both happened in this run.
    pub fenced_for: Option<Duration>,
    /// How many sessions the fence ended with `pg_terminate_backend`.
    pub terminated: i64,
    /// How long each step run took, in order.
    pub steps: Vec<(Step, Duration)>,
    /// How the checksums after the flip ended, when this run compared them (or found them lost
    /// to a kill). A difference is also this run's error.
    pub checksums: Option<Checksums>,
}

/// Reads both catalogs and returns what moving `project` from `source` to `target` will do,
/// changing nothing. With a move already recorded, the plan lists the steps still to run.
pub async fn plan(
    source: &Instance,
    target: &Instance,
    project: &ProjectName,
    options: &MoveOptions,
) -> Result<TransferPlan, TransferError> {
    let admin = source.environment().connect_admin().await?;
    let recorded = match state::read(&admin, project).await.map_err(sql(
        project,
        source,
        "reading the move's state",
    ))? {
        Some(record) => {
            let record = record?;
            Some((record.mechanism, record.verification, record.step))
        }
        None => None,
    };
    plan::compute(source, target, project, options, recorded).await
}

/// The recorded move of `project` on the instance behind `admin` (the source of the move), if
/// any: [`MoveRecord::serving`] says which instance serves the project. What placement asks when
/// it finds the project's schema on two instances.
pub async fn serving(
    admin: &Client,
    project: &ProjectName,
) -> Result<Option<MoveRecord>, TransferError> {
    match state::read(admin, project).await {
        Ok(None) => Ok(None),
        Ok(Some(record)) => record.map(Some),
        Err(source) => Err(TransferError::Sql {
            project: project.clone(),
            instance: "the source".to_owned(),
            doing: "reading the move's state",
            source,
        }),
    }
}

/// The recorded moves of any of `projects` whose source is the instance behind `admin`, in one
/// read: what a placement survey reads on every instance.
pub async fn moves(
    admin: &Client,
    projects: &[ProjectName],
) -> Result<Vec<MoveRecord>, TransferError> {
    let [first, ..] = projects else {
        return Ok(Vec::new());
    };
    state::read_all(admin, projects)
        .await
        .map_err(|source| TransferError::Sql {
            project: first.clone(),
            instance: "the source".to_owned(),
            doing: "reading the recorded moves",
            source,
        })?
        .into_iter()
        .collect()
}

/// Starts moving `project` from `source` to `target` and runs it to the end (or to
/// [`MoveOptions::stop_after`]). Refused, changing nothing, when a move of the project is
/// already recorded, when the project is not on the source, or when the target already has it.
pub async fn run(
    source: &Instance,
    target: &Instance,
    project: &ProjectName,
    options: &MoveOptions,
) -> Result<MoveReport, TransferError> {
    let (sc, tc) = (source.environment().config(), target.environment().config());
    if sc.host.eq_ignore_ascii_case(&tc.host) && sc.port == tc.port {
        return Err(TransferError::SameInstance {
            project: project.clone(),
            host: tc.host.clone(),
            port: tc.port,
        });
    }
    let mut mv = Move::open(source, target, project, options).await?;
    if let Some(record) = mv.record().await? {
        return Err(TransferError::InProgress {
            project: project.clone(),
            target: record.target,
            step: record.step.to_string(),
        });
    }
    if !catalog::has_schema(&mv.src, project)
        .await
        .map_err(mv.on_source("reading the catalog"))?
    {
        return Err(TransferError::NotOnSource {
            project: project.clone(),
            instance: source.name().to_owned(),
        });
    }
    if catalog::has_schema(&mv.tgt, project)
        .await
        .map_err(mv.on_target("reading the catalog"))?
    {
        return Err(TransferError::TargetNotEmpty {
            project: project.clone(),
            instance: target.name().to_owned(),
        });
    }
    mv.check_migrations().await?;
    let plan = plan::compute(source, target, project, options, None).await?;
    state::ensure_schema(&mut mv.src)
        .await
        .map_err(mv.on_source("creating the state schema"))?;
    let record = MoveRecord {
        project: project.clone(),
        target: target.name().to_owned(),
        target_host: tc.host.clone(),
        target_port: tc.port,
        mechanism: plan.mechanism,
        step: Step::Started,
        aborting: false,
        verification: options.verification,
        checksums: match options.verification {
            Verification::Counts => Checksums::NotCompared,
            _ => Checksums::Pending,
        },
    };
    state::insert(&mv.src, &record)
        .await
        .map_err(mv.on_source("recording the move"))?;
    mv.mechanism = plan.mechanism;
    mv.verification = options.verification;
    if options.stop_after == Some(Step::Started) {
        return Ok(mv.report(plan, Step::Started, true));
    }
    mv.drive(plan, Step::Started).await
}

/// Continues the recorded move of `project` after the last step it completed.
pub async fn resume(
    source: &Instance,
    target: &Instance,
    project: &ProjectName,
    options: &MoveOptions,
) -> Result<MoveReport, TransferError> {
    let mut mv = Move::open(source, target, project, options).await?;
    let record = mv.recorded().await?;
    if record.aborting {
        return Err(TransferError::Aborting {
            project: project.clone(),
        });
    }
    mv.mechanism = record.mechanism;
    mv.verification = record.verification;
    let plan = plan::compute(
        source,
        target,
        project,
        options,
        Some((record.mechanism, record.verification, record.step)),
    )
    .await?;
    mv.drive(plan, record.step).await
}

/// Undoes the recorded move of `project` before its flip: drops the subscription, its slot and
/// the publication, drops the project's copy on the target, lets the source's logins log in again
/// and forgets the move. Every part can run again, so an abort interrupted is finished by
/// running it again. Refused after the flip, when the target already serves the project.
pub async fn abort(
    source: &Instance,
    target: &Instance,
    project: &ProjectName,
) -> Result<(), TransferError> {
    let none =
        migrate::Migrations::from_migrations(Vec::new()).expect("no migrations is a valid set");
    let options = MoveOptions::new(none);
    let mut mv = Move::open(source, target, project, &options).await?;
    let record = mv.recorded().await?;
    if record.step >= Step::Flipped {
        return Err(TransferError::PastTheFlip {
            project: project.clone(),
            step: record.step.to_string(),
        });
    }
    state::set_aborting(&mv.src, project)
        .await
        .map_err(mv.on_source("recording the abort"))?;
    mv.drop_replication().await?;
    drop_copy(&mut mv.tgt, project).await?;
    fence::set_login(&mut mv.src, project, true)
        .await
        .map_err(mv.on_source("letting the logins log in again"))?;
    state::delete(&mv.src, project)
        .await
        .map_err(mv.on_source("forgetting the move"))?;
    Ok(())
}

/// Drops the source's copy of `project` (its schema, objects and roles: what deprovisioning
/// drops; the secrets stay, they point at the target) once the move is complete and its
/// verification proved the copies equal, and forgets the move. Refused, changing nothing, when
/// the checksums after the flip found a difference ([`TransferError::ChecksumsDiffer`]) or could
/// not be completed ([`TransferError::Unverified`]); [`finish_unverified`] drops it anyway.
pub async fn finish(source: &Instance, project: &ProjectName) -> Result<(), TransferError> {
    finish_checked(source, project, true).await
}

/// [`finish`] without the proof: drops the source's copy even though the checksums after the
/// flip differed or were never completed. The risk: rows the target lacks (or has wrong) are
/// then gone from both copies — compare them first.
pub async fn finish_unverified(
    source: &Instance,
    project: &ProjectName,
) -> Result<(), TransferError> {
    finish_checked(source, project, false).await
}

async fn finish_checked(
    source: &Instance,
    project: &ProjectName,
    verified_only: bool,
) -> Result<(), TransferError> {
    let mut admin = source.environment().connect_admin().await?;
    lock_run(&admin, project, source).await?;
    let failed = sql(project, source, "reading the move's state");
    let record = state::read(&admin, project)
        .await
        .map_err(failed)?
        .ok_or_else(|| TransferError::NoMove {
            project: project.clone(),
            instance: source.name().to_owned(),
        })??;
    if record.step < Step::CleanedUp {
        return Err(TransferError::NotComplete {
            project: project.clone(),
            step: record.step.to_string(),
        });
    }
    // Checksums in the fence matched before the flip, or the move would have stopped there.
    if verified_only
        && record.verification != Verification::ChecksumsInFence
        && !record.checksums.allows_finish()
    {
        let instance = source.name().to_owned();
        return Err(match record.checksums {
            Checksums::Differ(tables) => TransferError::ChecksumsDiffer {
                project: project.clone(),
                instance,
                tables,
            },
            _ => TransferError::Unverified {
                project: project.clone(),
                instance,
                reason: "were not completed (the run holding the snapshots ended after the target started serving)",
            },
        });
    }
    drop_copy(&mut admin, project).await?;
    state::delete(&admin, project)
        .await
        .map_err(sql(project, source, "forgetting the move"))?;
    Ok(())
}

/// Takes the lock one run of `project`'s move holds on the source (on `admin`'s session, until
/// it closes), or says which run holds it.
async fn lock_run(
    admin: &Client,
    project: &ProjectName,
    source: &Instance,
) -> Result<(), TransferError> {
    state::lock_run(admin, project)
        .await
        .map_err(sql(project, source, "taking the move's lock"))?
        .map_err(|pid| TransferError::Busy {
            project: project.clone(),
            instance: source.name().to_owned(),
            pid,
        })
}

/// Drops `project`'s copy on one instance as deprovisioning does, without touching its secrets.
async fn drop_copy(admin: &mut Client, project: &ProjectName) -> Result<(), TransferError> {
    crate::platform::apply(admin, project, &Access::none(), &[]).await?;
    provision::deprovision(
        admin,
        project,
        &DropObjects::Confirmed(project.as_str().to_owned()),
    )
    .await?;
    crate::api::apply(admin, project, &Api::none(), &Access::none()).await?;
    Ok(())
}

fn sql(
    project: &ProjectName,
    instance: &Instance,
    doing: &'static str,
) -> impl FnOnce(tokio_postgres::Error) -> TransferError + use<> {
    let project = project.clone();
    let instance = instance.name().to_owned();
    move |source| TransferError::Sql {
        project,
        instance,
        doing,
        source,
    }
}

/// One move in progress: both admin connections and what the steps share.
struct Move<'a> {
    source: &'a Instance,
    target: &'a Instance,
    project: &'a ProjectName,
    options: &'a MoveOptions,
    src: Client,
    tgt: Client,
    src_privileges: Privileges,
    tgt_privileges: Privileges,
    mechanism: Mechanism,
    verification: Verification,
    /// With checksums after the flip: the snapshots of the source's and the target's copies,
    /// taken before the target's logins may log in, held until the checksums are read.
    snapshots: Option<(Snapshot, Snapshot)>,
    /// How the checksums after the flip ended in this run.
    checksums: Option<Checksums>,
    fenced_at: Option<Instant>,
    unfenced_at: Option<Instant>,
    terminated: i64,
    timings: Vec<(Step, Duration)>,
}

impl<'a> Move<'a> {
    async fn open(
        source: &'a Instance,
        target: &'a Instance,
        project: &'a ProjectName,
        options: &'a MoveOptions,
    ) -> Result<Self, TransferError> {
        let src = source.environment().connect_admin().await?;
        // Before anything else, and held until `src` closes: one run at a time.
        lock_run(&src, project, source).await?;
        let tgt = target.environment().connect_admin().await?;
        let src_privileges = catalog::privileges(&src).await.map_err(sql(
            project,
            source,
            "reading the admin's privileges",
        ))?;
        let tgt_privileges = catalog::privileges(&tgt).await.map_err(sql(
            project,
            target,
            "reading the admin's privileges",
        ))?;
        Ok(Self {
            source,
            target,
            project,
            options,
            src,
            tgt,
            src_privileges,
            tgt_privileges,
            mechanism: Mechanism::FenceThenCopy,
            verification: options.verification,
            snapshots: None,
            checksums: None,
            fenced_at: None,
            unfenced_at: None,
            terminated: 0,
            timings: Vec::new(),
        })
    }

    fn on_source(
        &self,
        doing: &'static str,
    ) -> impl FnOnce(tokio_postgres::Error) -> TransferError + use<> {
        sql(self.project, self.source, doing)
    }

    fn on_target(
        &self,
        doing: &'static str,
    ) -> impl FnOnce(tokio_postgres::Error) -> TransferError + use<> {
        sql(self.project, self.target, doing)
    }

    fn majors(&self) -> (i32, i32) {
        (self.src_privileges.major, self.tgt_privileges.major)
    }

    fn subscriber(&self) -> (i32, &str, bool) {
        (
            self.tgt_privileges.major,
            self.tgt_privileges.admin.as_str(),
            self.tgt_privileges.superuser,
        )
    }

    async fn record(&self) -> Result<Option<MoveRecord>, TransferError> {
        match state::read(&self.src, self.project)
            .await
            .map_err(self.on_source("reading the move's state"))?
        {
            Some(record) => record.map(Some),
            None => Ok(None),
        }
    }

    /// The recorded move, which must go to this target.
    async fn recorded(&self) -> Result<MoveRecord, TransferError> {
        let record = self.record().await?.ok_or_else(|| TransferError::NoMove {
            project: self.project.clone(),
            instance: self.source.name().to_owned(),
        })?;
        if record.target != self.target.name() {
            return Err(TransferError::OtherTarget {
                project: self.project.clone(),
                recorded: record.target,
                given: self.target.name().to_owned(),
            });
        }
        Ok(record)
    }

    async fn tables(&self) -> Result<Vec<Table>, TransferError> {
        catalog::tables(&self.src, self.project)
            .await
            .map_err(self.on_source("reading the project's tables"))
    }

    async fn sequences(&self) -> Result<Vec<String>, TransferError> {
        catalog::sequences(&self.src, self.project)
            .await
            .map_err(self.on_source("reading the project's sequences"))
    }

    /// The migrations given must be the ones the source applied: same versions, same checksums.
    async fn check_migrations(&self) -> Result<u32, TransferError> {
        let recorded = migrate::read_status(&self.src, Some(self.project)).await?;
        let summary = recorded.first().and_then(|r| r.summary).unwrap_or(Summary {
            version: 0,
            history: self
                .options
                .migrations
                .history_checksum(0)
                .expect("the empty history is always there"),
        });
        let differ = |reason: String| TransferError::MigrationsDiffer {
            project: self.project.clone(),
            reason,
        };
        match self.options.migrations.history_checksum(summary.version) {
            None => Err(differ(format!(
                "the source has applied {} migration(s), the files given stop at {}",
                summary.version,
                self.options.migrations.last_version()
            ))),
            Some(history) if history != summary.history => Err(differ(format!(
                "the checksums of migrations 1..={} differ",
                summary.version
            ))),
            Some(_) => Ok(summary.version),
        }
    }

    /// Runs the steps after `from`, recording each, until the end or the requested stop.
    async fn drive(mut self, plan: TransferPlan, from: Step) -> Result<MoveReport, TransferError> {
        let mut reached = from;
        let steps: Vec<Step> = Step::ALL.into_iter().filter(|s| *s > from).collect();
        for step in steps {
            if self.mechanism == Mechanism::FenceThenCopy
                && matches!(step, Step::Replicating | Step::CaughtUp)
            {
                continue;
            }
            if self.verification != Verification::ChecksumsAfterFlip && step == Step::Checksummed {
                continue;
            }
            let started = Instant::now();
            if let Err(error) = self.step(step).await {
                if reached.source_fenced() || step == Step::Fenced {
                    self.unfence_after_failure().await?;
                }
                return Err(error);
            }
            state::set_step(&self.src, self.project, step)
                .await
                .map_err(self.on_source("recording the step"))?;
            tracing::info!(target: "cotenant::transfer", project = %self.project, step = %step, "move step done");
            reached = step;
            self.timings.push((step, started.elapsed()));
            if self.options.stop_after == Some(step) && step != Step::CleanedUp {
                return self.outcome(plan, reached, true);
            }
        }
        self.outcome(plan, reached, false)
    }

    /// The report, or the difference the checksums after the flip found: the move went on to
    /// its end (the target serves, there is no going back) but the run fails, loudly.
    fn outcome(
        &self,
        plan: TransferPlan,
        reached: Step,
        stopped: bool,
    ) -> Result<MoveReport, TransferError> {
        if let Some(Checksums::Differ(tables)) = &self.checksums {
            return Err(TransferError::ChecksumsDiffer {
                project: self.project.clone(),
                instance: self.source.name().to_owned(),
                tables: tables.clone(),
            });
        }
        Ok(self.report(plan, reached, stopped))
    }

    fn report(&self, plan: TransferPlan, reached: Step, stopped: bool) -> MoveReport {
        MoveReport {
            plan,
            reached,
            stopped,
            fenced_for: self
                .fenced_at
                .zip(self.unfenced_at)
                .map(|(fenced, unfenced)| unfenced - fenced),
            terminated: self.terminated,
            steps: self.timings.clone(),
            checksums: self.checksums.clone(),
        }
    }

    /// A failure while the source was fenced: let its logins in again and go back to the step
    /// before the fence, so the source serves and `--resume` fences again.
    async fn unfence_after_failure(&mut self) -> Result<(), TransferError> {
        fence::set_login(&mut self.src, self.project, true)
            .await
            .map_err(self.on_source("unfencing after a failure"))?;
        let before = match self.mechanism {
            Mechanism::LogicalReplication => Step::CaughtUp,
            Mechanism::FenceThenCopy => Step::SchemaBuilt,
        };
        state::set_step(&self.src, self.project, before)
            .await
            .map_err(self.on_source("recording the step"))
    }

    async fn step(&mut self, step: Step) -> Result<(), TransferError> {
        match step {
            Step::Started => Ok(()),
            Step::Provisioned => self.provision().await,
            Step::SchemaBuilt => self.build_schema().await,
            Step::Replicating => self.replicate().await,
            Step::CaughtUp => self.catch_up().await,
            Step::Fenced => self.fence().await,
            Step::Synced => self.sync().await,
            Step::SequencesSynced => {
                let sequences = self.sequences().await?;
                let majors = self.majors();
                data::sync_sequences(
                    &mut self.src,
                    &mut self.tgt,
                    self.project,
                    majors,
                    &sequences,
                )
                .await
                .map_err(sql(self.project, self.target, "setting the sequences"))
            }
            Step::Verified => self.verify().await,
            Step::Flipped => self.flip().await,
            Step::Unfenced => {
                if self.verification == Verification::ChecksumsAfterFlip {
                    self.take_snapshots().await?;
                }
                fence::set_login(&mut self.tgt, self.project, true)
                    .await
                    .map_err(self.on_target("letting the logins log in"))?;
                self.unfenced_at = Some(Instant::now());
                Ok(())
            }
            Step::Checksummed => self.compare_snapshots().await,
            Step::CleanedUp => self.drop_replication().await,
        }
    }

    /// Fixes a snapshot of each copy while both are frozen: the source fenced (since the fence),
    /// the target not serving (its logins may not log in before the next step). A run resumed
    /// after the flip takes them again; one resumed after the unfence cannot.
    async fn take_snapshots(&mut self) -> Result<(), TransferError> {
        let (src_major, tgt_major) = self.majors();
        let src = self.source.environment().connect_admin().await?;
        let tgt = self.target.environment().connect_admin().await?;
        let src = Snapshot::take(src, self.project, src_major)
            .await
            .map_err(self.on_source("taking a snapshot for the checksums"))?;
        let tgt = Snapshot::take(tgt, self.project, tgt_major)
            .await
            .map_err(self.on_target("taking a snapshot for the checksums"))?;
        self.snapshots = Some((src, tgt));
        state::set_checksums(&self.src, self.project, &Checksums::Running)
            .await
            .map_err(self.on_source("recording the checksums"))
    }

    /// Compares the checksums of the two snapshots (both read at once) and records the outcome;
    /// without snapshots (the run that took them ended), records that the comparison could not
    /// be completed.
    async fn compare_snapshots(&mut self) -> Result<(), TransferError> {
        let outcome = match self.snapshots.take() {
            None => match self.recorded().await?.checksums {
                // Recorded before a kill that came before the step was.
                done @ (Checksums::Matched | Checksums::Differ(_)) => done,
                _ => Checksums::Incomplete,
            },
            Some((src, tgt)) => {
                let tables = self.tables().await?;
                let (expected, found) = tokio::join!(
                    src.checksums(self.project, &tables),
                    tgt.checksums(self.project, &tables)
                );
                let expected = expected.map_err(self.on_source("reading checksums"))?;
                let found = found.map_err(self.on_target("reading checksums"))?;
                let differ: Vec<String> = expected
                    .iter()
                    .zip(&found)
                    .filter(|(e, f)| e != f)
                    .map(|((name, e), (_, f))| format!("{name}: source {e}, target {f}"))
                    .collect();
                if differ.is_empty() {
                    Checksums::Matched
                } else {
                    Checksums::Differ(differ)
                }
            }
        };
        state::set_checksums(&self.src, self.project, &outcome)
            .await
            .map_err(self.on_source("recording the checksums"))?;
        self.checksums = Some(outcome);
        Ok(())
    }

    async fn provision(&mut self) -> Result<(), TransferError> {
        let settings = provision::current_settings(&self.src, self.project)
            .await?
            .ok_or_else(|| TransferError::NotOnSource {
                project: self.project.clone(),
                instance: self.source.name().to_owned(),
            })?;
        self.target
            .environment()
            .provision(self.project, &settings)
            .await?;
        Ok(())
    }

    async fn build_schema(&mut self) -> Result<(), TransferError> {
        let version = self.check_migrations().await?;
        let runner = Runner::new(self.options.migrations.clone())
            .target(version)
            .applied_by("cotenant move");
        // The migrator logs in on the target (with the secret's password) until this step
        // fences it: a step run again after a kill finds it still allowed.
        fence::set_login(&mut self.tgt, self.project, true)
            .await
            .map_err(self.on_target("letting the migrator log in"))?;
        self.target
            .environment()
            .migrate(self.project, &runner, &Gate::open())
            .await?;
        let left = migrate::fingerprint(&mut self.src, self.project).await?;
        let right = migrate::fingerprint(&mut self.tgt, self.project).await?;
        let report = ParityReport::compare(
            self.project,
            (self.source.name(), &left),
            (self.target.name(), &right),
        );
        if !report.is_equal() {
            return Err(TransferError::SchemaDiffers {
                project: self.project.clone(),
                differences: report
                    .differences
                    .iter()
                    .map(|d| match d.side {
                        migrate::Side::Left => format!("-{}", d.line),
                        migrate::Side::Right => format!("+{}", d.line),
                    })
                    .collect(),
            });
        }
        // Nobody may write on the target before the flip: its logins wait, refused.
        fence::set_login(&mut self.tgt, self.project, false)
            .await
            .map_err(self.on_target("fencing the target's logins"))
    }

    async fn replicate(&mut self) -> Result<(), TransferError> {
        let tables = self.tables().await?;
        let config = self.source.environment().config().clone();
        replication::publish(
            &mut self.src,
            self.project,
            self.src_privileges.major,
            &config.database,
            &tables,
        )
        .await
        .map_err(self.on_source("creating the publication"))?;
        let admin: DbSecret = self
            .source
            .environment()
            .secrets()
            .get_current(&config.admin_secret)
            .await?;
        let publisher = Publisher {
            host: &config.host,
            port: config.port,
            tls: config.tls,
            admin: &admin,
        };
        let subscriber = (
            self.tgt_privileges.major,
            self.tgt_privileges.admin.clone(),
            self.tgt_privileges.superuser,
        );
        replication::subscribe(
            &mut self.tgt,
            self.project,
            (subscriber.0, &subscriber.1, subscriber.2),
            &publisher,
            &tables,
        )
        .await
        .map_err(sql(self.project, self.target, "creating the subscription"))
    }

    async fn catch_up(&mut self) -> Result<(), TransferError> {
        let started = Instant::now();
        loop {
            let (copying, errors) = replication::progress(&self.tgt, self.project)
                .await
                .map_err(self.on_target("reading the subscription's progress"))?;
            if errors > 0 {
                return Err(TransferError::SubscriptionFailed {
                    project: self.project.clone(),
                    instance: self.target.name().to_owned(),
                    errors,
                });
            }
            if copying == 0 {
                return Ok(());
            }
            if started.elapsed() > self.options.catch_up_timeout {
                return Err(TransferError::Timeout {
                    project: self.project.clone(),
                    what: "the subscription's initial copy",
                    waited: started.elapsed(),
                    step: Step::Replicating.to_string(),
                });
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    async fn fence(&mut self) -> Result<(), TransferError> {
        self.fenced_at = Some(Instant::now());
        fence::set_login(&mut self.src, self.project, false)
            .await
            .map_err(self.on_source("fencing the logins"))?;
        self.terminated += fence::end_sessions(
            &mut self.src,
            self.project,
            self.src_privileges.major,
            self.options.fence_deadline,
        )
        .await
        .map_err(self.on_source("ending the project's sessions"))?;
        Ok(())
    }

    async fn sync(&mut self) -> Result<(), TransferError> {
        let tables = self.tables().await?;
        match self.mechanism {
            Mechanism::FenceThenCopy => {
                let majors = self.majors();
                data::copy_tables(&mut self.src, &mut self.tgt, self.project, majors, &tables)
                    .await
                    .map_err(sql(
                        self.project,
                        self.target,
                        "copying the rows from the source",
                    ))?;
                Ok(())
            }
            Mechanism::LogicalReplication => {
                let started = Instant::now();
                let (src_major, tgt_major) = self.majors();
                let expected = data::counts(&mut self.src, self.project, src_major, &tables)
                    .await
                    .map_err(self.on_source("counting rows"))?;
                loop {
                    let counts = data::counts(&mut self.tgt, self.project, tgt_major, &tables)
                        .await
                        .map_err(self.on_target("counting rows"))?;
                    if counts == expected {
                        return Ok(());
                    }
                    if started.elapsed() > self.options.sync_timeout {
                        return Err(TransferError::Timeout {
                            project: self.project.clone(),
                            what: "the target receiving the source's last changes",
                            waited: started.elapsed(),
                            step: Step::Fenced.to_string(),
                        });
                    }
                    tokio::time::sleep(Duration::from_millis(5)).await;
                }
            }
        }
    }

    async fn verify(&mut self) -> Result<(), TransferError> {
        let tables = self.tables().await?;
        let sequences = self.sequences().await?;
        let (src_major, tgt_major) = self.majors();
        let started = Instant::now();
        // Both sides at once: the pause is the slower of the two scans, not their sum.
        let checksums = self.verification == Verification::ChecksumsInFence;
        let (expected, mut found) = tokio::join!(
            data::digests(
                &mut self.src,
                self.project,
                src_major,
                &tables,
                &sequences,
                checksums
            ),
            data::digests(
                &mut self.tgt,
                self.project,
                tgt_major,
                &tables,
                &sequences,
                checksums
            ),
        );
        let expected = expected.map_err(sql(self.project, self.source, "reading checksums"))?;
        loop {
            let found_now = found.map_err(sql(self.project, self.target, "reading checksums"))?;
            if found_now == expected {
                if checksums {
                    state::set_checksums(&self.src, self.project, &Checksums::Matched)
                        .await
                        .map_err(self.on_source("recording the checksums"))?;
                }
                return Ok(());
            }
            // With logical replication an UPDATE applied after the counts matched can still be
            // on its way; a copy is final.
            if self.mechanism == Mechanism::FenceThenCopy
                || started.elapsed() > self.options.sync_timeout
            {
                return Err(TransferError::Mismatch {
                    project: self.project.clone(),
                    tables: expected
                        .iter()
                        .zip(&found_now)
                        .filter(|(e, f)| e != f)
                        .map(|((name, e), (_, f))| format!("{name}: source {e}, target {f}"))
                        .collect(),
                });
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
            found = data::digests(
                &mut self.tgt,
                self.project,
                tgt_major,
                &tables,
                &sequences,
                checksums,
            )
            .await;
        }
    }

    /// Points the logins' secrets at the target: same user and password, the target's host
    /// and port. A secret already pointing there is left alone.
    async fn flip(&mut self) -> Result<(), TransferError> {
        let environment = self.target.environment();
        let config = environment.config();
        for login in Login::ALL {
            let id = environment.secret_id(self.project, login);
            let current = environment.secrets().get_current(&id).await?;
            if current.host == config.host && current.port == config.port {
                continue;
            }
            let mut next = current.clone();
            next.host = config.host.clone();
            next.port = config.port;
            environment
                .secrets()
                .put(&id, &next, Stage::Current)
                .await?;
            environment.secrets().invalidate(&id);
        }
        Ok(())
    }

    async fn drop_replication(&mut self) -> Result<(), TransferError> {
        let (major, admin, superuser) = self.subscriber();
        let admin = admin.to_owned();
        replication::unsubscribe(&mut self.tgt, self.project, (major, &admin, superuser))
            .await
            .map_err(sql(self.project, self.target, "dropping the subscription"))?;
        let src_major = self.src_privileges.major;
        replication::unpublish(&mut self.src, self.project, src_major)
            .await
            .map_err(sql(self.project, self.source, "dropping the publication"))
    }
}
