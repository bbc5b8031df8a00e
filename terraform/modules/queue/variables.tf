variable "name" {
  type        = string
  description = "Queue name; the dead-letter queue is <name>-dlq."
}

variable "visibility_timeout_seconds" {
  type        = number
  description = "Visibility timeout; keep it above the consumer's timeout."
  default     = 30
}

variable "max_receive_count" {
  type        = number
  description = "Receives before a message moves to the dead-letter queue."
  default     = 3
}

variable "receive_wait_time_seconds" {
  type        = number
  description = "Long polling wait of ReceiveMessage."
  default     = 0
}

variable "create_beside_dlq" {
  type        = bool
  description = "Create the queue at the same time as its DLQ (LocalStack); false waits for the DLQ first, as AWS requires."
  default     = false
}

variable "fifo" {
  type        = bool
  description = "A FIFO queue (and DLQ): ordered per message group, deduplicated by MessageDeduplicationId."
  default     = false

  validation {
    condition     = var.fifo == endswith(var.name, ".fifo")
    error_message = "A FIFO queue's name must end in .fifo, and only a FIFO queue's."
  }
}

variable "message_retention_seconds" {
  type        = number
  description = "How long the queue keeps a message (SQS's default, 4 days); explicit, because the worker's inbox must remember message ids longer."
  default     = 345600
}
