//! git, through its command line: which commit is the base, and the base's migrations. The
//! CLI rather than a library: it is on every CI runner and developer machine, it knows shallow
//! clones, credentials and remotes exactly as the checkout step left them (a `git fetch` here
//! uses the same token), and the few commands needed have stable output.

use std::path::{Path, PathBuf};
use std::process::Command;

/// A git command that failed, with what it said.
#[derive(Debug, thiserror::Error)]
#[error("git {args}: {said}")]
pub struct GitError {
    pub args: String,
    pub said: String,
}

/// The repository dbgate runs in.
#[derive(Debug, Clone)]
pub struct Repository {
    /// Where dbgate runs (the action's working-directory); git commands run here.
    pub dir: PathBuf,
    /// That folder, relative to the repository's root ("services/api/"; empty at the root).
    pub prefix: String,
}

impl Repository {
    /// The repository `dir` is in, if it is in one (and git runs).
    pub fn of(dir: &Path) -> Option<Repository> {
        let dir = if dir.as_os_str().is_empty() { Path::new(".") } else { dir };
        let prefix = run(dir, &["rev-parse", "--show-prefix"]).ok()?;
        Some(Repository {
            dir: dir.to_path_buf(),
            prefix: prefix.trim().to_string(),
        })
    }

    pub fn git(&self, args: &[&str]) -> Result<String, GitError> {
        run(&self.dir, args)
    }

    /// The commit `rev` names, if it is in the repository.
    pub fn commit(&self, rev: &str) -> Option<String> {
        self.git(&["rev-parse", "--verify", "--quiet", &format!("{rev}^{{commit}}")])
            .ok()
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty())
    }

    /// HEAD's parents, read from the commit object (there even when a shallow clone has not
    /// fetched them).
    pub fn head_parents(&self) -> Vec<String> {
        self.git(&["cat-file", "-p", "HEAD"])
            .map(|text| {
                text.lines()
                    .take_while(|l| !l.is_empty())
                    .filter_map(|l| l.strip_prefix("parent "))
                    .map(str::to_string)
                    .collect()
            })
            .unwrap_or_default()
    }

    pub fn is_shallow(&self) -> bool {
        self.git(&["rev-parse", "--is-shallow-repository"])
            .is_ok_and(|s| s.trim() == "true")
    }

    /// Fetches `what` (a branch or a commit) from `remote`, into `into` when given; `depth`
    /// commits deep (`None`: deepen the existing shallow history by that much is not asked).
    pub fn fetch(&self, remote: &str, what: &str, depth: Option<u32>) -> Result<(), GitError> {
        let depth = depth.map(|d| format!("--depth={d}"));
        let mut args = vec!["fetch", "--quiet", "--no-tags", "--no-recurse-submodules"];
        if let Some(depth) = &depth {
            args.push(depth);
        }
        args.extend([remote, what]);
        self.git(&args).map(|_| ())
    }

    /// Makes a shallow history `by` commits deeper on `remote`'s `branch`.
    pub fn deepen(&self, remote: &str, branch: &str, by: u32) -> Result<(), GitError> {
        let by = format!("--deepen={by}");
        self.git(&["fetch", "--quiet", "--no-tags", &by, remote, branch]).map(|_| ())
    }

    pub fn merge_base(&self, a: &str, b: &str) -> Option<String> {
        self.git(&["merge-base", a, b])
            .ok()
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty())
    }

    /// The files under `paths` (relative to where dbgate runs) at `commit`: (path relative to
    /// where dbgate runs, content). Links and submodules are left out.
    pub fn files_at(&self, commit: &str, paths: &[&Path]) -> Result<Vec<(PathBuf, Vec<u8>)>, GitError> {
        let mut args: Vec<String> = vec![
            "ls-tree".into(),
            "-r".into(),
            "-z".into(),
            "--full-name".into(),
            commit.into(),
            "--".into(),
        ];
        args.extend(paths.iter().map(|p| p.display().to_string()));
        let refs: Vec<&str> = args.iter().map(String::as_str).collect();
        let listing = self.git(&refs)?;
        let mut listed: Vec<(PathBuf, String)> = Vec::new();
        for entry in listing.split('\0').filter(|e| !e.is_empty()) {
            // "<mode> <type> <object>\t<path>"
            let Some((meta, path)) = entry.split_once('\t') else { continue };
            let mut meta = meta.split(' ');
            let (mode, kind, object) = (meta.next(), meta.next(), meta.next());
            if kind != Some("blob") || mode == Some("120000") {
                continue;
            }
            let Some(relative) = path.strip_prefix(self.prefix.as_str()) else {
                continue;
            };
            listed.push((PathBuf::from(relative), object.unwrap_or_default().to_string()));
        }
        let contents = self.blobs(&listed)?;
        Ok(listed.into_iter().map(|(path, _)| path).zip(contents).collect())
    }

    /// The contents of the files' blobs (path, blob id), in order, from one `git cat-file
    /// --batch`: a process per file made the history check's fixed cost grow with the repository
    /// (about 4 s for a thousand migrations and their rollbacks; BENCHMARKS.md).
    fn blobs(&self, objects: &[(PathBuf, String)]) -> Result<Vec<Vec<u8>>, GitError> {
        use std::io::{BufRead, Read, Write};
        if objects.is_empty() {
            return Ok(Vec::new());
        }
        let failed = |said: String| GitError {
            args: "cat-file --batch".to_string(),
            said,
        };
        let mut child = command(&self.dir, &["cat-file", "--batch"])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .map_err(|e| failed(e.to_string()))?;
        let mut stdin = child.stdin.take().ok_or_else(|| failed("no stdin".to_string()))?;
        let asked: String = objects.iter().map(|(_, object)| format!("{object}\n")).collect();
        // Written from a thread of its own: git answers as it reads, and a pipe holds only so
        // much of the answers while the questions are still being written.
        let writer = std::thread::spawn(move || stdin.write_all(asked.as_bytes()));
        let mut stdout = std::io::BufReader::new(child.stdout.take().ok_or_else(|| failed("no stdout".to_string()))?);
        let mut contents = Vec::with_capacity(objects.len());
        let mut read = || -> Result<(), String> {
            for (path, object) in objects {
                // "<object> blob <size>", then the content and a newline; "<object> missing".
                let mut header = String::new();
                stdout.read_line(&mut header).map_err(|e| e.to_string())?;
                let answer = header.trim_end().strip_prefix(object.as_str()).unwrap_or(header.trim_end()).trim();
                let size = answer
                    .strip_prefix("blob ")
                    .and_then(|size| size.parse::<usize>().ok())
                    .ok_or_else(|| format!("{} (object {object}) is {answer}", path.display()))?;
                let mut content = vec![0; size + 1];
                stdout.read_exact(&mut content).map_err(|e| e.to_string())?;
                content.pop();
                contents.push(content);
            }
            Ok(())
        };
        let answered = read();
        if answered.is_err() {
            // Not read to the end: git may be waiting to write, and the writer for git to read.
            let _ = child.kill();
        }
        let written = writer.join();
        let status = child.wait().map_err(|e| failed(e.to_string()))?;
        answered.map_err(failed)?;
        match written {
            Ok(Ok(())) if status.success() => Ok(contents),
            Ok(Err(e)) => Err(failed(e.to_string())),
            _ => {
                let mut said = String::new();
                if let Some(mut stderr) = child.stderr.take() {
                    let _ = stderr.read_to_string(&mut said);
                }
                Err(failed(said.trim().to_string()))
            }
        }
    }
}

fn command(dir: &Path, args: &[&str]) -> Command {
    let mut command = Command::new("git");
    command
        .args(args)
        .current_dir(dir)
        // Never a prompt for credentials: a fetch that needs them fails and is said.
        .env("GIT_TERMINAL_PROMPT", "0")
        .stdin(std::process::Stdio::null());
    command
}

fn bytes(dir: &Path, args: &[&str]) -> Result<Vec<u8>, GitError> {
    let failed = |said: String| GitError {
        args: args.join(" "),
        said,
    };
    let output = command(dir, args).output().map_err(|e| failed(e.to_string()))?;
    if output.status.success() {
        Ok(output.stdout)
    } else {
        Err(failed(String::from_utf8_lossy(&output.stderr).trim().to_string()))
    }
}

fn run(dir: &Path, args: &[&str]) -> Result<String, GitError> {
    bytes(dir, args).map(|b| String::from_utf8_lossy(&b).into_owned())
}
