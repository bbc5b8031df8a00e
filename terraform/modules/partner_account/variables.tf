variable "table_name" {
  type        = string
  description = "The partner's payments table."
  default     = "payments"
}

variable "role_name" {
  type        = string
  description = "The role the payments function assumes in the partner's account."
}

variable "payments_role_arn" {
  type        = string
  description = "The lab's payments function's execution role: the only principal the role trusts."
}

variable "external_id" {
  type        = string
  description = "The sts:ExternalId the role requires (the confused-deputy guard)."
  sensitive   = true
}
