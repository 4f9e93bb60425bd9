"""What an API Gateway deployment snapshots, read by the API construct (its redeployment trigger)
and by the plan review (a deletion the live stage keeps serving).

A stage serves a deployment, and a deployment is a snapshot of its REST API and of every resource
configuring it: methods, integrations, resources, models, validators, gateway responses,
authorizers, the resource policy. Any resource naming the API (`rest_api_id`) is one, but those
that configure stages.
"""

from __future__ import annotations

NOT_SNAPSHOTTED_TYPES = frozenset({"aws_api_gateway_deployment", "aws_api_gateway_stage", "aws_api_gateway_method_settings"})
# Attributes of those that no deployment serves: a tag change must not redeploy.
NOT_SNAPSHOTTED = ("tags", "tags_all")


def snapshotted(resource_type: str) -> bool:
    """Whether a resource of this type that names a REST API is in the API's deployments."""
    return resource_type.startswith("aws_api_gateway_") and resource_type not in NOT_SNAPSHOTTED_TYPES
