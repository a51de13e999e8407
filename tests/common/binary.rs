//! The `reportstats` binary as an operator runs it: a real process on a
//! real socket.

use std::net::TcpListener;
use std::process::Command;

/// The binary on the database at `database_url`, logging warnings only
/// (a test that reads the log asks for more with `RUST_LOG`).
pub fn reportstats(database_url: &str) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_reportstats"));
    command
        .env("REPORTSTATS_DATABASE_URL", database_url)
        .env("RUST_LOG", "warn")
        .env("NO_COLOR", "1");
    command
}

/// A port free on the loopback address now; the server binds it next.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}
