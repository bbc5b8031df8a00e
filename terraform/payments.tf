# Multi-account payments: the payments function (lab account) assumes a role in each partner's
# account and uses that account's payments table (docs/payments.md).

locals {
  payments_name         = "${var.name_prefix}-payments"
  payments_access_role  = "${var.name_prefix}-payments-access"
  payments_partner_role = { for id, p in var.partners : id => "arn:${data.aws_partition.current.partition}:iam::${p.account_id}:role/${local.payments_access_role}" }
}

module "partner1" {
  source    = "./modules/partner_account"
  providers = { aws = aws.partner1 }

  role_name         = local.payments_access_role
  payments_role_arn = module.payments_function.role_arn
  external_id       = var.partners["partner1"].external_id
}

module "partner2" {
  source    = "./modules/partner_account"
  providers = { aws = aws.partner2 }

  role_name         = local.payments_access_role
  payments_role_arn = module.payments_function.role_arn
  external_id       = var.partners["partner2"].external_id
}

data "aws_iam_policy_document" "payments" {
  statement {
    actions   = ["sts:AssumeRole"]
    resources = values(local.payments_partner_role)
  }
}

module "payments_function" {
  source = "./modules/function"

  name         = local.payments_name
  handler      = "payments.handler.handler"
  code         = local.function_code["payments"]
  layers       = local.layers
  architecture = var.architecture
  environment = {
    # The role ARNs are computed, not read from the partner modules: their trust policies name this
    # function's role, so reading them back would be a cycle.
    PARTNERS = jsonencode({ for id, p in var.partners : id => {
      account_id  = p.account_id
      region      = p.region
      role_arn    = local.payments_partner_role[id]
      external_id = p.external_id
      table_name  = "payments"
    } })
  }
  policy_json        = data.aws_iam_policy_document.payments.json
  log_retention_days = var.log_retention_days
}

resource "aws_api_gateway_resource" "partners" {
  rest_api_id = aws_api_gateway_rest_api.this.id
  parent_id   = aws_api_gateway_rest_api.this.root_resource_id
  path_part   = "partners"
}

module "payments_route" {
  source = "./modules/proxy_route"

  rest_api_id   = aws_api_gateway_rest_api.this.id
  parent_id     = aws_api_gateway_resource.partners.id
  path_part     = "{proxy+}"
  invoke_arn    = module.payments_function.invoke_arn
  function_name = module.payments_function.function_name
  execution_arn = aws_api_gateway_rest_api.this.execution_arn
  authorization = var.api_authorization
}
