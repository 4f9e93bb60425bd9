"""SPEC 5 (CloudFront): HTTPS for viewers, OAC, the bucket's REST endpoint as origin."""

from __future__ import annotations

from cdktf import Testing


def test_viewers_are_redirected_to_https(synth):
    behavior = synth.at("cdn/distribution")["default_cache_behavior"]
    assert behavior["viewer_protocol_policy"] in ("redirect-to-https", "https-only")
    assert behavior["allowed_methods"] == ["GET", "HEAD"]


def test_origin_is_the_bucket_rest_endpoint_signed_by_an_origin_access_control(synth):
    bucket = synth.bucket_address(object_lock=True)
    oac = synth.name_at("cdn/origin-access-control")
    distribution = synth.at("cdn/distribution")
    (origin,) = distribution["origin"]
    # The regional REST endpoint: a website endpoint cannot use OAC.
    assert origin["domain_name"] == f"${{aws_s3_bucket.{bucket}.bucket_regional_domain_name}}"
    assert origin["origin_access_control_id"] == f"${{aws_cloudfront_origin_access_control.{oac}.id}}"
    assert "s3_origin_config" not in origin and "custom_origin_config" not in origin
    # No origin group: failing over to the same bucket through the same OAC is only a retry.
    assert "origin_group" not in distribution
    assert distribution["default_cache_behavior"]["target_origin_id"] == origin["origin_id"]
    assert Testing.to_have_resource_with_properties(
        synth.text,
        "aws_cloudfront_origin_access_control",
        {"origin_access_control_origin_type": "s3", "signing_behavior": "always", "signing_protocol": "sigv4"},
    )


def test_distribution_is_enabled_with_default_certificate(synth):
    distribution = synth.at("cdn/distribution")
    assert distribution["enabled"] is True
    assert distribution["viewer_certificate"] == {"cloudfront_default_certificate": True}


def test_responses_carry_security_headers_and_embargoed_countries_are_refused(synth):
    distribution = synth.at("cdn/distribution")
    policy_address = synth.name_at("cdn/security-headers")
    assert distribution["default_cache_behavior"]["response_headers_policy_id"] == (
        f"${{aws_cloudfront_response_headers_policy.{policy_address}.id}}"
    )
    headers = synth.at("cdn/security-headers")["security_headers_config"]
    assert headers["strict_transport_security"]["access_control_max_age_sec"] >= 31536000
    assert headers["frame_options"]["frame_option"] == "DENY"
    assert headers["content_type_options"] == {"override": True}
    assert distribution["restrictions"]["geo_restriction"] == {"restriction_type": "blacklist", "locations": ["CU", "IR", "KP", "SY"]}


def test_viewers_and_the_api_sit_behind_waf_with_log4j_and_rate_rules(synth):
    acls = {a["scope"]: (address, a) for address, a in synth.resources("aws_wafv2_web_acl").items()}
    assert set(acls) == {"CLOUDFRONT", "REGIONAL"}
    address, _ = acls["CLOUDFRONT"]
    assert synth.at("cdn/distribution")["web_acl_id"] == f"${{aws_wafv2_web_acl.{address}.arn}}"
    address, _ = acls["REGIONAL"]
    stage = synth.name_at("api/stage")
    association = synth.at("api/web-acl")
    assert (association["resource_arn"], association["web_acl_arn"]) == (
        f"${{aws_api_gateway_stage.{stage}.arn}}",
        f"${{aws_wafv2_web_acl.{address}.arn}}",
    )
    for _, acl in acls.values():
        groups = {
            r["statement"]["managed_rule_group_statement"]["name"] for r in acl["rule"] if "managed_rule_group_statement" in r["statement"]
        }
        assert {"AWSManagedRulesKnownBadInputsRuleSet", "AWSManagedRulesCommonRuleSet"} <= groups
        assert any("rate_based_statement" in r["statement"] for r in acl["rule"])
    assert len(synth.resources("aws_wafv2_web_acl_logging_configuration")) == 2


def test_api_waf_lets_bodies_up_to_the_handlers_limit_through(synth):
    """The common rule set blocks bodies over 8 KB; the handler takes more (tests/constructs_lib/test_waf.py)."""

    def counted(scope):
        (acl,) = [a for a in synth.resources("aws_wafv2_web_acl").values() if a["scope"] == scope]
        (common,) = [r for r in acl["rule"] if r["name"] == "AWSManagedRulesCommonRuleSet"]
        overrides = common["statement"]["managed_rule_group_statement"].get("rule_action_override") or []
        return {o["name"] for o in overrides if "count" in o["action_to_use"]}

    assert "SizeRestrictions_BODY" in counted("REGIONAL")
    assert "SizeRestrictions_BODY" not in counted("CLOUDFRONT")  # GET only: no bodies to let through


def test_access_logs_are_delivered_to_the_log_bucket(synth):
    distribution = synth.name_at("cdn/distribution")
    logs = synth.bucket_address(object_lock=False)
    source = synth.at("cdn/log-source")
    assert (source["log_type"], source["resource_arn"]) == ("ACCESS_LOGS", f"${{aws_cloudfront_distribution.{distribution}.arn}}")
    (target,) = synth.at("cdn/log-destination")["delivery_destination_configuration"]
    assert target["destination_resource_arn"] == f"${{aws_s3_bucket.{logs}.arn}}/cloudfront"
    delivery = synth.at("cdn/log-delivery")
    assert delivery["delivery_source_name"] == f"${{{synth.address_at('cdn/log-source')}.name}}"
    policy = synth.referenced(synth.on_bucket("aws_s3_bucket_policy", logs)["policy"])
    write = next(s for s in policy["statement"] if s["sid"] == "LogDeliveryWrite")
    # Only this distribution's delivery source, by its ARN attribute (not an ARN built by hand).
    source_arn = f"${{{synth.address_at('cdn/log-source')}.arn}}"
    for statement in (write, next(s for s in policy["statement"] if s["sid"] == "LogDeliveryAclCheck")):
        assert {"test": "ArnLike", "variable": "aws:SourceArn", "values": [source_arn]} in statement["condition"]
    assert write["principals"] == [{"type": "Service", "identifiers": ["delivery.logs.amazonaws.com"]}]
    assert write["resources"] == [f"${{aws_s3_bucket.{logs}.arn}}/cloudfront/*"]


def test_apply_waits_for_the_distribution_unless_the_setting_says_not_to(synth):
    assert synth.at("cdn/distribution")["wait_for_deployment"] is True
    from stacks.settings import StackSettings

    settings = StackSettings.load(environ={"STATE_BACKEND": "local", "CDN_WAIT_FOR_DEPLOYMENT": "false"})
    assert settings.cdn_wait_for_deployment is False
