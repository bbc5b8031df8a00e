variable "rest_api_id" {
  type        = string
  description = "The REST API."
}

variable "parent_id" {
  type        = string
  description = "The resource this path hangs under (the API's root resource, or another path)."
}

variable "path_part" {
  type        = string
  description = "The path segment: a name, or {proxy+} for every path below the parent."
}

variable "invoke_arn" {
  type        = string
  description = "The function's invoke ARN (the integration's URI)."
}

variable "function_name" {
  type        = string
  description = "The function API Gateway may invoke."
}

variable "execution_arn" {
  type        = string
  description = "The REST API's execution ARN (the permission's source)."
}

variable "authorization" {
  type        = string
  description = "Who may call the path: NONE (anyone), AWS_IAM (SigV4-signed requests of principals allowed execute-api:Invoke) or API_KEY (an x-api-key header of a usage plan's key)."
  default     = "NONE"

  validation {
    condition     = contains(["NONE", "AWS_IAM", "API_KEY"], var.authorization)
    error_message = "authorization must be NONE, AWS_IAM or API_KEY."
  }
}
