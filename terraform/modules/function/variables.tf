variable "name" {
  type        = string
  description = "Function name."
}

variable "handler" {
  type        = string
  description = "Module path and function, e.g. ping.handler.handler."
}

variable "code" {
  type = object({
    bucket   = string
    key      = string
    zip_path = optional(string)
  })
  description = "Where Lambda gets the code: the zip scripts/build.py wrote (zip_path, whose digest tells Lambda when the code changed) uploaded to bucket/key; or, hot reloading on LocalStack, bucket hot-reload and key = the host folder it runs directly (no zip_path)."

  validation {
    condition     = (var.code.bucket == "hot-reload") == (var.code.zip_path == null)
    error_message = "code needs a zip_path, except from bucket hot-reload (a host folder, no zip)."
  }
}

variable "layers" {
  type        = list(string)
  description = "Layer version ARNs."
  default     = []
}

variable "architecture" {
  type        = string
  description = "x86_64 or arm64."
}

variable "environment" {
  type        = map(string)
  description = "Environment variables."
  default     = {}
}

variable "timeout" {
  type        = number
  description = "Timeout in seconds."
  default     = 10
}

variable "memory_size" {
  type        = number
  description = "Memory in MB."
  default     = 256
}

variable "policy_json" {
  type        = string
  description = "Extra IAM policy document (JSON) for what this function does beyond writing its logs; null for none."
  default     = null
}

variable "log_retention_days" {
  type        = number
  description = "Retention of the function's log group."
}

variable "vpc_config" {
  type = object({
    subnet_ids         = list(string)
    security_group_ids = list(string)
  })
  description = "Subnets and security groups of the function's network interfaces (a private database); null: no VPC."
  default     = null

  validation {
    condition     = var.vpc_config == null ? true : length(var.vpc_config.subnet_ids) > 0 && length(var.vpc_config.security_group_ids) > 0
    error_message = "vpc_config needs at least one subnet and one security group."
  }
}
