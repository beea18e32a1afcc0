//! A process that cleans up after a server once we let go of it — even when we die.
//!
//! A server kept in a `static` is never dropped: when the test process exits, nothing of ours runs.
//! So each server gets a small `sh` process whose stdin is a pipe only we hold. Whatever ends us
//! (return from main, `process::exit`, a panic, SIGKILL), the kernel closes the pipe; the watchdog
//! reads EOF and cleans up. Drop uses the same path: it closes the pipe and waits for the watchdog,
//! so every drop in the tests also proves the exit path.
//!
//! The watchdog runs in its own process group with HUP and INT ignored, so a Ctrl-C aimed at the
//! test run cannot kill it before it has cleaned up, and its output goes to /dev/null: a write to a
//! closed pipe would kill it too.

use std::io::{self, Write};
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Child, ChildStdin, Command, ExitStatus, Stdio};

/// Reads the target from stdin (the last line wins) until EOF, then runs the cleanup.
const PRELUDE: &str = r#"
trap '' HUP INT
target=
while IFS= read -r line; do target=$line; done
"#;

/// Stops the process `$target` (if any) with the signal `$2` (SIGQUIT: PostgreSQL's immediate
/// shutdown; SIGTERM: PgBouncer's), waits until it is gone, then removes the directory `$1`. The
/// postmaster exits only after its backends, so once it is gone nothing uses the directory. A zombie counts as gone: once we are dead, nobody
/// may reap it soon. The wait is bounded: a reused pid must not hold the directory forever.
const STOP_AND_REMOVE: &str = r#"
running() {
    state=
    { read -r _ _ state _ < "/proc/$1/stat"; } 2>/dev/null || return 1
    [ "$state" != Z ]
}
if [ -n "$target" ] && kill -s "$2" "$target" 2>/dev/null; then
    i=0
    while running "$target" && [ "$i" -lt 3000 ]; do
        sleep 0.01
        i=$((i + 1))
    done
fi
rm -rf -- "$1"
"#;

/// Removes the container `$target` (if any).
#[cfg(feature = "docker")]
const REMOVE_CONTAINER: &str = r#"
if [ -n "$target" ]; then docker rm -f -v "$target" >/dev/null 2>&1; fi
"#;

/// A running watchdog; dropping it cleans up and waits for that to finish.
#[derive(Debug)]
pub(crate) struct Watchdog {
    child: Child,
    pipe: Option<ChildStdin>,
}

impl Watchdog {
    /// A watchdog that stops the process it is told about with `signal` (a name: `QUIT`, `TERM`),
    /// then removes `dir`.
    pub(crate) fn stop_and_remove(dir: &Path, signal: &str) -> io::Result<Watchdog> {
        let mut command = script(STOP_AND_REMOVE);
        command.arg(dir).arg(signal);
        Watchdog::spawn(command)
    }

    /// A watchdog that removes the container it is told about (by id), with the docker CLI.
    #[cfg(feature = "docker")]
    pub(crate) fn remove_container() -> io::Result<Watchdog> {
        Watchdog::spawn(script(REMOVE_CONTAINER))
    }

    fn spawn(mut command: Command) -> io::Result<Watchdog> {
        let mut child = command
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .process_group(0)
            .spawn()?;
        let pipe = child.stdin.take();
        Ok(Watchdog { child, pipe })
    }

    /// Tells the watchdog what to clean up: a postmaster pid, a container id; `""` for nothing.
    pub(crate) fn watch(&mut self, target: &str) -> io::Result<()> {
        let pipe = self.pipe.as_mut().ok_or(io::ErrorKind::BrokenPipe)?;
        writeln!(pipe, "{target}")?;
        pipe.flush()
    }

    /// Closes the pipe: the watchdog starts cleaning up now.
    pub(crate) fn fire(&mut self) {
        self.pipe = None;
    }

    /// Fires the watchdog and waits until it has cleaned up.
    pub(crate) fn finish(&mut self) -> io::Result<ExitStatus> {
        self.fire();
        self.child.wait()
    }
}

impl Drop for Watchdog {
    fn drop(&mut self) {
        if let Err(error) = self.finish() {
            tracing::warn!(target: "cotenant_testkit", %error, "waiting for the watchdog failed");
        }
    }
}

fn script(body: &str) -> Command {
    let mut command = Command::new("sh");
    // `sh -c SCRIPT NAME ARGS...`: NAME becomes $0, ARGS $1...
    command
        .arg("-c")
        .arg(format!("{PRELUDE}{body}"))
        .arg("cotenant-testkit-watchdog");
    command
}
