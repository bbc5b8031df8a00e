# Code reaches Lambda through S3: the provider creates functions from S3 in parallel (from local
# files it uploads them one at a time, ~5 s each), and the 10 MB layer is uploaded once.
# Keys carry the zip's digest, so an unchanged zip changes nothing and a changed one redeploys.
data "aws_caller_identity" "current" {}

resource "aws_s3_bucket" "artifacts" {
  bucket        = "${var.name_prefix}-artifacts-${data.aws_caller_identity.current.account_id}-${var.region}"
  force_destroy = true
}

resource "aws_s3_object" "layer" {
  count = local.bundled ? 0 : 1

  bucket = aws_s3_bucket.artifacts.id
  key    = "layers/deps-${var.architecture}-${filemd5(local.layer_zip)}.zip"
  source = local.layer_zip
}

resource "aws_s3_object" "function" {
  for_each = { for name, zip in local.function_zip : name => zip if !local.hot_reload }

  bucket = aws_s3_bucket.artifacts.id
  key    = "functions/${each.key}-${filemd5(each.value)}.zip"
  source = each.value
}
