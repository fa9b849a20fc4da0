//! The `local` provider: a temporary cluster from the PostgreSQL server binaries on this machine,
//! initialised in a temp dir, listening only on a unix socket there, and removed at the end.

use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use nix::sys::signal::{kill, Signal};
use nix::unistd::{Pid, User};

use super::{Collected, Database, Provider, ProviderError};

/// Temporary clusters live in `$TMPDIR/dbgate-cluster-*` (or `/dev/shm/dbgate-cluster-*`)...
const CLUSTER_PREFIX: &str = "dbgate-cluster-";
/// A folder kept in memory (tmpfs), on Linux: where the cluster goes when `TMPDIR` names no
/// other and it has room. Creating files there is cheap, and a throwaway cluster creates one
/// for every table and index: on this project's CI machine, whose temporary folder had seen many
/// files come and go, the first statement came after 0.66-0.84 s from /tmp and 0.16 s from here,
/// and a run of 1001 migrations took 33 s instead of 41.
const IN_MEMORY: &str = "/dev/shm";
/// The room the in-memory folder must have left (a container's is often 64 MB).
const IN_MEMORY_ROOM: u64 = 1 << 30;
/// ...with the pid of the dbgate that made them in this file.
const OWNER_FILE: &str = "dbgate.pid";

/// The superuser the temporary cluster is created with.
const SUPERUSER: &str = "dbgate";
/// The port only names the socket file; nothing listens on TCP.
const PORT: u16 = 5432;

pub struct LocalProvider {
    pg_bin: Option<PathBuf>,
    startup_timeout: Duration,
    cluster: Option<Cluster>,
}

struct Cluster {
    // Declared first: dropped (and so stopped) before its directory is removed.
    server: Server,
    dir: tempfile::TempDir,
}

/// The postmaster, killed if still running when dropped (a panic, an early return).
struct Server(Child);

impl LocalProvider {
    pub fn new(pg_bin: Option<PathBuf>) -> LocalProvider {
        LocalProvider {
            pg_bin,
            startup_timeout: Duration::from_secs(60),
            cluster: None,
        }
    }
}

impl Provider for LocalProvider {
    fn name(&self) -> &'static str {
        "local"
    }

    async fn provision(&mut self) -> Result<Database, ProviderError> {
        let bin = find_server_binaries(self.pg_bin.as_deref())?;
        let dir = tempfile::Builder::new()
            .prefix(CLUSTER_PREFIX)
            .tempdir_in(cluster_parent())
            .map_err(|source| ProviderError::Io {
                what: "cannot create a temporary directory for the cluster".to_string(),
                source,
            })?;
        // Which run this cluster belongs to, for `dbgate gc` after a run that was killed: its
        // pid, and the pid namespace where that pid means it (containers sharing /dev/shm).
        let owner_line = format!("{}\n{}\n", std::process::id(), pid_namespace().unwrap_or_default());
        std::fs::write(dir.path().join(OWNER_FILE), owner_line).map_err(|source| ProviderError::Io {
            what: format!("cannot write in {}", dir.path().display()),
            source,
        })?;
        let owner = server_user()?;
        if let Some(user) = &owner {
            std::os::unix::fs::chown(dir.path(), Some(user.uid.as_raw()), Some(user.gid.as_raw())).map_err(|source| ProviderError::Io {
                what: format!("cannot hand {} to user {}", dir.path().display(), user.name),
                source,
            })?;
        }
        let data = dir.path().join("data");

        // A copy of a cluster initialised before is ready far sooner than initdb.
        let template = template_dir(&bin);
        let copied = template.as_ref().is_some_and(|t| copy_tree(t, &data, owner.as_ref()).is_ok());
        if !copied {
            let _ = std::fs::remove_dir_all(&data);
            let mut initdb = command(&bin.join("initdb"), dir.path(), owner.as_ref());
            initdb
                .args(["-D"])
                .arg(&data)
                .args(["-A", "trust", "-U", SUPERUSER, "-E", "UTF8", "--no-locale", "--no-sync"]);
            let output = initdb.output().map_err(|source| ProviderError::Io {
                what: format!("cannot run {}", bin.join("initdb").display()),
                source,
            })?;
            if !output.status.success() {
                return Err(ProviderError::Unavailable(format!(
                    "initdb failed ({}):\n{}{}",
                    output.status,
                    String::from_utf8_lossy(&output.stdout),
                    String::from_utf8_lossy(&output.stderr)
                )));
            }
            if let Some(template) = &template {
                save_template(&data, template);
            }
        }

        let log_path = dir.path().join("server.log");
        let log = std::fs::File::create(&log_path).map_err(|source| ProviderError::Io {
            what: format!("cannot create {}", log_path.display()),
            source,
        })?;
        if let Some(user) = &owner {
            let _ = std::os::unix::fs::chown(&log_path, Some(user.uid.as_raw()), Some(user.gid.as_raw()));
        }
        let mut postgres = command(&bin.join("postgres"), dir.path(), owner.as_ref());
        postgres
            .arg("-D")
            .arg(&data)
            .arg("-k")
            .arg(dir.path())
            .arg("-p")
            .arg(PORT.to_string());
        // A throwaway server: durability buys nothing here.
        for setting in [
            "listen_addresses=",
            "fsync=off",
            "synchronous_commit=off",
            "full_page_writes=off",
            "max_wal_senders=0",
            "wal_level=minimal",
            "autovacuum=off",
            // Its shared memory segments in its own folder, not in /dev/shm: a server killed
            // outright (dbgate killed, its pdeathsig) leaves them behind, and they go with the
            // folder.
            "dynamic_shared_memory_type=mmap",
        ] {
            postgres.arg("-c").arg(setting);
        }
        postgres.stdout(Stdio::null()).stderr(log);
        // The server dies with dbgate even when dbgate is killed outright.
        unsafe {
            postgres.pre_exec(|| {
                nix::sys::prctl::set_pdeathsig(Signal::SIGQUIT).map_err(std::io::Error::from)?;
                Ok(())
            });
        }
        let server = postgres.spawn().map_err(|source| ProviderError::Io {
            what: format!("cannot start {}", bin.join("postgres").display()),
            source,
        })?;
        let mut config = tokio_postgres::Config::new();
        config
            .host_path(dir.path())
            .port(PORT)
            .user(SUPERUSER)
            .dbname("postgres")
            .application_name("dbgate")
            // A server that stops answering (a migration may stop it) must not hold a connect.
            .connect_timeout(Duration::from_secs(10));
        let dir_in_memory = dir.path().starts_with(IN_MEMORY);
        self.cluster = Some(Cluster {
            server: Server(server),
            dir,
        });
        self.wait_until_ready(&config, &log_path).await?;
        Ok(Database {
            config: crate::execute::Target::plain(config),
            description: format!(
                "temporary cluster from {}{}",
                bin.display(),
                if dir_in_memory { " in memory (/dev/shm)" } else { "" }
            ),
            replacements: Default::default(),
            role_words: None,
            maintenance: "template1".to_string(),
        })
    }

    async fn teardown(&mut self) -> Vec<String> {
        let Some(mut cluster) = self.cluster.take() else {
            return Vec::new();
        };
        let mut warnings = Vec::new();
        if let Err(e) = cluster.server.stop() {
            warnings.push(format!("could not stop the temporary server (pid {}): {e}", cluster.server.0.id()));
        }
        let path = cluster.dir.path().to_path_buf();
        if let Err(e) = cluster.dir.close() {
            warnings.push(format!("could not remove the temporary cluster in {}: {e}", path.display()));
        }
        warnings
    }
}

impl LocalProvider {
    async fn wait_until_ready(&mut self, config: &tokio_postgres::Config, log_path: &Path) -> Result<(), ProviderError> {
        let started = Instant::now();
        loop {
            if let Ok((client, connection)) = config.connect(tokio_postgres::NoTls).await {
                drop(client);
                let _ = connection.await;
                return Ok(());
            }
            let exited = self.cluster.as_mut().and_then(|c| c.server.0.try_wait().ok().flatten());
            if exited.is_some() || started.elapsed() > self.startup_timeout {
                let log = std::fs::read_to_string(log_path).unwrap_or_default();
                let tail: Vec<&str> = log.lines().rev().take(15).collect::<Vec<_>>().into_iter().rev().collect();
                let what = match exited {
                    Some(status) => format!("the temporary PostgreSQL server exited during startup ({status})"),
                    None => format!(
                        "the temporary PostgreSQL server was not ready within {} s",
                        self.startup_timeout.as_secs()
                    ),
                };
                self.teardown().await;
                return Err(ProviderError::Unavailable(format!(
                    "{what}; its log ends with:\n{}",
                    tail.join("\n")
                )));
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

impl Server {
    /// Fast shutdown, then a kill if the server does not go.
    fn stop(&mut self) -> std::io::Result<()> {
        if self.0.try_wait().ok().flatten().is_some() {
            return Ok(());
        }
        let pid = Pid::from_raw(self.0.id() as i32);
        let _ = kill(pid, Signal::SIGINT);
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if self.0.try_wait().ok().flatten().is_some() {
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        let _ = self.0.kill();
        self.0.wait().map(|_| ())
    }
}

impl Drop for Server {
    // A panic or an early return must not leave a server running.
    fn drop(&mut self) {
        if self.0.try_wait().ok().flatten().is_none() {
            let _ = kill(Pid::from_raw(self.0.id() as i32), Signal::SIGQUIT);
            let _ = self.0.wait();
        }
    }
}

fn command(program: &Path, dir: &Path, owner: Option<&User>) -> Command {
    let mut command = Command::new(program);
    // Outside dbgate's process group, so that a Ctrl-C in the terminal reaches dbgate only and
    // dbgate shuts the server down in order.
    command.current_dir(dir).process_group(0).env_remove("PGDATA");
    if let Some(user) = owner {
        command.uid(user.uid.as_raw()).gid(user.gid.as_raw());
    }
    command
}

/// PostgreSQL refuses to run as root: then the server runs as `postgres` or `nobody`.
fn server_user() -> Result<Option<User>, ProviderError> {
    if !nix::unistd::geteuid().is_root() {
        return Ok(None);
    }
    for name in ["postgres", "nobody"] {
        if let Ok(Some(user)) = User::from_name(name) {
            return Ok(Some(user));
        }
    }
    Err(ProviderError::Unavailable(
        "dbgate runs as root and PostgreSQL refuses to; no `postgres` or `nobody` user exists to run it as. Create one (useradd postgres) or run dbgate as another user".into(),
    ))
}

const USE_URL: &str = "or use an existing server with --provider url --database-url postgres://...";

/// Where `initdb` and `postgres` are: `--pg-bin`, PATH, `pg_config --bindir`, then the usual
/// install folders. The error lists every place tried.
pub fn find_server_binaries(explicit: Option<&Path>) -> Result<PathBuf, ProviderError> {
    let has_server = |dir: &Path| dir.join("initdb").is_file() && dir.join("postgres").is_file();
    if let Some(dir) = explicit {
        return if has_server(dir) {
            Ok(dir.to_path_buf())
        } else {
            Err(ProviderError::Unavailable(format!(
                "--pg-bin {} has no initdb and postgres; point it at the folder that holds them (pg_config --bindir prints it), {USE_URL}",
                dir.display()
            )))
        };
    }
    let mut tried = Vec::new();
    if let Some(path) = std::env::var_os("PATH") {
        for dir in std::env::split_paths(&path) {
            if has_server(&dir) {
                return Ok(dir);
            }
        }
        tried.push("PATH".to_string());
    }
    match Command::new("pg_config").arg("--bindir").output() {
        Ok(output) if output.status.success() => {
            let dir = PathBuf::from(String::from_utf8_lossy(&output.stdout).trim());
            if has_server(&dir) {
                return Ok(dir);
            }
            tried.push(format!("pg_config --bindir ({})", dir.display()));
        }
        _ => tried.push("pg_config --bindir (no pg_config)".to_string()),
    }
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| Some((e.file_name().to_str()?.parse().ok()?, e.path().join("bin"))))
        .collect();
    versions.sort();
    if let Some((_, dir)) = versions.into_iter().rev().find(|(_, d)| has_server(d)) {
        return Ok(dir);
    }
    tried.push("/usr/lib/postgresql/*/bin".to_string());
    for dir in ["/usr/local/pgsql/bin", "/opt/homebrew/bin", "/usr/pgsql/bin"] {
        if has_server(Path::new(dir)) {
            return Ok(dir.into());
        }
    }
    tried.push("/usr/local/pgsql/bin, /opt/homebrew/bin".to_string());
    Err(ProviderError::Unavailable(format!(
        "no PostgreSQL server binaries (initdb, postgres) found; tried {}. Install the server (apt-get install postgresql, brew install postgresql), point --pg-bin at its bin folder, {USE_URL}",
        tried.join(", ")
    )))
}

/// Removes the temporary clusters of runs that were killed before they could clean up: their
/// dbgate is gone. A server still running there is stopped first.
pub fn collect_garbage() -> Collected {
    let mut collected = Collected::default();
    let mut parents = vec![std::env::temp_dir()];
    if Path::new(IN_MEMORY).is_dir() && !parents.iter().any(|p| p == Path::new(IN_MEMORY)) {
        parents.push(PathBuf::from(IN_MEMORY));
    }
    let entries = parents.iter().filter_map(|parent| std::fs::read_dir(parent).ok()).flatten();
    let our_namespace = pid_namespace();
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if !name.starts_with(CLUSTER_PREFIX) || !entry.path().is_dir() {
            continue;
        }
        let dir = entry.path();
        let owner_file = std::fs::read_to_string(dir.join(OWNER_FILE)).unwrap_or_default();
        let mut owner_lines = owner_file.lines().map(str::trim);
        let owner: Option<i32> = owner_lines.next().and_then(|p| p.parse().ok());
        // A run in another pid namespace (another container sharing this folder): its pid
        // cannot be looked up here, so whether it is still going cannot be told.
        if let Some(theirs) = owner_lines
            .next()
            .filter(|ns| !ns.is_empty() && Some(*ns) != our_namespace.as_deref())
        {
            collected.kept.push(format!(
                "temporary cluster {}: its run is in another pid namespace ({theirs}, another container): remove it there, or by hand once that run is over",
                dir.display()
            ));
            continue;
        }
        if let Some(pid) = owner.filter(|pid| super::dbgate_is_running(*pid)) {
            collected
                .kept
                .push(format!("temporary cluster {}: its run (pid {pid}) is still going", dir.display()));
            continue;
        }
        // postmaster.pid's first line is the server's pid.
        let server: Option<i32> = std::fs::read_to_string(dir.join("data/postmaster.pid"))
            .ok()
            .and_then(|t| t.lines().next().and_then(|l| l.trim().parse().ok()));
        // Only a server of this cluster: the pid may have been reused since.
        let ours = |pid: i32| {
            std::fs::read(format!("/proc/{pid}/cmdline")).is_ok_and(|c| String::from_utf8_lossy(&c).contains(&*dir.to_string_lossy()))
        };
        if let Some(pid) = server.filter(|pid| ours(*pid)) {
            let pid = Pid::from_raw(pid);
            if kill(pid, Signal::SIGQUIT).is_ok() {
                let deadline = Instant::now() + Duration::from_secs(10);
                while kill(pid, None).is_ok() && Instant::now() < deadline {
                    std::thread::sleep(Duration::from_millis(20));
                }
            }
        }
        match std::fs::remove_dir_all(&dir) {
            Ok(()) => collected.removed.push(format!("temporary cluster {}", dir.display())),
            Err(e) => collected
                .kept
                .push(format!("temporary cluster {}: cannot remove it: {e}", dir.display())),
        }
    }
    collected
}

/// This process's pid namespace ("pid:[4026531836]"), where its pids mean what they say.
fn pid_namespace() -> Option<String> {
    std::fs::read_link("/proc/self/ns/pid")
        .ok()
        .map(|link| link.to_string_lossy().into_owned())
}

/// Where the cluster's folder is made: where `TMPDIR` says; else in memory when the system has
/// such a folder with room; else the usual temporary folder.
fn cluster_parent() -> PathBuf {
    if std::env::var_os("TMPDIR").is_some_and(|dir| !dir.is_empty()) {
        return std::env::temp_dir();
    }
    // Not u64 everywhere (32 bits on some systems).
    #[allow(clippy::unnecessary_cast)]
    let room = nix::sys::statvfs::statvfs(IN_MEMORY).map(|fs| fs.blocks_available() as u64 * fs.fragment_size() as u64);
    match room {
        Ok(room) if room >= IN_MEMORY_ROOM => PathBuf::from(IN_MEMORY),
        _ => std::env::temp_dir(),
    }
}

/// Where an initialised cluster for these server binaries is kept between runs:
/// `$XDG_CACHE_HOME/dbgate` or `~/.cache/dbgate` (`DBGATE_CACHE_DIR` overrides; empty turns the
/// cache off).
fn template_dir(bin: &Path) -> Option<PathBuf> {
    let base = match std::env::var_os("DBGATE_CACHE_DIR") {
        Some(dir) if dir.is_empty() => return None,
        Some(dir) => PathBuf::from(dir),
        None => std::env::var_os("XDG_CACHE_HOME")
            .map(PathBuf::from)
            .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))?
            .join("dbgate"),
    };
    // The binaries' identity: their path and the postgres executable's size and time.
    let meta = std::fs::metadata(bin.join("postgres")).ok()?;
    let stamp = meta.modified().ok()?.duration_since(std::time::UNIX_EPOCH).ok()?.as_secs();
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    std::hash::Hash::hash(&(bin, meta.len(), stamp), &mut hasher);
    Some(base.join(format!("cluster-{:016x}", std::hash::Hasher::finish(&hasher))))
}

/// Keeps a fresh cluster as the template, atomically: a half-written one is never used.
fn save_template(data: &Path, template: &Path) {
    let Some(parent) = template.parent() else { return };
    if template.exists() || std::fs::create_dir_all(parent).is_err() {
        return;
    }
    let partial = parent.join(format!(".partial-{}", std::process::id()));
    if copy_tree(data, &partial, None).is_ok() && std::fs::rename(&partial, template).is_ok() {
        return;
    }
    let _ = std::fs::remove_dir_all(&partial);
}

/// Copies a directory tree, giving it to `owner`; the cluster directory stays private (0700).
fn copy_tree(from: &Path, to: &Path, owner: Option<&User>) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::create_dir_all(to)?;
    std::fs::set_permissions(to, std::fs::Permissions::from_mode(0o700))?;
    for entry in std::fs::read_dir(from)? {
        let entry = entry?;
        let target = to.join(entry.file_name());
        if entry.file_type()?.is_dir() {
            copy_tree(&entry.path(), &target, owner)?;
        } else {
            std::fs::copy(entry.path(), &target)?;
        }
        if let Some(user) = owner {
            std::os::unix::fs::chown(&target, Some(user.uid.as_raw()), Some(user.gid.as_raw()))?;
        }
    }
    if let Some(user) = owner {
        std::os::unix::fs::chown(to, Some(user.uid.as_raw()), Some(user.gid.as_raw()))?;
    }
    Ok(())
}
