"""moto's server, with the corrections a TLS-only bucket policy needs.

moto 5.2 ignores `Bool` conditions (so a Deny conditioned on aws:SecureTransport=false denies
every request), answers DENIED for any statement whose condition does not hold (even an
Allow), and gives S3's policy evaluation no request context. Together they make a standard
bucket policy deny every object request, which real S3 never does. This module evaluates
`Bool`, restores IAM's rule (a statement whose conditions do not hold does not apply), and
supplies aws:SecureTransport=true: the emulator listens on plain HTTP on loopback only,
standing in for AWS endpoints that SDKs always reach over TLS. Unconditional statements are
evaluated exactly as before.

It also accepts API Gateway's account reset: UpdateAccount replacing `/cloudwatchRoleArn` with
no value (what `reset_on_delete` sends on destroy) clears the role, as AWS does; moto 5.2 fails
with a KeyError there, and the provider retries the 500 until it times out.

And it answers a repeated CloudFront create as CloudFront does: the same CallerReference with the
same configuration returns the distribution the first request created (the API reference of
CloudFront's 2018-06-18 version, and the SDK documentation, "the response includes the same
information returned to the original request"); moto refuses it with DistributionAlreadyExists.
The provider's SDK repeats a create whose answer it could not read, with the same request, and
that repeat failed an end-to-end deploy on a loaded machine.

Then it runs moto's own server:

    python -m local_cloud.moto_server -H 127.0.0.1 -p PORT
"""

from __future__ import annotations

import json

from moto.apigateway import models as apigateway_models
from moto.cloudfront import models as cloudfront_models
from moto.iam import access_control, policy_conditions
from moto.server import main

_is_action_permitted = access_control.IAMPolicyStatement.is_action_permitted
REQUEST_CONTEXT = {"aws:SecureTransport": "true"}


def _conditions_must_hold(self, action, resource="*", principal=None, incoming_condition_values=None):
    context = {**REQUEST_CONTEXT, **(incoming_condition_values or {})}
    if self._statement.get("Condition") and not self._check_conditions(context):
        return access_control.PermissionResult.NEUTRAL
    return _is_action_permitted(self, action, resource, principal, context)


def _bool_equals(expected, actual) -> bool:
    expected_values = expected if isinstance(expected, list) else [expected]
    return str(actual).lower() in (str(value).lower() for value in expected_values)


_apply_account_patch = apigateway_models.Account.apply_patch_operations


def _account_patch(self, patch_operations):
    resets = [op for op in patch_operations if "/cloudwatchRoleArn" in op["path"] and "value" not in op]
    if resets:
        self.cloudwatch_role_arn = None
    return _apply_account_patch(self, [op for op in patch_operations if op not in resets])


_create_distribution = cloudfront_models.CloudFrontBackend.create_distribution_with_tags


def _create_distribution_once(self, distribution_config, tags):
    """A repeated request (same CallerReference, same configuration and tags) gets the first answer."""
    request = json.dumps([distribution_config, tags], sort_keys=True, default=str)
    answers = self.__dict__.setdefault("_answered_creates", {})
    reference = distribution_config.get("CallerReference")
    if reference in answers and answers[reference][0] == request and answers[reference][1][0].distribution_id in self.distributions:
        return answers[reference][1]
    answer = _create_distribution(self, distribution_config, tags)
    answers[reference] = (request, answer)
    return answer


access_control.IAMPolicyStatement.is_action_permitted = _conditions_must_hold
cloudfront_models.CloudFrontBackend.create_distribution_with_tags = _create_distribution_once
apigateway_models.Account.apply_patch_operations = _account_patch
policy_conditions.CONDITION_OPERATIONS.setdefault("Bool", _bool_equals)

if __name__ == "__main__":
    main()
