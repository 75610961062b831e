"""Print the Jobs under a folder of Kubernetes manifests as JSON: for each,
its file, name, completion mode, completions, parallelism and container args.
Used by tests/e2e/deploy.rs to run the pods' own commands locally."""
import json
import pathlib
import sys

import yaml

jobs = []
for path in sorted(pathlib.Path(sys.argv[1]).glob("*.yaml")):
    for doc in yaml.safe_load_all(path.read_text()):
        if not doc or doc.get("kind") != "Job":
            continue
        spec = doc["spec"]
        container = spec["template"]["spec"]["containers"][0]
        jobs.append({
            "file": path.name,
            "name": doc["metadata"]["name"],
            "completionMode": spec.get("completionMode", "NonIndexed"),
            "completions": spec.get("completions", 1),
            "parallelism": spec.get("parallelism", 1),
            "args": container.get("args", []),
            "env": [e["name"] for e in container.get("env", [])],
        })
print(json.dumps(jobs))
