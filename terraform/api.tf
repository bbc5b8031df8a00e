resource "aws_api_gateway_rest_api" "this" {
  name        = "${var.name_prefix}-api"
  description = "outbox-lab REST API"
}

module "ping_function" {
  source = "./modules/function"

  name               = "${var.name_prefix}-ping"
  handler            = "ping.handler.handler"
  zip_path           = local.function_zip["ping"]
  code               = aws_s3_object.function["ping"]
  layers             = local.layers
  architecture       = var.architecture
  environment        = local.db_environment
  policy_json        = data.aws_iam_policy_document.read_db_secret.json
  log_retention_days = var.log_retention_days
}

resource "aws_api_gateway_resource" "ping" {
  rest_api_id = aws_api_gateway_rest_api.this.id
  parent_id   = aws_api_gateway_rest_api.this.root_resource_id
  path_part   = "ping"
}

# Every method: the ping function answers its own 405s, as the jobs API does under {proxy+}.
resource "aws_api_gateway_method" "ping_any" {
  rest_api_id   = aws_api_gateway_rest_api.this.id
  resource_id   = aws_api_gateway_resource.ping.id
  http_method   = "ANY"
  authorization = "NONE"
}

resource "aws_api_gateway_integration" "ping_any" {
  rest_api_id             = aws_api_gateway_rest_api.this.id
  resource_id             = aws_api_gateway_resource.ping.id
  http_method             = aws_api_gateway_method.ping_any.http_method
  type                    = "AWS_PROXY"
  integration_http_method = "POST"
  uri                     = module.ping_function.invoke_arn
}

resource "aws_lambda_permission" "api_ping" {
  statement_id  = "AllowApiGatewayInvoke"
  action        = "lambda:InvokeFunction"
  function_name = module.ping_function.function_name
  principal     = "apigateway.amazonaws.com"
  source_arn    = "${aws_api_gateway_rest_api.this.execution_arn}/*/*"
}

data "aws_iam_policy_document" "jobs_api" {
  source_policy_documents = [data.aws_iam_policy_document.read_db_secret.json]

  statement {
    actions   = ["lambda:InvokeFunction"]
    resources = [local.dispatcher_arn]
  }
}

module "jobs_api_function" {
  source = "./modules/function"

  name         = "${var.name_prefix}-jobs-api"
  handler      = "jobs_api.handler.handler"
  zip_path     = local.function_zip["jobs_api"]
  code         = aws_s3_object.function["jobs_api"]
  layers       = local.layers
  architecture = var.architecture
  environment = merge(local.db_environment, {
    DISPATCHER_FUNCTION       = local.dispatcher_name
    DISPATCH_NUDGE_INTERVAL_S = tostring(var.dispatch_nudge_interval_s)
  })
  policy_json        = data.aws_iam_policy_document.jobs_api.json
  log_retention_days = var.log_retention_days
}

# Every path but /ping goes to the jobs API, so unknown routes and wrong methods get its JSON 404/405.
resource "aws_api_gateway_resource" "proxy" {
  rest_api_id = aws_api_gateway_rest_api.this.id
  parent_id   = aws_api_gateway_rest_api.this.root_resource_id
  path_part   = "{proxy+}"
}

resource "aws_api_gateway_method" "proxy_any" {
  rest_api_id   = aws_api_gateway_rest_api.this.id
  resource_id   = aws_api_gateway_resource.proxy.id
  http_method   = "ANY"
  authorization = "NONE"
}

resource "aws_api_gateway_integration" "proxy_any" {
  rest_api_id             = aws_api_gateway_rest_api.this.id
  resource_id             = aws_api_gateway_resource.proxy.id
  http_method             = aws_api_gateway_method.proxy_any.http_method
  type                    = "AWS_PROXY"
  integration_http_method = "POST"
  uri                     = module.jobs_api_function.invoke_arn
}

resource "aws_lambda_permission" "api_jobs" {
  statement_id  = "AllowApiGatewayInvoke"
  action        = "lambda:InvokeFunction"
  function_name = module.jobs_api_function.function_name
  principal     = "apigateway.amazonaws.com"
  source_arn    = "${aws_api_gateway_rest_api.this.execution_arn}/*/*"
}

resource "aws_api_gateway_deployment" "this" {
  rest_api_id = aws_api_gateway_rest_api.this.id

  triggers = {
    redeployment = sha1(jsonencode([
      aws_api_gateway_resource.ping,
      aws_api_gateway_method.ping_any,
      aws_api_gateway_integration.ping_any,
      aws_api_gateway_resource.proxy,
      aws_api_gateway_method.proxy_any,
      aws_api_gateway_integration.proxy_any,
      aws_api_gateway_resource.api,
      aws_api_gateway_resource.api_proxy,
      aws_api_gateway_method.api_proxy_any,
      aws_api_gateway_integration.api_proxy_any,
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
