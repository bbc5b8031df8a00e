# Smoke check of the SQS -> Lambda path: each message of the smoke queue becomes a row in Postgres.
module "smoke_queue" {
  source = "./modules/queue"

  name                       = "${var.name_prefix}-smoke"
  visibility_timeout_seconds = 30
  create_beside_dlq          = local.on_localstack
}

data "aws_iam_policy_document" "smoke_worker" {
  source_policy_documents = [data.aws_iam_policy_document.read_db_secret.json]

  statement {
    actions   = ["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes", "sqs:ChangeMessageVisibility"]
    resources = [module.smoke_queue.arn]
  }
}

module "smoke_worker" {
  source = "./modules/function"

  name               = "${var.name_prefix}-smoke-worker"
  handler            = "smoke_worker.handler.handler"
  zip_path           = local.function_zip["smoke_worker"]
  code               = aws_s3_object.function["smoke_worker"]
  layers             = local.layers
  architecture       = var.architecture
  environment        = local.db_environment
  policy_json        = data.aws_iam_policy_document.smoke_worker.json
  log_retention_days = var.log_retention_days
}

resource "aws_lambda_event_source_mapping" "smoke" {
  event_source_arn                   = module.smoke_queue.arn
  function_name                      = module.smoke_worker.arn
  batch_size                         = 10
  maximum_batching_window_in_seconds = 1
  function_response_types            = ["ReportBatchItemFailures"]
}
