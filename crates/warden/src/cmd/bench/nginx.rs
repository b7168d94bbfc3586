//! Path (c), the plain hop: the lab server behind nginx as a keep-alive reverse proxy, the
//! yardstick the targets are stated against.
//!
//! The bench writes nginx's whole configuration into the run folder (its own prefix, pid file,
//! error log and temp folders there, nothing read from `/etc/nginx`), listens on a free loopback
//! port and runs nginx in the foreground as a child (`daemon off`), a master with one worker per
//! CPU as Debian deploys it (`worker_processes auto`). The proxy settings are the ones a
//! Streamable HTTP upstream needs: HTTP/1.1 to the upstream with pooled keep-alive connections
//! (`keepalive`, `Connection ""`), no response buffering so SSE streams pass as they come, no
//! access log. Keep-alive connections serve up to 100,000 requests on both sides: nginx's default
//! of 1,000 would make the clients reconnect during a run, a cost the other two paths do not pay.

use anyhow::{Context, bail};
use std::fs::File;
use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::procstat::ProcStat;

/// Where Debian installs nginx: outside a non-root user's usual `PATH`.
const DEBIAN_NGINX: &str = "/usr/sbin/nginx";

/// How long nginx may take to answer its first request.
const START_TIMEOUT: Duration = Duration::from_secs(10);

/// The nginx binary to run: `explicit` when given (it must exist), else `nginx` on `PATH`, else
/// Debian's `/usr/sbin/nginx`; `None` when there is none, and path (c) is skipped.
pub fn find(explicit: Option<&Path>) -> anyhow::Result<Option<PathBuf>> {
    if let Some(path) = explicit {
        if !path.is_file() {
            bail!("`--nginx`: there is no file at `{}`", path.display());
        }
        return Ok(Some(path.to_path_buf()));
    }
    let on_path = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
        .unwrap_or_default()
        .into_iter()
        .map(|dir| dir.join("nginx"))
        .find(|p| p.is_file());
    Ok(on_path.or_else(|| Some(PathBuf::from(DEBIAN_NGINX)).filter(|p| p.is_file())))
}

/// `nginx -v`: the version line, such as `nginx/1.22.1`.
pub fn version(binary: &Path) -> anyhow::Result<String> {
    let out = Command::new(binary)
        .arg("-v")
        .output()
        .with_context(|| format!("cannot run `{} -v`", binary.display()))?;
    let text = String::from_utf8_lossy(&out.stderr);
    let line = text.lines().next().unwrap_or_default();
    match line.split_once("version: ") {
        Some((_, v)) if out.status.success() => Ok(v.trim().to_string()),
        _ => bail!(
            "`{} -v` does not read as nginx: {}",
            binary.display(),
            text.trim()
        ),
    }
}

/// A free loopback port, as the kernel hands one out (free when this returns; nginx binds it
/// right after).
fn free_port() -> anyhow::Result<u16> {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .context("cannot find a free loopback port for nginx")?;
    Ok(listener.local_addr()?.port())
}

/// nginx's configuration: listen on `port`, proxy everything to the lab at `upstream`
/// (`host:port`).
fn config(folder: &Path, port: u16, upstream: &str, workers: usize, idle: usize) -> String {
    let f = folder.display();
    format!(
        r#"# Written by `warden bench`: path (c), a plain reverse-proxy hop in front of the lab server.
daemon off;
master_process on;
worker_processes {workers};
pid {f}/nginx.pid;
error_log {f}/error.log warn;

events {{
    worker_connections 4096;
}}

http {{
    access_log off;
    client_body_temp_path {f}/tmp/client_body;
    proxy_temp_path {f}/tmp/proxy;
    fastcgi_temp_path {f}/tmp/fastcgi;
    uwsgi_temp_path {f}/tmp/uwsgi;
    scgi_temp_path {f}/tmp/scgi;
    keepalive_requests 100000;

    upstream lab {{
        server {upstream};
        keepalive {idle};
        keepalive_requests 100000;
    }}

    server {{
        listen 127.0.0.1:{port};
        location / {{
            proxy_pass http://lab;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header Host $http_host;
            proxy_buffering off;
            proxy_request_buffering off;
            proxy_read_timeout 1h;
        }}
    }}
}}
"#
    )
}

/// nginx running in front of the lab: the master (this process's child) and its workers.
pub struct Nginx {
    child: Child,
    pub url: String,
    /// The master and its workers, for CPU and memory.
    pub pids: Vec<u32>,
}

impl Nginx {
    /// Starts `binary` with a configuration written under `folder`, proxying to the lab at
    /// `lab_url`; returns once nginx answers HTTP and all its workers run. `clients` is the
    /// most concurrent clients of the run: the upstream keeps that many idle connections.
    pub fn start(
        binary: &Path,
        folder: &Path,
        lab_url: &str,
        clients: usize,
    ) -> anyhow::Result<Nginx> {
        let upstream = lab_url
            .strip_prefix("http://")
            .and_then(|rest| rest.split('/').next())
            .filter(|a| a.parse::<SocketAddr>().is_ok())
            .with_context(|| format!("the lab's address `{lab_url}` is not http://ip:port/…"))?;
        let path = lab_url
            .strip_prefix("http://")
            .and_then(|rest| rest.split_once('/'))
            .map_or("", |(_, p)| p);
        let folder = std::path::absolute(folder)?;
        std::fs::create_dir_all(folder.join("tmp"))
            .with_context(|| format!("cannot create `{}`", folder.display()))?;
        let workers = std::thread::available_parallelism().map_or(1, |n| n.get());
        let port = free_port()?;
        let conf = folder.join("nginx.conf");
        std::fs::write(
            &conf,
            config(&folder, port, upstream, workers, clients.max(16)),
        )
        .with_context(|| format!("cannot write `{}`", conf.display()))?;
        let stderr = File::create(folder.join("stderr.log"))?;
        let child = Command::new(binary)
            .arg("-p")
            .arg(&folder)
            .arg("-c")
            .arg(&conf)
            .arg("-e")
            .arg(folder.join("error.log"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(stderr)
            .spawn()
            .with_context(|| format!("cannot run `{}`", binary.display()))?;
        let mut nginx = Nginx {
            pids: vec![child.id()],
            child,
            url: format!("http://127.0.0.1:{port}/{path}"),
        };
        // On error `nginx` is dropped here, which stops the master and its workers.
        nginx
            .wait_ready(port, workers)
            .with_context(|| nginx_logs(&folder))?;
        Ok(nginx)
    }

    /// Waits until nginx answers an HTTP request on `port` and has `workers` workers.
    fn wait_ready(&mut self, port: u16, workers: usize) -> anyhow::Result<()> {
        let master = self.child.id();
        let start = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait()? {
                bail!("nginx exited before serving ({status})");
            }
            let children = ProcStat::children(master);
            if children.len() >= workers && answers_http(port) {
                self.pids = std::iter::once(master).chain(children).collect();
                return Ok(());
            }
            if start.elapsed() > START_TIMEOUT {
                bail!(
                    "nginx did not serve on 127.0.0.1:{port} within {} s",
                    START_TIMEOUT.as_secs()
                );
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

/// Whether something answers HTTP on loopback `port` (any status will do: the lab answers
/// `GET /` with an error, which nginx passes on).
fn answers_http(port: u16) -> bool {
    let Ok(mut stream) = TcpStream::connect((Ipv4Addr::LOCALHOST, port)) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
    if stream
        .write_all(b"GET / HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n")
        .is_err()
    {
        return false;
    }
    let mut head = [0u8; 5];
    stream.read_exact(&mut head).is_ok() && &head == b"HTTP/"
}

/// What nginx said while starting, for an error message.
fn nginx_logs(folder: &Path) -> String {
    let read = |name: &str| {
        std::fs::read_to_string(folder.join(name))
            .unwrap_or_default()
            .trim()
            .to_string()
    };
    format!(
        "nginx did not start (configuration and logs in `{}`): {} {}",
        folder.display(),
        read("stderr.log"),
        read("error.log")
    )
}

impl Drop for Nginx {
    fn drop(&mut self) {
        // SIGTERM: the master stops its workers and exits; then make sure.
        if !super::terminate(&mut self.child) {
            return;
        }
        // A worker outliving a killed master would hold the port: stop the ones we started,
        // where that pid still names an nginx process.
        for &worker in self.pids.iter().skip(1) {
            if !ProcStat::name(worker).is_some_and(|n| n.starts_with("nginx")) {
                continue;
            }
            let _ = Command::new("kill")
                .args(["-KILL", &worker.to_string()])
                .status();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_config_proxies_with_keepalive_and_no_buffering() {
        let text = config(Path::new("/run/x"), 8123, "127.0.0.1:9000", 2, 64);
        for line in [
            "daemon off;",
            "listen 127.0.0.1:8123;",
            "server 127.0.0.1:9000;",
            "keepalive 64;",
            "proxy_http_version 1.1;",
            "proxy_set_header Connection \"\";",
            "proxy_buffering off;",
            "access_log off;",
            "pid /run/x/nginx.pid;",
        ] {
            assert!(text.contains(line), "missing `{line}` in\n{text}");
        }
    }

    #[test]
    fn an_explicit_binary_must_exist() {
        let err = find(Some(Path::new("/nonexistent/nginx"))).unwrap_err();
        assert!(err.to_string().contains("`--nginx`"), "{err}");
    }
}
