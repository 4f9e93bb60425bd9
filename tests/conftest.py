"""Session fixtures: one synth (`python main.py`), one terraform init, one emulator.

The synth runs the real entry point in a subprocess with no AWS credentials, so every synth
assertion also proves that `python main.py` works offline; it uses the local backend so that
`terraform init` needs no state bucket.
"""

from __future__ import annotations

from runners import terraform_cli
from synth import provider_fastpath

# Before anything imports cdktf (its node process copies the environment when it starts),
# and before any test imports a provider module.
terraform_cli.configure()
provider_fastpath.install()

import json  # noqa: E402
import shutil  # noqa: E402
from dataclasses import dataclass  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

import pytest  # noqa: E402

from dev_tools import app  # noqa: E402
from local_cloud.emulator import MotoServer  # noqa: E402
from review.plan_review import construct_paths  # noqa: E402
from runners.terraform_runner import ProviderServer, Terraform  # noqa: E402
from stacks.facts import STACK_NAME  # noqa: E402

VALID_INPUTS = {"AlertEmail": "ops@example.com"}


# Fixtures that start the emulator or terraform: a test using one is `slow` (make test-unit skips it).
SLOW_FIXTURES = {
    "emulator",
    "provider",
    "terraform",
    "valid_plan",
    "longest_prefix_plan",
    "variables_only",
    "bad_value_plans",
    "bootstrap_dir",
    "workspace",
    "deployment",
    "chain",
    "locked_out",
}


# Session plans of the whole stack, shared by tests in several files.
SHARED_PLANS = {"terraform", "valid_plan", "longest_prefix_plan"}


# tryfirst: before xdist reads the xdist_group marks in its own hook.
@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        fixtures = set(getattr(item, "fixturenames", ()))
        if SLOW_FIXTURES & fixtures:
            item.add_marker(pytest.mark.slow)
            # Parallel runs (make test: --dist loadgroup) keep the tests that share an expensive
            # fixture on one worker, so it is built once: the stack's plans, or a file's deployment.
            item.add_marker(pytest.mark.xdist_group("stack-plans" if SHARED_PLANS & fixtures else item.module.__name__))


@dataclass(frozen=True)
class Synth:
    outdir: Path
    stack_dir: Path
    text: str  # cdk.tf.json as written, for cdktf's Testing matchers

    @property
    def json(self) -> dict[str, Any]:
        return json.loads(self.text)

    def resources(self, resource_type: str) -> dict[str, dict[str, Any]]:
        return self.json["resource"].get(resource_type, {})

    def address_at(self, path: str) -> str:
        """`type.name` of the resource at a construct path below the stack (`items/table`): tests
        find a resource by what it is, so a second one of its type breaks none of them."""
        wanted = f"{STACK_NAME}/{path}"
        found = [address for address, at in construct_paths(self.json).items() if at == wanted]
        if len(found) != 1:
            raise LookupError(f"{len(found)} resources at {wanted}")
        return found[0]

    def name_at(self, path: str) -> str:
        return self.address_at(path).split(".", 1)[1]

    def at(self, path: str) -> dict[str, Any]:
        kind, name = self.address_at(path).split(".", 1)
        return self.json["resource"][kind][name]

    def data(self, data_type: str) -> dict[str, dict[str, Any]]:
        return self.json["data"].get(data_type, {})

    def bucket_address(self, object_lock: bool) -> str:
        """The data bucket (Object Lock) or the log bucket (no Object Lock): its name."""
        return self.name_at("data/bucket" if object_lock else "logs/bucket")

    def on_bucket(self, resource_type: str, bucket_address: str) -> dict[str, Any]:
        """The one resource of a type that configures the given bucket."""
        (config,) = [c for c in self.resources(resource_type).values() if c["bucket"] == f"${{aws_s3_bucket.{bucket_address}.id}}"]
        return config

    def referenced(self, expression: str) -> dict[str, Any]:
        """What a reference such as ${aws_x.name.arn} or ${data.aws_y.name.json} points at."""
        parts = expression.removeprefix("${").removesuffix("}").split(".")
        if parts[0] == "data":
            return self.data(parts[1])[parts[2]]
        return self.resources(parts[0])[parts[1]]


def run_main(outdir: Path, **env: str) -> Path:
    """`python main.py` with the local backend, no AWS_* variables and every setting at its default
    unless a test names it; the stack's folder."""
    return app.synthesize(outdir, **env)


@pytest.fixture(scope="session")
def synth(tmp_path_factory: pytest.TempPathFactory) -> Synth:
    outdir = tmp_path_factory.mktemp("cdktf.out")
    stack_dir = run_main(outdir)
    return Synth(outdir, stack_dir, (stack_dir / "cdk.tf.json").read_text())


@pytest.fixture(scope="session")
def emulator(tmp_path_factory: pytest.TempPathFactory):
    with MotoServer(log_path=tmp_path_factory.mktemp("moto") / "moto.log") as server:
        yield server


@pytest.fixture(scope="session")
def provider(emulator: MotoServer, synth: Synth, tmp_path_factory: pytest.TempPathFactory):
    """One AWS provider process for this worker's terraform commands on its emulator
    (runners/terraform_runner.ProviderServer): a plan then takes a quarter of the CPU time. Its
    version is the one the synthesized stack requires (an attached provider skips that check)."""
    version = synth.json["terraform"]["required_providers"]["aws"]["version"]
    with ProviderServer(emulator.client_env(), version, tmp_path_factory.mktemp("provider") / "provider.log") as server:
        yield server


@pytest.fixture(scope="session")
def terraform(synth: Synth, emulator: MotoServer, provider: ProviderServer, tmp_path_factory: pytest.TempPathFactory) -> Terraform:
    # A copy, so the synthesized folder stays exactly what `python main.py` wrote.
    workdir = tmp_path_factory.mktemp("terraform") / STACK_NAME
    shutil.copytree(synth.stack_dir, workdir)
    runner = Terraform(workdir, emulator.client_env(), provider)
    runner.init()
    return runner


@pytest.fixture(scope="session")
def valid_plan(terraform: Terraform) -> dict[str, Any]:
    result = terraform.plan(VALID_INPUTS, plan_file="valid.plan")
    assert result.returncode == 0, result.errors
    return result.plan


@pytest.fixture(scope="session")
def longest_prefix_plan(terraform: Terraform) -> dict[str, Any]:
    """A plan with the longest ResourcePrefix the validation accepts: every name at its longest."""
    from constructs_lib.naming import MAX_PREFIX_LENGTH

    result = terraform.plan({**VALID_INPUTS, "ResourcePrefix": "p" * MAX_PREFIX_LENGTH}, plan_file="longest.plan")
    assert result.returncode == 0, result.errors
    return result.plan
