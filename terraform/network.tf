# On AWS, optionally: the functions that reach a private Postgres run in the given subnets, and
# interface endpoints let them reach the AWS APIs they call without a NAT (docs/terraform-aws.md).

locals {
  function_vpc_config = length(var.vpc_subnet_ids) == 0 ? null : {
    subnet_ids         = var.vpc_subnet_ids
    security_group_ids = var.vpc_security_group_ids
  }
  # What a function in the VPC calls: the DB secret (all), SQS (the dispatcher), Lambda (the APIs'
  # nudge). The queues' pollers and API Gateway reach the functions from outside the VPC.
  vpc_endpoint_services = toset(var.vpc_endpoints ? ["secretsmanager", "sqs", "lambda"] : [])
}

data "aws_subnet" "first" {
  count = var.vpc_endpoints ? 1 : 0

  id = var.vpc_subnet_ids[0]
}

resource "aws_security_group" "endpoints" {
  count = var.vpc_endpoints ? 1 : 0

  name        = "${var.name_prefix}-endpoints"
  description = "HTTPS from the lab's functions to its VPC endpoints"
  vpc_id      = data.aws_subnet.first[0].vpc_id
}

resource "aws_vpc_security_group_ingress_rule" "endpoints_https" {
  for_each = var.vpc_endpoints ? toset(var.vpc_security_group_ids) : toset([])

  security_group_id            = aws_security_group.endpoints[0].id
  description                  = "HTTPS from the functions' security group"
  referenced_security_group_id = each.value
  ip_protocol                  = "tcp"
  from_port                    = 443
  to_port                      = 443
}

# Private DNS makes the SDK's default endpoint names resolve to these inside the VPC (the VPC needs
# DNS support and DNS hostnames on). At most one subnet per Availability Zone.
resource "aws_vpc_endpoint" "this" {
  for_each = local.vpc_endpoint_services

  vpc_id              = data.aws_subnet.first[0].vpc_id
  service_name        = "com.amazonaws.${data.aws_region.current.name}.${each.key}"
  vpc_endpoint_type   = "Interface"
  subnet_ids          = var.vpc_subnet_ids
  security_group_ids  = [aws_security_group.endpoints[0].id]
  private_dns_enabled = true

  tags = {
    Name = "${var.name_prefix}-${each.key}"
  }
}
