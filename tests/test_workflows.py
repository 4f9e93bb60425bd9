"""The GitHub workflows: valid against GitHub's workflow schema (check-jsonschema) and clean under
zizmor's security audits (actions pinned to commits, no persisted credentials, minimal
permissions per job), both offline."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import yaml

from stacks.facts import PROJECT_ROOT

WORKFLOWS = sorted((PROJECT_ROOT / ".github" / "workflows").glob("*.yml"))
LINT = [str(Path(sys.executable).with_name("check-jsonschema")), "--builtin-schema", "vendor.github-workflows"]
ZIZMOR = [str(Path(sys.executable).with_name("zizmor")), "--offline", "--persona=pedantic", "--no-progress"]


def test_workflows_pass_the_schema_lint():
    assert {w.name for w in WORKFLOWS} == {"pull-request.yml", "deploy.yml", "drift.yml"}
    result = subprocess.run([*LINT, *map(str, WORKFLOWS)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_lint_refuses_a_broken_workflow(tmp_path):
    broken = tmp_path / "broken.yml"
    broken.write_text("on: push\njobs:\n  build:\n    steps:\n      - run: make test\n")  # no runs-on
    assert subprocess.run([*LINT, str(broken)], capture_output=True).returncode != 0


def test_pull_requests_test_plan_and_update_one_review_comment():
    text = (PROJECT_ROOT / ".github" / "workflows" / "pull-request.yml").read_text()
    assert "make test" in text and "terraform plan" in text and "review.plan_review" in text
    assert "role-to-assume: ${{ vars.AWS_PLAN_ROLE_ARN }}" in text and "id-token: write" in text
    assert "updateComment" in text and "<!-- plan-review -->" in text
    # Only the bot's own comment is updated, risks stay red until a reviewer labels the PR, and
    # no AWS credential exists while dependencies install.
    assert "c.user.login === 'github-actions[bot]'" in text and "plan-risks-approved" in text


def test_fork_pull_requests_fail_the_plan_instead_of_skipping_it():
    # A skipped required check counts as passed: the plan job must run, and fail, for a fork.
    (plan,) = [job for job in _jobs("pull-request.yml").values() if any("terraform plan" in s.get("run", "") for s in job["steps"])]
    assert plan["if"] == "${{ !cancelled() }}"  # runs, and fails, after failed tests too
    refuse = plan["steps"][0]
    assert refuse["if"] == "github.event.pull_request.head.repo.full_name != github.repository" and "exit 1" in refuse["run"]


def _jobs(name):
    return yaml.safe_load((PROJECT_ROOT / ".github" / "workflows" / name).read_text())["jobs"]


def test_project_code_never_runs_with_aws_credentials_except_terraform():
    """Installs, synth and the project's tools run before the role is assumed; after it, a step
    that runs the project's Python blanks the credentials (a dependency's .pth file runs at every
    interpreter start), and only terraform runs with them."""
    checked = 0
    for workflow in WORKFLOWS:
        for job in yaml.safe_load(workflow.read_text())["jobs"].values():
            steps = job["steps"]
            assume = [i for i, s in enumerate(steps) if "configure-aws-credentials" in s.get("uses", "")]
            if not assume:
                continue
            before = " ".join(s.get("run", "") for s in steps[: assume[0]])
            assert "make synth" in before and "runners.terraform_cli" in before and "stacks.facts" in before
            for step in steps[assume[0] + 1 :]:
                if ".venv/bin/python" in step.get("run", "") or "make " in step.get("run", ""):
                    env = step.get("env", {})
                    assert all(env.get(k) == "" for k in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN")), (
                        workflow.name,
                        step.get("name"),
                    )
                    checked += 1
    assert checked == 5  # the review, the risk gate, the drift section, the state-owner check before a plan and an apply


def test_main_deploys_through_a_protected_environment():
    text = (PROJECT_ROOT / ".github" / "workflows" / "deploy.yml").read_text()
    assert "branches: [main]" in text and "environment: production" in text
    assert "role-to-assume: ${{ vars.AWS_DEPLOY_ROLE_ARN }}" in text and "terraform apply" in text


def test_drift_is_detected_daily_with_the_read_only_role_into_one_issue():
    text = (PROJECT_ROOT / ".github" / "workflows" / "drift.yml").read_text()
    assert "schedule:" in text and "role-to-assume: ${{ vars.AWS_PLAN_ROLE_ARN }}" in text
    assert "-detailed-exitcode" in text and "--format drift --fail-on-drift --limit" in text
    # It takes the state lock (waiting out a deploy) rather than racing one.
    assert "-lock-timeout=" in text and "-lock=false" not in text
    assert "issues.create" in text and "issues.update" in text and "state: 'closed'" in text


def test_zizmor_finds_nothing_in_the_workflows():
    result = subprocess.run([*ZIZMOR, *map(str, WORKFLOWS)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_zizmor_refuses_an_unpinned_action_persisted_credentials_and_broad_permissions(tmp_path):
    risky = tmp_path / "risky.yml"
    risky.write_text(
        "name: risky\non: push\npermissions: write-all\njobs:\n  build:\n    name: build\n    runs-on: ubuntu-24.04\n"
        "    steps:\n      - uses: actions/checkout@v4\n"
    )
    result = subprocess.run([*ZIZMOR, str(risky)], capture_output=True, text=True)
    assert result.returncode != 0
    for audit in ("unpinned-uses", "artipacked", "excessive-permissions"):
        assert audit in result.stdout, result.stdout


def _plan_job_steps():
    (plan,) = [job for job in _jobs("pull-request.yml").values() if any("terraform plan" in s.get("run", "") for s in job["steps"])]
    return plan["steps"]


def test_a_failed_plan_still_posts_a_review_that_says_so_and_then_fails_the_job(tmp_path):
    """The plan and review steps' own shell, run as GitHub runs them (bash -e), with a terraform
    whose plan fails: the review comment says the plan failed and quotes Terraform, and only the
    last step fails the job."""
    steps = _plan_job_steps()
    names = [s.get("name") for s in steps]
    state_step, plan_step = steps[names.index("Read the stored state")], steps[names.index("terraform plan")]
    review_step, fail_step = steps[names.index("Review the plan")], steps[names.index("Fail when the plan failed")]
    assert names.index("Post or update the review comment") < names.index("Fail when the plan failed")
    assert fail_step["if"] == "steps.state.outputs.status != '0' || steps.plan.outputs.status != '0'"
    assert (state_step["id"], plan_step["id"], plan_step["if"]) == ("state", "plan", "steps.state.outputs.status == '0'")
    # Also after an earlier step failed, so no previous commit's review stands (not for forks: no token to post with).
    comment_step = steps[names.index("Post or update the review comment")]
    for step in (review_step, comment_step):
        assert step["if"] == "always() && github.event.pull_request.head.repo.full_name == github.repository", step["name"]
    bin_dir, stack_dir, output = tmp_path / "bin", tmp_path / "stack", tmp_path / "github-output"
    bin_dir.mkdir()
    stack_dir.mkdir()
    fake = bin_dir / "terraform"
    fake.write_text(
        '#!/bin/sh\ncase "$1" in\n  init) echo Initializing ;;\n  state) echo "{}" ;;\n'
        "  plan) echo 'Error: Failed to get existing workspaces: S3 bucket \"acme\" does not exist.' >&2; exit 1 ;;\n"
        "  *) exit 1 ;;\nesac\n"
    )
    fake.chmod(0o755)
    env = {**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}", "GITHUB_OUTPUT": str(output), "STACK_DIR": str(stack_dir)}
    for step in (state_step, plan_step):
        ran = subprocess.run(["bash", "-e", "-c", step["run"]], cwd=stack_dir, env=env, capture_output=True, text=True)
        assert ran.returncode == 0, ran.stderr  # each step records a failure instead of stopping the job
    assert output.read_text() == "status=0\nstatus=1\n"
    review = review_step["run"].replace(".venv/bin/python", sys.executable)
    review_env = {**env, **review_step["env"], "PYTHONPATH": str(PROJECT_ROOT)}
    # What GitHub puts in: the step's output above, and the run's address.
    review_env.update(
        PLAN_STATUS="1", TESTS_RESULT="success", GITHUB_SERVER_URL="https://github.com", GITHUB_REPOSITORY="acme/app", GITHUB_RUN_ID="7"
    )
    ran = subprocess.run(["bash", "-e", "-c", review], cwd=tmp_path, env=review_env, capture_output=True, text=True)
    assert ran.returncode == 0, ran.stderr
    comment = (tmp_path / "plan-review.md").read_text()
    assert comment.startswith("<!-- plan-review -->\n## Terraform plan review\n\n### :x: The plan failed")
    assert 'S3 bucket "acme" does not exist.' in comment and "No risks flagged" not in comment
    assert comment.rstrip().endswith("https://github.com/acme/app/actions/runs/7")


def test_a_refused_state_fails_its_step_and_the_review_says_why_instead_of_reviewing_a_plan(synth, tmp_path):
    """The check's own shell with another stack's state: the step fails (so nothing plans after
    it), and the review comment quotes the refusal."""
    steps = _plan_job_steps()
    names = [s.get("name") for s in steps]
    owner_step, review_step = steps[names.index("Refuse a state this stack never wrote")], steps[names.index("Review the plan")]
    stack_dir = tmp_path / "stack"
    stack_dir.mkdir()
    (stack_dir / "cdk.tf.json").write_text(synth.text)
    resources = [{"mode": "managed", "type": "aws_instance", "name": "web", "instances": []}]
    (stack_dir / "stored-state.json").write_text(json.dumps({"version": 4, "resources": resources}))
    env = {**os.environ, **owner_step["env"], "STACK_DIR": str(stack_dir), "PYTHONPATH": str(PROJECT_ROOT)}
    run = owner_step["run"].replace(".venv/bin/python", sys.executable)
    ran = subprocess.run(["bash", "-e", "-c", run], cwd=tmp_path, env=env, capture_output=True, text=True)
    assert ran.returncode == 5 and "none of them this stack's" in ran.stdout
    review_env = {**os.environ, **review_step["env"], "OWNER_OUTCOME": "failure", "TESTS_RESULT": "success", "PLAN_STATUS": "0"}
    review_env.update(GITHUB_SERVER_URL="https://github.com", GITHUB_REPOSITORY="acme/app", GITHUB_RUN_ID="9")
    ran = subprocess.run(["bash", "-e", "-c", review_step["run"]], cwd=tmp_path, env=review_env, capture_output=True, text=True)
    assert ran.returncode == 0, ran.stderr
    comment = (tmp_path / "plan-review.md").read_text()
    assert "### :x: The plan did not run: the stored state is not this stack's." in comment
    assert "`aws_instance.web`" in comment and "No risks flagged" not in comment


def test_failed_tests_post_a_review_saying_the_plan_did_not_run_and_fail_the_plan_job(tmp_path):
    steps = _plan_job_steps()
    names = [s.get("name") for s in steps]
    stop = steps[names.index("Stop when make test failed")]
    assert stop["if"] == "needs.test.result != 'success'" and "exit 1" in stop["run"]
    assert names.index("Stop when make test failed") < names.index("Synthesize")
    review_step = steps[names.index("Review the plan")]
    env = {**os.environ, **review_step["env"], "TESTS_RESULT": "failure", "GITHUB_SERVER_URL": "https://github.com"}
    env.update(GITHUB_REPOSITORY="acme/app", GITHUB_RUN_ID="8")
    ran = subprocess.run(["bash", "-e", "-c", review_step["run"]], cwd=tmp_path, env=env, capture_output=True, text=True)
    assert ran.returncode == 0, ran.stderr
    comment = (tmp_path / "plan-review.md").read_text()
    assert comment.startswith(
        "<!-- plan-review -->\n## Terraform plan review\n\n### :x: The plan did not run: `make test` did not pass (failure)."
    )
    assert review_step["env"]["TESTS_RESULT"] == "${{ needs.test.result }}"


def test_a_state_this_stack_never_wrote_stops_the_apply_and_fails_the_plan_job():
    """review/state_owner.py between reading the stored state and using it: the step that reads
    the state plans nothing, and every step that plans or applies comes after the check (which
    fails its step, so those later steps do not run)."""
    for workflow in ("deploy.yml", "pull-request.yml"):
        (job,) = [j for j in _jobs(workflow).values() if any("state_owner" in s.get("run", "") for s in j["steps"])]
        runs = [s.get("run", "") for s in job["steps"]]
        reads = next(i for i, run in enumerate(runs) if "terraform state pull > stored-state.json" in run)
        check = next(i for i, run in enumerate(runs) if "review.state_owner" in run)
        uses = [i for i, run in enumerate(runs) if re.search(r"terraform (plan|apply)\b", run)]
        assert uses and reads < check < min(uses), workflow
        assert "always()" not in " ".join(str(job["steps"][i].get("if", "")) for i in uses), workflow
