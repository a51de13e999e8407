//! The `reportstats` binary as an operator runs it: a real process on a
//! real socket.

use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// A running `reportstats`, killed (SIGKILL) when dropped, so a failing
/// test leaves no server behind.
pub struct Server(pub Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

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

/// `reportstats demo` on `port` over `database_url`, and every line it
/// printed up to `Serving on` (its credentials and commands). Its output
/// is read to the end, since a closed pipe would make its next print fail.
#[allow(dead_code)]
pub fn start_demo(database_url: &str, port: u16) -> (Server, Vec<String>) {
    let mut demo = Server(
        reportstats(database_url)
            .args(["demo", "--listen", &format!("127.0.0.1:{port}")])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let stdout = demo.0.stdout.take().unwrap();
    let (found, lines) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = found.send(line);
        }
    });
    let mut printed = Vec::new();
    loop {
        let line = lines
            .recv_timeout(Duration::from_secs(120))
            .expect("the demo stopped printing before it served");
        let serving = line.starts_with("Serving on");
        printed.push(line);
        if serving {
            return (demo, printed);
        }
    }
}
