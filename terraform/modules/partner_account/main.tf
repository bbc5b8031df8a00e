# What one partner's account holds for the lab: the payments table, and the role the lab's payments
# function assumes to use it (only that function, only with the partner's external id, only that table).
resource "aws_dynamodb_table" "payments" {
  name         = var.table_name
  billing_mode = "PAY_PER_REQUEST"
  hash_key     = "id" # payments (pay_...) and their idempotency records (idem#<key>): reads are by id

  attribute {
    name = "id"
    type = "S"
  }
}

data "aws_iam_policy_document" "trust" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "AWS"
      identifiers = [var.payments_role_arn]
    }
    condition {
      test     = "StringEquals"
      variable = "sts:ExternalId"
      values   = [var.external_id]
    }
  }
}

resource "aws_iam_role" "access" {
  name               = var.role_name
  assume_role_policy = data.aws_iam_policy_document.trust.json
}

data "aws_iam_policy_document" "table" {
  statement {
    actions   = ["dynamodb:GetItem", "dynamodb:PutItem"] # a TransactWriteItems Put is checked as PutItem
    resources = [aws_dynamodb_table.payments.arn]
  }
}

resource "aws_iam_role_policy" "table" {
  name   = "${var.role_name}-table"
  role   = aws_iam_role.access.id
  policy = data.aws_iam_policy_document.table.json
}
