"""SPEC 5 (CloudFront): HTTPS for viewers, OAC, the bucket's REST endpoint as origin."""

from __future__ import annotations

from cdktf import Testing


def test_viewers_are_redirected_to_https(synth):
    behavior = synth.only("aws_cloudfront_distribution")["default_cache_behavior"]
    assert behavior["viewer_protocol_policy"] in ("redirect-to-https", "https-only")
    assert behavior["allowed_methods"] == ["GET", "HEAD"]


def test_origin_is_the_bucket_rest_endpoint_signed_by_an_origin_access_control(synth):
    bucket = synth.bucket_address(object_lock=True)
    (oac,) = synth.resources("aws_cloudfront_origin_access_control")
    (origin,) = synth.only("aws_cloudfront_distribution")["origin"]
    # The regional REST endpoint: a website endpoint cannot use OAC.
    assert origin["domain_name"] == f"${{aws_s3_bucket.{bucket}.bucket_regional_domain_name}}"
    assert origin["origin_access_control_id"] == f"${{aws_cloudfront_origin_access_control.{oac}.id}}"
    assert "s3_origin_config" not in origin and "custom_origin_config" not in origin
    assert Testing.to_have_resource_with_properties(
        synth.text,
        "aws_cloudfront_origin_access_control",
        {"origin_access_control_origin_type": "s3", "signing_behavior": "always", "signing_protocol": "sigv4"},
    )


def test_distribution_is_enabled_with_default_certificate(synth):
    distribution = synth.only("aws_cloudfront_distribution")
    assert distribution["enabled"] is True
    assert distribution["viewer_certificate"] == {"cloudfront_default_certificate": True}


def test_responses_carry_security_headers_and_embargoed_countries_are_refused(synth):
    distribution = synth.only("aws_cloudfront_distribution")
    # AWS managed "Managed-SecurityHeadersPolicy".
    assert distribution["default_cache_behavior"]["response_headers_policy_id"] == "67f7725c-6f97-4210-82d7-5512b31e9d03"
    assert distribution["restrictions"]["geo_restriction"] == {"restriction_type": "blacklist", "locations": ["CU", "IR", "KP", "SY"]}
