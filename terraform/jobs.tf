# The outbox's way out: dispatcher -> jobs queue (+ DLQ) -> worker.

module "jobs_queue" {
  source = "./modules/queue"

  name = "${var.name_prefix}-jobs"
  # Above the worker's timeout, so a message is not redelivered while a worker still holds it;
  # also the delay before a failed message is retried.
  visibility_timeout_seconds = var.worker_timeout_s * 2
  max_receive_count          = var.jobs_max_receive_count
  create_beside_dlq          = local.on_localstack
}

data "aws_iam_policy_document" "dispatcher" {
  source_policy_documents = [data.aws_iam_policy_document.read_db_secret.json]

  statement {
    actions   = ["sqs:SendMessage"]
    resources = [module.jobs_queue.arn]
  }
}

module "dispatcher" {
  source = "./modules/function"

  name         = "${var.name_prefix}-dispatcher"
  handler      = "dispatcher.handler.handler"
  zip_path     = local.function_zip["dispatcher"]
  layers       = local.layers
  architecture = var.architecture
  timeout      = 60
  environment = merge(local.db_environment, {
    TOPIC_QUEUES           = jsonencode({ "conversion-jobs" = module.jobs_queue.url })
    DISPATCH_BATCH_SIZE    = tostring(var.dispatch_batch_size)
    DISPATCH_MAX_ATTEMPTS  = tostring(var.dispatch_max_attempts)
    OUTBOX_RETENTION_HOURS = tostring(var.outbox_retention_hours)
    DISPATCH_LINGER_S      = tostring(var.dispatch_linger_s)
  })
  policy_json        = data.aws_iam_policy_document.dispatcher.json
  log_retention_days = var.log_retention_days
}

# The safety net: whatever a nudge missed is published within a minute.
resource "aws_cloudwatch_event_rule" "dispatch_schedule" {
  name                = "${var.name_prefix}-dispatch-schedule"
  description         = "Runs the outbox dispatcher every minute"
  schedule_expression = "rate(1 minute)"
}

resource "aws_cloudwatch_event_target" "dispatch_schedule" {
  rule = aws_cloudwatch_event_rule.dispatch_schedule.name
  arn  = module.dispatcher.arn
}

resource "aws_lambda_permission" "dispatch_schedule" {
  statement_id  = "AllowEventBridgeInvoke"
  action        = "lambda:InvokeFunction"
  function_name = module.dispatcher.function_name
  principal     = "events.amazonaws.com"
  source_arn    = aws_cloudwatch_event_rule.dispatch_schedule.arn
}

data "aws_iam_policy_document" "worker" {
  source_policy_documents = [data.aws_iam_policy_document.read_db_secret.json]

  statement {
    actions   = ["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes", "sqs:ChangeMessageVisibility"]
    resources = [module.jobs_queue.arn]
  }
}

module "worker" {
  source = "./modules/function"

  name               = "${var.name_prefix}-worker"
  handler            = "worker.handler.handler"
  zip_path           = local.function_zip["worker"]
  layers             = local.layers
  architecture       = var.architecture
  timeout            = var.worker_timeout_s
  environment        = local.db_environment
  policy_json        = data.aws_iam_policy_document.worker.json
  log_retention_days = var.log_retention_days
}

resource "aws_lambda_event_source_mapping" "jobs" {
  event_source_arn                   = module.jobs_queue.arn
  function_name                      = module.worker.arn
  batch_size                         = var.worker_batch_size
  maximum_batching_window_in_seconds = var.worker_batching_window_s
  function_response_types            = ["ReportBatchItemFailures"]
}
