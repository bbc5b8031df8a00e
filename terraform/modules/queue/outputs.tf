output "url" {
  description = "Queue URL."
  value       = local.queue.id
}

output "arn" {
  description = "Queue ARN."
  value       = local.queue.arn
}

output "dlq_url" {
  description = "Dead-letter queue URL."
  value       = aws_sqs_queue.dlq.id
}

output "dlq_arn" {
  description = "Dead-letter queue ARN."
  value       = aws_sqs_queue.dlq.arn
}

output "message_retention_seconds" {
  description = "How long the queue keeps a message."
  value       = local.queue.message_retention_seconds
}

output "dlq_message_retention_seconds" {
  description = "How long the dead-letter queue keeps a message."
  value       = aws_sqs_queue.dlq.message_retention_seconds
}
