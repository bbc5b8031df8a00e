output "table_name" {
  description = "The payments table's name."
  value       = aws_dynamodb_table.payments.name
}

output "table_arn" {
  description = "The payments table's ARN."
  value       = aws_dynamodb_table.payments.arn
}

output "role_arn" {
  description = "The role the payments function assumes."
  value       = aws_iam_role.access.arn
}
