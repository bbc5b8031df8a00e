"""The lab's own tool: brings the lab up and down (native processes or Docker Compose) and deploys it.

Standard library only: it runs on the machine's default python3 (3.11 or newer) before any venv
exists. Run it as `python3 scripts/lab <command>` (the Makefile does). Every failure the user can fix
ends in one line starting with "lab:" and exit status 1 (`process.LabError`).

Modules: `settings` (paths, versions, ports), `process` (errors, running commands), `tools` (finding
Python 3.13, Postgres, Terraform), `venvs` (uv and the three venvs), `postgres` and `localstack` (the
native processes), `docker` (can Docker mode run here, Compose), `stack` (up, down, modes, doctor),
`terraform`, `deploy` (build, migrate, apply, is it deployed), `cli` (the commands). Other scripts call
`deploy.check_deployed()` and `terraform.outputs()`.
"""
