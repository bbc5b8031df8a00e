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

variable "hot_reload_dir" {
  type        = string
  description = "LocalStack only (make apply HOT_RELOAD=1): an absolute host folder every function runs directly, its code being bucket hot-reload with this key, so an edit is live at the next invocation. Empty: the zips."
  default     = ""

  validation {
    condition     = var.hot_reload_dir == "" || var.localstack_endpoint != null
    error_message = "hot_reload_dir is LocalStack's hot reload: leave it empty on AWS (no localstack_endpoint)."
  }

  validation {
    condition     = var.hot_reload_dir == "" || startswith(var.hot_reload_dir, "/")
    error_message = "hot_reload_dir must be an absolute path: LocalStack reads the S3 key as a host folder."
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
  description = "Password of db_app_user (the one scripts/migrate.py gave the role). null: the lab's known outbox_app, which only LocalStack accepts; on AWS it is required."
  default     = null
  sensitive   = true

  validation {
    # No short-circuit in Terraform: try() keeps length(null) from failing the check itself.
    condition     = var.localstack_endpoint != null || (try(length(var.db_app_password), 0) >= 16 && var.db_app_password != "outbox_app")
    error_message = "On AWS (no localstack_endpoint) db_app_password is required: at least 16 characters, and not the lab's known outbox_app (e.g. `openssl rand -base64 24`)."
  }
}

variable "db_sslmode" {
  type        = string
  description = "libpq sslmode of the functions' database connections. null: verify-full on AWS; on LocalStack unset (libpq's prefer, as before)."
  default     = null

  validation {
    condition     = var.db_sslmode == null || try(contains(["disable", "allow", "prefer", "require", "verify-ca", "verify-full"], var.db_sslmode), false)
    error_message = "db_sslmode must be one of libpq's: disable, allow, prefer, require, verify-ca, verify-full."
  }
}

variable "db_ssl_root_cert" {
  type        = string
  description = "CA bundle that verify-ca/verify-full check the server against: relative to lambdas/labcore/ (make build ships that folder in the layer; put AWS's RDS bundle there), or an absolute path in the Lambda's filesystem (a layer of your own)."
  default     = "certs/rds-global-bundle.pem"
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

variable "jobs_max_receive_count" {
  type        = number
  description = "Deliveries of a jobs message before it moves to the DLQ."
  default     = 3
}

variable "worker_timeout_s" {
  type        = number
  description = "Worker Lambda timeout; the jobs queue's visibility timeout is twice this (a failed message's retry delay)."
  default     = 5
}

variable "worker_batch_size" {
  type        = number
  description = "Messages per worker invocation. 1 with a batching window gives ~20 ms delivery on LocalStack: its poller long-polls until the batch is full or the window ends."
  default     = 1
}

variable "worker_batching_window_s" {
  type        = number
  description = "MaximumBatchingWindowInSeconds. LocalStack long-polls this long (at most 20 s) for a full batch; with batch size 1 it returns at the first message, and a long window means few empty polls, each followed by a ~1 s backoff."
  default     = 20
}

variable "dispatch_batch_size" {
  type        = number
  description = "Outbox rows the dispatcher claims per transaction."
  default     = 100
}

variable "dispatch_max_attempts" {
  type        = number
  description = "Failed publishes before an outbox row is parked."
  default     = 5
}

variable "outbox_retention_hours" {
  type        = number
  description = "Published outbox rows older than this are deleted by the scheduled dispatcher run."
  default     = 24
}

variable "inbox_retention_hours" {
  type        = number
  description = "The worker's inbox rows (applied message ids) older than this are deleted by the scheduled dispatcher run; must outlast the jobs queue's and DLQ's retention (14 days)."
  default     = 360
}

variable "dispatch_nudge_interval_s" {
  type        = number
  description = "An API environment nudges the dispatcher at most once per this many seconds."
  default     = 1
}

variable "dispatch_linger_s" {
  type        = number
  description = "A nudged dispatcher keeps listening for committed outbox rows this long; must exceed dispatch_nudge_interval_s."
  default     = 2

  validation {
    condition     = var.dispatch_linger_s == 0 || var.dispatch_linger_s > var.dispatch_nudge_interval_s
    error_message = "dispatch_linger_s must be 0 (no lingering) or longer than dispatch_nudge_interval_s."
  }
}

variable "partners" {
  type = map(object({
    account_id  = string
    region      = string
    external_id = string
  }))
  description = "The payments partners: id -> the AWS account and region holding its payments table, and the external id its role requires. Each needs a provider block (providers.tf): Terraform cannot iterate providers."
  default = {
    partner1 = { account_id = "111111111111", region = "us-east-1", external_id = "outbox-lab-partner1-7f3c" }
    partner2 = { account_id = "222222222222", region = "eu-west-1", external_id = "outbox-lab-partner2-b91e" }
  }

  validation {
    condition     = alltrue([for p in values(var.partners) : can(regex("^[0-9]{12}$", p.account_id))])
    error_message = "Each partner's account_id must be 12 digits."
  }

  validation {
    condition     = toset(keys(var.partners)) == toset(["partner1", "partner2"])
    error_message = "partners must name partner1 and partner2, the partners providers.tf has provider blocks for (add a provider and a module call for another)."
  }
}

variable "partner_deploy_role_name" {
  type        = string
  description = "On AWS: the role Terraform assumes in each partner account to create its table and role (with the partner's external id)."
  default     = "OrganizationAccountAccessRole"
}

variable "vpc_subnet_ids" {
  type        = list(string)
  description = "On AWS: private subnets for the functions that reach Postgres (ping, jobs_api, events_api, dispatcher, worker, projector). Empty: no VPC, as on LocalStack."
  default     = []

  validation {
    condition     = length(var.vpc_subnet_ids) == 0 || var.localstack_endpoint == null
    error_message = "vpc_subnet_ids is for AWS: leave it empty with a localstack_endpoint."
  }
}

variable "vpc_security_group_ids" {
  type        = list(string)
  description = "Security groups of those functions' network interfaces: they must allow egress to Postgres and to HTTPS (the VPC endpoints or a NAT). Given exactly when vpc_subnet_ids is."
  default     = []

  validation {
    condition     = (length(var.vpc_security_group_ids) == 0) == (length(var.vpc_subnet_ids) == 0)
    error_message = "vpc_security_group_ids and vpc_subnet_ids go together: give both or neither."
  }
}

variable "vpc_endpoints" {
  type        = bool
  description = "Create interface VPC endpoints (private DNS) for Secrets Manager, SQS and Lambda in vpc_subnet_ids, which the functions in the VPC call; false: the subnets route to a NAT gateway instead."
  default     = false

  validation {
    condition     = !var.vpc_endpoints || length(var.vpc_subnet_ids) > 0
    error_message = "vpc_endpoints needs vpc_subnet_ids (and vpc_security_group_ids)."
  }
}

variable "api_authorization" {
  type        = string
  description = "Who may call the REST API's routes: NONE (anyone: the lab's default), AWS_IAM (SigV4-signed requests of principals allowed execute-api:Invoke) or API_KEY (the x-api-key header of the key this stack creates, under a usage plan)."
  default     = "NONE"

  validation {
    condition     = contains(["NONE", "AWS_IAM", "API_KEY"], var.api_authorization)
    error_message = "api_authorization must be NONE, AWS_IAM or API_KEY."
  }
}
