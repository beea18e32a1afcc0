//! What the CLI tests share: the config an operator would write for a pair and moto, and one
//! run of the binary with what it printed.
#![allow(dead_code, unreachable_pub)]

use std::path::Path;
use std::process::{Command, Stdio};

use cotenant_testkit::{MotoServer, Pair};

/// A cotenant.toml for `pair`'s environments and the shared moto, the admin secrets under
/// `prefix` (`<prefix>/<env>/admin`); `port` says which port each environment's entry names.
pub fn config_toml(pair: &Pair, prefix: &str, port: impl Fn(&str, u16) -> u16) -> String {
    let mut toml = format!(
        "[secrets]\nstore = \"aws\"\nendpoint_url = \"{}\"\nregion = \"{}\"\nprefix = \"{prefix}\"\n",
        MotoServer::shared().endpoint_url(),
        MotoServer::REGION,
    );
    for (name, cluster) in pair.environments() {
        toml.push_str(&format!(
            "\n[environments.{name}]\nhost = \"{}\"\nport = {}\ndatabase = \"{}\"\nadmin_secret = \"{prefix}/{name}/admin\"\ntls = \"disable\"\n",
            cluster.host(),
            port(name, cluster.port()),
            cluster.database(),
        ));
    }
    toml
}

/// What one run of the binary did.
pub struct Run {
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
    pub args: String,
}

impl Run {
    pub fn succeeded(self) -> Run {
        self.failed_with(0)
    }

    /// Asserts the exit code (0 included: `succeeded` reads better).
    pub fn failed_with(self, code: i32) -> Run {
        assert_eq!(self.code, Some(code), "{}", self.describe());
        self
    }

    /// Asserts that stdout or stderr says `text`.
    pub fn says(&self, text: &str) -> &Run {
        assert!(
            self.stdout.contains(text) || self.stderr.contains(text),
            "no `{text}` in {}",
            self.describe()
        );
        self
    }

    /// Where `text` starts in stdout; fails the test, showing the run, when it is not there.
    pub fn position(&self, text: &str) -> usize {
        self.stdout
            .find(text)
            .unwrap_or_else(|| panic!("no `{text}` in the output of {}", self.describe()))
    }

    /// Stdout as JSON.
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("stdout is not JSON ({e}): {}", self.describe()))
    }

    pub fn describe(&self) -> String {
        format!(
            "cotenant {} exited with {:?}\n--- stdout\n{}--- stderr\n{}",
            self.args, self.code, self.stdout, self.stderr
        )
    }
}

/// Runs `cotenant --config <config> <args>` with dummy AWS credentials on the command alone
/// (never on this process: tests run in parallel threads), without stdin, as in CI.
pub fn run_with_config(config: &Path, args: &[&str]) -> Run {
    let output = Command::new(env!("CARGO_BIN_EXE_cotenant"))
        .arg("--config")
        .arg(config)
        .args(args)
        .env("AWS_ACCESS_KEY_ID", "cotenant-test")
        .env("AWS_SECRET_ACCESS_KEY", "cotenant-test")
        .env("AWS_REGION", MotoServer::REGION)
        .env_remove("COTENANT_CONFIG")
        .env_remove("COTENANT_LOG")
        .stdin(Stdio::null())
        .output()
        .expect("running the cotenant binary");
    Run {
        code: output.status.code(),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        args: args.join(" "),
    }
}

pub fn block_on<F: Future>(future: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime")
        .block_on(future)
}
