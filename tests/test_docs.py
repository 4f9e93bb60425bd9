"""The docs cite tests as proof: every test and file they name exists, so a rename cannot leave
a control claiming a proof that is gone; every link they make resolves inside the repository;
and every generated table and the diagram equal what the code renders now (terraform-docs
style: change a default, run `make docs`)."""

from __future__ import annotations

import copy
import dataclasses
import json
import re
from pathlib import Path

import pytest

from dev_tools import docs
from stacks.facts import PROJECT_ROOT

DOCS = docs.doc_files()


TEST_FILES = sorted((PROJECT_ROOT / "tests").rglob("test_*.py"))


def _known_names() -> set[str]:
    """Test functions, and test modules (cited by file name)."""
    functions = {name for source in TEST_FILES for name in re.findall(r"^def (test_\w+)", source.read_text(), flags=re.MULTILINE)}
    return functions | {source.stem for source in TEST_FILES}


def _id(path: Path) -> str:
    return str(path.relative_to(PROJECT_ROOT))


def test_the_docs_are_the_readme_and_every_page_under_docs():
    assert PROJECT_ROOT / "README.md" in DOCS
    assert set(DOCS) - {PROJECT_ROOT / "README.md"} == set((PROJECT_ROOT / "docs").rglob("*.md"))


@pytest.mark.parametrize("doc", DOCS, ids=_id)
def test_every_cited_test_exists(doc):
    cited = set(re.findall(r"\b(test_[a-z0-9_]+)\b", doc.read_text()))
    assert cited - _known_names() == set()


@pytest.mark.parametrize("doc", DOCS, ids=_id)
def test_every_cited_repository_path_exists(doc):
    paths = set(
        re.findall(
            r"`((?:tests|constructs_lib|stacks|review|local_cloud|runners|dev_tools|handler|docs|synth|\.github)/[\w./-]+?)(?:::\w+)?`",
            doc.read_text(),
        )
    )
    assert {p for p in paths if not (PROJECT_ROOT / p).exists()} == set()


# ---- links -------------------------------------------------------------------------------------

_FENCE = re.compile(r"^(```|~~~).*?^\1[ \t]*$", flags=re.MULTILINE | re.DOTALL)
_LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")


def _prose(text: str) -> str:
    """Markdown without its fenced code blocks (whose `#` lines are no headings)."""
    return _FENCE.sub("", text)


def _slug(heading: str) -> str:
    """GitHub's anchor for a heading: lowercase, punctuation dropped, spaces to hyphens."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def _anchors(path: Path) -> set[str]:
    seen: dict[str, int] = {}
    anchors = set()
    for heading in re.findall(r"^#{1,6} (.+?)#*$", _prose(path.read_text()), flags=re.MULTILINE):
        slug = _slug(heading)
        anchors.add(slug if slug not in seen else f"{slug}-{seen[slug]}")
        seen[slug] = seen.get(slug, 0) + 1
    return anchors


def test_github_anchors_are_computed_as_github_does():
    assert _slug("Local emulator (`make up`)") == "local-emulator-make-up"
    assert _slug("The Lambda runtime (nodejs14.x)") == "the-lambda-runtime-nodejs14x"
    assert _slug("1. Bootstrap the state bucket, once per account") == "1-bootstrap-the-state-bucket-once-per-account"


@pytest.mark.parametrize("doc", DOCS, ids=_id)
def test_every_relative_link_resolves_inside_the_repository(doc):
    broken = []
    for target in _LINK.findall(_prose(doc.read_text())):
        if re.match(r"^[a-z]+:", target):  # https:, mailto:
            continue
        file_part, _, anchor = target.partition("#")
        resolved = (doc.parent / file_part).resolve() if file_part else doc
        if not resolved.is_relative_to(PROJECT_ROOT) or not resolved.exists():
            broken.append(f"{target}: no such file in the repository")
        elif anchor and resolved.suffix == ".md" and anchor not in _anchors(resolved):
            broken.append(f"{target}: no heading #{anchor} in {resolved.name}")
    assert broken == []


def test_the_readme_does_not_point_outside_the_repository():
    # The requirements live in docs/requirements.md: users of the project have nothing beside it.
    assert "SPEC.md" not in (PROJECT_ROOT / "README.md").read_text()


# ---- generated blocks --------------------------------------------------------------------------


def test_generated_docs_match_the_code(synth):
    stale = docs.check(synth.json)
    assert stale == [], (
        "generated docs differ from what the code renders: "
        + "; ".join(str(s) for s in stale)
        + ". Run `make docs` (python -m dev_tools.docs) and commit the result."
    )


def _changed_blocks(before: dict[str, str], after: dict[str, str]) -> set[str]:
    return {name for name in before if before[name] != after[name]}


# The drift test's own mutation checks: each change to a source changes exactly its block's
# rendering (compared with the unchanged code, so they hold even while the committed docs are
# stale), and `check` then reports the file holding it.


def test_changing_a_setting_default_makes_the_settings_table_stale(synth, monkeypatch):
    from stacks import settings

    before = docs.render_all(synth.json)
    changed = tuple(dataclasses.replace(s, default=s.default + "0") if s.env == "OBJECT_LOCK_DAYS" else s for s in settings.SETTINGS)
    monkeypatch.setattr(settings, "SETTINGS", changed)
    assert _changed_blocks(before, docs.render_all(synth.json)) == {"settings"}
    assert any(s.path.name == "settings.md" and "settings" in s.blocks for s in docs.check(synth.json))


def test_changing_an_input_or_output_makes_its_table_stale(synth):
    stack = copy.deepcopy(synth.json)
    stack["variable"]["DynamoDbReadCapacity"]["default"] = 7
    stack["output"]["table_name"]["description"] = "another description"
    assert _changed_blocks(docs.render_all(synth.json), docs.render_all(stack)) == {"inputs", "outputs"}
    assert any(s.path.name == "settings.md" and {"inputs", "outputs"} <= set(s.blocks) for s in docs.check(stack))


def test_a_new_resource_changes_the_resource_diagram_not_the_service_one(synth):
    stack = copy.deepcopy(synth.json)
    stack["resource"]["aws_sqs_queue"] = {"extra_queue_1": {"//": {"metadata": {"path": "data-processing/data/queue"}}, "name": "x"}}
    assert _changed_blocks(docs.render_all(synth.json), docs.render_all(stack)) == {"architecture"}
    assert any(s.path.name == "architecture.md" and "architecture" in s.blocks for s in docs.check(stack))


def test_the_service_diagram_refuses_a_construct_it_does_not_place_and_an_arrow_the_stack_lacks(synth):
    """Each arrow of the README's picture stands for a reference in the stack: drop the function's
    reference to the table (its environment), and the picture cannot be rendered any more."""
    stack = copy.deepcopy(synth.json)
    stack["resource"]["aws_sqs_queue"] = {"extra_queue_1": {"//": {"metadata": {"path": "data-processing/extra/queue"}}, "name": "x"}}
    with pytest.raises(docs.DocsError, match=r"place the constructs \['extra'\]"):
        docs.render_services(stack)
    stack = copy.deepcopy(synth.json)
    (function,) = stack["resource"]["aws_lambda_function"].values()
    function["environment"]["variables"] = {k: v for k, v in function["environment"]["variables"].items() if "dynamodb" not in v}
    for name, policy in stack["data"].get("aws_iam_policy_document", {}).items():
        stack["data"]["aws_iam_policy_document"][name] = {k: v for k, v in policy.items() if "dynamodb" not in json.dumps(v)}
    for kind in [k for k in stack["resource"] if k.startswith("aws_iam")]:
        for config in stack["resource"][kind].values():
            for key in [k for k, v in config.items() if "aws_dynamodb_table" in json.dumps(v)]:
                del config[key]
    with pytest.raises(docs.DocsError, match=r"function -> table \(GetItem\) has no reference behind it"):
        docs.render_services(stack)


def test_the_cli_check_agrees_with_the_drift_test(synth, capsys):
    stale = docs.check(synth.json)
    assert docs.main(["--check", "--stack-dir", str(synth.stack_dir)]) == (1 if stale else 0)
    out = capsys.readouterr().out
    assert ("run `make docs`" in out) if stale else ("docs up to date" in out)


def test_rewrite_replaces_only_the_generated_block():
    text = "before\n<!-- BEGIN GENERATED: a -->\nold\n<!-- END GENERATED: a -->\nafter\n"
    new, changed = docs.rewrite(text, {"a": "new"})
    assert new == "before\n<!-- BEGIN GENERATED: a -->\nnew\n<!-- END GENERATED: a -->\nafter\n"
    assert changed == ["a"]
    assert docs.rewrite(new, {"a": "new"}) == (new, [])


@pytest.mark.parametrize(
    "text",
    [
        "<!-- BEGIN GENERATED: unknown -->\n<!-- END GENERATED: unknown -->\n",
        "<!-- BEGIN GENERATED: a -->\nno end\n",
        "<!-- BEGIN GENERATED: a -->\n<!-- END GENERATED: b -->\n",
    ],
)
def test_unknown_or_unpaired_markers_are_errors(text):
    with pytest.raises(docs.DocsError):
        docs.rewrite(text, {"a": "x", "b": "y"})


def test_every_skipped_check_has_exactly_one_reason(tmp_path):
    config = tmp_path / "checkov.yaml"
    reasons = tmp_path / "reasons.yaml"
    config.write_text("skip-check:\n  - CKV_A\n  - CKV_B\n")
    reasons.write_text("CKV_A: {wants: a, reason: because}\nCKV_C: {wants: c, reason: because}\n")
    with pytest.raises(docs.DocsError, match=r"without a reason in reasons.yaml: CKV_B.*not skipped in checkov.yaml: CKV_C"):
        docs.checkov_skips(config, reasons)
    reasons.write_text("CKV_B: {wants: b, reason: why}\nCKV_A: {wants: a, reason: because}\n")
    assert docs.checkov_skips(config, reasons) == [("CKV_A", "a", "because"), ("CKV_B", "b", "why")]


def test_the_skipped_checks_table_lists_every_skip_in_the_checkov_config():
    import yaml

    skipped = yaml.safe_load(docs.CHECKOV_CONFIG.read_text())["skip-check"]
    assert [check for check, _, _ in docs.checkov_skips()] == skipped


# ---- the diagram -------------------------------------------------------------------------------


def _diagram(stack) -> str:
    return docs.render_architecture(stack)


def _nodes_and_edges(diagram: str) -> tuple[dict[str, str], set[tuple[str, str, str]]]:
    nodes = dict(re.findall(r"^\s+(r_\w+)\[\"(.*)\"\]$", diagram, flags=re.MULTILINE))
    edges = set(re.findall(r"^\s+(r_\w+) (-->|-\.->) (r_\w+)$", diagram, flags=re.MULTILINE))
    return nodes, {(s, arrow, t) for s, arrow, t in edges}


def test_the_diagram_is_deterministic(synth):
    stack = synth.json
    shuffled = json.loads(json.dumps(stack, sort_keys=True))
    shuffled["resource"] = dict(reversed(list(shuffled["resource"].items())))
    assert _diagram(stack) == _diagram(stack) == _diagram(shuffled)


def test_the_diagram_draws_every_resource_in_its_constructs_box(synth):
    diagram = _diagram(synth.json)
    nodes, edges = _nodes_and_edges(diagram)
    assert {s for s, _, _ in edges} | {t for _, _, t in edges} <= set(nodes)
    labels = " ".join(nodes.values())
    for resource_type, named in synth.json["resource"].items():
        for config in named.values():
            construct, _, local = config["//"]["metadata"]["path"].split("/", 1)[1].partition("/")
            assert f'subgraph c_{re.sub(r"[^A-Za-z0-9_]", "_", construct)}["{construct}"]' in diagram
            assert local in labels, f"{resource_type} {local} is not drawn"
    # Data sources, variables and providers are not drawn.
    assert "aws_iam_policy_document" not in diagram and "var." not in diagram and "provider" not in diagram


def test_the_diagram_draws_references_and_folds_policy_documents_into_their_consumer(synth):
    nodes, edges = _nodes_and_edges(_diagram(synth.json))
    by_label = {label.split("<br/>")[0]: node for node, label in nodes.items()}

    def node(construct: str, local: str) -> str:
        return docs._node_id(f"{construct}/{local}")

    # The function references the table (its environment), the role policy reaches it through
    # its policy document, the distribution reads the data bucket.
    assert (node("processor", "function"), "-->", node("items", "table")) in edges
    assert (node("processor", "role/policy-0"), "-->", node("items", "table")) in edges
    assert (node("cdn", "distribution"), "-->", node("data", "bucket")) in edges
    # The stage waits for the region's API Gateway account setting without referencing it.
    assert (node("api", "stage"), "-.->", node("api-logging", "account")) in edges
    assert "function" in by_label and "table" in by_label


def test_a_resource_only_configuring_another_is_drawn_inside_it():
    def resource(path: str, **config):
        return {"//": {"metadata": {"path": f"data-processing/{path}"}}, **config}

    stack = {
        "resource": {
            "aws_s3_bucket": {"b": resource("store/bucket")},
            "aws_s3_bucket_versioning": {"v": resource("store/versioning", bucket="${aws_s3_bucket.b.id}")},
            "aws_lambda_function": {"f": resource("fn/function", environment={"B": "${aws_s3_bucket.b.bucket}"})},
        },
        "data": {"aws_caller_identity": {"me": resource("account")}},
    }
    diagram = _diagram(stack)
    nodes, edges = _nodes_and_edges(diagram)
    assert nodes == {
        "r_fn__function": "function<br/>aws_lambda_function",
        "r_store__bucket": "bucket<br/>aws_s3_bucket<br/>+ versioning",
    }
    assert edges == {("r_fn__function", "-->", "r_store__bucket")}


def test_the_alarm_and_permission_tables_follow_the_synth(synth):
    """A new alarm, or a statement widened, shows in docs/security.md's rendered tables."""
    stack = copy.deepcopy(synth.json)
    (alarm,) = [a for a in stack["resource"]["aws_cloudwatch_metric_alarm"].values() if a["metric_name"] == "Throttles"]
    stack["resource"]["aws_cloudwatch_metric_alarm"]["extra"] = {
        **alarm,
        "alarm_name": "${var.ResourcePrefix}-duration",
        "metric_name": "Duration",
    }
    for document in stack["data"]["aws_iam_policy_document"].values():
        for statement in document.get("statement", []):
            if statement.get("sid") == "ReadItems":
                statement["actions"] = [*statement["actions"], "dynamodb:Scan"]
    assert {"alarms", "function-permissions"} <= _changed_blocks(docs.render_all(synth.json), docs.render_all(stack))
    assert "`<prefix>-duration`" in docs.render_alarms(stack) and "`dynamodb:Scan`" in docs.render_function_permissions(stack)


def test_the_permission_table_shows_every_policy_attached_to_the_function_role(synth):
    """Through the role's attachments: an AWS-managed policy attached beside the stack's own shows."""
    stack = copy.deepcopy(synth.json)
    (attachment,) = [a for a in stack["resource"]["aws_iam_role_policy_attachment"].values() if "processor" in a["//"]["metadata"]["path"]]
    stack["resource"]["aws_iam_role_policy_attachment"]["admin"] = {
        **attachment,
        "policy_arn": "arn:aws:iam::aws:policy/AdministratorAccess",
    }
    assert "`arn:aws:iam::aws:policy/AdministratorAccess`" in docs.render_function_permissions(stack)
    assert "AdministratorAccess" not in docs.render_function_permissions(synth.json)
