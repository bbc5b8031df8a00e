# The outbox's way out: dispatcher -> jobs queue (+ DLQ) -> worker.

data "aws_partition" "current" {}
data "aws_region" "current" {}

locals {
  # Names and ARNs known before the resources exist, so the functions that use the queue and the
  # dispatcher are created alongside them instead of ~30 s later (the queue's creation wait).
  jobs_queue_name = "${var.name_prefix}-jobs"
  jobs_queue_arn  = "arn:${data.aws_partition.current.partition}:sqs:${data.aws_region.current.name}:${data.aws_caller_identity.current.account_id}:${local.jobs_queue_name}"
  dispatcher_name = "${var.name_prefix}-dispatcher"
  dispatcher_arn  = "arn:${data.aws_partition.current.partition}:lambda:${data.aws_region.current.name}:${data.aws_caller_identity.current.account_id}:function:${local.dispatcher_name}"
}

module "jobs_queue" {
  source = "./modules/queue"

  name = local.jobs_queue_name
  # Above the worker's timeout, so a message is not redelivered while a worker still holds it; it
  # is also the delay before a failed message is retried. AWS advises 6x the function timeout for
  # an event source mapping (throttled batches); on LocalStack 2x keeps the lab's retries quick.
  visibility_timeout_seconds = var.worker_timeout_s * (local.on_localstack ? 2 : 6)
  max_receive_count          = var.jobs_max_receive_count
  create_beside_dlq          = local.on_localstack
}

data "aws_iam_policy_document" "dispatcher" {
  source_policy_documents = [data.aws_iam_policy_document.read_db_secret.json]

  statement {
    actions   = ["sqs:GetQueueUrl", "sqs:SendMessage"]
    resources = [local.jobs_queue_arn, local.car_events_queue_arn]
  }
}

module "dispatcher" {
  source = "./modules/function"

  name         = local.dispatcher_name
  handler      = "dispatcher.handler.handler"
  code         = local.function_code["dispatcher"]
  layers       = local.layers
  architecture = var.architecture
  timeout      = 60
  environment = merge(local.db_environment, {
    # Topic names are lambdas/labcore/topics.py's; the dispatcher refuses to start on a mismatch.
    TOPIC_QUEUES = jsonencode({
      "conversion-jobs" = local.jobs_queue_name
      "car-events"      = local.car_events_queue_name
    })
    DISPATCH_BATCH_SIZE    = tostring(var.dispatch_batch_size)
    DISPATCH_MAX_ATTEMPTS  = tostring(var.dispatch_max_attempts)
    OUTBOX_RETENTION_HOURS = tostring(var.outbox_retention_hours)
    INBOX_RETENTION_HOURS  = tostring(var.inbox_retention_hours)
    DISPATCH_LINGER_S      = tostring(var.dispatch_linger_s)
  })
  policy_json        = data.aws_iam_policy_document.dispatcher.json
  log_retention_days = var.log_retention_days
  vpc_config         = local.function_vpc_config
}

# The safety net: whatever a nudge missed is published within a minute; this run also deletes
# published outbox rows and inbox rows past their retention.
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
  code               = local.function_code["worker"]
  layers             = local.layers
  architecture       = var.architecture
  timeout            = var.worker_timeout_s
  environment        = local.db_environment
  policy_json        = data.aws_iam_policy_document.worker.json
  log_retention_days = var.log_retention_days
  vpc_config         = local.function_vpc_config
}

resource "aws_lambda_event_source_mapping" "jobs" {
  event_source_arn                   = module.jobs_queue.arn
  function_name                      = module.worker.arn
  batch_size                         = var.worker_batch_size
  maximum_batching_window_in_seconds = var.worker_batching_window_s
  function_response_types            = ["ReportBatchItemFailures"]

  lifecycle {
    precondition {
      # A message can come back (redelivery, DLQ redrive) while its queue or DLQ keeps it: the
      # worker's inbox must remember it longer, or the copy is applied twice.
      condition     = var.inbox_retention_hours * 3600 > max(module.jobs_queue.message_retention_seconds, module.jobs_queue.dlq_message_retention_seconds)
      error_message = "inbox_retention_hours must exceed the jobs queue's and its DLQ's message retention."
    }
  }
}
