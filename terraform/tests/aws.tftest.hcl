# The AWS plan, offline (the provider is mocked): a private database reached from a VPC, a required
# password, TLS verified against the RDS CA, and authorization on every route. artifacts_dir comes
# from the command line (`lab validate` passes a folder of stand-in zips).

mock_provider "aws" {
  # Role policies are validated as JSON even with a mocked provider: a document, not a random string.
  mock_data "aws_iam_policy_document" {
    defaults = { json = "{\"Version\":\"2012-10-17\",\"Statement\":[]}" }
  }
  mock_data "aws_region" {
    defaults = { name = "us-east-1" }
  }
  mock_data "aws_partition" {
    defaults = { partition = "aws" }
  }
  mock_data "aws_caller_identity" {
    defaults = { account_id = "000000000000" }
  }
}

mock_provider "aws" {
  alias = "partner1"
  # Role policies are validated as JSON even with a mocked provider: a document, not a random string.
  mock_data "aws_iam_policy_document" {
    defaults = { json = "{\"Version\":\"2012-10-17\",\"Statement\":[]}" }
  }
}

mock_provider "aws" {
  alias = "partner2"
  # Role policies are validated as JSON even with a mocked provider: a document, not a random string.
  mock_data "aws_iam_policy_document" {
    defaults = { json = "{\"Version\":\"2012-10-17\",\"Statement\":[]}" }
  }
}

variables {
  region                 = "us-east-1"
  db_host                = "lab.cluster-abc.us-east-1.rds.amazonaws.com"
  db_app_password        = "a-password-nobody-knows-7Qz"
  vpc_subnet_ids         = ["subnet-0a", "subnet-0b"]
  vpc_security_group_ids = ["sg-0lambda"]
  vpc_endpoints          = true
  api_authorization      = "AWS_IAM"
  db_ssl_root_cert       = "/opt/rds/global-bundle.pem"
}

run "aws_plan" {
  command = plan

  assert {
    condition = alltrue([for f in [module.ping_function, module.jobs_api_function, module.events_api_function, module.dispatcher, module.worker, module.projector] :
    length(f.vpc_config) == 1 && try(f.vpc_config[0].subnet_ids, null) == toset(["subnet-0a", "subnet-0b"]) && try(f.vpc_config[0].security_group_ids, null) == toset(["sg-0lambda"])])
    error_message = "Every function that reaches Postgres runs in the given subnets with the given security groups."
  }

  assert {
    condition = alltrue([for f in [module.ping_function, module.jobs_api_function, module.events_api_function, module.dispatcher, module.worker, module.projector] :
    f.vpc_access_policy_arns == ["arn:aws:iam::aws:policy/service-role/AWSLambdaVPCAccessExecutionRole"]])
    error_message = "Every function in the VPC has the VPC access policy on its role."
  }

  assert {
    condition     = length(module.payments_function.vpc_config) == 0 && length(module.payments_function.vpc_access_policy_arns) == 0
    error_message = "The payments function (DynamoDB in the partners' accounts, no Postgres) stays out of the VPC."
  }

  assert {
    condition     = toset(keys(aws_vpc_endpoint.this)) == toset(["secretsmanager", "sqs", "lambda"])
    error_message = "Interface endpoints for what the functions in the VPC call: Secrets Manager, SQS and Lambda."
  }

  assert {
    condition = alltrue([for service, endpoint in aws_vpc_endpoint.this :
      endpoint.vpc_endpoint_type == "Interface" && endpoint.private_dns_enabled && endpoint.service_name == "com.amazonaws.us-east-1.${service}"
    && endpoint.subnet_ids == toset(["subnet-0a", "subnet-0b"])])
    error_message = "Each endpoint is an interface endpoint in the functions' subnets, with private DNS so the SDK's default names reach it."
  }

  assert {
    condition     = length(aws_vpc_security_group_ingress_rule.endpoints_https) == 1 && try(aws_vpc_security_group_ingress_rule.endpoints_https["sg-0lambda"].from_port, null) == 443 && try(aws_vpc_security_group_ingress_rule.endpoints_https["sg-0lambda"].referenced_security_group_id, null) == "sg-0lambda"
    error_message = "The endpoints accept HTTPS from the functions' security group."
  }

  assert {
    condition = alltrue([for route in [module.ping_route, module.jobs_route, module.events_route, module.payments_route] :
    route.method.authorization == "AWS_IAM" && route.method.api_key_required == false])
    error_message = "With api_authorization = AWS_IAM every route (POST /jobs included) requires a SigV4-signed request."
  }

  assert {
    condition = alltrue([for f in [module.ping_function, module.jobs_api_function, module.events_api_function, module.dispatcher, module.worker, module.projector] :
    lookup(f.environment, "DB_SSLMODE", null) == "verify-full" && lookup(f.environment, "DB_SSLROOTCERT", null) == "/opt/rds/global-bundle.pem"])
    error_message = "On AWS the functions verify the database's certificate and name (verify-full) against the CA bundle."
  }

  assert {
    condition     = nonsensitive(jsondecode(aws_secretsmanager_secret_version.db.secret_string).password) == "a-password-nobody-knows-7Qz"
    error_message = "The DB secret holds the password given, not the lab's known one."
  }

  assert {
    condition     = module.jobs_queue.message_retention_seconds == 345600 && aws_lambda_event_source_mapping.car_events.batch_size == 10
    error_message = "The AWS plan keeps the AWS-side tuning (SQS retention, FIFO batch of 10)."
  }
}

run "api_key_authorization" {
  command = plan

  variables {
    api_authorization = "API_KEY"
  }

  assert {
    condition = alltrue([for route in [module.ping_route, module.jobs_route, module.events_route, module.payments_route] :
    route.method.authorization == "NONE" && route.method.api_key_required])
    error_message = "With api_authorization = API_KEY every route requires the x-api-key header."
  }

  assert {
    condition     = length(aws_api_gateway_api_key.this) == 1 && length(aws_api_gateway_usage_plan_key.this) == 1 && one(aws_api_gateway_usage_plan.this[0].api_stages).stage == "lab"
    error_message = "An API key is created and put under a usage plan on the API's stage (a key outside a plan is refused)."
  }
}

run "password_required_on_aws" {
  command = plan

  variables {
    db_app_password = null
  }

  expect_failures = [var.db_app_password]
}

run "known_password_refused_on_aws" {
  command = plan

  variables {
    db_app_password = "outbox_app"
  }

  expect_failures = [var.db_app_password]
}

run "missing_ca_bundle_refused" {
  command = plan

  variables {
    db_ssl_root_cert = "certs/no-such-bundle.pem"
  }

  expect_failures = [aws_secretsmanager_secret_version.db]
}

run "hot_reload_refused_on_aws" {
  command = plan

  variables {
    hot_reload_dir = "/home/someone/outbox-lab/lambdas"
  }

  expect_failures = [var.hot_reload_dir]
}
