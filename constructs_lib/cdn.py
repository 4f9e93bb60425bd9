"""A CloudFront distribution that serves a private S3 bucket over HTTPS through an OAC.

The origin is the bucket's REST endpoint (a website endpoint cannot use Origin Access Control);
the distribution adds the one grant the bucket needs to its policy: only this distribution reads
its objects. Access logs are delivered by CloudWatch log delivery (CloudFront's standard logging
v2) into a log bucket, which needs no ACLs, unlike legacy logging; the distribution adds log
delivery's grants, for its own delivery source only, to that bucket's policy. Responses carry security headers: a response
headers policy of its own (`own_security_headers`), or AWS's managed SecurityHeadersPolicy.
Viewers in embargoed countries are refused. There is one origin and no origin group: failing
over to the same bucket would only be a retry, and a second bucket would need replication.
"""

from __future__ import annotations

from dataclasses import dataclass

from cdktf_cdktf_provider_aws.cloudfront_distribution import (
    CloudfrontDistribution,
    CloudfrontDistributionDefaultCacheBehavior,
    CloudfrontDistributionOrigin,
    CloudfrontDistributionRestrictions,
    CloudfrontDistributionRestrictionsGeoRestriction,
    CloudfrontDistributionViewerCertificate,
)
from cdktf_cdktf_provider_aws.cloudfront_origin_access_control import CloudfrontOriginAccessControl
from cdktf_cdktf_provider_aws.cloudfront_response_headers_policy import (
    CloudfrontResponseHeadersPolicy,
    CloudfrontResponseHeadersPolicySecurityHeadersConfig,
    CloudfrontResponseHeadersPolicySecurityHeadersConfigContentTypeOptions,
    CloudfrontResponseHeadersPolicySecurityHeadersConfigFrameOptions,
    CloudfrontResponseHeadersPolicySecurityHeadersConfigReferrerPolicy,
    CloudfrontResponseHeadersPolicySecurityHeadersConfigStrictTransportSecurity,
    CloudfrontResponseHeadersPolicySecurityHeadersConfigXssProtection,
)
from cdktf_cdktf_provider_aws.cloudwatch_log_delivery import CloudwatchLogDelivery
from cdktf_cdktf_provider_aws.cloudwatch_log_delivery_destination import (
    CloudwatchLogDeliveryDestination,
    CloudwatchLogDeliveryDestinationDeliveryDestinationConfiguration,
)
from cdktf_cdktf_provider_aws.cloudwatch_log_delivery_source import CloudwatchLogDeliverySource
from constructs import Construct

from constructs_lib.account import caller_identity
from constructs_lib.data_bucket import SecureBucket
from constructs_lib.iam import Condition, Statement

# AWS managed policies are documented, global constant ids, so no lookup by name is needed (nor
# the List*Policies permission it takes in every plan): "Managed-CachingOptimized" and
# "Managed-SecurityHeadersPolicy" (HSTS, nosniff, frame denial, referrer policy, XSS filter).
CACHING_OPTIMIZED_POLICY_ID = "658327ea-f89d-4fab-a63d-7e88639e58f6"
SECURITY_HEADERS_POLICY_ID = "67f7725c-6f97-4210-82d7-5512b31e9d03"
ORIGIN_ID = "data-bucket"


@dataclass(frozen=True)
class AccessLogs:
    bucket: SecureBucket  # the distribution adds CloudWatch log delivery's grants to its policy
    prefix: str
    source_name: str
    destination_name: str


@dataclass(frozen=True)
class BucketDistributionProps:
    bucket: SecureBucket
    oac_name: str
    comment: str = "Processing results"
    viewer_protocol_policy: str = "redirect-to-https"
    price_class: str = "PriceClass_100"
    cache_policy_id: str = CACHING_OPTIMIZED_POLICY_ID
    headers_policy_name: str = ""
    # ISO 3166 country codes the distribution refuses (CloudFront geo restriction).
    blocked_countries: tuple[str, ...] = ()
    default_root_object: str = "index.html"
    web_acl_arn: str | None = None
    access_logs: AccessLogs | None = None
    # A response headers policy of this stack's own (HSTS with preload, nosniff, frame denial,
    # strict referrer policy); False uses AWS's managed SecurityHeadersPolicy instead.
    own_security_headers: bool = True
    # Whether `terraform apply` waits for the distribution to reach every edge location (AWS:
    # minutes). Nothing in the stack needs it deployed, only its domain name, known at once.
    wait_for_deployment: bool = True


class BucketDistribution(Construct):
    def __init__(self, scope: Construct, id_: str, props: BucketDistributionProps) -> None:
        super().__init__(scope, id_)
        if props.viewer_protocol_policy not in ("redirect-to-https", "https-only"):
            raise ValueError(f"{self.node.path}: viewers must use HTTPS, not {props.viewer_protocol_policy!r}")
        oac = CloudfrontOriginAccessControl(
            self,
            "origin-access-control",
            name=props.oac_name,
            description="Signs CloudFront's requests to the data bucket",
            origin_access_control_origin_type="s3",
            signing_behavior="always",
            signing_protocol="sigv4",
        )
        headers_policy_id = SECURITY_HEADERS_POLICY_ID
        if props.own_security_headers:
            headers_policy_id = CloudfrontResponseHeadersPolicy(
                self,
                "security-headers",
                name=props.headers_policy_name,
                comment="Security headers on every response",
                security_headers_config=CloudfrontResponseHeadersPolicySecurityHeadersConfig(
                    strict_transport_security=CloudfrontResponseHeadersPolicySecurityHeadersConfigStrictTransportSecurity(
                        access_control_max_age_sec=63072000, include_subdomains=True, preload=True, override=True
                    ),
                    content_type_options=CloudfrontResponseHeadersPolicySecurityHeadersConfigContentTypeOptions(override=True),
                    frame_options=CloudfrontResponseHeadersPolicySecurityHeadersConfigFrameOptions(frame_option="DENY", override=True),
                    referrer_policy=CloudfrontResponseHeadersPolicySecurityHeadersConfigReferrerPolicy(
                        referrer_policy="strict-origin-when-cross-origin", override=True
                    ),
                    xss_protection=CloudfrontResponseHeadersPolicySecurityHeadersConfigXssProtection(
                        protection=True, mode_block=True, override=True
                    ),
                ),
            ).id
        self.distribution = CloudfrontDistribution(
            self,
            "distribution",
            comment=props.comment,
            enabled=True,
            is_ipv6_enabled=True,
            http_version="http2and3",
            price_class=props.price_class,
            default_root_object=props.default_root_object,
            web_acl_id=props.web_acl_arn,
            wait_for_deployment=props.wait_for_deployment,
            origin=[
                CloudfrontDistributionOrigin(
                    origin_id=ORIGIN_ID,
                    domain_name=props.bucket.bucket.bucket_regional_domain_name,
                    origin_access_control_id=oac.id,
                )
            ],
            default_cache_behavior=CloudfrontDistributionDefaultCacheBehavior(
                target_origin_id=ORIGIN_ID,
                viewer_protocol_policy=props.viewer_protocol_policy,
                allowed_methods=["GET", "HEAD"],
                cached_methods=["GET", "HEAD"],
                cache_policy_id=props.cache_policy_id,
                response_headers_policy_id=headers_policy_id,
                compress=True,
            ),
            restrictions=CloudfrontDistributionRestrictions(
                geo_restriction=CloudfrontDistributionRestrictionsGeoRestriction(
                    restriction_type="blacklist" if props.blocked_countries else "none",
                    locations=list(props.blocked_countries) or None,
                )
            ),
            viewer_certificate=CloudfrontDistributionViewerCertificate(cloudfront_default_certificate=True),
        )
        # Only this distribution may read the bucket's objects.
        props.bucket.add_to_policy(
            Statement(
                sid="AllowCloudFrontRead",
                actions=["s3:GetObject"],
                resources=[props.bucket.objects_arn],
                principals={"Service": ["cloudfront.amazonaws.com"]},
                conditions=[Condition("StringEquals", "AWS:SourceArn", [self.distribution.arn])],
            )
        )
        if props.access_logs is not None:
            self._deliver_access_logs(props.access_logs)

    def _deliver_access_logs(self, logs: AccessLogs) -> None:
        source = CloudwatchLogDeliverySource(
            self, "log-source", name=logs.source_name, log_type="ACCESS_LOGS", resource_arn=self.distribution.arn
        )
        destination = CloudwatchLogDeliveryDestination(
            self,
            "log-destination",
            name=logs.destination_name,
            output_format="json",
            delivery_destination_configuration=[
                CloudwatchLogDeliveryDestinationDeliveryDestinationConfiguration(
                    destination_resource_arn=f"{logs.bucket.bucket.arn}/{logs.prefix.rstrip('/')}"
                )
            ],
        )
        # What CloudWatch log delivery needs on the log bucket, for this delivery source only.
        from_this_source = [
            Condition("StringEquals", "aws:SourceAccount", [caller_identity(self).account_id]),
            Condition("ArnLike", "aws:SourceArn", [source.arn]),
        ]
        service = {"Service": ["delivery.logs.amazonaws.com"]}
        logs.bucket.add_to_policy(
            Statement(
                sid="LogDeliveryWrite",
                actions=["s3:PutObject"],
                resources=[f"{logs.bucket.bucket.arn}/{logs.prefix}*"],
                principals=service,
                conditions=[Condition("StringEquals", "s3:x-amz-acl", ["bucket-owner-full-control"]), *from_this_source],
            ),
            Statement(
                sid="LogDeliveryAclCheck",
                actions=["s3:GetBucketAcl"],
                resources=[logs.bucket.bucket.arn],
                principals=service,
                conditions=from_this_source,
            ),
        )
        CloudwatchLogDelivery(
            self,
            "log-delivery",
            delivery_source_name=source.name,
            delivery_destination_arn=destination.arn,
            depends_on=[logs.bucket.policy],
        )
