locals {
  on_localstack = var.localstack_endpoint != null
}

provider "aws" {
  region = var.region

  access_key                  = local.on_localstack ? "test" : null
  secret_key                  = local.on_localstack ? "test" : null
  skip_credentials_validation = local.on_localstack
  skip_metadata_api_check     = local.on_localstack
  skip_requesting_account_id  = local.on_localstack
  s3_use_path_style           = local.on_localstack

  # Every service the lab uses, pointed at LocalStack when an endpoint is given.
  dynamic "endpoints" {
    for_each = local.on_localstack ? [1] : []
    content {
      apigateway     = var.localstack_endpoint
      cloudwatch     = var.localstack_endpoint
      events         = var.localstack_endpoint
      iam            = var.localstack_endpoint
      lambda         = var.localstack_endpoint
      logs           = var.localstack_endpoint
      s3             = var.localstack_endpoint
      scheduler      = var.localstack_endpoint
      secretsmanager = var.localstack_endpoint
      sqs            = var.localstack_endpoint
      sts            = var.localstack_endpoint
    }
  }

  default_tags {
    tags = {
      project = "outbox-lab"
    }
  }
}
