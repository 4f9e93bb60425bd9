"""A provisioned-capacity DynamoDB table keyed by a string `id`, encrypted with the AWS-managed key."""

from __future__ import annotations

from dataclasses import dataclass

from cdktf_cdktf_provider_aws.dynamodb_table import (
    DynamodbTable,
    DynamodbTableAttribute,
    DynamodbTablePointInTimeRecovery,
    DynamodbTableServerSideEncryption,
)
from constructs import Construct


@dataclass(frozen=True)
class ItemsTableProps:
    name: str
    read_capacity: float  # a number token from DynamoDbReadCapacity
    write_capacity: float  # a number token from DynamoDbWriteCapacity
    partition_key: str = "id"
    point_in_time_recovery: bool = True
    deletion_protection: bool = True


class ItemsTable(Construct):
    def __init__(self, scope: Construct, id_: str, props: ItemsTableProps) -> None:
        super().__init__(scope, id_)
        self.table = DynamodbTable(
            self,
            "table",
            name=props.name,
            billing_mode="PROVISIONED",
            read_capacity=props.read_capacity,
            write_capacity=props.write_capacity,
            hash_key=props.partition_key,
            attribute=[DynamodbTableAttribute(name=props.partition_key, type="S")],
            # enabled without a key ARN selects the AWS-managed key (alias/aws/dynamodb),
            # not the default AWS-owned key.
            server_side_encryption=DynamodbTableServerSideEncryption(enabled=True),
            point_in_time_recovery=DynamodbTablePointInTimeRecovery(enabled=props.point_in_time_recovery),
            deletion_protection_enabled=props.deletion_protection,
        )
