variable "region" {
  type        = string
  description = "AWS region to deploy to."
  default     = "us-east-1"
}

variable "localstack_endpoint" {
  type        = string
  description = "LocalStack edge URL; null deploys to real AWS with the usual credential chain."
  default     = null
}

variable "name_prefix" {
  type        = string
  description = "Prefix of every resource name."
  default     = "outbox-lab"
}

variable "artifacts_dir" {
  type        = string
  description = "Folder holding the zips written by scripts/build.py."
}

variable "architecture" {
  type        = string
  description = "Lambda architecture; the layer is built for the same one."
  default     = "x86_64"

  validation {
    condition     = contains(["x86_64", "arm64"], var.architecture)
    error_message = "architecture must be x86_64 or arm64."
  }
}

variable "layer_delivery" {
  type        = string
  description = "attach: dependencies come from the Lambda layer (AWS, native mode). bundle: they are also inside each function zip (LocalStack Community in Docker ignores layers)."
  default     = "attach"

  validation {
    condition     = contains(["attach", "bundle"], var.layer_delivery)
    error_message = "layer_delivery must be attach or bundle."
  }
}

variable "db_host" {
  type        = string
  description = "Postgres host as the Lambdas see it (127.0.0.1 natively, the compose service name in Docker)."
}

variable "db_port" {
  type        = number
  description = "Postgres port as the Lambdas see it."
  default     = 5432
}

variable "db_name" {
  type        = string
  description = "Database the Lambdas use."
  default     = "outbox"
}

variable "db_app_user" {
  type        = string
  description = "Least-privilege role the Lambdas connect as (created by scripts/migrate.py)."
  default     = "outbox_app"
}

variable "db_app_password" {
  type        = string
  description = "Password of db_app_user."
  default     = "outbox_app"
  sensitive   = true
}

variable "api_stage" {
  type        = string
  description = "API Gateway stage name."
  default     = "lab"
}

variable "log_retention_days" {
  type        = number
  description = "CloudWatch Logs retention of every function's log group."
  default     = 7
}
