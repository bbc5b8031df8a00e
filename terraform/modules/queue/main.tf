data "aws_partition" "current" {}
data "aws_region" "current" {}
data "aws_caller_identity" "current" {}

locals {
  # A FIFO queue's name ends in .fifo, and its DLQ must be FIFO too: <name>-dlq.fifo.
  dlq_name = var.fifo ? "${trimsuffix(var.name, ".fifo")}-dlq.fifo" : "${var.name}-dlq"
  # The DLQ's ARN is known before it exists, which lets both queues be created at the same time.
  dlq_arn = "arn:${data.aws_partition.current.partition}:sqs:${data.aws_region.current.name}:${data.aws_caller_identity.current.account_id}:${local.dlq_name}"
  queue   = one(concat(aws_sqs_queue.after_dlq, aws_sqs_queue.beside_dlq))
}

resource "aws_sqs_queue" "dlq" {
  name                      = local.dlq_name
  fifo_queue                = var.fifo
  message_retention_seconds = 1209600 # the maximum: a failed message waits two weeks for a human
}

# AWS rejects a redrive policy whose target does not exist yet: there the queue waits for its DLQ.
resource "aws_sqs_queue" "after_dlq" {
  count = var.create_beside_dlq ? 0 : 1

  name                       = var.name
  fifo_queue                 = var.fifo
  visibility_timeout_seconds = var.visibility_timeout_seconds
  receive_wait_time_seconds  = var.receive_wait_time_seconds
  message_retention_seconds  = var.message_retention_seconds
  redrive_policy = jsonencode({
    deadLetterTargetArn = aws_sqs_queue.dlq.arn
    maxReceiveCount     = var.max_receive_count
  })
}

# LocalStack resolves the target when it redrives, so both queues are created at once there: the
# provider spends ~25 s polling after creating any queue, and in sequence that doubles the apply.
resource "aws_sqs_queue" "beside_dlq" {
  count = var.create_beside_dlq ? 1 : 0

  name                       = var.name
  fifo_queue                 = var.fifo
  visibility_timeout_seconds = var.visibility_timeout_seconds
  receive_wait_time_seconds  = var.receive_wait_time_seconds
  message_retention_seconds  = var.message_retention_seconds
  redrive_policy = jsonencode({
    deadLetterTargetArn = local.dlq_arn
    maxReceiveCount     = var.max_receive_count
  })
}
