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

# One provider per partner account (Terraform cannot create providers in a loop). On LocalStack the
# access key id is the account id; on AWS Terraform assumes a deploy role in the partner's account.
locals {
  partner_deploy_role_arn = { for id, p in var.partners : id => "arn:${data.aws_partition.current.partition}:iam::${p.account_id}:role/${var.partner_deploy_role_name}" }
}

provider "aws" {
  alias  = "partner1"
  region = var.partners["partner1"].region

  access_key                  = local.on_localstack ? var.partners["partner1"].account_id : null
  secret_key                  = local.on_localstack ? "test" : null
  skip_credentials_validation = local.on_localstack
  skip_metadata_api_check     = local.on_localstack
  skip_requesting_account_id  = local.on_localstack

  dynamic "assume_role" {
    for_each = local.on_localstack ? [] : [1]
    content {
      role_arn    = local.partner_deploy_role_arn["partner1"]
      external_id = var.partners["partner1"].external_id
    }
  }

  dynamic "endpoints" {
    for_each = local.on_localstack ? [1] : []
    content {
      dynamodb = var.localstack_endpoint
      iam      = var.localstack_endpoint
      sts      = var.localstack_endpoint
    }
  }
}

provider "aws" {
  alias  = "partner2"
  region = var.partners["partner2"].region

  access_key                  = local.on_localstack ? var.partners["partner2"].account_id : null
  secret_key                  = local.on_localstack ? "test" : null
  skip_credentials_validation = local.on_localstack
  skip_metadata_api_check     = local.on_localstack
  skip_requesting_account_id  = local.on_localstack

  dynamic "assume_role" {
    for_each = local.on_localstack ? [] : [1]
    content {
      role_arn    = local.partner_deploy_role_arn["partner2"]
      external_id = var.partners["partner2"].external_id
    }
  }

  dynamic "endpoints" {
    for_each = local.on_localstack ? [1] : []
    content {
      dynamodb = var.localstack_endpoint
      iam      = var.localstack_endpoint
      sts      = var.localstack_endpoint
    }
  }
}
