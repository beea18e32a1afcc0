//! One room's plan for one project: its steps in order, printable for people and as SQL.

use std::fmt;

use crate::ProjectName;
use crate::ident::quote_ident;
use crate::lock::LockKey;
use crate::provision::{Actor, Step};

/// How a room names itself and its converged state in a plan's text.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Wording {
    /// What the room converges, as the header of [`RoomPlan::to_sql`]'s script: "platform".
    pub(crate) plan: &'static str,
    /// What the room converges of a project, as [`Display`](fmt::Display) opens: "platform
    /// access".
    pub(crate) subject: &'static str,
    /// What an empty plan means: "platform access matches the declaration".
    pub(crate) converged: &'static str,
}

/// What converging one room of one project on one instance will change, in order, and what
/// the declaration asks for that cannot be done yet.
#[derive(Debug, Clone)]
pub(crate) struct RoomPlan {
    wording: Wording,
    project: ProjectName,
    server_major: u32,
    steps: Vec<Step>,
    notices: Vec<String>,
    needs_instance_lock: bool,
    creates_roles: bool,
}

impl RoomPlan {
    /// The plan that changes nothing, to push steps on.
    pub(crate) fn new(wording: Wording, project: &ProjectName, server_major: u32) -> Self {
        Self {
            wording,
            project: project.clone(),
            server_major,
            steps: Vec::new(),
            notices: Vec::new(),
            needs_instance_lock: false,
            creates_roles: false,
        }
    }

    /// The plan, whose steward creates roles: on 16+ it runs with `createrole_self_grant`
    /// cleared, as a server-wide setting would make the steward inherit the roles it creates.
    pub(crate) fn creating_roles(mut self) -> Self {
        self.creates_roles = true;
        self
    }

    /// Appends a step.
    pub(crate) fn push(&mut self, actor: Actor, sql: String, why: impl Into<String>) {
        self.steps.push(Step::new(actor, sql, why));
    }

    /// Appends steps.
    pub(crate) fn extend(&mut self, steps: impl IntoIterator<Item = Step>) {
        self.steps.extend(steps);
    }

    /// Appends what the declaration asks for that cannot be done yet.
    pub(crate) fn notice(&mut self, notice: String) {
        self.notices.push(notice);
    }

    /// Marks the plan as changing what all projects share: it runs under cotenant's instance
    /// lock.
    pub(crate) fn require_instance_lock(&mut self) {
        self.needs_instance_lock = true;
    }

    pub(crate) fn project(&self) -> &ProjectName {
        &self.project
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.steps.is_empty()
    }

    pub(crate) fn len(&self) -> usize {
        self.steps.len()
    }

    pub(crate) fn steps(&self) -> impl Iterator<Item = &Step> {
        self.steps.iter()
    }

    pub(crate) fn notices(&self) -> &[String] {
        &self.notices
    }

    pub(crate) fn needs_instance_lock(&self) -> bool {
        self.needs_instance_lock
    }

    /// The steps with the role switches they need, as statements ready to send in the
    /// caller's transaction; ends as the admin.
    pub(crate) fn executable_sql(&self) -> String {
        let mut out = String::new();
        self.clear_createrole_self_grant(&mut out);
        self.render(&mut out, false);
        out
    }

    fn clear_createrole_self_grant(&self, out: &mut String) {
        if self.creates_roles && self.server_major >= 16 {
            out.push_str("SET LOCAL createrole_self_grant = '';\n");
        }
    }

    fn render(&self, out: &mut String, comments: bool) {
        let mut current = Actor::Admin;
        for step in &self.steps {
            if step.actor() != current {
                // Switching between two non-admin roles goes through the admin (the steward
                // cannot SET ROLE to the auth owner, nor the owner back to the steward), but
                // for the steward to the owner it has just been granted.
                if current != Actor::Admin
                    && !(current == Actor::Steward && step.actor() == Actor::Owner)
                {
                    out.push_str("RESET ROLE;\n");
                }
                if let Some(role) = step.actor().role(&self.project) {
                    out.push_str(&format!("SET LOCAL ROLE {};\n", quote_ident(&role)));
                }
                current = step.actor();
            }
            if comments {
                out.push_str(&format!("-- {}\n", step.why()));
            }
            out.push_str(&step.sql());
            out.push_str(";\n");
        }
        if current != Actor::Admin {
            out.push_str("RESET ROLE;\n");
        }
    }

    /// The steps as a script fragment with the reason for each as a comment: what
    /// provisioning's script embeds.
    pub(crate) fn script_body(&self) -> String {
        let mut out = String::new();
        if self.needs_instance_lock {
            out.push_str(&format!(
                "SELECT pg_advisory_xact_lock({}); -- cotenant's instance-wide lock\n",
                LockKey::instance().as_i64()
            ));
        }
        self.render(&mut out, true);
        out
    }

    /// The plan as one SQL script in one transaction, the way cotenant applies it.
    pub(crate) fn to_sql(&self) -> String {
        let mut out = format!(
            "-- cotenant {} plan: project `{}` (PostgreSQL {}), {} statement(s).\n",
            self.wording.plan,
            self.project,
            self.server_major,
            self.len()
        );
        for notice in &self.notices {
            out.push_str(&format!("-- note: {notice}\n"));
        }
        if self.is_empty() {
            out.push_str(&format!("-- Nothing to do: {}.\n", self.wording.converged));
            return out;
        }
        out.push_str("BEGIN;\n");
        out.push_str(&format!(
            "SELECT pg_advisory_xact_lock({}); -- provisioning lock of `{}`\n",
            LockKey::provision(&self.project).as_i64(),
            self.project
        ));
        self.clear_createrole_self_grant(&mut out);
        out.push_str(&self.script_body());
        out.push_str("COMMIT;\n");
        out
    }
}

impl fmt::Display for RoomPlan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_empty() {
            write!(
                f,
                "{} of `{}`: nothing to do",
                self.wording.subject, self.project
            )?;
        } else {
            writeln!(
                f,
                "{} of `{}`: {} statement(s)",
                self.wording.subject,
                self.project,
                self.len()
            )?;
            for step in &self.steps {
                writeln!(f, "  - {}", step.why())?;
                writeln!(f, "      {}", step.sql())?;
            }
        }
        for notice in &self.notices {
            write!(f, "\n  note: {notice}")?;
        }
        Ok(())
    }
}
