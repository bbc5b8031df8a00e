resource "aws_api_gateway_rest_api" "this" {
  name        = "${var.name_prefix}-api"
  description = "outbox-lab REST API"
}

module "ping_function" {
  source = "./modules/function"

  name               = "${var.name_prefix}-ping"
  handler            = "ping.handler.handler"
  code               = local.function_code["ping"]
  layers             = local.layers
  architecture       = var.architecture
  environment        = local.db_environment
  policy_json        = data.aws_iam_policy_document.read_db_secret.json
  log_retention_days = var.log_retention_days
  vpc_config         = local.function_vpc_config
}

# Every method: the ping function answers its own 405s, as the jobs API does under {proxy+}.
module "ping_route" {
  source = "./modules/proxy_route"

  rest_api_id   = aws_api_gateway_rest_api.this.id
  parent_id     = aws_api_gateway_rest_api.this.root_resource_id
  path_part     = "ping"
  invoke_arn    = module.ping_function.invoke_arn
  function_name = module.ping_function.function_name
  execution_arn = aws_api_gateway_rest_api.this.execution_arn
  authorization = var.api_authorization
}

# The APIs (jobs, events) read the DB secret and nudge the dispatcher after a commit.
data "aws_iam_policy_document" "nudging_api" {
  source_policy_documents = [data.aws_iam_policy_document.read_db_secret.json]

  statement {
    actions   = ["lambda:InvokeFunction"]
    resources = [local.dispatcher_arn]
  }
}

locals {
  nudging_api_environment = merge(local.db_environment, {
    DISPATCHER_FUNCTION       = local.dispatcher_name
    DISPATCH_NUDGE_INTERVAL_S = tostring(var.dispatch_nudge_interval_s)
  })
}

module "jobs_api_function" {
  source = "./modules/function"

  name               = "${var.name_prefix}-jobs-api"
  handler            = "jobs_api.handler.handler"
  code               = local.function_code["jobs_api"]
  layers             = local.layers
  architecture       = var.architecture
  environment        = local.nudging_api_environment
  policy_json        = data.aws_iam_policy_document.nudging_api.json
  log_retention_days = var.log_retention_days
  vpc_config         = local.function_vpc_config
}

# Every path but /ping and /api/... goes to the jobs API, so unknown routes and wrong methods get
# its JSON 404/405.
module "jobs_route" {
  source = "./modules/proxy_route"

  rest_api_id   = aws_api_gateway_rest_api.this.id
  parent_id     = aws_api_gateway_rest_api.this.root_resource_id
  path_part     = "{proxy+}"
  invoke_arn    = module.jobs_api_function.invoke_arn
  function_name = module.jobs_api_function.function_name
  execution_arn = aws_api_gateway_rest_api.this.execution_arn
  authorization = var.api_authorization
}

resource "aws_api_gateway_deployment" "this" {
  rest_api_id = aws_api_gateway_rest_api.this.id

  triggers = {
    redeployment = sha1(jsonencode([
      module.ping_route.redeployment,
      module.jobs_route.redeployment,
      aws_api_gateway_resource.api,
      module.events_route.redeployment,
      aws_api_gateway_resource.partners,
      module.payments_route.redeployment,
    ]))
  }

  lifecycle {
    create_before_destroy = true
  }
}

resource "aws_api_gateway_stage" "this" {
  rest_api_id   = aws_api_gateway_rest_api.this.id
  deployment_id = aws_api_gateway_deployment.this.id
  stage_name    = var.api_stage
}

# Where the routes' resources were before modules/proxy_route: a deployed stack keeps them.
moved {
  from = aws_api_gateway_resource.ping
  to   = module.ping_route.aws_api_gateway_resource.this
}

moved {
  from = aws_api_gateway_method.ping_any
  to   = module.ping_route.aws_api_gateway_method.this
}

moved {
  from = aws_api_gateway_integration.ping_any
  to   = module.ping_route.aws_api_gateway_integration.this
}

moved {
  from = aws_lambda_permission.api_ping
  to   = module.ping_route.aws_lambda_permission.this
}

moved {
  from = aws_api_gateway_resource.proxy
  to   = module.jobs_route.aws_api_gateway_resource.this
}

moved {
  from = aws_api_gateway_method.proxy_any
  to   = module.jobs_route.aws_api_gateway_method.this
}

moved {
  from = aws_api_gateway_integration.proxy_any
  to   = module.jobs_route.aws_api_gateway_integration.this
}

moved {
  from = aws_lambda_permission.api_jobs
  to   = module.jobs_route.aws_lambda_permission.this
}
