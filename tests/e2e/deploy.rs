//! `deploy/kubernetes/`: the manifests pass the Kubernetes API's schemas
//! (kubernetes-validate, strict), and the pods' own commands, run here with
//! the paths mapped into a workspace, make and merge a sharded period.

use std::path::PathBuf;
use std::process::Command;

use crate::common::*;

fn manifests() -> PathBuf {
    repo().join("deploy/kubernetes")
}

/// `kubernetes-validate --strict` over `files`: (passed, what it said).
fn validate(files: &[PathBuf]) -> (bool, String) {
    let bin = pdf_tools::python()
        .parent()
        .unwrap()
        .join("kubernetes-validate");
    let o = Command::new(bin)
        .args(["--strict", "--kubernetes-version", "1.33.0"])
        .args(files)
        .output()
        .unwrap();
    (
        o.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        ),
    )
}

#[test]
fn manifests_pass_the_kubernetes_schemas_and_a_broken_one_does_not() {
    let mut files: Vec<PathBuf> = std::fs::read_dir(manifests())
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    files.sort();
    assert!(files.len() >= 4, "{files:?}");
    let (ok, said) = validate(&files);
    assert!(ok, "{said}");
    assert_eq!(said.matches("passed").count(), files.len(), "{said}");

    // The validator does reject: a misspelt field, a count that is not a
    // number, a container without its image.
    let dir = tempfile::tempdir().unwrap();
    let job = std::fs::read_to_string(manifests().join("job-run.yaml")).unwrap();
    for (from, to) in [
        ("backoffLimitPerIndex:", "backoffLimitPerIndx:"),
        ("completions: 4", "completions: four"),
        ("image: ", "imag: "),
    ] {
        assert!(job.contains(from), "{from}");
        let broken = dir.path().join("broken.yaml");
        std::fs::write(&broken, job.replace(from, to)).unwrap();
        let (ok, said) = validate(&[broken]);
        assert!(!ok, "{to} passed: {said}");
    }
}

#[derive(serde::Deserialize)]
struct Job {
    name: String,
    #[serde(rename = "completionMode")]
    completion_mode: String,
    completions: u32,
    parallelism: u32,
    args: Vec<String>,
    env: Vec<String>,
}

fn jobs() -> Vec<Job> {
    let o = Command::new(pdf_tools::python())
        .arg(repo().join("tests/tools/k8s_jobs.py"))
        .arg(manifests())
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    serde_json::from_slice(&o.stdout).unwrap()
}

#[test]
fn the_pods_commands_make_and_merge_a_sharded_period() {
    let jobs = jobs();
    let run = jobs
        .iter()
        .find(|j| j.name.starts_with("neighborly-run"))
        .unwrap();
    let merge = jobs
        .iter()
        .find(|j| j.name.starts_with("neighborly-merge"))
        .unwrap();
    assert_eq!(run.completion_mode, "Indexed");
    let n = run.completions;
    assert!(n > 1 && run.parallelism <= n);
    assert!(
        run.args.contains(&format!("--shards={n}")),
        "{:?}",
        run.args
    );
    assert!(run.env.contains(&"PGPASSWORD".to_string()));
    // The merge names every shard the run makes.
    for k in 0..n {
        assert!(
            merge
                .args
                .iter()
                .any(|a| a.ends_with(&format!("/shard-{k}"))),
            "{:?}",
            merge.args
        );
    }
    assert_eq!(merge.completions, 1);

    // Run the pods' args here: /config and /data mapped into a workspace,
    // one SQLite file instead of the cluster's PostgreSQL (tests/shards.rs
    // runs the shards on a real PostgreSQL server).
    let ws = Workspace::new("");
    ws.synth(300, true);
    let config = ws.config().display().to_string();
    let data = ws.path("data-volume").display().to_string();
    let map = |args: &[String]| -> Vec<String> {
        let mut v: Vec<String> = args
            .iter()
            .map(|a| {
                a.replace("/config/neighborly.toml", &config)
                    .replace("/data", &data)
            })
            .collect();
        if v[0] == "run" {
            v.push(format!("--state={}", ws.path("state.sqlite").display()));
        }
        v
    };
    // All pods at once, as the Job starts them, on one SQLite file.
    let pods: Vec<_> = (0..n)
        .map(|k| {
            Command::new(BIN)
                .current_dir(ws.dir.path())
                .args(map(&run.args))
                .env("JOB_COMPLETION_INDEX", k.to_string())
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for pod in pods {
        let said = ok(pod.wait_with_output().unwrap());
        assert!(said.contains("reports out"), "{said}");
    }
    let said = ok(Command::new(BIN)
        .current_dir(ws.dir.path())
        .args(map(&merge.args))
        .output()
        .unwrap());
    assert!(said.contains(&format!("{n} shards merged")), "{said}");

    // The merged period holds every household once, as a whole run would.
    let period = run
        .args
        .iter()
        .find_map(|a| a.strip_prefix("--period="))
        .unwrap();
    let merged = ws.path(&format!("data-volume/out/{period}"));
    let whole = ok(ws.neighborly(&["run", "--config", &config, "--period", period, "--dry-run"]));
    let reports = read_csv(&merged.join("manifest.csv")).len();
    assert!(
        whole.contains(&format!("reports would be rendered: {reports}\n")),
        "{whole}\nmerged: {reports}"
    );
    let exceptions = read_csv(&merged.join("exceptions.csv")).len();
    assert!(
        whole.contains(&format!("exceptions: {exceptions}\n")),
        "{whole}\nmerged: {exceptions}"
    );
}

#[test]
fn the_containerfile_copies_what_the_repository_has() {
    let text = std::fs::read_to_string(manifests().join("Containerfile")).unwrap();
    let mut copied = Vec::new();
    for line in text.lines().filter(|l| l.starts_with("COPY ")) {
        if line.contains("--from=") {
            continue;
        }
        let words: Vec<&str> = line.split_whitespace().collect();
        for src in &words[1..words.len() - 1] {
            assert!(repo().join(src).exists(), "{src} (in {line})");
            copied.push(
                src.trim_start_matches("./")
                    .trim_end_matches('/')
                    .to_string(),
            );
        }
    }
    assert!(copied.len() >= 5);
    // The build stage needs every crate of the workspace.
    let manifest: toml::Table = std::fs::read_to_string(repo().join("Cargo.toml"))
        .unwrap()
        .parse()
        .unwrap();
    let members = manifest["workspace"]["members"].as_array().unwrap();
    for member in members.iter().map(|m| m.as_str().unwrap()) {
        let member = member.trim_start_matches("./");
        assert!(
            member == "."
                || copied
                    .iter()
                    .any(|c| member == c || member.starts_with(&format!("{c}/"))),
            "the workspace's {member} is not copied into the build stage"
        );
    }
    assert!(text.contains("--locked"));
    assert!(text.contains("USER 10001"));
}
