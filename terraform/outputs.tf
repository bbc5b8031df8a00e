locals {
  # LocalStack serves a stage under two URL forms; on AWS the stage's invoke URL is the one.
  api_user_request_base = local.on_localstack ? "${var.localstack_endpoint}/restapis/${aws_api_gateway_rest_api.this.id}/${aws_api_gateway_stage.this.stage_name}/_user_request_" : aws_api_gateway_stage.this.invoke_url
  api_execute_api_base  = local.on_localstack ? "${var.localstack_endpoint}/_aws/execute-api/${aws_api_gateway_rest_api.this.id}/${aws_api_gateway_stage.this.stage_name}" : aws_api_gateway_stage.this.invoke_url
}

output "region" {
  description = "Region the lab is deployed in."
  value       = var.region
}

output "localstack_endpoint" {
  description = "LocalStack edge URL (null on AWS)."
  value       = var.localstack_endpoint
}

output "api_id" {
  description = "REST API id."
  value       = aws_api_gateway_rest_api.this.id
}

output "api_stage" {
  description = "REST API stage name."
  value       = aws_api_gateway_stage.this.stage_name
}

output "api_base_url" {
  description = "Base URL of the API in LocalStack's _user_request_ form (the stage invoke URL on AWS)."
  value       = local.api_user_request_base
}

output "api_execute_api_base_url" {
  description = "Base URL of the API in LocalStack's /_aws/execute-api form (the stage invoke URL on AWS)."
  value       = local.api_execute_api_base
}

output "ping_url" {
  description = "GET /ping through the _user_request_ URL."
  value       = "${local.api_user_request_base}/ping"
}

output "ping_execute_api_url" {
  description = "GET /ping through the /_aws/execute-api URL."
  value       = "${local.api_execute_api_base}/ping"
}

output "jobs_url" {
  description = "POST /jobs (and GET /jobs/{job_id} below it) through the _user_request_ URL."
  value       = "${local.api_user_request_base}/jobs"
}

output "jobs_execute_api_url" {
  description = "POST /jobs through the /_aws/execute-api URL."
  value       = "${local.api_execute_api_base}/jobs"
}

output "events_url" {
  description = "POST /api/v1/events (and /bulk, GET /health below it) through the _user_request_ URL."
  value       = "${local.api_user_request_base}/api/v1/events"
}

output "events_execute_api_url" {
  description = "POST /api/v1/events through the /_aws/execute-api URL."
  value       = "${local.api_execute_api_base}/api/v1/events"
}

output "entities_url" {
  description = "GET /api/v1/entities/{entityId} (the projected car) through the _user_request_ URL."
  value       = "${local.api_user_request_base}/api/v1/entities"
}

output "payments_url" {
  description = "POST /partners/{partnerId}/payments (GET .../payments/{id}) through the _user_request_ URL: append <partnerId>/payments."
  value       = "${local.api_user_request_base}/partners"
}

output "partners" {
  description = "The payments partners: the account and region of each one's payments table, and the role the function assumes there."
  value = { for id, p in var.partners : id => {
    account_id = p.account_id
    region     = p.region
    table_name = "payments"
    role_arn   = local.payments_partner_role[id]
  } }
}

# The secret's ARN, never its value or a connection string: `terraform output -json` prints even a
# sensitive output in the clear (tests/e2e/test_secrets.py searches the outputs for the password).
output "db_secret_arn" {
  description = "Secrets Manager secret holding the Lambdas' database credentials."
  value       = aws_secretsmanager_secret.db.arn
}

output "jobs_queue_url" {
  description = "Queue the dispatcher publishes conversion job events to."
  value       = module.jobs_queue.url
}

output "jobs_dlq_url" {
  description = "Dead-letter queue of the jobs queue."
  value       = module.jobs_queue.dlq_url
}

output "car_events_queue_url" {
  description = "FIFO queue the dispatcher publishes car events to (one message group per car)."
  value       = module.car_events_queue.url
}

output "car_events_dlq_url" {
  description = "Dead-letter queue of the car-events queue."
  value       = module.car_events_queue.dlq_url
}

output "functions" {
  description = "Function names by role."
  value = {
    ping       = module.ping_function.function_name
    jobs_api   = module.jobs_api_function.function_name
    dispatcher = module.dispatcher.function_name
    worker     = module.worker.function_name
    events_api = module.events_api_function.function_name
    projector  = module.projector.function_name
    payments   = module.payments_function.function_name
  }
}

output "layer_arn" {
  description = "ARN of the dependencies layer (null when bundled into each zip)."
  value       = one(aws_lambda_layer_version.deps[*].arn)
}

output "curl_examples" {
  description = "Ready-to-paste commands that exercise the deployed lab."
  value = [
    "curl -s ${local.api_user_request_base}/ping",
    "curl -s ${local.api_execute_api_base}/ping",
    "curl -s -X POST ${local.api_user_request_base}/jobs -H 'Content-Type: application/json' -d '{\"client_id\":\"acme\",\"source_currency\":\"USD\",\"target_currency\":\"EUR\",\"source_amount\":\"100.00\"}'",
    "curl -s ${local.api_user_request_base}/jobs/<job_id>",
    "curl -s -X POST ${local.api_user_request_base}/api/v1/events -H 'Content-Type: application/json' -d @samples/events/valid/car-created.json",
    "curl -s -X POST ${local.api_user_request_base}/api/v1/events/bulk -H 'Content-Type: application/json' -d @samples/events/bulk.json",
    "curl -s ${local.api_user_request_base}/api/v1/events/health",
    "curl -s ${local.api_user_request_base}/api/v1/entities/CAR-2024-001",
    "curl -s -X POST ${local.api_user_request_base}/partners/partner1/payments -H 'Content-Type: application/json' -d '{\"amount\":100.50,\"currency\":\"USD\"}'",
    "curl -s ${local.api_user_request_base}/partners/partner1/payments/<payment_id>",
    # The dev venv's awslocal is AWS CLI v1 (the payload as it is); CLI v2 needs --cli-binary-format.
    "${local.on_localstack ? ".lab/venv/bin/awslocal" : "aws --cli-binary-format raw-in-base64-out"} lambda invoke --function-name ${module.payments_function.function_name} --payload '{\"partnerId\":\"partner1\",\"action\":\"createPayment\",\"data\":{\"amount\":100.50,\"currency\":\"USD\"}}' /dev/stdout",
  ]
}

output "api_key_id" {
  description = "With api_authorization = API_KEY: the id of the API key (its value: aws apigateway get-api-key --include-value --api-key <id>); null otherwise."
  value       = one(aws_api_gateway_api_key.this[*].id)
}
