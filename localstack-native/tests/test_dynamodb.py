"""DynamoDB from moto in native LocalStack: conditions, transactions, indexes, streams, accounts, the lock."""

from __future__ import annotations

import json
import os
import threading
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Literal

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

pytestmark = pytest.mark.integration  # drives a running LocalStack

# On LocalStack an access key id of 12 digits is the account id it names.
LAB_ACCOUNT = "000000000000"
PARTNER_ACCOUNT = "111111111111"
OTHER_ACCOUNT = "222222222222"
REGION = "us-east-1"
# No retries: a 500 from a race inside moto must reach the test, not be retried away by botocore.
NO_RETRIES = Config(retries={"total_max_attempts": 1, "mode": "standard"})

Service = Literal["dynamodb", "dynamodbstreams", "iam", "sts"]
Client = Any  # boto3 clients of services the dev venv has no stubs for (dynamodb, streams, iam, sts)
ClientFactory = Callable[..., Client]
TableFactory = Callable[..., str]


@pytest.fixture(scope="session")
def aws() -> ClientFactory:
    """A client for a service in an account (its access key id), or with the given credentials."""
    endpoint = os.environ.get("LOCALSTACK_ENDPOINT", "http://localhost:4566")

    def make(
        service: Service,
        account: str = LAB_ACCOUNT,
        region: str = REGION,
        *,
        key: str | None = None,
        secret: str = "test",  # noqa: S107 (not a secret: LocalStack accepts any)
        token: str | None = None,
    ) -> Client:
        session = boto3.session.Session(
            aws_access_key_id=key or account,
            aws_secret_access_key=secret,
            aws_session_token=token,
            region_name=region,
        )
        return session.client(service, endpoint_url=endpoint, config=NO_RETRIES)

    return make


@pytest.fixture
def tables(aws: ClientFactory) -> Iterator[TableFactory]:
    """Creates on-demand tables keyed by `id` (plus create_table arguments), deletes them afterwards."""
    created: list[tuple[str, str]] = []

    def create(account: str = LAB_ACCOUNT, **extra: Any) -> str:
        name = f"lab-ddb-test-{uuid.uuid4().hex[:10]}"
        attributes = [{"AttributeName": "id", "AttributeType": "S"}, *extra.pop("attributes", [])]
        aws("dynamodb", account).create_table(
            TableName=name,
            AttributeDefinitions=attributes,
            KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
            BillingMode="PAY_PER_REQUEST",
            **extra,
        )
        created.append((account, name))
        return name

    yield create
    for account, name in created:
        aws("dynamodb", account).delete_table(TableName=name)


def error_code(exc: pytest.ExceptionInfo[ClientError]) -> str:
    return str(exc.value.response["Error"]["Code"])


def test_a_conditional_put_never_overwrites(aws: ClientFactory, tables: TableFactory) -> None:
    table, ddb = tables(), aws("dynamodb")
    first = {"id": {"S": "pay_1"}, "amount": {"N": "10050"}}
    ddb.put_item(TableName=table, Item=first, ConditionExpression="attribute_not_exists(id)")
    with pytest.raises(ClientError) as exc:
        ddb.put_item(
            TableName=table,
            Item={"id": {"S": "pay_1"}, "amount": {"N": "1"}},
            ConditionExpression="attribute_not_exists(id)",
        )
    assert error_code(exc) == "ConditionalCheckFailedException"
    assert ddb.get_item(TableName=table, Key={"id": {"S": "pay_1"}})["Item"] == first


def test_a_cancelled_transaction_names_its_failed_condition_and_writes_nothing(
    aws: ClientFactory, tables: TableFactory
) -> None:
    table, ddb = tables(), aws("dynamodb")
    ddb.put_item(TableName=table, Item={"id": {"S": "taken"}})
    with pytest.raises(ClientError) as exc:
        ddb.transact_write_items(
            TransactItems=[
                {"Put": {"TableName": table, "Item": {"id": {"S": "fresh"}}}},
                {
                    "Put": {
                        "TableName": table,
                        "Item": {"id": {"S": "taken"}, "v": {"N": "2"}},
                        "ConditionExpression": "attribute_not_exists(id)",
                    }
                },
            ]
        )
    assert error_code(exc) == "TransactionCanceledException"
    reasons = [reason["Code"] for reason in exc.value.response["CancellationReasons"]]
    assert reasons == ["None", "ConditionalCheckFailed"]
    assert "Item" not in ddb.get_item(TableName=table, Key={"id": {"S": "fresh"}})
    assert ddb.get_item(TableName=table, Key={"id": {"S": "taken"}})["Item"] == {"id": {"S": "taken"}}


def test_a_global_secondary_index_answers_queries_in_sort_order(
    aws: ClientFactory, tables: TableFactory
) -> None:
    table = tables(
        attributes=[
            {"AttributeName": "partner", "AttributeType": "S"},
            {"AttributeName": "createdAt", "AttributeType": "S"},
        ],
        GlobalSecondaryIndexes=[
            {
                "IndexName": "by-partner",
                "KeySchema": [
                    {"AttributeName": "partner", "KeyType": "HASH"},
                    {"AttributeName": "createdAt", "KeyType": "RANGE"},
                ],
                "Projection": {"ProjectionType": "ALL"},
            }
        ],
    )
    ddb = aws("dynamodb")
    for item_id, partner, created in [("a", "p1", "3"), ("b", "p2", "1"), ("c", "p1", "1"), ("d", "p1", "2")]:
        ddb.put_item(
            TableName=table,
            Item={"id": {"S": item_id}, "partner": {"S": partner}, "createdAt": {"S": created}},
        )
    answer = ddb.query(
        TableName=table,
        IndexName="by-partner",
        KeyConditionExpression="partner = :p",
        ExpressionAttributeValues={":p": {"S": "p1"}},
        ScanIndexForward=False,
    )
    assert [item["id"]["S"] for item in answer["Items"]] == ["a", "d", "c"]


def test_update_item_add_increments_atomically(aws: ClientFactory, tables: TableFactory) -> None:
    table, ddb = tables(), aws("dynamodb")
    for amount in ("5", "3"):
        answer = ddb.update_item(
            TableName=table,
            Key={"id": {"S": "counter"}},
            UpdateExpression="ADD n :amount",
            ExpressionAttributeValues={":amount": {"N": amount}},
            ReturnValues="UPDATED_NEW",
        )
    assert answer["Attributes"] == {"n": {"N": "8"}}


def test_a_stream_carries_each_change(aws: ClientFactory, tables: TableFactory) -> None:
    table = tables(StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"})
    ddb, streams = aws("dynamodb"), aws("dynamodbstreams")
    ddb.put_item(TableName=table, Item={"id": {"S": "s1"}, "v": {"N": "1"}})
    ddb.put_item(TableName=table, Item={"id": {"S": "s1"}, "v": {"N": "2"}})
    stream_arn = ddb.describe_table(TableName=table)["Table"]["LatestStreamArn"]
    assert stream_arn in [s["StreamArn"] for s in streams.list_streams(TableName=table)["Streams"]]
    shard = streams.describe_stream(StreamArn=stream_arn)["StreamDescription"]["Shards"][0]
    iterator = streams.get_shard_iterator(
        StreamArn=stream_arn, ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON"
    )["ShardIterator"]
    records = streams.get_records(ShardIterator=iterator)["Records"]
    assert [(r["eventName"], r["dynamodb"]["NewImage"]["v"]["N"]) for r in records] == [
        ("INSERT", "1"),
        ("MODIFY", "2"),
    ]
    assert records[1]["dynamodb"]["OldImage"]["v"] == {"N": "1"}


def test_what_terraform_reads_after_creating_a_table(aws: ClientFactory, tables: TableFactory) -> None:
    table = tables(Tags=[{"Key": "system", "Value": "payments"}])
    ddb = aws("dynamodb")
    described = ddb.describe_table(TableName=table)["Table"]
    assert described["TableStatus"] == "ACTIVE"
    assert described["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"
    assert described["TableArn"] == f"arn:aws:dynamodb:{REGION}:{LAB_ACCOUNT}:table/{table}"
    backups = ddb.describe_continuous_backups(TableName=table)["ContinuousBackupsDescription"]
    assert backups["PointInTimeRecoveryDescription"]["PointInTimeRecoveryStatus"] == "DISABLED"
    ttl = ddb.describe_time_to_live(TableName=table)["TimeToLiveDescription"]
    assert ttl["TimeToLiveStatus"] == "DISABLED"
    tags = ddb.list_tags_of_resource(ResourceArn=described["TableArn"])["Tags"]
    assert tags == [{"Key": "system", "Value": "payments"}]


def test_tables_of_one_account_are_invisible_to_another(aws: ClientFactory, tables: TableFactory) -> None:
    table = tables(PARTNER_ACCOUNT)
    owner, other = aws("dynamodb", PARTNER_ACCOUNT), aws("dynamodb", OTHER_ACCOUNT)
    arn = f"arn:aws:dynamodb:{REGION}:{PARTNER_ACCOUNT}:table/{table}"
    owner.put_item(TableName=arn, Item={"id": {"S": "secret"}})
    assert owner.get_item(TableName=arn, Key={"id": {"S": "secret"}})["Item"] == {"id": {"S": "secret"}}

    assert table not in other.list_tables()["TableNames"]
    for operation, arguments in (
        ("get_item", {"TableName": arn, "Key": {"id": {"S": "secret"}}}),
        ("describe_table", {"TableName": arn}),
        ("get_item", {"TableName": table, "Key": {"id": {"S": "secret"}}}),
    ):
        with pytest.raises(ClientError) as exc:
            getattr(other, operation)(**arguments)
        assert error_code(exc) == "ResourceNotFoundException", operation


@pytest.fixture
def partner_role(aws: ClientFactory) -> Iterator[str]:
    """A role in the partner's account that the lab account may assume with an external id."""
    iam, name = aws("iam", PARTNER_ACCOUNT), f"lab-ddb-test-{uuid.uuid4().hex[:10]}"
    trust = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:aws:iam::{LAB_ACCOUNT}:root"},
                "Action": "sts:AssumeRole",
                "Condition": {"StringEquals": {"sts:ExternalId": "partner-external-id"}},
            }
        ],
    }
    arn: str = iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"]
    yield arn
    iam.delete_role(RoleName=name)


def assumed(aws: ClientFactory, role_arn: str, external_id: str) -> dict[str, str]:
    credentials = aws("sts").assume_role(
        RoleArn=role_arn, RoleSessionName="payments", ExternalId=external_id
    )["Credentials"]
    return {
        "key": credentials["AccessKeyId"],
        "secret": credentials["SecretAccessKey"],
        "token": credentials["SessionToken"],
    }


def test_assumed_role_credentials_reach_the_roles_account(
    aws: ClientFactory, tables: TableFactory, partner_role: str
) -> None:
    table = tables(PARTNER_ACCOUNT)
    credentials = assumed(aws, partner_role, "partner-external-id")
    identity = aws("sts", **credentials).get_caller_identity()
    assert identity["Account"] == PARTNER_ACCOUNT

    as_partner = aws("dynamodb", **credentials)
    assert table in as_partner.list_tables()["TableNames"]
    as_partner.put_item(TableName=table, Item={"id": {"S": "via-role"}})
    partner = aws("dynamodb", PARTNER_ACCOUNT)
    assert partner.get_item(TableName=table, Key={"id": {"S": "via-role"}})["Item"] == {
        "id": {"S": "via-role"}
    }
    assert table not in aws("dynamodb", LAB_ACCOUNT).list_tables()["TableNames"]


def test_iam_is_not_enforced_so_a_wrong_external_id_is_accepted(
    aws: ClientFactory, partner_role: str
) -> None:
    """A documented limit of LocalStack's free build (README): this fails once it enforces trust policies."""
    credentials = assumed(aws, partner_role, "not-the-external-id")
    assert aws("sts", **credentials).get_caller_identity()["Account"] == PARTNER_ACCOUNT


THREADS = 8
ROUNDS = 40


def test_racing_transactions_have_exactly_one_winner_per_round(
    aws: ClientFactory, tables: TableFactory
) -> None:
    """Each round, 8 threads race one transaction: claim the round's item if absent, and count the win."""
    table = tables()
    clients = [aws("dynamodb") for _ in range(THREADS)]
    start = threading.Barrier(THREADS)

    def race(ddb: Client) -> Counter[str]:
        outcomes: Counter[str] = Counter()
        for round_number in range(ROUNDS):
            start.wait(timeout=30)
            try:
                ddb.transact_write_items(
                    TransactItems=[
                        {
                            "Put": {
                                "TableName": table,
                                "Item": {"id": {"S": f"round-{round_number}"}},
                                "ConditionExpression": "attribute_not_exists(id)",
                            }
                        },
                        {
                            "Update": {
                                "TableName": table,
                                "Key": {"id": {"S": "wins"}},
                                "UpdateExpression": "ADD n :one",
                                "ExpressionAttributeValues": {":one": {"N": "1"}},
                            }
                        },
                    ]
                )
                outcomes["won"] += 1
            except ClientError as exc:
                reasons = [reason["Code"] for reason in exc.response.get("CancellationReasons", [])]
                outcomes[" ".join([exc.response["Error"]["Code"], *reasons])] += 1
        return outcomes

    with ThreadPoolExecutor(THREADS) as pool:
        outcomes = sum(pool.map(race, clients), Counter[str]())

    assert outcomes == {
        "won": ROUNDS,
        "TransactionCanceledException ConditionalCheckFailed None": ROUNDS * (THREADS - 1),
    }
    wins = clients[0].get_item(TableName=table, Key={"id": {"S": "wins"}})["Item"]["n"]["N"]
    assert int(wins) == ROUNDS
