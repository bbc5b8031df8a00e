# The LocalStack plan, offline (the provider is mocked): what `make apply` deploys keeps the lab's
# behaviour and gains none of the AWS-only options. artifacts_dir comes from the command line
# (`lab validate` passes a folder of stand-in zips).

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
  localstack_endpoint = "http://localhost:4566"
  db_host             = "127.0.0.1"
  db_port             = 15432
}

run "localstack_plan" {
  command = plan

  assert {
    condition = alltrue([for f in [module.ping_function, module.jobs_api_function, module.events_api_function, module.dispatcher, module.worker, module.projector, module.payments_function] :
    length(f.vpc_config) == 0 && length(f.vpc_access_policy_arns) == 0])
    error_message = "On LocalStack no function is in a VPC or gets the VPC access policy."
  }

  assert {
    condition     = length(aws_vpc_endpoint.this) == 0 && length(aws_security_group.endpoints) == 0 && length(aws_vpc_security_group_ingress_rule.endpoints_https) == 0
    error_message = "On LocalStack no VPC endpoint (nor its security group) is planned."
  }

  assert {
    condition = alltrue([for route in [module.ping_route, module.jobs_route, module.events_route, module.payments_route] :
    route.method.authorization == "NONE" && route.method.api_key_required == false])
    error_message = "On LocalStack every route stays open (authorization NONE, no API key)."
  }

  assert {
    condition     = length(aws_api_gateway_api_key.this) == 0 && length(aws_api_gateway_usage_plan.this) == 0 && length(aws_api_gateway_usage_plan_key.this) == 0
    error_message = "On LocalStack no API key or usage plan is planned."
  }

  assert {
    condition = alltrue([for f in [module.ping_function, module.jobs_api_function, module.events_api_function, module.dispatcher, module.worker, module.projector] :
    !contains(keys(f.environment), "DB_SSLMODE") && !contains(keys(f.environment), "DB_SSLROOTCERT") && lookup(f.environment, "PSYCOPG_IMPL", null) == "binary"])
    error_message = "On LocalStack the functions get no TLS settings: libpq's default, as before."
  }

  assert {
    condition     = nonsensitive(jsondecode(aws_secretsmanager_secret_version.db.secret_string).password) == "outbox_app"
    error_message = "On LocalStack the DB secret keeps the lab's known password when none is given."
  }

  assert {
    condition     = jsondecode(nonsensitive(aws_secretsmanager_secret_version.db.secret_string)).host == "127.0.0.1"
    error_message = "The DB secret names the host the Lambdas see."
  }

  assert {
    condition = length(aws_s3_object.function) == 7 && alltrue([for name, f in { ping = module.ping_function, jobs_api = module.jobs_api_function, events_api = module.events_api_function, dispatcher = module.dispatcher, worker = module.worker, projector = module.projector, payments = module.payments_function } :
      f.code.s3_bucket == aws_s3_bucket.artifacts.bucket && startswith(f.code.s3_key, "functions/${name}-") && f.code.source_code_hash == filebase64sha256(local.function_zip[name])
    ])
    error_message = "Without hot reload every function's code is its zip, uploaded to the artifacts bucket, with the zip's digest."
  }

  assert {
    condition     = alltrue([for f in [module.ping_function, module.jobs_api_function, module.events_api_function, module.dispatcher, module.worker, module.projector, module.payments_function] : length(f.layers) == 1])
    error_message = "Every function gets the dependencies layer (attach delivery)."
  }
}

run "hot_reload_plan" {
  command = plan

  variables {
    hot_reload_dir = "/home/someone/outbox-lab/lambdas"
  }

  assert {
    condition = alltrue([for f in [module.ping_function, module.jobs_api_function, module.events_api_function, module.dispatcher, module.worker, module.projector, module.payments_function] :
    f.code.s3_bucket == "hot-reload" && f.code.s3_key == "/home/someone/outbox-lab/lambdas" && f.code.source_code_hash == null])
    error_message = "Hot reloading, every function's code is bucket hot-reload with the folder as its key, and no zip digest."
  }

  assert {
    condition     = length(aws_s3_object.function) == 0 && aws_s3_bucket.artifacts.bucket != "hot-reload"
    error_message = "Hot reloading uploads no function zip, and creates no bucket named hot-reload (LocalStack's marker)."
  }

  assert {
    condition     = alltrue([for f in [module.ping_function, module.jobs_api_function, module.events_api_function, module.dispatcher, module.worker, module.projector, module.payments_function] : length(f.layers) == 1]) && length(aws_lambda_layer_version.deps) == 1
    error_message = "Hot reloading in native mode keeps the dependencies layer (the folder holds only our code)."
  }
}

run "hot_reload_bundled_plan" {
  command = plan

  variables {
    hot_reload_dir = "/home/someone/outbox-lab/lambdas"
    layer_delivery = "bundle"
  }

  assert {
    condition = alltrue([for f in [module.ping_function, module.jobs_api_function, module.events_api_function, module.dispatcher, module.worker, module.projector, module.payments_function] :
    f.code.s3_bucket == "hot-reload" && length(f.layers) == 0]) && length(aws_s3_object.function) == 0 && length(aws_lambda_layer_version.deps) == 0
    error_message = "Hot reloading in Docker mode (bundle delivery): the folder, no zip and no layer (the dependencies are mounted at /opt/python)."
  }
}

run "relative_hot_reload_dir_refused" {
  command = plan

  variables {
    hot_reload_dir = "lambdas"
  }

  expect_failures = [var.hot_reload_dir]
}

run "vpc_refused_on_localstack" {
  command = plan

  variables {
    vpc_subnet_ids         = ["subnet-0a"]
    vpc_security_group_ids = ["sg-0a"]
  }

  expect_failures = [var.vpc_subnet_ids]
}
