output "resource_id" {
  description = "The path's resource id."
  value       = aws_api_gateway_resource.this.id
}

output "redeployment" {
  description = "What a deployment must follow: a change of any of these needs a new deployment."
  value       = [aws_api_gateway_resource.this, aws_api_gateway_method.this, aws_api_gateway_integration.this]
}

output "method" {
  description = "The path's ANY method: its authorization and whether it requires an API key."
  value = {
    authorization    = aws_api_gateway_method.this.authorization
    api_key_required = aws_api_gateway_method.this.api_key_required
  }
}
