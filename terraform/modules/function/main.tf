data "aws_iam_policy_document" "assume" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["lambda.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "this" {
  name               = "${var.name}-role"
  assume_role_policy = data.aws_iam_policy_document.assume.json
}

resource "aws_cloudwatch_log_group" "this" {
  name              = "/aws/lambda/${var.name}"
  retention_in_days = var.log_retention_days
}

data "aws_iam_policy_document" "logs" {
  source_policy_documents = var.policy_json == null ? [] : [var.policy_json]

  statement {
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = ["${aws_cloudwatch_log_group.this.arn}:*"]
  }
}

resource "aws_iam_role_policy" "this" {
  name   = "${var.name}-policy"
  role   = aws_iam_role.this.id
  policy = data.aws_iam_policy_document.logs.json
}

# In a VPC, Lambda creates the function's network interfaces with its execution role: the AWS policy
# for that grants only the EC2 network-interface actions (which take no resource narrower than *) and logs.
data "aws_partition" "current" {}

resource "aws_iam_role_policy_attachment" "vpc_access" {
  count = var.vpc_config == null ? 0 : 1

  role       = aws_iam_role.this.name
  policy_arn = "arn:${data.aws_partition.current.partition}:iam::aws:policy/service-role/AWSLambdaVPCAccessExecutionRole"
}

resource "aws_lambda_function" "this" {
  function_name    = var.name
  role             = aws_iam_role.this.arn
  runtime          = "python3.13"
  handler          = var.handler
  s3_bucket        = var.code.bucket
  s3_key           = var.code.key
  source_code_hash = var.code.zip_path == null ? null : filebase64sha256(var.code.zip_path)
  layers           = var.layers
  architectures    = [var.architecture]
  timeout          = var.timeout
  memory_size      = var.memory_size

  environment {
    variables = merge(var.environment, { POWERTOOLS_SERVICE_NAME = var.name })
  }

  dynamic "vpc_config" {
    for_each = var.vpc_config == null ? [] : [var.vpc_config]
    content {
      subnet_ids         = vpc_config.value.subnet_ids
      security_group_ids = vpc_config.value.security_group_ids
    }
  }

  # What uses the function (an event source mapping, an API) needs its permissions in place, and
  # its first invocations need the log group: the role alone is not enough on AWS. In a VPC, the
  # network-interface permissions must be there first and stay until the function is gone.
  depends_on = [aws_iam_role_policy.this, aws_cloudwatch_log_group.this, aws_iam_role_policy_attachment.vpc_access]
}
