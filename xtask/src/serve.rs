//! `cargo xtask serve`: install what is missing, then build the web app with trunk (release, offline,
//! pinned tools) and serve it on loopback, rebuilding on change. Prints the URL once it answers.

use crate::shell::{Cmd, Stopwatch};
use crate::tools;
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::time::Duration;

pub const DEFAULT_PORT: u16 = 8080;

/// Command-line options of `cargo xtask serve`.
pub struct Options {
    port: u16,
    skip_install: bool,
}

impl Options {
    pub fn parse(args: &[String]) -> Result<Options, String> {
        let mut options = Options { port: DEFAULT_PORT, skip_install: false };
        let mut args = args.iter();
        while let Some(arg) = args.next() {
            let port = match arg.as_str() {
                "--skip-install" => {
                    options.skip_install = true;
                    continue;
                }
                "--port" => args.next().ok_or("--port needs a number, e.g. --port 8081")?.as_str(),
                other => other
                    .strip_prefix("--port=")
                    .ok_or_else(|| format!("unknown option `{other}` for `serve` (see cargo xtask help)"))?,
            };
            options.port = port.parse().map_err(|_| format!("--port {port}: not a port number (1-65535)"))?;
        }
        Ok(options)
    }
}

pub fn run(options: &Options) -> Result<(), String> {
    let mode = if options.skip_install { tools::Mode::CheckOnly } else { tools::Mode::Install };
    tools::ensure(mode, tools::Needs { browser: false })?;
    let address = SocketAddr::from((Ipv4Addr::LOCALHOST, options.port));
    // Fail early and clearly rather than after a one-minute build.
    TcpListener::bind(address)
        .map_err(|error| format!("cannot listen on {address} ({error}); choose another with --port N"))?;
    let url = format!("http://{address}/");
    println!("serve: building the web app (about 1 minute from a cold target/), then serving {url}");
    let port = options.port.to_string();
    let mut trunk = Cmd::new("trunk", &["serve", "--release", "--address", "127.0.0.1", "--port", &port]).spawn()?;
    let stopwatch = Stopwatch::start();
    loop {
        if let Some(status) = trunk.try_wait().map_err(|error| format!("waiting for trunk: {error}"))? {
            return Err(format!("trunk serve stopped ({status}) before serving {url}"));
        }
        if TcpStream::connect_timeout(&address, Duration::from_millis(200)).is_ok() {
            break;
        }
        std::thread::sleep(Duration::from_millis(300));
    }
    println!("\nserve: ready after {}s at {url}  (Ctrl-C to stop)\n", stopwatch.elapsed().as_secs());
    let status = trunk.wait().map_err(|error| format!("waiting for trunk: {error}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("trunk serve stopped ({status})"))
    }
}
