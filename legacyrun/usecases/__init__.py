"""The use cases: one function per verb, between the CLI (`legacyrun/cli/`, which parses and renders) and the
domain packages (resolve, fetch, patching, backends, run). Each returns a result that owns its JSON (`to_json()`).

- `up.up` / `up.up_ref`: the chain (lock, fetch-code, fetch-data, smoke-data, patch, build), then the run step
- `run.run`: a task in the environment `up`/`build` left (`run.run_in_workspace` is `up`'s last step)
- `build.build`, `fetch.fetch`, `patch.patch`, `lock.resolve`, `lock.lock`, `lock.check`, `status.status`

Nothing is imported here: `legacyrun CMD` loads only the modules its verb needs.
"""
