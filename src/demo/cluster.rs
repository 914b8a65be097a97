//! The demo's cluster: the same real kube-apiserver, controller-manager and etcd the tests use,
//! started by `scripts/test-env` in a state directory of the demo's own, so a demo never
//! touches a test run's environment (nor a cluster of the user's).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Stdio;

/// A running local cluster and how to reach it.
pub struct LocalCluster {
    /// `KEY=VALUE` pairs of the environment file `scripts/test-env up` writes.
    pub env: BTreeMap<String, String>,
    /// The script and state dir to stop it with; `None` when the demo did not start it.
    owned: Option<(PathBuf, PathBuf)>,
}

impl LocalCluster {
    /// Starts the cluster (building it on first use; `scripts/test-env` prints its progress on
    /// stderr) and reads its environment.
    pub async fn start() -> Result<Self, String> {
        let script = find_script()?;
        let repo = script
            .parent()
            .and_then(Path::parent)
            .ok_or("scripts/test-env has no repository around it")?;
        let state = repo.join(".demo-env");
        let status = tokio::process::Command::new(&script)
            .arg("up")
            .env("LOOKOUT_TEST_ENV_DIR", &state)
            .stdin(Stdio::null())
            .stdout(Stdio::inherit())
            .stderr(Stdio::inherit())
            .status()
            .await
            .map_err(|e| format!("cannot run {}: {e}", script.display()))?;
        if !status.success() {
            return Err(format!(
                "{} up failed ({status}); see its messages above",
                script.display()
            ));
        }
        let env = read_env(&state.join("env"))?;
        Ok(Self {
            env,
            owned: Some((script, state)),
        })
    }

    /// A cluster someone else started (`--env`): used as is and left running.
    pub fn existing(env_file: &Path) -> Result<Self, String> {
        Ok(Self {
            env: read_env(env_file)?,
            owned: None,
        })
    }

    /// The admin kubeconfig.
    pub fn kubeconfig(&self) -> Result<PathBuf, String> {
        self.env
            .get("LOOKOUT_TEST_KUBECONFIG")
            .map(PathBuf::from)
            .ok_or_else(|| "the environment file names no LOOKOUT_TEST_KUBECONFIG".into())
    }

    /// Stops what [`LocalCluster::start`] started.
    pub async fn stop(self) {
        let Some((script, state)) = self.owned else {
            return;
        };
        let stopped = tokio::process::Command::new(&script)
            .arg("down")
            .env("LOOKOUT_TEST_ENV_DIR", &state)
            .stdin(Stdio::null())
            .status()
            .await;
        if let Err(e) = stopped {
            eprintln!("lookout demo: cannot stop the local cluster: {e}");
        }
    }
}

/// `scripts/test-env`: named by `LOOKOUT_TEST_ENV_SCRIPT`, else found from the current
/// directory upwards, else next to the sources this binary was built from.
fn find_script() -> Result<PathBuf, String> {
    if let Ok(path) = std::env::var("LOOKOUT_TEST_ENV_SCRIPT") {
        return Ok(PathBuf::from(path));
    }
    let mut candidates = Vec::new();
    if let Ok(dir) = std::env::current_dir() {
        candidates.extend(dir.ancestors().map(|d| d.join("scripts/test-env")));
    }
    candidates.push(Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/test-env"));
    candidates.into_iter().find(|p| p.is_file()).ok_or_else(|| {
        "cannot find scripts/test-env: run the demo from the Lookout repository, or set \
         LOOKOUT_TEST_ENV_SCRIPT"
            .into()
    })
}

/// Reads a `KEY=VALUE` file (comments and blank lines skipped).
pub fn read_env(path: &Path) -> Result<BTreeMap<String, String>, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    Ok(text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_environment_file_is_read_without_comments() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("env");
        std::fs::write(
            &path,
            "# written by test-env\nLOOKOUT_TEST_KUBECONFIG=/x/kubeconfig\n\nA = b=c\n",
        )
        .unwrap();
        let env = read_env(&path).unwrap();
        assert_eq!(env.len(), 2);
        assert_eq!(env["LOOKOUT_TEST_KUBECONFIG"], "/x/kubeconfig");
        assert_eq!(env["A"], "b=c");
        let c = LocalCluster::existing(&path).unwrap();
        assert_eq!(c.kubeconfig().unwrap(), PathBuf::from("/x/kubeconfig"));
        assert!(read_env(&dir.path().join("missing")).is_err());
    }
}
