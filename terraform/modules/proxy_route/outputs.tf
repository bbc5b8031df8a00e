output "resource_id" {
  description = "The path's resource id."
  value       = aws_api_gateway_resource.this.id
}

output "redeployment" {
  description = "What a deployment must follow: a change of any of these needs a new deployment."
  value       = [aws_api_gateway_resource.this, aws_api_gateway_method.this, aws_api_gateway_integration.this]
}
