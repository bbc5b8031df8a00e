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

resource "aws_lambda_function" "this" {
  function_name    = var.name
  role             = aws_iam_role.this.arn
  runtime          = "python3.13"
  handler          = var.handler
  s3_bucket        = var.code.bucket
  s3_key           = var.code.key
  source_code_hash = filebase64sha256(var.zip_path)
  layers           = var.layers
  architectures    = [var.architecture]
  timeout          = var.timeout
  memory_size      = var.memory_size

  environment {
    variables = merge(var.environment, { POWERTOOLS_SERVICE_NAME = var.name })
  }

  # What uses the function (an event source mapping, an API) needs its permissions in place, and
  # its first invocations need the log group: the role alone is not enough on AWS.
  depends_on = [aws_iam_role_policy.this, aws_cloudwatch_log_group.this]
}
