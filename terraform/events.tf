# The events ingestion API: events_api -> outbox -> dispatcher -> car-events FIFO queue (+ DLQ) -> projector.

locals {
  car_events_queue_name = "${var.name_prefix}-car-events.fifo"
  car_events_queue_arn  = "arn:${data.aws_partition.current.partition}:sqs:${data.aws_region.current.name}:${data.aws_caller_identity.current.account_id}:${local.car_events_queue_name}"
}

# Ordered per car: the dispatcher sends each row with MessageGroupId = the car's id and
# MessageDeduplicationId = the outbox id, so one car's updates arrive in order, cars in parallel.
module "car_events_queue" {
  source = "./modules/queue"

  name                       = local.car_events_queue_name
  fifo                       = true
  visibility_timeout_seconds = var.worker_timeout_s * (local.on_localstack ? 2 : 6)
  max_receive_count          = var.jobs_max_receive_count
  create_beside_dlq          = local.on_localstack
}

module "events_api_function" {
  source = "./modules/function"

  name               = "${var.name_prefix}-events-api"
  handler            = "events_api.handler.handler"
  code               = local.function_code["events_api"]
  layers             = local.layers
  architecture       = var.architecture
  environment        = local.nudging_api_environment
  policy_json        = data.aws_iam_policy_document.nudging_api.json
  log_retention_days = var.log_retention_days
  vpc_config         = local.function_vpc_config
}

# /api/{proxy+} is more specific than the jobs API's /{proxy+}: every /api/... path is the events API's.
resource "aws_api_gateway_resource" "api" {
  rest_api_id = aws_api_gateway_rest_api.this.id
  parent_id   = aws_api_gateway_rest_api.this.root_resource_id
  path_part   = "api"
}

module "events_route" {
  source = "./modules/proxy_route"

  rest_api_id   = aws_api_gateway_rest_api.this.id
  parent_id     = aws_api_gateway_resource.api.id
  path_part     = "{proxy+}"
  invoke_arn    = module.events_api_function.invoke_arn
  function_name = module.events_api_function.function_name
  execution_arn = aws_api_gateway_rest_api.this.execution_arn
  authorization = var.api_authorization
}

data "aws_iam_policy_document" "projector" {
  source_policy_documents = [data.aws_iam_policy_document.read_db_secret.json]

  statement {
    actions   = ["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes", "sqs:ChangeMessageVisibility"]
    resources = [module.car_events_queue.arn]
  }
}

module "projector" {
  source = "./modules/function"

  name               = "${var.name_prefix}-projector"
  handler            = "projector.handler.handler"
  code               = local.function_code["projector"]
  layers             = local.layers
  architecture       = var.architecture
  timeout            = var.worker_timeout_s
  environment        = local.db_environment
  policy_json        = data.aws_iam_policy_document.projector.json
  log_retention_days = var.log_retention_days
  vpc_config         = local.function_vpc_config
}

resource "aws_lambda_event_source_mapping" "car_events" {
  event_source_arn = module.car_events_queue.arn
  function_name    = module.projector.arn
  # On AWS: 10, the most a FIFO queue allows, and no batching window (FIFO mappings take none). On
  # LocalStack: the worker's tuning (docs/outbox.md), batch size 1 and a long-poll window, else its
  # poller backs off ~1 s after every empty short poll and each event waits for that.
  batch_size                         = local.on_localstack ? var.worker_batch_size : 10
  maximum_batching_window_in_seconds = local.on_localstack ? var.worker_batching_window_s : null
  function_response_types            = ["ReportBatchItemFailures"]

  lifecycle {
    precondition {
      condition     = var.inbox_retention_hours * 3600 > max(module.car_events_queue.message_retention_seconds, module.car_events_queue.dlq_message_retention_seconds)
      error_message = "inbox_retention_hours must exceed the car-events queue's and its DLQ's message retention."
    }
  }
}
