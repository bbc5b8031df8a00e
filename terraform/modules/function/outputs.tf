output "function_name" {
  description = "Function name."
  value       = aws_lambda_function.this.function_name
}

output "arn" {
  description = "Function ARN."
  value       = aws_lambda_function.this.arn
}

output "invoke_arn" {
  description = "ARN API Gateway integrations invoke."
  value       = aws_lambda_function.this.invoke_arn
}

output "role_name" {
  description = "Execution role name."
  value       = aws_iam_role.this.name
}

output "role_arn" {
  description = "Execution role ARN."
  value       = aws_iam_role.this.arn
}

output "environment" {
  description = "The function's environment variables."
  value       = aws_lambda_function.this.environment[0].variables
}

output "vpc_config" {
  description = "The function's subnets and security groups (empty without a VPC)."
  value       = aws_lambda_function.this.vpc_config
}

output "vpc_access_policy_arns" {
  description = "Managed policies attached to the role for the VPC's network interfaces (empty without a VPC)."
  value       = aws_iam_role_policy_attachment.vpc_access[*].policy_arn
}

output "code" {
  description = "Where the function's code comes from: the S3 bucket and key, and the zip's digest (null when hot reloading a folder)."
  value = {
    s3_bucket        = aws_lambda_function.this.s3_bucket
    s3_key           = aws_lambda_function.this.s3_key
    source_code_hash = var.code.zip_path == null ? null : aws_lambda_function.this.source_code_hash
  }
}

output "layers" {
  description = "The layer version ARNs the function gets."
  value       = aws_lambda_function.this.layers
}
