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
