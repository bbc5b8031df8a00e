# The REST API's authorization on AWS (api_authorization): the routes' methods take it through
# modules/proxy_route; an API key also needs a usage plan on the stage, and the key itself.

locals {
  api_key_auth = var.api_authorization == "API_KEY"
}

resource "aws_api_gateway_api_key" "this" {
  count = local.api_key_auth ? 1 : 0

  name        = "${var.name_prefix}-api-key"
  description = "Sent as x-api-key on every request to the outbox-lab API"
}

resource "aws_api_gateway_usage_plan" "this" {
  count = local.api_key_auth ? 1 : 0

  name = "${var.name_prefix}-api"

  api_stages {
    api_id = aws_api_gateway_rest_api.this.id
    stage  = aws_api_gateway_stage.this.stage_name
  }
}

resource "aws_api_gateway_usage_plan_key" "this" {
  count = local.api_key_auth ? 1 : 0

  key_id        = aws_api_gateway_api_key.this[0].id
  key_type      = "API_KEY"
  usage_plan_id = aws_api_gateway_usage_plan.this[0].id
}
